// bank.mjs is a stand-in bank for e2e/bankpeer_test.go: Node oidc-provider
// (an independent, certified OpenID provider) with a few accounts and a
// minimal login page.
//
//	node bank.mjs '{"clients":[…],"accounts":[…]}'   (or the JSON on stdin)
//
// clients: [{client_id, client_secret, redirect_uris,
// token_endpoint_auth_method (default client_secret_basic)}];
// accounts: [{sub, claims: {family_name, …, passport: {…}}}].
//
// It listens on 127.0.0.1:0 and prints one line, {"issuer":"http://127.0.0.1:PORT"},
// then serves until killed. Code flow only, PKCE S256 required, the claims
// parameter, userinfo, RFC 9207 iss in authorization responses (which
// oidc-provider always sends). The login page (/interaction/UID) takes the
// account's sub in a field named "login" and a button with id "bank-login";
// consent is granted without asking. Every claim of an account is released
// for the openid scope and put in the ID token too, as the sandbox bank does.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { text } from 'node:stream/consumers';

import Provider from 'oidc-provider';

const input = process.argv[2] ?? (await text(process.stdin));
const config = JSON.parse(input);
const accounts = new Map((config.accounts ?? []).map((a) => [a.sub, a]));

const claimNames = new Set(['sub']);
for (const a of accounts.values()) {
  for (const name of Object.keys(a.claims ?? {})) claimNames.add(name);
}

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(6).toString('hex'), alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: (config.clients ?? []).map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
  })),
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: { openid: [...claimNames] },
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    claimsParameter: { enabled: true },
    userinfo: { enabled: true },
    rpInitiatedLogout: { enabled: false },
  },
  pkce: { required: () => true },
  responseTypes: ['code'],
  ttl: { AuthorizationCode: 60, AccessToken: 300, IdToken: 300, Interaction: 600, Session: 3600, Grant: 3600 },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  clientBasedCORS: () => false,
  async findAccount(ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return { accountId: sub, async claims() { return { ...account.claims, sub }; } };
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Bank error</title><pre id="error">${escape(JSON.stringify(out))}</pre>`;
  },
});

function escape(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, failed) {
  return `<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Тестовый банк / Test bank</title></head>
<body><h1>Тестовый банк (oidc-provider) / Test bank</h1>${failed ? '<p id="login-error">Нет такого клиента / No such customer</p>' : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Логин / Login <input name="login" autocomplete="off" autofocus></label>
<button type="submit" id="bank-login">Войти / Sign in</button>
</form></body></html>`;
}

// interaction handles the login page and its answer, and grants consent.
async function interaction(req, res) {
  const url = new URL(req.url, issuer);
  const m = url.pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== m[1]) throw new Error('interaction uid mismatch');
  const { prompt, params, session } = details;
  if (m[2] && req.method === 'POST') {
    const form = new URLSearchParams(await text(req));
    const sub = form.get('login') ?? '';
    if (!accounts.has(sub)) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(loginPage(details.uid, true));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
    return;
  }
  if (prompt.name === 'login') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(loginPage(details.uid, false));
    return;
  }
  // consent: granted without asking.
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  if (!req.url.startsWith('/interaction/')) {
    callback(req, res);
    return;
  }
  interaction(req, res).catch((err) => {
    process.stderr.write(`interaction: ${err.stack ?? err}\n`);
    if (!res.headersSent) res.writeHead(400, { 'Content-Type': 'text/plain' });
    res.end('interaction failed');
  });
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
