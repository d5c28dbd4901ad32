package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/assurance"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestPendingChange(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		a, err := s.Create(ctx, ivanov())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetLevel(ctx, a.ID, assurance.Simplified, assurance.Standard); err != nil {
			t.Fatal(err)
		}
		newName := &account.Name{Family: "Петрова", Given: "Анна"}
		p := &account.PersonChange{Name: newName, SNILS: "123-456-789 64", RequestedAt: time.Now().UTC().Truncate(time.Second)}
		if err := s.SetPending(ctx, a.ID, p); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != a.Name || got.SNILS != a.SNILS {
			t.Errorf("verified values changed while the change waits: %+v %s", got.Name, got.SNILS)
		}
		if got.Pending == nil || *got.Pending.Name != *newName || got.Pending.SNILS != p.SNILS {
			t.Fatalf("pending read back %+v", got.Pending)
		}
		// Another account with the new SNILS verified: applying refuses,
		// nothing changes.
		other := ivanov()
		other.SNILS, other.Phone, other.Email = "123-456-789 64", account.Contact{Value: "+79990000000"}, account.Contact{}
		o, err := s.Create(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifySNILS(ctx, o.ID, other.SNILS, "registry"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyPending(ctx, a.ID, "registry"); !errors.Is(err, account.ErrTaken) {
			t.Fatalf("apply with a taken SNILS: %v, want ErrTaken", err)
		}
		if got, _ := s.Get(ctx, a.ID); got.Pending == nil || got.Name != a.Name {
			t.Errorf("a refused apply changed the account: %+v pending %v", got.Name, got.Pending)
		}
		p.SNILS = ""
		if err := s.SetPending(ctx, a.ID, p); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyPending(ctx, a.ID, "registry"); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Get(ctx, a.ID)
		if got.Name != *newName || got.Pending != nil || got.SNILS != a.SNILS {
			t.Errorf("after apply: %+v pending %v snils %s", got.Name, got.Pending, got.SNILS)
		}
		// A verified change of SNILS makes the new SNILS the verified one.
		if err := s.SetPending(ctx, a.ID, &account.PersonChange{SNILS: "111-111-111 45", RequestedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyPending(ctx, a.ID, "registry"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, a.ID); got.SNILS != "111-111-111 45" || !got.SNILSVerified() || got.SNILSVerifiedBy != "registry" {
			t.Errorf("after a verified SNILS change: %s verified=%v by %q", got.SNILS, got.SNILSVerified(), got.SNILSVerifiedBy)
		}
	})
}

func TestSetContact(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := newStore(t, db)
		a, err := s.Create(ctx, ivanov())
		if err != nil {
			t.Fatal(err)
		}
		other := ivanov()
		other.SNILS, other.Phone, other.Email = "", account.Contact{Value: "+79990000000", VerifiedAt: c.Now()}, account.Contact{}
		if _, err := s.Create(ctx, other); err != nil {
			t.Fatal(err)
		}
		var te *account.TakenError
		if err := s.SetContact(ctx, a.ID, account.Phone, "+79990000000", c.Now()); !errors.As(err, &te) || te.Kind != account.Phone {
			t.Fatalf("a phone of another account: %v, want TakenError(phone)", err)
		}
		if got, _ := s.Get(ctx, a.ID); got.Phone.Value != "+79123456789" {
			t.Errorf("refused change lost the old phone: %q", got.Phone.Value)
		}
		if err := s.SetContact(ctx, a.ID, account.Phone, "+79161112233", c.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindByLogin(ctx, account.Phone, "+79123456789"); !errors.Is(err, sqldb.ErrNotFound) {
			t.Errorf("old phone still finds the account: %v", err)
		}
		if got, err := s.FindByLogin(ctx, account.Phone, "+79161112233"); err != nil || got.ID != a.ID {
			t.Errorf("new phone: %v %v", got, err)
		}
	})
}

func TestSettingsDeletionDevices(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := newStore(t, db)
		a, err := s.Create(ctx, ivanov())
		if err != nil {
			t.Fatal(err)
		}
		if !a.NotifyNewDevice || a.IdleTimeout != 0 {
			t.Errorf("defaults: notify %v idle %v, want true, 0", a.NotifyNewDevice, a.IdleTimeout)
		}
		if err := s.SetSettings(ctx, a.ID, account.Settings{NotifyNewDevice: false, IdleTimeout: 15 * time.Minute}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, a.ID); got.NotifyNewDevice || got.IdleTimeout != 15*time.Minute {
			t.Errorf("settings read back: %v %v", got.NotifyNewDevice, got.IdleTimeout)
		}

		// Devices: the first is the baseline, a second is new, then known.
		for i, want := range []bool{false, true, false, false} {
			dev := []byte("device-1")
			if i >= 1 {
				dev = []byte("device-2")
			}
			if i == 3 {
				dev = []byte("device-1")
			}
			isNew, err := s.SeenDevice(ctx, a.ID, dev, "Chrome")
			if err != nil || isNew != want {
				t.Errorf("sign-in %d: new %v (%v), want %v", i, isNew, err, want)
			}
		}

		// Deletion: requested, cancelled, requested again, erased when due.
		due := c.Now().Add(30 * 24 * time.Hour)
		if err := s.RequestDeletion(ctx, a.ID, due); err != nil {
			t.Fatal(err)
		}
		if ids, _ := s.DueForErasure(ctx, c.Now(), 10); len(ids) != 0 {
			t.Errorf("due before the grace period ended: %v", ids)
		}
		if ok, err := s.CancelDeletion(ctx, a.ID); !ok || err != nil {
			t.Errorf("cancel: %v %v", ok, err)
		}
		if ok, _ := s.CancelDeletion(ctx, a.ID); ok {
			t.Error("second cancel reported a pending deletion")
		}
		if err := s.Erase(ctx, a.ID, due); !errors.Is(err, sqldb.ErrConflict) {
			t.Errorf("erase after cancel: %v, want ErrConflict", err)
		}
		if err := s.AddEvent(ctx, account.Event{AccountID: a.ID, Kind: account.EventSignIn, Result: account.ResultOK, IP: "203.0.113.5", UserAgent: "Chrome", Flags: account.FlagNewDevice}); err != nil {
			t.Fatal(err)
		}
		if err := s.RequestDeletion(ctx, a.ID, due); err != nil {
			t.Fatal(err)
		}
		c.Advance(31 * 24 * time.Hour)
		ids, err := s.DueForErasure(ctx, c.Now(), 10)
		if err != nil || len(ids) != 1 || ids[0] != a.ID {
			t.Fatalf("due: %v %v", ids, err)
		}
		if err := s.Erase(ctx, a.ID, c.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, a.ID); !errors.Is(err, sqldb.ErrNotFound) {
			t.Errorf("erased account still readable: %v", err)
		}
		var left int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM account_events WHERE ip <> '' OR user_agent <> '' OR account_id IS NOT NULL`).Scan(&left); err != nil || left != 0 {
			t.Errorf("events keep %d rows with network details or a link (%v)", left, err)
		}
	})
}
