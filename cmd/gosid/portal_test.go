package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/pquerna/otp/totp"

	"github.com/gosid/gosid/idp"
	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/portal"
	"github.com/gosid/gosid/portal/auth"
)

// startEmbeddedPortal serves the portal as gosid serve does, registered
// with the identity provider parts, on 127.0.0.1.
func startEmbeddedPortal(t testing.TB, parts *idp.IdP) (string, *portal.Handler) {
	u, h, _ := startEmbeddedPortalIn(t, parts)
	return u, h
}

// startEmbeddedPortalIn is startEmbeddedPortal that also returns its data
// directory (the attachments).
func startEmbeddedPortalIn(t testing.TB, parts *idp.IdP) (string, *portal.Handler, string) {
	t.Helper()
	return startEmbeddedPortalWith(t, parts, nil)
}

// startEmbeddedPortalWith is startEmbeddedPortalIn with the gateways'
// options (an acquirer of its own; nil: the sandbox's).
func startEmbeddedPortalWith(t testing.TB, parts *idp.IdP, gw *gatewayOptions) (string, *portal.Handler, string) {
	t.Helper()
	return startPortalMode(t, parts, gw, true)
}

// startPortalMode is startEmbeddedPortalWith in development mode (dev) or
// not, as serve runs it outside the embedded default.
func startPortalMode(t testing.TB, parts *idp.IdP, gw *gatewayOptions, dev bool) (string, *portal.Handler, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	dir := t.TempDir()
	h, err := embeddedPortal(context.Background(), parts, u, dir, "", dev, testLog(), gw)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h.Server(httpx.Options{Logger: testLog()}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	// The job queue runs, as in serve: the citizens' notices and the
	// agencies' webhooks are jobs.
	if err := parts.Jobs.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = parts.Jobs.Stop(ctx)
	})
	return u, h, dir
}

// waitMessage waits for the newest message of kind to phone that holds
// text (the notices are jobs) and returns it.
func waitMessage(t testing.TB, b *browser, phone, kind, text string) devMessage {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		for _, m := range b.messages(phone) {
			if m.Kind == kind && strings.Contains(m.Text, text) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s message to %s with %q within 15 s: %+v", kind, phone, text, b.messages(phone))
		}
	}
}

// waitNotice waits for a notice holding text in the citizen's portal inbox
// (written with the change; for events the default settings do not text).
func waitNotice(t testing.TB, b *browser, portalURL, text string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		p := b.abs("GET", portalURL+"/notices", nil)
		if p.Status == http.StatusOK && strings.Contains(html.UnescapeString(p.Body), text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no notice with %q in the inbox within 15 s: %d %.2000s", text, p.Status, p.Body)
		}
	}
}

// portalGo follows a browser's redirects from p across the identity
// provider and the portal (absolute and relative), at most ten, and
// returns the first answer that is not a redirect with its URL.
func (b *browser) portalGo(t testing.TB, base string, p page) (page, string) {
	t.Helper()
	at := base
	for i := 0; i < 10 && p.Status/100 == 3; i++ {
		next, err := url.Parse(at)
		if err != nil {
			t.Fatal(err)
		}
		loc, err := next.Parse(p.Location)
		if err != nil {
			t.Fatalf("bad Location %q", p.Location)
		}
		at = loc.String()
		p = b.abs("GET", at, nil)
	}
	return p, at
}

func portalSessions(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM portal_sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPortalSignIn: the portal is a relying party of Gosid — the citizen
// signs in through Gosid (code flow with PKCE, private_key_jwt) and lands
// on the page they asked for with their data; a page that needs a higher
// level or a second factor sends them back to Gosid and on to the same
// page; signing out of the portal signs out of Gosid (RP-initiated
// logout), and signing out of Gosid signs out of the portal (back-channel).
func TestPortalSignIn(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		op, _, parts := startOPParts(t, db, c)
		portalURL, ph := startEmbeddedPortal(t, parts)
		ph.Page("GET /test/standard", auth.Need{Level: "standard"}, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("standard page")) })
		ph.Page("GET /test/mfa", auth.Need{MFA: true}, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("mfa page")) })

		b := newBrowser(t, op)
		// Not signed in: the landing page offers the sign-in.
		if p := b.abs("GET", portalURL+"/", nil); p.Status != 200 || !strings.Contains(p.Body, `href="/login"`) {
			t.Fatalf("landing page: %d", p.Status)
		}
		b.register("phone", "+79161112233", "+79161112233", "Порталов", "Пётр")

		// A page that needs a sign-in goes through Gosid and back to it.
		p, at := b.portalGo(t, portalURL, b.abs("GET", portalURL+"/profile", nil))
		if p.Status != 200 || at != portalURL+"/profile" || !strings.Contains(p.Body, "Порталов") || !strings.Contains(p.Body, "&#43;79161112233") {
			t.Fatalf("profile after sign-in: %d at %s\n%.2000s", p.Status, at, p.Body)
		}
		if p := b.abs("GET", portalURL+"/", nil); !strings.Contains(p.Body, "Здравствуйте, Пётр!") || !strings.Contains(p.Body, "упрощённая") {
			t.Fatalf("home page of a signed-in citizen:\n%.2000s", p.Body)
		}
		if n := portalSessions(t, db); n != 1 {
			t.Fatalf("%d portal sessions, want 1", n)
		}

		// Step-up to a level: Gosid asks the citizen to raise it; once
		// raised, the same page opens.
		p, at = b.portalGo(t, portalURL, b.abs("GET", portalURL+"/test/standard", nil))
		if !strings.HasPrefix(at, op.URL) || p.Status != 200 {
			t.Fatalf("a simplified account asking for a standard page: %d at %s", p.Status, at)
		}
		accounts := account.NewStore(db, parts.Keys, time.Now)
		a, err := accounts.FindByLogin(ctx, account.Phone, "+79161112233")
		if err != nil {
			t.Fatal(err)
		}
		if err := accounts.SetLevel(ctx, a.ID, a.Level, assurance.Standard); err != nil {
			t.Fatal(err)
		}
		p, at = b.portalGo(t, portalURL, b.abs("GET", portalURL+"/test/standard", nil))
		if p.Status != 200 || at != portalURL+"/test/standard" || p.Body != "standard page" {
			t.Fatalf("standard page after the level was raised: %d at %s\n%.1000s", p.Status, at, p.Body)
		}

		// Step-up to a second factor: without one, the citizen is told
		// how to get one; with one, they are asked for it and come back.
		p, at = b.portalGo(t, portalURL, b.abs("GET", portalURL+"/test/mfa", nil))
		if p.Status != 200 || !strings.HasPrefix(at, portalURL+"/auth/callback") || !strings.Contains(p.Body, "второй фактор") && !strings.Contains(p.Body, "вторым фактором") {
			t.Fatalf("a second factor asked of an account without one: %d at %s\n%.1000s", p.Status, at, p.Body)
		}
		enrol := b.postStep("/account/security/totp", nil)
		m := secretRe.FindStringSubmatch(enrol.Body)
		if m == nil {
			t.Fatalf("TOTP enrolment page: %d", enrol.Status)
		}
		secret := strings.ReplaceAll(m[1], " ", "")
		code, _ := totp.GenerateCode(secret, c.Now())
		b.postStep("/account/security/totp/confirm", url.Values{"code": {code}})
		p, at = b.portalGo(t, portalURL, b.abs("GET", portalURL+"/test/mfa", nil))
		if !strings.HasPrefix(at, op.URL+"/login/2fa") && !strings.Contains(at, "2fa") {
			t.Fatalf("step-up to a second factor: %d at %s", p.Status, at)
		}
		c.Advance(30 * time.Second)
		code, _ = totp.GenerateCode(secret, c.Now())
		p, at = b.portalGo(t, op.URL, b.abs("POST", at, url.Values{"code": {code}}))
		if p.Status != 200 || at != portalURL+"/test/mfa" || p.Body != "mfa page" {
			t.Fatalf("mfa page after the second factor: %d at %s\n%.1000s", p.Status, at, p.Body)
		}
		if n := portalSessions(t, db); n != 1 {
			t.Fatalf("%d portal sessions after step-ups, want 1 (each sign-in replaces the browser's session)", n)
		}

		// Signing out of the portal signs out of Gosid too. The same
		// sign-out sent again, its answer lost (the browser kept its
		// cookie), still sends the provider the ID token hint.
		pu, _ := url.Parse(portalURL)
		kept := b.c.Jar.Cookies(pu)
		first := b.abs("POST", portalURL+"/logout", nil)
		b.c.Jar.SetCookies(pu, kept)
		again := b.abs("POST", portalURL+"/logout", nil)
		for _, lo := range []page{first, again} {
			if lo.Status != http.StatusSeeOther || !strings.Contains(lo.Location, "id_token_hint=") {
				t.Fatalf("a portal sign-out: %d → %s, want the provider's end-session with the hint", lo.Status, lo.Location)
			}
		}
		p, at = b.portalGo(t, portalURL, again)
		if p.Status != 200 || at != portalURL+"/" || !strings.Contains(p.Body, `href="/login"`) {
			t.Fatalf("after signing out of the portal: %d at %s", p.Status, at)
		}
		if n := portalSessions(t, db); n != 0 {
			t.Fatalf("%d portal sessions after sign-out", n)
		}
		b.get("/account").expectRedirect(t, "/login")

		// Signing out of Gosid signs out of the portal (back-channel).
		b.post("/login", url.Values{"login": {"+79161112233"}, "password": {goodPassword}}).expectRedirect(t, "/login/2fa")
		c.Advance(30 * time.Second)
		code, _ = totp.GenerateCode(secret, c.Now())
		b.post("/login/2fa", url.Values{"code": {code}}).expectRedirect(t, "/account")
		if p, at := b.portalGo(t, portalURL, b.abs("GET", portalURL+"/profile", nil)); p.Status != 200 || at != portalURL+"/profile" {
			t.Fatalf("second sign-in: %d at %s", p.Status, at)
		}
		b.post("/logout", nil).expectRedirect(t, "/login")
		deliverLogouts(t, parts, 1, func() int { return 1 - portalSessions(t, db) })
		if p := b.abs("GET", portalURL+"/profile", nil); p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/login?") {
			t.Fatalf("portal page after signing out of Gosid: %d %s", p.Status, p.Location)
		}
	})
}

// TestPortalRefusals: what the portal's protocol endpoints refuse — a
// callback whose state is unknown or whose iss is another's, and
// back-channel logout tokens that are forged, for another client, from
// another issuer, without the event, with a nonce, without a jti, old, or
// replayed — each without ending anyone's session.
func TestPortalRefusals(t *testing.T) {
	db := sqldbtest.SQLite(t)
	c := sqldbtest.NewClock(time.Now())
	op, km, parts := startOPParts(t, db, c)
	portalURL, _ := startEmbeddedPortal(t, parts)
	b := newBrowser(t, op)
	b.register("phone", "+79161112244", "+79161112244", "Отказов", "Олег")
	if p, at := b.portalGo(t, portalURL, b.abs("GET", portalURL+"/profile", nil)); p.Status != 200 || at != portalURL+"/profile" {
		t.Fatalf("sign-in: %d at %s", p.Status, at)
	}

	if p := b.abs("GET", portalURL+"/auth/callback?code=x&state=unknown", nil); p.Status != 400 || !strings.Contains(p.Body, "устарела") {
		t.Errorf("callback with an unknown state: %d", p.Status)
	}
	// A sign-in whose answer names another issuer (a mix-up attack).
	start := b.abs("GET", portalURL+"/login", nil)
	authURL, _ := url.Parse(start.Location)
	state := authURL.Query().Get("state")
	if p := b.abs("GET", portalURL+"/auth/callback?code=x&iss=https%3A%2F%2Fevil.example&state="+url.QueryEscape(state), nil); p.Status != 502 {
		t.Errorf("callback with another iss: %d", p.Status)
	}
	// A refused answer uses the sign-in up (only an outage keeps it for
	// a retry).
	if p := b.abs("GET", portalURL+"/auth/callback?code=x&iss="+url.QueryEscape(op.URL)+"&state="+url.QueryEscape(state), nil); p.Status != 400 {
		t.Errorf("the state of a refused callback again: %d, want 400", p.Status)
	}

	var a struct{ sub, sid string }
	if err := db.QueryRow(context.Background(), `SELECT subject, idp_sid FROM portal_sessions`).Scan(&a.sub, &a.sid); err != nil {
		t.Fatal(err)
	}
	k, err := km.Signer("RS256")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	event := map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}
	token := func(key any, kid string, mod func(map[string]any)) string {
		claims := map[string]any{"iss": op.URL, "aud": portalClientID, "iat": time.Now().Unix(), "exp": time.Now().Add(2 * time.Minute).Unix(),
			"jti": rand.Text(), "sub": a.sub, "sid": a.sid, "events": event}
		if mod != nil {
			mod(claims)
		}
		payload, _ := json.Marshal(claims)
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: &jose.JSONWebKey{Key: key, KeyID: kid}},
			(&jose.SignerOptions{}).WithType("logout+jwt"))
		if err != nil {
			t.Fatal(err)
		}
		obj, err := signer.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := obj.CompactSerialize()
		return s
	}
	post := func(tok string) int {
		resp, err := http.PostForm(portalURL+"/auth/backchannel-logout", url.Values{"logout_token": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for name, tok := range map[string]string{
		"forged":          token(foreign, k.ID, nil),
		"another client":  token(k.Private, k.ID, func(m map[string]any) { m["aud"] = "someone-else" }),
		"another issuer":  token(k.Private, k.ID, func(m map[string]any) { m["iss"] = "https://evil.example" }),
		"no event":        token(k.Private, k.ID, func(m map[string]any) { delete(m, "events") }),
		"with a nonce":    token(k.Private, k.ID, func(m map[string]any) { m["nonce"] = "n" }),
		"no jti":          token(k.Private, k.ID, func(m map[string]any) { delete(m, "jti") }),
		"an hour old":     token(k.Private, k.ID, func(m map[string]any) { m["iat"] = time.Now().Add(-time.Hour).Unix(); delete(m, "exp") }),
		"no sub, no sid":  token(k.Private, k.ID, func(m map[string]any) { delete(m, "sub"); delete(m, "sid") }),
		"not a JWT":       "not-a-token",
		"no logout_token": "",
	} {
		if code := post(tok); code != 400 || portalSessions(t, db) != 1 {
			t.Errorf("%s: %d, %d sessions left; want 400 and the session kept", name, code, portalSessions(t, db))
		}
	}
	valid := token(k.Private, k.ID, nil)
	if code := post(valid); code != 200 || portalSessions(t, db) != 0 {
		t.Fatalf("a valid logout token: %d, %d sessions left", code, portalSessions(t, db))
	}
	if code := post(valid); code != 400 {
		t.Errorf("the same logout token again: %d, want 400", code)
	}
}

// splitCommand splits a logged command line into its words; a word may be
// a double-quoted Go string.
func splitCommand(t *testing.T, line string) []string {
	t.Helper()
	var out []string
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimSpace(line) {
		if line[0] == '"' {
			q, err := strconv.QuotedPrefix(line)
			if err != nil {
				t.Fatalf("bad quoting in %q", line)
			}
			w, _ := strconv.Unquote(q)
			out, line = append(out, w), line[len(q):]
			continue
		}
		w, rest, _ := strings.Cut(line, " ")
		out, line = append(out, w), rest
	}
	return out
}

// TestPortalAlone: `gosid portal` runs the portal alone, in a process of
// its own (this test binary run again as gosid), with a database of its
// own (SQLite in its data directory, or PostgreSQL), against an identity
// provider started apart (`gosid serve`); registered with the command it
// logs, it signs citizens in, takes an application, and a sign-out at the
// identity provider reaches it.
func TestPortalAlone(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { portalAlone(t) })
	t.Run("postgres", func(t *testing.T) { portalAlone(t, "--database-url", sqldbtest.EmptyPostgresURL(t)) })
}

func portalAlone(t *testing.T, db ...string) {
	idpDir, portalDir := t.TempDir(), t.TempDir()
	s := startServe(t, "--data-dir", idpDir, "--addr", "127.0.0.1:0")

	stderr := &lockedBuffer{}
	cmd := exec.Command(os.Args[0], append([]string{"portal", "--data-dir", portalDir, "--addr", "127.0.0.1:0", "--issuer", s.Issuer, "--log-format", "json"}, db...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOSID_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, asGosid+"=1")
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("gosid portal exited with %v\n%s", err, stderr)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("gosid portal did not stop within 30 s of SIGTERM")
		}
	})
	var rec map[string]any
	for deadline := time.Now().Add(60 * time.Second); rec == nil; rec = stderr.record("gosid portal serving") {
		if time.Now().After(deadline) {
			t.Fatalf("gosid portal not serving within 60 s\n%s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	portalURL, _ := rec["portal"].(string)
	register, _ := rec["register_with"].(string)
	words := splitCommand(t, register)
	if len(words) < 3 || words[0] != "gosid" {
		t.Fatalf("register_with %q", register)
	}
	cli{t: t, base: []string{"--data-dir", idpDir}}.ok(words[1:]...)
	if _, err := os.Stat(filepath.Join(portalDir, "gosid.db")); (err == nil) != (len(db) == 0) {
		t.Fatalf("the portal's own SQLite database (want it only without --database-url): %v", err)
	}

	op := &testIdP{URL: s.Issuer}
	b := newBrowser(t, op)
	b.register("phone", "+79161112255", "+79161112255", "Отдельнов", "Павел")
	// The identity provider's servers see a new client within a second.
	var p page
	var at string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if p, at = b.portalGo(t, portalURL, b.abs("GET", portalURL+"/profile", nil)); p.Status == 200 || time.Now().After(deadline) {
			break
		}
	}
	if p.Status != 200 || at != portalURL+"/profile" || !strings.Contains(p.Body, "Отдельнов") {
		t.Fatalf("profile through the portal alone: %d at %s\n%.1500s", p.Status, at, p.Body)
	}
	// An application through the portal alone: the code it texts is in
	// its log (no gateway on loopback).
	mk, _, err := keys.LoadMasterKey(filepath.Join(idpDir, "master.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	idb, err := sqldb.Open(context.Background(), sqldb.Config{SQLitePath: filepath.Join(idpDir, "gosid.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer idb.Close()
	km, err := keys.Open(context.Background(), idb, mk, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	accounts := account.NewStore(idb, km, time.Now)
	acc, err := accounts.FindByLogin(context.Background(), account.Phone, "+79161112255")
	if err != nil {
		t.Fatal(err)
	}
	if err := accounts.SetLevel(context.Background(), acc.ID, acc.Level, assurance.Confirmed); err != nil {
		t.Fatal(err)
	}
	b.portalGo(t, portalURL, b.abs("GET", portalURL+"/login", nil)) // a sign-in at the new level
	// The portal's log comes through a pipe: the line with the code may
	// arrive a moment after the page that sent it.
	seen := 0
	_, number := submitApplicationWith(t, b, portalURL, "+79161112255", func() string {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var codes []string
			for _, line := range strings.Split(stderr.String(), "\n") {
				if strings.Contains(line, "portal.submit_code") {
					codes = append(codes, codeRe.FindString(line))
				}
			}
			if len(codes) > seen {
				seen = len(codes)
				return codes[len(codes)-1]
			}
			if time.Now().After(deadline) {
				t.Fatalf("no new code in the portal's log within 10 s")
			}
		}
	})
	if p := b.abs("GET", portalURL+"/applications", nil); !strings.Contains(p.Body, number) {
		t.Fatalf("the application is not listed by the portal alone")
	}
	b.post("/logout", nil).expectRedirect(t, "/login")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		p = b.abs("GET", portalURL+"/profile", nil)
		if p.Status == http.StatusFound && strings.HasPrefix(p.Location, "/login?") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the portal session outlived the sign-out at the identity provider: %d", p.Status)
		}
	}
}

// TestPortalProfileRefresh: the portal asks userinfo again when its copy
// of the citizen's data is older than ten minutes; when Gosid no longer
// honours the session's refresh token (the citizen signed out there), the
// portal session ends at that moment even before a back-channel logout
// arrives.
func TestPortalProfileRefresh(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		op, _, parts := startOPParts(t, db, c)
		portalURL, _ := startEmbeddedPortal(t, parts)
		b := newBrowser(t, op)
		// No back-channel logout in this test: the refresh must find out.
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := parts.Jobs.Stop(stop); err != nil {
			t.Fatal(err)
		}
		b.register("phone", "+79161112266", "+79161112266", "Старова", "Анна")
		if p, _ := b.portalGo(t, portalURL, b.abs("GET", portalURL+"/profile", nil)); !strings.Contains(p.Body, "Старова") {
			t.Fatalf("profile: %d", p.Status)
		}
		accounts := account.NewStore(db, parts.Keys, time.Now)
		a, err := accounts.FindByLogin(ctx, account.Phone, "+79161112266")
		if err != nil {
			t.Fatal(err)
		}
		if err := accounts.UpdateDocuments(ctx, a.ID, account.Documents{Name: &account.Name{Family: "Новова", Given: "Анна"}}); err != nil {
			t.Fatal(err)
		}
		c.Advance(5 * time.Minute)
		if p := b.abs("GET", portalURL+"/profile", nil); !strings.Contains(p.Body, "Старова") {
			t.Fatalf("profile refreshed before it was stale: %d", p.Status)
		}
		c.Advance(6 * time.Minute)
		if p := b.abs("GET", portalURL+"/profile", nil); p.Status != 200 || !strings.Contains(p.Body, "Новова") {
			t.Fatalf("stale profile not refreshed: %d\n%.1500s", p.Status, p.Body)
		}
		// Signed out at Gosid; the job queue is not running, so no
		// back-channel logout comes: the refresh finds out.
		b.post("/logout", nil).expectRedirect(t, "/login")
		if p := b.abs("GET", portalURL+"/profile", nil); p.Status != 200 {
			t.Fatalf("profile within ten minutes of the last refresh: %d", p.Status)
		}
		c.Advance(11 * time.Minute)
		if p := b.abs("GET", portalURL+"/profile", nil); p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/login?") {
			t.Fatalf("profile after the refresh token was revoked: %d %s", p.Status, p.Location)
		}
		if n := portalSessions(t, db); n != 0 {
			t.Fatalf("%d portal sessions after the refresh was refused", n)
		}
	})
}

// userinfoFault is startOPShedding's fault in front of the provider:
// while shed is set userinfo answers 503 with Retry-After (shedding
// load); tokens counts the token endpoint's requests.
type userinfoFault struct {
	shed   atomic.Bool
	tokens atomic.Int32
}

// startOPShedding starts the identity provider on db, on a clock of its
// own, behind a userinfoFault.
func startOPShedding(t *testing.T, db *sqldb.DB) (*testIdP, *idp.IdP, *sqldbtest.Clock, *userinfoFault) {
	t.Helper()
	c := sqldbtest.NewClock(time.Now())
	km, err := keys.Open(context.Background(), db, newMasterKey(t), keys.Options{Logger: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	f := &userinfoFault{}
	op, _, parts := startOPServing(t, db, c, km, nil, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/oauth/token" {
				f.tokens.Add(1)
			}
			if f.shed.Load() && r.URL.Path == "/userinfo" {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "overloaded", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	return op, parts, c, f
}

// TestPortalCallbackUserinfoOutage: userinfo does not answer a callback
// whose code the provider has redeemed (the soak's exhausted pool): the
// callback answers 503 and, sent again, goes on with the tokens the first
// attempt got — not the spent code again, which the provider refuses and
// answers by revoking what it issued, sending the citizen round again.
func TestPortalCallbackUserinfoOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op, parts, _, f := startOPShedding(t, db)
		portalURL, _ := startEmbeddedPortal(t, parts)
		b := newBrowser(t, op)
		b.register("phone", "+79161112288", "+79161112288", "Отказова", "Вера")
		callback := heldCallback(t, b, portalURL)
		f.shed.Store(true)
		resp, err := b.c.Get(callback)
		f.shed.Store(false)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("the callback while userinfo sheds: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		p := b.abs("GET", callback, nil)
		if p.Status/100 != 3 || p.Location != "/" {
			t.Fatalf("the same callback again: %d → %q, want home (no sign-in round again)", p.Status, p.Location)
		}
		if n := f.tokens.Load(); n != 1 {
			t.Errorf("%d token requests, want the one exchange", n)
		}
		if p := b.abs("GET", portalURL+"/", nil); !strings.Contains(p.Body, "Здравствуйте, Вера!") {
			t.Errorf("not signed in after the retried callback:\n%.1000s", p.Body)
		}
		// A third time, after it signed in: the sign-in starts again (the
		// answer with the session's cookie may have been lost), never a
		// second session from the same address.
		if p := b.abs("GET", callback, nil); p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/login?") || !strings.Contains(p.Location, "again=1") {
			t.Errorf("the callback a third time, after it signed in: %d → %q, want the sign-in again", p.Status, p.Location)
		}
		if n := f.tokens.Load(); n != 1 {
			t.Errorf("%d token requests after the callback came again, want the one exchange", n)
		}
	})
}

// TestPortalCallbackAnswerLost: the callback opened the session, but its
// answer (with the session's cookie) never reached the browser — a
// replica killed while answering, the GET sent again to another. The
// browser's callback starts the sign-in again, answered at once from the
// Gosid session, and lands where it was going; the same address in
// another browser opens nothing.
func TestPortalCallbackAnswerLost(t *testing.T) {
	db := sqldbtest.SQLite(t)
	op, _, parts := startOPParts(t, db, sqldbtest.NewClock(time.Now()))
	portalURL, _ := startEmbeddedPortal(t, parts)
	b := newBrowser(t, op)
	b.register("phone", "+79161112299", "+79161112299", "Потерянова", "Вера")
	callback := heldCallback(t, b, portalURL)
	// The callback answered to nobody: sent with the browser's cookies,
	// its Set-Cookie thrown away.
	req, err := http.NewRequest("GET", callback, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range b.c.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	lost, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lost.Body.Close()
	if lost.StatusCode != http.StatusOK && lost.StatusCode/100 != 3 {
		t.Fatalf("the callback whose answer is lost: %d", lost.StatusCode)
	}
	if p := b.abs("GET", portalURL+"/", nil); strings.Contains(p.Body, "Здравствуйте, Вера!") {
		t.Fatal("signed in before the browser got any answer")
	}
	p, at := b.portalGo(t, portalURL, b.abs("GET", callback, nil))
	if p.Status != 200 || at != portalURL+"/" || !strings.Contains(p.Body, "Здравствуйте, Вера!") {
		t.Fatalf("the browser's callback after the lost answer: %d at %s\n%.1500s", p.Status, at, p.Body)
	}
	stranger := newBrowser(t, op)
	if p, at := stranger.portalGo(t, portalURL, stranger.abs("GET", callback, nil)); strings.Contains(p.Body, "Здравствуйте") || strings.HasPrefix(at, portalURL) {
		t.Fatalf("the callback's address in another browser: %d at %s", p.Status, at)
	}
}

// TestPortalSignInBoundToBrowser: a sign-in finishes only in the browser
// that began it (login CSRF). An attacker begins one in their browser,
// signs in at Gosid as themselves and sends the callback's address to a
// victim: the victim's browser, signed in to Gosid as the victim, is not
// signed in to the attacker's portal account — the sign-in starts again
// and ends in the victim's own — and the attacker's sign-in is used up.
// A restarted sign-in whose callback still comes to another browser (one
// that keeps no cookies) fails and says so.
func TestPortalSignInBoundToBrowser(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op, _, parts := startOPParts(t, db, sqldbtest.NewClock(time.Now()))
		portalURL, _ := startEmbeddedPortal(t, parts)
		attacker := newBrowser(t, op)
		attacker.register("phone", "+79161113301", "+79161113301", "Злоумышленников", "Захар")
		victim := newBrowser(t, op)
		victim.register("phone", "+79161113302", "+79161113302", "Доверчивая", "Вера")

		sent := heldCallback(t, attacker, portalURL)
		p, at := victim.portalGo(t, portalURL, victim.abs("GET", sent, nil))
		if p.Status != 200 || at != portalURL+"/" || !strings.Contains(p.Body, "Здравствуйте, Вера!") || strings.Contains(p.Body, "Захар") {
			t.Fatalf("the victim's browser at the attacker's callback: %d at %s\n%.1500s", p.Status, at, p.Body)
		}
		if p := attacker.abs("GET", sent, nil); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "устарела или уже использована") {
			t.Fatalf("the attacker's own callback after the victim opened it: %d\n%s", p.Status, firstError(p.Body))
		}
		// The attacker's browser is not signed in to the portal; its own
		// sign-in still works.
		if p := attacker.abs("GET", portalURL+"/", nil); strings.Contains(p.Body, "Здравствуйте") {
			t.Fatal("the attacker's browser is signed in to the portal")
		}
		if p, _ := attacker.portalGo(t, portalURL, attacker.abs("GET", heldCallback(t, attacker, portalURL), nil)); !strings.Contains(p.Body, "Здравствуйте, Захар!") {
			t.Fatalf("the attacker's own sign-in: %d", p.Status)
		}

		// A restarted sign-in that comes back to another browser fails.
		again := heldCallbackFrom(t, attacker, portalURL+"/login?again=1")
		p = victim.abs("GET", again, nil)
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "браузер не сохранил cookie портала") {
			t.Fatalf("a restarted sign-in's callback in another browser: %d\n%s", p.Status, firstError(p.Body))
		}
		shootPage(t, portalURL, p.Body, "portal-signin-other-browser")
		shootPage(t, portalURL, victim.abs("GET", heldCallbackFrom(t, attacker, portalURL+"/login?again=1")+"&lang=en", nil).Body,
			"portal-signin-other-browser-en")
		if p := victim.abs("GET", portalURL+"/", nil); !strings.Contains(p.Body, "Здравствуйте, Вера!") {
			t.Fatal("the failed callback signed the victim out")
		}
	})
}

// TestPortalRefreshThroughUserinfoOutage: Gosid answers the refresh but
// not userinfo (shedding load, say): the portal keeps the rotated refresh
// token all the same, so that its next refresh presents the new one —
// the old one, presented again after the provider's grace, reads as a
// stolen token replayed, and Gosid would revoke the grant and the portal
// sign the citizen out.
func TestPortalRefreshThroughUserinfoOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op, parts, c, f := startOPShedding(t, db)
		shed := &f.shed
		portalURL, _ := startEmbeddedPortal(t, parts)
		b := newBrowser(t, op)
		b.register("phone", "+79161112277", "+79161112277", "Старова", "Анна")
		if p, _ := b.portalGo(t, portalURL, b.abs("GET", portalURL+"/profile", nil)); !strings.Contains(p.Body, "Старова") {
			t.Fatalf("profile: %d", p.Status)
		}
		// Stale, refreshed while userinfo sheds: the stale profile serves.
		c.Advance(11 * time.Minute)
		shed.Store(true)
		if p := b.abs("GET", portalURL+"/profile", nil); p.Status != 200 || !strings.Contains(p.Body, "Старова") {
			t.Fatalf("profile while userinfo sheds: %d", p.Status)
		}
		shed.Store(false)
		// Ten minutes on, the next refresh: still signed in.
		c.Advance(11 * time.Minute)
		if p := b.abs("GET", portalURL+"/profile", nil); p.Status != 200 || !strings.Contains(p.Body, "Старова") {
			t.Fatalf("profile after the outage: %d %s", p.Status, p.Location)
		}
		if n := portalSessions(t, db); n != 1 {
			t.Fatalf("%d portal sessions after the outage, want 1", n)
		}
	})
}

// TestPortalServicesCommand: `gosid portal services` manages the
// catalogue in the database the options name (the wiring; the commands
// themselves are tested in portal/catalog/store).
func TestPortalServicesCommand(t *testing.T) {
	dir := t.TempDir()
	c := cli{t: t, base: []string{"--data-dir", dir}}
	cli{t: t}.ok("migrate", "--data-dir", dir)
	out := t.TempDir()
	if r := c.run("portal", "services", "import", filepath.Join("..", "..", "portal", "catalog", "services", "taxes.yaml")); r.code != exitOK {
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	if list := c.ok("portal", "services", "list"); !strings.Contains(list, "fns") {
		t.Fatalf("list after import:\n%s", list)
	}
	c.ok("portal", "services", "export", out)
	if files, _ := filepath.Glob(filepath.Join(out, "*.yaml")); len(files) == 0 {
		t.Fatal("export wrote nothing")
	}
	if r := c.run("portal", "services", "import", filepath.Join(dir, "missing.yaml")); r.code != exitConfig {
		t.Fatalf("import of a missing file: %d", r.code)
	}
}

// TestPortalNotifyCommand: `gosid portal notify` checks its flags, naming
// each wrong one, and records a broadcast for the servers to send (the
// sending is tested in portal's TestBroadcast).
func TestPortalNotifyCommand(t *testing.T) {
	dir := t.TempDir()
	c := cli{t: t, base: []string{"--data-dir", dir}}
	cli{t: t}.ok("migrate", "--data-dir", dir)
	body := filepath.Join(dir, "news.txt")
	if err := os.WriteFile(body, []byte("С 1 января меняется порядок.\n\nПодробности на портале."), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--category", "sport", "--title", "T", "--body-file", body}, "--category"},
		{[]string{"--category", "law", "--title", "", "--body-file", body}, "--title"},
		{[]string{"--category", "law", "--title", "T", "--body-file", filepath.Join(dir, "missing.txt")}, "--body-file"},
		{[]string{"--category", "law", "--title", "T"}, "--body-file"},
	} {
		r := c.run(append([]string{"portal", "notify"}, tc.args...)...)
		if r.code != exitConfig || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %d, stderr %q; want exit %d naming %s", tc.args, r.code, r.stderr, exitConfig, tc.want)
		}
	}
	out := c.ok("portal", "notify", "--category", "law", "--title", "Изменения в законе", "--body-file", body, "--wait=false")
	if !regexp.MustCompile(`^broadcast [0-9a-f]{16}: 0 subscribers of law\n$`).MatchString(out) {
		t.Fatalf("output %q", out)
	}
}

// TestPortalCallbackOutage: a sign-in whose callback meets the database
// down answers 503 with Retry-After (not a 500, not «the sign-in has
// expired»), and the same callback, sent again once the database is back,
// signs the citizen in (the soak's database restart found the 500).
func TestPortalCallbackOutage(t *testing.T) {
	pg := sqldbtest.Restartable(t)
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: pg.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := migrate(ctx, db, testLog()); err != nil { // the job queue's tables too
		t.Fatal(err)
	}
	op, _, parts := startOPParts(t, db, sqldbtest.NewClock(time.Now()))
	portalURL, _ := startEmbeddedPortal(t, parts)
	b := newBrowser(t, op)
	b.register("phone", "+79161112255", "+79161112255", "Сбоев", "Семён")

	// The sign-in up to the provider's redirect to the callback, held.
	callback := heldCallback(t, b, portalURL)
	var p page

	pg.Stop()
	resp, err := b.c.Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	pg.Start()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the callback with the database down: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// As the browser would after Retry-After: the pool's connections the
	// restart broke are dropped by the first statements that meet them.
	p = b.abs("GET", callback, nil)
	for try := 0; try < 20 && p.Status == http.StatusServiceUnavailable; try++ {
		time.Sleep(250 * time.Millisecond)
		p = b.abs("GET", callback, nil)
	}
	if p.Status/100 != 3 || p.Location != "/" {
		t.Fatalf("the same callback once the database is back: %d → %q\n%.1000s", p.Status, p.Location, p.Body)
	}
	if p := b.abs("GET", portalURL+"/", nil); !strings.Contains(p.Body, "Здравствуйте, Семён!") {
		t.Errorf("not signed in after the retried callback:\n%.1000s", p.Body)
	}
	if p := b.abs("GET", callback, nil); p.Status != http.StatusFound || !strings.Contains(p.Location, "again=1") {
		t.Errorf("the callback a third time, after it signed in: %d → %q, want the sign-in again (used once)", p.Status, p.Location)
	}

	// An outage after the provider redeemed the code (the commit of the
	// redemption reports failure): the callback answers 503 and keeps its
	// sign-in, but the code is spent; sent again, the callback restarts the
	// sign-in once, which the provider's session answers at once.
	callback = heldCallback(t, b, portalURL)
	var faults atomic.Int32
	db.SetCommitFault(func() error {
		if faults.Add(1) == 1 {
			return errors.New("injected: the commit's answer was lost")
		}
		return nil
	})
	p = b.abs("GET", callback, nil)
	db.SetCommitFault(nil)
	if p.Status != http.StatusServiceUnavailable {
		t.Fatalf("the callback whose code redemption was lost: %d, want 503", p.Status)
	}
	p = b.abs("GET", callback, nil)
	if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/login?") || !strings.Contains(p.Location, "again=1") {
		t.Fatalf("the callback again with its code spent: %d → %q, want a restarted sign-in", p.Status, p.Location)
	}
	if p, at := b.portalGo(t, portalURL, b.abs("GET", portalURL+p.Location, nil)); p.Status != 200 || at != portalURL+"/" || !strings.Contains(p.Body, "Здравствуйте, Семён!") {
		t.Fatalf("the restarted sign-in: %d at %s", p.Status, at)
	}
}

// heldCallback runs a portal sign-in in b up to the provider's redirect
// to the portal's callback, and returns the callback's URL, not followed.
func heldCallback(t *testing.T, b *browser, portalURL string) string {
	t.Helper()
	return heldCallbackFrom(t, b, portalURL+"/login")
}

// heldCallbackFrom is heldCallback for a sign-in begun at start (the
// portal's /login with a query).
func heldCallbackFrom(t *testing.T, b *browser, start string) string {
	t.Helper()
	portalURL := strings.TrimSuffix(start[:strings.LastIndex(start, "/login")], "/")
	p, at := b.abs("GET", start, nil), start
	for i := 0; i < 10 && p.Status/100 == 3; i++ {
		base, _ := url.Parse(at)
		next, err := base.Parse(p.Location)
		if err != nil {
			t.Fatal(err)
		}
		if at = next.String(); strings.HasPrefix(at, portalURL+"/auth/callback") {
			return at
		}
		p = b.abs("GET", at, nil)
	}
	t.Fatalf("no redirect to the portal's callback: %d at %s", p.Status, at)
	return ""
}
