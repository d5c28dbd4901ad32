package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Lifetimes.
const (
	requestTTL = 10 * time.Minute // a shown page's anti-forgery token
	codeTTL    = 60 * time.Second
	tokenTTL   = 5 * time.Minute
	// maxEntries caps each in-memory table, so that a loop of requests
	// cannot grow the process without bound.
	maxEntries = 10000
)

// Config configures the sandbox bank: its issuer and its one client.
type Config struct {
	// Issuer is the sandbox's public URL, e.g. http://localhost:8082; the
	// routes are served under its path.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURIs are the client's redirect URIs, matched exactly.
	RedirectURIs []string
	Now          func() time.Time // time.Now when nil
	Log          *slog.Logger     // slog.Default() when nil
}

// Sandbox is the sandbox bank's OpenID provider. Its state is in memory
// (see the package doc).
type Sandbox struct {
	cfg    Config
	prefix string // the issuer's path, without a trailing slash
	key    *rsa.PrivateKey
	kid    string
	pages  *pages

	mu       sync.Mutex
	requests map[string]*authRequest // by anti-forgery token
	codes    map[string]*grant       // by code
	tokens   map[string]*grant       // by access token
}

// authRequest is a validated authorization request awaiting the
// customer's choice.
type authRequest struct {
	redirectURI, state, nonce, challenge, scope string
	browser                                     string // the anti-forgery cookie's value
	expires                                     time.Time
}

// grant is what a code or an access token stands for.
type grant struct {
	sub, redirectURI, nonce, challenge, scope string
	authTime, expires                         time.Time
}

// New checks cfg and generates the signing key.
func New(cfg Config) (*Sandbox, error) {
	u, err := url.Parse(cfg.Issuer)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return nil, fmt.Errorf("sandbox: issuer %q is not an http(s) URL without query or fragment", cfg.Issuer)
	case cfg.ClientID == "" || cfg.ClientSecret == "":
		return nil, errors.New("sandbox: client id and secret are required")
	case len(cfg.RedirectURIs) == 0:
		return nil, errors.New("sandbox: at least one redirect URI is required")
	}
	for _, r := range cfg.RedirectURIs {
		ru, err := url.Parse(r)
		if err != nil || !ru.IsAbs() || ru.Fragment != "" {
			return nil, fmt.Errorf("sandbox: redirect URI %q is not an absolute URL without fragment", r)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	cfg.RedirectURIs = append([]string(nil), cfg.RedirectURIs...)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sandbox: signing key: %w", err)
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &Sandbox{
		cfg:      cfg,
		prefix:   strings.TrimSuffix(u.Path, "/"),
		key:      key,
		kid:      "sandbox-" + randomString(6),
		pages:    p,
		requests: map[string]*authRequest{},
		codes:    map[string]*grant{},
		tokens:   map[string]*grant{},
	}, nil
}

// Handler returns the sandbox's routes.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	p := s.prefix
	mux.HandleFunc("GET "+p+"/.well-known/openid-configuration", s.showDiscovery)
	mux.HandleFunc("GET "+p+"/jwks", s.showJWKS)
	mux.HandleFunc("GET "+p+"/authorize", s.showAuthorize)
	mux.HandleFunc("POST "+p+"/authorize", s.submitAuthorize)
	mux.HandleFunc("POST "+p+"/token", s.exchangeCode)
	mux.HandleFunc("GET "+p+"/userinfo", s.showUserinfo)
	mux.HandleFunc("POST "+p+"/userinfo", s.showUserinfo)
	return mux
}

func (s *Sandbox) showDiscovery(w http.ResponseWriter, r *http.Request) {
	iss := s.cfg.Issuer
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + "/authorize",
		"token_endpoint":                                 iss + "/token",
		"userinfo_endpoint":                              iss + "/userinfo",
		"jwks_uri":                                       iss + "/jwks",
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{"authorization_code"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"RS256"},
		"scopes_supported":                               []string{"openid", "profile", "email", "phone"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":               []string{"S256"},
		"claims_supported":                               claimNames,
		"authorization_response_iss_parameter_supported": true,
	})
}

func (s *Sandbox) showJWKS(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &s.key.PublicKey, KeyID: s.kid, Algorithm: string(jose.RS256), Use: "sig",
	}}})
}

// put stores v under a fresh random key in m, after dropping expired
// entries; ok is false when the table is full.
func put[V any](m map[string]V, v V, expired func(V) bool) (key string, ok bool) {
	for k, old := range m {
		if expired(old) {
			delete(m, k)
		}
	}
	if len(m) >= maxEntries {
		return "", false
	}
	key = randomString(32)
	m[key] = v
	return key, true
}

// take removes and returns m[key] (single use); ok is false when it is
// missing.
func take[V any](m map[string]V, key string) (v V, ok bool) {
	v, ok = m[key]
	delete(m, key)
	return v, ok
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// equalSecret compares in constant time.
func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client went away; nothing to do
}
