package account

import (
	"github.com/gosid/gosid/idp/assurance"

	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Status of an account.
type Status string

const (
	StatusActive  Status = "active"
	StatusBlocked Status = "blocked" // by an operator; no sign-in at all
)

// Second factors of the MFA policy.
const (
	MFATOTP = "totp"
	MFASMS  = "sms"
)

// Contact kinds; also the blind-index domains.
const (
	Phone = "phone"
	Email = "email"
	SNILS = "snils"
)

// Name is the citizen's name as in the passport, Cyrillic.
type Name struct {
	Family, Given, Middle string
}

// Full is "Иванов Иван Иванович".
func (n Name) Full() string {
	s := n.Family + " " + n.Given
	if n.Middle != "" {
		s += " " + n.Middle
	}
	return s
}

// Contact is a phone number (E.164) or an e-mail address.
type Contact struct {
	Value      string
	VerifiedAt time.Time // zero while unverified
}

// Verified reports whether the contact has been confirmed by a code.
func (c Contact) Verified() bool { return c.Value != "" && !c.VerifiedAt.IsZero() }

// Passport is a Russian internal passport.
type Passport struct {
	Series       string // 4 digits
	Number       string // 6 digits
	IssueDate    time.Time
	Issuer       string
	DivisionCode string // 123-456
}

// Account is one citizen's account. Document numbers are decrypted.
type Account struct {
	ID     string
	Status Status
	// Level is the assurance level; only idp/assurance changes it.
	Level assurance.Level
	Name  Name
	// BirthDate is zero when not given.
	BirthDate time.Time
	Gender    string
	SNILS     string // canonical 123-456-789 01, or ""
	// SNILSVerifiedAt is when evidence proved SNILS to be this person's,
	// and SNILSVerifiedBy how (e.g. "qualified_esignature"); zero while
	// SNILS is only what the citizen typed (a claim). Only a verified
	// SNILS finds the account (sign-in, e-signature, recovery) and is
	// unique.
	SNILSVerifiedAt time.Time
	SNILSVerifiedBy string
	INN             string
	Passport        *Passport
	Phone           Contact
	Email           Contact

	PasswordHash      string
	PasswordChangedAt time.Time
	// MFA is the second factor every password sign-in needs: "" (none),
	// MFATOTP or MFASMS.
	MFA          string
	FailedLogins int
	LockedUntil  time.Time
	// PasswordSuspendedAt: password sign-in is refused since then, until the
	// password is set anew (the owner undid a contact change they did not
	// make); zero when not suspended.
	PasswordSuspendedAt time.Time

	ConsentVersion string
	ConsentAt      time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time

	// NotifyNewDevice: tell the citizen of every sign-in from a device
	// the account has not used before (on by default).
	// Lang is the language of the citizen's latest sign-in ("ru", "en"):
	// the language of notices sent when no request says it (a registry
	// check's outcome, a bank's confirmation).
	Lang string
	NotifyNewDevice bool
	// IdleTimeout is the citizen's own session idle timeout; zero means
	// the configured default.
	IdleTimeout time.Duration
	// Pending holds changes of verified person data waiting for
	// verification; the fields above (and so the tokens) keep the verified
	// values meanwhile. Nil when nothing waits.
	Pending *PersonChange
	// DeleteAfter is when the account will be erased, zero when no
	// deletion was requested. A sign-in before then cancels it.
	DeleteAfter time.Time
}

// SNILSVerified reports whether the SNILS is proven by evidence rather
// than claimed.
func (a *Account) SNILSVerified() bool { return a.SNILS != "" && !a.SNILSVerifiedAt.IsZero() }

// Verified reports whether the account's person data has been verified by
// registries or in person (level standard or confirmed): changes to it then
// wait for verification instead of replacing it.
func (a *Account) Verified() bool { return a.Level.AtLeast(assurance.Standard) }

// PersonChange is a change of verified person data waiting for
// verification. Zero fields are not changed.
type PersonChange struct {
	Name        *Name     `json:"name,omitempty"`
	BirthDate   time.Time `json:"birth_date,omitzero"`
	SNILS       string    `json:"snils,omitempty"`
	Passport    *Passport `json:"passport,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
}

// Empty reports whether the change changes nothing.
func (p *PersonChange) Empty() bool {
	return p == nil || (p.Name == nil && p.BirthDate.IsZero() && p.SNILS == "" && p.Passport == nil)
}

// Locked reports whether password sign-in is locked at now.
func (a *Account) Locked(now time.Time) bool { return now.Before(a.LockedUntil) }

// PasswordSuspended reports whether password sign-in waits for a password
// recovery.
func (a *Account) PasswordSuspended() bool { return !a.PasswordSuspendedAt.IsZero() }

// LogValue keeps personal data and the hash out of logs: only the id,
// status and level.
func (a *Account) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", a.ID), slog.String("status", string(a.Status)), slog.String("level", string(a.Level)))
}

// String is LogValue's content, for %v.
func (a *Account) String() string { return fmt.Sprintf("Account(%s %s %s)", a.ID, a.Status, a.Level) }

// New is what registration and the admin CLI give to Create.
type New struct {
	Name      Name
	BirthDate time.Time
	Gender    string
	// SNILS is a claim: it becomes verified only through VerifySNILS.
	SNILS    string
	INN      string
	Passport *Passport
	// Phone and Email: at least one; VerifiedAt set when proven by a code
	// (registration) or vouched for by an operator (CLI).
	Phone          Contact
	Email          Contact
	PasswordHash   string
	ConsentVersion string
	ConsentAt      time.Time
}

// Errors.
var (
	// ErrTaken: a verified phone, a verified e-mail or a verified SNILS
	// already belongs to another account. TakenError says which. Claims
	// (unverified values) are never taken.
	ErrTaken = errors.New("already belongs to another account")
	// ErrSNILSVerified: the account's SNILS is verified; a typed value
	// cannot replace it (a change waits for verification instead).
	ErrSNILSVerified = errors.New("account: the SNILS is verified and cannot be replaced by a claim")
)

// TakenError names the kind of value that is taken.
type TakenError struct{ Kind string }

func (e *TakenError) Error() string { return e.Kind + " " + ErrTaken.Error() }
func (e *TakenError) Unwrap() error { return ErrTaken }
