package passkey

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func decodeJSON(t testing.TB, b []byte) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return m
}

const form = "application/x-www-form-urlencoded"

func (s *server) events(t testing.TB, accountID string) []account.Event {
	t.Helper()
	ev, err := s.accounts.Events(context.Background(), accountID, time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestHTTP drives the routes as the pages' script does.
func TestHTTP(t *testing.T) {
	e := newEnv(t, sqldbtest.SQLite(t))
	s := newServer(t, e, nil)
	a := e.newAccount(t)
	auth := e.authenticator(t)

	// Signed out: JSON 401 with the way to sign in.
	st, h, b := s.post(t, "/passkeys/register/begin", "application/json", nil)
	if m := decodeJSON(t, b); st != 401 || m["error"] != "signed_out" || m["message"] != "Войдите в Gosid, чтобы продолжить." ||
		m["redirect"] != "/login?next=%2Faccount%2Fpasskeys" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("signed out: %d %s", st, b)
	}

	// Register.
	s.signIn(t, a.ID)
	st, h, b = s.post(t, "/passkeys/register/begin", "application/json", []byte("{}"))
	if st != 200 || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("begin: %d %s", st, b)
	}
	st, _, b = s.post(t, "/passkeys/register/finish", "application/json", auth.create(t, b))
	if m := decodeJSON(t, b); st != 200 || m["redirect"] != "/account/passkeys?done=added" || m["name"] != "Ключ доступа 1" {
		t.Fatalf("finish: %d %s", st, b)
	}
	if ev := s.events(t, a.ID); len(ev) == 0 || ev[0].Kind != EventAdded || ev[0].Method != "swk" {
		t.Fatalf("events after registration: %+v", ev)
	}

	// The list.
	st, _, b = s.get(t, "/account/passkeys?done=added")
	for _, want := range []string{"Ключ доступа 1", "Ключ доступа на устройстве", "22.11.2026 15:00", "не использовался",
		"Ключ доступа добавлен", `src="/static/passkey.js"`, `action="/account/passkeys/rename"`} {
		if st != 200 || !strings.Contains(string(b), want) {
			t.Fatalf("page (status %d) lacks %q:\n%s", st, want, b)
		}
	}
	if strings.Contains(string(b), "<script>") {
		t.Fatal("inline script on the page")
	}
	for _, lang := range []string{"ru", "en"} {
		_, _, page := s.get(t, "/account/passkeys?done=added&lang="+lang)
		for _, bad := range []string{">pk.", "\"pk.", "%!", "%s", "%d"} {
			if strings.Contains(string(page), bad) {
				t.Fatalf("the %s page shows %q:\n%s", lang, bad, page)
			}
		}
	}

	// Sign in with the passkey, from a browser without a session.
	anon := newServer(t, e, nil)
	anon.url = s.url
	st, _, b = anon.post(t, "/login/passkey/begin", "application/json", nil)
	if st != 200 {
		t.Fatalf("login begin: %d %s", st, b)
	}
	e.clock.Advance(time.Minute)
	next := "/authorize?client_id=x&state=%D1%8F"
	st, h, b = anon.post(t, "/login/passkey/finish?next="+url.QueryEscape(next), "application/json", auth.get(t, b))
	if m := decodeJSON(t, b); st != 200 || m["redirect"] != next {
		t.Fatalf("login finish: %d %s", st, b)
	}
	var token string
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == session.DefaultCookieName {
			token = c.Value
		}
	}
	sess, err := e.sessions.Lookup(context.Background(), token)
	if err != nil || sess.AccountID != a.ID || !slices.Equal(sess.AMR, []string{"swk", "user"}) {
		t.Fatalf("session: %+v, %v", sess, err)
	}
	if ev := s.events(t, a.ID); ev[0].Kind != account.EventSignIn || ev[0].Result != account.ResultOK || ev[0].Method != "swk user" {
		t.Fatalf("sign-in event: %+v", ev[0])
	}

	// An open redirect is not followed.
	_, _, b = anon.post(t, "/login/passkey/begin", "application/json", nil)
	_, _, b = anon.post(t, "/login/passkey/finish?next="+url.QueryEscape("//evil.example/x"), "application/json", auth.get(t, b))
	if m := decodeJSON(t, b); m["redirect"] != "/account" {
		t.Fatalf("unsafe next: %s", b)
	}

	// Refusals are JSON 400s in the page's language.
	_, _, opts := anon.post(t, "/login/passkey/begin", "application/json", nil)
	resp := auth.get(t, opts)
	if st, _, _ := anon.post(t, "/login/passkey/finish", "application/json", resp); st != 200 {
		t.Fatalf("first use: %d", st)
	}
	st, _, b = anon.post(t, "/login/passkey/finish", "application/json", resp)
	if m := decodeJSON(t, b); st != 400 || m["error"] != "challenge" || m["message"] != ErrChallenge.Message("ru") {
		t.Fatalf("replay: %d %s", st, b)
	}
	req, _ := http.NewRequest("POST", s.url+"/login/passkey/finish", strings.NewReader(string(resp)))
	req.Header.Set("Accept-Language", "en-GB,en;q=0.9")
	st, _, b = anon.do(t, req)
	if m := decodeJSON(t, b); st != 400 || m["message"] != "This request is no longer valid or was already used. Please try again." {
		t.Fatalf("English: %d %s", st, b)
	}
	wrong := *auth
	wrong.origin = "https://evil.example"
	_, _, opts = anon.post(t, "/login/passkey/begin", "application/json", nil)
	st, _, b = anon.post(t, "/login/passkey/finish", "application/json", wrong.get(t, opts))
	if m := decodeJSON(t, b); st != 400 || m["error"] != "origin" {
		t.Fatalf("wrong origin: %d %s", st, b)
	}
	st, _, b = anon.post(t, "/login/passkey/finish", "application/json", []byte(strings.Repeat("x", maxBody+1)))
	if m := decodeJSON(t, b); st != 400 || m["error"] != "malformed" {
		t.Fatalf("oversized: %d %s", st, b)
	}

	// Rename.
	id := b64.EncodeToString(auth.credID)
	st, h, _ = s.post(t, "/account/passkeys/rename", form, []byte(url.Values{"id": {id}, "name": {"  Мой   телефон "}}.Encode()))
	if st != 303 || h.Get("Location") != "/account/passkeys?done=renamed" {
		t.Fatalf("rename: %d %v", st, h)
	}
	if c, _ := e.store.Get(context.Background(), auth.credID); c.Name != "Мой телефон" {
		t.Fatalf("renamed to %q", c.Name)
	}
	for _, bad := range []string{"", "   ", strings.Repeat("я", 65), "a\u0000b", "a\u202eb"} {
		st, _, b = s.post(t, "/account/passkeys/rename", form, []byte(url.Values{"id": {id}, "name": {bad}}.Encode()))
		if st != 422 || !strings.Contains(string(b), "Название: от 1 до 64 символов") {
			t.Fatalf("rename to %q: %d", bad, st)
		}
	}
	st, _, _ = s.post(t, "/account/passkeys/rename", form, []byte(url.Values{"id": {"AAAA"}, "name": {"x"}}.Encode()))
	if st != 404 {
		t.Fatalf("rename unknown: %d", st)
	}

	// Another citizen can neither rename nor remove it.
	other := newServer(t, e, nil)
	other.url = s.url
	other.signIn(t, e.newAccount(t).ID)
	if st, _, _ := other.post(t, "/account/passkeys/rename", form, []byte(url.Values{"id": {id}, "name": {"x"}}.Encode())); st != 404 {
		t.Fatalf("rename another's: %d", st)
	}
	if st, _, _ := other.post(t, "/account/passkeys/remove", form, []byte(url.Values{"id": {id}}.Encode())); st != 404 {
		t.Fatalf("remove another's: %d", st)
	}
	if st, _, _ := other.get(t, "/account/passkeys/remove?id="+id); st != 404 {
		t.Fatalf("confirmation page of another's: %d", st)
	}

	// Re-authentication for adding a passkey to an old session.
	e.clock.Advance(20 * time.Minute)
	st, _, b = s.post(t, "/passkeys/register/begin", "application/json", nil)
	if m := decodeJSON(t, b); st != 401 || m["error"] != "reauth" || m["redirect"] == "" {
		t.Fatalf("stale session: %d %s", st, b)
	}
	// Removing needs it too (TestStaleSessionPasskeys); sign in afresh.
	s.signIn(t, a.ID)

	// Remove: the list's button asks first, on a page of its own whose
	// form posts the removal and whose «Отмена» goes back to the list.
	if st, _, b := s.get(t, "/account/passkeys"); st != 200 || !strings.Contains(string(b), `<form method="get" action="/account/passkeys/remove">`) {
		t.Fatalf("the list's remove button does not ask first: %d", st)
	}
	st, _, b = s.get(t, "/account/passkeys/remove?id="+id)
	for _, want := range []string{"Удалить ключ доступа «", `<form method="post" action="/account/passkeys/remove" data-confirm-remove>`,
		`name="id" value="` + id + `"`, `href="/account/passkeys" data-cancel-remove>Отмена, оставить ключ`} {
		if st != 200 || !strings.Contains(string(b), want) {
			t.Fatalf("confirmation page: %d, lacks %s", st, want)
		}
	}
	if creds, _ := e.store.List(context.Background(), a.ID); len(creds) != 1 {
		t.Fatalf("the confirmation page removed it: %+v", creds)
	}
	st, h, _ = s.post(t, "/account/passkeys/remove", form, []byte(url.Values{"id": {id}}.Encode()))
	if st != 303 || h.Get("Location") != "/account/passkeys?done=removed" {
		t.Fatalf("remove: %d", st)
	}
	if creds, _ := e.store.List(context.Background(), a.ID); len(creds) != 0 {
		t.Fatalf("left: %+v", creds)
	}
	if ev := s.events(t, a.ID); ev[0].Kind != EventRemoved {
		t.Fatalf("events after removal: %+v", ev[0])
	}

	// The removed passkey is refused, and named so that the page can ask
	// the browser to forget it.
	_, _, b = anon.post(t, "/login/passkey/begin", "application/json", nil)
	st, _, b = anon.post(t, "/login/passkey/finish", "application/json", auth.get(t, b))
	if m := decodeJSON(t, b); st != 400 || m["error"] != "unknown_credential" || m["credential"] != id || m["rp_id"] != "id.gosid.test" {
		t.Fatalf("removed passkey: %d %s", st, b)
	}

	// The script.
	st, h, b = s.get(t, "/static/passkey.js")
	if st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/javascript") || !strings.Contains(string(b), `mediation: "conditional"`) {
		t.Fatalf("script: %d %v", st, h)
	}

	// Pages need a session.
	fresh := newServer(t, e, nil)
	fresh.url = s.url
	st, h, _ = fresh.get(t, "/account/passkeys")
	if st != 302 || h.Get("Location") != "/login?next=%2Faccount%2Fpasskeys" {
		t.Fatalf("signed out page: %d %v", st, h.Get("Location"))
	}
}

// request is a request carrying the client's cookies.
func (s *server) request(t testing.TB) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", s.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range s.client.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	return req
}

// TestStaleSessionPasskeys: adding and removing a passkey need a session
// authenticated at most 5 minutes ago. A stale one changes nothing: the
// ceremonies answer "reauth" with the re-authentication page that returns
// to the passkeys page, the removal form is sent there (303); after the
// re-authentication of the same session both go through.
func TestStaleSessionPasskeys(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		s := newServer(t, e, func(d *Deps) { d.Reauth = session.Reauth{MaxAge: 5 * time.Minute} })
		a := e.newAccount(t)
		kept, added := e.authenticator(t), e.authenticator(t)
		e.register(t, a.ID, kept)
		s.signIn(t, a.ID)
		// A ceremony begun while fresh cannot be finished once stale.
		_, _, opts := s.post(t, "/passkeys/register/begin", "application/json", nil)
		e.clock.Advance(5*time.Minute + time.Second)
		const reauth = "/account/reauth?next=%2Faccount%2Fpasskeys"
		st, _, b := s.post(t, "/passkeys/register/finish", "application/json", added.create(t, opts))
		if m := decodeJSON(t, b); st != 401 || m["error"] != "reauth" || m["redirect"] != reauth || m["message"] != ErrReauth.Message("ru") {
			t.Fatalf("finish with a stale session: %d %s", st, b)
		}
		st, _, b = s.post(t, "/passkeys/register/begin", "application/json", nil)
		if m := decodeJSON(t, b); st != 401 || m["error"] != "reauth" || m["redirect"] != reauth {
			t.Fatalf("begin with a stale session: %d %s", st, b)
		}
		body := []byte(url.Values{"id": {b64.EncodeToString(kept.credID)}}.Encode())
		st, h, _ := s.post(t, "/account/passkeys/remove", form, body)
		if st != 303 || h.Get("Location") != reauth {
			t.Fatalf("remove with a stale session: %d → %q", st, h.Get("Location"))
		}
		if creds, _ := e.store.List(ctx, a.ID); len(creds) != 1 || !bytes.Equal(creds[0].ID, kept.credID) {
			t.Fatalf("a stale session changed the passkeys: %+v", creds)
		}
		if st, _, _ := s.get(t, "/account/passkeys"); st != 200 {
			t.Fatalf("the list with a stale session: %d", st)
		}

		sess, err := e.sessions.Current(s.request(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.sessions.AddAuthentication(ctx, sess.ID, []string{"pwd"}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		_, _, opts = s.post(t, "/passkeys/register/begin", "application/json", nil)
		if st, _, b := s.post(t, "/passkeys/register/finish", "application/json", added.create(t, opts)); st != 200 {
			t.Fatalf("add after re-authentication: %d %s", st, b)
		}
		if st, h, _ := s.post(t, "/account/passkeys/remove", form, body); st != 303 || h.Get("Location") != "/account/passkeys?done=removed" {
			t.Fatalf("remove after re-authentication: %d → %q", st, h.Get("Location"))
		}
		if creds, _ := e.store.List(ctx, a.ID); len(creds) != 1 || bytes.Equal(creds[0].ID, kept.credID) {
			t.Fatalf("after: %+v", creds)
		}
	})
}

func TestBeginRateLimit(t *testing.T) {
	e := newEnv(t, sqldbtest.SQLite(t))
	s := newServer(t, e, func(d *Deps) {
		d.Limiter = newTestLimiter(e)
		d.BeginPerIP.Name, d.BeginPerIP.Limit, d.BeginPerIP.Window = "passkey-begin-ip", 3, time.Minute
	})
	for i := range 4 {
		st, _, b := s.post(t, "/login/passkey/begin", "application/json", nil)
		if want := map[bool]int{true: 200, false: 429}[i < 3]; st != want {
			t.Fatalf("begin %d: %d %s", i+1, st, b)
		}
	}
}

// TestCeremonyOutage: a passkey sign-in whose store stops answering is
// not refused: 503 with Retry-After and a message that says to try again,
// not a verdict on the passkey.
func TestCeremonyOutage(t *testing.T) {
	db := sqldbtest.SQLite(t)
	e := newEnv(t, db)
	s := newServer(t, e, nil)
	a := e.newAccount(t)
	auth := e.authenticator(t)
	e.register(t, a.ID, auth)
	st, _, opts := s.post(t, "/login/passkey/begin", "application/json", nil)
	if st != 200 {
		t.Fatalf("begin: %d %s", st, opts)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st, h, b := s.post(t, "/login/passkey/finish", "application/json", auth.get(t, opts))
	if m := decodeJSON(t, b); st != 503 || h.Get("Retry-After") == "" || m["error"] != "internal" ||
		!strings.Contains(m["message"], "временно недоступен") {
		t.Fatalf("finish during an outage: %d %v %s", st, h, b)
	}
}
