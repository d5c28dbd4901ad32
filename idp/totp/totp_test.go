package totp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	pqtotp "github.com/pquerna/otp/totp"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

var start = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func newMasterKey(t testing.TB) *keys.MasterKey {
	t.Helper()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	mk, err := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	return mk
}

func openKeys(t testing.TB, db *sqldb.DB, mk *keys.MasterKey) *keys.Manager {
	t.Helper()
	km, err := keys.Open(context.Background(), db, mk, keys.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return km
}

func newStore(t testing.TB, db *sqldb.DB) (*Store, *sqldbtest.Clock) {
	t.Helper()
	c := sqldbtest.NewClock(start)
	return NewStore(db, openKeys(t, db, newMasterKey(t)), c.Now), c
}

// newAccount inserts a bare account row and returns its id.
func newAccount(t testing.TB, db *sqldb.DB) string {
	t.Helper()
	id := account.NewID()
	_, err := db.Exec(context.Background(), `INSERT INTO accounts (id, family_name, given_name, created_at, updated_at)
		VALUES ($1, 'Иванов', 'Иван', 1, 1)`, id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// code is the authenticator app's code at t, computed by pquerna/otp (so
// it also checks this package's HOTP against another implementation).
func code(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := pqtotp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrolled returns an account with a confirmed secret; the clock has moved
// past the confirming step.
func enrolled(t testing.TB, s *Store, db *sqldb.DB, c *sqldbtest.Clock) (id, secret string) {
	t.Helper()
	ctx := context.Background()
	id = newAccount(t, db)
	e, err := s.Begin(ctx, id, "+7 *** ***-**-89")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Confirm(ctx, id, code(t, e.Secret, c.Now())); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	c.Advance(5 * Period)
	return id, e.Secret
}

func want(t *testing.T, what string, got, want error) {
	t.Helper()
	if want == nil && got != nil || want != nil && !errors.Is(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func TestEnrolConfirmVerify(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := newStore(t, db)
		id := newAccount(t, db)

		want(t, "Verify before enrolment", s.Verify(ctx, id, "123456"), ErrNotEnrolled)
		want(t, "Confirm before Begin", s.Confirm(ctx, id, "123456"), ErrNotEnrolled)

		e, err := s.Begin(ctx, id, "+7 *** ***-**-89")
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Secret) != 32 {
			t.Errorf("secret %d characters, want 32 (160 bits base32)", len(e.Secret))
		}
		u, err := url.Parse(e.URL)
		if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
			t.Fatalf("URL %q", e.URL)
		}
		q := u.Query()
		if q.Get("issuer") != "Gosid" || q.Get("secret") != e.Secret || q.Get("period") != "30" || q.Get("digits") != "6" {
			t.Errorf("URL query %v", q)
		}
		if !strings.HasPrefix(u.Path, "/Gosid:+7 *** ***-**-89") {
			t.Errorf("URL label %q", u.Path)
		}
		img, err := png.Decode(bytes.NewReader(e.PNG))
		if err != nil {
			t.Fatalf("PNG: %v", err)
		}
		if b := img.Bounds(); b.Dx() != QRSize || b.Dy() != QRSize {
			t.Errorf("QR code %v, want %d px square", b, QRSize)
		}

		// Pending is not active.
		if on, err := s.Enabled(ctx, id); err != nil || on {
			t.Fatalf("Enabled while pending = %v, %v", on, err)
		}
		want(t, "Verify while pending", s.Verify(ctx, id, code(t, e.Secret, c.Now())), ErrNotEnrolled)

		want(t, "Confirm with a wrong code", s.Confirm(ctx, id, wrong(code(t, e.Secret, c.Now()))), ErrWrongCode)
		first := code(t, e.Secret, c.Now())
		want(t, "Confirm", s.Confirm(ctx, id, first), nil)
		if on, err := s.Enabled(ctx, id); err != nil || !on {
			t.Fatalf("Enabled after Confirm = %v, %v", on, err)
		}
		want(t, "Confirm again", s.Confirm(ctx, id, first), ErrNotEnrolled)
		// The confirming code's step is used up.
		want(t, "Verify with the confirming code", s.Verify(ctx, id, first), ErrReplayed)

		c.Advance(Period)
		next := code(t, e.Secret, c.Now())
		want(t, "Verify", s.Verify(ctx, id, next), nil)
		want(t, "Verify the same code again", s.Verify(ctx, id, next), ErrReplayed)
		want(t, "Verify a wrong code", s.Verify(ctx, id, wrong(code(t, e.Secret, c.Now().Add(Period)))), ErrWrongCode)

		c.Advance(Period)
		want(t, "Verify the next step", s.Verify(ctx, id, code(t, e.Secret, c.Now())), nil)

		want(t, "Remove", s.Remove(ctx, id), nil)
		if on, err := s.Enabled(ctx, id); err != nil || on {
			t.Fatalf("Enabled after Remove = %v, %v", on, err)
		}
		c.Advance(Period)
		want(t, "Verify after Remove", s.Verify(ctx, id, code(t, e.Secret, c.Now())), ErrNotEnrolled)
		want(t, "Remove again", s.Remove(ctx, id), nil)
	})
}

// wrong returns a six-digit code different from c.
func wrong(c string) string {
	b := []byte(c)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

func TestSkew(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := newStore(t, db)
		id, secret := enrolled(t, s, db, c)
		for _, tc := range []struct {
			steps int
			err   error
		}{{-2, ErrWrongCode}, {-1, nil}, {0, nil}, {1, nil}, {2, ErrWrongCode}, {-3, ErrWrongCode}, {3, ErrWrongCode}} {
			c.Advance(10 * Period)
			// Anywhere inside the step.
			c.Advance(Period / 3)
			at := c.Now().Add(time.Duration(tc.steps) * Period)
			want(t, fmt.Sprintf("a code %+d steps away", tc.steps), s.Verify(ctx, id, code(t, secret, at)), tc.err)
		}
	})
}

func TestReplay(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := newStore(t, db)
		id, secret := enrolled(t, s, db, c)

		now := code(t, secret, c.Now())
		ahead := code(t, secret, c.Now().Add(Period))
		behind := code(t, secret, c.Now().Add(-Period))
		want(t, "a code one step ahead", s.Verify(ctx, id, ahead), nil)
		want(t, "the current code after a later one", s.Verify(ctx, id, now), ErrReplayed)
		want(t, "the previous code after a later one", s.Verify(ctx, id, behind), ErrReplayed)
		want(t, "the same code again", s.Verify(ctx, id, ahead), ErrReplayed)

		// Still refused when the clock has moved on but the step is
		// within the window.
		c.Advance(Period)
		want(t, "the used code one step later", s.Verify(ctx, id, ahead), ErrReplayed)
		c.Advance(Period)
		want(t, "a fresh step", s.Verify(ctx, id, code(t, secret, c.Now())), nil)
	})
}

func TestMalformedCodes(t *testing.T) {
	// A nil store proves no database is touched.
	var s Store
	for _, in := range []string{"", "12345", "1234567", "12a456", " 123456", "123456 ", "123 456", "１２３４５６", "-12345", "12345\x00"} {
		if err := s.Verify(context.Background(), "x", in); !errors.Is(err, ErrWrongCode) {
			t.Errorf("Verify(%q) = %v, want ErrWrongCode", in, err)
		}
		if err := s.Confirm(context.Background(), "x", in); !errors.Is(err, ErrWrongCode) {
			t.Errorf("Confirm(%q) = %v, want ErrWrongCode", in, err)
		}
	}
}

func TestReEnrol(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := newStore(t, db)
		id, old := enrolled(t, s, db, c)

		e1, err := s.Begin(ctx, id, "i***@mail.ru")
		if err != nil {
			t.Fatal(err)
		}
		e2, err := s.Begin(ctx, id, "i***@mail.ru")
		if err != nil {
			t.Fatal(err)
		}
		if e1.Secret == e2.Secret {
			t.Fatal("Begin repeated a secret")
		}
		// The active secret stays in force while a new one is pending.
		want(t, "Verify the old secret while re-enrolling", s.Verify(ctx, id, code(t, old, c.Now())), nil)
		c.Advance(Period)
		// The second Begin replaced the first pending secret.
		want(t, "Confirm the replaced pending secret", s.Confirm(ctx, id, code(t, e1.Secret, c.Now())), ErrWrongCode)
		want(t, "Confirm", s.Confirm(ctx, id, code(t, e2.Secret, c.Now())), nil)
		c.Advance(Period)
		want(t, "the old secret after re-enrolment", s.Verify(ctx, id, code(t, old, c.Now())), ErrWrongCode)
		want(t, "the new secret", s.Verify(ctx, id, code(t, e2.Secret, c.Now())), nil)
	})
}

func TestPendingExpires(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := newStore(t, db)
		id := newAccount(t, db)
		e, err := s.Begin(ctx, id, "label")
		if err != nil {
			t.Fatal(err)
		}
		c.Advance(PendingLifetime + time.Second)
		err = s.Confirm(ctx, id, code(t, e.Secret, c.Now()))
		want(t, "Confirm after PendingLifetime", err, ErrNotEnrolled)
		want(t, "Confirm after PendingLifetime", err, sqldb.ErrExpired)
	})
}

func TestUnknownAccount(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newStore(t, db)
		_, err := s.Begin(context.Background(), account.NewID(), "label")
		want(t, "Begin for an unknown account", err, sqldb.ErrNotFound)
		if _, err := s.Begin(context.Background(), newAccount(t, db), ""); err == nil {
			t.Fatal("Begin accepted an empty label")
		}
	})
}

func TestAccountDeletionCascades(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := newStore(t, db)
		id, _ := enrolled(t, s, db, c)
		if _, err := db.Exec(ctx, `DELETE FROM accounts WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM totp_secrets`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("rows left after deleting the account: %d, %v", n, err)
		}
	})
}

func TestSecretSealed(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := newStore(t, db)
		id := newAccount(t, db)
		e, err := s.Begin(ctx, id, "label")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
		if err != nil {
			t.Fatal(err)
		}
		check := func(column string) {
			t.Helper()
			var blob []byte
			if err := db.QueryRow(ctx, `SELECT `+column+` FROM totp_secrets WHERE account_id = $1`, id).Scan(&blob); err != nil {
				t.Fatal(err)
			}
			if len(blob) == 0 {
				t.Fatalf("%s empty", column)
			}
			for _, needle := range [][]byte{[]byte(e.Secret), []byte(strings.ToLower(e.Secret)), raw} {
				if bytes.Contains(blob, needle) {
					t.Fatalf("%s holds the secret in clear", column)
				}
			}
		}
		check("pending_enc")
		if err := s.Confirm(ctx, id, code(t, e.Secret, c.Now())); err != nil {
			t.Fatal(err)
		}
		check("secret_enc")
	})
}

func TestSealedSecretBoundToAccount(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := newStore(t, db)
		alice, aliceSecret := enrolled(t, s, db, c)
		bob, _ := enrolled(t, s, db, c)
		// An attacker with write access to the table copies Alice's
		// sealed secret (whose codes she knows) into Bob's row.
		if _, err := db.Exec(ctx, `UPDATE totp_secrets SET secret_enc = (SELECT secret_enc FROM totp_secrets WHERE account_id = $1)
			WHERE account_id = $2`, alice, bob); err != nil {
			t.Fatal(err)
		}
		err := s.Verify(ctx, bob, code(t, aliceSecret, c.Now()))
		if err == nil || errors.Is(err, ErrWrongCode) || !errors.Is(err, keys.ErrCorrupt) {
			t.Fatalf("Verify with a moved secret = %v, want a keys.ErrCorrupt failure", err)
		}
		want(t, "Alice's own secret", s.Verify(ctx, alice, code(t, aliceSecret, c.Now())), nil)
	})
}

// replicas returns two handles on one fresh database, as two replicas
// would have, each with its own key manager.
func replicas(t *testing.T, dialect sqldb.Dialect) (*sqldb.DB, *sqldb.DB) {
	var cfg sqldb.Config
	if dialect == sqldb.Postgres {
		cfg.URL = sqldbtest.PostgresURL(t)
	} else {
		cfg.SQLitePath = sqldbtest.SQLitePath(t)
	}
	open := func() *sqldb.DB {
		db, err := sqldb.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	return open(), open()
}

func TestReplayAcrossReplicas(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			db1, db2 := replicas(t, dialect)
			mk := newMasterKey(t)
			c := sqldbtest.NewClock(start)
			s1 := NewStore(db1, openKeys(t, db1, mk), c.Now)
			s2 := NewStore(db2, openKeys(t, db2, mk), c.Now)
			id, secret := enrolled(t, s1, db1, c)

			const rounds, perReplica = 10, 8
			for round := range rounds {
				c.Advance(Period)
				cd := code(t, secret, c.Now())
				errs := make(chan error, 2*perReplica)
				var wg sync.WaitGroup
				gate := make(chan struct{})
				for i := range 2 * perReplica {
					s := s1
					if i%2 == 1 {
						s = s2
					}
					wg.Go(func() {
						<-gate
						errs <- s.Verify(ctx, id, cd)
					})
				}
				close(gate)
				wg.Wait()
				close(errs)
				ok := 0
				for err := range errs {
					switch {
					case err == nil:
						ok++
					case errors.Is(err, ErrReplayed):
					default:
						t.Fatalf("round %d: %v", round, err)
					}
				}
				if ok != 1 {
					t.Fatalf("round %d: %d of %d racing uses of one code succeeded, want exactly 1", round, ok, 2*perReplica)
				}
			}
		})
	}
}

func TestHOTPVectors(t *testing.T) {
	// RFC 4226 appendix D.
	secret := []byte("12345678901234567890")
	for i, w := range []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"} {
		if got := hotp(secret, uint64(i)); string(got[:]) != w {
			t.Errorf("hotp(%d) = %s, want %s", i, got[:], w)
		}
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"123456", "000000", "999999", "12345", "1234567", "12a456", " 12345", "１２３４５６", "", "\xff\xff\xff\xff\xff\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, ok := parseCode(in)
		valid := len(in) == Digits
		for i := 0; valid && i < len(in); i++ {
			valid = in[i] >= '0' && in[i] <= '9'
		}
		if ok != valid {
			t.Fatalf("parseCode(%q) ok = %v, want %v", in, ok, valid)
		}
		if ok && string(c[:]) != in {
			t.Fatalf("parseCode(%q) = %q", in, c[:])
		}
	})
}

// BenchmarkVerify measures whole verifications on SQLite: the row read,
// opening the sealed secret, three HMACs and the compare-and-swap UPDATE.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	db := sqldbtest.SQLite(b)
	s, c := newStore(b, db)
	id, secret := enrolled(b, s, db, c)
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		b.Fatal(err)
	}
	// Every iteration uses the next step, so every one succeeds; the codes
	// are computed before the timer starts.
	first := stepAt(c.Now()) + 1
	codes := make([]string, b.N)
	for i := range codes {
		cd := hotp(raw, uint64(first+int64(i)))
		codes[i] = string(cd[:])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c.Set(time.Unix((first+int64(i))*30, 0))
		if err := s.Verify(ctx, id, codes[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}

// BenchmarkVerifyCrypto is Verify without the database: parsing, opening
// the sealed secret and comparing with the three steps' codes.
func BenchmarkVerifyCrypto(b *testing.B) {
	ctx := context.Background()
	db := sqldbtest.SQLite(b)
	km := openKeys(b, db, newMasterKey(b))
	raw := make([]byte, SecretSize)
	_, _ = rand.Read(raw)
	sealed, err := km.Seal(raw, aad("acc"))
	if err != nil {
		b.Fatal(err)
	}
	step := stepAt(start)
	cd := hotp(raw, uint64(step))
	in := string(cd[:])
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c, ok := parseCode(in)
		if !ok {
			b.Fatal("parse")
		}
		secret, err := km.Open(ctx, sealed, aad("acc"))
		if err != nil {
			b.Fatal(err)
		}
		if got, ok := match(secret, c, step); !ok || got != step {
			b.Fatal("no match")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}
