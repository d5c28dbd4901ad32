package assurance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
)

// State is what verification needs to know of an account.
type State struct {
	Level         Level
	SNILS         string
	SNILSVerified bool
}

// Accounts is the account store as verification writes it (account.Store,
// bound to Verify's transaction).
type Accounts interface {
	State(ctx context.Context, id string) (State, error)
	// VerifySNILS makes snils the account's verified SNILS and drops
	// other accounts' claims of it, returning their ids.
	VerifySNILS(ctx context.Context, id, snils, method string) (dropped []string, err error)
	// SetLevel changes the level from from to to, or fails with
	// sqldb.ErrConflict when it is no longer from. Only Verify calls it.
	SetLevel(ctx context.Context, id string, from, to Level) error
}

// ActivityLog appends activity-log entries in the caller's transaction.
// AppendAll writes entries of several accounts at once, locking their
// chains in a fixed order (see audit.Log.AppendAll).
type ActivityLog interface {
	AppendAll(ctx context.Context, q sqldb.Runner, entries []audit.Entry) ([]audit.Entry, error)
}

// Service records verifications.
type Service struct {
	db       *sqldb.DB
	accounts func(q sqldb.Runner) Accounts
	log      ActivityLog
	sealer   Sealer
	now      func() time.Time
}

// New returns the service. accounts binds the account store to a
// transaction (func(q) Accounts { return store.With(q) }).
func New(db *sqldb.DB, accounts func(q sqldb.Runner) Accounts, log ActivityLog, sealer Sealer, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, accounts: accounts, log: log, sealer: sealer, now: now}
}

// Verification is what one piece of evidence proves about one account.
type Verification struct {
	Evidence
	// SNILS, when the evidence proves one, becomes the account's verified
	// SNILS (canonical form).
	SNILS string
	// Actor and IP go to the activity log.
	Actor audit.Actor
	IP    string
}

// Outcome is what Verify changed.
type Outcome struct {
	EvidenceID string
	// Dropped are the accounts whose claim of the SNILS gave way; their
	// owners should be told.
	Dropped []string
	// Level is the account's level afterwards; Raised whether it rose.
	Level  Level
	Raised bool
}

// Verify records v in one transaction: the evidence, the verified SNILS
// (other accounts' claims dropped), the level raised to v.Level when that
// is higher (never lowered here), and the activity-log entries of the
// account and of every account that lost a claim. Nothing is written when
// any part fails.
func (s *Service) Verify(ctx context.Context, v Verification) (Outcome, error) {
	e := v.Evidence
	if e.VerifiedAt.IsZero() {
		e.VerifiedAt = s.now()
	}
	e.CreatedAt = s.now()
	e.ID = newID()
	if err := e.validate(); err != nil {
		return Outcome{}, err
	}
	var out Outcome
	var err error
	// A verification racing another on the same account loses the level's
	// compare-and-swap and runs again on what the other committed.
	for range 3 {
		if out, err = s.verify(ctx, v, e); !errors.Is(err, sqldb.ErrConflict) {
			break
		}
	}
	return out, err
}

func (s *Service) verify(ctx context.Context, v Verification, e Evidence) (Outcome, error) {
	out := Outcome{EvidenceID: e.ID}
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		out = Outcome{EvidenceID: e.ID}
		acc := s.accounts(tx)
		st, err := acc.State(ctx, e.AccountID)
		if err != nil {
			return err
		}
		var entries []audit.Entry
		if v.SNILS != "" {
			if out.Dropped, err = acc.VerifySNILS(ctx, e.AccountID, v.SNILS, string(e.Method)); err != nil {
				return err
			}
			if !st.SNILSVerified {
				entries = append(entries, s.entry(v, audit.ActionSNILSVerified, map[string]string{"method": string(e.Method), "evidence": e.ID}))
			}
			for _, other := range out.Dropped {
				entries = append(entries, audit.Entry{AccountID: other, Actor: audit.Actor{Kind: audit.ActorSystem, ID: "assurance"},
					Action: audit.ActionSNILSClaimDropped})
			}
		}
		if err := s.insert(ctx, tx, e); err != nil {
			return err
		}
		out.Level = st.Level
		if e.Level.Rank() > st.Level.Rank() {
			if err := acc.SetLevel(ctx, e.AccountID, st.Level, e.Level); err != nil {
				return err
			}
			out.Level, out.Raised = e.Level, true
			entries = append(entries, s.entry(v, audit.ActionLevelChanged,
				map[string]string{"level": string(e.Level), "method": string(e.Method), "evidence": e.ID}))
		}
		if len(entries) == 0 {
			return nil
		}
		// The account's entries and those of the accounts that lost a
		// claim: one call, so that their chains are locked in order.
		_, err = s.log.AppendAll(ctx, tx, entries)
		return err
	})
	if err != nil {
		return Outcome{}, err
	}
	return out, nil
}

func (s *Service) entry(v Verification, action string, detail map[string]string) audit.Entry {
	actor := v.Actor
	if actor.Kind == "" {
		actor = audit.Actor{Kind: audit.ActorSystem, ID: string(v.Method)}
	}
	return audit.Entry{AccountID: v.AccountID, Actor: actor, Action: action, Detail: detail, IP: v.IP}
}

// newID is a random evidence id.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
