package auth

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/oauthx"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// Sealer encrypts what the portal keeps of a citizen's sign-in (tokens,
// profile, flow secrets) and its client key; aad binds a blob to its row.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, blob, aad []byte) ([]byte, error)
}

// Config says which provider to sign in with and how long sessions last.
type Config struct {
	// Issuer is the identity provider's issuer URL; its discovery document
	// gives the endpoints.
	Issuer   string
	ClientID string
	// RedirectURL is the portal's callback (PortalURL + CallbackPath), and
	// PostLogoutURL where the provider sends the citizen after signing
	// out; both registered with the client.
	RedirectURL   string
	PostLogoutURL string
	// Scopes asked for; nil is DefaultScopes.
	Scopes []string
	// SessionTTL bounds a portal session (default 12 h); IdleTimeout ends
	// one without requests (default 30 min); ProfileTTL is how old the
	// profile may get before userinfo is asked again (default 10 min).
	SessionTTL, IdleTimeout, ProfileTTL time.Duration
	// HTTPClient talks to the provider; nil is a client with a 10 s
	// timeout.
	HTTPClient *http.Client
}

// DefaultScopes are what the portal asks of every citizen: their name and
// birth date, contacts, documents (to pre-fill applications) and a refresh
// token (to keep the profile current).
var DefaultScopes = []string{"openid", "profile", "email", "mobile", "snils", "inn", "id_doc", "addresses", "offline_access"}

// CallbackPath, LogoutPath and BackchannelPath are the portal's routes of
// the protocol, registered with the provider.
const (
	CallbackPath    = "/auth/callback"
	BackchannelPath = "/auth/backchannel-logout"
	JWKSPath        = "/jwks.json"
)

// Deps are the platform's parts the service uses.
type Deps struct {
	DB     *sqldb.DB
	Sealer Sealer
	Key    *Key
	Log    *slog.Logger
	Now    func() time.Time
}

// Service signs citizens in and keeps their portal sessions.
type Service struct {
	cfg    Config
	db     *sqldb.DB
	sealer Sealer
	key    *Key
	log    *slog.Logger
	now    func() time.Time
	client *http.Client

	mu   sync.Mutex
	prov *provider
}

// Errors of a sign-in, for the page the citizen sees.
var (
	// ErrUnknownFlow: the callback's state is unknown, used or expired
	// (a reload of the callback, a link from elsewhere).
	ErrUnknownFlow = errors.New("auth: unknown or expired sign-in")
	// ErrCancelled: the citizen declined at the provider.
	ErrCancelled = errors.New("auth: sign-in cancelled")
	// ErrUnavailable: the provider could not be reached or failed.
	ErrUnavailable = errors.New("auth: identity provider unavailable")
	// ErrRefused: the provider's answer was wrong (a bad token, a mix-up).
	ErrRefused = errors.New("auth: sign-in refused")
	// ErrNoSecondFactor: a second factor was asked for and the account has
	// none.
	ErrNoSecondFactor = errors.New("auth: the account has no second factor")
	// ErrOtherBrowser: the callback came to a browser other than the one
	// that started the sign-in, even after a restart in it (a browser
	// that keeps no cookies).
	ErrOtherBrowser = errors.New("auth: the sign-in came back to another browser")
)

// New returns the service.
func New(cfg Config, d Deps) (*Service, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, errors.New("auth: issuer, client id and redirect URL are required")
	}
	if d.DB == nil || d.Sealer == nil || d.Key == nil {
		return nil, errors.New("auth: database, sealer and key are required")
	}
	if cfg.Scopes == nil {
		cfg.Scopes = DefaultScopes
	}
	cfg.SessionTTL = orDefault(cfg.SessionTTL, 12*time.Hour)
	cfg.IdleTimeout = orDefault(cfg.IdleTimeout, 30*time.Minute)
	cfg.ProfileTTL = orDefault(cfg.ProfileTTL, 10*time.Minute)
	s := &Service{cfg: cfg, db: d.DB, sealer: d.Sealer, key: d.Key, log: d.Log, now: d.Now, client: cfg.HTTPClient}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Key is the portal's client key.
func (s *Service) Key() *Key { return s.key }

// Need is what a page asks of the sign-in: at least a level, and a second
// factor.
type Need struct {
	Level string `json:"level,omitempty"`
	MFA   bool   `json:"mfa,omitempty"`
}

// The provider's acr values (idp/assurance and idp/oidc/authz publish them
// in discovery).
const (
	acrLevelPrefix = "urn:gosid:loa:"
	acrMFA         = "urn:gosid:ac:mfa"
)

// Levels are the assurance levels, lowest first.
var Levels = []string{"simplified", "standard", "confirmed"}

// Rank orders levels: 0 for an unknown one.
func Rank(level string) int { return slices.Index(Levels, level) + 1 }

func (n Need) acrValues() []string {
	var out []string
	if n.Level != "" {
		out = append(out, acrLevelPrefix+n.Level)
	}
	if n.MFA {
		out = append(out, acrMFA)
	}
	return out
}

// IsZero: nothing beyond a sign-in.
func (n Need) IsZero() bool { return n.Level == "" && !n.MFA }

// provider is the identity provider's discovery, cached for an hour.
type provider struct {
	fetched       time.Time
	authURL       string
	tokenURL      string
	userinfoURL   string
	endSessionURL string
	algs          []string
	issParam      bool
	keys          oidc.KeySet
}

const discoveryTTL = time.Hour

func (s *Service) provider(ctx context.Context) (*provider, error) {
	s.mu.Lock()
	p := s.prov
	s.mu.Unlock()
	if p != nil && s.now().Sub(p.fetched) < discoveryTTL {
		return p, nil
	}
	var d struct {
		Issuer        string   `json:"issuer"`
		Auth          string   `json:"authorization_endpoint"`
		Token         string   `json:"token_endpoint"`
		Userinfo      string   `json:"userinfo_endpoint"`
		EndSession    string   `json:"end_session_endpoint"`
		JWKS          string   `json:"jwks_uri"`
		Algs          []string `json:"id_token_signing_alg_values_supported"`
		IssParameter  bool     `json:"authorization_response_iss_parameter_supported"`
		AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
		BackchannelOK bool     `json:"backchannel_logout_supported"`
	}
	if err := s.getJSON(ctx, strings.TrimSuffix(s.cfg.Issuer, "/")+oidc.DiscoveryEndpoint, "", &d); err != nil {
		return nil, fmt.Errorf("%w: discovery: %w", ErrUnavailable, err)
	}
	if d.Issuer != s.cfg.Issuer || d.Auth == "" || d.Token == "" || d.JWKS == "" || d.Userinfo == "" {
		return nil, fmt.Errorf("%w: discovery: issuer or endpoints missing or not the configured issuer's", ErrUnavailable)
	}
	algs := slices.DeleteFunc(slices.Clone(d.Algs), func(a string) bool { return a == "none" || strings.HasPrefix(a, "HS") })
	p = &provider{fetched: s.now(), authURL: d.Auth, tokenURL: d.Token, userinfoURL: d.Userinfo, endSessionURL: d.EndSession,
		algs: algs, issParam: d.IssParameter, keys: rp.NewRemoteKeySet(s.client, d.JWKS)}
	s.mu.Lock()
	s.prov = p
	s.mu.Unlock()
	return p, nil
}

// httpStatusError is a provider's non-2xx answer.
type httpStatusError struct {
	code int
	body string
}

func (e httpStatusError) Error() string { return fmt.Sprintf("HTTP status %d", e.code) }

func (s *Service) getJSON(ctx context.Context, u, bearer string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return s.do(req, v)
}

func (s *Service) do(req *http.Request, v any) error {
	// The provider's answer is part of the citizen's request: its waits
	// for the database count towards the request's (httpx.Nested).
	done := httpx.Nested(req.Context(), req)
	resp, err := s.client.Do(req)
	done(resp)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return httpStatusError{code: resp.StatusCode, body: string(body)}
	}
	return json.Unmarshal(body, v)
}

// flowSecrets are a sign-in's secrets, sealed in portal_logins.
type flowSecrets struct {
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	Need     Need   `json:"need"`
	// Again: the sign-in restarts one whose code was spent (RestartError);
	// it is not restarted a second time.
	Again bool `json:"again,omitempty"`
	// Browser is the hash of the browser's binding cookie
	// (webui.Binding): only that browser finishes the sign-in.
	Browser []byte `json:"browser,omitempty"`
}

// RestartError is Finish's answer to a callback that can only finish as a
// new sign-in, which the provider's session answers at once: one whose
// code the provider refuses as spent, on a sign-in not yet restarted (an
// outage interrupted it after the provider had redeemed the code: the
// flow is kept for a retry, the code is not), or one whose session has
// opened already (its answer was lost), or one that another browser
// started (see Finish). The caller sends the browser to BeginAgain with
// Need.
type RestartError struct {
	Need   Need
	Reason string
}

func (e *RestartError) Error() string { return "auth: the sign-in starts again: " + e.Reason }

// LoginTTL is how long a citizen has to sign in at the provider.
const LoginTTL = 15 * time.Minute

// Begin starts a sign-in that comes back to returnTo (a local path the
// caller checked) and returns the provider's authorization URL. lang is
// the page's language, passed on as ui_locales. browser is the hash of
// the browser's binding cookie (webui.Binding.Begin): Finish finishes the
// sign-in only for a callback that brings the same.
func (s *Service) Begin(ctx context.Context, returnTo string, need Need, lang string, browser []byte) (string, error) {
	return s.begin(ctx, returnTo, need, lang, browser, false)
}

// BeginAgain is Begin for the sign-in a RestartError restarts: if its
// code too is refused, the sign-in fails (ErrRefused).
func (s *Service) BeginAgain(ctx context.Context, returnTo string, need Need, lang string, browser []byte) (string, error) {
	return s.begin(ctx, returnTo, need, lang, browser, true)
}

func (s *Service) begin(ctx context.Context, returnTo string, need Need, lang string, browser []byte, again bool) (string, error) {
	p, err := s.provider(ctx)
	if err != nil {
		return "", err
	}
	state, stateHash := bearer.New()
	nonce, _ := bearer.New()
	sec := flowSecrets{Nonce: nonce, Verifier: oauth2.GenerateVerifier(), Need: need, Again: again, Browser: browser}
	plain, err := json.Marshal(sec)
	if err != nil {
		return "", err
	}
	sealed, err := s.sealer.Seal(plain, loginAAD(stateHash))
	if err != nil {
		return "", storeErr("seal a sign-in", err)
	}
	now := s.now()
	if _, err := s.db.Exec(ctx, `INSERT INTO portal_logins (state_hash, secret_enc, return_to, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, stateHash, sealed, returnTo, sqldb.Micros(now), sqldb.Micros(now.Add(LoginTTL))); err != nil {
		return "", storeErr("store a sign-in", err)
	}
	q := url.Values{"response_type": {"code"}, "client_id": {s.cfg.ClientID}, "redirect_uri": {s.cfg.RedirectURL},
		"scope": {strings.Join(s.cfg.Scopes, " ")}, "state": {state}, "nonce": {sec.Nonce},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(sec.Verifier)}, "code_challenge_method": {"S256"},
		"claims": {claimsRequest}}
	if acr := need.acrValues(); len(acr) > 0 {
		q.Set("acr_values", strings.Join(acr, " "))
	}
	if lang != "" {
		q.Set("ui_locales", lang)
	}
	sep := "?"
	if strings.Contains(p.authURL, "?") {
		sep = "&"
	}
	return p.authURL + sep + q.Encode(), nil
}

// secrets opens the sealed secrets of the sign-in whose state hashes to
// flow.
func (s *Service) secrets(ctx context.Context, flow []byte, sealed []byte) (flowSecrets, error) {
	var sec flowSecrets
	plain, err := s.sealer.Open(ctx, sealed, loginAAD(flow))
	if err != nil {
		return sec, fmt.Errorf("auth: open a sign-in: %w", err)
	}
	if err := json.Unmarshal(plain, &sec); err != nil {
		return sec, fmt.Errorf("auth: sign-in secrets: %w", err)
	}
	return sec, nil
}

func loginAAD(flow []byte) []byte {
	return []byte("portal_logins|" + base64.RawURLEncoding.EncodeToString(flow))
}

// claimsRequest asks userinfo for the verified values of what the portal
// pre-fills, with the level their evidence supports, and the staff roles.
const claimsRequest = `{"userinfo":{"verified_claims":{"verification":{"trust_framework":null},` +
	`"claims":{"family_name":null,"given_name":null,"middle_name":null,"birthdate":null,"snils":null,"inn":null,"id_doc":null}}}}`

// Finish completes a sign-in from the callback's query: it returns the new
// session with its cookie value and the page to go back to. old is the
// cookie of a session the browser had, which ends (no session fixation).
// browser is the hash of the callback's binding cookie (webui.Binding.Of):
// a sign-in another browser started is not finished here — its code is
// not even redeemed — but starts again in this one (RestartError), so
// that an address an attacker sends signs the victim in as the victim
// (login CSRF); a restarted sign-in that still does not match fails
// (ErrOtherBrowser: a browser that keeps no cookies).
func (s *Service) Finish(ctx context.Context, q url.Values, old string, browser []byte) (sess *Session, cookie, returnTo string, err error) {
	flow, ok := bearer.Hash(q.Get("state"))
	if !ok {
		return nil, "", "", fmt.Errorf("%w: no state, or not one of ours", ErrUnknownFlow)
	}
	// The flow is read here and used up by the transaction that opens the
	// session (open), so that a callback an outage interrupted (the
	// database or the provider not answering: ErrUnavailable, 503) can be
	// sent again and finish; a callback that fails otherwise uses it up at
	// once. Two callbacks racing with one state: the provider redeems the
	// code once, and open lets one session in.
	var sealed, sealedTokens []byte
	var expires int64
	var done sql.NullInt64
	err = s.db.QueryRow(ctx, `SELECT secret_enc, return_to, expires_at, tokens_enc, done_at FROM portal_logins WHERE state_hash = $1`,
		flow).Scan(&sealed, &returnTo, &expires, &sealedTokens, &done)
	switch {
	case errors.Is(err, sqldb.ErrNotFound):
		return nil, "", "", fmt.Errorf("%w: no such state", ErrUnknownFlow)
	case err != nil:
		return nil, "", "", storeErr("read a sign-in", err)
	}
	defer func() {
		if err != nil && !errors.Is(err, ErrUnavailable) && sqldb.Unavailable(err) {
			// The database did not answer (the sealer's data key, the
			// session's row): an outage, not a refusal.
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		if err != nil && !errors.Is(err, ErrUnavailable) {
			if _, derr := s.db.Exec(context.WithoutCancel(ctx), `DELETE FROM portal_logins WHERE state_hash = $1 AND done_at IS NULL`, flow); derr != nil {
				s.log.WarnContext(ctx, "portal sign-in: a failed sign-in not removed", "err", derr)
			}
		}
	}()
	if !s.now().Before(sqldb.Time(expires)) {
		return nil, "", "", fmt.Errorf("%w: expired", ErrUnknownFlow)
	}
	sec, err := s.secrets(ctx, flow, sealed)
	if err != nil {
		return nil, "", returnTo, err
	}
	if done.Valid {
		// Its session opened, and this callback comes again: the answer
		// that carried the session's cookie was lost (or the citizen went
		// back to it). The sign-in starts again — answered at once from
		// the provider's session, or asking whoever this is to sign in
		// there: the address alone opens nothing.
		return nil, "", returnTo, &RestartError{Need: sec.Need, Reason: "its session opened already (the answer was lost)"}
	}
	if !webui.SameBrowser(sec.Browser, browser) {
		if sec.Again {
			return nil, "", returnTo, ErrOtherBrowser
		}
		return nil, "", returnTo, &RestartError{Need: sec.Need, Reason: "another browser started it"}
	}
	p, err := s.provider(ctx)
	if err != nil {
		return nil, "", returnTo, err
	}
	// RFC 9207: the response names its issuer (mix-up defence).
	if iss, ok := q["iss"]; ok {
		if len(iss) != 1 || iss[0] != s.cfg.Issuer {
			return nil, "", returnTo, fmt.Errorf("%w: iss of the authorization response is not the provider's", ErrRefused)
		}
	} else if p.issParam {
		return nil, "", returnTo, fmt.Errorf("%w: iss missing from the authorization response though advertised", ErrRefused)
	}
	switch e := q.Get("error"); e {
	case "":
	case "access_denied", "login_required", "interaction_required", "consent_required":
		return nil, "", returnTo, fmt.Errorf("%w: %s", ErrCancelled, oauthx.Code(e))
	case "unmet_authentication_requirements":
		return nil, "", returnTo, ErrNoSecondFactor
	case "temporarily_unavailable", "server_error":
		return nil, "", returnTo, fmt.Errorf("%w: the provider answered %s", ErrUnavailable, e)
	default:
		return nil, "", returnTo, fmt.Errorf("%w: the provider answered error %q", ErrRefused, oauthx.Code(e))
	}
	code := q.Get("code")
	if code == "" {
		return nil, "", returnTo, fmt.Errorf("%w: no code", ErrRefused)
	}
	tok, err := s.exchange(ctx, p, flow, code, sec, sealedTokens)
	if err != nil {
		return nil, "", returnTo, err
	}
	if tok.IDToken == "" {
		return nil, "", returnTo, fmt.Errorf("%w: no ID token", ErrRefused)
	}
	// The provider's clock may run a little ahead of ours.
	vopts := []rp.VerifierOption{rp.WithNonce(func(context.Context) string { return sec.Nonce }), rp.WithIssuedAtOffset(clockSkew)}
	if len(p.algs) > 0 {
		vopts = append(vopts, rp.WithSupportedSigningAlgorithms(p.algs...))
	}
	claims, err := rp.VerifyIDToken[*oidc.IDTokenClaims](ctx, tok.IDToken, rp.NewIDTokenVerifier(s.cfg.Issuer, s.cfg.ClientID, p.keys, vopts...))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) || strings.Contains(err.Error(), "failed to get keys") {
			return nil, "", returnTo, fmt.Errorf("%w: JWKS could not be fetched", ErrUnavailable)
		}
		return nil, "", returnTo, fmt.Errorf("%w: ID token: %s", ErrRefused, oauthx.TokenReason(err))
	}
	info, err := s.userinfo(ctx, p, tok.AccessToken, claims.Subject)
	if err != nil {
		return nil, "", returnTo, err
	}
	sid, _ := claims.Claims["sid"].(string)
	sess, cookie, err = s.open(ctx, flow, claims, sid, tok, info, sec.Need, old)
	if err != nil {
		return nil, "", returnTo, err
	}
	s.log.InfoContext(ctx, "portal sign-in", "level", sess.Profile.Level, "mfa", sess.MFA, "step_up", !sec.Need.IsZero())
	return sess, cookie, returnTo, nil
}

// exchange redeems the callback's code for tokens and keeps them (sealed)
// on the sign-in, so that the callback sent again after a later failure
// goes on with them (sealed, what an earlier attempt kept) rather than
// present the spent code again. Should keeping them fail, the sign-in
// goes on: only a retry would start afresh.
func (s *Service) exchange(ctx context.Context, p *provider, flow []byte, code string, sec flowSecrets, sealed []byte) (*tokenResponse, error) {
	var tok tokenResponse
	aad := []byte("portal_login_tokens|" + base64.RawURLEncoding.EncodeToString(flow))
	if sealed != nil {
		plain, err := s.sealer.Open(ctx, sealed, aad)
		if err != nil {
			return nil, fmt.Errorf("auth: open a sign-in's tokens: %w", err)
		}
		defer clear(plain)
		if err := json.Unmarshal(plain, &tok); err != nil {
			return nil, fmt.Errorf("auth: a sign-in's tokens: %w", err)
		}
		return &tok, nil
	}
	got, err := s.token(ctx, p, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {s.cfg.RedirectURL}, "code_verifier": {sec.Verifier}})
	if errors.Is(err, errInvalidGrant) {
		// The code is spent (redeemed by a callback an outage interrupted
		// before its tokens were kept, or never valid): sign in afresh,
		// once.
		if !sec.Again {
			return nil, &RestartError{Need: sec.Need, Reason: "the provider refused its code as spent"}
		}
		return nil, fmt.Errorf("%w: the code was refused", ErrRefused)
	}
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(got)
	if err == nil {
		sealed, err = s.sealer.Seal(plain, aad)
		clear(plain)
	}
	if err == nil {
		_, err = s.db.Exec(ctx, `UPDATE portal_logins SET tokens_enc = $1 WHERE state_hash = $2`, sealed, flow)
	}
	if err != nil {
		s.log.WarnContext(ctx, "portal sign-in: the tokens not kept for a retry", "err", err)
	}
	return got, nil
}

// storeErr wraps a failure of the portal's database: ErrUnavailable when
// the database did not answer (the request may be sent again).
func storeErr(what string, err error) error {
	if sqldb.Unavailable(err) {
		return fmt.Errorf("%w: %s: the portal's database: %w", ErrUnavailable, what, err)
	}
	return fmt.Errorf("auth: %s: %w", what, err)
}

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ExpiresIn    int64  `json:"expires_in"`
}

// errInvalidGrant: the provider no longer honours the refresh token.
var errInvalidGrant = errors.New("auth: invalid_grant")

// token calls the token endpoint, the client authenticated by a client
// assertion signed with the portal's key.
func (s *Service) token(ctx context.Context, p *provider, form url.Values) (*tokenResponse, error) {
	assertion, err := s.assertion(p)
	if err != nil {
		return nil, fmt.Errorf("auth: client assertion: %w", err)
	}
	form.Set("client_id", s.cfg.ClientID)
	form.Set("client_assertion_type", oidc.ClientAssertionTypeJWTAssertion)
	form.Set("client_assertion", assertion)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	var tok tokenResponse
	err = s.do(req, &tok)
	var se httpStatusError
	switch {
	case errors.As(err, &se) && se.code >= 500:
		return nil, fmt.Errorf("%w: token endpoint: HTTP %d", ErrUnavailable, se.code)
	case errors.As(err, &se):
		var oe struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal([]byte(se.body), &oe)
		if oe.Error == "invalid_grant" {
			return nil, fmt.Errorf("%w: token endpoint: HTTP %d", errInvalidGrant, se.code)
		}
		return nil, fmt.Errorf("%w: token endpoint: HTTP %d %s", ErrRefused, se.code, oauthx.Code(oe.Error))
	case err != nil:
		return nil, fmt.Errorf("%w: token endpoint: %s", ErrUnavailable, transportReason(err))
	}
	if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "bearer") {
		return nil, fmt.Errorf("%w: token endpoint: no bearer access token", ErrRefused)
	}
	return &tok, nil
}

// assertion is a client assertion (RFC 7523) for the token endpoint, by
// our clock, valid for a minute.
func (s *Service) assertion(p *provider) (string, error) {
	now := s.now()
	jti, _ := bearer.New()
	claims, err := json.Marshal(map[string]any{"iss": s.cfg.ClientID, "sub": s.cfg.ClientID, "aud": []string{s.cfg.Issuer, p.tokenURL},
		"jti": jti, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	if err != nil {
		return "", err
	}
	obj, err := s.key.signer.Sign(claims)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// userinfo fetches the citizen's claims; their subject must be the ID
// token's.
func (s *Service) userinfo(ctx context.Context, p *provider, accessToken, subject string) (map[string]any, error) {
	var info map[string]any
	if err := s.getJSON(ctx, p.userinfoURL, accessToken, &info); err != nil {
		var se httpStatusError
		if errors.As(err, &se) && se.code < 500 {
			return nil, fmt.Errorf("%w: userinfo: HTTP %d", ErrRefused, se.code)
		}
		return nil, fmt.Errorf("%w: userinfo: %s", ErrUnavailable, transportReason(err))
	}
	if sub, _ := info["sub"].(string); sub != subject {
		return nil, fmt.Errorf("%w: userinfo sub differs from the ID token's", ErrRefused)
	}
	return info, nil
}

// transportReason names a network failure without the URL's query.
func transportReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	var se httpStatusError
	if errors.As(err, &se) {
		return se.Error()
	}
	return "bad answer"
}

// LogoutURL ends the session whose cookie is given and returns where to
// send the browser: the provider's end_session_endpoint with the ID token
// as hint, coming back to the portal; or the portal itself when the
// provider has none or cannot be reached. An error (ErrUnavailable when
// the database did not answer) means the session was not ended: a
// sign-out is answered only once it is, or the session would stay valid
// behind a cleared cookie and the provider would be asked without a hint.
// The same sign-out sent again, its answer lost (a replica gone), finds
// the session ended and the hint the first one kept.
func (s *Service) LogoutURL(ctx context.Context, cookie, lang string) (string, error) {
	sess, err := s.lookup(ctx, cookie)
	if err != nil {
		return "", storeErr("sign out: read the session", err)
	}
	var hint string
	if sess != nil {
		hint = sess.data.IDToken
		if err := s.endSession(ctx, sess.idHash, hint); err != nil {
			return "", storeErr("sign out: end the session", err)
		}
	} else if hint, err = s.keptHint(ctx, cookie); err != nil {
		return "", storeErr("sign out: read a sign-out's hint", err)
	}
	p, err := s.provider(ctx)
	if err != nil || p.endSessionURL == "" {
		return s.cfg.PostLogoutURL, nil
	}
	q := url.Values{"client_id": {s.cfg.ClientID}, "post_logout_redirect_uri": {s.cfg.PostLogoutURL}}
	if hint != "" {
		q.Set("id_token_hint", hint)
	}
	if lang != "" {
		q.Set("ui_locales", lang)
	}
	return p.endSessionURL + "?" + q.Encode(), nil
}

// logoutHintTTL is how long a sign-out keeps its ID token hint for the
// same sign-out sent again (its answer lost with a replica).
const logoutHintTTL = 5 * time.Minute

// endSession ends the session idHash and keeps its ID token hint, sealed,
// for logoutHintTTL, in one transaction.
func (s *Service) endSession(ctx context.Context, idHash []byte, hint string) error {
	var sealed []byte
	if hint != "" {
		var err error
		if sealed, err = s.sealer.Seal([]byte(hint), logoutAAD(idHash)); err != nil {
			return err
		}
	}
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM portal_sessions WHERE id_hash = $1`, idHash); err != nil {
			return err
		}
		if sealed == nil {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO portal_logouts (id_hash, hint_enc, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (id_hash) DO UPDATE SET hint_enc = excluded.hint_enc, expires_at = excluded.expires_at`,
			idHash, sealed, sqldb.Micros(s.now().Add(logoutHintTTL)))
		return err
	})
}

// keptHint is the ID token hint a sign-out with this cookie kept, "" when
// none (no such sign-out, or too long ago).
func (s *Service) keptHint(ctx context.Context, cookie string) (string, error) {
	idHash, ok := bearer.Hash(cookie)
	if !ok {
		return "", nil
	}
	var sealed []byte
	err := s.db.QueryRow(ctx, `SELECT hint_enc FROM portal_logouts WHERE id_hash = $1 AND expires_at > $2`,
		idHash, sqldb.Micros(s.now())).Scan(&sealed)
	if errors.Is(err, sqldb.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	plain, err := s.sealer.Open(ctx, sealed, logoutAAD(idHash))
	if err != nil {
		return "", err
	}
	return string(plain), nil
}

func logoutAAD(idHash []byte) []byte {
	return []byte("portal_logouts|" + base64.RawURLEncoding.EncodeToString(idHash))
}

// logoutEvent is the back-channel logout token's event (OpenID Connect
// Back-Channel Logout 1.0, section 2.4).
const logoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// BackchannelLogout ends the portal sessions a logout token names: of its
// sid, or every session of its subject. It answers as section 2.8 says:
// 200 done, 400 for a token that does not verify, 501 never.
func (s *Service) BackchannelLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	n, err := s.backchannel(r.Context(), r.PostFormValue("logout_token"))
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrUnavailable) {
			status = http.StatusServiceUnavailable // the provider retries
		}
		s.log.WarnContext(r.Context(), "back-channel logout refused", "reason", err.Error())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": "the logout token was not accepted"})
		return
	}
	s.log.InfoContext(r.Context(), "back-channel logout", "sessions", n)
	w.WriteHeader(http.StatusOK)
}

// logoutSkew is how far a logout token's iat may be from our clock.
const logoutSkew = 5 * time.Minute

// clockSkew is how far ahead of ours the provider's clock may be for an ID
// token's iat.
const clockSkew = 2 * time.Minute

func (s *Service) backchannel(ctx context.Context, raw string) (int64, error) {
	if raw == "" {
		return 0, fmt.Errorf("%w: no logout_token", ErrRefused)
	}
	p, err := s.provider(ctx)
	if err != nil {
		return 0, err
	}
	algs := make([]jose.SignatureAlgorithm, 0, len(p.algs))
	for _, a := range p.algs {
		algs = append(algs, jose.SignatureAlgorithm(a))
	}
	if len(algs) == 0 {
		algs = []jose.SignatureAlgorithm{jose.RS256}
	}
	sig, err := jose.ParseSignedCompact(raw, algs)
	if err != nil {
		return 0, fmt.Errorf("%w: malformed logout token", ErrRefused)
	}
	payload, err := p.keys.VerifySignature(ctx, sig)
	if err != nil {
		return 0, fmt.Errorf("%w: logout token signature", ErrRefused)
	}
	var c oidc.LogoutTokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return 0, fmt.Errorf("%w: logout token claims", ErrRefused)
	}
	now := s.now()
	iat := c.IssuedAt.AsTime()
	switch {
	case c.Issuer != s.cfg.Issuer:
		return 0, fmt.Errorf("%w: logout token issuer", ErrRefused)
	case !slices.Contains(c.Audience, s.cfg.ClientID):
		return 0, fmt.Errorf("%w: logout token audience", ErrRefused)
	case iat.IsZero() || iat.After(now.Add(logoutSkew)) || iat.Before(now.Add(-logoutSkew)):
		return 0, fmt.Errorf("%w: logout token iat", ErrRefused)
	case !c.Expiration.AsTime().IsZero() && !now.Before(c.Expiration.AsTime()):
		return 0, fmt.Errorf("%w: logout token expired", ErrRefused)
	case c.Events == nil || c.Events[logoutEvent] == nil:
		return 0, fmt.Errorf("%w: logout token without the logout event", ErrRefused)
	case c.Claims["nonce"] != nil:
		return 0, fmt.Errorf("%w: logout token with a nonce", ErrRefused)
	case c.Subject == "" && c.SessionID == "":
		return 0, fmt.Errorf("%w: logout token names neither sub nor sid", ErrRefused)
	case c.JWTID == "":
		return 0, fmt.Errorf("%w: logout token without jti", ErrRefused)
	}
	// A jti acted on before: the token is replayed.
	res, err := s.db.Exec(ctx, `INSERT INTO portal_logout_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING`,
		c.JWTID, sqldb.Micros(now.Add(2*logoutSkew)))
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, fmt.Errorf("%w: logout token replayed", ErrRefused)
	}
	if c.SessionID != "" {
		q, args := `DELETE FROM portal_sessions WHERE idp_sid = $1`, []any{c.SessionID}
		if c.Subject != "" {
			q, args = q+` AND subject = $2`, append(args, c.Subject)
		}
		res, err = s.db.Exec(ctx, q, args...)
	} else {
		res, err = s.db.Exec(ctx, `DELETE FROM portal_sessions WHERE subject = $1`, c.Subject)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Sweep deletes expired sign-ins, sessions and logout token ids; run it
// periodically.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	now := sqldb.Micros(s.now())
	var total int64
	for _, q := range []string{`DELETE FROM portal_logins WHERE expires_at <= $1`, `DELETE FROM portal_sessions WHERE expires_at <= $1`,
		`DELETE FROM portal_logout_tokens WHERE expires_at <= $1`, `DELETE FROM portal_logouts WHERE expires_at <= $1`} {
		res, err := s.db.Exec(ctx, q, now)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// AccessToken is what the provider's JWT access token (RFC 9068) says of
// an API call: which client makes it and with which scopes.
type AccessToken struct {
	ClientID string
	Subject  string
	Scopes   []string
	Expiry   time.Time
}

// ErrInvalidToken: the access token is missing, malformed, expired, not
// the provider's, or not an access token.
var ErrInvalidToken = errors.New("auth: invalid access token")

// VerifyAccessToken checks a JWT access token the provider issued (the
// agencies' systems get theirs by client_credentials): its signature by
// the provider's JWKS, its type at+jwt, issuer and lifetime. A provider
// that cannot be reached is ErrUnavailable, not a verdict on the token.
func (s *Service) VerifyAccessToken(ctx context.Context, raw string) (*AccessToken, error) {
	p, err := s.provider(ctx)
	if err != nil {
		return nil, err
	}
	algs := make([]jose.SignatureAlgorithm, 0, len(p.algs))
	for _, a := range p.algs {
		algs = append(algs, jose.SignatureAlgorithm(a))
	}
	if len(algs) == 0 {
		algs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}
	}
	sig, err := jose.ParseSignedCompact(raw, algs)
	if err != nil || len(sig.Signatures) != 1 {
		return nil, fmt.Errorf("%w: malformed", ErrInvalidToken)
	}
	if typ, _ := sig.Signatures[0].Header.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "at+jwt") {
		return nil, fmt.Errorf("%w: not an access token (typ %q)", ErrInvalidToken, oauthx.Code(typ))
	}
	payload, err := p.keys.VerifySignature(ctx, sig)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("%w: JWKS could not be fetched", ErrUnavailable)
		}
		return nil, fmt.Errorf("%w: signature", ErrInvalidToken)
	}
	var c struct {
		Issuer   string `json:"iss"`
		Subject  string `json:"sub"`
		ClientID string `json:"client_id"`
		Scope    string `json:"scope"`
		Exp      int64  `json:"exp"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: claims", ErrInvalidToken)
	}
	exp := time.Unix(c.Exp, 0)
	switch {
	case c.Issuer != s.cfg.Issuer:
		return nil, fmt.Errorf("%w: issuer", ErrInvalidToken)
	case c.Exp == 0 || !s.now().Before(exp.Add(clockSkew)):
		return nil, fmt.Errorf("%w: expired", ErrInvalidToken)
	case c.ClientID == "":
		return nil, fmt.Errorf("%w: no client_id", ErrInvalidToken)
	}
	return &AccessToken{ClientID: c.ClientID, Subject: c.Subject, Scopes: strings.Fields(c.Scope), Expiry: exp}, nil
}
