package appointments

import (
	"context"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// Query asks for free slots of a service at a place, on one resource or
// on any (ResourceID ""), starting in [From, To).
type Query struct {
	PlaceID    string
	ServiceID  string
	ResourceID string
	From, To   time.Time
}

type cellKey struct {
	resource string
	at       int64 // cell start, Unix microseconds
}

type closure struct {
	resource string // "" is the whole place
	from, to int64
}

// schedule is everything the slot computation needs for one place, one
// service and a time range, read with a handful of queries (claims in one)
// so that the computation itself is pure Go.
type schedule struct {
	place     *Place
	loc       *time.Location
	resources []Resource
	minutes   int // the service's duration; 0 means each resource's step
	closures  []closure
	taken     map[cellKey]int
}

// maxMinutes bounds a service's duration (SetDuration refuses longer), so
// that the claims read for a range covers every slot starting in it.
const maxMinutes = 8 * 60

func (s *Store) schedule(ctx context.Context, q sqldb.Querier, placeID, serviceID, resourceID string, from, to time.Time) (*schedule, error) {
	p, err := s.place(ctx, q, placeID)
	if err != nil {
		return nil, err
	}
	loc, err := LoadTZ(p.TZ)
	if err != nil {
		return nil, err
	}
	sc := &schedule{place: p, loc: loc, taken: map[cellKey]int{}}
	where, args := `r.place_id = $1 AND rs.service_id = $2`, []any{placeID, serviceID}
	if resourceID != "" {
		where, args = where+` AND r.id = $3`, append(args, resourceID)
	}
	if sc.resources, err = s.resources(ctx, q, where, args...); err != nil {
		return nil, err
	}
	if len(sc.resources) == 0 {
		return sc, nil
	}
	if sc.minutes, err = duration(ctx, q, placeID, serviceID); err != nil {
		return nil, err
	}
	lo, hi := sqldb.Micros(from), sqldb.Micros(to.Add(maxMinutes*time.Minute))
	rows, err := q.Query(ctx, `SELECT resource_id, starts_at, ends_at FROM portal_appt_closures
		WHERE place_id = $1 AND ends_at > $2 AND starts_at < $3`, placeID, lo, hi)
	if err != nil {
		return nil, err
	}
	if sc.closures, err = sqldb.Collect(rows, func(r sqldb.Scanner) (closure, error) {
		var c closure
		return c, r.Scan(&c.resource, &c.from, &c.to)
	}); err != nil {
		return nil, err
	}
	rows, err = q.Query(ctx, `SELECT resource_id, cell_start, COUNT(*) FROM portal_appt_claims
		WHERE place_id = $1 AND cell_start >= $2 AND cell_start < $3 GROUP BY resource_id, cell_start`, placeID, lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k cellKey
		var n int
		if err := rows.Scan(&k.resource, &k.at, &n); err != nil {
			return nil, sqldb.Classify(err)
		}
		sc.taken[k] = n
	}
	return sc, sqldb.Classify(rows.Err())
}

func (sc *schedule) length(r *Resource) time.Duration {
	if sc.minutes == 0 {
		return time.Duration(r.Step) * time.Minute
	}
	return time.Duration(sc.minutes) * time.Minute
}

// slots lists the slots starting in [from, to) and no earlier than
// notBefore nor later than notAfter; with all, full ones too (Free 0),
// but never closed ones.
func (sc *schedule) slots(from, to, notBefore, notAfter time.Time, all bool, visit func(Slot)) {
	if from.Before(notBefore) {
		from = notBefore
	}
	if to.After(notAfter.Add(time.Microsecond)) {
		to = notAfter.Add(time.Microsecond)
	}
	if !from.Before(to) {
		return
	}
	// A day's hours end by 24:00, so every slot starting in range belongs
	// to a local day between the range's first and last.
	first, last := DateOf(from.In(sc.loc)), DateOf(to.In(sc.loc))
	for day := first.In(sc.loc); !last.Before(DateOf(day)); day = day.AddDate(0, 0, 1) {
		d := DateOf(day)
		hours := sc.place.hours(d, day.Weekday())
		for ri := range sc.resources {
			r := &sc.resources[ri]
			length := sc.length(r)
			step := time.Duration(r.Step) * time.Minute
			if length%step != 0 {
				continue // a duration that does not fit the grid is never offered
			}
			for _, iv := range hours {
				end := time.Date(d.Year, d.Month, d.Day, 0, iv.To, 0, 0, sc.loc)
				for m := iv.From; ; m += r.Step {
					start := time.Date(d.Year, d.Month, d.Day, 0, m, 0, 0, sc.loc)
					if start.Add(length).After(end) {
						break
					}
					if start.Before(from) || !start.Before(to) {
						continue
					}
					free := sc.free(r, start, length)
					if free > 0 || (all && free == 0) {
						visit(Slot{ResourceID: r.ID, Start: start.UTC(), End: start.Add(length).UTC(), Free: free})
					}
				}
			}
		}
	}
}

// free is the seats left over [start, start+length) on r: the fewest of
// its cells; -1 when a closure overlaps it (not offered at all).
func (sc *schedule) free(r *Resource, start time.Time, length time.Duration) int {
	lo, hi := sqldb.Micros(start), sqldb.Micros(start.Add(length))
	for _, c := range sc.closures {
		if (c.resource == "" || c.resource == r.ID) && c.from < hi && c.to > lo {
			return -1
		}
	}
	free := r.Capacity
	for at := start; at.Before(start.Add(length)); at = at.Add(time.Duration(r.Step) * time.Minute) {
		free = min(free, r.Capacity-sc.taken[cellKey{r.ID, sqldb.Micros(at)}])
	}
	return free
}

// window is the range in which bookings may start now.
func (s *Store) window() (notBefore, notAfter time.Time) {
	now := s.now()
	return now.Add(s.Lead), now.Add(s.Horizon)
}

// Free lists the free slots (ascending by start, then resource).
func (s *Store) Free(ctx context.Context, q Query) ([]Slot, error) {
	sc, err := s.schedule(ctx, s.db, q.PlaceID, q.ServiceID, q.ResourceID, q.From, q.To)
	if err != nil {
		return nil, err
	}
	nb, na := s.window()
	var out []Slot
	sc.slots(q.From, q.To, nb, na, false, func(sl Slot) { out = append(out, sl) })
	sortSlots(out)
	return out, nil
}

// Days returns every day of a month in the place's calendar with its
// number of free slots for the service (on one resource, or summed over
// all that serve it); 0 is a day to grey out.
func (s *Store) Days(ctx context.Context, placeID, serviceID, resourceID string, year int, month time.Month) ([]Day, error) {
	p, err := s.Place(ctx, placeID)
	if err != nil {
		return nil, err
	}
	loc, err := LoadTZ(p.TZ)
	if err != nil {
		return nil, err
	}
	from := time.Date(year, month, 1, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 1, 0)
	sc, err := s.schedule(ctx, s.db, placeID, serviceID, resourceID, from, to)
	if err != nil {
		return nil, err
	}
	var days []Day
	index := map[Date]int{}
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		index[DateOf(d)] = len(days)
		days = append(days, Day{Date: DateOf(d)})
	}
	nb, na := s.window()
	sc.slots(from, to, nb, na, false, func(sl Slot) {
		if i, ok := index[DateOf(sl.Start.In(loc))]; ok {
			days[i].Free++
		}
	})
	return days, nil
}
