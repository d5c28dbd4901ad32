package appointments

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

func sortSlots(out []Slot) {
	slices.SortFunc(out, func(a, b Slot) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		switch {
		case a.ResourceID < b.ResourceID:
			return -1
		case a.ResourceID > b.ResourceID:
			return 1
		}
		return 0
	})
}

const bookingColumns = `b.id, b.number, b.subject, b.service_id, b.place_id, b.resource_id, b.starts_at, b.ends_at,
	COALESCE(p.tz, 'UTC'), b.status, b.cancel_reason, b.officer, b.version, b.created_at, b.updated_at`

const bookingFrom = ` FROM portal_appt_bookings b LEFT JOIN portal_appt_places p ON p.id = b.place_id`

func scanBooking(r sqldb.Scanner) (Booking, error) {
	var b Booking
	var start, end, created, updated int64
	if err := r.Scan(&b.ID, &b.Number, &b.Subject, &b.ServiceID, &b.PlaceID, &b.ResourceID, &start, &end, &b.TZ,
		&b.Status, &b.CancelReason, &b.Officer, &b.Version, &created, &updated); err != nil {
		if errors.Is(err, sqldb.ErrNotFound) {
			return b, ErrNotFound
		}
		return b, err
	}
	b.Start, b.End, b.CreatedAt, b.UpdatedAt = sqldb.Time(start), sqldb.Time(end), sqldb.Time(created), sqldb.Time(updated)
	return b, nil
}

func (s *Store) get(ctx context.Context, q sqldb.Querier, id string) (*Booking, error) {
	b, err := scanBooking(q.QueryRow(ctx, `SELECT `+bookingColumns+bookingFrom+` WHERE b.id = $1`, id))
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// Get returns a booking by id, for officers and the agency API (whose
// right to see it the caller checks).
func (s *Store) Get(ctx context.Context, id string) (*Booking, error) { return s.get(ctx, s.db, id) }

// ByNumber returns a booking by its number (an officer reading a ticket).
func (s *Store) ByNumber(ctx context.Context, number string) (*Booking, error) {
	b, err := scanBooking(s.db.QueryRow(ctx, `SELECT `+bookingColumns+bookingFrom+` WHERE b.number = $1`, number))
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// Mine returns the citizen's booking; another citizen's is ErrNotFound.
func (s *Store) Mine(ctx context.Context, subject, id string) (*Booking, error) {
	b, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if b.Subject != subject {
		return nil, ErrNotFound
	}
	return b, nil
}

func (s *Store) list(ctx context.Context, where string, args ...any) ([]Booking, error) {
	rows, err := s.db.Query(ctx, `SELECT `+bookingColumns+bookingFrom+` WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	return sqldb.Collect(rows, scanBooking)
}

// List returns the citizen's bookings: upcoming ones first (soonest
// first), then past ones (latest first).
func (s *Store) List(ctx context.Context, subject string) ([]Booking, error) {
	all, err := s.list(ctx, `b.subject = $1 ORDER BY b.starts_at, b.id`, subject)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var upcoming, past []Booking
	for _, b := range all {
		if b.End.After(now) {
			upcoming = append(upcoming, b)
		} else {
			past = append(past, b)
		}
	}
	slices.Reverse(past)
	return append(upcoming, past...), nil
}

// Day lists a place's bookings (not cancelled) of a local day, by start.
func (s *Store) Day(ctx context.Context, placeID string, date Date) ([]Booking, error) {
	p, err := s.Place(ctx, placeID)
	if err != nil {
		return nil, err
	}
	loc, err := LoadTZ(p.TZ)
	if err != nil {
		return nil, err
	}
	from := date.In(loc)
	return s.list(ctx, `b.place_id = $1 AND b.starts_at >= $2 AND b.starts_at < $3 AND b.status <> $4 ORDER BY b.starts_at, b.resource_id, b.id`,
		placeID, sqldb.Micros(from), sqldb.Micros(from.AddDate(0, 0, 1)), Cancelled)
}

// newNumber draws a booking number «З-YYMM-NNNNNNNN»: the month makes it
// readable, eight random digits make a clash rare (and a clash only means
// another draw: the column is unique).
func newNumber(now time.Time) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(100_000_000))
	return fmt.Sprintf("З-%s-%08d", now.UTC().Format("0601"), n.Int64())
}

var errNumberTaken = errors.New("appointments: booking number taken")

const numberTries = 5

func (s *Store) checkWindow(start time.Time) error {
	nb, na := s.window()
	switch {
	case start.Before(nb):
		return ErrPast
	case start.After(na):
		return ErrTooFar
	}
	return nil
}

// claim reserves the slot of resource r at start for booking id inside
// tx: it checks that the slot is offered, then inserts one claim per grid
// cell, each on the first free seat. The claims' primary key is the
// guarantee; the check before is only for a precise answer.
func (s *Store) claim(ctx context.Context, tx *sqldb.Tx, placeID, resourceID, serviceID, bookingID string, start time.Time) (end time.Time, err error) {
	// Bump the resource row first: a closure over this resource, or its
	// deletion, running at the same time then either commits before (and
	// is seen below) or waits for this transaction (and sees its booking).
	res, err := tx.Exec(ctx, `UPDATE portal_appt_resources SET touched = touched + 1 WHERE id = $1 AND place_id = $2`, resourceID, placeID)
	if err != nil {
		return end, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return end, ErrNotOffered
	}
	sc, err := s.schedule(ctx, tx, placeID, serviceID, resourceID, start, start.Add(time.Microsecond))
	if err != nil {
		return end, err
	}
	var slot *Slot
	nb, na := s.window()
	sc.slots(start, start.Add(time.Microsecond), nb, na, true, func(sl Slot) {
		if sl.Start.Equal(start) {
			slot = &sl
		}
	})
	if slot == nil {
		return end, ErrNotOffered
	}
	if slot.Free == 0 {
		return end, ErrSlotTaken
	}
	r := &sc.resources[0]
	step := time.Duration(r.Step) * time.Minute
	for at := slot.Start; at.Before(slot.End); at = at.Add(step) {
		got := false
		for seat := 0; seat < r.Capacity && !got; seat++ {
			res, err := tx.Exec(ctx, `INSERT INTO portal_appt_claims (resource_id, cell_start, seat, booking_id, place_id)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, resourceID, sqldb.Micros(at), seat, bookingID, placeID)
			if err != nil {
				return end, err
			}
			n, _ := res.RowsAffected()
			got = n == 1
		}
		if !got {
			return end, ErrSlotTaken
		}
	}
	return slot.End, nil
}

func (s *Store) changed(ctx context.Context, tx *sqldb.Tx, kind ChangeKind, id string, prev *Booking, reason ...string) error {
	if s.OnChange == nil {
		return nil
	}
	b, err := s.get(ctx, tx, id)
	if err != nil {
		return err
	}
	c := Change{Kind: kind, Booking: *b}
	if len(reason) > 0 {
		c.Reason = reason[0]
	}
	if prev != nil {
		c.PreviousStart, c.PreviousResource = prev.Start, prev.ResourceID
	}
	return s.OnChange(ctx, tx, c)
}

// Book books a citizen's visit. Errors: ErrSlotTaken, ErrActiveExists
// (one active booking per service and citizen), ErrNotOffered (the
// resource does not serve the service there, or the start is off the grid,
// outside the hours, or closed), ErrPast, ErrTooFar.
func (s *Store) Book(ctx context.Context, subject, placeID, resourceID, serviceID string, start time.Time) (*Booking, error) {
	start = start.UTC()
	if err := s.checkWindow(start); err != nil {
		return nil, err
	}
	for range numberTries {
		now := s.now()
		id, number := sqldb.NewID(), newNumber(now)
		err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
			// The booking row first: the partial unique index refuses a
			// second active booking of the service at once.
			res, err := tx.Exec(ctx, `INSERT INTO portal_appt_bookings (id, number, subject, service_id, place_id, resource_id,
				starts_at, ends_at, status, version, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, 1, $9, $9) ON CONFLICT DO NOTHING`,
				id, number, subject, serviceID, placeID, resourceID, sqldb.Micros(start), Booked, sqldb.Micros(now))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				var active int
				if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM portal_appt_bookings WHERE subject = $1 AND service_id = $2 AND status = $3`,
					subject, serviceID, Booked).Scan(&active); err != nil {
					return err
				}
				if active > 0 {
					return ErrActiveExists
				}
				return errNumberTaken
			}
			end, err := s.claim(ctx, tx, placeID, resourceID, serviceID, id, start)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE portal_appt_bookings SET ends_at = $2 WHERE id = $1`, id, sqldb.Micros(end)); err != nil {
				return err
			}
			return s.changed(ctx, tx, ChangeBooked, id, nil)
		})
		if errors.Is(err, errNumberTaken) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return s.Get(ctx, id)
	}
	return nil, errors.New("appointments: no free booking number found")
}

// citizenChange loads the citizen's active booking and checks the cut-off.
func (s *Store) citizenChange(ctx context.Context, subject, id string) (*Booking, error) {
	b, err := s.Mine(ctx, subject, id)
	if err != nil {
		return nil, err
	}
	if b.Status != Booked {
		return nil, fmt.Errorf("%w: it is %s", ErrTransition, b.Status)
	}
	if s.now().After(b.Start.Add(-s.CutOff)) {
		return nil, ErrCutOff
	}
	return b, nil
}

// why explains a compare-and-swap on a booking that changed nothing.
func (s *Store) why(ctx context.Context, q sqldb.Querier, id string, want Status) error {
	b, err := s.get(ctx, q, id)
	switch {
	case err != nil:
		return err
	case b.Status != want:
		return fmt.Errorf("%w: it is %s", ErrTransition, b.Status)
	}
	return ErrConflict
}

// Reschedule moves the citizen's booking at version to another slot of
// the same place (resourceID "" keeps the resource): the old seats are
// released and the new taken in one transaction, or nothing changes.
func (s *Store) Reschedule(ctx context.Context, subject, id, resourceID string, start time.Time, version int64) (*Booking, error) {
	start = start.UTC()
	b, err := s.citizenChange(ctx, subject, id)
	if err != nil {
		return nil, err
	}
	if b.Version != version {
		return nil, ErrConflict
	}
	if err := s.checkWindow(start); err != nil {
		return nil, err
	}
	if resourceID == "" {
		resourceID = b.ResourceID
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE portal_appt_bookings SET resource_id = $4, starts_at = $5, ends_at = $5, version = version + 1, updated_at = $6
			WHERE id = $1 AND subject = $2 AND version = $3 AND status = $7`,
			id, subject, version, resourceID, sqldb.Micros(start), sqldb.Micros(s.now()), Booked)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return s.why(ctx, tx, id, Booked)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM portal_appt_claims WHERE booking_id = $1`, id); err != nil {
			return err
		}
		end, err := s.claim(ctx, tx, b.PlaceID, resourceID, b.ServiceID, id, start)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE portal_appt_bookings SET ends_at = $2 WHERE id = $1`, id, sqldb.Micros(end)); err != nil {
			return err
		}
		return s.changed(ctx, tx, ChangeRescheduled, id, b)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// Cancel cancels the citizen's booking (ErrCutOff after the cut-off).
func (s *Store) Cancel(ctx context.Context, subject, id string) (*Booking, error) {
	b, err := s.citizenChange(ctx, subject, id)
	if err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := s.cancel(ctx, tx, b, ByCitizen); err != nil {
			return err
		}
		return s.changed(ctx, tx, ChangeCancelled, id, nil)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// CancelByAgency cancels a booking at version on the agency's side (an
// officer, the agency API), at any time before it ends.
func (s *Store) CancelByAgency(ctx context.Context, id string, version int64) (*Booking, error) {
	b, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if b.Status != Booked {
		return nil, fmt.Errorf("%w: it is %s", ErrTransition, b.Status)
	}
	b.Version = version
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := s.cancel(ctx, tx, b, ByAgency); err != nil {
			return err
		}
		return s.changed(ctx, tx, ChangeCancelled, id, nil)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// cancel is the compare-and-swap of a cancellation, releasing the seats.
func (s *Store) cancel(ctx context.Context, tx *sqldb.Tx, b *Booking, reason string) error {
	res, err := tx.Exec(ctx, `UPDATE portal_appt_bookings SET status = $3, cancel_reason = $4, version = version + 1, updated_at = $5
		WHERE id = $1 AND version = $2 AND status = $6`, b.ID, b.Version, Cancelled, reason, sqldb.Micros(s.now()), Booked)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return s.why(ctx, tx, b.ID, Booked)
	}
	_, err = tx.Exec(ctx, `DELETE FROM portal_appt_claims WHERE booking_id = $1`, b.ID)
	return err
}

// Close announces an exceptional closure of a whole place over [from, to):
// no slot is offered there any more, and every active booking overlapping
// it is cancelled (OnChange per booking, Kind ChangeClosure) in the same
// transaction. It returns the cancelled bookings.
func (s *Store) Close(ctx context.Context, placeID string, from, to time.Time, reason string) ([]Booking, error) {
	return s.close(ctx, placeID, "", from, to, reason)
}

// CloseResource is Close for one resource (a doctor fallen ill).
func (s *Store) CloseResource(ctx context.Context, resourceID string, from, to time.Time, reason string) ([]Booking, error) {
	r, err := s.Resource(ctx, resourceID)
	if err != nil {
		return nil, err
	}
	return s.close(ctx, r.PlaceID, resourceID, from, to, reason)
}

func (s *Store) close(ctx context.Context, placeID, resourceID string, from, to time.Time, reason string) ([]Booking, error) {
	if !from.Before(to) {
		return nil, &ValidationError{Fields: []FieldError{{"to", "Конец закрытия должен быть позже начала", "The closure must end after it starts"}}}
	}
	var out []Booking
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		out = nil
		if _, err := s.place(ctx, tx, placeID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO portal_appt_closures (id, place_id, resource_id, starts_at, ends_at, reason, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, sqldb.NewID(), placeID, resourceID, sqldb.Micros(from), sqldb.Micros(to), reason, sqldb.Micros(s.now())); err != nil {
			return err
		}
		// Bump the resources: a booking in flight on them has either
		// committed (and is found below) or waits and then sees the closure.
		if _, err := tx.Exec(ctx, `UPDATE portal_appt_resources SET touched = touched + 1 WHERE place_id = $1 AND ($2 = '' OR id = $2)`,
			placeID, resourceID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+bookingColumns+bookingFrom+` WHERE b.place_id = $1 AND ($2 = '' OR b.resource_id = $2)
			AND b.status = $3 AND b.starts_at < $4 AND b.ends_at > $5 ORDER BY b.starts_at, b.id`,
			placeID, resourceID, Booked, sqldb.Micros(to), sqldb.Micros(from))
		if err != nil {
			return err
		}
		hit, err := sqldb.Collect(rows, scanBooking)
		if err != nil {
			return err
		}
		for i := range hit {
			if err := s.cancel(ctx, tx, &hit[i], ByClosure); err != nil {
				return err
			}
			if err := s.changed(ctx, tx, ChangeClosure, hit[i].ID, nil, reason); err != nil {
				return err
			}
			b, err := s.get(ctx, tx, hit[i].ID)
			if err != nil {
				return err
			}
			out = append(out, *b)
		}
		return nil
	})
	return out, err
}

// Mark records an officer's outcome of a booking at version: booked →
// arrived or no_show, arrived → served; only from the visit's day (in the
// place's zone) on. Wrong transitions are ErrTransition, a stale version
// ErrConflict, a day not yet come ErrTooEarly.
func (s *Store) Mark(ctx context.Context, id string, version int64, outcome Status, officer string) (*Booking, error) {
	b, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(outcomes[b.Status], outcome) {
		return nil, fmt.Errorf("%w: %s to %s", ErrTransition, b.Status, outcome)
	}
	loc, err := LoadTZ(b.TZ)
	if err != nil {
		return nil, err
	}
	if DateOf(s.now().In(loc)).Before(DateOf(b.Start.In(loc))) {
		return nil, ErrTooEarly
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE portal_appt_bookings SET status = $3, officer = $4, version = version + 1, updated_at = $5
			WHERE id = $1 AND version = $2 AND status = $6`, id, version, outcome, officer, sqldb.Micros(s.now()), b.Status)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return s.why(ctx, tx, id, b.Status)
		}
		return s.changed(ctx, tx, ChangeMarked, id, nil)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}
