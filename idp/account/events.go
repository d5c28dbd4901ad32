package account

import (
	"context"
	"database/sql"
	"time"

	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"
)

// Event kinds of the account event log.
const (
	EventRegistered      = "registered"
	EventSignIn          = "sign_in"
	EventSignInFailed    = "sign_in_failed"
	EventLocked          = "locked"
	EventRecovered       = "password_recovered"
	EventPasswordChanged = "password_changed"
	EventSignOut         = "sign_out"
	EventBlocked         = "blocked"
	EventUnblocked       = "unblocked"
)

// Event results.
const (
	ResultOK     = "ok"
	ResultFailed = "failed"
	ResultDenied = "denied" // refused before the secret was checked: lock-out, rate limit, blocked
)

// Event is one entry of the account event log. It never holds a secret or
// an identifier typed by the citizen, only facts about the attempt.
type Event struct {
	ID        int64
	AccountID string // "" for attempts on unknown logins
	At        time.Time
	Kind      string
	Result    string
	Method    string // RFC 8176 amr values joined by space, e.g. "pwd"
	IP        string
	UserAgent string
	// Flags mark what deserves the citizen's attention: FlagNewDevice.
	Flags string
}

// FlagNewDevice marks a sign-in from a device the account had not used.
const FlagNewDevice = "new_device"

// Suspicious reports whether the citizen should look at the event twice:
// a sign-in from a new device, a failure, a lock-out.
func (e Event) Suspicious() bool {
	return e.Flags != "" || e.Result != ResultOK || e.Kind == EventLocked || e.Kind == EventSignInFailed
}

// AddEvent appends to the event log.
func (s *Store) AddEvent(ctx context.Context, e Event) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	_, err := s.db.Exec(ctx, `INSERT INTO account_events (account_id, at, kind, result, method, ip, user_agent, flags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		sql.NullString{String: e.AccountID, Valid: e.AccountID != ""}, sqldb.Micros(e.At), e.Kind, e.Result, e.Method, e.IP, validate.Truncate(e.UserAgent, 512), e.Flags)
	return err
}

// Events returns the account's events at or after since, newest first.
func (s *Store) Events(ctx context.Context, accountID string, since time.Time, limit int) ([]Event, error) {
	rows, err := s.db.Query(ctx, `SELECT id, at, kind, result, method, ip, user_agent, flags FROM account_events
		WHERE account_id = $1 AND at >= $2 ORDER BY at DESC, id DESC LIMIT $3`, accountID, sqldb.Micros(since), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e := Event{AccountID: accountID}
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.Result, &e.Method, &e.IP, &e.UserAgent, &e.Flags); err != nil {
			return nil, sqldb.Classify(err)
		}
		e.At = sqldb.Time(at)
		out = append(out, e)
	}
	return out, sqldb.Classify(rows.Err())
}
