package desk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// CodeTTL is how long a confirmation code stays valid.
const CodeTTL = 30 * 24 * time.Hour

// Statuses of a code.
const (
	StatusLive      = "live"
	StatusCancelled = "cancelled" // by its citizen
	StatusConfirmed = "confirmed" // the identity was confirmed at a desk
	StatusExpired   = "expired"
)

// Actions of desk operations.
const (
	ActionViewed    = "viewed"    // the citizen's data shown unmasked
	ActionConfirmed = "confirmed" // the identity confirmed
	ActionRefused   = "refused"   // confirmation refused, with a reason
	ActionCorrected = "corrected" // a passport field corrected, a registry check started
	ActionChecked   = "checked"   // a registry check started without a correction
	// ActionAccessCode: a temporary access code issued (verification/access
	// may record it here with Record, in its own transaction, to have it
	// in the office's report).
	ActionAccessCode = "access_code"
)

// Reasons of a refusal, in the order the form lists them.
var Reasons = []string{"no_documents", "mismatch", "invalid_passport", "other"}

// Code is a citizen's confirmation code.
type Code struct {
	ID        string
	AccountID string
	// Code is the code itself (opened from its sealed copy).
	Code      string
	Region    string
	Status    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Operation is one thing staff did at an office's desk.
type Operation struct {
	ID         string
	OrgCode    string
	OperatorID string
	AccountID  string
	Action     string
	Reason     string
	Note       string
	// Documents checked, comma-separated ("passport,snils").
	Documents string
	CreatedAt time.Time
}

// Keys seal codes at rest and index them (keys.Manager).
type Keys interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, blob, aad []byte) ([]byte, error)
	BlindIndex(domain, value string) []byte
}

// Store keeps codes and operations.
type Store struct {
	db   sqldb.Runner
	keys Keys
	now  func() time.Time
}

// NewStore returns the store over db.
func NewStore(db *sqldb.DB, keys Keys, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, keys: keys, now: now}
}

// With returns the store working in q, a caller's transaction: the
// caller's other writes (an activity-log entry) commit with the store's.
func (s *Store) With(q sqldb.Runner) *Store {
	c := *s
	c.db = q
	return &c
}

// ErrLive: the account already has a live code.
var ErrLive = errors.New("desk: the account has a live code")

const indexDomain = "desk_code"

func codeAAD(id string) []byte { return []byte("desk_codes.code|" + id) }

// NewID returns a random id of a code or an operation.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Issue gives the account a new code for region, valid CodeTTL; ErrLive
// when it has a live one (an expired one is marked so first).
func (s *Store) Issue(ctx context.Context, accountID, region string) (*Code, error) {
	now := s.now()
	c := &Code{ID: NewID(), AccountID: accountID, Region: region, Status: StatusLive, CreatedAt: now, ExpiresAt: now.Add(CodeTTL)}
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE desk_codes SET status = $3, closed_at = $2 WHERE account_id = $1 AND status = $4 AND expires_at <= $2`,
			accountID, sqldb.Micros(now), StatusExpired, StatusLive); err != nil {
			return err
		}
		// A collision of two random codes is rare but possible: draw again.
		for range 3 {
			c.Code = newCode()
			sealed, err := s.keys.Seal([]byte(c.Code), codeAAD(c.ID))
			if err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM desk_codes WHERE code_index = $1`, s.index(c.Code)).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			_, err = tx.Exec(ctx, `INSERT INTO desk_codes (id, account_id, code_index, code_enc, region, status, created_at, expires_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, c.ID, accountID, s.index(c.Code), sealed, region, StatusLive,
				sqldb.Micros(now), sqldb.Micros(c.ExpiresAt))
			if errors.Is(err, sqldb.ErrConflict) {
				return ErrLive
			}
			return err
		}
		return fmt.Errorf("desk: no free code after 3 draws")
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (s *Store) index(code string) []byte { return s.keys.BlindIndex(indexDomain, code) }

const codeColumns = `id, account_id, code_enc, region, status, created_at, expires_at`

func (s *Store) scanCode(ctx context.Context, r sqldb.Scanner) (*Code, error) {
	var c Code
	var sealed []byte
	var created, expires int64
	if err := r.Scan(&c.ID, &c.AccountID, &sealed, &c.Region, &c.Status, &created, &expires); err != nil {
		return nil, err
	}
	c.CreatedAt, c.ExpiresAt = sqldb.Time(created), sqldb.Time(expires)
	b, err := s.keys.Open(ctx, sealed, codeAAD(c.ID))
	if err != nil {
		return nil, fmt.Errorf("desk: code %s: %w", c.ID, err)
	}
	c.Code = string(b)
	return &c, nil
}

// Live returns the account's live code; sqldb.ErrNotFound when it has
// none (an expired code is not live).
func (s *Store) Live(ctx context.Context, accountID string) (*Code, error) {
	return s.scanCode(ctx, s.db.QueryRow(ctx, `SELECT `+codeColumns+` FROM desk_codes WHERE account_id = $1 AND status = $2 AND expires_at > $3`,
		accountID, StatusLive, sqldb.Micros(s.now())))
}

// Find returns the live code code (normalized); sqldb.ErrNotFound when no
// live code is that.
func (s *Store) Find(ctx context.Context, code string) (*Code, error) {
	return s.scanCode(ctx, s.db.QueryRow(ctx, `SELECT `+codeColumns+` FROM desk_codes WHERE code_index = $1 AND status = $2 AND expires_at > $3`,
		s.index(code), StatusLive, sqldb.Micros(s.now())))
}

// Cancel ends the account's live code (its citizen's choice);
// sqldb.ErrNotFound when there is none.
func (s *Store) Cancel(ctx context.Context, accountID string) error {
	return s.close(ctx, s.db, accountID, StatusCancelled)
}

func (s *Store) close(ctx context.Context, q sqldb.Querier, accountID, status string) error {
	res, err := q.Exec(ctx, `UPDATE desk_codes SET status = $2, closed_at = $3 WHERE account_id = $1 AND status = $4`,
		accountID, status, sqldb.Micros(s.now()), StatusLive)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sqldb.ErrNotFound
	}
	return nil
}

// RecordAccessCode records a temporary access code issued at office org
// (verification/access.Recorder), in q.
func (s *Store) RecordAccessCode(ctx context.Context, q sqldb.Querier, org, operatorID, accountID string) error {
	return s.Record(ctx, q, &Operation{OrgCode: org, OperatorID: operatorID, AccountID: accountID, Action: ActionAccessCode})
}

// Record writes an operation in q (a transaction with the change it
// records, or the database); its id and time are set when empty.
func (s *Store) Record(ctx context.Context, q sqldb.Querier, op *Operation) error {
	if op.ID == "" {
		op.ID = NewID()
	}
	if op.CreatedAt.IsZero() {
		op.CreatedAt = s.now()
	}
	_, err := q.Exec(ctx, `INSERT INTO desk_operations (id, org_code, operator_id, account_id, action, reason, note, documents, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, op.ID, op.OrgCode, op.OperatorID, op.AccountID, op.Action, op.Reason, op.Note,
		op.Documents, sqldb.Micros(op.CreatedAt))
	return err
}

const opColumns = `id, org_code, operator_id, account_id, action, reason, note, documents, created_at`

func scanOp(r sqldb.Scanner) (Operation, error) {
	var op Operation
	var at int64
	err := r.Scan(&op.ID, &op.OrgCode, &op.OperatorID, &op.AccountID, &op.Action, &op.Reason, &op.Note, &op.Documents, &at)
	op.CreatedAt = sqldb.Time(at)
	return op, err
}

// LastRefusal returns the account's newest refusal; sqldb.ErrNotFound
// when it has none.
func (s *Store) LastRefusal(ctx context.Context, accountID string) (Operation, error) {
	op, err := scanOp(s.db.QueryRow(ctx, `SELECT `+opColumns+` FROM desk_operations WHERE account_id = $1 AND action = $2
		ORDER BY created_at DESC, id DESC LIMIT 1`, accountID, ActionRefused))
	return op, err
}

// Operations lists an office's operations in [from, to), oldest first.
func (s *Store) Operations(ctx context.Context, orgCode string, from, to time.Time) ([]Operation, error) {
	rows, err := s.db.Query(ctx, `SELECT `+opColumns+` FROM desk_operations WHERE org_code = $1 AND created_at >= $2 AND created_at < $3
		ORDER BY created_at, id`, orgCode, sqldb.Micros(from), sqldb.Micros(to))
	if err != nil {
		return nil, err
	}
	return sqldb.Collect(rows, scanOp)
}

// Tally is one operator's operations on one day.
type Tally struct {
	Day        string // YYYY-MM-DD (the report writes it ДД.ММ.ГГГГ)
	OperatorID string
	// Operator is the operator's name (set by the report, not the store).
	Operator                                                           string
	Confirmed, Refused, Viewed, Corrected, Checked, AccessCodes, Other int
}

// Daily counts an office's operations in [from, to) per operator and day
// (days in loc), by day then operator.
func (s *Store) Daily(ctx context.Context, orgCode string, from, to time.Time, loc *time.Location) ([]Tally, error) {
	ops, err := s.Operations(ctx, orgCode, from, to)
	if err != nil {
		return nil, err
	}
	var out []Tally
	at := map[[2]string]int{}
	for _, op := range ops {
		k := [2]string{op.CreatedAt.In(loc).Format(time.DateOnly), op.OperatorID}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, Tally{Day: k[0], OperatorID: k[1]})
		}
		t := &out[i]
		switch op.Action {
		case ActionConfirmed:
			t.Confirmed++
		case ActionRefused:
			t.Refused++
		case ActionViewed:
			t.Viewed++
		case ActionCorrected:
			t.Corrected++
		case ActionChecked:
			t.Checked++
		case ActionAccessCode:
			t.AccessCodes++
		default:
			t.Other++
		}
	}
	slices.SortStableFunc(out, func(a, b Tally) int {
		if c := strings.Compare(a.Day, b.Day); c != 0 {
			return c
		}
		return strings.Compare(a.OperatorID, b.OperatorID)
	})
	return out, nil
}

// SweepExpired marks live codes past their time expired.
func (s *Store) SweepExpired(ctx context.Context) (int, error) {
	now := sqldb.Micros(s.now())
	res, err := s.db.Exec(ctx, `UPDATE desk_codes SET status = $1, closed_at = $2 WHERE status = $3 AND expires_at <= $2`,
		StatusExpired, now, StatusLive)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
