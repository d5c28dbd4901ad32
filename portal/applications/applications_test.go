package applications_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal/applications"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// sealer is a reversible stand-in for the portal's sealer that still binds
// a blob to its aad, so a value moved to another row fails.
type sealer struct{}

func (sealer) Seal(p, aad []byte) ([]byte, error) {
	return append(append([]byte(string(aad)+"\x00"), p...), 0), nil
}

func (sealer) Open(_ context.Context, b, aad []byte) ([]byte, error) {
	prefix := string(aad) + "\x00"
	if len(b) < len(prefix)+1 || string(b[:len(prefix)]) != prefix {
		return nil, errors.New("sealed for another row")
	}
	return b[len(prefix) : len(b)-1], nil
}

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC) // a Friday

func TestLifecycle(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		st := applications.NewStore(db, sealer{}, clock.Now)
		a, err := st.CreateDraft(ctx, "citizen-1", "passport-foreign", "mvd", map[string]string{"family_name": "Иванов"})
		if err != nil {
			t.Fatal(err)
		}
		v, err := st.SaveDraft(ctx, "citizen-1", a.ID, a.Version, map[string]string{"family_name": "Иванов", "given_name": "Иван"})
		if err != nil || v != 2 {
			t.Fatalf("SaveDraft: %d, %v", v, err)
		}
		// A stale version (another tab) changes nothing.
		if _, err := st.SaveDraft(ctx, "citizen-1", a.ID, 1, map[string]string{}); !errors.Is(err, applications.ErrConflict) {
			t.Fatalf("stale SaveDraft: %v", err)
		}
		// Another citizen sees nothing: not found, not forbidden.
		for name, fn := range map[string]func() error{
			"Mine":        func() error { _, err := st.Mine(ctx, "citizen-2", a.ID); return err },
			"SaveDraft":   func() error { _, err := st.SaveDraft(ctx, "citizen-2", a.ID, 2, nil); return err },
			"Submit":      func() error { _, err := st.Submit(ctx, "citizen-2", a.ID, 2, 5); return err },
			"DeleteDraft": func() error { return st.DeleteDraft(ctx, "citizen-2", a.ID) },
			"Move": func() error {
				_, err := st.Move(ctx, a.ID, "citizen-2", 2, applications.Received, applications.Cancelled, applications.Actor{Kind: applications.Citizen, ID: "citizen-2"}, "")
				return err
			},
		} {
			if err := fn(); !errors.Is(err, applications.ErrNotFound) {
				t.Errorf("%s of another citizen's application: %v, want ErrNotFound", name, err)
			}
		}
		got, err := st.Mine(ctx, "citizen-1", a.ID)
		if err != nil || got.Values["given_name"] != "Иван" || got.Status != applications.Draft || got.Number != "" {
			t.Fatalf("Mine: %+v, %v", got, err)
		}

		sub, err := st.Submit(ctx, "citizen-1", a.ID, 2, 5)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[1-9]\d{9}$`).MatchString(sub.Number) || sub.Status != applications.Received {
			t.Fatalf("submitted: number %q status %s", sub.Number, sub.Status)
		}
		// Five working days from a Friday: the next Friday.
		if want := t0.AddDate(0, 0, 7); !sub.DueAt.Equal(want) {
			t.Errorf("due %v, want %v", sub.DueAt, want)
		}
		if byNum, err := st.ByNumber(ctx, sub.Number); err != nil || byNum.ID != a.ID {
			t.Fatalf("ByNumber: %v", err)
		}
		// A draft no more: it cannot be edited, submitted again or deleted.
		if _, err := st.SaveDraft(ctx, "citizen-1", a.ID, sub.Version, nil); !errors.Is(err, applications.ErrTransition) {
			t.Errorf("editing a submitted application: %v", err)
		}
		if err := st.DeleteDraft(ctx, "citizen-1", a.ID); !errors.Is(err, applications.ErrTransition) {
			t.Errorf("deleting a submitted application: %v", err)
		}

		officer := applications.Actor{Kind: applications.Officer, ID: "officer-1"}
		citizen := applications.Actor{Kind: applications.Citizen, ID: "citizen-1"}
		// Forged transitions: a citizen approving, an officer skipping review.
		if _, err := st.Move(ctx, a.ID, "", sub.Version, applications.Received, applications.Approved, citizen, ""); !errors.Is(err, applications.ErrTransition) {
			t.Errorf("citizen approving: %v", err)
		}
		if _, err := st.Move(ctx, a.ID, "", sub.Version, applications.Received, applications.Approved, officer, ""); !errors.Is(err, applications.ErrTransition) {
			t.Errorf("approving before review: %v", err)
		}
		// Moving from a status it is not in.
		if _, err := st.Move(ctx, a.ID, "", sub.Version, applications.InReview, applications.Approved, officer, ""); !errors.Is(err, applications.ErrTransition) {
			t.Errorf("approving what is not in review: %v", err)
		}
		clock.Advance(time.Hour)
		taken, err := st.Move(ctx, a.ID, "", sub.Version, applications.Received, applications.InReview, officer, "")
		if err != nil || taken.Officer != "officer-1" {
			t.Fatalf("take into work: %+v, %v", taken, err)
		}
		// Too late to cancel: review has begun.
		if _, err := st.Move(ctx, a.ID, "citizen-1", taken.Version, applications.InReview, applications.Cancelled, citizen, ""); !errors.Is(err, applications.ErrTransition) {
			t.Errorf("cancelling in review: %v", err)
		}
		asked, err := st.Move(ctx, a.ID, "", taken.Version, applications.InReview, applications.InfoRequested, officer, "Приложите фото 35×45")
		if err != nil {
			t.Fatal(err)
		}
		back, err := st.Move(ctx, a.ID, "citizen-1", asked.Version, applications.InfoRequested, applications.InReview, citizen, "Фото приложено")
		if err != nil {
			t.Fatal(err)
		}
		done, err := st.Move(ctx, a.ID, "", back.Version, applications.InReview, applications.Approved, officer, "Готово")
		if err != nil || done.Status != applications.Approved || !done.Status.Final() {
			t.Fatalf("approve: %+v, %v", done, err)
		}
		hist, err := st.History(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, e := range hist {
			seen = append(seen, fmt.Sprintf("%s/%s/%s", e.Status, e.Actor.Kind, e.Comment))
		}
		want := "[draft/citizen/ received/citizen/ in_review/officer/ info_requested/officer/Приложите фото 35×45 in_review/citizen/Фото приложено approved/officer/Готово]"
		if fmt.Sprint(seen) != want {
			t.Fatalf("history %v\nwant %s", seen, want)
		}

		// Cancelling before review works; a draft can be deleted.
		clock.Advance(time.Minute)
		b, _ := st.CreateDraft(ctx, "citizen-1", "ndfl", "fns", nil)
		b, err = st.Submit(ctx, "citizen-1", b.ID, b.Version, 1)
		if err != nil {
			t.Fatal(err)
		}
		if c, err := st.Move(ctx, b.ID, "citizen-1", b.Version, applications.Received, applications.Cancelled, citizen, ""); err != nil || c.Status != applications.Cancelled {
			t.Fatalf("cancel before review: %v", err)
		}
		d, _ := st.CreateDraft(ctx, "citizen-1", "egrn", "rosreestr", nil)
		if err := st.DeleteDraft(ctx, "citizen-1", d.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Mine(ctx, "citizen-1", d.ID); !errors.Is(err, applications.ErrNotFound) {
			t.Fatalf("deleted draft: %v", err)
		}
		list, err := st.List(ctx, "citizen-1", 10)
		if err != nil || len(list) != 2 || list[0].ID != b.ID {
			t.Fatalf("List: %d, %v", len(list), err)
		}
	})
}

// TestRacingOfficers: two officers (and a citizen cancelling) act on one
// application at once: exactly one change wins, on both dialects.
func TestRacingOfficers(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := applications.NewStore(db, sealer{}, nil)
		for round := range 5 {
			a, _ := st.CreateDraft(ctx, "citizen-1", "passport-20", "mvd", nil)
			a, err := st.Submit(ctx, "citizen-1", a.ID, a.Version, 5)
			if err != nil {
				t.Fatal(err)
			}
			moves := []struct {
				to    applications.Status
				actor applications.Actor
				subj  string
			}{
				{applications.InReview, applications.Actor{Kind: applications.Officer, ID: "o1"}, ""},
				{applications.InReview, applications.Actor{Kind: applications.Officer, ID: "o2"}, ""},
				{applications.InReview, applications.Actor{Kind: applications.Agency, ID: "mvd-system"}, ""},
				{applications.Cancelled, applications.Actor{Kind: applications.Citizen, ID: "citizen-1"}, "citizen-1"},
			}
			var wg sync.WaitGroup
			errs := make([]error, len(moves))
			for i, m := range moves {
				wg.Go(func() {
					_, errs[i] = st.Move(ctx, a.ID, m.subj, a.Version, applications.Received, m.to, m.actor, "")
				})
			}
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case errors.Is(err, applications.ErrConflict), errors.Is(err, applications.ErrTransition):
				default:
					t.Fatalf("round %d: unexpected error %v", round, err)
				}
			}
			hist, _ := st.History(ctx, a.ID)
			if wins != 1 || len(hist) != 3 {
				t.Fatalf("round %d: %d winners, %d events (errors %v)", round, wins, len(hist), errs)
			}
		}
	})
}

func TestQueuePages(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		st := applications.NewStore(db, sealer{}, clock.Now)
		var ids []string
		for i := range 7 {
			a, _ := st.CreateDraft(ctx, fmt.Sprintf("c%d", i), "passport-20", "mvd", nil)
			if _, err := st.Submit(ctx, a.Subject, a.ID, a.Version, 5); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.ID)
			clock.Advance(time.Minute)
		}
		other, _ := st.CreateDraft(ctx, "c9", "ndfl", "fns", nil)
		_, _ = st.Submit(ctx, "c9", other.ID, other.Version, 5)
		var got []string
		var after *applications.Application
		for {
			page, err := st.Queue(ctx, "mvd", nil, after, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, a := range page {
				got = append(got, a.ID)
			}
			after = page[len(page)-1]
		}
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Fatalf("queue pages %v, want %v", got, ids)
		}
	})
}
