package bank

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"
)

// Verifier records evidence and raises levels (assurance.Service).
type Verifier interface {
	Verify(ctx context.Context, v assurance.Verification) (assurance.Outcome, error)
}

// Recorder writes an activity-log entry (account.Activity).
type Recorder interface {
	Record(ctx context.Context, e audit.Entry) error
}

// Confirmer confirms an account's identity with the data a bank vouches
// for.
type Confirmer struct {
	Banks    *Store
	Accounts *account.Store
	Verifier Verifier
	Activity Recorder
}

// Mismatch is a field the bank and the account hold differently, with both
// values as the citizen may see them: names and dates in full, document
// numbers masked.
type Mismatch struct {
	Field         string
	Bank, Account string
}

// Confirmation is what Confirm did.
type Confirmation struct {
	// Level is the account's level afterwards; Raised whether it rose.
	Level  assurance.Level
	Raised bool
	// Mismatches, when not empty: nothing changed.
	Mismatches []Mismatch
	// TooLittle: the bank vouched for too little to confirm (names, birth
	// date, SNILS and passport are needed; SNILS or passport for an account
	// whose documents the registries have confirmed); nothing changed.
	TooLittle bool
}

var (
	// ErrSNILSTaken: the SNILS the bank vouches for is verified on
	// another account; nothing changed.
	ErrSNILSTaken = errors.New("bank: the SNILS is verified on another account")
	// ErrOtherAccount: the bank identity is linked to another account.
	ErrOtherAccount = errors.New("bank: the bank identity is linked to another account")
)

// Confirm matches res (a Confirm flow's result) against its account and,
// when everything the bank vouched for that the account also holds is the
// same, records the bank's vouch as evidence, raises the account to
// confirmed, fills in what the account lacked and links the bank identity
// — one transaction. A mismatch is logged in the account's activity and
// changes nothing else.
func (c *Confirmer) Confirm(ctx context.Context, res *Result, ip string) (*Confirmation, error) {
	a, err := c.Accounts.Get(ctx, res.AccountID)
	if err != nil {
		return nil, err
	}
	return c.ConfirmAccount(ctx, res, a, ip)
}

// ConfirmAccount is Confirm for a caller that has just read the account
// (the partner API, which found it by its SNILS): a, res.AccountID's, is
// not read again. The level and the SNILS are judged again inside the
// transaction, as Confirm judges them.
func (c *Confirmer) ConfirmAccount(ctx context.Context, res *Result, a *account.Account, ip string) (*Confirmation, error) {
	if a.ID != res.AccountID {
		return nil, fmt.Errorf("bank: confirming account %s with the result for %s", a.ID, res.AccountID)
	}
	actor := audit.Actor{Kind: audit.ActorBank, ID: res.Bank.ID}
	v := res.Vouched
	if ms := compare(v, a); len(ms) > 0 {
		fields := make([]string, len(ms))
		for i, m := range ms {
			fields[i] = m.Field
		}
		err := c.Activity.Record(ctx, audit.Entry{AccountID: a.ID, Actor: actor, Action: audit.ActionBankMismatch, IP: ip,
			Detail: map[string]string{"bank": res.Bank.ID, "fields": strings.Join(fields, ",")}})
		return &Confirmation{Level: a.Level, Mismatches: ms}, err
	}
	if !enough(v, a) {
		return &Confirmation{Level: a.Level, TooLittle: true}, nil
	}
	values := claimValues(v)
	claims := make([]string, 0, len(values))
	for k := range values {
		claims = append(claims, k)
	}
	slices.Sort(claims)
	// What the account lacks of the vouched data, it takes.
	var data any
	if docs := missing(v, a); !docs.empty() {
		data = docs.Documents
	}
	out, err := c.Verifier.Verify(ctx, assurance.Verification{
		Evidence: assurance.Evidence{AccountID: a.ID, Method: assurance.MethodBank,
			Verifier: assurance.Verifier{Kind: "bank", ID: res.Bank.ID}, Claims: claims, Values: values,
			Document: assurance.Document{Type: "bank_vouch", Number: res.Subject, Issuer: res.Bank.NameRU},
			Level:    assurance.Confirmed, VerifiedAt: res.At},
		SNILS: v[SNILS], Data: data,
		Apply: func(ctx context.Context, tx *sqldb.Tx) error {
			if res.Subject == "" {
				return nil // no bank sign-in identity to link (the partner API)
			}
			err := c.Banks.Link(ctx, tx, Link{BankID: res.Bank.ID, Subject: res.Subject, AccountID: a.ID})
			if errors.Is(err, ErrLinkedElsewhere) {
				return ErrOtherAccount
			}
			return err
		},
		Actor: actor, IP: ip,
	})
	var taken *account.TakenError
	switch {
	case errors.As(err, &taken) || errors.Is(err, account.ErrTaken):
		return nil, ErrSNILSTaken
	case err != nil:
		return nil, err
	}
	return &Confirmation{Level: out.Level, Raised: out.Raised}, nil
}

// compare returns the vouched fields the account holds differently:
// names compared as validate.SameName does (case, ё/е, hyphens, spaces),
// documents by their digits. A field only one side has is no mismatch.
func compare(v map[string]string, a *account.Account) []Mismatch {
	var out []Mismatch
	name := func(field, acc string, mask func(string) string) {
		if b := v[field]; b != "" && acc != "" && !validate.SameName(b, acc) {
			out = append(out, Mismatch{Field: field, Bank: mask(b), Account: mask(acc)})
		}
	}
	name(FamilyName, a.Name.Family, plain)
	name(GivenName, a.Name.Given, plain)
	name(MiddleName, a.Name.Middle, plain)
	same := func(field, acc string, digits bool, mask func(string) string) {
		b := v[field]
		if b == "" || acc == "" {
			return
		}
		x, y := b, acc
		if digits {
			x, y = onlyDigits(b), onlyDigits(acc)
		}
		if x != y {
			out = append(out, Mismatch{Field: field, Bank: mask(b), Account: mask(acc)})
		}
	}
	same(BirthDate, isoDate(a.BirthDate), false, ruDate)
	same(SNILS, a.SNILS, true, validate.MaskSNILS)
	if p := a.Passport; p != nil {
		same(PassportSeries, p.Series, true, validate.MaskPassportSeries)
		same(PassportNumber, p.Number, true, validate.MaskPassportNumber)
		same(PassportIssueDate, isoDate(p.IssueDate), false, ruDate)
	}
	same(INN, a.INN, true, validate.MaskINN)
	return out
}

// enough reports whether the bank vouched for enough to confirm a: names
// and birth date, and SNILS and passport — or one of them for an account
// whose documents the registries have already confirmed.
func enough(v map[string]string, a *account.Account) bool {
	if v[FamilyName] == "" || v[GivenName] == "" || v[BirthDate] == "" {
		return false
	}
	snils, passport := v[SNILS] != "", v[PassportSeries] != "" && v[PassportNumber] != ""
	return snils && passport || a.Verified() && (snils || passport)
}

// docs are the vouched documents a lacks, to fill in.
type docs struct{ account.Documents }

func (d docs) empty() bool { return d.BirthDate.IsZero() && d.Passport == nil && d.INN == "" }

func missing(v map[string]string, a *account.Account) docs {
	var d docs
	if a.BirthDate.IsZero() {
		d.BirthDate, _ = time.Parse(time.DateOnly, v[BirthDate])
	}
	if a.Passport == nil && v[PassportSeries] != "" && v[PassportNumber] != "" {
		issued, _ := time.Parse(time.DateOnly, v[PassportIssueDate])
		d.Passport = &account.Passport{Series: onlyDigits(v[PassportSeries]), Number: onlyDigits(v[PassportNumber]), IssueDate: issued}
	}
	if a.INN == "" {
		d.INN = onlyDigits(v[INN])
	}
	return d
}

// claimValues are the vouched values under the claim names that evidence
// and verified_claims use (id_doc: "SERIES NUMBER").
func claimValues(v map[string]string) map[string]string {
	out := map[string]string{}
	for _, f := range []string{FamilyName, GivenName, MiddleName, BirthDate, SNILS, INN} {
		if v[f] != "" {
			out[f] = v[f]
		}
	}
	if s, n := onlyDigits(v[PassportSeries]), onlyDigits(v[PassportNumber]); s != "" && n != "" {
		out["id_doc"] = s + " " + n
	}
	return out
}

func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func isoDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// plain shows a name as it is: the citizen's own, on their own screen.
func plain(s string) string { return strings.TrimSpace(s) }

// ruDate writes an ISO date as «15.03.1985».
func ruDate(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return t.Format("02.01.2006")
}
