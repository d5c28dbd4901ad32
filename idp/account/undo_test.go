package account_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// change replaces a's phone with value as the account centre does: the
// contact and the undo link for the previous one in one transaction.
func change(t *testing.T, db *sqldb.DB, s *account.Store, c *clock, id, kind, old, value string) string {
	t.Helper()
	var token string
	err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
		st := s.With(tx)
		if err := st.SetContact(context.Background(), id, kind, value, c.Now()); err != nil {
			return err
		}
		var err error
		token, err = st.OfferUndo(context.Background(), id, kind, old, c.Now().Add(7*24*time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// TestUndoContactChange: the link restores the previous phone, which
// signs in again while the intruder's does not; password sign-in is
// suspended until SetPassword; the link works once, is stored only as a
// hash and the old value only sealed.
func TestUndoContactChange(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := newStore(t, db)
		a, err := s.Create(ctx, ivanov())
		if err != nil {
			t.Fatal(err)
		}
		token := change(t, db, s, c, a.ID, account.Phone, a.Phone.Value, "+79990001122")

		var stored, enc []byte
		if err := db.QueryRow(ctx, `SELECT token_hash, old_value_enc FROM contact_undos`).Scan(&stored, &enc); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(stored, []byte(token)) || bytes.Contains(enc, []byte(a.Phone.Value)) || bytes.Contains(enc, []byte("79123456789")) {
			t.Fatal("the token or the previous phone is stored in clear")
		}

		u, err := s.Undo(ctx, token)
		if err != nil || u.AccountID != a.ID || u.Kind != account.Phone || u.OldValue != a.Phone.Value || u.Taken {
			t.Fatalf("Undo: %+v %v", u, err)
		}
		c.Advance(time.Hour)
		if _, err := s.UndoContactChange(ctx, token, false); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindByLogin(ctx, account.Phone, a.Phone.Value)
		if err != nil || got.ID != a.ID || !got.Phone.Verified() {
			t.Fatalf("the previous phone does not sign in: %v", err)
		}
		if _, err := s.FindByLogin(ctx, account.Phone, "+79990001122"); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("the intruder's phone still signs in: %v", err)
		}
		if !got.PasswordSuspended() || !got.PasswordSuspendedAt.Equal(c.Now().Truncate(time.Microsecond)) {
			t.Fatalf("password sign-in not suspended: %v", got.PasswordSuspendedAt)
		}
		for _, tok := range []string{token, "junk", ""} {
			if _, err := s.Undo(ctx, tok); !errors.Is(err, sqldb.ErrNotFound) {
				t.Errorf("Undo(%q) after use: %v, want ErrNotFound", tok, err)
			}
			if _, err := s.UndoContactChange(ctx, tok, false); !errors.Is(err, sqldb.ErrNotFound) {
				t.Errorf("second UndoContactChange(%q): %v, want ErrNotFound", tok, err)
			}
		}

		// A new password ends the suspension (recovery, change, reset).
		if err := s.SetPassword(ctx, a.ID, "$argon2id$new"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, a.ID); got.PasswordSuspended() {
			t.Fatal("SetPassword left password sign-in suspended")
		}
	})
}

// TestUndoExpiresAndRaces: a link expires after its time; two clicks racing
// (two replicas) act once.
func TestUndoExpiresAndRaces(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := newStore(t, db)
		a, err := s.Create(ctx, ivanov())
		if err != nil {
			t.Fatal(err)
		}
		old := change(t, db, s, c, a.ID, account.Email, a.Email.Value, "intruder@example.org")
		c.Advance(7*24*time.Hour - time.Second)
		if _, err := s.Undo(ctx, old); err != nil {
			t.Fatalf("a link 1 s before its expiry: %v", err)
		}
		c.Advance(time.Second)
		if _, err := s.Undo(ctx, old); !errors.Is(err, sqldb.ErrExpired) {
			t.Fatalf("a link after 7 days: %v, want ErrExpired", err)
		}
		if _, err := s.UndoContactChange(ctx, old, false); !errors.Is(err, sqldb.ErrExpired) {
			t.Fatalf("acting on an expired link: %v", err)
		}
		if got, _ := s.Get(ctx, a.ID); got.Email.Value != "intruder@example.org" || got.PasswordSuspended() {
			t.Fatal("an expired link changed the account")
		}
		if n, err := s.SweepUndos(ctx); err != nil || n != 0 {
			t.Fatalf("sweep at the expiry instant: %d %v", n, err)
		}
		c.Advance(time.Microsecond)
		if n, err := s.SweepUndos(ctx); err != nil || n != 1 {
			t.Fatalf("sweep after expiry: %d %v", n, err)
		}

		token := change(t, db, s, c, a.ID, account.Email, "intruder@example.org", "other@example.org")
		var ok, spent atomic.Int32
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.UndoContactChange(ctx, token, false)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, sqldb.ErrNotFound):
					spent.Add(1)
				default:
					t.Errorf("racing undo: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("%d racing clicks acted, %d found it spent", ok.Load(), spent.Load())
		}
	})
}

// TestUndoChain: an intruder changes the e-mail twice. Undoing the first
// change restores the owner's e-mail and spends the link of the second
// (it went to the intruder); undoing the second first leaves the owner's
// link usable, so the first owner always gets back.
func TestUndoChain(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := newStore(t, db)
		a, err := s.Create(ctx, ivanov())
		if err != nil {
			t.Fatal(err)
		}
		owners := change(t, db, s, c, a.ID, account.Email, a.Email.Value, "b@example.org")
		c.Advance(time.Second)
		intruders := change(t, db, s, c, a.ID, account.Email, "b@example.org", "c@example.org")
		c.Advance(time.Second)
		phone := change(t, db, s, c, a.ID, account.Phone, a.Phone.Value, "+79990001123")

		if _, err := s.UndoContactChange(ctx, intruders, false); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, a.ID); got.Email.Value != "b@example.org" {
			t.Fatalf("after the intruder's undo: %q", got.Email.Value)
		}
		if _, err := s.UndoContactChange(ctx, owners, false); err != nil {
			t.Fatalf("the owner's earlier link after the intruder's: %v", err)
		}
		if got, _ := s.Get(ctx, a.ID); got.Email.Value != a.Email.Value {
			t.Fatalf("after the owner's undo: %q", got.Email.Value)
		}
		// The phone's link is another contact's: still usable.
		if _, err := s.Undo(ctx, phone); err != nil {
			t.Fatalf("undoing the e-mail spent the phone's link: %v", err)
		}

		// Again in the other order.
		owners = change(t, db, s, c, a.ID, account.Email, a.Email.Value, "d@example.org")
		c.Advance(time.Second)
		intruders = change(t, db, s, c, a.ID, account.Email, "d@example.org", "e@example.org")
		if _, err := s.UndoContactChange(ctx, owners, false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UndoContactChange(ctx, intruders, false); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("a later change's link after the earlier was undone: %v, want ErrNotFound", err)
		}
		if got, _ := s.Get(ctx, a.ID); got.Email.Value != a.Email.Value {
			t.Fatalf("e-mail %q, want the owner's", got.Email.Value)
		}
	})
}

// TestUndoTaken: when another account has verified the previous phone
// meanwhile, it is not restored (nor stolen from that account), but the
// rest of the undo applies; acting on a stale reading changes nothing.
func TestUndoTaken(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := newStore(t, db)
		a, err := s.Create(ctx, ivanov())
		if err != nil {
			t.Fatal(err)
		}
		token := change(t, db, s, c, a.ID, account.Phone, a.Phone.Value, "+79990001124")
		other, err := s.Create(ctx, account.New{Name: account.Name{Family: "Петров", Given: "Пётр"},
			Phone: account.Contact{Value: a.Phone.Value, VerifiedAt: c.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.Undo(ctx, token)
		if err != nil || !u.Taken {
			t.Fatalf("Undo: %+v %v, want Taken", u, err)
		}
		if _, err := s.UndoContactChange(ctx, token, false); !errors.Is(err, account.ErrUndoChanged) {
			t.Fatalf("acting on a stale reading: %v, want ErrUndoChanged", err)
		}
		if got, _ := s.Get(ctx, a.ID); got.PasswordSuspended() {
			t.Fatal("a refused undo suspended the password")
		}
		if _, err := s.UndoContactChange(ctx, token, true); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Get(ctx, a.ID)
		if got.Phone.Value != "+79990001124" || !got.PasswordSuspended() {
			t.Fatalf("after the undo: phone %q suspended %v", got.Phone.Value, got.PasswordSuspended())
		}
		if owner, err := s.FindByLogin(ctx, account.Phone, a.Phone.Value); err != nil || owner.ID != other.ID {
			t.Fatalf("the other account lost its phone: %v", err)
		}
	})
}
