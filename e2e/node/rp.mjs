// rp.mjs is a relying party built on openid-client, driven one step at a
// time by e2e/oidc_node_test.go:
//
//	node rp.mjs COMMAND < request.json > result.json
//
// The request names the issuer and the client (client_id, auth_method,
// client_secret or private_jwk) and the command's own fields. The result is
// one JSON object on stdout; a refused request exits 1 with
// {error, error_description, status, name, message} so that the Go test can
// assert the OAuth error code. Nothing here decides what is right: the
// assertions are the Go test's.
import { randomUUID, webcrypto } from 'node:crypto';

// Node 18 (Debian's package) has WebCrypto but not as a global, which
// openid-client needs; Node 20 and later have it.
globalThis.crypto ??= webcrypto;
const client = await import('openid-client');

const commands = {
  // discovery: the provider's metadata as openid-client read it.
  async discovery(config) {
    return { metadata: config.serverMetadata() };
  },

  // authorize: an authorization URL with PKCE S256, state and nonce.
  // Fields: redirect_uri, scope, params (extra or overriding parameters).
  async authorize(config, req) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: req.redirect_uri,
      scope: req.scope,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...(req.params ?? {}),
    });
    return { url: url.href, verifier, state, nonce };
  },

  // callback: the code exchange for the URL the browser was sent to, with
  // the ID token's signature (JWKS), iss, aud, nonce and exp checked, and
  // then userinfo. Fields: callback_url, verifier, state, nonce,
  // skip_userinfo.
  async callback(config, req) {
    client.enableNonRepudiationChecks(config);
    const tokens = await client.authorizationCodeGrant(config, new URL(req.callback_url), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
      idTokenExpected: true,
    });
    const out = tokenResult(tokens);
    if (!req.skip_userinfo) {
      out.userinfo = await client.fetchUserInfo(config, tokens.access_token, out.claims.sub);
    }
    return out;
  },

  // refresh: fields refresh_token.
  async refresh(config, req) {
    client.enableNonRepudiationChecks(config);
    return tokenResult(await client.refreshTokenGrant(config, req.refresh_token));
  },

  // revoke: fields token, token_type_hint.
  async revoke(config, req) {
    await client.tokenRevocation(config, req.token, req.token_type_hint ? { token_type_hint: req.token_type_hint } : undefined);
    return { revoked: true };
  },

  // introspect: fields token.
  async introspect(config, req) {
    return await client.tokenIntrospection(config, req.token);
  },

  // userinfo: fields access_token, sub.
  async userinfo(config, req) {
    return await client.fetchUserInfo(config, req.access_token, req.sub ?? client.skipSubjectCheck);
  },

  // client_credentials: fields scope.
  async client_credentials(config, req) {
    return tokenResult(await client.clientCredentialsGrant(config, req.scope ? { scope: req.scope } : undefined));
  },

  // end_session_url: fields id_token_hint, post_logout_redirect_uri, state.
  async end_session_url(config, req) {
    const params = { id_token_hint: req.id_token_hint, post_logout_redirect_uri: req.post_logout_redirect_uri };
    if (req.state) params.state = req.state;
    return { url: client.buildEndSessionUrl(config, params).href };
  },

  // assertion: a private_key_jwt client assertion exactly as openid-client
  // would send it, for a test that replays it (request field assertion).
  async assertion(config, req) {
    const body = new URLSearchParams();
    await (await clientAuth(req))(config.serverMetadata(), config.clientMetadata(), body, new Headers());
    return { assertion: body.get('client_assertion') };
  },
};

function tokenResult(tokens) {
  const out = {
    access_token: tokens.access_token,
    token_type: tokens.token_type,
    expires_in: tokens.expires_in,
    scope: tokens.scope,
    refresh_token: tokens.refresh_token,
    id_token: tokens.id_token,
  };
  if (tokens.id_token) out.claims = tokens.claims();
  return out;
}

// clientAuth is the client authentication the request asks for:
//   default: none given, so openid-client chooses (client_secret_post for a
//            client with a secret), as an integrator's code that names none;
// besides openid-client's own, two the library would never produce:
//   assertion: a fixed client_assertion (to replay one);
//   alg_none: an unsigned assertion ({"alg":"none"}).
async function clientAuth(req) {
  switch (req.auth_method) {
    case 'default':
      return undefined;
    case 'none':
      return client.None();
    case 'client_secret_post':
      return client.ClientSecretPost(req.client_secret);
    case 'client_secret_basic':
      return client.ClientSecretBasic(req.client_secret);
    case 'private_key_jwt': {
      if (req.assertion) return fixedAssertion(req.assertion);
      if (req.alg_none) return unsignedAssertion;
      const { d, kty, crv, x, y, kid } = req.private_jwk;
      const key = await crypto.subtle.importKey('jwk', { d, kty, crv, x, y }, { name: 'ECDSA', namedCurve: crv }, false, ['sign']);
      return client.PrivateKeyJwt({ key, kid });
    }
    default:
      throw new Error(`unknown auth_method ${req.auth_method}`);
  }
}

const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function fixedAssertion(assertion) {
  return (_as, c, body) => {
    body.set('client_id', c.client_id);
    body.set('client_assertion_type', assertionType);
    body.set('client_assertion', assertion);
  };
}

function unsignedAssertion(as, c, body) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const payload = { jti: randomUUID(), aud: as.issuer, exp: now + 60, iat: now, nbf: now, iss: c.client_id, sub: c.client_id };
  body.set('client_id', c.client_id);
  body.set('client_assertion_type', assertionType);
  body.set('client_assertion', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`);
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

async function main() {
  const name = process.argv[2];
  const command = commands[name];
  if (!command) throw new Error(`usage: node rp.mjs ${Object.keys(commands).join('|')} < request.json`);
  const req = await readStdin();
  // With the default, the client is what an integrator writes: its id and
  // secret, nothing more.
  let metadata = req.client_secret;
  if (req.auth_method !== 'default') {
    metadata = { token_endpoint_auth_method: req.auth_method };
    if (req.id_token_signed_response_alg) metadata.id_token_signed_response_alg = req.id_token_signed_response_alg;
  }
  const config = await client.discovery(new URL(req.issuer), req.client_id, metadata, await clientAuth(req), {
    execute: [client.allowInsecureRequests],
  });
  config[client.customFetch] = tracingFetch;
  return await command(config, req);
}

// lastExchange is the last HTTP request openid-client sent after discovery
// and its response, reported with a failure so that a refused request can
// be shown exactly.
let lastExchange;

async function tracingFetch(url, options) {
  const request = { method: options?.method ?? 'GET', url: String(url), headers: Object.fromEntries(new Headers(options?.headers)) };
  if (options?.body !== undefined) request.body = String(options.body);
  lastExchange = { request };
  const res = await fetch(url, options);
  lastExchange.response = { status: res.status, headers: Object.fromEntries(res.headers), body: await res.clone().text() };
  return res;
}

// failure describes an error for the Go test: the OAuth error code and
// description where the server sent one.
function failure(e) {
  const out = { name: e?.name, message: e?.message, code: e?.code };
  if (e?.error !== undefined) out.error = e.error;
  if (e?.error_description !== undefined) out.error_description = e.error_description;
  if (e?.status !== undefined) out.status = e.status;
  if (e instanceof client.WWWAuthenticateChallengeError) {
    const p = e.cause?.[0]?.parameters ?? {};
    out.error ??= p.error;
    out.error_description ??= p.error_description;
  }
  if (out.error === undefined && e?.cause?.error !== undefined) {
    out.error = e.cause.error;
    out.error_description = e.cause.error_description;
  }
  if (lastExchange) out.exchange = lastExchange;
  return out;
}

try {
  process.stdout.write(JSON.stringify(await main()) + '\n');
} catch (e) {
  process.stdout.write(JSON.stringify(failure(e)) + '\n');
  process.exitCode = 1;
}
