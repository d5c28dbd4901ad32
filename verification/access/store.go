package access

import (
	"context"
	"errors"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
)

// Limits of a code.
const (
	// TTL is how long a code is valid after it is issued.
	TTL = 24 * time.Hour
	// MaxTries wrong entries spend a code.
	MaxTries = 3
)

// ErrRefused: the code is wrong, spent, expired or was never issued for
// the account. The citizen is told the same in every case, and the same
// as for a login that is no account's.
var ErrRefused = errors.New("access: code refused")

// MAC makes the keyed hash of a code (keys.Manager's blind index).
type MAC interface {
	BlindIndex(domain, value string) []byte
}

// Recorder records an issued code among an office's operations (the
// desk's supervisor reports: verification/desk.Store), in the
// transaction that issues it.
type Recorder interface {
	RecordAccessCode(ctx context.Context, q sqldb.Querier, org, operatorID, accountID string) error
}

// Store keeps the codes: one per account, only its keyed hash.
type Store struct {
	db       *sqldb.DB
	activity *account.Activity
	mac      MAC
	now      func() time.Time
	// Reports, when set, hears of every code issued.
	Reports Recorder
}

// NewStore returns the store on db; issuing goes to the activity log of
// activity; now is the clock.
func NewStore(db *sqldb.DB, activity *account.Activity, mac MAC, now func() time.Time) *Store {
	return &Store{db: db, activity: activity, mac: mac, now: now}
}

// hash binds the code to its account: a code is worth nothing for another.
func (s *Store) hash(accountID, code string) []byte {
	return s.mac.BlindIndex("access-code", accountID+"\x00"+code)
}

// Issued is a code just issued, to be shown once.
type Issued struct {
	Code      string // canonical; Format shows it
	ExpiresAt time.Time
}

// Issue makes a new code for the account, replacing any earlier one, and
// records it in the account's activity log with by (the operator and
// office, staff.Member.Actor) as actor and among the office's operations
// (Reports), in one transaction.
func (s *Store) Issue(ctx context.Context, accountID, operatorID string, by audit.Actor, org string) (Issued, error) {
	code := newCode()
	now := s.now()
	exp := now.Add(TTL)
	e := audit.Entry{AccountID: accountID, Actor: by, Action: audit.ActionAccessCodeIssued,
		Detail: map[string]string{"org": org, "expires": exp.UTC().Format(time.RFC3339)}}
	err := s.activity.ChangeTx(ctx, e, func(tx *sqldb.Tx, _ *account.Store) error {
		_, err := tx.Exec(ctx, `INSERT INTO access_codes (account_id, code_hash, issued_by, org_code, issued_at, expires_at, failures, spent_at)
			VALUES ($1, $2, $3, $4, $5, $6, 0, NULL)
			ON CONFLICT (account_id) DO UPDATE SET code_hash = excluded.code_hash, issued_by = excluded.issued_by,
				org_code = excluded.org_code, issued_at = excluded.issued_at, expires_at = excluded.expires_at, failures = 0, spent_at = NULL`,
			accountID, s.hash(accountID, code), by.ID, org, sqldb.Micros(now), sqldb.Micros(exp))
		if err != nil || s.Reports == nil {
			return err
		}
		return s.Reports.RecordAccessCode(ctx, tx, org, operatorID, accountID)
	})
	if err != nil {
		return Issued{}, err
	}
	return Issued{Code: code, ExpiresAt: exp}, nil
}

// Check tells whether code is the account's live code (ErrRefused when
// not) and returns its hash, which Spend takes at the end of the flow. A
// wrong code counts against the live one; the MaxTries-th spends it. The
// counting is one conditional UPDATE, so that concurrent guesses on
// several replicas cannot get more tries between them.
func (s *Store) Check(ctx context.Context, accountID, code string) ([]byte, error) {
	h := s.hash(accountID, code)
	now := sqldb.Micros(s.now())
	res, err := s.db.Exec(ctx, `UPDATE access_codes SET failures = failures + 1,
			spent_at = CASE WHEN failures + 1 >= $4 THEN $3 ELSE spent_at END
		WHERE account_id = $1 AND code_hash <> $2 AND spent_at IS NULL AND expires_at > $3`, accountID, h, now, MaxTries)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil, ErrRefused
	}
	var live int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM access_codes
		WHERE account_id = $1 AND code_hash = $2 AND spent_at IS NULL AND expires_at > $3`, accountID, h, now).Scan(&live); err != nil {
		return nil, err
	}
	if live == 0 {
		return nil, ErrRefused
	}
	return h, nil
}

// Spend uses up the code of hash h inside tx, the transaction of what the
// code allowed: ErrRefused (and the caller rolls back) when it is no longer
// live — spent by a concurrent flow, replaced, or expired meanwhile.
func (s *Store) Spend(ctx context.Context, tx sqldb.Querier, accountID string, h []byte) error {
	now := sqldb.Micros(s.now())
	res, err := tx.Exec(ctx, `UPDATE access_codes SET spent_at = $3
		WHERE account_id = $1 AND code_hash = $2 AND spent_at IS NULL AND expires_at > $3`, accountID, h, now)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrRefused
	}
	return nil
}

// Sweep deletes codes spent or expired more than a week ago.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	old := sqldb.Micros(s.now().Add(-7 * 24 * time.Hour))
	res, err := s.db.Exec(ctx, `DELETE FROM access_codes WHERE expires_at < $1 OR spent_at < $1`, old)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
