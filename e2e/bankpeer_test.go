package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The stand-in bank: Node oidc-provider run by e2e/node/bank.mjs.

const bankScript = "bank.mjs" // in e2e/node, where its node_modules are

// nodeBankConfig is bank.mjs's input.
type nodeBankConfig struct {
	Clients  []nodeBankClient  `json:"clients"`
	Accounts []nodeBankAccount `json:"accounts"`
}

type nodeBankClient struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	RedirectURIs []string `json:"redirect_uris"`
	// AuthMethod is client_secret_basic (the default) or client_secret_post.
	AuthMethod string `json:"token_endpoint_auth_method,omitempty"`
}

type nodeBankAccount struct {
	Sub    string         `json:"sub"`
	Claims map[string]any `json:"claims"`
}

// sandboxCustomers is the sandbox bank's test customers, read as a file
// (e2e imports no module): {sub, purpose, claims} each.
const sandboxCustomers = "../verification/bank/sandbox/customers.json"

// sandboxAccounts are the sandbox bank's test customers as stand-in bank
// accounts: the same subjects and claims (docs/verification.md («The sandbox bank»)).
func sandboxAccounts(t *testing.T) []nodeBankAccount {
	t.Helper()
	b, err := os.ReadFile(sandboxCustomers)
	if err != nil {
		t.Fatal(err)
	}
	var out []nodeBankAccount
	if err := json.Unmarshal(b, &out); err != nil || len(out) == 0 {
		t.Fatalf("%s: %d accounts, %v", sandboxCustomers, len(out), err)
	}
	return out
}

// nodeBank is a running stand-in bank.
type nodeBank struct {
	Issuer string
	out    *syncBuffer // its stdout after the first line, and its stderr
}

// requireNodeBank returns the node binary when Node and oidc-provider are
// installed; it skips otherwise, or fails under GOSID_E2E=1.
func requireNodeBank(t *testing.T) string {
	t.Helper()
	node := requireNode(t)
	if _, err := os.Stat(filepath.Join("node", "node_modules", "oidc-provider", "package.json")); err != nil {
		const msg = "oidc-provider missing from e2e/node/node_modules (`cd e2e/node && npm ci`); GOSID_E2E=1 turns this skip into a failure"
		if os.Getenv("GOSID_E2E") == "1" {
			t.Fatalf("%s: %v", msg, err)
		}
		t.Skip(msg)
	}
	return node
}

// startNodeBank starts bank.mjs with cfg, waits for its issuer line, and
// kills it when the test ends; its output is logged if the test failed.
func startNodeBank(t *testing.T, cfg nodeBankConfig) *nodeBank {
	t.Helper()
	node := requireNodeBank(t)
	in, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, bankScript)
	cmd.Dir = "node"
	cmd.Env = cleanEnv()
	cmd.Stdin = bytes.NewReader(in)
	out := &syncBuffer{}
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start bank.mjs: %v", err)
	}
	exited := make(chan struct{})
	first := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, err := r.ReadString('\n')
		if err == nil {
			first <- line
		}
		close(first)
		if _, err := io.Copy(out, r); err != nil {
			fmt.Fprintf(out, "reading stdout: %v\n", err)
		}
	}()
	go func() {
		// Wait reaps the process; its error is the kill's, expected.
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("kill bank.mjs: %v", err)
		}
		<-exited
		if t.Failed() {
			t.Logf("bank.mjs output:\n%s", out.String())
		}
	})
	b := &nodeBank{out: out}
	select {
	case line, ok := <-first:
		var v struct{ Issuer string }
		if !ok || json.Unmarshal([]byte(line), &v) != nil || !strings.HasPrefix(v.Issuer, "http://127.0.0.1:") {
			t.Fatalf("bank.mjs did not print its issuer (got %q)\n%s", line, out.String())
		}
		b.Issuer = v.Issuer
	case <-time.After(30 * time.Second):
		t.Fatalf("bank.mjs did not start within 30 s\n%s", out.String())
	}
	return b
}

// tamper is what a bankProxy does to the traffic between Gosid (or a test
// relying party), the browser, and a bank.
type tamper int

const (
	tamperNone tamper = iota
	// tamperBadIss rewrites the iss parameter of the authorization
	// response (the bank's final redirect to the client).
	tamperBadIss
	// tamperBadSignature flips a character in the middle of the ID
	// token's signature in the token response.
	tamperBadSignature
	// tamperWrongNonce replaces the nonce of the authorization request
	// before the bank sees it, so the bank signs a valid ID token with
	// another nonce.
	tamperWrongNonce
)

func (m tamper) String() string {
	return [...]string{"none", "badIss", "badSignature", "wrongNonce"}[m]
}

// Values the proxy puts in.
const (
	tamperedIssuer = "https://bank.example.invalid"
	tamperedNonce  = "nonce-set-by-the-proxy"
)

// bankProxy is a reverse proxy in front of a bank. Its discovery document
// keeps the bank's issuer but sends every endpoint through the proxy, and
// the bank's redirects to itself are rewritten to the proxy, so that both
// the browser and the relying party go through it. The relying party is
// configured with the bank's issuer and DiscoveryURL.
type bankProxy struct {
	URL          string
	DiscoveryURL string
}

func newBankProxy(t *testing.T, upstream string, mode tamper) *bankProxy {
	t.Helper()
	up, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	meta := bankDiscovery(t, upstream)
	authPath, tokenPath := pathOf(t, meta["authorization_endpoint"]), pathOf(t, meta["token_endpoint"])
	srv := httptest.NewUnstartedServer(nil)
	self := "http://" + srv.Listener.Addr().String()
	const discoveryPath = "/.well-known/openid-configuration"
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(up)
			r.Out.Header.Del("Accept-Encoding") // bodies are rewritten as plain text
			if mode == tamperWrongNonce && r.In.Method == http.MethodGet && r.In.URL.Path == authPath {
				q := r.Out.URL.Query()
				if q.Has("nonce") {
					q.Set("nonce", tamperedNonce)
					r.Out.URL.RawQuery = q.Encode()
				}
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if loc := resp.Header.Get("Location"); loc != "" {
				resp.Header.Set("Location", rewriteLocation(loc, upstream, self, mode))
			}
			switch resp.Request.URL.Path {
			case discoveryPath:
				return rewriteJSON(resp, func(m map[string]any) {
					for k, v := range m {
						if s, ok := v.(string); ok && k != "issuer" && strings.HasPrefix(s, upstream+"/") {
							m[k] = self + strings.TrimPrefix(s, upstream)
						}
					}
				})
			case tokenPath:
				if mode == tamperBadSignature && resp.StatusCode == http.StatusOK {
					return rewriteJSON(resp, func(m map[string]any) {
						if s, ok := m["id_token"].(string); ok {
							m["id_token"] = flipSignature(s)
						}
					})
				}
			}
			return nil
		},
	}
	srv.Config.Handler = rp
	srv.Start()
	t.Cleanup(srv.Close)
	return &bankProxy{URL: self, DiscoveryURL: self + discoveryPath}
}

// rewriteLocation sends the bank's redirects to itself through the proxy,
// and in badIss mode changes iss in a redirect to anywhere else (the
// authorization response to the client).
func rewriteLocation(loc, upstream, self string, mode tamper) string {
	if loc == upstream || strings.HasPrefix(loc, upstream+"/") || strings.HasPrefix(loc, upstream+"?") {
		return self + strings.TrimPrefix(loc, upstream)
	}
	if mode != tamperBadIss {
		return loc
	}
	u, err := url.Parse(loc)
	if err != nil || !u.IsAbs() || !u.Query().Has("iss") {
		return loc
	}
	q := u.Query()
	q.Set("iss", tamperedIssuer)
	u.RawQuery = q.Encode()
	return u.String()
}

// rewriteJSON replaces a JSON object body with change's result.
func rewriteJSON(resp *http.Response, change func(map[string]any)) error {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if err := resp.Body.Close(); err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return fmt.Errorf("bank proxy: %s is not a JSON object: %w", resp.Request.URL.Path, err)
	}
	change(m)
	if body, err = json.Marshal(m); err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// flipSignature changes one base64url character in the middle of a JWS's
// signature, so that it stays well-formed and no longer verifies.
func flipSignature(jws string) string {
	i := strings.LastIndexByte(jws, '.')
	if i < 0 || len(jws)-i < 8 {
		return jws + "x"
	}
	mid := i + (len(jws)-i)/2
	c := byte('A')
	if jws[mid] == 'A' {
		c = 'B'
	}
	return jws[:mid] + string(c) + jws[mid+1:]
}

func bankDiscovery(t *testing.T, issuer string) map[string]any {
	t.Helper()
	resp, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery of %s: %d %v", issuer, resp.StatusCode, err)
	}
	return m
}

func pathOf(t *testing.T, v any) string {
	t.Helper()
	s, _ := v.(string)
	u, err := url.Parse(s)
	if err != nil || s == "" {
		t.Fatalf("endpoint %v: %v", v, err)
	}
	return u.Path
}

// bankBrowser is a plain HTTP client with a cookie jar standing in for the
// browser: it follows the bank's redirects itself and stops at the
// client's redirect URI.
func bankBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var bankFormAction = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)

// bankSignIn drives the stand-in bank's login from authURL as account sub
// and returns the authorization response: the URL the bank sent the
// browser to under redirectURI.
func bankSignIn(ctx context.Context, t *testing.T, c *http.Client, authURL, sub, redirectURI string) *url.URL {
	t.Helper()
	next, method, form := authURL, http.MethodGet, url.Values(nil)
	for range 20 {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, next, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		base := resp.Request.URL
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := base.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(loc.String(), redirectURI) {
				return loc
			}
			next, method, form = loc.String(), http.MethodGet, nil
		case resp.StatusCode == http.StatusOK && form == nil:
			m := bankFormAction.FindSubmatch(page)
			if m == nil || !bytes.Contains(page, []byte(`id="bank-login"`)) {
				t.Fatalf("no login form at %s:\n%s", base, page)
			}
			action, err := base.Parse(string(m[1]))
			if err != nil {
				t.Fatal(err)
			}
			next, method, form = action.String(), http.MethodPost, url.Values{"login": {sub}}
		default:
			t.Fatalf("%s %s: %d\n%s", method, base, resp.StatusCode, page)
		}
	}
	t.Fatalf("no authorization response after 20 requests from %s", authURL)
	return nil
}

// errIssMismatch is RFC 9207's refusal: the authorization response's iss
// is missing or is not the issuer the client started with.
var errIssMismatch = errors.New("authorization response iss does not match the issuer")

// checkResponseIssuer is the RFC 9207 check of an authorization response,
// for a provider whose discovery advertises
// authorization_response_iss_parameter_supported (zitadel/oidc's rp does
// not make it; Gosid's bank connector must).
func checkResponseIssuer(callback *url.URL, issuer string) error {
	if got := callback.Query().Get("iss"); got != issuer {
		return fmt.Errorf("%w: got %q, want %q", errIssMismatch, got, issuer)
	}
	return nil
}
