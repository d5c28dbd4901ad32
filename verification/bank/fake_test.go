package bank_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// fakeBank is an upstream OpenID provider on 127.0.0.1 with real RSA keys
// and real signed JWTs, whose behaviour a test switches with mode.
type fakeBank struct {
	t      testing.TB
	srv    *httptest.Server
	issuer string
	key    *rsa.PrivateKey // signs ID tokens, published in the JWKS
	other  *rsa.PrivateKey // a key the JWKS does not hold

	clientID, secret string
	clientKey        crypto.PublicKey // private_key_jwt: the client's public key, nil for a secret

	mu         sync.Mutex
	mode       string
	issParam   bool // advertise authorization_response_iss_parameter_supported
	sub        string
	idClaims   map[string]any
	userinfo   map[string]any
	codes      map[string]grant
	tokens     map[string]string // access token → sub
	tokenCalls int
	stop       chan struct{} // closed at the end: hanging handlers return
	sawAuth    string        // how the client authenticated at the token endpoint
	// busy is the time spent in the bank's handlers, so that a benchmark
	// can tell the bank's share from Gosid's.
	busy atomic.Int64
}

type grant struct{ nonce, challenge, redirect string }

func newFakeBank(t testing.TB) *fakeBank {
	t.Helper()
	f := &fakeBank{t: t, clientID: "gosid", secret: "s3cret:with/odd&chars", issParam: true, sub: "bank-subject-1",
		codes: map[string]grant{}, tokens: map[string]string{}, stop: make(chan struct{})}
	var err error
	if f.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if f.other, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", f.discovery)
	mux.HandleFunc("GET /authorize", f.authorize)
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /userinfo", f.userinfoHandler)
	mux.HandleFunc("GET /jwks", f.jwks)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		mux.ServeHTTP(w, r)
		f.busy.Add(int64(time.Since(start)))
	}))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.stop) }) // runs before Close
	f.issuer = f.srv.URL
	return f
}

func (f *fakeBank) set(fn func(f *fakeBank)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeBank) get() (mode string, sub string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mode, f.sub
}

func (f *fakeBank) discovery(w http.ResponseWriter, _ *http.Request) {
	mode, _ := f.get()
	if mode == "discovery-down" {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	f.mu.Lock()
	doc := map[string]any{"issuer": f.issuer, "authorization_endpoint": f.issuer + "/authorize",
		"token_endpoint": f.issuer + "/token", "userinfo_endpoint": f.issuer + "/userinfo", "jwks_uri": f.issuer + "/jwks",
		"response_types_supported": []string{"code"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": f.issParam}
	f.mu.Unlock()
	writeJSON(w, doc)
}

// authorize signs the citizen in at once and redirects to the callback
// with a code (and iss as the mode says).
func (f *fakeBank) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("response_type") != "code" || q.Get("client_id") != f.clientID || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" || q.Get("redirect_uri") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	mode, _ := f.get()
	back := url.Values{"state": {q.Get("state")}}
	switch mode {
	case "access_denied":
		back.Set("error", "access_denied")
	default:
		code := random(f.t)
		f.mu.Lock()
		f.codes[code] = grant{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
		f.mu.Unlock()
		back.Set("code", code)
	}
	switch mode {
	case "bad-iss":
		back.Set("iss", "https://evil.example")
	case "no-iss":
	default:
		back.Set("iss", f.issuer)
	}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

func (f *fakeBank) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.tokenCalls++
	f.mu.Unlock()
	mode, sub := f.get()
	switch mode {
	case "token-500":
		http.Error(w, "oops", http.StatusInternalServerError)
		return
	case "token-hang":
		select {
		case <-r.Context().Done():
		case <-f.stop:
		}
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request")
		return
	}
	if !f.clientAuthenticated(r) {
		writeJSONStatus(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	f.mu.Lock()
	g, ok := f.codes[r.PostForm.Get("code")]
	delete(f.codes, r.PostForm.Get("code"))
	f.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != g.redirect ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError(w, "invalid_grant")
		return
	}
	claims := map[string]any{"iss": f.issuer, "sub": sub, "aud": f.clientID, "iat": time.Now().Unix(),
		"exp": time.Now().Add(5 * time.Minute).Unix(), "nonce": g.nonce}
	f.mu.Lock()
	for k, v := range f.idClaims {
		claims[k] = v
	}
	f.mu.Unlock()
	key := f.key
	switch mode {
	case "other-key":
		key = f.other
	case "wrong-nonce":
		claims["nonce"] = "another-nonce"
	case "wrong-aud":
		claims["aud"] = "someone-else"
	case "wrong-iss":
		claims["iss"] = "https://evil.example"
	case "expired":
		claims["exp"] = time.Now().Add(-time.Hour).Unix()
	}
	access := random(f.t)
	f.mu.Lock()
	f.tokens[access] = sub
	f.mu.Unlock()
	writeJSON(w, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 300,
		"id_token": sign(f.t, key, claims)})
}

// clientAuthenticated checks client_secret_basic, or private_key_jwt with
// the assertion's signature against the registered public key.
func (f *fakeBank) clientAuthenticated(r *http.Request) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.clientKey == nil {
		// RFC 6749 2.3.1: both are form-encoded before Basic.
		id, secret, ok := r.BasicAuth()
		id, err1 := url.QueryUnescape(id)
		secret, err2 := url.QueryUnescape(secret)
		f.sawAuth = "client_secret_basic"
		return ok && err1 == nil && err2 == nil && id == f.clientID && secret == f.secret
	}
	f.sawAuth = "private_key_jwt"
	if r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return false
	}
	jws, err := jose.ParseSignedCompact(r.PostForm.Get("client_assertion"), []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return false
	}
	payload, err := jws.Verify(f.clientKey)
	if err != nil {
		return false
	}
	var c struct {
		Iss, Sub string
		Aud      any
		Exp      int64
	}
	if json.Unmarshal(payload, &c) != nil || c.Iss != f.clientID || c.Sub != f.clientID || c.Exp < time.Now().Unix() {
		return false
	}
	switch aud := c.Aud.(type) {
	case string:
		return aud == f.issuer+"/token"
	case []any:
		return slices.Contains(aud, any(f.issuer+"/token"))
	}
	return false
}

func (f *fakeBank) userinfoHandler(w http.ResponseWriter, r *http.Request) {
	mode, _ := f.get()
	switch mode {
	case "userinfo-500":
		http.Error(w, "oops", http.StatusBadGateway)
		return
	case "userinfo-jwt":
		w.Header().Set("Content-Type", "application/jwt")
		_, _ = w.Write([]byte("e30.e30.e30"))
		return
	}
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	f.mu.Lock()
	sub, ok := f.tokens[h[min(len(prefix), len(h)):]]
	info := map[string]any{}
	for k, v := range f.userinfo {
		info[k] = v
	}
	f.mu.Unlock()
	if len(h) < len(prefix) || h[:len(prefix)] != prefix || !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	info["sub"] = sub
	if mode == "userinfo-sub" {
		info["sub"] = "somebody-else"
	}
	writeJSON(w, info)
}

func (f *fakeBank) jwks(w http.ResponseWriter, _ *http.Request) {
	if mode, _ := f.get(); mode == "jwks-down" {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
}

func sign(t testing.TB, key *rsa.PrivateKey, claims map[string]any) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: &jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Error(err)
		return ""
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Error(err)
		return ""
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Error(err)
	}
	return s
}

func tokenError(w http.ResponseWriter, code string) {
	writeJSONStatus(w, http.StatusBadRequest, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func random(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Error(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
