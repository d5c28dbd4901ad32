package bank

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/zitadel/oidc/v3/pkg/client"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/gosid/gosid/internal/oauthx"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

const (
	// FlowTTL is how long a citizen has to come back from the bank.
	FlowTTL = 10 * time.Minute
	// discoveryTTL is how long a bank's discovery document is cached.
	discoveryTTL = 10 * time.Minute
	// DefaultTimeout bounds each call to a bank when Deps.HTTPClient is nil.
	DefaultTimeout = 10 * time.Second
	// maxBody bounds what is read from a bank's discovery and userinfo.
	maxBody = 1 << 20
)

// Sealer encrypts a flow's nonce and PKCE verifier at rest (keys.Manager).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, blob, aad []byte) ([]byte, error)
}

// Deps are what a Connector uses.
type Deps struct {
	DB     *sqldb.DB
	Banks  *Store
	Sealer Sealer
	// Callback is the absolute redirect URI registered at every bank
	// (issuer + "/bank/callback").
	Callback string
	// HTTPClient calls the banks; nil: a client with DefaultTimeout.
	HTTPClient *http.Client
	Now        func() time.Time
	Log        *slog.Logger
	// Metrics receives the connector's metrics; nil: none.
	Metrics prometheus.Registerer
}

// Connector runs authorization code flows with banks.
type Connector struct {
	db       *sqldb.DB
	banks    *Store
	sealer   Sealer
	callback string
	client   *http.Client
	now      func() time.Time
	log      *slog.Logger
	flows    *prometheus.CounterVec

	mu        sync.Mutex
	providers map[string]*provider // by bank id
}

// provider is what discovery told about a bank, cached per process.
type provider struct {
	issuer string // the Bank.Issuer the entry was fetched for
	// discovery is the URL it was fetched from.
	discovery string
	fetched   time.Time
	authURL   string
	tokenURL  string
	userinfo  string
	algs      []string
	issParam  bool // authorization_response_iss_parameter_supported
	keys      oidc.KeySet
}

// NewConnector returns a connector.
func NewConnector(d Deps) *Connector {
	c := &Connector{db: d.DB, banks: d.Banks, sealer: d.Sealer, callback: d.Callback, client: d.HTTPClient,
		now: d.Now, log: d.Log, providers: map[string]*provider{}}
	if c.client == nil {
		c.client = &http.Client{Timeout: DefaultTimeout}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.flows = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gosid_bank_flows_total",
		Help: "Bank flows started and finished, by bank and outcome (started, ok, cancelled, unavailable, refused, unknown_flow, other_browser)."},
		[]string{"bank", "outcome"})
	if d.Metrics != nil {
		if err := d.Metrics.Register(c.flows); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				if cv, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
					c.flows = cv
				}
			}
		}
	}
	return c
}

// secrets is the sealed part of a flow.
type secrets struct {
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	// Browser is the hash of the starting browser's binding cookie
	// (webui.Binding): only that browser finishes the flow.
	Browser []byte `json:"browser,omitempty"`
}

func flowID(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

func flowAAD(id string) []byte { return []byte("bank_flows:" + id) }

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Begin starts a flow and returns the bank's authorization URL; see the
// package doc. ErrUnknownBank for an unknown or disabled bank,
// ErrUnavailable when its discovery fails. browser is the hash of the
// browser's binding cookie (webui.Binding.Begin), which Finish wants back.
func (c *Connector) Begin(ctx context.Context, bankID string, p Purpose, accountID, data string, browser []byte) (string, error) {
	if !p.valid() {
		return "", fmt.Errorf("bank: unknown purpose %q", p)
	}
	if p.needsAccount() && accountID == "" {
		return "", fmt.Errorf("bank: purpose %s needs an account", p)
	}
	b, err := c.bank(ctx, bankID)
	if err != nil {
		return "", err
	}
	prov, err := c.provider(ctx, b)
	if err != nil {
		return "", err
	}
	state, sec := random(), secrets{Nonce: random(), Verifier: oauth2.GenerateVerifier(), Browser: browser}
	id := flowID(state)
	plain, err := json.Marshal(sec)
	if err != nil {
		return "", err
	}
	sealed, err := c.sealer.Seal(plain, flowAAD(id))
	if err != nil {
		return "", fmt.Errorf("bank: sealing a flow: %w", err)
	}
	now := c.now()
	var account any
	if accountID != "" {
		account = accountID
	}
	if _, err := c.db.Exec(ctx, `INSERT INTO bank_flows (id, bank_id, purpose, account_id, data, secrets_enc, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, b.ID, string(p), account, data, sealed,
		sqldb.Micros(now), sqldb.Micros(now.Add(FlowTTL))); err != nil {
		return "", fmt.Errorf("bank: storing a flow: %w", err)
	}
	party, err := c.party(b, prov, oauth2.AuthStyleInHeader)
	if err != nil {
		return "", err
	}
	c.flows.WithLabelValues(b.ID, "started").Inc()
	return rp.AuthURL(state, party, rp.WithCodeChallenge(oauth2.S256ChallengeFromVerifier(sec.Verifier)),
		rp.AuthURLOpt(rp.WithURLParam("nonce", sec.Nonce))), nil
}

// bank returns an enabled bank or ErrUnknownBank.
func (c *Connector) bank(ctx context.Context, id string) (*Bank, error) {
	b, err := c.banks.Get(ctx, id)
	if errors.Is(err, sqldb.ErrNotFound) || err == nil && b.Disabled {
		return nil, fmt.Errorf("%w: %q", ErrUnknownBank, id)
	}
	return b, err
}

// party is the zitadel relying party for one exchange with b.
func (c *Connector) party(b *Bank, prov *provider, style oauth2.AuthStyle) (rp.RelyingParty, error) {
	cfg := &oauth2.Config{ClientID: b.ClientID, RedirectURL: c.callback, Scopes: b.scopes(),
		Endpoint: oauth2.Endpoint{AuthURL: prov.authURL, TokenURL: prov.tokenURL}}
	return rp.NewRelyingPartyOAuth(cfg, rp.WithHTTPClient(c.client), rp.WithAuthStyle(style))
}

// discovery is the part of a discovery document the connector reads.
type discovery struct {
	Issuer           string   `json:"issuer"`
	AuthEndpoint     string   `json:"authorization_endpoint"`
	TokenEndpoint    string   `json:"token_endpoint"`
	UserinfoEndpoint string   `json:"userinfo_endpoint"`
	JWKSURI          string   `json:"jwks_uri"`
	Algs             []string `json:"id_token_signing_alg_values_supported"`
	IssParameter     bool     `json:"authorization_response_iss_parameter_supported"`
}

// provider returns b's discovery, cached for discoveryTTL.
func (c *Connector) provider(ctx context.Context, b *Bank) (*provider, error) {
	c.mu.Lock()
	p := c.providers[b.ID]
	c.mu.Unlock()
	where := b.DiscoveryURL
	if where == "" {
		where = strings.TrimSuffix(b.Issuer, "/") + oidc.DiscoveryEndpoint
	}
	if p != nil && p.issuer == b.Issuer && p.discovery == where && c.now().Sub(p.fetched) < discoveryTTL {
		return p, nil
	}
	var d discovery
	if err := c.getJSON(ctx, where, "", &d); err != nil {
		c.log.WarnContext(ctx, "bank discovery failed", "bank", b.ID, "reason", err.Error())
		return nil, fmt.Errorf("%w: %s: discovery: %w", ErrUnavailable, b.ID, err)
	}
	var bad []string
	if d.Issuer != b.Issuer {
		bad = append(bad, "issuer differs from the configured one")
	}
	for name, u := range map[string]string{"authorization_endpoint": d.AuthEndpoint, "token_endpoint": d.TokenEndpoint, "jwks_uri": d.JWKSURI} {
		if !endpointOK(u) {
			bad = append(bad, name+" missing or not https")
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		c.log.WarnContext(ctx, "bank discovery refused", "bank", b.ID, "reason", strings.Join(bad, "; "))
		return nil, fmt.Errorf("%w: %s: bad discovery: %s", ErrUnavailable, b.ID, strings.Join(bad, "; "))
	}
	algs := slices.DeleteFunc(slices.Clone(d.Algs), func(a string) bool { return a == "none" || strings.HasPrefix(a, "HS") })
	p = &provider{issuer: b.Issuer, discovery: where, fetched: c.now(), authURL: d.AuthEndpoint, tokenURL: d.TokenEndpoint,
		userinfo: d.UserinfoEndpoint, algs: algs, issParam: d.IssParameter,
		// The remote key set fetches the JWKS again on an unknown kid.
		keys: rp.NewRemoteKeySet(c.client, d.JWKSURI)}
	c.mu.Lock()
	c.providers[b.ID] = p
	c.mu.Unlock()
	return p, nil
}

// statusError is a bank's non-2xx answer.
type statusError struct{ code int }

func (e statusError) Error() string { return fmt.Sprintf("HTTP status %d", e.code) }

// getJSON fetches u (with a bearer token unless "") and decodes its JSON
// into v (numbers as json.Number when v is a map).
func (c *Connector) getJSON(ctx context.Context, u, bearer string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return netError{transportError(err)}
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return statusError{resp.StatusCode}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "" && mt != "application/json" {
		return fmt.Errorf("content type %q, want application/json", mt)
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxBody))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var ue *url.Error
		if errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) {
			return netError{transportError(err)}
		}
		return fmt.Errorf("bad JSON: %w", err)
	}
	return nil
}

// netError is a failure to reach a bank or to read its answer.
type netError struct{ err error }

func (e netError) Error() string { return e.err.Error() }
func (e netError) Unwrap() error { return e.err }

// down reports whether a getJSON error means the bank is unavailable (the
// network, a timeout, 5xx) rather than misbehaving (4xx, not JSON).
func down(err error) bool {
	var ne netError
	var se statusError
	return errors.As(err, &ne) || errors.As(err, &se) && se.code >= 500
}

// transportError strips a URL error to its cause so that no URL with a
// query (a code) reaches an error string.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("timeout")
		}
		return ue.Err
	}
	return err
}

// Result is what a finished flow brings back.
type Result struct {
	Bank      Bank
	Purpose   Purpose
	AccountID string
	Data      string
	// Subject is the bank's sub for the citizen.
	Subject string
	// Values holds every mapped field the bank sent, normalised.
	Values map[string]string
	// Vouched is the subset of Values in Bank.Vouches.
	Vouched map[string]string
	At      time.Time
}

// FlowError is the failure of a flow that was found: what it was for and
// with which bank. It unwraps to the package's sentinel.
type FlowError struct {
	Purpose Purpose
	BankID  string
	Err     error
}

func (e *FlowError) Error() string { return e.Err.Error() }
func (e *FlowError) Unwrap() error { return e.Err }

// flow is a consumed bank_flows row.
type flow struct {
	id, bankID, purpose, data string
	accountID                 *string
	sealed                    []byte
	expires                   int64
}

// Finish completes a flow from the callback's query; see the package doc.
// Every error wraps one of the package's sentinels; Gosid's own failures
// (database, sealing, an unreadable secret or key file) wrap ErrUnavailable.
// browser is the hash of the callback's binding cookie (webui.Binding.Of):
// a flow another browser started is used up unfinished, its code not
// redeemed (ErrOtherBrowser) — else an attacker who signs in at the bank
// as themselves and sends the callback's address to a victim would sign
// the victim's browser in to the attacker's account (login CSRF).
//
// A flow that was found but failed answers a *FlowError naming its
// purpose and bank, so that the page can say what failed and lead back to
// where the flow started.
func (c *Connector) Finish(ctx context.Context, q url.Values, browser []byte) (*Result, error) {
	res, f, err := c.finish(ctx, q, browser)
	bankID := ""
	if f != nil {
		bankID = f.bankID
	}
	outcome := "ok"
	switch {
	case err == nil:
	case errors.Is(err, ErrCancelled):
		outcome = "cancelled"
	case errors.Is(err, ErrUnavailable):
		outcome = "unavailable"
	case errors.Is(err, ErrRefused):
		outcome = "refused"
	case errors.Is(err, ErrUnknownFlow):
		outcome = "unknown_flow"
	case errors.Is(err, ErrOtherBrowser):
		outcome = "other_browser"
	case errors.Is(err, ErrUnknownBank):
		outcome = "unknown_bank"
	default:
		// Gosid's own failure (database, sealing, a key or secret file):
		// for the citizen it is "try later" too.
		outcome, err = "error", fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if bankID != "" || outcome == "unknown_flow" {
		c.flows.WithLabelValues(bankID, outcome).Inc()
	}
	if err != nil {
		// err holds reasons only: no token, code, state or claim value.
		c.log.WarnContext(ctx, "bank flow failed", "bank", bankID, "outcome", outcome, "reason", err.Error())
		if f != nil {
			err = &FlowError{Purpose: Purpose(f.purpose), BankID: f.bankID, Err: err}
		}
		return nil, err
	}
	c.log.InfoContext(ctx, "bank flow finished", "bank", bankID, "purpose", string(res.Purpose),
		"fields", slices.Sorted(maps.Keys(res.Values)), "vouched", len(res.Vouched))
	return res, nil
}

func (c *Connector) finish(ctx context.Context, q url.Values, browser []byte) (*Result, *flow, error) {
	state := q.Get("state")
	if state == "" {
		return nil, nil, fmt.Errorf("%w: no state", ErrUnknownFlow)
	}
	f, err := c.consume(ctx, flowID(state))
	if err != nil {
		return nil, f, err
	}
	b, err := c.bank(ctx, f.bankID)
	if err != nil {
		return nil, f, err
	}
	prov, err := c.provider(ctx, b)
	if err != nil {
		return nil, f, err
	}
	// RFC 9207: the authorization response names its issuer (mix-up
	// defence); a bank that advertises it must send it, also with errors.
	if iss, ok := q["iss"]; ok {
		if len(iss) != 1 || iss[0] != b.Issuer {
			return nil, f, fmt.Errorf("%w: %s: iss of the authorization response is not the bank's", ErrRefused, b.ID)
		}
	} else if prov.issParam {
		return nil, f, fmt.Errorf("%w: %s: iss missing from the authorization response though advertised", ErrRefused, b.ID)
	}
	if e := q.Get("error"); e != "" {
		switch e {
		case "access_denied":
			return nil, f, fmt.Errorf("%w: %s", ErrCancelled, b.ID)
		case "temporarily_unavailable", "server_error":
			return nil, f, fmt.Errorf("%w: %s: the bank answered %s", ErrUnavailable, b.ID, e)
		}
		return nil, f, fmt.Errorf("%w: %s: the bank answered error %q", ErrRefused, b.ID, oauthx.Code(e))
	}
	code := q.Get("code")
	if code == "" {
		return nil, f, fmt.Errorf("%w: %s: no code", ErrRefused, b.ID)
	}
	plain, err := c.sealer.Open(ctx, f.sealed, flowAAD(f.id))
	if err != nil {
		return nil, f, fmt.Errorf("bank: opening a flow: %w", err)
	}
	var sec secrets
	if err := json.Unmarshal(plain, &sec); err != nil {
		return nil, f, fmt.Errorf("bank: flow secrets: %w", err)
	}
	if !webui.SameBrowser(sec.Browser, browser) {
		return nil, f, fmt.Errorf("%w: %s", ErrOtherBrowser, b.ID)
	}
	claims, userinfo, err := c.exchange(ctx, b, prov, code, sec)
	if err != nil {
		return nil, f, err
	}
	values, dropped := mapClaims(b.Claims, claims.Claims, userinfo)
	if len(dropped) > 0 {
		c.log.WarnContext(ctx, "bank sent unusable values", "bank", b.ID, "fields", dropped)
	}
	vouched := map[string]string{}
	for _, f := range b.Vouches {
		if v, ok := values[f]; ok {
			vouched[f] = v
		}
	}
	r := &Result{Bank: *b, Purpose: Purpose(f.purpose), Data: f.data, Subject: claims.Subject, Values: values,
		Vouched: vouched, At: c.now()}
	if f.accountID != nil {
		r.AccountID = *f.accountID
	}
	return r, f, nil
}

// consume deletes the flow and returns it: of two callbacks with one
// state, one gets the row and the other ErrUnknownFlow. An expired flow
// is returned with ErrUnknownFlow.
func (c *Connector) consume(ctx context.Context, id string) (*flow, error) {
	f := &flow{id: id}
	err := c.db.QueryRow(ctx, `DELETE FROM bank_flows WHERE id = $1
		RETURNING bank_id, purpose, account_id, data, secrets_enc, expires_at`, id).
		Scan(&f.bankID, &f.purpose, &f.accountID, &f.data, &f.sealed, &f.expires)
	switch {
	case errors.Is(err, sqldb.ErrNotFound):
		return nil, fmt.Errorf("%w: no such state", ErrUnknownFlow)
	case err != nil:
		return nil, err
	case !c.now().Before(sqldb.Time(f.expires)):
		return f, fmt.Errorf("%w: expired", ErrUnknownFlow)
	}
	return f, nil
}

// exchange redeems the code, verifies the ID token and fetches userinfo
// (nil when the bank has no userinfo endpoint).
func (c *Connector) exchange(ctx context.Context, b *Bank, prov *provider, code string, sec secrets) (*oidc.IDTokenClaims, map[string]any, error) {
	opts := []rp.CodeExchangeOpt{rp.WithCodeVerifier(sec.Verifier)}
	style := oauth2.AuthStyleInHeader // client_secret_basic
	var secret string
	if b.PrivateKeyFile != "" {
		signer, err := loadSigner(b.PrivateKeyFile, b.KeyID)
		if err != nil {
			return nil, nil, fmt.Errorf("bank %s: private key: %w", b.ID, err)
		}
		assertion, err := client.SignedJWTProfileAssertion(b.ClientID, []string{prov.tokenURL}, time.Minute, signer)
		if err != nil {
			return nil, nil, fmt.Errorf("bank %s: client assertion: %w", b.ID, err)
		}
		opts, style = append(opts, rp.WithClientAssertionJWT(assertion)), oauth2.AuthStyleInParams
	} else {
		raw, err := os.ReadFile(b.ClientSecretFile)
		if err != nil {
			return nil, nil, fmt.Errorf("bank %s: client secret file: %w", b.ID, err)
		}
		secret = strings.TrimSpace(string(raw))
	}
	party, err := c.party(b, prov, style)
	if err != nil {
		return nil, nil, err
	}
	party.OAuthConfig().ClientSecret = secret
	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, code, party, opts...)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return nil, nil, fmt.Errorf("%w: %s: token endpoint: HTTP %d %s", ErrRefused, b.ID, re.Response.StatusCode, oauthx.Code(re.ErrorCode))
		}
		if re != nil && re.Response != nil {
			return nil, nil, fmt.Errorf("%w: %s: token endpoint: HTTP %d", ErrUnavailable, b.ID, re.Response.StatusCode)
		}
		return nil, nil, fmt.Errorf("%w: %s: token endpoint: %w", ErrUnavailable, b.ID, transportError(err))
	}
	raw, _ := tokens.Token.Extra("id_token").(string)
	if raw == "" {
		return nil, nil, fmt.Errorf("%w: %s: no ID token", ErrRefused, b.ID)
	}
	vopts := []rp.VerifierOption{rp.WithNonce(func(context.Context) string { return sec.Nonce })}
	if len(prov.algs) > 0 {
		vopts = append(vopts, rp.WithSupportedSigningAlgorithms(prov.algs...))
	}
	verifier := rp.NewIDTokenVerifier(b.Issuer, b.ClientID, prov.keys, vopts...)
	claims, err := rp.VerifyTokens[*oidc.IDTokenClaims](ctx, tokens.AccessToken, raw, verifier)
	if err != nil {
		// A key set that cannot be fetched is the bank being down, not a
		// bad token; zitadel's remote key set says so only in its message.
		var ue *url.Error
		if errors.As(err, &ue) || strings.Contains(err.Error(), "failed to get keys") {
			return nil, nil, fmt.Errorf("%w: %s: JWKS could not be fetched", ErrUnavailable, b.ID)
		}
		return nil, nil, fmt.Errorf("%w: %s: ID token: %s", ErrRefused, b.ID, oauthx.TokenReason(err))
	}
	if prov.userinfo == "" {
		return claims, nil, nil
	}
	var info map[string]any
	if err := c.getJSON(ctx, prov.userinfo, tokens.AccessToken, &info); err != nil {
		if down(err) {
			return nil, nil, fmt.Errorf("%w: %s: userinfo: %w", ErrUnavailable, b.ID, err)
		}
		return nil, nil, fmt.Errorf("%w: %s: userinfo: %w", ErrRefused, b.ID, err)
	}
	if sub, _ := info["sub"].(string); sub != claims.Subject {
		return nil, nil, fmt.Errorf("%w: %s: userinfo sub differs from the ID token's", ErrRefused, b.ID)
	}
	return claims, info, nil
}

// loadSigner reads a PEM private key (PKCS#1, PKCS#8 or SEC 1) for
// private_key_jwt.
func loadSigner(path, kid string) (jose.Signer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var key crypto.Signer
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		key = k
	} else if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		key = k
	} else if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, errors.New("unsupported key type")
		}
		key = s
	} else {
		return nil, errors.New("not an RSA or EC private key")
	}
	var alg jose.SignatureAlgorithm
	switch k := key.(type) {
	case *rsa.PrivateKey:
		alg = jose.RS256
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			alg = jose.ES256
		case elliptic.P384():
			alg = jose.ES384
		case elliptic.P521():
			alg = jose.ES512
		default:
			return nil, errors.New("unsupported curve")
		}
	default:
		return nil, errors.New("not an RSA or EC private key")
	}
	return jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: &jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
}

// Sweep deletes expired flows; the caller runs it periodically.
func (c *Connector) Sweep(ctx context.Context) (int, error) {
	res, err := c.db.Exec(ctx, `DELETE FROM bank_flows WHERE expires_at <= $1`, sqldb.Micros(c.now()))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// endpointOK: an absolute https URL (http for a loopback host).
func endpointOK(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	return u.Scheme == "https" || u.Scheme == "http" && loopback(u.Hostname())
}
