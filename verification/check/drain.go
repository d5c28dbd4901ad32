package check

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/internal/sqldb"
)

// A check's row is its queue entry. Every replica runs drain while its job
// queue runs: it claims the due checks (pushing their due_at a lease
// ahead, so that no other replica takes them and a replica that dies
// leaves them due again), asks the registries for each on a goroutine of
// its own, and commits the answers in batches: every confirmation of a
// batch in one transaction (assurance.Service.VerifyAll), their notices
// marked in one statement. A check then costs the database about what an
// empty job of the job queue costs, where a job per check cost a fifth of
// what the check's own work did.

// asked is a claimed check with what its answers call for.
type asked struct {
	c    *Check
	next next
}

// poke tells this replica's drain that a check was queued.
func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// drain is the checks' jobs.Loop: it claims due checks while fewer than
// Config.InFlight are being worked, until stop, then waits for those.
func (s *Service) drain(ctx context.Context, stop <-chan struct{}) error {
	slots := make(chan struct{}, s.cfg.InFlight)
	freed := make(chan struct{}, 1)
	answers := make(chan asked, s.cfg.InFlight)
	committed := make(chan struct{})
	// Commits go on when the grace of a stop has run out: the answers got
	// are kept, only the questions in flight are cut short.
	go func() {
		defer close(committed)
		s.commit(context.WithoutCancel(ctx), answers, slots, freed)
	}()
	var asking sync.WaitGroup
	defer func() {
		asking.Wait()
		close(answers)
		<-committed
	}()
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		n := min(cap(slots)-len(slots), s.cfg.Batch)
		if n == 0 {
			select {
			case <-stop:
				return nil
			case <-freed:
			}
			continue
		}
		cs, err := s.claim(ctx, n)
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "claim checks", "err", err)
		}
		for _, c := range cs {
			slots <- struct{}{}
			asking.Add(1)
			go func() {
				defer asking.Done()
				// Within the lease: a registry slower than that leaves
				// the check, its answers so far kept, due again.
				actx, cancel := context.WithTimeout(ctx, s.cfg.Lease/2)
				defer cancel()
				answers <- asked{c: c, next: s.ask(actx, c)}
			}()
		}
		if len(cs) == n && err == nil {
			continue // more may be due
		}
		select {
		case <-stop:
			return nil
		case <-s.wake:
			// Citizens submit one by one: gather the checks submitted
			// within a moment into one claim, and so one batch, rather
			// than claim each alone.
			select {
			case <-stop:
				return nil
			case <-time.After(gather):
			}
		case <-time.After(s.cfg.PollInterval):
		}
	}
}

// gather is how long a replica that queued a check waits for more before
// it claims.
const gather = 20 * time.Millisecond

// commit settles the answers as they come, as many together as are
// there (up to Config.Batch), and frees their slots.
func (s *Service) commit(ctx context.Context, answers <-chan asked, slots, freed chan struct{}) {
	for a := range answers {
		batch := []asked{a}
	more:
		for len(batch) < s.cfg.Batch {
			select {
			case b, ok := <-answers:
				if !ok {
					break more
				}
				batch = append(batch, b)
			default:
				break more
			}
		}
		s.settleAll(ctx, batch)
		for range batch {
			<-slots
		}
		select {
		case freed <- struct{}{}:
		default:
		}
	}
}

// claim takes up to n due checks for this replica for the lease.
func (s *Service) claim(ctx context.Context, n int) ([]*Check, error) {
	lock := ""
	if s.db.Dialect() == sqldb.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	now := s.now()
	rows, err := s.db.Query(ctx, `UPDATE verification_checks SET due_at = $1, attempts = attempts + 1
		WHERE id IN (SELECT id FROM verification_checks WHERE status = $2 AND due_at <= $3 ORDER BY due_at LIMIT $4`+lock+`)
		RETURNING `+columns, sqldb.Micros(now.Add(s.cfg.Lease)), Pending, sqldb.Micros(now), n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Check
	for rows.Next() {
		c, err := s.scan(ctx, rows)
		if err != nil {
			// A check that cannot be opened stays claimed until its
			// lease ends; the rest go on.
			s.log.ErrorContext(ctx, "claimed check unreadable", "err", err)
			continue
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return out, sqldb.Classify(err)
	}
	// Whose the SNILS of each is, for the whole batch at once.
	snils := make([]string, len(out))
	for i, c := range out {
		snils[i] = c.Data.SNILS
	}
	holders, err := s.accounts.SNILSHolders(ctx, snils)
	if err != nil {
		return out, nil // each asks on its own
	}
	for _, c := range out {
		h := holders[c.Data.SNILS]
		c.holder = &h
	}
	return out, nil
}

// settleAll writes what the answers of a batch call for: the
// confirmations together, the rest one by one. A check whose writing
// fails stays claimed until its lease ends, and is asked again then.
func (s *Service) settleAll(ctx context.Context, batch []asked) {
	var confirms []*Check
	for _, a := range batch {
		if a.next.act == actConfirm {
			confirms = append(confirms, a.c)
			continue
		}
		if err := s.settle(ctx, a.c, a.next); err != nil && !errors.Is(err, errRetry) && !errors.Is(err, context.Canceled) &&
			!errors.Is(err, context.DeadlineExceeded) {
			s.log.WarnContext(ctx, "check not settled; due again when its lease ends", "check", a.c.ID, "err", err)
		}
	}
	s.confirmAll(ctx, confirms)
}

// confirmAll confirms checks in one transaction. When that fails (one
// check's SNILS was verified on another account meanwhile, one was
// superseded), each is confirmed on its own, to learn which.
func (s *Service) confirmAll(ctx context.Context, cs []*Check) {
	one := func(c *Check) {
		if err := s.confirm(ctx, c); err != nil {
			s.log.WarnContext(ctx, "check not confirmed; due again when its lease ends", "check", c.ID, "err", err)
		}
	}
	if len(cs) == 1 {
		one(cs[0])
	}
	if len(cs) <= 1 {
		return
	}
	vs := make([]assurance.Verification, len(cs))
	ids := make([]string, len(cs))
	for i, c := range cs {
		vs[i], ids[i] = s.verification(c), c.AccountID
	}
	var accounts map[string]*account.Account
	outs, err := s.verifier.VerifyAll(ctx, vs, func(ctx context.Context, tx *sqldb.Tx) error {
		if err := s.endAll(ctx, tx, cs); err != nil {
			return err
		}
		var err error
		accounts, err = s.takeChecked(ctx, tx, ids)
		return err
	})
	if err != nil {
		s.metrics.batches.WithLabelValues("split").Inc()
		for _, c := range cs {
			c.Status, c.Outcome = Pending, "" // as the rollback left it
			one(c)
		}
		return
	}
	s.metrics.batches.WithLabelValues("committed").Inc()
	var told []string
	for i, c := range cs {
		s.confirmed(ctx, c, outs[i])
		if ok, err := s.tell(ctx, c, accounts[c.AccountID]); ok && err == nil {
			told = append(told, c.ID)
		}
	}
	if err := s.markNotified(ctx, told...); err != nil {
		s.log.WarnContext(ctx, "checks' notices not marked sent", "err", err)
	}
}

// endAll ends pending checks as confirmed, with the answers they got, in
// one statement inside tx; errNotPending when one of them is no longer
// pending.
func (s *Service) endAll(ctx context.Context, tx *sqldb.Tx, cs []*Check) error {
	now := sqldb.Micros(s.now())
	args := []any{Confirmed, now, Pending}
	cast := ""
	if s.db.Dialect() == sqldb.Postgres {
		cast = "::bytea"
	}
	var values strings.Builder
	for i, c := range cs {
		sealed, err := s.seal(c.ID, state{Data: c.Data, Answers: c.Answers})
		if err != nil {
			return err
		}
		if i > 0 {
			values.WriteString(", ")
		}
		args = append(args, c.ID, sealed)
		fmt.Fprintf(&values, "($%d, $%d%s)", len(args)-1, len(args), cast)
	}
	// VALUES name their columns column1, column2 on both dialects.
	res, err := tx.Exec(ctx, `UPDATE verification_checks SET status = $1, outcome = '', state_enc = x.column2, updated_at = $2, finished_at = $2
		FROM (VALUES `+values.String()+`) AS x WHERE verification_checks.id = x.column1 AND verification_checks.status = $3`, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != int64(len(cs)) {
		return errNotPending
	}
	for _, c := range cs {
		c.Status, c.Outcome = Confirmed, ""
	}
	return nil
}
