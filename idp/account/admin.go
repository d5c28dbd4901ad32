package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"
)

// Admin is what operators do to accounts outside the citizen's own pages:
// the command line today, an admin API later, both through this one type.
// Changes go to the activity log with the operator as the actor, in the
// change's transaction; the sign-in history gets its event too.
type Admin struct {
	Accounts *Store
	Activity *Activity
	// Hash hashes a new account's password (the identity provider's
	// password.Hasher).
	Hash   func(ctx context.Context, pw string) (string, error)
	Policy password.Policy
	Log    *slog.Logger
	Now    func() time.Time
}

// Create validates ap as registration does (Applicant.Check; the errors
// come back as validate.Errors) and creates the account, with by, the
// operator, as the actor of its «Учётная запись создана» entry (in the
// same transaction, Activity.Create). Its contacts count as verified: the
// operator vouches for them. A contact or SNILS that is verified on
// another account gives a *TakenError.
func (a *Admin) Create(ctx context.Context, by audit.Actor, ap Applicant) (*Account, error) {
	now := a.Now()
	n, errs := ap.Check(a.Policy, now)
	if len(errs) > 0 {
		return nil, errs
	}
	hash, err := a.Hash(ctx, ap.Password)
	if err != nil {
		return nil, err
	}
	n.PasswordHash = hash
	if n.Phone.Value != "" {
		n.Phone.VerifiedAt = now
	}
	if n.Email.Value != "" {
		n.Email.VerifiedAt = now
	}
	acc, err := a.Activity.Create(ctx, n, by, "admin", "")
	if err != nil {
		return nil, err
	}
	a.event(ctx, acc.ID, EventRegistered)
	return acc, nil
}

// Block stops every sign-in of the account until Unblock.
func (a *Admin) Block(ctx context.Context, by audit.Actor, id string) error {
	return a.setStatus(ctx, by, id, StatusBlocked, EventBlocked, audit.ActionAccountBlocked)
}

// Unblock lets the account sign in again and clears a password lock-out.
func (a *Admin) Unblock(ctx context.Context, by audit.Actor, id string) error {
	return a.setStatus(ctx, by, id, StatusActive, EventUnblocked, audit.ActionAccountUnblocked)
}

func (a *Admin) setStatus(ctx context.Context, by audit.Actor, id string, st Status, kind, action string) error {
	err := a.Activity.Change(ctx, audit.Entry{AccountID: id, Actor: by, Action: action},
		func(s *Store) error { return s.SetStatus(ctx, id, st) })
	if err != nil {
		return err
	}
	a.event(ctx, id, kind)
	return nil
}

// Erase deletes the account's person data at once (Store.Erase), without
// the citizen's grace period.
func (a *Admin) Erase(ctx context.Context, by audit.Actor, id string) error {
	return a.Activity.Change(ctx, audit.Entry{AccountID: id, Actor: by, Action: audit.ActionAccountErased},
		func(s *Store) error { return s.Erase(ctx, id, time.Time{}) })
}

// event writes the sign-in history's line of an operator's action. The
// action stands if it fails (the activity log has it): it is logged.
func (a *Admin) event(ctx context.Context, id, kind string) {
	if err := a.Accounts.AddEvent(ctx, Event{AccountID: id, Kind: kind, Result: ResultOK, Method: "admin"}); err != nil {
		a.Log.ErrorContext(ctx, "account event", "account", id, "kind", kind, "err", err)
	}
}

// Find resolves an account by its id or by a login: a verified phone,
// e-mail or SNILS, in any common writing.
func (s *Store) Find(ctx context.Context, ref string) (*Account, error) {
	if a, err := s.Get(ctx, ref); err == nil {
		return a, nil
	}
	kind, value, err := validate.Login(ref)
	if err != nil {
		return nil, fmt.Errorf("%q is neither an account id nor a phone, e-mail or SNILS", ref)
	}
	a, err := s.FindByLogin(ctx, kind, value)
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil, fmt.Errorf("no account with that %s", kind)
	}
	return a, err
}

// OperatorView is what an operator sees of an account: the SNILS masked as
// in the account centre, and which evidence verified it ("" for a claim).
type OperatorView struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	Level           string `json:"level"`
	FamilyName      string `json:"family_name"`
	GivenName       string `json:"given_name"`
	MiddleName      string `json:"middle_name,omitempty"`
	BirthDate       string `json:"birthdate,omitempty"`
	Phone           string `json:"phone,omitempty"`
	Email           string `json:"email,omitempty"`
	SNILS           string `json:"snils,omitempty"`
	SNILSVerifiedBy string `json:"snils_verified_by,omitempty"`
	LockedUntil     string `json:"locked_until,omitempty"`
	Created         string `json:"created_at"`
	fullName        string
}

// OperatorView describes a for an operator at now.
func (a *Account) OperatorView(now time.Time) OperatorView {
	v := OperatorView{ID: a.ID, Status: string(a.Status), Level: string(a.Level), FamilyName: a.Name.Family, GivenName: a.Name.Given,
		MiddleName: a.Name.Middle, Phone: a.Phone.Value, Email: a.Email.Value, Created: a.CreatedAt.Format(time.RFC3339), fullName: a.Name.Full()}
	if a.SNILS != "" {
		v.SNILS = validate.MaskSNILS(a.SNILS)
		if a.SNILSVerified() {
			v.SNILSVerifiedBy = a.SNILSVerifiedBy
		}
	}
	if !a.BirthDate.IsZero() {
		v.BirthDate = a.BirthDate.Format("2006-01-02")
	}
	if a.Locked(now) {
		v.LockedUntil = a.LockedUntil.Format(time.RFC3339)
	}
	return v
}

// Rows are the view's fields for a text listing, empty ones left out.
func (v OperatorView) Rows() [][2]string {
	var out [][2]string
	for _, row := range [][2]string{{"id", v.ID}, {"status", v.Status}, {"level", v.Level}, {"name", v.fullName}, {"birthdate", v.BirthDate},
		{"phone", v.Phone}, {"email", v.Email}, {"snils", v.SNILS}, {"snils verified by", v.SNILSVerifiedBy},
		{"locked until", v.LockedUntil}, {"created", v.Created}} {
		if row[1] != "" {
			out = append(out, row)
		}
	}
	return out
}

// AdminKeys are the keys the operators' side needs: the account store's
// sealing and the activity log's keyed hashes (a keys.Manager is both).
type AdminKeys interface {
	Crypto
	audit.MAC
}

// NewAdmin returns the operators' side over db: the identity provider's
// default password policy and hashing (serve upgrades a hash made with
// other parameters at the next sign-in) and the activity log.
func NewAdmin(db *sqldb.DB, keys AdminKeys, log *slog.Logger, now func() time.Time) (*Admin, error) {
	hasher, err := password.NewHasher(password.DefaultParams(), 0)
	if err != nil {
		return nil, err
	}
	st := NewStore(db, keys, now)
	return &Admin{Accounts: st, Activity: NewActivity(db, st, audit.New(db, keys, now)), Hash: hasher.Hash,
		Policy: password.DefaultPolicy(), Log: log, Now: now}, nil
}
