package letter

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/internal/sqldb"
)

// Verifier records evidence and raises levels (assurance.Service).
type Verifier interface {
	Verify(ctx context.Context, v assurance.Verification) (assurance.Outcome, error)
}

// Accounts reads accounts (account.Store).
type Accounts interface {
	Get(ctx context.Context, id string) (*account.Account, error)
}

// Notifier tells a citizen of a change (notice.Notifier).
type Notifier interface {
	Account(ctx context.Context, a *account.Account, kind, lang string, data map[string]string)
}

// Service is the letters' rules over the store: who may order, what a
// right code proves.
type Service struct {
	Store    *Store
	Accounts Accounts
	Verifier Verifier
	Notifier Notifier
	Log      *slog.Logger
	Now      func() time.Time
}

// ErrLevel: the account is not at the standard level (a letter confirms
// an identity whose documents the registries have confirmed, and only
// that).
var ErrLevel = errors.New("letter: the account is not at the standard level")

// Evidence of a letter: what a right code proves. The post office hands a
// registered letter over only to the addressee named on it, on their
// passport, so the code proves the name the letter carried; the evidence
// document is the letter, numbered by its tracking number.
const (
	// DocumentType is the evidence document's type (verified_claims:
	// document_details.type "ru_registered_letter").
	DocumentType = "registered_letter"
	// PostIssuer is who carried the letter.
	PostIssuer = "Почта России"
	// VerifierID names the verifier: Gosid itself (kind "system")
	// checked the code the letter carried.
	VerifierID = "letter"
)

// Order asks for a letter to a's name at addr; a must be at the standard
// level. The address must be normalised (Address.Normalize) already.
func (s *Service) Order(ctx context.Context, a *account.Account, addr Address, ip string) (*Letter, error) {
	if a.Level != assurance.Standard {
		return nil, ErrLevel
	}
	return s.Store.Order(ctx, a.ID, Recipient{Family: a.Name.Family, Given: a.Name.Given, Middle: a.Name.Middle, Address: addr}, ip)
}

// Entered is what a code did.
type Entered struct {
	// Confirmed: the code was right and the account is confirmed.
	Confirmed bool
	Level     assurance.Level
	// Letter afterwards (Spent after the last wrong try).
	Letter *Letter
}

// Enter checks code against a's sent letter. Right: the letter's evidence
// is recorded, the account confirmed and the citizen told (in the language
// of their latest sign-in). Wrong: a try is used (Letter.TriesLeft).
// Errors: ErrNoCode, ErrExpired, ErrSpent, ErrLevel (the account is no
// longer at the standard level).
func (s *Service) Enter(ctx context.Context, a *account.Account, code, ip string) (*Entered, error) {
	if a.Level != assurance.Standard {
		return nil, ErrLevel
	}
	try, err := s.Store.Attempt(ctx, a.ID, code, ip)
	if err != nil {
		return nil, err
	}
	l := try.Letter
	if !try.Right {
		return &Entered{Letter: l, Level: a.Level}, nil
	}
	rc, err := s.Store.Recipient(ctx, l.ID)
	if err != nil {
		return nil, err
	}
	values := map[string]string{"family_name": rc.Family, "given_name": rc.Given}
	claims := []string{"family_name", "given_name"}
	if rc.Middle != "" {
		values["middle_name"] = rc.Middle
		claims = append(claims, "middle_name")
	}
	out, err := s.Verifier.Verify(ctx, assurance.Verification{
		Evidence: assurance.Evidence{AccountID: a.ID, Method: assurance.MethodLetter,
			Verifier: assurance.Verifier{Kind: "system", ID: VerifierID}, Claims: claims, Values: values,
			Document: assurance.Document{Type: DocumentType, Number: l.Tracking, Issuer: PostIssuer, IssuedAt: l.SentAt, ValidUntil: l.ExpiresAt},
			Level:    assurance.Confirmed},
		Apply: func(ctx context.Context, tx *sqldb.Tx) error { return s.Store.MarkConfirmed(ctx, tx, l, ip) },
		Actor: audit.Actor{Kind: audit.ActorCitizen, ID: a.ID}, IP: ip,
	})
	if err != nil {
		// The code was right: the try it took goes back, on a context
		// the request's end does not cut short.
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if gerr := s.Store.GiveBack(gctx, l.ID); gerr != nil && s.Log != nil {
			s.Log.ErrorContext(ctx, "a right letter code's try not given back", "letter", l.ID, "err", gerr)
		}
		return nil, err
	}
	l.Status = Confirmed
	if s.Notifier != nil {
		s.Notifier.Account(ctx, a, notice.KindNoticeLetterConfirmed, a.Lang, map[string]string{"date": s.now().In(moscow).Format("02.01.2006")})
	}
	return &Entered{Confirmed: true, Level: out.Level, Letter: l}, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// moscow is the time zone of dates in letters and notices.
var moscow = time.FixedZone("MSK", 3*60*60)
