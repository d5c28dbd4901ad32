package oidc

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/oidc/authz"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/cache"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

//go:embed templates/*.html
var pages embed.FS

// Sessions finds and ends the citizen's SSO session.
type Sessions interface {
	Current(r *http.Request) (*session.Session, error)
	// SignOut ends the session of the request's cookie and expires the
	// cookie.
	SignOut(w http.ResponseWriter, r *http.Request) error
}

// Config configures the provider.
type Config struct {
	// Issuer is the public URL (--public-url).
	Issuer    string
	Lifetimes Lifetimes
	// CryptoKey encrypts codes and opaque access tokens; every replica must
	// have the same (cmd/gosid derives it from the data keys).
	CryptoKey [32]byte
}

// Deps are the provider's dependencies.
type Deps struct {
	DB       *sqldb.DB
	Clients  Clients
	Accounts Accounts
	Signer   Signer
	Sessions Sessions
	// Limiter counts device-code entries (RFC 8628 section 5.1); nil
	// turns the limits off.
	Limiter Limiter
	// Jobs is the queue back-channel logouts are delivered through; New
	// registers the provider's jobs on it (before the queue starts). nil
	// is for tests of other things: ending a session of a client with a
	// back-channel logout URI then fails.
	Jobs *jobs.Queue
	// Evidence reads the evidence behind verified_claims (assurance.
	// Service); nil releases no verified_claims at all.
	Evidence Evidence
	// Roles reads staff roles for the gosid_roles claim of clients
	// registered for it (staff.Store); nil releases none.
	Roles Roles
	// Cache invalidates the userinfo cache across replicas; nil: userinfo
	// reads the database on every call. Its Run is the caller's to run.
	Cache *cache.Watcher
	Log   *slog.Logger
	Now   func() time.Time
}

// Provider is Gosid's OpenID provider.
type Provider struct {
	cfg  Config
	deps Deps
	op   *op.Provider
	// exchanger is op with Gosid's overrides (extend.go), what the token
	// endpoint parses and validates grants with (tokens.go).
	exchanger provider
	handler   http.Handler
	adapter   *adapter
	// discoveryJSON is the discovery document, built once.
	discoveryJSON []byte
	store         *store
	render        *webui.Renderer
	// keySets caches private_key_jwt clients' keys from their jwks_uri.
	keySets *keySets
	// userinfos holds userinfo answers by access token (nil: no cache).
	userinfos *cache.Cache[userinfoEntry]
	// accessInfos holds what active access tokens grant, for the
	// resource APIs (nil: no cache).
	accessInfos *cache.Cache[AccessInfo]
}

// Endpoint paths.
const (
	pathAuthorize  = "/authorize"
	pathContinue   = "/authorize/continue"
	pathConsent    = "/authorize/consent"
	pathToken      = "/oauth/token"
	pathIntrospect = "/oauth/introspect"
	pathRevoke     = "/oauth/revoke"
	pathUserinfo   = "/userinfo"
	pathEndSession = "/oauth/logout"
	pathKeys       = "/keys"
	pathDevice     = "/oauth/device_authorization"
)

// Scopes Gosid supports (discovery's scopes_supported).
func supportedScopes() []string { return scopeNames() }

// New builds the provider.
func New(cfg Config, d Deps) (*Provider, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	l := &cfg.Lifetimes
	l.AuthRequest = orDefault(l.AuthRequest, 30*time.Minute)
	l.Code = orDefault(l.Code, 60*time.Second)
	l.AccessToken = orDefault(l.AccessToken, 10*time.Minute)
	l.IDToken = orDefault(l.IDToken, time.Hour)
	l.RefreshToken = orDefault(l.RefreshToken, 30*24*time.Hour)
	l.RefreshGrace = orDefault(l.RefreshGrace, DefaultRefreshGrace)

	aead, err := successorAEAD(cfg.CryptoKey)
	if err != nil {
		return nil, err
	}
	st := &store{db: d.DB, now: d.Now, aead: aead, life: cfg.Lifetimes, log: d.Log}
	p := &Provider{cfg: cfg, deps: d, store: st, keySets: newKeySets(d.Now)}
	if d.Cache != nil {
		p.userinfos = cache.New[userinfoEntry](d.Cache, userinfoCacheSize, userinfoCacheTTL)
		p.accessInfos = cache.New[AccessInfo](d.Cache, accessCacheSize, userinfoCacheTTL)
		st.forget = d.Cache.Invalidate
	}
	p.adapter = &adapter{store: st, clients: d.Clients, accounts: d.Accounts, signer: d.Signer, evidence: d.Evidence, roles: d.Roles, life: cfg.Lifetimes, keySets: p.keySets,
		loginURL: func(id string) string { return pathContinue + "?id=" + url.QueryEscape(id) }}
	r, err := webui.NewRenderer(pages, webui.Merge(catalog, authorizeCatalog, logoutCatalog), d.Log, "consent", "level", "device", "logout")
	if err != nil {
		return nil, err
	}
	p.render = r
	if d.Jobs != nil {
		if err := p.registerJobs(d.Jobs); err != nil {
			return nil, fmt.Errorf("back-channel logout jobs: %w", err)
		}
	}

	opCfg := &op.Config{
		CryptoKey:                  cfg.CryptoKey,
		CodeMethodS256:             true,
		AuthMethodPost:             true,
		AuthMethodPrivateKeyJWT:    true,
		GrantTypeRefreshToken:      true,
		SupportedUILocales:         []language.Tag{language.Russian, language.English},
		SupportedScopes:            supportedScopes(),
		SupportedClaims:            supportedClaims,
		BackChannelLogoutSupported: true,
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime: 10 * time.Minute, PollInterval: 5 * time.Second, UserFormPath: "/device", UserCode: op.UserCodeBase20,
		},
	}
	opts := []op.Option{
		op.WithCustomEndpoints(op.NewEndpoint(pathAuthorize), op.NewEndpoint(pathToken), op.NewEndpoint(pathUserinfo),
			op.NewEndpoint(pathRevoke), op.NewEndpoint(pathEndSession), op.NewEndpoint(pathKeys)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(pathIntrospect)),
		op.WithCustomDeviceAuthorizationEndpoint(op.NewEndpoint(pathDevice)),
		op.WithLogger(d.Log),
	}
	if strings.HasPrefix(cfg.Issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	p.op, err = op.NewProvider(opCfg, p.adapter, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, err
	}
	p.exchanger = provider{Provider: p.op, p: p}
	p.handler = op.CreateRouter(p.exchanger, p.guard, p.ownEndpoints)
	if p.discoveryJSON, err = p.discoveryDocument(); err != nil {
		return nil, err
	}
	return p, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

var supportedClaims = []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "sid",
	"name", "family_name", "given_name", "middle_name", "birthdate", "gender", "email", "email_verified",
	"phone_number", "phone_number_verified", "snils", "inn", "id_doc", "verified_claims"}

// Routes mounts the provider's endpoints on mux. The JWKS at /keys is
// served by the caller from memory.
func (p *Provider) Routes(mux *http.ServeMux) {
	h := p.handler
	mux.HandleFunc("GET "+zoidc.DiscoveryEndpoint, p.discovery)
	mux.Handle(pathAuthorize, h)
	mux.Handle(pathToken, h)
	mux.Handle(pathIntrospect, h)
	mux.Handle(pathRevoke, h)
	mux.Handle(pathUserinfo, h)
	mux.Handle(pathEndSession, h)
	mux.Handle(pathDevice, h)
	mux.HandleFunc("GET "+pathLoggedOut, p.loggedOut)
	mux.HandleFunc("GET "+pathContinue, p.continueAuth)
	mux.HandleFunc("GET "+pathConsent, p.showConsent)
	mux.HandleFunc("POST "+pathConsent, p.submitConsent)
	mux.HandleFunc("GET /device", p.showDevice)
	mux.HandleFunc("POST /device", p.submitDevice)
}

// Sweep deletes expired requests, tokens and revocations.
func (p *Provider) Sweep(ctx context.Context) (int, error) { return p.store.sweep(ctx) }

// requestClientID finds who a token request claims to be from: Basic
// authentication, the client_id parameter, or a client assertion's sub.
// It verifies nothing: only CORS headers are chosen by it (cors.go).
func requestClientID(r *http.Request) string {
	if id, _, ok := r.BasicAuth(); ok {
		if u, err := url.QueryUnescape(id); err == nil {
			return u
		}
		return id
	}
	if err := r.ParseForm(); err != nil {
		return ""
	}
	if id := r.PostForm.Get("client_id"); id != "" {
		return id
	}
	if a := r.PostForm.Get("client_assertion"); a != "" {
		parts := strings.Split(a, ".")
		if len(parts) == 3 {
			if raw, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
				var c struct {
					Sub string `json:"sub"`
				}
				if json.Unmarshal(raw, &c) == nil {
					return c.Sub
				}
			}
		}
	}
	return ""
}

// ownEndpoints answers the endpoints Gosid serves itself rather than op:
// authorization (authorize.go), userinfo (userinfo.go) and end-session
// (logout.go). It runs inside op's router, after guard.
func (p *Provider) ownEndpoints(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case pathAuthorize:
			p.authorize(w, r)
		case pathUserinfo:
			p.userinfo(w, r)
		case pathEndSession:
			p.endSession(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// fail sends an OAuth error to the client's registered redirect URI.
func (p *Provider) fail(w http.ResponseWriter, r *http.Request, ar *AuthRequest, err error) {
	p.authError(w, r, destinationOf(ar), err)
}

// respond issues the code and sends it to the client, with state and iss.
func (p *Provider) respond(w http.ResponseWriter, r *http.Request, ar *AuthRequest) {
	code, err := op.CreateAuthRequestCode(r.Context(), authReq{AuthRequest: ar}, p.adapter, p.op.Crypto())
	if err != nil {
		// Storing the code is all that can fail here: the client is told
		// nothing, the citizen retries (the request is still there).
		p.retryPage(w, r, "issue the code", err)
		return
	}
	p.deliver(w, r, destinationOf(ar), url.Values{"code": {code}})
}

// continueAuth decides what the authorization request still needs: a
// sign-in, a higher level, consent; then answers the client.
func (p *Provider) continueAuth(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := p.store.authRequest(ctx, r.URL.Query().Get("id"))
	if err != nil {
		p.expiredOrRetry(w, r, "read the request", err)
		return
	}
	c, err := p.deps.Clients.Get(ctx, ar.Request.ClientID)
	if err != nil {
		p.clientGone(w, r, ar, err)
		return
	}
	req := authzRequest(ar)
	sess, err := p.deps.Sessions.Current(r)
	var as *authz.Session
	switch {
	case err == nil:
		as = &authz.Session{AccountID: sess.AccountID, AuthTime: sess.AuthTime, AMR: sess.AMR}
	case !isVerdict(err):
		// Not "signed out": the session could not be read.
		p.retryPage(w, r, "read the session", err)
		return
	}
	switch d := authz.Authenticate(req, as, p.deps.Now()); d.Step {
	case authz.Refuse:
		p.fail(w, r, ar, oauthError(d.Error, d.Description))
		return
	case authz.SignIn:
		q := url.Values{"next": {pathContinue + "?id=" + ar.ID}}
		if ar.Request.LoginHint != "" {
			q.Set("login_hint", ar.Request.LoginHint)
		}
		if len(ar.Request.UILocales) > 0 {
			q.Set("ui_locales", strings.Join(ar.Request.UILocales, " "))
		}
		http.Redirect(w, r, "/login?"+q.Encode(), http.StatusFound)
		return
	}
	a, err := p.deps.Accounts.Get(ctx, sess.AccountID)
	if err != nil {
		p.retryPage(w, r, "read the account", err)
		return
	}
	sub := authz.Subject{Level: a.Level, HasMFA: a.MFA != "", MinLevel: c.Level(), FirstParty: c.FirstParty}
	if !c.FirstParty {
		g, err := p.store.grant(ctx, a.ID, c.ID)
		if err != nil && !errors.Is(err, sqldb.ErrNotFound) {
			p.retryPage(w, r, "read the consent", err)
			return
		}
		if g != nil {
			sub.Granted = g.Scopes
			if sub.Granted == nil {
				sub.Granted = []string{}
			}
		}
	}
	switch d := authz.Authorize(req, *as, sub); d.Step {
	case authz.Refuse:
		p.fail(w, r, ar, oauthError(d.Error, d.Description))
	case authz.RaiseLevel:
		p.showLevel(w, r, ar, c, a, d.Need)
	case authz.StepUp:
		http.Redirect(w, r, "/login/2fa?stepup=1&next="+url.QueryEscape(pathContinue+"?id="+ar.ID), http.StatusFound)
	case authz.Consent:
		http.Redirect(w, r, pathConsent+"?id="+url.QueryEscape(ar.ID), http.StatusFound)
	default:
		p.complete(w, r, ar, sess, a)
	}
}

// authzRequest is what authz decides a stored request on.
func authzRequest(ar *AuthRequest) authz.Request {
	return authz.Request{Prompt: ar.Request.Prompt, MaxAge: ar.Request.MaxAge, ACRValues: ar.Request.ACRValues,
		HintSubject: ar.Request.HintSubject, Scopes: ar.Request.Scopes, CreatedAt: ar.CreatedAt}
}

// complete records the authentication on the request and answers, with
// the acr authz reports.
func (p *Provider) complete(w http.ResponseWriter, r *http.Request, ar *AuthRequest, sess *session.Session, a *account.Account) {
	amr := sess.AMR
	acr := authz.ACR(a.Level, ar.Request.ACRValues, amr)
	if err := p.store.completeAuthRequest(r.Context(), ar.ID, a.ID, sess.ID, sess.AuthTime, amr, acr); err != nil {
		p.expiredOrRetry(w, r, "complete the request", err)
		return
	}
	ar.AccountID, ar.SessionID, ar.AuthTime, ar.AMR, ar.ACR, ar.Done = a.ID, sess.ID, sess.AuthTime, amr, acr, true
	p.respond(w, r, ar)
}

// A store failure in the browser-facing part of the authorization flow
// (continue, consent, the code) is no decision: the citizen gets 503 with
// Retry-After and Gosid's page, reloads, and goes on with the same request;
// the client is not sent error=server_error, which would end the flow at
// the site, nor is the request called expired.

// retryPage answers a step that a store failure interrupted.
func (p *Provider) retryPage(w http.ResponseWriter, r *http.Request, what string, err error) {
	p.deps.Log.ErrorContext(r.Context(), "authorization flow: "+what, "err", err)
	webui.Overloaded(w, err) // its own Retry-After
	p.unavailablePage(w, r)
}

// expiredOrRetry answers a request that could not be read or completed:
// gone or expired (a verdict), or a store failure.
func (p *Provider) expiredOrRetry(w http.ResponseWriter, r *http.Request, what string, err error) {
	if isVerdict(err) {
		p.expired(w, r)
		return
	}
	p.retryPage(w, r, what, err)
}

// clientGone answers a request whose client could not be read: deleted
// meanwhile (invalid_client to its redirect URI), or a store failure.
func (p *Provider) clientGone(w http.ResponseWriter, r *http.Request, ar *AuthRequest, err error) {
	if isVerdict(err) || errors.Is(err, client.ErrInvalidCredentials) {
		p.fail(w, r, ar, zoidc.ErrInvalidClient())
		return
	}
	p.retryPage(w, r, "read the client", err)
}

func (p *Provider) expired(w http.ResponseWriter, r *http.Request) {
	pg := p.render.NewPage(r, "consent.expired.title")
	pg.Error = pg.L.T("consent.expired")
	p.render.Render(w, r, http.StatusBadRequest, "consent", consentView{Page: pg})
}

// oauthError makes an error of a type the op package has no constructor
// for (consent_required, unmet_authentication_requirements…). op's error
// type is unexported; setCode's type parameter is inferred as it.
func oauthError(kind, description string) *zoidc.Error {
	e := zoidc.ErrInteractionRequired().WithDescription("%s", description)
	setCode(&e.ErrorType, kind)
	return e
}

// setCode sets a string-typed field of a type this package cannot name.
func setCode[T ~string](field *T, code string) { *field = T(code) }

// successorAEAD is the cipher that seals rotated refresh tokens'
// successors: a key derived from the provider's, so that every replica has
// it and no database dump holds it.
func successorAEAD(key [32]byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, key[:], nil, "gosid/oidc refresh-token successor v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
