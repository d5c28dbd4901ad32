package esign

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestStore is the e-signature store's conformance suite, on both
// dialects, over the real key manager (the certificates are sealed).
func TestStore(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := idptest.NewEnv(t, db, idptest.Options{Keys: true})
		s := NewStore(db, e.Keys, e.Clock.Now)
		ctx := context.Background()
		list := func(t *testing.T, id string) []Certificate {
			t.Helper()
			l, err := s.List(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		fps := func(l []Certificate) [][]byte {
			var out [][]byte
			for _, c := range l {
				out = append(out, c.Fingerprint)
			}
			return out
		}
		same := func(a, b [][]byte) bool {
			if len(a) != len(b) {
				return false
			}
			for i := range a {
				if !bytes.Equal(a[i], b[i]) {
					return false
				}
			}
			return true
		}

		t.Run("bind, list, use again", func(t *testing.T) {
			a := e.Citizen(t, "")
			first, second := newLeaf(t, 10), newLeaf(t, 11)
			linked := e.Clock.Now()
			if created, err := s.Bind(ctx, a.ID, first, "Иванов Иван", "УЦ «Тест»", "ECDSA"); err != nil || !created {
				t.Fatalf("first binding: %v %v", created, err)
			}
			e.Clock.Advance(time.Minute)
			if created, err := s.Bind(ctx, a.ID, second, "Иванов Иван", "УЦ «Тест»", "ECDSA"); err != nil || !created {
				t.Fatalf("second binding: %v %v", created, err)
			}
			l := list(t, a.ID)
			if !same(fps(l), [][]byte{Fingerprint(second), Fingerprint(first)}) {
				t.Fatal("not newest binding first")
			}
			c := l[1]
			if c.AccountID != a.ID || c.Subject != "Иванов Иван" || c.Issuer != "УЦ «Тест»" || c.Serial != "A" || c.Algorithm != "ECDSA" ||
				!c.NotBefore.Equal(first.NotBefore) || !c.NotAfter.Equal(first.NotAfter) || !c.LinkedAt.Equal(linked) || !c.LastUsedAt.Equal(linked) ||
				!bytes.Equal(c.Cert.Raw, first.Raw) {
				t.Fatalf("stored certificate: %+v", c)
			}
			// Signing in with it again records the use; still one row.
			e.Clock.Advance(time.Hour)
			if created, err := s.Bind(ctx, a.ID, first, "Иванов Иван", "УЦ «Тест»", "ECDSA"); err != nil || created {
				t.Fatalf("binding again: %v %v", created, err)
			}
			l = list(t, a.ID)
			if len(l) != 2 || !l[1].LinkedAt.Equal(linked) || !l[1].LastUsedAt.Equal(e.Clock.Now()) {
				t.Fatalf("after a use: %d certificates, linked %v used %v", len(l), l[1].LinkedAt, l[1].LastUsedAt)
			}
		})

		t.Run("expired certificate", func(t *testing.T) {
			// The store keeps what the verifier accepted; validity is shown,
			// not judged, here: an expired certificate lists with its dates.
			a := e.Citizen(t, "")
			old := newLeafValid(t, 12, e.Clock.Now().AddDate(-3, 0, 0), e.Clock.Now().AddDate(-1, 0, 0))
			if _, err := s.Bind(ctx, a.ID, old, "Иванов Иван", "УЦ", "ECDSA"); err != nil {
				t.Fatal(err)
			}
			if l := list(t, a.ID); len(l) != 1 || !l[0].NotAfter.Equal(old.NotAfter) || !l[0].NotAfter.Before(e.Clock.Now()) {
				t.Fatalf("expired certificate: %+v", l)
			}
		})

		t.Run("other account's certificate", func(t *testing.T) {
			a, b := e.Citizen(t, ""), e.Citizen(t, "")
			c := newLeaf(t, 20)
			if _, err := s.Bind(ctx, a.ID, c, "Иванов Иван", "УЦ", "ECDSA"); err != nil {
				t.Fatal(err)
			}
			used := list(t, a.ID)[0].LastUsedAt
			e.Clock.Advance(time.Minute)
			if created, err := s.Bind(ctx, b.ID, c, "Иванов Иван", "УЦ", "ECDSA"); !errors.Is(err, ErrOtherAccount) || created {
				t.Fatalf("binding another account's certificate: %v %v", created, err)
			}
			if len(list(t, b.ID)) != 0 || !list(t, a.ID)[0].LastUsedAt.Equal(used) {
				t.Fatal("a refused binding changed something")
			}
			if err := s.Remove(ctx, b.ID, Fingerprint(c)); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("removing another account's certificate: %v", err)
			}
			if len(list(t, a.ID)) != 1 {
				t.Fatal("another account removed the certificate")
			}
			// Once unbound, the certificate may be bound elsewhere.
			if err := s.Remove(ctx, a.ID, Fingerprint(c)); err != nil {
				t.Fatal(err)
			}
			if err := s.Remove(ctx, a.ID, Fingerprint(c)); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("removing twice: %v", err)
			}
			if created, err := s.Bind(ctx, b.ID, c, "Иванов Иван", "УЦ", "ECDSA"); err != nil || !created {
				t.Fatalf("binding after removal: %v %v", created, err)
			}
		})

		t.Run("race for one certificate", func(t *testing.T) {
			c := newLeaf(t, 30)
			const n = 6
			ids := make([]string, n)
			for i := range ids {
				ids[i] = e.Citizen(t, "").ID
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			won, lost := 0, 0
			for _, id := range ids {
				wg.Go(func() {
					created, err := s.Bind(ctx, id, c, "Иванов Иван", "УЦ", "ECDSA")
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil && created:
						won++
					case errors.Is(err, ErrOtherAccount):
						lost++
					default:
						t.Errorf("racing bind: %v %v", created, err)
					}
				})
			}
			wg.Wait()
			if won != 1 || lost != n-1 {
				t.Fatalf("%d won, %d lost", won, lost)
			}
		})

		t.Run("same account twice at once", func(t *testing.T) {
			// Two tabs sending the same signature: one binds, the other
			// records a use; neither is told the certificate is someone
			// else's.
			for round := range 5 {
				a := e.Citizen(t, "")
				c := newLeaf(t, int64(100+round))
				var wg sync.WaitGroup
				errs := make([]error, 4)
				created := make([]bool, 4)
				for i := range errs {
					wg.Go(func() { created[i], errs[i] = s.Bind(ctx, a.ID, c, "Иванов Иван", "УЦ", "ECDSA") })
				}
				wg.Wait()
				n := 0
				for i, err := range errs {
					if err != nil {
						t.Fatalf("round %d: concurrent bind to the same account: %v", round, err)
					}
					if created[i] {
						n++
					}
				}
				if n != 1 || len(list(t, a.ID)) != 1 {
					t.Fatalf("round %d: %d bindings created", round, n)
				}
			}
		})

		t.Run("sealed", func(t *testing.T) {
			// The DER holds the SNILS: it is sealed, bound to its row.
			a := e.Citizen(t, "")
			c1, c2 := newLeaf(t, 40), newLeaf(t, 41)
			for _, c := range []*x509.Certificate{c1, c2} {
				if _, err := s.Bind(ctx, a.ID, c, "Иванов Иван", "УЦ", "ECDSA"); err != nil {
					t.Fatal(err)
				}
			}
			var enc []byte
			if err := db.QueryRow(ctx, `SELECT der_enc FROM account_certificates WHERE fingerprint = $1`, Fingerprint(c1)).Scan(&enc); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(enc, c1.RawSubject) {
				t.Fatal("the certificate is stored in the clear")
			}
			if _, err := db.Exec(ctx, `UPDATE account_certificates SET der_enc = $1 WHERE fingerprint = $2`, enc, Fingerprint(c2)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.List(ctx, a.ID); err == nil {
				t.Fatal("a sealed certificate moved to another row opened")
			}
		})

		t.Run("erase", func(t *testing.T) {
			a, b := e.Citizen(t, ""), e.Citizen(t, "")
			ca, cb := newLeaf(t, 50), newLeaf(t, 51)
			if _, err := s.Bind(ctx, a.ID, ca, "Иванов Иван", "УЦ", "ECDSA"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Bind(ctx, b.ID, cb, "Иванов Иван", "УЦ", "ECDSA"); err != nil {
				t.Fatal(err)
			}
			if err := e.Accounts.Erase(ctx, a.ID, time.Time{}); err != nil {
				t.Fatal(err)
			}
			if n := e.Count(t, `SELECT count(*) FROM account_certificates WHERE account_id = $1`, a.ID); n != 0 {
				t.Fatalf("%d certificates of an erased account remain", n)
			}
			if len(list(t, b.ID)) != 1 {
				t.Fatal("erasing one account unbound another's certificate")
			}
			// The certificate is free again.
			if created, err := s.Bind(ctx, b.ID, ca, "Иванов Иван", "УЦ", "ECDSA"); err != nil || !created {
				t.Fatalf("binding an erased account's certificate: %v %v", created, err)
			}
		})
	})
}
