package notify

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// Store keeps preferences, subscriptions and delivery statuses.
type Store struct {
	db  *sqldb.DB
	now func() time.Time
}

// NewStore returns a store on db; now nil is time.Now.
func NewStore(db *sqldb.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

// Matrix returns the citizen's matrix: the defaults with their choices.
func (s *Store) Matrix(ctx context.Context, q sqldb.Querier, subject string) (Matrix, error) {
	rows, err := q.Query(ctx, `SELECT event, channel, enabled FROM portal_notify_prefs WHERE subject = $1`, subject)
	if err != nil {
		return nil, err
	}
	type cell struct {
		e  Event
		c  Channel
		on bool
	}
	cells, err := sqldb.Collect(rows, func(r sqldb.Scanner) (cell, error) {
		var c cell
		return c, r.Scan(&c.e, &c.c, &c.on)
	})
	if err != nil {
		return nil, err
	}
	m := Defaults()
	for _, c := range cells {
		if row, ok := m[c.e]; ok && Offered(c.e, c.c) {
			row[c.c] = c.on
		}
	}
	return m, nil
}

// SetMatrix stores m as the citizen's choice: the cells that differ from
// the defaults, replacing what was stored, in one transaction.
func (s *Store) SetMatrix(ctx context.Context, subject string, m Matrix) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM portal_notify_prefs WHERE subject = $1`, subject); err != nil {
			return err
		}
		for _, e := range Events {
			for _, c := range Sent {
				if !Offered(e, c) || m.On(e, c) == Default(e, c) {
					continue
				}
				if _, err := tx.Exec(ctx, `INSERT INTO portal_notify_prefs (subject, event, channel, enabled) VALUES ($1, $2, $3, $4)`,
					subject, string(e), string(c), m.On(e, c)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Turn sets one cell (the unsubscribe link of a notice's e-mail).
func (s *Store) Turn(ctx context.Context, subject string, e Event, c Channel, on bool) error {
	if !Offered(e, c) {
		return errors.New("notify: not a choice")
	}
	_, err := s.db.Exec(ctx, `INSERT INTO portal_notify_prefs (subject, event, channel, enabled) VALUES ($1, $2, $3, $4)
		ON CONFLICT (subject, event, channel) DO UPDATE SET enabled = $4`, subject, string(e), string(c), on)
	return err
}

// ZoneOf is the citizen's time zone for quiet hours, and whether they
// chose it.
func (s *Store) ZoneOf(ctx context.Context, q sqldb.Querier, subject string) (string, bool, error) {
	var tz string
	err := q.QueryRow(ctx, `SELECT tz FROM portal_notify_settings WHERE subject = $1`, subject).Scan(&tz)
	if errors.Is(err, sqldb.ErrNotFound) {
		return DefaultZone, false, nil
	}
	return tz, err == nil, err
}

// SetZone stores the citizen's time zone (one of Zones).
func (s *Store) SetZone(ctx context.Context, subject, tz string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO portal_notify_settings (subject, tz, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (subject) DO UPDATE SET tz = $2, updated_at = $3`, subject, tz, sqldb.Micros(s.now()))
	return err
}

// Subscriptions are the categories the citizen subscribed to.
func (s *Store) Subscriptions(ctx context.Context, subject string) (map[Category]bool, error) {
	cats, err := sqldb.Strings(ctx, s.db, `SELECT category FROM portal_subscriptions WHERE subject = $1`, subject)
	out := map[Category]bool{}
	for _, c := range cats {
		out[Category(c)] = true
	}
	return out, err
}

// Subscribe subscribes or unsubscribes the citizen to a category; doing
// what is already done is no error.
func (s *Store) Subscribe(ctx context.Context, subject string, c Category, on bool) error {
	if !ValidCategory(c) {
		return errors.New("notify: unknown category")
	}
	if !on {
		_, err := s.db.Exec(ctx, `DELETE FROM portal_subscriptions WHERE category = $1 AND subject = $2`, string(c), subject)
		return err
	}
	_, err := s.db.Exec(ctx, `INSERT INTO portal_subscriptions (category, subject, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (category, subject) DO NOTHING`, string(c), subject, sqldb.Micros(s.now()))
	return err
}

// Apply undoes what an unsubscribe token names.
func (s *Store) Apply(ctx context.Context, u Unsubscribe) error {
	if u.Category != "" {
		return s.Subscribe(ctx, u.Subject, u.Category, false)
	}
	return s.Turn(ctx, u.Subject, u.Event, u.Channel, false)
}

// Delivery statuses (see the package comment).
const (
	Pending   = "pending"
	Deferred  = "deferred"
	Sending   = "sending"
	SentOK    = "sent"
	Failed    = "failed"
	Off       = "off"
	NoContact = "no_contact"
	Limited   = "limited"
	Skipped   = "skipped"
)

// Final reports whether a delivery status is the end of its story.
func Final(status string) bool {
	switch status {
	case SentOK, Failed, Off, NoContact, Limited, Skipped:
		return true
	}
	return false
}

// Delivery is a notice's status on one channel.
type Delivery struct {
	Channel  Channel
	Status   string
	Attempts int
	Until    time.Time // deferred: when quiet hours end
	At       time.Time // of the last change
}

// Queue writes a new notice's row for channel c in tx: Pending, or Off.
func (s *Store) Queue(ctx context.Context, tx *sqldb.Tx, notice, subject string, c Channel, status string) error {
	_, err := tx.Exec(ctx, `INSERT INTO portal_deliveries (notice_id, channel, subject, status, updated_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (notice_id, channel) DO NOTHING`,
		notice, string(c), subject, status, sqldb.Micros(s.now()))
	return err
}

// ErrDone: the delivery is final already; nothing is to be sent.
var ErrDone = errors.New("notify: delivery already final")

// BusyError: another run marked the delivery "sending" less than
// SendingLease ago. It may be sending now, or it may have died (a replica
// killed mid-call): try again at Until, when a dead run's lease is over.
type BusyError struct{ Until time.Time }

func (e *BusyError) Error() string { return "notify: delivery being sent by another run" }

// SendingLease is how long a delivery marked "sending" is taken to be in
// the hands of the run that marked it: longer than a delivery job may run,
// shorter than the job queue waits before it rescues the job of a replica
// that died (whose rerun then sends again, with the same dedupe key).
const SendingLease = 2 * time.Minute

// Begin marks a delivery "sending" and counts the attempt, unless it is
// final (ErrDone). It returns the attempt
// number. Committed before the gateway is called: see the package comment.
// A delivery "sending" under another run's lease is a *BusyError.
func (s *Store) Begin(ctx context.Context, notice string, c Channel) (int, error) {
	var attempts int
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var status string
		var at int64
		if err := tx.QueryRow(ctx, `SELECT status, attempts, updated_at FROM portal_deliveries WHERE notice_id = $1 AND channel = $2`,
			notice, string(c)).Scan(&status, &attempts, &at); err != nil {
			return err
		}
		if Final(status) {
			return ErrDone
		}
		if status == Sending && s.now().Sub(sqldb.Time(at)) < SendingLease {
			return &BusyError{Until: sqldb.Time(at).Add(SendingLease)}
		}
		attempts++
		res, err := tx.Exec(ctx, `UPDATE portal_deliveries SET status = $3, attempts = $4, until = NULL, updated_at = $5
			WHERE notice_id = $1 AND channel = $2 AND attempts = $6`, notice, string(c), Sending, attempts, sqldb.Micros(s.now()), attempts-1)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrDone // another run of the same job began it just now
		}
		return nil
	})
	return attempts, err
}

// Finish records a delivery's outcome; until is set for Deferred. A final
// status is never overwritten.
func (s *Store) Finish(ctx context.Context, notice string, c Channel, status string, until time.Time) error {
	now := sqldb.Micros(s.now())
	var sent, u any
	if status == SentOK {
		sent = now
	}
	if !until.IsZero() {
		u = sqldb.Micros(until)
	}
	_, err := s.db.Exec(ctx, `UPDATE portal_deliveries SET status = $3, until = $4, sent_at = $5, updated_at = $6
		WHERE notice_id = $1 AND channel = $2 AND status NOT IN ('sent', 'failed', 'off', 'no_contact', 'limited', 'skipped')`,
		notice, string(c), status, u, sent, now)
	return err
}

// SentSince counts what was sent to the citizen on c since t (their
// per-channel limit).
func (s *Store) SentSince(ctx context.Context, subject string, c Channel, t time.Time) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM portal_deliveries WHERE subject = $1 AND channel = $2 AND sent_at >= $3`,
		subject, string(c), sqldb.Micros(t)).Scan(&n)
	return n, err
}

// Deliveries are a notice's statuses per channel, in Channels' order.
func (s *Store) Deliveries(ctx context.Context, notice string) ([]Delivery, error) {
	rows, err := s.db.Query(ctx, `SELECT channel, status, attempts, COALESCE(until, 0), updated_at FROM portal_deliveries
		WHERE notice_id = $1`, notice)
	if err != nil {
		return nil, err
	}
	ds, err := sqldb.Collect(rows, func(r sqldb.Scanner) (Delivery, error) {
		var d Delivery
		var until, at int64
		err := r.Scan(&d.Channel, &d.Status, &d.Attempts, &until, &at)
		if until != 0 {
			d.Until = sqldb.Time(until)
		}
		d.At = sqldb.Time(at)
		return d, err
	})
	slices.SortFunc(ds, func(a, b Delivery) int {
		return slices.Index(Channels, a.Channel) - slices.Index(Channels, b.Channel)
	})
	return ds, err
}
