package esign

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/idptest"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cms"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// verifierOf is the real assurance service over the harness's stores.
func verifierOf(e *idptest.Env) Verifier {
	return assurance.New(e.DB, func(q sqldb.Runner) assurance.Accounts { return e.Accounts.With(q) }, e.Audit, e.Crypto, e.Clock.Now)
}

// newLeaf makes a self-signed certificate for the stand-in verifier.
func newLeaf(t testing.TB, serial int64) *x509.Certificate {
	t.Helper()
	return newLeafValid(t, serial, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC))
}

// newLeafValid makes a self-signed certificate valid from notBefore to
// notAfter.
func newLeafValid(t testing.TB, serial int64, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "Иванов Иван"},
		NotBefore: notBefore.Truncate(time.Second), NotAfter: notAfter.Truncate(time.Second)}
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
		e := idptest.NewEnv(t, db, idptest.Options{})
		c := e.Clock
		store := NewStore(db, e.Crypto, c.Now)
		a := e.NewAccount(t, account.New{SNILS: "112-233-445 95"})
		owned, fresh := newLeaf(t, 1), newLeaf(t, 2)
		if _, err := store.Bind(ctx, a.ID, owned, "Иванов Иван", "УЦ", "ECDSA"); err != nil {
			t.Fatal(err)
		}
		var checked atomic.Int32
		h, err := New(Deps{Store: store, Accounts: e.Accounts, Sessions: idptest.Sessions{Store: e.Sessions}, Flows: e.Flows,
			Log: e.Log, Now: c.Now, Reauth: session.Reauth{MaxAge: 5 * time.Minute},
			Verifier: verifierOf(e), Notifier: e.Messages, Activity: e.Activity,
			Verify: func(context.Context, []byte, []byte) (*cms.Result, error) {
				checked.Add(1)
				return &cms.Result{Signer: &cms.Signer{Certificate: fresh},
					Subject: cert.Subject{SNILS: "11223344595", CommonName: "Иванов Иван", FamilyName: "Иванов", GivenName: "Иван"}}, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		b := e.Serve(t, h.Routes).Browser()
		b.SignIn(t, a.ID)
		do := func(method, path string, form url.Values) (int, string, string) {
			t.Helper()
			p := b.Form(t, method, path, form)
			return p.Status, p.Location, p.Body
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
		if err := e.Sessions.AddAuthentication(ctx, b.Session(t).ID, []string{"pwd"}, time.Time{}); err != nil {
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
		// «Действия» shows both, by the citizen (the stale attempts wrote
		// nothing).
		entries, err := e.Activity.List(ctx, a.ID, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, en := range entries {
			if en.Actor.Kind == audit.ActorCitizen && en.Actor.ID == a.ID {
				got = append(got, en.Action)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{audit.ActionCertificateLinked, audit.ActionCertificateRemoved}) {
			t.Fatalf("activity log: %v, want the binding and the removal", got)
		}
	})
}
