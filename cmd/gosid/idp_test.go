package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

// asGosid, set to 1 in its environment, makes the test binary gosid
// itself (main, with the arguments after the program name): a test's
// child process that runs a command apart from the test's own.
const asGosid = "GOSID_TEST_AS_GOSID"

func TestMain(m *testing.M) {
	if os.Getenv("GOSID_BENCH_SIGNIN_URL") != "" {
		os.Exit(signInClientMain())
	}
	if os.Getenv(asGosid) == "1" {
		main()
	}
	sqldbtest.Main(m)
}

type clock = sqldbtest.Clock

// testIdP is the identity provider's pages on a real HTTP server on
// 127.0.0.1, with the same middleware as `gosid serve`.
type testIdP struct {
	URL   string
	clock *clock
	// client, when set, reaches the server (e.g. trusting its test TLS
	// certificate); http.DefaultClient otherwise.
	client *http.Client
}

func (idp *testIdP) httpClient() *http.Client {
	if idp.client != nil {
		return idp.client
	}
	return http.DefaultClient
}

func newMasterKey(t testing.TB) *keys.MasterKey {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	mk, err := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	return mk
}

func startIdP(t testing.TB, db *sqldb.DB, mk *keys.MasterKey, c *clock) *testIdP {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	km, err := keys.Open(context.Background(), db, mk, keys.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	o := &idpOptions{LockoutThreshold: 3, LockoutDuration: 30 * time.Minute, SessionIdleTimeout: 30 * time.Minute, SessionLifetime: 12 * time.Hour, SessionIdleMin: 5 * time.Minute, SessionIdleMax: 4 * time.Hour, DeletionGrace: 30 * 24 * time.Hour,
		Argon2Memory: 8 * 1024, Argon2Time: 1, Argon2Threads: 1}
	parts, err := buildIdP(o, "http://127.0.0.1", db, km, log, false, c.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(parts.Handler(httpx.Options{Logger: log}))
	t.Cleanup(srv.Close)
	return &testIdP{URL: srv.URL, clock: c}
}

// browser is a cookie-keeping client that does not follow redirects, so
// each step's answer is checked.
type browser struct {
	t   testing.TB
	c   *http.Client
	idp *testIdP
}

func newBrowser(t testing.TB, idp *testIdP) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, idp: idp, c: &http.Client{Jar: jar, Transport: idp.httpClient().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	Status   int
	Location string
	Body     string
}

func (b *browser) get(path string) page {
	b.t.Helper()
	return b.do("GET", path, nil)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	return b.do("POST", path, form)
}

// postStep posts a step of a post/redirect/get page (the security
// pages) and returns the page the 303 leads to; another answer as it is.
func (b *browser) postStep(path string, form url.Values) page {
	b.t.Helper()
	p := b.post(path, form)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/") {
		return p
	}
	return b.get(p.Location)
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.idp.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(raw)}
}

// expectRedirect checks a 303/302 to a path prefix.
func (p page) expectRedirect(t testing.TB, prefix string) {
	t.Helper()
	if p.Status/100 != 3 || !strings.HasPrefix(p.Location, prefix) {
		t.Fatalf("want a redirect to %s, got %d → %q\n%s", prefix, p.Status, p.Location, firstError(p.Body))
	}
}

var errRe = regexp.MustCompile(`class="(?:ferr|error)"[^>]*>([^<]*)<`)

// firstError pulls the first error message out of a page, for failures.
func firstError(body string) string {
	if m := errRe.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	if len(body) > 300 {
		return body[:300]
	}
	return body
}

type devMessage struct {
	To, Kind, Text string
}

// messages returns what the dev sink holds for a recipient, newest first.
func (b *browser) messages(to string) []devMessage {
	b.t.Helper()
	resp, err := b.idp.httpClient().Get(b.idp.URL + "/dev/messages.json?to=" + url.QueryEscape(to))
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []devMessage
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		b.t.Fatal(err)
	}
	return out
}

var codeRe = regexp.MustCompile(`\b\d{6}\b`)

func (b *browser) latestCode(to, kind string) string {
	b.t.Helper()
	for _, m := range b.messages(to) {
		if m.Kind == kind {
			if c := codeRe.FindString(m.Text); c != "" {
				return c
			}
		}
	}
	b.t.Fatalf("no %s message with a code for %s", kind, to)
	return ""
}

const goodPassword = "Zk7#vLq2!mWp"

// register runs the whole registration by phone or e-mail.
func (b *browser) register(field, contact, normalized, family, given string) {
	b.t.Helper()
	form := url.Values{field: {contact}, "by": {field}}
	b.post("/register", form).expectRedirect(b.t, "/register/code")
	code := b.latestCode(normalized, "code.register")
	b.post("/register/code", url.Values{"code": {code}}).expectRedirect(b.t, "/register/profile")
	b.post("/register/profile", url.Values{"family_name": {family}, "given_name": {given}, "password": {goodPassword},
		"password_confirm": {goodPassword}, "consent": {"yes"}}).expectRedirect(b.t, "/account/details")
}

func TestRegistrationSignInLockoutRecovery(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := sqldbtest.NewClock(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
		idp := startIdP(t, db, newMasterKey(t), c)
		b := newBrowser(t, idp)

		b.register("phone", "+7 912 345-67-89", "+79123456789", "Иванов", "Иван")
		if p := b.get("/account"); p.Status != 200 || !strings.Contains(p.Body, "Иванов Иван") {
			t.Fatalf("/account after registration: %d", p.Status)
		}
		b.post("/logout", nil).expectRedirect(t, "/login")
		b.get("/account").expectRedirect(t, "/login")

		// The phone written another way signs in.
		b.post("/login", url.Values{"login": {"8 (912) 345-67-89"}, "password": {goodPassword}}).expectRedirect(t, "/account")
		b.post("/logout", nil).expectRedirect(t, "/login")

		// Unknown and known logins get the same answer.
		wrong := b.post("/login", url.Values{"login": {"+79123456789"}, "password": {"Wrong#Pass1"}})
		unknown := b.post("/login", url.Values{"login": {"+79990000000"}, "password": {"Wrong#Pass1"}})
		if wrong.Status != 401 || unknown.Status != 401 || firstError(wrong.Body) != firstError(unknown.Body) {
			t.Fatalf("wrong password %d %q vs unknown login %d %q: want the same 401 answer", wrong.Status, firstError(wrong.Body), unknown.Status, firstError(unknown.Body))
		}
		// The second and third wrong passwords: the third locks, and says
		// so (issue 13: a locked sign-in was invisible), for an unknown
		// login exactly as for a known one.
		b.post("/login", url.Values{"login": {"+79123456789"}, "password": {"Wrong#Pass2"}})
		third := b.post("/login", url.Values{"login": {"+79123456789"}, "password": {"Wrong#Pass3"}})
		b.post("/login", url.Values{"login": {"+79990000000"}, "password": {"Wrong#Pass2"}})
		thirdUnknown := b.post("/login", url.Values{"login": {"+79990000000"}, "password": {"Wrong#Pass3"}})
		const lockMsg = "Вход по паролю временно заблокирован на 30 минут"
		if third.Status != 401 || !strings.HasPrefix(firstError(third.Body), lockMsg) || !strings.Contains(third.Body, `href="/recover"`) {
			t.Fatalf("third wrong password: %d %q, want the lock-out message and the way in by code", third.Status, firstError(third.Body))
		}
		if thirdUnknown.Status != third.Status || firstError(thirdUnknown.Body) != firstError(third.Body) {
			t.Fatalf("third failure of an unknown login: %d %q, of a known one: %d %q: want the same", thirdUnknown.Status, firstError(thirdUnknown.Body), third.Status, firstError(third.Body))
		}
		if msgs := b.messages("+79123456789"); len(msgs) == 0 || msgs[0].Kind != "notice.locked" {
			t.Fatalf("the owner was not notified of the lock-out: %+v", msgs)
		}
		// The right password during the lock-out: the lock-out again,
		// not a verdict on the password; the same for the unknown login.
		locked := b.post("/login", url.Values{"login": {"+79123456789"}, "password": {goodPassword}})
		lockedUnknown := b.post("/login", url.Values{"login": {"+79990000000"}, "password": {goodPassword}})
		if locked.Status != 401 || firstError(locked.Body) != firstError(third.Body) || firstError(lockedUnknown.Body) != firstError(locked.Body) {
			t.Fatalf("right password while locked: %d %q, unknown login %q, want %q", locked.Status, firstError(locked.Body), firstError(lockedUnknown.Body), firstError(third.Body))
		}
		// 29 minutes later still locked, 31 minutes later open — no sleeping.
		c.Advance(29 * time.Minute)
		if p := b.post("/login", url.Values{"login": {"+79123456789"}, "password": {goodPassword}}); p.Status != 401 {
			t.Fatalf("after 29 minutes: %d, want still locked", p.Status)
		}
		c.Advance(2 * time.Minute)
		b.post("/login", url.Values{"login": {"+79123456789"}, "password": {goodPassword}}).expectRedirect(t, "/account")
		b.post("/logout", nil).expectRedirect(t, "/login")
		// A session on another device, which the recovery must end.
		other := newBrowser(t, idp)
		other.post("/login", url.Values{"login": {"+79123456789"}, "password": {goodPassword}}).expectRedirect(t, "/account")

		// Lock again, then recover: recovery unlocks at once.
		for i := range 3 {
			b.post("/login", url.Values{"login": {"+79123456789"}, "password": {"Wrong#Pass" + string(rune('a'+i))}})
		}
		c.Advance(time.Second)
		b.post("/recover", url.Values{"login": {"8 912 345 67 89"}}).expectRedirect(t, "/recover/code")
		code := b.latestCode("+79123456789", "code.recover")
		b.post("/recover/code", url.Values{"code": {code}}).expectRedirect(t, "/recover/password")
		const newPassword = "Nq4$wErt9!Zx"
		b.post("/recover/password", url.Values{"password": {newPassword}, "password_confirm": {newPassword}}).expectRedirect(t, "/login")
		if msgs := b.messages("+79123456789"); msgs[0].Kind != "notice.password_changed" {
			t.Fatalf("the owner was not told the password changed: %+v", msgs[0])
		}
		b.post("/login", url.Values{"login": {"+79123456789"}, "password": {goodPassword}})
		b.post("/login", url.Values{"login": {"+79123456789"}, "password": {newPassword}}).expectRedirect(t, "/account")
		if p := other.get("/account"); p.Status/100 != 3 {
			t.Fatalf("the other device's session survived the recovery: %d", p.Status)
		}
		if p := b.post("/login", url.Values{"login": {"+79123456789"}, "password": {goodPassword}}); p.Status != 401 {
			t.Fatalf("the old password still works after recovery: %d", p.Status)
		}
	})
}

// TestRegistrationDoesNotRevealAccounts: registering an existing phone
// looks the same, sends the owner a notice without a code, and accepts no
// code; recovery for an unknown login looks the same as for a known one.
func TestRegistrationDoesNotRevealAccounts(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := sqldbtest.NewClock(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
		idp := startIdP(t, db, newMasterKey(t), c)
		owner := newBrowser(t, idp)
		owner.register("email", "Petrova.Anna@Example.RU", "Petrova.Anna@example.ru", "Петрова", "Анна")
		owner.post("/logout", nil).expectRedirect(t, "/login")
		owner.post("/login", url.Values{"login": {"PETROVA.ANNA@example.ru"}, "password": {goodPassword}}).expectRedirect(t, "/account")

		intruder := newBrowser(t, idp)
		c.Advance(2 * time.Minute) // past the resend cool-down
		intruder.post("/register", url.Values{"by": {"email"}, "email": {"petrova.anna@example.ru"}}).expectRedirect(t, "/register/code")
		fresh := newBrowser(t, idp)
		fresh.post("/register", url.Values{"by": {"email"}, "email": {"new.person@example.ru"}}).expectRedirect(t, "/register/code")
		pa, pb := intruder.get("/register/code"), fresh.get("/register/code")
		if pa.Status != pb.Status || strings.Count(pa.Body, "<input") != strings.Count(pb.Body, "<input") {
			t.Fatalf("the code page differs for a taken contact (%d) and a new one (%d)", pa.Status, pb.Status)
		}
		msgs := intruder.messages("petrova.anna@example.ru")
		if msgs[0].Kind != "notice.register_existing" || codeRe.MatchString(msgs[0].Text) {
			t.Fatalf("owner of a taken contact got %q (must be a notice without a code)", msgs[0].Kind)
		}
		for _, guess := range []string{"000000", "123456", "999999"} {
			if p := intruder.post("/register/code", url.Values{"code": {guess}}); p.Status != 422 {
				t.Fatalf("a code for a taken contact was accepted: %d", p.Status)
			}
		}
		if p := intruder.get("/register/profile"); p.Status/100 != 3 {
			t.Fatalf("profile step reachable without a code: %d", p.Status)
		}

		known := newBrowser(t, idp)
		known.post("/recover", url.Values{"login": {"petrova.anna@example.ru"}}).expectRedirect(t, "/recover/code")
		unknown := newBrowser(t, idp)
		unknown.post("/recover", url.Values{"login": {"nobody@example.ru"}}).expectRedirect(t, "/recover/code")
		ka, ua := known.get("/recover/code"), unknown.get("/recover/code")
		mask := regexp.MustCompile(`[a-z]{2}\*+@example\.ru`)
		if ka.Status != ua.Status || mask.ReplaceAllString(ka.Body, "M") != mask.ReplaceAllString(ua.Body, "M") {
			t.Fatalf("recovery code pages differ for known and unknown logins")
		}
		if len(unknown.messages("nobody@example.ru")) != 0 {
			t.Fatal("a message went to a login without an account")
		}
	})
}

// TestFormsValidate: bad input gets field-level errors naming the field,
// nothing is created, and cross-origin posts are refused.
func TestFormsValidate(t *testing.T) {
	db := sqldbtest.SQLite(t)
	c := sqldbtest.NewClock(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	idp := startIdP(t, db, newMasterKey(t), c)
	b := newBrowser(t, idp)
	for _, tc := range []struct {
		path string
		form url.Values
		want string
	}{
		{"/register", url.Values{"by": {"phone"}, "phone": {"8 (495) 123-45-67"}}, "мобильн"},
		{"/register", url.Values{"by": {"phone"}, "phone": {"abc"}}, "Мобильный телефон"},
		{"/register", url.Values{"by": {"email"}, "email": {"no-at-sign"}}, "почт"},
		{"/login", url.Values{"login": {""}, "password": {"x"}}, "Логин"},
		{"/login", url.Values{"login": {"+79123456789"}, "password": {""}}, "Пароль"},
	} {
		p := b.post(tc.path, tc.form)
		if p.Status != 422 || !strings.Contains(firstError(p.Body), tc.want) {
			t.Errorf("POST %s %v: %d %q, want 422 with a message containing %q", tc.path, tc.form, p.Status, firstError(p.Body), tc.want)
		}
	}
	// A bad profile keeps the flow and names each field.
	b.post("/register", url.Values{"by": {"phone"}, "phone": {"+79161112233"}}).expectRedirect(t, "/register/code")
	b.post("/register/code", url.Values{"code": {b.latestCode("+79161112233", "code.register")}}).expectRedirect(t, "/register/profile")
	p := b.post("/register/profile", url.Values{"family_name": {"Smith"}, "given_name": {""}, "password": {"short"}, "password_confirm": {"short"}})
	for _, field := range []string{"family_name-err", "given_name-err", "password-err", "consent-err"} {
		if !strings.Contains(p.Body, `id="`+field+`"`) {
			t.Errorf("profile with bad input: no error for %s", field)
		}
	}
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM accounts`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d accounts after invalid forms (err %v)", n, err)
	}
	// English.
	if p := b.post("/login?lang=en", url.Values{"login": {"+79123456789"}, "password": {""}}); !strings.Contains(p.Body, "Password: enter your password") {
		t.Errorf("English error missing: %q", firstError(p.Body))
	}
	// Cross-origin form posts are refused.
	req, _ := http.NewRequest("POST", idp.URL+"/login", strings.NewReader("login=%2B79123456789&password=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST /login: %d, want 403", resp.StatusCode)
	}
}

// FuzzLoginForm sends arbitrary form bodies to POST /login: the answer is
// always a page or a redirect, never a server error or a crash.
func FuzzLoginForm(f *testing.F) {
	db := sqldbtest.SQLite(f)
	c := sqldbtest.NewClock(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	km, err := keys.Open(context.Background(), db, newMasterKey(f), keys.Options{Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	o := &idpOptions{LockoutThreshold: 3, LockoutDuration: 30 * time.Minute, SessionIdleTimeout: 30 * time.Minute, SessionLifetime: 12 * time.Hour, SessionIdleMin: 5 * time.Minute, SessionIdleMax: 4 * time.Hour, DeletionGrace: 30 * 24 * time.Hour,
		Argon2Memory: 64, Argon2Time: 1, Argon2Threads: 1}
	parts, err := buildIdP(o, "http://127.0.0.1", db, km, log, false, c.Now, nil)
	if err != nil {
		f.Fatal(err)
	}
	h := parts.Handler(httpx.Options{Logger: log})
	for _, seed := range []string{
		"login=%2B79123456789&password=x",
		"login=8+(912)+345-67-89&password=Zk7%23vLq2!mWp",
		"login=123-456-789+64&password=",
		"login=a%40b.ru&password=%00%ff",
		"login=%ZZ&password",
		"login=" + strings.Repeat("9", 5000) + "&password=" + strings.Repeat("x", 5000),
		"next=//evil.example&login=a@b.ru&password=p",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = "127.0.0.1:1234"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 303, 400, 401, 422, 429:
		default:
			t.Fatalf("POST /login %q: status %d", body, rec.Code)
		}
		if loc := rec.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
			t.Fatalf("POST /login %q redirects off-site to %q", body, loc)
		}
	})
}
