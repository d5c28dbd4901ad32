package e2e

import (
	"crypto/sha256"
	"encoding/base64"
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

// TestOIDCAcrossReplicas: two `gosid serve` processes on one PostgreSQL
// with one public URL, as behind a load balancer: authorize on one, token
// on the other, refresh on the first.
func TestOIDCAcrossReplicas(t *testing.T) {
	dbURL := sqldbtest.EmptyPostgresURL(t)
	dir := t.TempDir()
	// The issuer must be one URL for both: A's, which B is told.
	a := startServer(t, "--data-dir", dir, "--database-url", dbURL)
	issuer := a.Issuer
	b := startServer(t, "--data-dir", dir, "--database-url", dbURL, "--public-url", issuer)

	const redirect = "http://127.0.0.1:9/cb"
	code, out, errOut := gosid(t, "clients", "create", "--data-dir", dir, "--database-url", dbURL, "--name", "Сайт", "--redirect-uri", redirect,
		"--scopes", "openid fullname offline_access", "--grant-types", "authorization_code,refresh_token", "--first-party", "--json")
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

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	step := func(s *server, method, path string, form url.Values) (int, string) {
		t.Helper()
		var resp *http.Response
		var err error
		if method == "POST" {
			resp, err = c.PostForm(s.URL+path, form)
		} else {
			resp, err = c.Get(s.URL + path)
		}
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	// Register on A (the code comes from the shared dev sink).
	step(a, "POST", "/register", url.Values{"by": {"phone"}, "phone": {"+79265550011"}})
	resp, err := http.Get(a.URL + "/dev/messages.json?to=%2B79265550011")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []struct{ Text string }
	_ = json.NewDecoder(resp.Body).Decode(&msgs)
	resp.Body.Close()
	if len(msgs) == 0 {
		t.Fatal("no code in the dev sink")
	}
	step(b, "POST", "/register/code", url.Values{"code": {regexp.MustCompile(`\b\d{6}\b`).FindString(msgs[0].Text)}})
	if st, loc := step(a, "POST", "/register/profile", url.Values{"family_name": {"Репликов"}, "given_name": {"Иван"},
		"password": {"Zk7#vLq2!mWp"}, "password_confirm": {"Zk7#vLq2!mWp"}, "consent": {"yes"}}); st != 303 || !strings.HasPrefix(loc, "/account") {
		t.Fatalf("registration: %d %q", st, loc)
	}

	// Authorize on A.
	verifier := "ver-" + strings.Repeat("x", 50)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {cl.ID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid fullname offline_access"},
		"state": {"st"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	_, loc := step(a, "GET", "/authorize?"+q.Encode(), nil)
	_, loc = step(a, "GET", loc, nil)
	cb, err := url.Parse(loc)
	if err != nil || cb.Query().Get("code") == "" {
		t.Fatalf("no code from A: %q", loc)
	}
	token := func(s *server, form url.Values) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(cl.ID, cl.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		if resp.StatusCode != 200 {
			t.Fatalf("token on %s: %d %v", s.URL, resp.StatusCode, m)
		}
		return m
	}
	// Token on B.
	tr := token(b, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}})
	rt, _ := tr["refresh_token"].(string)
	if rt == "" || tr["id_token"] == nil {
		t.Fatalf("token response from B: %v", tr)
	}
	// Refresh on A.
	tr2 := token(a, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	if tr2["refresh_token"] == rt || tr2["access_token"] == nil {
		t.Fatalf("refresh on A: %v", tr2)
	}
}
