package appointments_test

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal/appointments"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

var (
	msk, _ = time.LoadLocation("Europe/Moscow")
	vvo, _ = time.LoadLocation("Asia/Vladivostok")
	// t0 is Monday 1 March 2027, 08:00 in Moscow.
	t0 = time.Date(2027, 3, 1, 8, 0, 0, 0, msk)
)

func at(loc *time.Location, day, hour, minute int) time.Time {
	return time.Date(2027, 3, day, hour, minute, 0, 0, loc).UTC()
}

// recorder keeps every change OnChange saw (tests that count them run one
// change at a time, so no transaction is retried).
type recorder struct {
	mu      sync.Mutex
	changes []appointments.Change
}

func (r *recorder) hook(ctx context.Context, tx *sqldb.Tx, c appointments.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
	return nil
}

func (r *recorder) last() appointments.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.changes) == 0 {
		return appointments.Change{}
	}
	return r.changes[len(r.changes)-1]
}

func hours(t testing.TB, s string) appointments.Hours {
	h, err := appointments.ParseHours(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// fixture: a Moscow centre (two windows, one of three seats, and a
// doctor), and a Vladivostok office.
func fixture(t testing.TB, db *sqldb.DB, clock *sqldbtest.Clock) (*appointments.Store, *recorder) {
	t.Helper()
	ctx := context.Background()
	st := appointments.NewStore(db, clock.Now)
	rec := &recorder{}
	st.OnChange = rec.hook
	var w appointments.Week
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = hours(t, "09:00-13:00,14:00-18:00")
	}
	w[time.Saturday] = hours(t, "10:00-14:00")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.SavePlace(ctx, appointments.Place{ID: "msk", Agency: "mfc", Kind: appointments.KindCentre, Name: "МФЦ Тверской",
		Region: "77", Address: "г. Москва, ул. Тверская, д. 1", TZ: "Europe/Moscow", Week: w,
		Exceptions: []appointments.Exception{
			{Date: appointments.Date{Year: 2027, Month: 3, Day: 8}, Note: "Международный женский день"},
			{Date: appointments.Date{Year: 2027, Month: 3, Day: 5}, Hours: hours(t, "09:00-12:00")},
		}}))
	must(st.SaveResource(ctx, appointments.Resource{ID: "msk-w1", PlaceID: "msk", Kind: appointments.ResWindow, Name: "Окно 1",
		Step: 15, Services: []string{"svc-a", "svc-b"}}))
	must(st.SaveResource(ctx, appointments.Resource{ID: "msk-w2", PlaceID: "msk", Kind: appointments.ResWindow, Name: "Окно 2",
		Step: 15, Capacity: 3, Services: []string{"svc-a"}}))
	must(st.SaveResource(ctx, appointments.Resource{ID: "msk-d1", PlaceID: "msk", Kind: appointments.ResDoctor, Name: "Иванова Мария Петровна",
		Specialty: "терапевт", Step: 20, Services: []string{"doctor"}}))
	must(st.SetDuration(ctx, "msk", "svc-b", 45))
	var wv appointments.Week
	for d := time.Monday; d <= time.Friday; d++ {
		wv[d] = hours(t, "09:00-18:00")
	}
	must(st.SavePlace(ctx, appointments.Place{ID: "vvo", Agency: "mvd", Kind: appointments.KindAgency, Name: "МРЭО Владивосток",
		Region: "25", Address: "г. Владивосток, ул. Светланская, д. 1", TZ: "Asia/Vladivostok", Week: wv}))
	must(st.SaveResource(ctx, appointments.Resource{ID: "vvo-w1", PlaceID: "vvo", Kind: appointments.ResWindow, Name: "Окно 1",
		Step: 30, Services: []string{"svc-a"}}))
	return st, rec
}

func free(t *testing.T, st *appointments.Store, place, svc, res string, from, to time.Time) []appointments.Slot {
	t.Helper()
	s, err := st.Free(context.Background(), appointments.Query{PlaceID: place, ServiceID: svc, ResourceID: res, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func has(slots []appointments.Slot, res string, start time.Time) bool {
	for _, s := range slots {
		if s.ResourceID == res && s.Start.Equal(start) {
			return true
		}
	}
	return false
}

func TestSlots(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		st, _ := fixture(t, db, clock)
		day := func(d int) (time.Time, time.Time) { return at(msk, d, 0, 0), at(msk, d+1, 0, 0) }

		// Hours and the lunch break: 16 + 16 quarter hours, none at 13:xx.
		from, to := day(1)
		s := free(t, st, "msk", "svc-a", "msk-w1", from, to)
		if len(s) != 32 || !s[0].Start.Equal(at(msk, 1, 9, 0)) || has(s, "msk-w1", at(msk, 1, 13, 0)) || !has(s, "msk-w1", at(msk, 1, 14, 0)) {
			t.Fatalf("Monday's slots: %d, first %v", len(s), s[0].Start)
		}
		// Duration 45 > step 15: a slot ends within its interval.
		s = free(t, st, "msk", "svc-b", "msk-w1", from, to)
		if len(s) != 28 || !has(s, "msk-w1", at(msk, 1, 12, 15)) || has(s, "msk-w1", at(msk, 1, 12, 30)) || !s[0].End.Equal(at(msk, 1, 9, 45)) {
			t.Fatalf("45-minute slots: %d", len(s))
		}
		// Any resource: both windows.
		if s = free(t, st, "msk", "svc-a", "", from, to); len(s) != 64 || s[0].Free != 1 || s[1].Free != 3 {
			t.Fatalf("slots of both windows: %d", len(s))
		}
		// The doctor's grid is 20 minutes and serves only "doctor".
		if s = free(t, st, "msk", "doctor", "", from, to); len(s) != 24 || !has(s, "msk-d1", at(msk, 1, 9, 40)) {
			t.Fatalf("doctor's slots: %d", len(s))
		}
		if s = free(t, st, "msk", "doctor", "msk-w1", from, to); len(s) != 0 {
			t.Fatalf("a window offers the doctor: %d", len(s))
		}

		// The calendar: short day, Saturday, Sunday, holiday, horizon.
		days, err := st.Days(ctx, "msk", "svc-a", "msk-w1", 2027, time.March)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]int{1: 32, 5: 12, 6: 16, 7: 0, 8: 0, 9: 32, 30: 32, 31: 0}
		if len(days) != 31 {
			t.Fatalf("Days: %d days", len(days))
		}
		for d, n := range want {
			if days[d-1].Free != n || days[d-1].Date != (appointments.Date{Year: 2027, Month: 3, Day: d}) {
				t.Errorf("March %d: %+v, want %d free", d, days[d-1], n)
			}
		}

		// Lead time: at 09:05 the first slot is 09:30 (09:20 is the earliest).
		clock.Set(at(msk, 1, 9, 5))
		if s = free(t, st, "msk", "svc-a", "msk-w1", from, to); !s[0].Start.Equal(at(msk, 1, 9, 30)) {
			t.Fatalf("first slot after lead: %v", s[0].Start)
		}
		clock.Set(t0)

		// Vladivostok: 09:00 local on 2 March is 23:00 UTC on 1 March.
		s = free(t, st, "vvo", "svc-a", "", at(vvo, 2, 0, 0), at(vvo, 3, 0, 0))
		if len(s) != 18 || !s[0].Start.Equal(time.Date(2027, 3, 1, 23, 0, 0, 0, time.UTC)) {
			t.Fatalf("Vladivostok: %d slots, first %v", len(s), s[0].Start)
		}

		// Capacity 3: two bookings leave one seat, the third fills it.
		slot := at(msk, 2, 10, 0)
		for i, who := range []string{"c1", "c2"} {
			if _, err := st.Book(ctx, who, "msk", "msk-w2", "svc-a", slot); err != nil {
				t.Fatalf("booking %d: %v", i, err)
			}
		}
		s = free(t, st, "msk", "svc-a", "msk-w2", slot, slot.Add(time.Minute))
		if len(s) != 1 || s[0].Free != 1 {
			t.Fatalf("after two of three seats: %+v", s)
		}
		if _, err := st.Book(ctx, "c3", "msk", "msk-w2", "svc-a", slot); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Book(ctx, "c4", "msk", "msk-w2", "svc-a", slot); !errors.Is(err, appointments.ErrSlotTaken) {
			t.Fatalf("fourth seat: %v", err)
		}
		if s = free(t, st, "msk", "svc-a", "msk-w2", slot, slot.Add(time.Minute)); len(s) != 0 {
			t.Fatalf("a full slot offered: %+v", s)
		}

		// A 45-minute booking takes three cells from the 15-minute service
		// and the overlapping 45-minute starts.
		if _, err := st.Book(ctx, "c1", "msk", "msk-w1", "svc-b", at(msk, 2, 9, 0)); err != nil {
			t.Fatal(err)
		}
		from, to = day(2)
		s = free(t, st, "msk", "svc-a", "msk-w1", from, to)
		if has(s, "msk-w1", at(msk, 2, 9, 30)) || !has(s, "msk-w1", at(msk, 2, 9, 45)) {
			t.Fatal("svc-a around a 45-minute booking")
		}
		s = free(t, st, "msk", "svc-b", "msk-w1", from, to)
		if has(s, "msk-w1", at(msk, 2, 8, 45)) || has(s, "msk-w1", at(msk, 2, 9, 30)) || !has(s, "msk-w1", at(msk, 2, 9, 45)) {
			t.Fatal("svc-b around a 45-minute booking")
		}
		if _, err := st.Book(ctx, "c9", "msk", "msk-w1", "svc-a", at(msk, 2, 9, 30)); !errors.Is(err, appointments.ErrSlotTaken) {
			t.Fatalf("booking into the 45-minute visit: %v", err)
		}
	})
}

func TestClosure(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		st, rec := fixture(t, db, clock)
		in, err := st.Book(ctx, "c1", "msk", "msk-w1", "svc-a", at(msk, 2, 11, 0))
		if err != nil {
			t.Fatal(err)
		}
		edge, err := st.Book(ctx, "c2", "msk", "msk-w1", "svc-b", at(msk, 2, 9, 30)) // 09:30-10:15 overlaps
		if err != nil {
			t.Fatal(err)
		}
		out, err := st.Book(ctx, "c3", "msk", "msk-w1", "svc-a", at(msk, 2, 12, 0)) // starts at the end: kept
		if err != nil {
			t.Fatal(err)
		}
		doc, err := st.Book(ctx, "c4", "msk", "msk-d1", "doctor", at(msk, 3, 10, 0))
		if err != nil {
			t.Fatal(err)
		}
		n := len(rec.changes)
		got, err := st.Close(ctx, "msk", at(msk, 2, 10, 0), at(msk, 2, 12, 0), "Отключение электричества")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != edge.ID || got[1].ID != in.ID {
			t.Fatalf("closure cancelled %+v", got)
		}
		for _, b := range got {
			if b.Status != appointments.Cancelled || b.CancelReason != appointments.ByClosure {
				t.Fatalf("closure left %+v", b)
			}
		}
		if len(rec.changes) != n+2 || rec.last().Kind != appointments.ChangeClosure {
			t.Fatalf("OnChange after closure: %d new", len(rec.changes)-n)
		}
		if b, _ := st.Get(ctx, out.ID); b.Status != appointments.Booked {
			t.Fatalf("booking after the closure: %s", b.Status)
		}
		s := free(t, st, "msk", "svc-a", "", at(msk, 2, 9, 0), at(msk, 2, 13, 0))
		if has(s, "msk-w1", at(msk, 2, 10, 0)) || has(s, "msk-w2", at(msk, 2, 11, 45)) || !has(s, "msk-w2", at(msk, 2, 9, 45)) {
			t.Fatal("slots inside the closure offered")
		}
		if _, err := st.Book(ctx, "c5", "msk", "msk-w2", "svc-a", at(msk, 2, 10, 30)); !errors.Is(err, appointments.ErrNotOffered) {
			t.Fatalf("booking into a closure: %v", err)
		}
		// The doctor falls ill: only the doctor's bookings go.
		got, err = st.CloseResource(ctx, "msk-d1", at(msk, 3, 0, 0), at(msk, 4, 0, 0), "Болезнь врача")
		if err != nil || len(got) != 1 || got[0].ID != doc.ID {
			t.Fatalf("resource closure: %+v, %v", got, err)
		}
		if s := free(t, st, "msk", "doctor", "", at(msk, 3, 0, 0), at(msk, 4, 0, 0)); len(s) != 0 {
			t.Fatal("an ill doctor offered")
		}
		if s := free(t, st, "msk", "svc-a", "msk-w1", at(msk, 3, 0, 0), at(msk, 4, 0, 0)); len(s) != 32 {
			t.Fatalf("the windows on the doctor's closure: %d", len(s))
		}
	})
}

func TestBooking(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		st, rec := fixture(t, db, clock)
		start := at(msk, 2, 10, 0)
		b, err := st.Book(ctx, "c1", "msk", "msk-w1", "svc-a", start)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^З-\d{4}-\d{8}$`).MatchString(b.Number) || b.Status != appointments.Booked || b.Version != 1 ||
			!b.Start.Equal(start) || !b.End.Equal(start.Add(15*time.Minute)) || b.TZ != "Europe/Moscow" || b.Local().Hour() != 10 {
			t.Fatalf("booked %+v", b)
		}
		if c := rec.last(); c.Kind != appointments.ChangeBooked || c.Booking.ID != b.ID {
			t.Fatalf("OnChange: %+v", c)
		}
		for name, tc := range map[string]struct {
			who, res, svc string
			start         time.Time
			want          error
		}{
			"second of a service": {"c1", "msk-w2", "svc-a", at(msk, 3, 10, 0), appointments.ErrActiveExists},
			"taken":               {"c2", "msk-w1", "svc-a", start, appointments.ErrSlotTaken},
			"past":                {"c2", "msk-w1", "svc-a", at(msk, 1, 8, 0), appointments.ErrPast},
			"within lead":         {"c2", "msk-w1", "svc-a", at(msk, 1, 8, 10), appointments.ErrPast},
			"too far":             {"c2", "msk-w1", "svc-a", time.Date(2027, 4, 5, 10, 0, 0, 0, msk), appointments.ErrTooFar},
			"off the grid":        {"c2", "msk-w1", "svc-a", at(msk, 2, 10, 5), appointments.ErrNotOffered},
			"lunch":               {"c2", "msk-w1", "svc-a", at(msk, 2, 13, 15), appointments.ErrNotOffered},
			"holiday":             {"c2", "msk-w1", "svc-a", at(msk, 8, 10, 0), appointments.ErrNotOffered},
			"not served":          {"c2", "msk-d1", "svc-a", at(msk, 2, 10, 0), appointments.ErrNotOffered},
			"other place":         {"c2", "vvo-w1", "svc-a", at(msk, 2, 10, 0), appointments.ErrNotOffered},
			"spans lunch":         {"c2", "msk-w1", "svc-b", at(msk, 2, 12, 30), appointments.ErrNotOffered},
		} {
			if _, err := st.Book(ctx, tc.who, "msk", tc.res, tc.svc, tc.start); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", name, err, tc.want)
			}
		}
		// Another service at once is fine.
		other, err := st.Book(ctx, "c1", "msk", "msk-w1", "svc-b", at(msk, 4, 10, 0))
		if err != nil {
			t.Fatal(err)
		}

		// Another citizen sees nothing.
		for name, fn := range map[string]func() error{
			"Mine":       func() error { _, err := st.Mine(ctx, "c2", b.ID); return err },
			"Cancel":     func() error { _, err := st.Cancel(ctx, "c2", b.ID); return err },
			"Reschedule": func() error { _, err := st.Reschedule(ctx, "c2", b.ID, "", at(msk, 2, 11, 0), 1); return err },
		} {
			if err := fn(); !errors.Is(err, appointments.ErrNotFound) {
				t.Errorf("%s of another's booking: %v", name, err)
			}
		}

		// Reschedule: stale version, taken slot (nothing changes), then done.
		taken, err := st.Book(ctx, "c2", "msk", "msk-w1", "svc-a", at(msk, 2, 11, 0))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Reschedule(ctx, "c1", b.ID, "", at(msk, 2, 12, 0), 7); !errors.Is(err, appointments.ErrConflict) {
			t.Fatalf("stale reschedule: %v", err)
		}
		if _, err := st.Reschedule(ctx, "c1", b.ID, "", taken.Start, 1); !errors.Is(err, appointments.ErrSlotTaken) {
			t.Fatalf("reschedule into a taken slot: %v", err)
		}
		if _, err := st.Book(ctx, "c3", "msk", "msk-w1", "svc-a", start); !errors.Is(err, appointments.ErrSlotTaken) {
			t.Fatalf("a failed reschedule released the old slot: %v", err)
		}
		moved, err := st.Reschedule(ctx, "c1", b.ID, "msk-w2", at(msk, 2, 12, 0), 1)
		if err != nil {
			t.Fatal(err)
		}
		if moved.Version != 2 || moved.ResourceID != "msk-w2" || !moved.Start.Equal(at(msk, 2, 12, 0)) || moved.Number != b.Number {
			t.Fatalf("moved %+v", moved)
		}
		if c := rec.last(); c.Kind != appointments.ChangeRescheduled || !c.PreviousStart.Equal(start) || c.PreviousResource != "msk-w1" {
			t.Fatalf("OnChange of a reschedule: %+v", c)
		}
		if _, err := st.Book(ctx, "c3", "msk", "msk-w1", "svc-a", start); err != nil {
			t.Fatalf("the old slot after a reschedule: %v", err)
		}
		// Reschedule of a 45-minute visit by 15 minutes overlaps itself.
		if _, err := st.Reschedule(ctx, "c1", other.ID, "", at(msk, 4, 10, 15), 1); err != nil {
			t.Fatalf("overlapping reschedule: %v", err)
		}

		// Cancel: the slot is free again and the service bookable again.
		c, err := st.Cancel(ctx, "c1", b.ID)
		if err != nil || c.Status != appointments.Cancelled || c.CancelReason != appointments.ByCitizen {
			t.Fatalf("cancel: %+v, %v", c, err)
		}
		if rec.last().Kind != appointments.ChangeCancelled {
			t.Fatal("no OnChange for a cancel")
		}
		if _, err := st.Cancel(ctx, "c1", b.ID); !errors.Is(err, appointments.ErrTransition) {
			t.Fatalf("second cancel: %v", err)
		}
		if s := free(t, st, "msk", "svc-a", "msk-w2", at(msk, 2, 12, 0), at(msk, 2, 12, 1)); len(s) != 1 || s[0].Free != 3 {
			t.Fatalf("after cancel: %+v", s)
		}
		soon, err := st.Book(ctx, "c1", "msk", "msk-w1", "svc-a", at(msk, 1, 10, 0))
		if err != nil {
			t.Fatal(err)
		}
		// The cut-off: two hours before.
		clock.Set(at(msk, 1, 8, 1))
		if _, err := st.Cancel(ctx, "c1", soon.ID); !errors.Is(err, appointments.ErrCutOff) {
			t.Fatalf("cancel after the cut-off: %v", err)
		}
		if _, err := st.Reschedule(ctx, "c1", soon.ID, "", at(msk, 3, 10, 0), soon.Version); !errors.Is(err, appointments.ErrCutOff) {
			t.Fatalf("reschedule after the cut-off: %v", err)
		}

		// List: upcoming soonest first, then past latest first.
		clock.Set(at(msk, 2, 10, 30))
		list, err := st.List(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, x := range list {
			order = append(order, x.ID)
		}
		want := []string{b.ID, other.ID, soon.ID} // 2nd 12:00 (cancelled), 4th 10:15; past: 1st 10:00
		if len(order) != 3 || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] {
			t.Fatalf("List order %v, want %v", order, want)
		}
	})
}

func TestOfficer(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		st, rec := fixture(t, db, clock)
		late, err := st.Book(ctx, "c1", "msk", "msk-w1", "svc-a", at(msk, 2, 15, 0))
		if err != nil {
			t.Fatal(err)
		}
		early, err := st.Book(ctx, "c2", "msk", "msk-w2", "svc-a", at(msk, 2, 9, 0))
		if err != nil {
			t.Fatal(err)
		}
		gone, err := st.Book(ctx, "c3", "msk", "msk-w2", "svc-a", at(msk, 2, 11, 0))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Book(ctx, "c4", "msk", "msk-w2", "svc-a", at(msk, 3, 9, 0)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Cancel(ctx, "c3", gone.ID); err != nil {
			t.Fatal(err)
		}
		day, err := st.Day(ctx, "msk", appointments.Date{Year: 2027, Month: 3, Day: 2})
		if err != nil || len(day) != 2 || day[0].ID != early.ID || day[1].ID != late.ID {
			t.Fatalf("Day: %+v, %v", day, err)
		}
		if _, err := st.Mark(ctx, early.ID, 1, appointments.Arrived, "officer-1"); !errors.Is(err, appointments.ErrTooEarly) {
			t.Fatalf("mark before the day: %v", err)
		}
		clock.Set(at(msk, 2, 8, 55))
		if _, err := st.Mark(ctx, early.ID, 1, appointments.Served, "officer-1"); !errors.Is(err, appointments.ErrTransition) {
			t.Fatalf("served before arrived: %v", err)
		}
		a, err := st.Mark(ctx, early.ID, 1, appointments.Arrived, "officer-1")
		if err != nil || a.Status != appointments.Arrived || a.Officer != "officer-1" || a.Version != 2 {
			t.Fatalf("arrived: %+v, %v", a, err)
		}
		if c := rec.last(); c.Kind != appointments.ChangeMarked || c.Booking.Status != appointments.Arrived {
			t.Fatalf("OnChange of a mark: %+v", c)
		}
		if _, err := st.Mark(ctx, early.ID, 1, appointments.Served, "officer-2"); !errors.Is(err, appointments.ErrConflict) {
			t.Fatalf("stale mark: %v", err)
		}
		if s, err := st.Mark(ctx, early.ID, 2, appointments.Served, "officer-1"); err != nil || s.Status != appointments.Served {
			t.Fatalf("served: %+v, %v", s, err)
		}
		if _, err := st.Mark(ctx, early.ID, 3, appointments.NoShow, "officer-1"); !errors.Is(err, appointments.ErrTransition) {
			t.Fatalf("no-show after served: %v", err)
		}
		if _, err := st.Mark(ctx, gone.ID, 2, appointments.Arrived, "officer-1"); !errors.Is(err, appointments.ErrTransition) {
			t.Fatalf("mark of a cancelled booking: %v", err)
		}
		if n, err := st.Mark(ctx, late.ID, 1, appointments.NoShow, "officer-1"); err != nil || n.Status != appointments.NoShow {
			t.Fatalf("no-show: %v", err)
		}
		// The agency cancels a booking: a stale version changes nothing.
		ag, err := st.Book(ctx, "c5", "msk", "msk-w1", "svc-a", at(msk, 4, 11, 0))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CancelByAgency(ctx, ag.ID, 5); !errors.Is(err, appointments.ErrConflict) {
			t.Fatalf("stale agency cancel: %v", err)
		}
		if c, err := st.CancelByAgency(ctx, ag.ID, 1); err != nil || c.Status != appointments.Cancelled || c.CancelReason != appointments.ByAgency {
			t.Fatalf("agency cancel: %+v, %v", c, err)
		}
		// The citizen sees the outcome, and may book the service again.
		if m, err := st.Mine(ctx, "c2", early.ID); err != nil || m.Status != appointments.Served {
			t.Fatalf("citizen's view: %+v, %v", m, err)
		}
		if _, err := st.Book(ctx, "c2", "msk", "msk-w1", "svc-a", at(msk, 4, 9, 0)); err != nil {
			t.Fatalf("booking after being served: %v", err)
		}
	})
}

func TestPlaces(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := appointments.NewStore(db, sqldbtest.NewClock(t0).Now)
		for range 2 { // idempotent
			if err := appointments.Seed(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		all, err := st.Places(ctx, appointments.Filter{})
		if err != nil || len(all) != 8 {
			t.Fatalf("Places: %d, %v", len(all), err)
		}
		moscow, err := st.Places(ctx, appointments.Filter{Region: "77", ServiceID: "vehicle-registration"})
		if err != nil || len(moscow) != 4 {
			t.Fatalf("Moscow vehicle registration: %d, %v", len(moscow), err)
		}
		clinics, err := st.Places(ctx, appointments.Filter{ServiceID: "doctor-appointment", Specialty: "хирург"})
		if err != nil || len(clinics) != 1 || clinics[0].Agency != "health-dept" {
			t.Fatalf("clinics: %+v, %v", clinics, err)
		}
		sp, err := st.Specialties(ctx, "doctor-appointment", "77")
		if err != nil || len(sp) != 4 {
			t.Fatalf("Specialties: %v, %v", sp, err)
		}
		res, err := st.Resources(ctx, "clinic-msk-gp12")
		if err != nil || len(res) != 5 || len(res[0].Services) != 1 {
			t.Fatalf("Resources: %+v, %v", res, err)
		}
		w, err := st.Resource(ctx, "mfc-msk-arbat-w1")
		if err != nil || len(w.Services) != 5 || w.Step != 15 || w.Capacity != 1 {
			t.Fatalf("Resource: %+v, %v", w, err)
		}
		p, err := st.Place(ctx, "mfc-vvo-leninsky")
		if err != nil || p.TZ != "Asia/Vladivostok" || p.Week[time.Saturday].String() != "10:00-17:00" || len(p.Exceptions) != 17 {
			t.Fatalf("Place: %+v, %v", p, err)
		}
		// Holidays in the seed: no slot on 8 March 2027 (the clock is in March 2027).
		s := free(t, st, "mfc-msk-arbat", "passport-14", "", at(msk, 8, 0, 0), at(msk, 9, 0, 0))
		if len(s) != 0 {
			t.Fatalf("slots on a holiday: %d", len(s))
		}
		if s = free(t, st, "mfc-msk-arbat", "foreign-passport", "", at(msk, 9, 0, 0), at(msk, 10, 0, 0)); len(s) != 4*(12*4-1) {
			t.Fatalf("30-minute foreign passport slots: %d", len(s))
		}

		// Validation names the fields.
		bad := appointments.Place{ID: "Bad ID", Agency: "mfc", Kind: "shop", Name: "x", Region: "7", Address: "x", TZ: "Mars/Olympus"}
		var ve *appointments.ValidationError
		if err := st.SavePlace(ctx, bad); !errors.As(err, &ve) {
			t.Fatalf("SavePlace: %v", err)
		}
		fields := map[string]bool{}
		for _, f := range ve.Fields {
			fields[f.Field] = true
			if f.RU == "" || f.EN == "" {
				t.Errorf("field %s without texts", f.Field)
			}
		}
		for _, f := range []string{"id", "kind", "region", "tz"} {
			if !fields[f] {
				t.Errorf("no error for %s: %v", f, ve)
			}
		}
		if err := st.SaveResource(ctx, appointments.Resource{ID: "r", PlaceID: "nowhere", Kind: appointments.ResWindow, Name: "x"}); !errors.As(err, &ve) {
			t.Fatalf("resource of no place: %v", err)
		}
		if err := st.SetDuration(ctx, "clinic-msk-gp12", "doctor-appointment", 25); !errors.As(err, &ve) {
			t.Fatalf("duration off the grid: %v", err)
		}
		// A resource with upcoming bookings is not deleted.
		if _, err := st.Book(ctx, "c1", "mfc-msk-arbat", "mfc-msk-arbat-w1", "passport-14", at(msk, 9, 10, 0)); err != nil {
			t.Fatal(err)
		}
		w.Step = 30
		if err := st.SaveResource(ctx, *w); !errors.As(err, &ve) || ve.Fields[0].Field != "step" {
			t.Fatalf("step change under bookings: %v", err)
		}
		w.Step, w.Name = 15, "Окно 1 (приоритетное)"
		if err := st.SaveResource(ctx, *w); err != nil {
			t.Fatalf("rename under bookings: %v", err)
		}
		if err := st.DeleteResource(ctx, "mfc-msk-arbat-w1"); !errors.Is(err, appointments.ErrInUse) {
			t.Fatalf("delete in use: %v", err)
		}
		if err := st.DeleteResource(ctx, "mfc-msk-arbat-w2"); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteResource(ctx, "mfc-msk-arbat-w2"); !errors.Is(err, appointments.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
	})
}
