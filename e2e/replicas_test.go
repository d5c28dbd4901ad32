package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestRegistrationAcrossReplicas: two `gosid serve` processes on one
// PostgreSQL; a registration started on one completes on the other, and
// the new account signs in on either. Both listen on 127.0.0.1, so one
// cookie jar carries the browser's cookies to both, as a load balancer's
// single host name would.
func TestRegistrationAcrossReplicas(t *testing.T) {
	dbURL := sqldbtest.EmptyPostgresURL(t)
	dir := t.TempDir()
	a := startServer(t, "--data-dir", dir, "--database-url", dbURL)
	b := startServer(t, "--data-dir", dir, "--database-url", dbURL)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(s *server, path string, form url.Values, wantLocation string) {
		t.Helper()
		resp, err := c.PostForm(s.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), wantLocation) {
			t.Fatalf("POST %s on %s: %d → %q, want a redirect to %s\n%.400s", path, s.URL, resp.StatusCode, resp.Header.Get("Location"), wantLocation, body)
		}
	}
	code := func(s *server, to string) string {
		t.Helper()
		resp, err := http.Get(s.URL + "/dev/messages.json?to=" + url.QueryEscape(to))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var msgs []struct{ Kind, Text string }
		if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil || len(msgs) == 0 {
			t.Fatalf("dev sink for %s: %v %v", to, msgs, err)
		}
		return regexp.MustCompile(`\b\d{6}\b`).FindString(msgs[0].Text)
	}

	post(a, "/register", url.Values{"by": {"phone"}, "phone": {"+7 (926) 555-44-33"}}, "/register/code")
	// The code was sent by A; B reads the same dev sink and checks it.
	post(b, "/register/code", url.Values{"code": {code(b, "+79265554433")}}, "/register/profile")
	post(a, "/register/profile", url.Values{"family_name": {"Сидоров"}, "given_name": {"Сидор"}, "password": {"Zk7#vLq2!mWp"},
		"password_confirm": {"Zk7#vLq2!mWp"}, "consent": {"yes"}}, "/account/details")
	// The session made on A is valid on B.
	resp, err := c.Get(b.URL + "/account")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Сидоров Сидор") {
		t.Fatalf("GET /account on B with A's session: %d", resp.StatusCode)
	}
	post(b, "/logout", nil, "/login")
	post(b, "/login", url.Values{"login": {"89265554433"}, "password": {"Zk7#vLq2!mWp"}}, "/account")
	// Signing out on B ends the session on A at once.
	post(b, "/logout", nil, "/login")
	resp, err = c.Get(a.URL + "/account")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 3 {
		t.Fatalf("GET /account on A after signing out on B: %d, want a redirect to sign in", resp.StatusCode)
	}
}
