package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// partnerBank is a bank at the partner API /partner/v1 of a running
// gosid serve: its client registered with `gosid clients create
// --partner`, its key for private_key_jwt, its access token.
type partnerBank struct {
	s     *server
	id    string
	key   jwk.Key
	token string
}

// newPartnerBank registers a partner client for bank with `gosid clients
// create` on the server's data directory and gets it a token, as a bank
// would: client_credentials with a private_key_jwt assertion.
func newPartnerBank(t *testing.T, s *server, dataDir, bank string) *partnerBank {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	_ = key.Set(jwk.KeyIDKey, "bank-1")
	pub, err := jwk.PublicKeyOf(key)
	if err != nil {
		t.Fatal(err)
	}
	_ = pub.Set(jwk.AlgorithmKey, jwa.ES256())
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	jwks, _ := json.Marshal(set)
	file := filepath.Join(t.TempDir(), "bank.jwks")
	if err := os.WriteFile(file, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := gosid(t, "clients", "create", "--data-dir", dataDir, "--name", "Банк-партнёр", "--json",
		"--grant-types", "client_credentials", "--auth-method", "private_key_jwt", "--jwks-file", file,
		"--scopes", "partner:confirmations partner:registrations", "--partner", bank)
	var c struct {
		ID string `json:"client_id"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &c) != nil || c.ID == "" {
		t.Fatalf("gosid clients create --partner: exit %d\n%s%s", code, out, errOut)
	}
	pb := &partnerBank{s: s, id: c.ID, key: key}
	pb.token = pb.getToken(t)
	return pb
}

func (pb *partnerBank) getToken(t *testing.T) string {
	t.Helper()
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"iss": pb.id, "sub": pb.id, "aud": pb.s.Issuer + "/oauth/token",
		"jti": base64.RawURLEncoding.EncodeToString(jti), "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	assertion, err := jws.Sign(claims, jws.WithKey(jwa.ES256(), pb.key))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(pb.s.URL+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"scope": {"partner:confirmations partner:registrations"}, "client_assertion": {string(assertion)},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("client_credentials token: %d %s", resp.StatusCode, body)
	}
	return tok.AccessToken
}

// post calls the partner API and returns the status and the body.
func (pb *partnerBank) post(t *testing.T, path, key string, body any) (int, []byte) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", pb.s.URL+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+pb.token)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// devLink waits for a message of kind to recipient and returns the link
// to path in it.
func (s *server) devLink(t *testing.T, to, kind, path string) string {
	t.Helper()
	re := regexp.MustCompile(`https?://[^\s"]+` + regexp.QuoteMeta(path) + `\?token=[A-Za-z0-9_-]+`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var msgs []devMessage
		code, _, body := s.get(t, "/dev/messages.json?to="+url.QueryEscape(to))
		if code != 200 || json.Unmarshal(body, &msgs) != nil {
			t.Fatalf("GET /dev/messages.json: %d %s", code, body)
		}
		for _, m := range msgs {
			if m.Kind == kind {
				link := re.FindString(m.Text)
				if link == "" {
					t.Fatalf("%s message holds no %s link: %q", kind, path, m.Text)
				}
				u, _ := url.Parse(link)
				return u.RequestURI()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s message to %s within 10s", kind, to)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserPartnerPages: the citizen's pages of the bank partner API in
// Chromium, driven by a bank calling the real API of the real binary. A
// bank registers its customer (POST /partner/v1/registrations): the
// activation link reaches the customer's phone, /activate refuses a weak
// password naming the field, sets a good one and signs the citizen in to a
// confirmed account. The bank then reports a confirmation (POST
// /partner/v1/confirmations): the notice's «Это был не я» link opens
// /account/dispute, which undoes it; the link does not work twice. With
// GOSID_E2E_SCREENSHOTS=1 the pages are saved at 1280 and 360 px, in
// Russian and English, to docs/screenshots/partner-*.png.
func TestBrowserPartnerPages(t *testing.T) {
	requireChromium(t)
	dir := t.TempDir()
	s, public := startLocalhost(t, "--data-dir", dir, "--sandbox-bank-addr", "localhost:0")
	bank := newPartnerBank(t, s, dir, "sandbox")
	shoot := func(b *browser, name string) {
		if os.Getenv("GOSID_E2E_SCREENSHOTS") != "1" {
			return
		}
		d := filepath.Join("..", "docs", "screenshots")
		b.screenshot(1280, filepath.Join(d, name+"-1280.png"))
		b.screenshot(360, filepath.Join(d, name+"-360.png"))
	}

	const phone = "+79167005599"
	customer := map[string]any{"snils": "112-233-445 95", "family_name": "Кузнецова", "given_name": "Мария", "middle_name": "Павловна",
		"birthdate": "1990-06-12", "passport": map[string]any{"series": "4510", "number": "654321", "issue_date": "2010-07-01"},
		"method": "in_branch", "confirmed_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "reference": "BR-77-0001", "phone": phone}
	if code, body := bank.post(t, "/partner/v1/registrations", "reg-1", customer); code != 201 || !strings.Contains(string(body), "pending_activation") {
		t.Fatalf("registration: %d %s", code, body)
	}
	activate := s.devLink(t, phone, "notice.activate", "/activate")

	b := newBrowser(t, public)
	b.open(activate + "&lang=en")
	b.expectText("Account activation", "Set the password and sign in")
	shoot(b, "partner-activate-en")
	b.open(activate + "&lang=ru")
	b.expectText("Активация учётной записи", "Банк зарегистрировал для вас учётную запись Gosid")
	shoot(b, "partner-activate")
	b.fill("password", "короткий")
	b.fill("password_confirm", "короткий")
	b.submitStatus("/activate", "/activate", 422)
	b.expectText("Пароль")
	if errs := evalIn[int](b, "field errors", `document.querySelectorAll('[aria-invalid="true"]').length`); errs == 0 {
		t.Error("a weak password: no field marked invalid")
	}
	b.fill("password", browserPassword)
	b.fill("password_confirm", browserPassword)
	b.submit("/activate", "/account")
	b.expectText("Кузнецова", "Подтверждённая")

	// The bank reports confirming the same customer in a branch.
	confirm := map[string]any{"snils": "112-233-445 95", "family_name": "Кузнецова", "given_name": "Мария", "middle_name": "Павловна",
		"birthdate": "1990-06-12", "passport": map[string]any{"series": "4510", "number": "654321", "issue_date": "2010-07-01"},
		"method": "in_branch", "confirmed_at": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), "reference": "BR-77-0002"}
	if code, body := bank.post(t, "/partner/v1/confirmations", "conf-1", confirm); code != 201 {
		t.Fatalf("confirmation: %d %s", code, body)
	}
	dispute := s.devLink(t, phone, "notice.partner_confirmed", "/account/dispute")
	d := newBrowser(t, public) // the link works signed out too
	d.open(dispute + "&lang=en")
	d.expectText("It was not me", "Undo the confirmation")
	shoot(d, "partner-dispute-en")
	d.open(dispute + "&lang=ru")
	d.expectText("Это был не я", "Песочница банка", "Отменить подтверждение")
	shoot(d, "partner-dispute")
	d.submit("/account/dispute", "/account/dispute")
	d.expectText("Подтверждение отменено.", "поддержку")
	shoot(d, "partner-dispute-done")
	d.openStatus(dispute, 410)
	d.expectText("Ссылка недействительна")
	b.open("/account/activity")
	b.expectText("Подтверждение личности банком оспорено")
	for _, br := range []*browser{b, d} {
		for _, p := range br.consoleProblems() {
			t.Errorf("browser console: %s", p)
		}
	}
}
