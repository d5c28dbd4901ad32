package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// formPostRP is a relying party's redirect URI for response_mode=form_post:
// it records the authorization responses the browser POSTs to it.
type formPostRP struct {
	redirect string
	mu       sync.Mutex
	posts    []url.Values
	gets     int
}

func newFormPostRP(t *testing.T) *formPostRP {
	rp := &formPostRP{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cb" {
			http.NotFound(w, r)
			return
		}
		rp.mu.Lock()
		if r.Method == http.MethodPost && r.ParseForm() == nil {
			rp.posts = append(rp.posts, r.PostForm)
		} else {
			rp.gets++
		}
		rp.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>RP</title><main><p>signed in at the site</p></main>"))
	}))
	t.Cleanup(srv.Close)
	rp.redirect = srv.URL + "/cb"
	return rp
}

// wait returns the n-th POSTed response (from 1) once it has arrived.
func (rp *formPostRP) wait(b *browser, n int) url.Values {
	b.t.Helper()
	for deadline := time.Now().Add(stepTimeout); ; time.Sleep(50 * time.Millisecond) {
		rp.mu.Lock()
		got, gets := len(rp.posts), rp.gets
		var v url.Values
		if got >= n {
			v = rp.posts[n-1]
		}
		rp.mu.Unlock()
		if gets != 0 {
			b.fatalf("the relying party got the authorization response by GET, not by form_post")
		}
		if v != nil {
			return v
		}
		if time.Now().After(deadline) {
			b.fatalf("the relying party received no form_post within %v", stepTimeout)
		}
	}
}

func (rp *formPostRP) count() int {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return len(rp.posts)
}

// TestBrowserFormPost: response_mode=form_post in headless Chromium under
// Gosid's real CSP. The browser signs in and consents; Gosid's answer page
// posts code, state and iss to the relying party by itself, with no CSP
// violation in the console, and the code redeems. With JavaScript turned
// off the page's button does the same.
func TestBrowserFormPost(t *testing.T) {
	requireChromium(t)
	dir := t.TempDir()
	data := []string{"--data-dir", dir}
	s := startLocalhostServer(t, data...)
	public := s.Issuer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gosid serve output:\n%s", s.out)
		}
	})
	rp := newFormPostRP(t)
	args := append([]string{"accounts", "create", "--phone", citizenPhone, "--family-name", "Постов", "--given-name", "Иван", "--json"}, data...)
	if code, out, errOut := gosidEnv(t, []string{"GOSID_PASSWORD=" + citizenPassword}, args...); code != 0 {
		t.Fatalf("gosid accounts create: exit %d\n%s%s", code, out, errOut)
	}
	c := new(oidcRig).createClient(t, data, "Сайт с form_post", "--redirect-uri", rp.redirect, "--scopes", "openid fullname",
		"--grant-types", "authorization_code", "--auth-method", "client_secret_basic")

	b := newBrowser(t, public)
	authorize := func(state string) (string, string) {
		verifier := "form-post-verifier-" + state + strings.Repeat("f", 40)
		sum := sha256.Sum256([]byte(verifier))
		q := url.Values{"client_id": {c.ID}, "redirect_uri": {rp.redirect}, "response_type": {"code"}, "scope": {"openid fullname"},
			"state": {state}, "nonce": {"n-" + state}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
			"code_challenge_method": {"S256"}, "response_mode": {"form_post"}}
		return "/authorize?" + q.Encode(), verifier
	}
	redeem := func(got url.Values, state, verifier string) {
		t.Helper()
		if got.Get("code") == "" || got.Get("state") != state || got.Get("iss") != public || got.Get("error") != "" {
			t.Fatalf("form_post received %v, want code, state %s and iss %s", got, state, public)
		}
		form := url.Values{"grant_type": {"authorization_code"}, "code": {got.Get("code")}, "redirect_uri": {rp.redirect}, "code_verifier": {verifier}}
		req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(c.ID, c.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tr map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&tr)
		if resp.StatusCode != 200 || tr["id_token"] == nil {
			t.Fatalf("the posted code does not redeem: %d %v", resp.StatusCode, tr)
		}
	}
	cspViolations := func() []string {
		var out []string
		for _, m := range b.consoleProblems() {
			if strings.Contains(m, "Content Security Policy") || strings.Contains(m, "Content-Security-Policy") {
				out = append(out, m)
			}
		}
		return out
	}

	// With JavaScript: sign in, consent, and the answer page submits
	// itself to the site.
	path, verifier := authorize("st-js")
	b.open(path)
	if p := b.path(); p != "/login" {
		b.fatalf("authorization without a session landed on %s, want /login", p)
	}
	b.fill("login", citizenPhone)
	b.fill("password", citizenPassword)
	b.submit("/login", "/authorize/consent")
	b.expectText("Сайт с form_post")
	b.do("allow", chromedp.Click(chromedp.CSS(`form[action="/authorize/consent"] button[value="allow"]`)))
	got := rp.wait(b, 1)
	// The location changes when the site's page commits, before it is
	// parsed: wait until it has loaded before reading it.
	waitJS(b, "land on the site after the form_post", fmt.Sprintf(`location.href.startsWith(%q) && document.readyState === "complete"`, rp.redirect))
	b.expectText("signed in at the site")
	redeem(got, "st-js", verifier)
	// The console's report of a violation may trail the navigation.
	time.Sleep(300 * time.Millisecond)
	if v := cspViolations(); len(v) != 0 {
		t.Errorf("CSP violations in the browser console: %q", v)
	}

	// Without JavaScript: the same page waits for its button.
	b.do("turn JavaScript off", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	path, verifier = authorize("st-nojs")
	b.open(path) // session and consent exist: straight to the answer page
	if p := b.path(); p != "/authorize/continue" {
		b.fatalf("second authorization landed on %s, want Gosid's form_post page at /authorize/continue", p)
	}
	b.expectText("Возвращение на сайт", "Продолжить")
	time.Sleep(500 * time.Millisecond)
	if n := rp.count(); n != 1 {
		b.fatalf("with JavaScript off the page posted by itself (%d posts)", n)
	}
	b.click(`form[data-autosubmit] button[type=submit]`, "/cb", 200)
	redeem(rp.wait(b, 2), "st-nojs", verifier)

	for _, p := range b.consoleProblems() {
		t.Errorf("browser console: %s", p)
	}
}
