package appointments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// Store keeps places, resources and bookings in the portal's database.
type Store struct {
	db  *sqldb.DB
	now func() time.Time
	// CutOff: a citizen may not reschedule or cancel later than this before
	// the start (default 2 h).
	CutOff time.Duration
	// Horizon: how far ahead one can book (default 30 days).
	Horizon time.Duration
	// Lead: the earliest bookable start is now + Lead (default 15 min), so
	// that nobody books a slot that begins while they walk in.
	Lead time.Duration
	// OnChange, when set, runs inside the transaction of every booking
	// change: what it enqueues (reminders, notices) exists only if the
	// change commits. It may run more than once per change when the
	// transaction is retried; only the committed run counts.
	OnChange func(ctx context.Context, tx *sqldb.Tx, c Change) error
}

// NewStore returns a store; now nil is time.Now.
func NewStore(db *sqldb.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now, CutOff: 2 * time.Hour, Horizon: 30 * 24 * time.Hour, Lead: 15 * time.Minute}
}

// SavePlace creates or replaces a place (its resources stay).
func (s *Store) SavePlace(ctx context.Context, p Place) error {
	if err := p.Validate(); err != nil {
		return err
	}
	week, err := json.Marshal(p.Week)
	if err != nil {
		return err
	}
	if p.Exceptions == nil {
		p.Exceptions = []Exception{}
	}
	exc, err := json.Marshal(p.Exceptions)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, `INSERT INTO portal_appt_places (id, agency, kind, name, region, address, phone, tz, week, exceptions, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO UPDATE SET agency = excluded.agency, kind = excluded.kind, name = excluded.name, region = excluded.region,
			address = excluded.address, phone = excluded.phone, tz = excluded.tz, week = excluded.week, exceptions = excluded.exceptions,
			updated_at = excluded.updated_at`,
		p.ID, p.Agency, p.Kind, p.Name, p.Region, p.Address, p.Phone, p.TZ, string(week), string(exc), sqldb.Micros(s.now()))
	return err
}

const placeColumns = `id, agency, kind, name, region, address, phone, tz, week, exceptions`

func scanPlace(r sqldb.Scanner) (Place, error) {
	var p Place
	var week, exc string
	if err := r.Scan(&p.ID, &p.Agency, &p.Kind, &p.Name, &p.Region, &p.Address, &p.Phone, &p.TZ, &week, &exc); err != nil {
		if errors.Is(err, sqldb.ErrNotFound) {
			return p, ErrNotFound
		}
		return p, err
	}
	if err := json.Unmarshal([]byte(week), &p.Week); err != nil {
		return p, fmt.Errorf("appointments: place %s week: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(exc), &p.Exceptions); err != nil {
		return p, fmt.Errorf("appointments: place %s exceptions: %w", p.ID, err)
	}
	return p, nil
}

// Place returns a place by id.
func (s *Store) Place(ctx context.Context, id string) (*Place, error) {
	return s.place(ctx, s.db, id)
}

func (s *Store) place(ctx context.Context, q sqldb.Querier, id string) (*Place, error) {
	p, err := scanPlace(q.QueryRow(ctx, `SELECT `+placeColumns+` FROM portal_appt_places WHERE id = $1`, id))
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// Filter narrows Places; empty fields match everything.
type Filter struct {
	ServiceID string // places with a resource serving it
	Region    string
	Agency    string
	Specialty string // places with a doctor of this specialty
}

// Places returns the places matching f, by region then name.
func (s *Store) Places(ctx context.Context, f Filter) ([]Place, error) {
	q := `SELECT ` + placeColumns + ` FROM portal_appt_places p WHERE 1 = 1`
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Region != "" {
		q += ` AND region = ` + arg(f.Region)
	}
	if f.Agency != "" {
		q += ` AND agency = ` + arg(f.Agency)
	}
	if f.ServiceID != "" || f.Specialty != "" {
		q += ` AND EXISTS (SELECT 1 FROM portal_appt_resources r JOIN portal_appt_resource_services rs ON rs.resource_id = r.id WHERE r.place_id = p.id`
		if f.ServiceID != "" {
			q += ` AND rs.service_id = ` + arg(f.ServiceID)
		}
		if f.Specialty != "" {
			q += ` AND r.specialty = ` + arg(f.Specialty)
		}
		q += `)`
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY region, name, id`, args...)
	if err != nil {
		return nil, err
	}
	return sqldb.Collect(rows, scanPlace)
}

// SaveResource creates or replaces a resource and the services it serves.
// Its step cannot change while it has upcoming bookings.
func (s *Store) SaveResource(ctx context.Context, r Resource) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := s.place(ctx, tx, r.PlaceID); err != nil {
			if errors.Is(err, ErrNotFound) {
				return &ValidationError{Fields: []FieldError{{"place_id", "Нет такого места", "No such place"}}}
			}
			return err
		}
		// Claims are keyed by grid cell: a new step would misalign the
		// upcoming bookings' cells with the new grid's, so it waits until
		// they are over (or cancelled by a closure).
		var step, upcoming int
		err := tx.QueryRow(ctx, `SELECT step, (SELECT COUNT(*) FROM portal_appt_bookings WHERE resource_id = $1 AND status = $2 AND ends_at > $3)
			FROM portal_appt_resources WHERE id = $1`, r.ID, Booked, sqldb.Micros(s.now())).Scan(&step, &upcoming)
		if err != nil && !errors.Is(err, sqldb.ErrNotFound) {
			return err
		}
		if err == nil && step != r.Step && upcoming > 0 {
			return &ValidationError{Fields: []FieldError{{"step", "Шаг записи нельзя менять, пока есть предстоящие записи", "The step cannot change while there are upcoming bookings"}}}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO portal_appt_resources (id, place_id, kind, name, specialty, step, capacity)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (id) DO UPDATE SET place_id = excluded.place_id, kind = excluded.kind, name = excluded.name,
				specialty = excluded.specialty, step = excluded.step, capacity = excluded.capacity,
				touched = portal_appt_resources.touched + 1`,
			r.ID, r.PlaceID, r.Kind, r.Name, r.Specialty, r.Step, r.Capacity); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM portal_appt_resource_services WHERE resource_id = $1`, r.ID); err != nil {
			return err
		}
		for _, svc := range r.Services {
			if _, err := tx.Exec(ctx, `INSERT INTO portal_appt_resource_services (resource_id, service_id) VALUES ($1, $2)
				ON CONFLICT DO NOTHING`, r.ID, svc); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteResource removes a resource that has no upcoming active booking
// (ErrInUse otherwise: close it first, which cancels them).
func (s *Store) DeleteResource(ctx context.Context, id string) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		// Touch first: a booking racing this delete either commits before
		// (and is counted below) or waits and then finds no resource.
		res, err := tx.Exec(ctx, `UPDATE portal_appt_resources SET touched = touched + 1 WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM portal_appt_bookings WHERE resource_id = $1 AND status = $2 AND ends_at > $3`,
			id, Booked, sqldb.Micros(s.now())).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrInUse
		}
		_, err = tx.Exec(ctx, `DELETE FROM portal_appt_resources WHERE id = $1`, id)
		return err
	})
}

func scanResource(r sqldb.Scanner) (Resource, error) {
	var res Resource
	var services string
	err := r.Scan(&res.ID, &res.PlaceID, &res.Kind, &res.Name, &res.Specialty, &res.Step, &res.Capacity, &services)
	if services != "" {
		res.Services = strings.Split(services, ",")
	}
	return res, err
}

// resourceQuery lists resources with their services joined by commas
// (service IDs cannot hold a comma); string_agg and group_concat differ,
// so the aggregation is done in Go.
func (s *Store) resources(ctx context.Context, q sqldb.Querier, where string, args ...any) ([]Resource, error) {
	rows, err := q.Query(ctx, `SELECT r.id, r.place_id, r.kind, r.name, r.specialty, r.step, r.capacity, COALESCE(rs.service_id, '')
		FROM portal_appt_resources r LEFT JOIN portal_appt_resource_services rs ON rs.resource_id = r.id
		WHERE `+where+` ORDER BY r.name, r.id, rs.service_id`, args...)
	if err != nil {
		return nil, err
	}
	flat, err := sqldb.Collect(rows, scanResource)
	if err != nil {
		return nil, err
	}
	var out []Resource
	for _, r := range flat {
		if n := len(out); n > 0 && out[n-1].ID == r.ID {
			out[n-1].Services = append(out[n-1].Services, r.Services...)
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// Resources returns a place's resources, by name.
func (s *Store) Resources(ctx context.Context, placeID string) ([]Resource, error) {
	return s.resources(ctx, s.db, `r.place_id = $1`, placeID)
}

// Resource returns one resource.
func (s *Store) Resource(ctx context.Context, id string) (*Resource, error) {
	rs, err := s.resources(ctx, s.db, `r.id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, ErrNotFound
	}
	return &rs[0], nil
}

// Specialties lists the doctors' specialties offering a service in a
// region (region "" is everywhere), sorted.
func (s *Store) Specialties(ctx context.Context, serviceID, region string) ([]string, error) {
	return sqldb.Strings(ctx, s.db, `SELECT DISTINCT r.specialty FROM portal_appt_resources r
		JOIN portal_appt_resource_services rs ON rs.resource_id = r.id
		JOIN portal_appt_places p ON p.id = r.place_id
		WHERE rs.service_id = $1 AND ($2 = '' OR p.region = $2) AND r.specialty <> ''
		ORDER BY r.specialty`, serviceID, region)
}

// SetDuration sets how long a service takes at a place; it must be a
// multiple of the step of every resource that serves it there.
func (s *Store) SetDuration(ctx context.Context, placeID, serviceID string, minutes int) error {
	if minutes < 5 || minutes > 8*60 {
		return &ValidationError{Fields: []FieldError{{"minutes", "Длительность: от 5 минут до 8 часов", "Duration: 5 minutes to 8 hours"}}}
	}
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		rs, err := s.resources(ctx, tx, `r.place_id = $1 AND rs.service_id = $2`, placeID, serviceID)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if minutes%r.Step != 0 {
				return &ValidationError{Fields: []FieldError{{"minutes", "Длительность должна быть кратна шагу записи", "The duration must be a multiple of the step"}}}
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO portal_appt_durations (place_id, service_id, minutes) VALUES ($1, $2, $3)
			ON CONFLICT (place_id, service_id) DO UPDATE SET minutes = excluded.minutes`, placeID, serviceID, minutes)
		if errors.Is(err, sqldb.ErrConflict) { // foreign key: no such place
			return ErrNotFound
		}
		return err
	})
}

// duration is a service's length at a place in minutes, 0 for one step.
func duration(ctx context.Context, q sqldb.Querier, placeID, serviceID string) (int, error) {
	var m int
	err := q.QueryRow(ctx, `SELECT minutes FROM portal_appt_durations WHERE place_id = $1 AND service_id = $2`, placeID, serviceID).Scan(&m)
	if errors.Is(err, sqldb.ErrNotFound) {
		return 0, nil
	}
	return m, err
}
