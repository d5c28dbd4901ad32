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
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// TestPasskeySignIn: in headless Chromium with a virtual authenticator
// (CTAP2, internal transport, resident keys, user verification), a citizen
// registers, adds a passkey on /account/passkeys, signs out, and signs in
// to a relying party with the passkey alone; the ID token the relying
// party gets has amr with "hwk" or "swk", and "user".
func TestPasskeySignIn(t *testing.T) {
	requireChromium(t)
	dir := t.TempDir()
	// localhost, not 127.0.0.1: a secure context for the browser, and a
	// host name WebAuthn accepts as relying-party ID.
	s := startLocalhostServer(t, "--data-dir", dir)
	public := s.Issuer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gosid serve output:\n%s", s.out)
		}
	})
	if st, _, _ := s.get(t, "/static/passkey.js"); st == http.StatusNotFound {
		// Until cmd/gosid serves idp/passkey's routes (see its package
		// comment). GOSID_E2E=1, as in CI, makes this a failure.
		const msg = "passkey routes are not wired into gosid serve (GET /static/passkey.js is 404)"
		if os.Getenv("GOSID_E2E") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	// The relying party: its callback records the code.
	rp := newCallbackRP(t)
	code, out, errOut := gosid(t, "clients", "create", "--data-dir", dir, "--name", "Сайт с ключами", "--redirect-uri", rp.redirect,
		"--scopes", "openid fullname", "--first-party", "--json")
	if code != 0 {
		t.Fatalf("clients create: %d\n%s%s", code, out, errOut)
	}
	var cl struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out), &cl); err != nil || cl.ID == "" || cl.Secret == "" {
		t.Fatalf("clients create output: %v\n%s", err, out)
	}

	b := newBrowser(t, public)
	authenticator := addVirtualAuthenticator(b)

	// 1. Registration by phone; it signs the citizen in.
	b.open("/register")
	b.fill("phone", "+7 916 555-12-34")
	b.submit("/register", "/register/code")
	otp, lastMsg := s.devCode(t, "+79165551234", "code.register", 0)
	b.fill("code", otp)
	b.submit("/register/code", "/register/profile")
	b.fill("family_name", "Ключников")
	b.fill("given_name", "Пётр")
	b.fill("password", browserPassword)
	b.fill("password_confirm", browserPassword)
	b.do("tick consent", chromedp.Click(chromedp.CSS(`input[name="consent"][value="yes"]`)))
	b.submit("/register/profile", "/account/details")

	// 2. Add a passkey.
	b.open("/account/passkeys")
	b.expectText("У вас пока нет ключей доступа")
	b.do("add a passkey", chromedp.Click(chromedp.CSS(`[data-passkey-register] [data-passkey-button]:not([disabled])`)))
	waitLocation(b, "/account/passkeys", "?done=added")
	b.expectText("Ключ доступа добавлен", "Ключ доступа 1")
	b.open("/account/activity")
	b.expectText("Добавлен ключ доступа")
	b.open("/account/passkeys")
	creds := virtualCredentials(b, authenticator)
	if len(creds) != 1 || !creds[0].IsResidentCredential {
		b.fatalf("the virtual authenticator holds %d credentials (want 1 resident)", len(creds))
	}

	// 3. Sign out. The sign-in page offers the passkey through autofill
	// (conditional mediation), which a virtual authenticator answers at
	// once when it simulates user presence: first see that it does, with
	// the button hidden.
	b.click(`header form[action="/logout"] button[type=submit]`, "/login", 200)
	waitLocation(b, "/account", "")
	b.expectText("Ключников Пётр")

	// Without simulated presence the autofill request waits, so the
	// citizen stays signed out.
	setPresence(b, authenticator, false)
	signOut(b)

	// 4. The relying party sends the citizen to Gosid, who signs in with
	// the passkey alone (no login, no password) by the passkey button.
	verifier := "passkey-verifier-" + strings.Repeat("k", 40)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {cl.ID}, "redirect_uri": {rp.redirect}, "response_type": {"code"}, "scope": {"openid fullname"},
		"state": {"st-passkey"}, "nonce": {"n-passkey"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}
	// The button replaces the pending autofill request by a modal one,
	// which completes once the authenticator sees the citizen again. The
	// challenges both ask for are held until then: a request that reaches
	// the authenticator while it sees nobody stays there unanswered, even
	// once presence is back (see holdRequests).
	begins := holdRequests(b, "*/login/passkey/begin")
	b.open("/authorize?" + q.Encode())
	if p := b.path(); p != "/login" {
		b.fatalf("authorization without a session landed on %s, want /login", p)
	}
	begins.wait(1) // the autofill request's
	button := `[data-passkey-login] [data-passkey-actions]:not([hidden]) [data-passkey-button]:not([disabled])`
	b.do("press the passkey button", chromedp.WaitVisible(chromedp.CSS(button)), chromedp.Click(chromedp.CSS(button)))
	begins.wait(2) // the button's
	setPresence(b, authenticator, true)
	begins.release()
	authCode := rp.waitCode(b)

	// 5. The relying party exchanges the code (a plain HTTP request).
	form := url.Values{"grant_type": {"authorization_code"}, "code": {authCode}, "redirect_uri": {rp.redirect}, "code_verifier": {verifier}}
	req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(cl.ID, cl.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&tr)
	if resp.StatusCode != 200 {
		t.Fatalf("token: %d %v", resp.StatusCode, tr)
	}
	idToken, _ := tr["id_token"].(string)
	claims := jwtClaims(t, idToken)
	var amr []string
	for _, m := range claims["amr"].([]any) {
		amr = append(amr, m.(string))
	}
	if !(slices.Contains(amr, "hwk") || slices.Contains(amr, "swk")) || !slices.Contains(amr, "user") || slices.Contains(amr, "pwd") {
		t.Fatalf("ID token amr %v: want hwk or swk, and user, and no pwd", amr)
	}
	if claims["nonce"] != "n-passkey" || claims["family_name"] != nil && claims["family_name"] != "Ключников" {
		t.Fatalf("ID token claims: %v", claims)
	}
	t.Logf("ID token amr: %v", amr)

	// 6. The passkey as a second factor: turn on SMS codes, then sign in
	// with the password and confirm with the passkey instead of the code.
	b.open("/account/security")
	b.submit("/account/security/sms", "/account/security/sms")
	smsCode, _ := s.devCode(t, "+79165551234", "code.login", lastMsg)
	b.fill("code", smsCode)
	b.submit("/account/security/sms/confirm", "/account/security/codes")
	b.expectText("Двухэтапная проверка включена")
	setPresence(b, authenticator, false) // no autofill sign-in on /login this time
	signOut(b)
	b.fill("login", "+79165551234")
	b.fill("password", browserPassword)
	b.submit("/login", "/login/2fa")
	// This page makes no request of its own: presence goes back on before
	// the button is pressed, so that its request finds the citizen there.
	setPresence(b, authenticator, true)
	second := `[data-passkey-assert] [data-passkey-actions]:not([hidden]) [data-passkey-button]:not([disabled])`
	b.do("confirm with the passkey", chromedp.WaitVisible(chromedp.CSS(second)), chromedp.Click(chromedp.CSS(second)))
	waitLocation(b, "/account", "")
	b.expectText("Ключников Пётр")

	for _, p := range b.consoleProblems() {
		t.Errorf("browser console: %s", p)
	}
}

// addVirtualAuthenticator gives the browser a platform authenticator that
// holds passkeys and verifies its user at once.
func addVirtualAuthenticator(b *browser) webauthn.AuthenticatorID {
	b.t.Helper()
	var id webauthn.AuthenticatorID
	b.do("add a virtual authenticator", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol:                    webauthn.AuthenticatorProtocolCtap2,
				Ctap2version:                webauthn.Ctap2versionCtap21,
				Transport:                   webauthn.AuthenticatorTransportInternal,
				HasResidentKey:              true,
				HasUserVerification:         true,
				IsUserVerified:              true,
				AutomaticPresenceSimulation: true,
			},
		})
		id = res.AuthenticatorID
		return err
	}))
	return id
}

// setPresence turns the virtual authenticator's simulated user presence
// on or off.
func setPresence(b *browser, id webauthn.AuthenticatorID, on bool) {
	b.t.Helper()
	b.do("set simulated presence", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on})
		return err
	}))
}

// heldRequests are the page's requests to a URL pattern, paused in the
// browser (Fetch domain) until release.
type heldRequests struct {
	b      *browser
	ids    chan fetch.RequestID
	cancel context.CancelFunc
	paused []fetch.RequestID
}

// holdRequests pauses every request of the page whose URL matches pattern
// from now until release.
//
// A passkey test needs it because of how Chromium's virtual authenticator
// simulates the citizen: a request that reaches it while presence
// simulation is off is left idle for good (VirtualFidoDevice asks its
// press callback once, and turning presence on later only replaces the
// callback). Pressing a button and then turning presence on raced the
// button's request to the authenticator, and now and then the request won:
// the page then waited forever on «Следуйте указаниям браузера…». Holding
// the requests for a challenge keeps every WebAuthn request of the page
// away from the authenticator until presence is on.
func holdRequests(b *browser, pattern string) *heldRequests {
	b.t.Helper()
	ctx, cancel := context.WithCancel(b.ctx)
	b.t.Cleanup(cancel)
	h := &heldRequests{b: b, ids: make(chan fetch.RequestID, 64), cancel: cancel}
	events := chromedp.Events(ctx, fetch.RequestPaused) // subscribed from here on
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			h.ids <- ev.RequestID
		}
	}()
	b.do("hold requests to "+pattern, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}})
		return err
	}))
	return h
}

// wait waits until n requests in all are held.
func (h *heldRequests) wait(n int) {
	h.b.t.Helper()
	timeout := time.After(stepTimeout)
	for len(h.paused) < n {
		select {
		case id := <-h.ids:
			h.paused = append(h.paused, id)
		case <-timeout:
			h.b.fatalf("%d requests held after %v, want %d", len(h.paused), stepTimeout, n)
		}
	}
}

// release lets the held requests go on, and holds no more.
func (h *heldRequests) release() {
	h.b.t.Helper()
	h.b.do("release the held requests", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for drained := false; !drained; {
			select {
			case id := <-h.ids:
				h.paused = append(h.paused, id)
			default:
				drained = true
			}
		}
		for _, id := range h.paused {
			if _, err := cdp.Call(ctx, t, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: id}); err != nil {
				return err
			}
		}
		_, err := cdp.Call(ctx, t, fetch.Disable, cdp.Empty{})
		return err
	}))
	h.cancel()
}

func virtualCredentials(b *browser, id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	var creds []*webauthn.Credential
	b.do("read the virtual authenticator", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
		creds = res.Credentials
		return err
	}))
	return creds
}

// waitLocation waits for the page to reach path with query and finish
// loading (the pages' script navigates after its requests, not on a click).
func waitLocation(b *browser, path, query string) {
	b.t.Helper()
	waitJS(b, "reach "+path+query, fmt.Sprintf(`location.pathname + location.search === %q && document.readyState === "complete"`, path+query))
}

// waitJS polls the JavaScript expression expr until it is true, for up to
// stepTimeout. An evaluation that fails because a navigation replaced the
// document meanwhile is tried again.
func waitJS(b *browser, what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			loc, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.href + " (" + document.readyState + ")"`))
			b.fatalf("%s: not within %v; the page is at %s (last error: %v)", what, stepTimeout, loc, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// callbackRP is the relying party's redirect URI: it keeps the code.
type callbackRP struct {
	redirect string
	mu       sync.Mutex
	got      url.Values
}

func newCallbackRP(t *testing.T) *callbackRP {
	rp := &callbackRP{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cb" {
			http.NotFound(w, r)
			return
		}
		rp.mu.Lock()
		rp.got = r.URL.Query()
		rp.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>RP</title><p>signed in</p>"))
	}))
	t.Cleanup(srv.Close)
	rp.redirect = srv.URL + "/cb"
	return rp
}

func (rp *callbackRP) code() string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.got.Get("code")
}

// waitCode waits for the browser to have loaded the callback page and
// returns the code. The relying party's getting the request is not enough:
// the browser may still be loading its answer, and a navigation started
// then (b.open) takes that load's lifecycle events for its own and ends
// without a response ("status none").
func (rp *callbackRP) waitCode(b *browser) string {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for rp.code() == "" {
		if time.Now().After(deadline) {
			b.fatalf("the relying party got no code within %v", stepTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitJS(b, "load the callback", fmt.Sprintf(`location.origin + location.pathname === %q && document.readyState === "complete"`, rp.redirect))
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.got.Get("state") != "st-passkey" || rp.got.Get("error") != "" {
		b.fatalf("callback: %v", rp.got)
	}
	return rp.got.Get("code")
}

// jwtClaims decodes a JWT's payload (the token came straight from the
// token endpoint over a connection the test made; the signature is checked
// elsewhere).
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}
