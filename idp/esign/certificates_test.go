package esign

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cms"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// plainCrypto stands in for the key manager: these tests do not look at
// sealed columns.
type plainCrypto struct{}

func (plainCrypto) Seal(plaintext, _ []byte) ([]byte, error) { return bytes.Clone(plaintext), nil }
func (plainCrypto) Open(_ context.Context, blob, _ []byte) ([]byte, error) {
	return bytes.Clone(blob), nil
}
func (plainCrypto) BlindIndex(domain, value string) []byte {
	m := hmac.New(sha256.New, []byte("test"))
	m.Write([]byte(domain + "\x00" + value))
	return m.Sum(nil)
}

// verifierOf is the real assurance service over the test's stores.
func verifierOf(db *sqldb.DB, accounts *account.Store, now func() time.Time) Verifier {
	return assurance.New(db, func(q sqldb.Runner) assurance.Accounts { return accounts.With(q) }, audit.New(db, plainCrypto{}, now), plainCrypto{}, now)
}

type tellNobody struct{}

func (tellNobody) Account(context.Context, *account.Account, string, string, map[string]string) {}

// newLeaf makes a self-signed certificate for the stand-in verifier.
func newLeaf(t testing.TB, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "Иванов Иван"},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestStaleSessionCertificates: binding and removing a certificate need a
// session authenticated at most 5 minutes ago. A stale one is sent (303)
// to the re-authentication page, which returns to the list, and changes
// nothing: no signature is checked, no challenge spent, nothing bound or
// removed. After the re-authentication of the same session both work.
func TestStaleSessionCertificates(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		accounts := account.NewStore(db, plainCrypto{}, c.Now)
		sessions := session.NewStore(db, session.Config{Now: c.Now})
		store := NewStore(db, plainCrypto{}, c.Now)
		a, err := accounts.Create(ctx, account.New{Name: account.Name{Family: "Иванов", Given: "Иван"}, SNILS: "112-233-445 95",
			Phone: account.Contact{Value: "+79120000001", VerifiedAt: c.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		owned, fresh := newLeaf(t, 1), newLeaf(t, 2)
		if _, err := store.Bind(ctx, a.ID, owned, "Иванов Иван", "УЦ", "ECDSA"); err != nil {
			t.Fatal(err)
		}
		var checked atomic.Int32
		h, err := New(Deps{Store: store, Accounts: accounts, Sessions: sessions, Flows: flow.NewStore(db, plainCrypto{}, c.Now),
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: c.Now, Reauth: session.Reauth{MaxAge: 5 * time.Minute},
			Verifier: verifierOf(db, accounts, c.Now), Notifier: tellNobody{},
			Verify: func(context.Context, []byte, []byte) (*cms.Result, error) {
				checked.Add(1)
				return &cms.Result{Signer: &cms.Signer{Certificate: fresh},
					Subject: cert.Subject{SNILS: "11223344595", CommonName: "Иванов Иван", FamilyName: "Иванов", GivenName: "Иван"}}, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		h.Routes(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		token, sess, err := sessions.Create(ctx, a.ID, []string{"pwd"}, time.Time{}, "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		jar, _ := cookiejar.New(nil)
		u, _ := url.Parse(srv.URL)
		jar.SetCookies(u, []*http.Cookie{{Name: session.DefaultCookieName, Value: token, Path: "/"}})
		client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		do := func(method, path string, form url.Values) (int, string, string) {
			t.Helper()
			resp, err := client.Do(func() *http.Request {
				req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return req
			}())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header.Get("Location"), string(b)
		}
		bound := func() int {
			t.Helper()
			list, err := store.List(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}

		if st, _, _ := do("GET", "/account/certificates", nil); st != 200 {
			t.Fatalf("the list: %d", st)
		}
		c.Advance(5*time.Minute + time.Second)
		const reauth = "/account/reauth?next=%2Faccount%2Fcertificates"
		remove := url.Values{"fingerprint": {hex.EncodeToString(Fingerprint(owned))}}
		for _, tc := range []struct {
			path string
			form url.Values
		}{{"/account/certificates", url.Values{"signature": {"MIIB"}}}, {"/account/certificates/remove", remove}} {
			if st, loc, _ := do("POST", tc.path, tc.form); st != 303 || loc != reauth {
				t.Fatalf("POST %s with a stale session: %d → %q", tc.path, st, loc)
			}
		}
		if checked.Load() != 0 || bound() != 1 {
			t.Fatalf("a stale session checked %d signatures, %d certificates bound", checked.Load(), bound())
		}
		if err := sessions.AddAuthentication(ctx, sess.ID, []string{"pwd"}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		// Back on the list: a new challenge to sign.
		if st, _, body := do("GET", "/account/certificates", nil); st != 200 || !strings.Contains(body, "Gosid: вход с электронной подписью") {
			t.Fatalf("the list after re-authentication: %d", st)
		}
		if st, _, body := do("POST", "/account/certificates", url.Values{"signature": {"MIIB"}}); st != 200 || !strings.Contains(body, "Сертификат привязан") || bound() != 2 {
			t.Fatalf("bind after re-authentication: %d, %d bound", st, bound())
		}
		if st, _, body := do("POST", "/account/certificates/remove", remove); st != 200 || !strings.Contains(body, "Сертификат отвязан") || bound() != 1 {
			t.Fatalf("remove after re-authentication: %d, %d bound", st, bound())
		}
	})
}
