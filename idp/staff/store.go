package staff

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
)

// Errors of the store.
var (
	// ErrExists: an organisation with the code exists already.
	ErrExists = errors.New("staff: organisation exists")
	// ErrInvalid: the organisation or grant is not valid (the error says
	// which field).
	ErrInvalid = errors.New("staff: invalid")
	// ErrNotConfirmed: a role needs an account at the confirmed level.
	ErrNotConfirmed = errors.New("staff: the account is not confirmed")
)

// Store keeps organisations and roles.
type Store struct {
	db       *sqldb.DB
	activity *account.Activity
	now      func() time.Time
}

// NewStore returns the store on db; grants and revocations go to the
// activity log of activity; now is the clock (nil: time.Now).
func NewStore(db *sqldb.DB, activity *account.Activity, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, activity: activity, now: now}
}

func invalid(o *Org) error {
	if p := o.Validate(); len(p) > 0 {
		return fmt.Errorf("%w: organisation %q: %v", ErrInvalid, o.Code, p)
	}
	return nil
}

// AddOrg stores a new organisation; ErrExists when the code is taken.
func (s *Store) AddOrg(ctx context.Context, o Org) error {
	if err := invalid(&o); err != nil {
		return err
	}
	now := sqldb.Micros(s.now())
	_, err := s.db.Exec(ctx, `INSERT INTO orgs (code, kind, name_ru, name_en, region, address, hours, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, o.Code, string(o.Kind), o.NameRU, o.NameEN, o.Region, o.Address, o.Hours, now)
	if errors.Is(err, sqldb.ErrConflict) {
		return fmt.Errorf("organisation %q: %w", o.Code, ErrExists)
	}
	return err
}

// UpdateOrg replaces an organisation's details; its kind may change only
// to one every role held in it fits. sqldb.ErrNotFound when there is no
// such organisation.
func (s *Store) UpdateOrg(ctx context.Context, o Org) error {
	if err := invalid(&o); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		rows, err := tx.Query(ctx, `SELECT DISTINCT role FROM staff_roles WHERE org_code = $1`, o.Code)
		if err != nil {
			return err
		}
		roles, err := sqldb.Collect(rows, func(r sqldb.Scanner) (Role, error) {
			var role string
			err := r.Scan(&role)
			return Role(role), err
		})
		if err != nil {
			return err
		}
		for _, r := range roles {
			if !r.Fits(o.Kind) {
				return fmt.Errorf("%w: kind: %s has %s roles, which a %s does not have", ErrInvalid, o.Code, r, o.Kind)
			}
		}
		res, err := tx.Exec(ctx, `UPDATE orgs SET kind = $2, name_ru = $3, name_en = $4, region = $5, address = $6, hours = $7, updated_at = $8
			WHERE code = $1`, o.Code, string(o.Kind), o.NameRU, o.NameEN, o.Region, o.Address, o.Hours, sqldb.Micros(s.now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("organisation %q: %w", o.Code, sqldb.ErrNotFound)
		}
		return nil
	})
}

const orgColumns = `code, kind, name_ru, name_en, region, address, hours, created_at, updated_at`

func scanOrg(r sqldb.Scanner, o *Org, more ...any) error {
	var kind string
	var created, updated int64
	if err := r.Scan(append([]any{&o.Code, &kind, &o.NameRU, &o.NameEN, &o.Region, &o.Address, &o.Hours, &created, &updated}, more...)...); err != nil {
		return err
	}
	o.Kind, o.CreatedAt, o.UpdatedAt = Kind(kind), sqldb.Time(created), sqldb.Time(updated)
	return nil
}

// Org returns the organisation code; sqldb.ErrNotFound when there is none.
func (s *Store) Org(ctx context.Context, code string) (Org, error) { return orgIn(ctx, s.db, code) }

// Filter selects organisations: by kind and region when not empty;
// Offices selects the offices where citizens confirm in person.
type Filter struct {
	Kind    Kind
	Region  string
	Offices bool
}

// Orgs lists the organisations f selects, by region and name.
func (s *Store) Orgs(ctx context.Context, f Filter) ([]Org, error) {
	rows, err := s.db.Query(ctx, `SELECT `+orgColumns+` FROM orgs
		WHERE ($1 = '' OR kind = $1) AND ($2 = '' OR region = $2) AND ($3 = 0 OR kind IN ($4, $5, $6))
		ORDER BY region, name_ru, code`, string(f.Kind), f.Region, boolInt(f.Offices),
		string(KindServiceCentre), string(KindPostOffice), string(KindPensionOffice))
	if err != nil {
		return nil, err
	}
	return sqldb.Collect(rows, func(r sqldb.Scanner) (Org, error) {
		var o Org
		return o, scanOrg(r, &o)
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Grant gives account accountID role in organisation orgCode, recorded in
// the account's activity log by actor by. The account must be confirmed
// (ErrNotConfirmed) and the role fit the organisation's kind
// (ErrInvalid); granting a role held already changes nothing.
func (s *Store) Grant(ctx context.Context, accountID string, role Role, orgCode string, by audit.Actor) error {
	e := audit.Entry{AccountID: accountID, Actor: by, Action: audit.ActionStaffGranted,
		Detail: map[string]string{"role": string(role), "org": orgCode}}
	err := s.activity.ChangeTx(ctx, e, func(tx *sqldb.Tx, accounts *account.Store) error {
		o, err := orgIn(ctx, tx, orgCode)
		if err != nil {
			return err
		}
		if !role.Fits(o.Kind) {
			return fmt.Errorf("%w: role: a %s has no %q role (%s)", ErrInvalid, o.Kind, role, fitting(o.Kind))
		}
		a, err := accounts.Get(ctx, accountID)
		if err != nil {
			return err
		}
		if !a.Level.AtLeast(assurance.Confirmed) {
			return fmt.Errorf("%w (level %s)", ErrNotConfirmed, a.Level)
		}
		res, err := tx.Exec(ctx, `INSERT INTO staff_roles (account_id, role, org_code, granted_by, granted_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING`, accountID, string(role), orgCode, by.ID, sqldb.Micros(s.now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errUnchanged
		}
		return nil
	})
	if errors.Is(err, errUnchanged) { // rolled back the log entry of a grant held already
		return nil
	}
	return err
}

// errUnchanged rolls back a grant or revocation that changes nothing.
var errUnchanged = errors.New("staff: unchanged")

// Revoke takes role in orgCode from the account, recorded in its activity
// log; sqldb.ErrNotFound when it does not hold it.
func (s *Store) Revoke(ctx context.Context, accountID string, role Role, orgCode string, by audit.Actor) error {
	e := audit.Entry{AccountID: accountID, Actor: by, Action: audit.ActionStaffRevoked,
		Detail: map[string]string{"role": string(role), "org": orgCode}}
	return s.activity.ChangeTx(ctx, e, func(tx *sqldb.Tx, _ *account.Store) error {
		res, err := tx.Exec(ctx, `DELETE FROM staff_roles WHERE account_id = $1 AND role = $2 AND org_code = $3`, accountID, string(role), orgCode)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("role %s in %q: %w", role, orgCode, sqldb.ErrNotFound)
		}
		return nil
	})
}

func fitting(k Kind) string {
	var s []string
	for _, r := range Roles {
		if r.Fits(k) {
			s = append(s, string(r))
		}
	}
	return fmt.Sprint(s)
}

func orgIn(ctx context.Context, q sqldb.Querier, code string) (Org, error) {
	var o Org
	if err := scanOrg(q.QueryRow(ctx, `SELECT `+orgColumns+` FROM orgs WHERE code = $1`, code), &o); err != nil {
		return Org{}, fmt.Errorf("organisation %q: %w", code, err)
	}
	return o, nil
}

const grantQuery = `SELECT ` + `o.code, o.kind, o.name_ru, o.name_en, o.region, o.address, o.hours, o.created_at, o.updated_at,
	g.account_id, g.role, g.granted_by, g.granted_at FROM staff_roles g JOIN orgs o ON o.code = g.org_code`

func (s *Store) grants(ctx context.Context, where string, args ...any) ([]Grant, error) {
	rows, err := s.db.Query(ctx, grantQuery+` WHERE `+where+` ORDER BY o.code, g.role, g.account_id`, args...)
	if err != nil {
		return nil, err
	}
	return sqldb.Collect(rows, func(r sqldb.Scanner) (Grant, error) {
		var g Grant
		var role string
		var at int64
		err := scanOrg(r, &g.Org, &g.AccountID, &role, &g.GrantedBy, &at)
		g.Role, g.GrantedAt = Role(role), sqldb.Time(at)
		return g, err
	})
}

// Grants returns the roles account accountID holds (none: an empty list).
func (s *Store) Grants(ctx context.Context, accountID string) ([]Grant, error) {
	return s.grants(ctx, `g.account_id = $1`, accountID)
}

// Members returns the roles held in organisation orgCode, or in every
// organisation when orgCode is "".
func (s *Store) Members(ctx context.Context, orgCode string) ([]Grant, error) {
	return s.grants(ctx, `($1 = '' OR g.org_code = $1)`, orgCode)
}
