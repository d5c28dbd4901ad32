package e2e

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The certificate fixtures of keys/cert (made with OpenSSL's GOST engine).
var certFixtures = filepath.Join("..", "keys", "cert", "testdata")

// webClient is a cookie-keeping HTTP client that does not follow
// redirects: a citizen's browser without JavaScript.
type webClient struct {
	t   *testing.T
	srv *server
	c   *http.Client
}

func newWebClient(t *testing.T, s *server) *webClient {
	jar, _ := cookiejar.New(nil)
	return &webClient{t: t, srv: s, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (w *webClient) do(method, path string, form url.Values) page {
	w.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, w.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := w.c.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(b)}
}

func (w *webClient) expect(p page, status int, location string) {
	w.t.Helper()
	if p.Status != status || !strings.HasPrefix(p.Location, location) {
		w.t.Fatalf("got %d → %q, want %d → %s\n%.800s", p.Status, p.Location, status, location, p.Body)
	}
}

// register signs a new citizen up by phone, through the dev sink's code.
func (w *webClient) register(phone, family, given string) {
	w.t.Helper()
	w.expect(w.do("POST", "/register", url.Values{"by": {"phone"}, "phone": {phone}}), 303, "/register/code")
	code, _ := w.srv.devCode(w.t, phone, "code.register", 0)
	w.expect(w.do("POST", "/register/code", url.Values{"code": {code}}), 303, "/register/profile")
	w.expect(w.do("POST", "/register/profile", url.Values{"family_name": {family}, "given_name": {given},
		"password": {"Zk7#vLq2!mWp"}, "password_confirm": {"Zk7#vLq2!mWp"}, "consent": {"yes"}}), 303, "/account/details")
}

var esignChallengeRe = regexp.MustCompile(`<textarea id="challenge" readonly rows="3">([^<]+)</textarea>`)

// signChallenge fetches the page's challenge and signs it with `gosid
// sign` and the fixture citizen's software key, as a citizen would.
func (w *webClient) signChallenge(path, citizen string) string {
	w.t.Helper()
	m := esignChallengeRe.FindStringSubmatch(w.do("GET", path, nil).Body)
	if m == nil {
		w.t.Fatalf("%s shows no challenge", path)
	}
	dir := w.t.TempDir()
	in, out, chain := filepath.Join(dir, "challenge.txt"), filepath.Join(dir, "challenge.sig"), filepath.Join(dir, "chain.pem")
	leaf, _ := os.ReadFile(filepath.Join(certFixtures, citizen+".pem"))
	inter, _ := os.ReadFile(filepath.Join(certFixtures, "intermediate.pem"))
	if err := os.WriteFile(chain, append(leaf, inter...), 0o600); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(in, []byte(html.UnescapeString(m[1])), 0o600); err != nil {
		w.t.Fatal(err)
	}
	if code, stdout, stderr := gosid(w.t, "sign", "--key", filepath.Join(certFixtures, citizen+".key"), "--cert", chain, "--in", in, "--out", out); code != 0 {
		w.t.Fatalf("gosid sign: exit %d\n%s%s", code, stdout, stderr)
	}
	sig, err := os.ReadFile(out)
	if err != nil {
		w.t.Fatal(err)
	}
	return string(sig)
}

// TestClaimedSNILSTakeover drives the real binary through issue 11's
// first account takeover: an attacker types the holder's SNILS into their
// own account; the holder then signs in with their qualified certificate.
// The holder must get a new account of their own, and the attacker's
// account must stay as it was apart from losing the claim (with a notice).
func TestClaimedSNILSTakeover(t *testing.T) {
	s := startServer(t, "--data-dir", t.TempDir(), "--trust-dir", filepath.Join(certFixtures, "trust"),
		"--crl-file", filepath.Join(certFixtures, "ca.crl"), "--crl-file", filepath.Join(certFixtures, "root.crl"))

	attacker := newWebClient(t, s)
	attacker.register("+79161110601", "Иванов", "Иван")
	// 11 digits of the fixture certificate's SNILS (citizen256: 101-107-919 88).
	attacker.expect(attacker.do("POST", "/account/details", url.Values{"snils": {"10110791988"}}), 303, "/account")

	holder := newWebClient(t, s)
	sig := holder.signChallenge("/login/esign", "citizen256")
	p := holder.do("POST", "/login/esign", url.Values{"signature": {sig}})
	if p.Status != 404 || !strings.Contains(p.Body, `href="/register?from=esign"`) {
		t.Fatalf("the holder's certificate: %d → %q, want 404 offering registration\n%.1500s", p.Status, p.Location, p.Body)
	}
	if p := holder.do("GET", "/account", nil); p.Status != 302 {
		t.Fatalf("the holder got a session in someone's account: %d", p.Status)
	}
	holder.do("GET", "/register?from=esign", nil)
	holder.expect(holder.do("POST", "/register", url.Values{"by": {"phone"}, "phone": {"+79161110602"}}), 303, "/register/code")
	code, _ := s.devCode(t, "+79161110602", "code.register", 0)
	holder.expect(holder.do("POST", "/register/code", url.Values{"code": {code}}), 303, "/register/profile")
	holder.expect(holder.do("POST", "/register/profile", url.Values{"family_name": {"Иванов"}, "given_name": {"Иван"},
		"middle_name": {"Иванович"}, "password": {"Zk7#vLq2!mWp"}, "password_confirm": {"Zk7#vLq2!mWp"}, "consent": {"yes"}}), 303, "/account/details")
	if p := holder.do("GET", "/account", nil); p.Status != 200 || !strings.Contains(p.Body, "Иванов Иван Иванович") || !strings.Contains(p.Body, "Подтверждённая") {
		t.Fatalf("the holder's new account: %d\n%.2000s", p.Status, p.Body)
	}

	// The attacker's account: still theirs, still simplified, no SNILS,
	// and its owner told why.
	if p := attacker.do("GET", "/account", nil); p.Status != 200 || strings.Contains(p.Body, "101-***-*** 88") || !strings.Contains(p.Body, "Упрощённая") {
		t.Fatalf("the attacker's account after the proof: %d\n%.2000s", p.Status, p.Body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, body := s.get(t, "/dev/messages.json?to="+url.QueryEscape("+79161110601"))
		if strings.Contains(string(body), `"kind":"notice.snils_claim_dropped"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the claimant was not told:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The certificate now signs the holder in, to their own account.
	again := newWebClient(t, s)
	again.expect(again.do("POST", "/login/esign", url.Values{"signature": {again.signChallenge("/login/esign", "citizen256")}}), 303, "/account")
	if p := again.do("GET", "/account", nil); !strings.Contains(p.Body, "Иванов Иван Иванович") {
		t.Fatal("the certificate signed in to another account than the holder's")
	}
}
