package account_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/assurance"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

type clock = sqldbtest.Clock

func newKeys(t testing.TB, db *sqldb.DB) *keys.Manager {
	t.Helper()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	mk, err := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	km, err := keys.Open(context.Background(), db, mk, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return km
}

func newStore(t testing.TB, db *sqldb.DB) (*account.Store, *clock) {
	c := sqldbtest.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	return account.NewStore(db, newKeys(t, db), c.Now), c
}

func ivanov() account.New {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	return account.New{
		Name:      account.Name{Family: "Иванов", Given: "Иван", Middle: "Иванович"},
		BirthDate: time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC),
		Gender:    "male",
		SNILS:     "112-233-445 95",
		INN:       "500100732259",
		Passport:  &account.Passport{Series: "4508", Number: "123456", IssueDate: time.Date(2010, 6, 1, 0, 0, 0, 0, time.UTC), Issuer: "ОВД Тверского района г. Москвы", DivisionCode: "772-001"},
		Phone:     account.Contact{Value: "+79123456789", VerifiedAt: now},
		Email:     account.Contact{Value: "Ivan.Ivanov@Mail.RU", VerifiedAt: now},
		// A hash, not a password: the store never sees passwords.
		PasswordHash:   "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
		ConsentVersion: "2026-11",
		ConsentAt:      now,
	}
}

func TestCreateGet(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		n := ivanov()
		a, err := s.Create(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != account.StatusActive || a.Level != assurance.Simplified {
			t.Errorf("new account %v: want active, simplified", a)
		}
		if a.Name != n.Name || !a.BirthDate.Equal(n.BirthDate) || a.SNILS != n.SNILS || a.INN != n.INN || a.Gender != "male" {
			t.Errorf("read back %+v", a)
		}
		if a.Passport == nil || *a.Passport != *n.Passport {
			t.Errorf("passport read back %+v, want %+v", a.Passport, n.Passport)
		}
		if a.Phone.Value != n.Phone.Value || !a.Phone.Verified() || a.Email.Value != n.Email.Value {
			t.Errorf("contacts read back %+v %+v", a.Phone, a.Email)
		}
		// Document numbers and contacts are not stored in clear.
		var snils, pass, phone []byte
		if err := db.QueryRow(ctx, `SELECT snils_enc, passport_enc FROM accounts WHERE id = $1`, a.ID).Scan(&snils, &pass); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(ctx, `SELECT value_enc FROM contacts WHERE account_id = $1 AND kind = 'phone'`, a.ID).Scan(&phone); err != nil {
			t.Fatal(err)
		}
		for _, leak := range []string{"445", "123456", "9123456789"} {
			for _, col := range [][]byte{snils, pass, phone} {
				if bytes.Contains(col, []byte(leak)) {
					t.Fatalf("a sealed column contains %q in clear", leak)
				}
			}
		}
		// Accounts without SNILS do not collide on its unique index.
		for _, phone := range []string{"+79000000001", "+79000000002"} {
			if _, err := s.Create(ctx, account.New{Name: n.Name, Phone: account.Contact{Value: phone}}); err != nil {
				t.Fatalf("account without SNILS: %v", err)
			}
		}
		if _, err := s.Get(ctx, account.NewID()); !errors.Is(err, sqldb.ErrNotFound) {
			t.Errorf("Get unknown: %v, want ErrNotFound", err)
		}
	})
}

func TestFindByLogin(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		a, err := s.Create(ctx, ivanov())
		if err != nil {
			t.Fatal(err)
		}
		// A typed SNILS is a claim and finds nothing; once verified, it does.
		if _, err := s.FindByLogin(ctx, account.SNILS, "112-233-445 95"); !errors.Is(err, sqldb.ErrNotFound) {
			t.Errorf("claimed SNILS found an account: %v", err)
		}
		if _, err := s.VerifySNILS(ctx, a.ID, "112-233-445 95", "qualified_esignature"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ kind, value string }{
			{account.Phone, "+79123456789"},
			{account.Email, "ivan.ivanov@mail.ru"},
			{account.Email, "IVAN.IVANOV@MAIL.RU"},
			{account.SNILS, "112-233-445 95"},
		} {
			got, err := s.FindByLogin(ctx, tc.kind, tc.value)
			if err != nil || got.ID != a.ID {
				t.Errorf("FindByLogin(%s, %s) = %v, %v", tc.kind, tc.value, got, err)
			}
		}
		// An unverified contact is not a login.
		b, err := s.Create(ctx, account.New{Name: account.Name{Family: "Петров", Given: "Пётр"}, Phone: account.Contact{Value: "+79220000000"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindByLogin(ctx, account.Phone, "+79220000000"); !errors.Is(err, sqldb.ErrNotFound) {
			t.Errorf("unverified phone found: %v", err)
		}
		if taken, err := s.Taken(ctx, account.Phone, "+79220000000"); err != nil || taken {
			t.Errorf("Taken(unverified) = %v, %v", taken, err)
		}
		_ = b
	})
}

func TestTaken(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		if _, err := s.Create(ctx, ivanov()); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			kind string
			mod  func(n *account.New)
		}{
			{account.Phone, func(n *account.New) { n.SNILS, n.Email = "", account.Contact{} }},
			{account.Email, func(n *account.New) { n.SNILS, n.Phone = "", account.Contact{} }},
		} {
			n := ivanov()
			tc.mod(&n)
			_, err := s.Create(ctx, n)
			var te *account.TakenError
			if !errors.As(err, &te) || te.Kind != tc.kind {
				t.Errorf("duplicate %s: %v, want TakenError{%s}", tc.kind, err, tc.kind)
			}
		}
		var count int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM accounts`).Scan(&count); err != nil || count != 1 {
			t.Errorf("%d accounts after refused duplicates (err %v), want 1: nothing half-written", count, err)
		}
		// A claimed SNILS is never taken: another citizen may type it too.
		n2 := ivanov()
		n2.Phone, n2.Email = account.Contact{Value: "+79990000000"}, account.Contact{}
		if _, err := s.Create(ctx, n2); err != nil {
			t.Errorf("the same claimed SNILS on a second account: %v", err)
		}
		// The same phone unverified is not taken: registration has not
		// proven it yet.
		n := ivanov()
		n.SNILS, n.Email, n.Phone.VerifiedAt = "", account.Contact{}, time.Time{}
		if _, err := s.Create(ctx, n); err != nil {
			t.Errorf("unverified duplicate phone: %v", err)
		}
	})
}

// TestRacingRegistration: replicas completing registrations of one phone at
// once end with exactly one account.
func TestRacingRegistration(t *testing.T) {
	raceOn := func(t *testing.T, cfg sqldb.Config) {
		ctx := context.Background()
		const n = 8
		stores := make([]*account.Store, n)
		first, err := sqldb.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Close()
		km := newKeys(t, first)
		for i := range stores {
			db, err := sqldb.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			stores[i] = account.NewStore(db, km, time.Now)
		}
		var ok, taken atomic.Int32
		var wg sync.WaitGroup
		for _, s := range stores {
			wg.Go(func() {
				nw := ivanov()
				nw.SNILS, nw.Email = "", account.Contact{}
				_, err := s.Create(ctx, nw)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, account.ErrTaken):
					taken.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 || taken.Load() != n-1 {
			t.Fatalf("%d registrations succeeded and %d were refused as taken; want 1 and %d", ok.Load(), taken.Load(), n-1)
		}
		var count int
		if err := first.QueryRow(ctx, `SELECT count(*) FROM accounts`).Scan(&count); err != nil || count != 1 {
			t.Fatalf("%d accounts (err %v), want 1", count, err)
		}
	}
	t.Run("sqlite", func(t *testing.T) { raceOn(t, sqldb.Config{SQLitePath: sqldbtest.SQLitePath(t)}) })
	t.Run("postgres", func(t *testing.T) { raceOn(t, sqldb.Config{URL: sqldbtest.PostgresURL(t)}) })
}

// TestLockout: failures are counted exactly under concurrency; exactly one
// failure crosses each threshold; a new password clears the lock.
func TestLockout(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clk := newStore(t, db)
		a, err := s.Create(ctx, ivanov())
		if err != nil {
			t.Fatal(err)
		}
		race := func(n int) (locks int32) {
			var wg sync.WaitGroup
			var l atomic.Int32
			for range n {
				wg.Go(func() {
					locked, err := s.RecordFailure(ctx, a.ID, 3, 30*time.Minute)
					if err != nil {
						t.Error(err)
					}
					if locked {
						l.Add(1)
					}
				})
			}
			wg.Wait()
			return l.Load()
		}
		if locks := race(2); locks != 0 {
			t.Fatalf("two failures locked %d times", locks)
		}
		got, _ := s.Get(ctx, a.ID)
		if got.FailedLogins != 2 || got.Locked(clk.Now()) {
			t.Fatalf("after two racing failures: count %d locked %v; want 2, unlocked", got.FailedLogins, got.Locked(clk.Now()))
		}
		if locks := race(7); locks != 3 {
			t.Fatalf("7 more failures (9 in all) crossed the threshold %d times, want 3", locks)
		}
		got, _ = s.Get(ctx, a.ID)
		if got.FailedLogins != 0 || !got.Locked(clk.Now()) || !got.Locked(clk.Now().Add(29*time.Minute)) || got.Locked(clk.Now().Add(31*time.Minute)) {
			t.Fatalf("after 9 failures: count %d, locked until %v; want 0 and locked for 30 minutes", got.FailedLogins, got.LockedUntil)
		}
		if err := s.SetPassword(ctx, a.ID, "$argon2id$new"); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Get(ctx, a.ID)
		if got.Locked(clk.Now()) || got.PasswordHash != "$argon2id$new" {
			t.Fatalf("after SetPassword: locked %v hash %q", got.Locked(clk.Now()), got.PasswordHash)
		}
		if _, err := s.RecordFailure(ctx, account.NewID(), 3, time.Minute); !errors.Is(err, sqldb.ErrNotFound) {
			t.Errorf("RecordFailure on an unknown account: %v, want ErrNotFound", err)
		}
	})
}

func TestEvents(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clk := newStore(t, db)
		a, err := s.Create(ctx, ivanov())
		if err != nil {
			t.Fatal(err)
		}
		for i, kind := range []string{account.EventRegistered, account.EventSignInFailed, account.EventSignIn} {
			clk.Advance(time.Minute)
			if err := s.AddEvent(ctx, account.Event{AccountID: a.ID, Kind: kind, Result: account.ResultOK, Method: "pwd", IP: "127.0.0.1", UserAgent: "test/" + string(rune('a'+i))}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddEvent(ctx, account.Event{Kind: account.EventSignInFailed, Result: account.ResultFailed}); err != nil {
			t.Fatalf("event for an unknown login: %v", err)
		}
		evs, err := s.Events(ctx, a.ID, time.Time{}, 10)
		if err != nil || len(evs) != 3 || evs[0].Kind != account.EventSignIn || evs[2].Kind != account.EventRegistered {
			t.Fatalf("Events = %+v, %v; want the three, newest first", evs, err)
		}
		if err := s.Delete(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		var orphans int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM account_events WHERE account_id IS NULL`).Scan(&orphans); err != nil || orphans != 4 {
			t.Fatalf("after deleting the account, %d events without account (err %v), want 4", orphans, err)
		}
	})
}
