package applications

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// Status is an application's status.
type Status string

const (
	Draft         Status = "draft"
	Received      Status = "received"
	InReview      Status = "in_review"
	InfoRequested Status = "info_requested"
	Approved      Status = "approved"
	Refused       Status = "refused"
	Cancelled     Status = "cancelled"
)

// Statuses lists every status in the order of a life.
func Statuses() []Status {
	return []Status{Draft, Received, InReview, InfoRequested, Approved, Refused, Cancelled}
}

// Final reports whether nothing can happen after s.
func (s Status) Final() bool { return s == Approved || s == Refused || s == Cancelled }

// ActorKind says who acted.
type ActorKind string

const (
	Citizen ActorKind = "citizen"
	Officer ActorKind = "officer"
	Agency  ActorKind = "agency"
)

// Actor is who made a change: a citizen or an officer by their subject at
// the identity provider, an agency's system by its client id.
type Actor struct {
	Kind ActorKind
	ID   string
}

// transitions is the state machine: who may move an application from a
// status to another.
var transitions = map[Status]map[Status][]ActorKind{
	Draft:         {Received: {Citizen}},
	Received:      {InReview: {Officer, Agency}, Cancelled: {Citizen}},
	InReview:      {InfoRequested: {Officer, Agency}, Approved: {Officer, Agency}, Refused: {Officer, Agency}},
	InfoRequested: {InReview: {Citizen, Officer, Agency}, Refused: {Officer, Agency}},
}

// Allowed reports whether actor may move an application from one status
// to another.
func Allowed(from, to Status, actor ActorKind) bool {
	return slices.Contains(transitions[from][to], actor)
}

var (
	ErrNotFound   = errors.New("applications: no such application")
	ErrTransition = errors.New("applications: not allowed from the current status")
	ErrConflict   = errors.New("applications: changed meanwhile")
)

// Sealer encrypts the form's values at rest; aad binds them to their row.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, blob, aad []byte) ([]byte, error)
}

// Application is one application.
type Application struct {
	ID        string
	Number    string // "" for a draft
	Subject   string
	ServiceID string
	Agency    string
	Status    Status
	Version   int64
	Values    map[string]string
	Officer   string
	CreatedAt time.Time
	UpdatedAt time.Time
	// SubmittedAt and DueAt are zero for a draft.
	SubmittedAt time.Time
	DueAt       time.Time
}

// Overdue reports whether the agency's time is up and it has not decided.
func (a *Application) Overdue(now time.Time) bool {
	return !a.DueAt.IsZero() && now.After(a.DueAt) && !a.Status.Final()
}

// Event is one step of an application's history.
type Event struct {
	Seq     int64
	At      time.Time
	Status  Status
	Actor   Actor
	Comment string
}

// Change is a status change as the transaction that makes it sees it.
type Change struct {
	ID, Subject, Agency string
	Status              Status
	Version             int64
	Actor               Actor
	Comment             string
}

// Store keeps applications in the portal's database.
type Store struct {
	db     *sqldb.DB
	sealer Sealer
	now    func() time.Time
	// OnChange, when set, runs inside the transaction of every status
	// change (submission included): what it writes or enqueues (an
	// agency's webhook) exists only if the change commits.
	OnChange func(ctx context.Context, tx *sqldb.Tx, c Change) error
}

// NewStore returns a store; now nil is time.Now.
func NewStore(db *sqldb.DB, sealer Sealer, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, sealer: sealer, now: now}
}

func aad(id string) []byte { return []byte("portal_applications|" + id) }

func (s *Store) seal(id string, values map[string]string) ([]byte, error) {
	if values == nil {
		values = map[string]string{}
	}
	b, err := json.Marshal(values)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	return s.sealer.Seal(b, aad(id))
}

// CreateDraft starts a citizen's draft of a service's application.
func (s *Store) CreateDraft(ctx context.Context, subject, serviceID, agency string, values map[string]string) (*Application, error) {
	now := s.now()
	a := &Application{ID: sqldb.NewID(), Subject: subject, ServiceID: serviceID, Agency: agency, Status: Draft, Version: 1,
		Values: values, CreatedAt: now, UpdatedAt: now}
	sealed, err := s.seal(a.ID, values)
	if err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO portal_applications (id, subject, service_id, agency, status, version, data_enc, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7)`, a.ID, subject, serviceID, agency, Draft, sealed, sqldb.Micros(now)); err != nil {
			return err
		}
		return addEvent(ctx, tx, a.ID, now, Draft, Actor{Citizen, subject}, "")
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func addEvent(ctx context.Context, tx *sqldb.Tx, id string, at time.Time, st Status, actor Actor, comment string) error {
	_, err := tx.Exec(ctx, `INSERT INTO portal_application_events (application_id, seq, at, status, actor_kind, actor, comment)
		VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM portal_application_events WHERE application_id = $1), $2, $3, $4, $5, $6)`,
		id, sqldb.Micros(at), st, actor.Kind, actor.ID, comment)
	return err
}

const columns = `id, COALESCE(number, ''), subject, service_id, agency, status, version, data_enc, officer, created_at, updated_at, submitted_at, due_at`

func (s *Store) scan(ctx context.Context, row interface{ Scan(...any) error }) (*Application, error) {
	var a Application
	var sealed []byte
	var created, updated int64
	var submitted, due *int64
	if err := row.Scan(&a.ID, &a.Number, &a.Subject, &a.ServiceID, &a.Agency, &a.Status, &a.Version, &sealed, &a.Officer,
		&created, &updated, &submitted, &due); err != nil {
		if errors.Is(err, sqldb.ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = sqldb.Time(created), sqldb.Time(updated)
	if submitted != nil {
		a.SubmittedAt = sqldb.Time(*submitted)
	}
	if due != nil {
		a.DueAt = sqldb.Time(*due)
	}
	plain, err := s.sealer.Open(ctx, sealed, aad(a.ID))
	if err != nil {
		return nil, fmt.Errorf("applications: open %s: %w", a.ID, err)
	}
	defer clear(plain)
	if err := json.Unmarshal(plain, &a.Values); err != nil {
		return nil, err
	}
	return &a, nil
}

// Get returns an application by id, for anyone who may see every
// application (an officer of its agency is checked by the caller).
func (s *Store) Get(ctx context.Context, id string) (*Application, error) {
	return s.scan(ctx, s.db.QueryRow(ctx, `SELECT `+columns+` FROM portal_applications WHERE id = $1`, id))
}

// Mine returns the citizen's application: another citizen's, or none, is
// ErrNotFound alike.
func (s *Store) Mine(ctx context.Context, subject, id string) (*Application, error) {
	return s.scan(ctx, s.db.QueryRow(ctx, `SELECT `+columns+` FROM portal_applications WHERE id = $1 AND subject = $2`, id, subject))
}

// ByNumber returns an application by its number.
func (s *Store) ByNumber(ctx context.Context, number string) (*Application, error) {
	return s.scan(ctx, s.db.QueryRow(ctx, `SELECT `+columns+` FROM portal_applications WHERE number = $1`, number))
}

// SaveDraft replaces a draft's values (the citizen typing; version is the
// one they had). It returns the new version.
func (s *Store) SaveDraft(ctx context.Context, subject, id string, version int64, values map[string]string) (int64, error) {
	sealed, err := s.seal(id, values)
	if err != nil {
		return 0, err
	}
	res, err := s.db.Exec(ctx, `UPDATE portal_applications SET data_enc = $4, version = version + 1, updated_at = $5
		WHERE id = $1 AND subject = $2 AND version = $3 AND status = $6`, id, subject, version, sealed, sqldb.Micros(s.now()), Draft)
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return version + 1, nil
	}
	return 0, s.why(ctx, subject, id, Draft)
}

// why explains a compare-and-swap that changed nothing.
func (s *Store) why(ctx context.Context, subject, id string, want Status) error {
	var a *Application
	var err error
	if subject != "" {
		a, err = s.Mine(ctx, subject, id)
	} else {
		a, err = s.Get(ctx, id)
	}
	switch {
	case err != nil:
		return err
	case a.Status != want:
		return fmt.Errorf("%w: it is %s", ErrTransition, a.Status)
	}
	return ErrConflict
}

// DeleteDraft removes a citizen's draft (its files are the caller's to
// remove from storage: Attachments before, then this).
func (s *Store) DeleteDraft(ctx context.Context, subject, id string) error {
	res, err := s.db.Exec(ctx, `DELETE FROM portal_applications WHERE id = $1 AND subject = $2 AND status = $3`, id, subject, Draft)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	return s.why(ctx, subject, id, Draft)
}

// numberTries bounds the draws of a free number (ten digits: a clash is
// one in millions while there are thousands of applications a day).
const numberTries = 5

// Submit submits a citizen's draft at version: it gets its number and the
// agency's due date (workingDays from now, weekends skipped).
func (s *Store) Submit(ctx context.Context, subject, id string, version int64, workingDays int) (*Application, error) {
	now := s.now()
	due := addWorkingDays(now, workingDays)
	for range numberTries {
		number := newNumber()
		var n int64
		err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
			res, err := tx.Exec(ctx, `UPDATE portal_applications SET status = $4, number = $5, version = version + 1, updated_at = $6,
				submitted_at = $6, due_at = $7 WHERE id = $1 AND subject = $2 AND version = $3 AND status = $8`,
				id, subject, version, Received, number, sqldb.Micros(now), sqldb.Micros(due), Draft)
			if err != nil {
				return err
			}
			if n, _ = res.RowsAffected(); n != 1 {
				return nil
			}
			if err := addEvent(ctx, tx, id, now, Received, Actor{Citizen, subject}, ""); err != nil {
				return err
			}
			return s.changed(ctx, tx, id, Received, version+1, Actor{Citizen, subject}, "")
		})
		if errors.Is(err, sqldb.ErrConflict) {
			continue // the number was taken: draw another
		}
		if err != nil {
			return nil, err
		}
		if n != 1 {
			return nil, s.why(ctx, subject, id, Draft)
		}
		return s.Mine(ctx, subject, id)
	}
	return nil, errors.New("applications: no free number found")
}

// changed runs OnChange for a change made in tx.
func (s *Store) changed(ctx context.Context, tx *sqldb.Tx, id string, st Status, version int64, actor Actor, comment string) error {
	if s.OnChange == nil {
		return nil
	}
	c := Change{ID: id, Status: st, Version: version, Actor: actor, Comment: comment}
	if err := tx.QueryRow(ctx, `SELECT subject, agency FROM portal_applications WHERE id = $1`, id).Scan(&c.Subject, &c.Agency); err != nil {
		return err
	}
	return s.OnChange(ctx, tx, c)
}

// newNumber draws a 10-digit number without a leading zero.
func newNumber() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(9_000_000_000))
	return fmt.Sprintf("%d", n.Int64()+1_000_000_000)
}

// addWorkingDays is t plus n days from Monday to Friday.
func addWorkingDays(t time.Time, n int) time.Time {
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return t
}

// Move changes an application's status from the status and version the
// actor saw, with a comment for its history. An officer who takes an
// application into work becomes its officer. subject, when not empty,
// limits the change to that citizen's application.
func (s *Store) Move(ctx context.Context, id, subject string, version int64, from, to Status, actor Actor, comment string) (*Application, error) {
	if !Allowed(from, to, actor.Kind) {
		return nil, fmt.Errorf("%w: %s may not move an application from %s to %s", ErrTransition, actor.Kind, from, to)
	}
	now := s.now()
	officer := ""
	if to == InReview && actor.Kind == Officer {
		officer = actor.ID
	}
	var n int64
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		q := `UPDATE portal_applications SET status = $4, version = version + 1, updated_at = $5,
			officer = CASE WHEN $6 = '' THEN officer ELSE $6 END WHERE id = $1 AND version = $2 AND status = $3`
		args := []any{id, version, from, to, sqldb.Micros(now), officer}
		if subject != "" {
			q += ` AND subject = $7`
			args = append(args, subject)
		}
		res, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ = res.RowsAffected(); n != 1 {
			return nil
		}
		if err := addEvent(ctx, tx, id, now, to, actor, comment); err != nil {
			return err
		}
		return s.changed(ctx, tx, id, to, version+1, actor, comment)
	})
	if err != nil {
		return nil, err
	}
	if n != 1 {
		return nil, s.why(ctx, subject, id, from)
	}
	return s.Get(ctx, id)
}

// History returns an application's events in order.
func (s *Store) History(ctx context.Context, id string) ([]Event, error) {
	rows, err := s.db.Query(ctx, `SELECT seq, at, status, actor_kind, actor, comment FROM portal_application_events
		WHERE application_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Status, &e.Actor.Kind, &e.Actor.ID, &e.Comment); err != nil {
			return nil, err
		}
		e.At = sqldb.Time(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// List returns the citizen's applications, the most recently changed
// first, at most limit.
func (s *Store) List(ctx context.Context, subject string, limit int) ([]*Application, error) {
	return s.list(ctx, `SELECT `+columns+` FROM portal_applications WHERE subject = $1 ORDER BY updated_at DESC, id LIMIT $2`, subject, limit)
}

// Queue returns an agency's applications in the given statuses, oldest
// submission first, after the cursor (the last one of the previous page:
// its submission time and id), at most limit.
func (s *Store) Queue(ctx context.Context, agency string, statuses []Status, after *Application, limit int) ([]*Application, error) {
	if len(statuses) == 0 {
		statuses = []Status{Received, InReview, InfoRequested}
	}
	q := `SELECT ` + columns + ` FROM portal_applications WHERE agency = $1 AND status IN (`
	args := []any{agency}
	for i, st := range statuses {
		if i > 0 {
			q += ", "
		}
		args = append(args, st)
		q += fmt.Sprintf("$%d", len(args))
	}
	q += ")"
	if after != nil {
		args = append(args, sqldb.Micros(after.SubmittedAt), after.ID)
		q += fmt.Sprintf(" AND (submitted_at > $%d OR (submitted_at = $%d AND id > $%d))", len(args)-1, len(args)-1, len(args))
	}
	args = append(args, limit)
	q += fmt.Sprintf(" ORDER BY submitted_at, id LIMIT $%d", len(args))
	return s.list(ctx, q, args...)
}

func (s *Store) list(ctx context.Context, q string, args ...any) ([]*Application, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Application
	for rows.Next() {
		a, err := s.scan(ctx, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
