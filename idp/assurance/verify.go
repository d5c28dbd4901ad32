package assurance

import (
	"context"
	"errors"
	"fmt"
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
	// Raise makes r.SNILS the account's verified SNILS (other accounts'
	// claims of it dropped, their ids returned) and raises the level to
	// r.Level when that is higher, failing with sqldb.ErrConflict when the
	// level changed since it was read; it returns the state before. Only
	// Verify calls it.
	Raise(ctx context.Context, id string, r Raise) (before State, dropped []string, err error)
	// RaiseAll is Raise for several accounts, each once, in a few
	// statements; the states before and the accounts dropped are in the
	// order of ids.
	RaiseAll(ctx context.Context, ids []string, rs []Raise) (before []State, dropped [][]string, err error)
	// SetLevel changes the level from from to to, or fails with
	// sqldb.ErrConflict when it is no longer from. Only Lower calls it.
	SetLevel(ctx context.Context, id string, from, to Level) error
}

// Raise is what one verification changes of the account itself.
type Raise struct {
	// SNILS, when not "", becomes the verified SNILS, proven by Method.
	SNILS, Method string
	// Level is the level the evidence supports: the account rises to it
	// when it is lower.
	Level Level
	// Data are Verification.Data.
	Data any
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
	// More are further evidence of the same verification, recorded with
	// it (a registry check is one record per registry: СФР, МВД, ФНС). The
	// level rises to the highest any of them supports.
	More []Evidence
	// Data, when set, are the verified data the account takes (an
	// account.Documents without a SNILS: names, birth date, passport, INN
	// a registry or a bank vouched for), written with the SNILS and the
	// level in one statement.
	Data any
	// Apply, when set, runs first inside Verify's transaction: the
	// caller's own part of the change (the verified data applied to the
	// account, a check marked done). An error from it rolls everything
	// back and is returned as it is.
	Apply func(ctx context.Context, tx *sqldb.Tx) error
	// Actor and IP go to the activity log.
	Actor audit.Actor
	IP    string
	// Entries are further activity-log entries of the caller's change
	// (a partner's «подтверждено банком»), appended with Verify's own as
	// the transaction's last statements: appended from Apply, an entry
	// would lock its chain's head from there to the commit, and every
	// audited write of the accounts on that chain would wait.
	Entries []audit.Entry
}

// Outcome is what Verify changed.
type Outcome struct {
	// EvidenceID is the id of the first evidence record, EvidenceIDs of
	// all of them in the order given.
	EvidenceID  string
	EvidenceIDs []string
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
	outs, err := s.VerifyAll(ctx, []Verification{v}, nil)
	if err != nil {
		return Outcome{}, err
	}
	return outs[0], nil
}

// VerifyAll records several verifications, each as Verify records one,
// in one transaction: apply, when set, runs first (the callers' part of
// all of them), then each one's Apply, then their accounts' changes
// (Accounts.RaiseAll); their evidence is one statement and their
// activity-log entries one append. It
// is how a batch of registry checks commits at the cost of a few
// statements a check. Any failure rolls back all of them and is returned:
// a caller that needs to know which one failed records them one by one
// with Verify.
func (s *Service) VerifyAll(ctx context.Context, vs []Verification, apply func(ctx context.Context, tx *sqldb.Tx) error) ([]Outcome, error) {
	all := make([][]Evidence, len(vs))
	for i, v := range vs {
		var err error
		if all[i], err = s.prepare(v); err != nil {
			return nil, err
		}
	}
	var outs []Outcome
	var err error
	// A verification racing another on the same account loses the level's
	// compare-and-swap and runs again on what the other committed.
	for range 3 {
		if outs, err = s.verify(ctx, vs, all, apply); !errors.Is(err, sqldb.ErrConflict) {
			break
		}
	}
	return outs, err
}

// prepare returns v's evidence records, complete and valid.
func (s *Service) prepare(v Verification) ([]Evidence, error) {
	all := append([]Evidence{v.Evidence}, v.More...)
	for i := range all {
		if all[i].VerifiedAt.IsZero() {
			all[i].VerifiedAt = s.now()
		}
		if all[i].AccountID == "" {
			all[i].AccountID = v.AccountID
		}
		all[i].CreatedAt = s.now()
		// A caller may name the evidence beforehand, to refer to it in
		// its own rows written by Apply in the same transaction.
		if all[i].ID == "" {
			all[i].ID = sqldb.NewID()
		}
		if err := all[i].validate(); err != nil {
			return nil, err
		}
		if all[i].AccountID != v.AccountID {
			return nil, fmt.Errorf("%w: evidence of two accounts", ErrInvalid)
		}
	}
	return all, nil
}

func (s *Service) verify(ctx context.Context, vs []Verification, all [][]Evidence, apply func(ctx context.Context, tx *sqldb.Tx) error) ([]Outcome, error) {
	var outs []Outcome
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		outs = make([]Outcome, len(vs))
		if apply != nil {
			if err := apply(ctx, tx); err != nil {
				return err
			}
		}
		ids := make([]string, len(vs))
		raises := make([]Raise, len(vs))
		for i, v := range vs {
			if v.Apply != nil {
				if err := v.Apply(ctx, tx); err != nil {
					return err
				}
			}
			ids[i], raises[i] = v.AccountID, raise(v, all[i])
		}
		var sts []State
		var dropped [][]string
		var err error
		if len(vs) == 1 {
			sts, dropped = make([]State, 1), make([][]string, 1)
			sts[0], dropped[0], err = s.accounts(tx).Raise(ctx, ids[0], raises[0])
		} else {
			sts, dropped, err = s.accounts(tx).RaiseAll(ctx, ids, raises)
		}
		if err != nil {
			return err
		}
		var evidence []Evidence
		var entries []audit.Entry
		for i, v := range vs {
			outs[i] = Outcome{EvidenceID: all[i][0].ID, Dropped: dropped[i]}
			entries = append(entries, s.record(v, all[i], sts[i], &outs[i])...)
			evidence = append(evidence, all[i]...)
		}
		if err := s.insert(ctx, tx, evidence...); err != nil {
			return err
		}
		if len(entries) == 0 {
			return nil
		}
		// The accounts' entries, the callers' and those of the accounts
		// that lost a claim: one call, so that their chains are locked in
		// order, as the transaction's last statements.
		_, err = s.log.AppendAll(ctx, tx, entries)
		return err
	})
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// top is the evidence supporting the highest level.
func top(all []Evidence) Evidence {
	t := all[0]
	for _, e := range all {
		if e.Level.Rank() > t.Level.Rank() {
			t = e
		}
	}
	return t
}

// raise is what v changes of its account.
func raise(v Verification, all []Evidence) Raise {
	return Raise{SNILS: v.SNILS, Method: string(v.Method), Level: top(all).Level, Data: v.Data}
}

// record completes v's outcome from its account's state before (st) and
// returns the activity-log entries of its change.
func (s *Service) record(v Verification, all []Evidence, st State, out *Outcome) []audit.Entry {
	var entries []audit.Entry
	if v.SNILS != "" {
		if !st.SNILSVerified {
			entries = append(entries, s.entry(v, audit.ActionSNILSVerified, map[string]string{"method": string(v.Method), "evidence": all[0].ID}))
		}
		for _, other := range out.Dropped {
			entries = append(entries, audit.Entry{AccountID: other, Actor: audit.Actor{Kind: audit.ActorSystem, ID: "assurance"},
				Action: audit.ActionSNILSClaimDropped})
		}
	}
	for _, e := range all {
		out.EvidenceIDs = append(out.EvidenceIDs, e.ID)
	}
	out.Level = st.Level
	if t := top(all); t.Level.Rank() > st.Level.Rank() {
		out.Level, out.Raised = t.Level, true
		entries = append(entries, s.entry(v, audit.ActionLevelChanged,
			map[string]string{"level": string(t.Level), "method": string(t.Method), "evidence": t.ID}))
	}
	return append(entries, v.Entries...)
}

// Lowering is a level taken down because evidence behind it no longer
// holds (a registry reports the passport invalid).
type Lowering struct {
	AccountID string
	// To is the level the account keeps at most.
	To Level
	// Reason names why, for the activity log ("passport_invalid").
	Reason string
	// Apply, when set, runs first inside Lower's transaction (the
	// caller's own part of the change).
	Apply func(ctx context.Context, tx *sqldb.Tx) error
	// Standing: the account keeps the level its standing (undisputed)
	// evidence still supports, read after Apply, when that is above To —
	// a disputed bank confirmation does not undo an e-signature's or an
	// operator's that came after it.
	Standing bool
	Actor    audit.Actor
}

// Lower takes the account's level down to l.To when it is higher, with an
// activity-log entry, in one transaction with l.Apply. It reports whether
// the level fell. Like Verify, it is the only other code that changes a
// level.
func (s *Service) Lower(ctx context.Context, l Lowering) (lowered bool, err error) {
	if !l.To.Valid() || l.AccountID == "" || l.Reason == "" {
		return false, fmt.Errorf("%w: lowering needs an account, a level and a reason", ErrInvalid)
	}
	for range 3 {
		lowered = false
		err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
			lowered = false
			if l.Apply != nil {
				if err := l.Apply(ctx, tx); err != nil {
					return err
				}
			}
			acc := s.accounts(tx)
			st, err := acc.State(ctx, l.AccountID)
			if err != nil {
				return err
			}
			to := l.To
			if l.Standing {
				if to, err = s.standingLevel(ctx, tx, l.AccountID, to); err != nil {
					return err
				}
			}
			if st.Level.Rank() <= to.Rank() {
				return nil
			}
			if err := acc.SetLevel(ctx, l.AccountID, st.Level, to); err != nil {
				return err
			}
			lowered = true
			actor := l.Actor
			if actor.Kind == "" {
				actor = audit.Actor{Kind: audit.ActorSystem, ID: "assurance"}
			}
			_, err = s.log.AppendAll(ctx, tx, []audit.Entry{{AccountID: l.AccountID, Actor: actor, Action: audit.ActionLevelChanged,
				Detail: map[string]string{"level": string(to), "from": string(st.Level), "reason": l.Reason}}})
			return err
		})
		if !errors.Is(err, sqldb.ErrConflict) {
			break
		}
	}
	return lowered, err
}

// standingLevel is the higher of floor and the highest level the
// account's standing evidence supports, read in q.
func (s *Service) standingLevel(ctx context.Context, q sqldb.Querier, accountID string, floor Level) (Level, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT level FROM evidence WHERE account_id = $1 AND disputed_at IS NULL AND level <> ''`, accountID)
	if err != nil {
		return floor, err
	}
	defer rows.Close()
	to := floor
	for rows.Next() {
		var l Level
		if err := rows.Scan(&l); err != nil {
			return floor, err
		}
		if l.Rank() > to.Rank() {
			to = l
		}
	}
	return to, rows.Err()
}

func (s *Service) entry(v Verification, action string, detail map[string]string) audit.Entry {
	actor := v.Actor
	if actor.Kind == "" {
		actor = audit.Actor{Kind: audit.ActorSystem, ID: string(v.Method)}
	}
	return audit.Entry{AccountID: v.AccountID, Actor: actor, Action: action, Detail: detail, IP: v.IP}
}

// NewID returns a random evidence id, for a caller that names its
// evidence before Verify records it.
func NewID() string { return sqldb.NewID() }
