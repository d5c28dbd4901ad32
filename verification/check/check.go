package check

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/verification/registry"
)

// Statuses of a check.
const (
	Pending     = "pending"
	Confirmed   = "confirmed"
	Rejected    = "rejected"
	Unavailable = "unavailable"
	Superseded  = "superseded"
)

// Outcomes of a rejected check (Check.Outcome).
const (
	OutcomeMismatch    = "mismatch"     // a registry holds other data (Check.Fields)
	OutcomeNotFound    = "not_found"    // a registry has no record
	OutcomeInvalid     = "invalid"      // the passport is reported invalid
	OutcomeSNILSTaken  = "snils_taken"  // the SNILS is verified on another account
	OutcomeIncomplete  = "incomplete"   // the data lack what a registry needs
	OutcomeINNMismatch = "inn_mismatch" // ФНС holds another INN
)

// Data is what a check sends: the account's data as the citizen gave it.
type Data struct {
	Name      account.Name      `json:"name"`
	BirthDate time.Time         `json:"birth_date"`
	SNILS     string            `json:"snils"`
	Passport  *account.Passport `json:"passport"`
	INN       string            `json:"inn,omitempty"`
}

// Complete reports whether the registries can be asked: a name, a birth
// date, a SNILS and a passport's series, number and issue date.
func (d Data) Complete() bool {
	return d.Name.Family != "" && d.Name.Given != "" && !d.BirthDate.IsZero() && d.SNILS != "" &&
		d.Passport != nil && d.Passport.Series != "" && d.Passport.Number != "" && !d.Passport.IssueDate.IsZero()
}

// Answer is one registry's verdict, kept with the check.
type Answer struct {
	Status    registry.Status `json:"status"`
	Fields    []string        `json:"fields,omitempty"`
	INN       string          `json:"inn,omitempty"`
	RecordID  string          `json:"record_id,omitempty"`
	CheckedAt time.Time       `json:"checked_at"`
}

// state is the sealed part of a check.
type state struct {
	Data    Data                       `json:"data"`
	Answers map[registry.Source]Answer `json:"answers,omitempty"`
	// Waiting: the last attempt met an unavailable registry; the queue
	// tries again.
	Waiting bool `json:"waiting,omitempty"`
}

// Check is one registry check of an account's data.
type Check struct {
	ID        string
	AccountID string
	// Reason: "submitted" (the citizen) or "recheck" (an operator).
	Reason  string
	Status  string
	Outcome string
	// Source is the registry whose answer decided a rejection; Fields the
	// fields it found different.
	Source registry.Source
	Fields []string
	// Waiting: a registry was unavailable and the check will be retried.
	Waiting    bool
	Answers    map[registry.Source]Answer
	Data       Data
	Deadline   time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time
	// notified: the citizen was told how the check ended.
	notified bool
	// attempts: how many times a replica claimed the check.
	attempts int
	// holder, when known, is the account the SNILS is verified on ("":
	// none), read for a whole batch when it was claimed.
	holder *string
}

// Verifier records evidence and changes levels (assurance.Service).
type Verifier interface {
	Verify(ctx context.Context, v assurance.Verification) (assurance.Outcome, error)
	VerifyAll(ctx context.Context, vs []assurance.Verification, apply func(ctx context.Context, tx *sqldb.Tx) error) ([]assurance.Outcome, error)
	Lower(ctx context.Context, l assurance.Lowering) (bool, error)
}

// Notifier tells the citizen (notice.Notifier).
type Notifier interface {
	Account(ctx context.Context, a *account.Account, kind, lang string, data map[string]string)
}

// Sealer encrypts a check's state at rest (keys.Manager).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, blob, aad []byte) ([]byte, error)
}

// Config is the service's policy.
type Config struct {
	// Deadline is how long a check keeps being retried while a registry
	// is unavailable (24 h).
	Deadline time.Duration
	// Backoff is the wait before retry n (1, 2, …) of an unavailable
	// check: 10 s doubling to 5 min by default.
	Backoff func(attempt int) time.Duration
	// Batch is how many checks a replica claims at once and commits
	// together (100).
	Batch int
	// InFlight is how many claimed checks a replica works at once,
	// waiting for the registries (400).
	InFlight int
	// PollInterval is how often a replica with nothing to do looks for
	// due checks (250 ms; at once for a check this replica queued).
	PollInterval time.Duration
	// Lease is how long a claimed check stays with the replica that
	// claimed it (3 min): one that dies leaves its checks due again then.
	Lease time.Duration
}

// Service runs registry checks.
type Service struct {
	db       *sqldb.DB
	accounts *account.Store
	registry registry.Registry
	verifier Verifier
	notifier Notifier
	sealer   Sealer
	log      *slog.Logger
	now      func() time.Time
	cfg      Config
	metrics  *metrics
	// wake tells this replica's drain that it queued a check.
	wake chan struct{}
}

// Deps are what the service uses.
type Deps struct {
	DB       *sqldb.DB
	Jobs     *jobs.Queue
	Accounts *account.Store
	Registry registry.Registry
	Verifier Verifier
	Notifier Notifier
	Sealer   Sealer
	Log      *slog.Logger
	Now      func() time.Time
	// Metrics, when set, receives the checks' metrics.
	Metrics MetricsRegisterer
}

// New returns the service and registers its job on d.Jobs (before the
// queue starts).
func New(cfg Config, d Deps) (*Service, error) {
	if cfg.Deadline <= 0 {
		cfg.Deadline = 24 * time.Hour
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(n int) time.Duration {
			return min(10*time.Second<<min(n-1, 10), 5*time.Minute)
		}
	}
	cfg.Batch = cmp.Or(cfg.Batch, 100)
	cfg.InFlight = max(cmp.Or(cfg.InFlight, 400), cfg.Batch)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, 250*time.Millisecond)
	cfg.Lease = cmp.Or(cfg.Lease, 3*time.Minute)
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: d.DB, accounts: d.Accounts, registry: d.Registry, verifier: d.Verifier,
		notifier: d.Notifier, sealer: d.Sealer, log: d.Log, now: d.Now, cfg: cfg, wake: make(chan struct{}, 1)}
	var err error
	if s.metrics, err = newMetrics(d.Metrics, s); err != nil {
		return nil, err
	}
	if d.Jobs != nil {
		// The checks are drained from their own table by every replica
		// while its queue runs (drain.go).
		if err := d.Jobs.AddLoop(jobs.Loop{Name: "verification.checks", Run: s.drain}); err != nil {
			return nil, err
		}
		// A check queued by the release before came with a job: its row
		// is due, and the drain works it.
		err := jobs.Register(d.Jobs, jobs.Worker[runArgs]{Work: func(context.Context, jobs.Job[runArgs]) error { return nil }})
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// runArgs is the argument of the job the release before queued with each
// check.
type runArgs struct {
	CheckID string `json:"check_id"`
}

func (runArgs) Kind() string { return "verification.check" }

// ErrIncomplete: the account's data cannot be checked yet.
var ErrIncomplete = errors.New("check: the data are incomplete")

// dataOf is what a check of a sends: its data, with a change waiting for
// verification (a verified account's new passport) in place of what it
// changes.
func dataOf(a *account.Account) Data {
	d := Data{Name: a.Name, BirthDate: a.BirthDate, SNILS: a.SNILS, Passport: a.Passport, INN: a.INN}
	if p := a.Pending; !p.Empty() {
		if p.Name != nil {
			d.Name = *p.Name
		}
		if !p.BirthDate.IsZero() {
			d.BirthDate = p.BirthDate
		}
		if p.SNILS != "" {
			d.SNILS = p.SNILS
		}
		if p.Passport != nil {
			d.Passport = p.Passport
		}
	}
	return d
}

// Queue starts a check of the account's data as tx leaves them, inside
// tx: the check and its job exist only if tx commits. A pending check of
// the account is superseded. ok is false (and nothing is written) when the
// data are not complete enough to check.
func (s *Service) Queue(ctx context.Context, tx *sqldb.Tx, accountID string) (ok bool, err error) {
	id, err := s.queueCheck(ctx, tx, accountID, "submitted")
	if errors.Is(err, ErrIncomplete) {
		return false, nil
	}
	return id != "", err
}

// Start starts a check of the account's current data in its own
// transaction and returns its id. reason is "submitted" or "recheck".
func (s *Service) Start(ctx context.Context, accountID, reason string) (id string, err error) {
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		id, err = s.queueCheck(ctx, tx, accountID, reason)
		return err
	})
	if err == nil {
		s.poke()
	}
	return id, err
}

func (s *Service) queueCheck(ctx context.Context, tx *sqldb.Tx, accountID, reason string) (string, error) {
	a, err := s.accounts.With(tx).GetOwn(ctx, accountID)
	if err != nil {
		return "", err
	}
	d := dataOf(a)
	if !d.Complete() {
		return "", ErrIncomplete
	}
	now := s.now()
	id := sqldb.NewID()
	sealed, err := s.seal(id, state{Data: d})
	if err != nil {
		return "", err
	}
	// The account's pending check superseded and the new one inserted,
	// its row the check's queue entry, due at once.
	args := []any{id, accountID, reason, Pending, sealed, sqldb.Micros(now.Add(s.cfg.Deadline)), sqldb.Micros(now), Superseded}
	if s.db.Dialect() == sqldb.Postgres {
		// In one statement: the insert reads what the update returned, so
		// it runs after it (and the unique index of pending checks does
		// not count a row this transaction updated).
		_, err = tx.Exec(ctx, `WITH superseded AS (
				UPDATE verification_checks SET status = $8, updated_at = $7, finished_at = $7 WHERE account_id = $2 AND status = $4 RETURNING id
			)
			INSERT INTO verification_checks (id, account_id, reason, status, state_enc, deadline, created_at, updated_at, due_at)
			SELECT $1::text, $2::uuid, $3::text, $4::text, $5::bytea, $6::bigint, $7::bigint, $7, $7 FROM (SELECT COUNT(*) FROM superseded) AS n`, args...)
		return id, err
	}
	if _, err := tx.Exec(ctx, `UPDATE verification_checks SET status = $2, updated_at = $3, finished_at = $3
		WHERE account_id = $1 AND status = $4`, accountID, Superseded, sqldb.Micros(now), Pending); err != nil {
		return "", err
	}
	_, err = tx.Exec(ctx, `INSERT INTO verification_checks (id, account_id, reason, status, state_enc, deadline, created_at, updated_at, due_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7)`, args[:7]...)
	return id, err
}

func aad(id string) []byte { return []byte("verification_check|" + id) }

func (s *Service) seal(id string, st state) ([]byte, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	return s.sealer.Seal(b, aad(id))
}

const columns = `id, account_id, reason, status, outcome, state_enc, deadline, created_at, updated_at, finished_at, notified, attempts`

func (s *Service) scan(ctx context.Context, rows interface{ Scan(...any) error }) (*Check, error) {
	var c Check
	var sealed []byte
	var deadline, created, updated int64
	var finished *int64
	var notified int
	if err := rows.Scan(&c.ID, &c.AccountID, &c.Reason, &c.Status, &c.Outcome, &sealed, &deadline, &created, &updated, &finished, &notified, &c.attempts); err != nil {
		return nil, sqldb.Classify(err)
	}
	c.notified = notified != 0
	c.Deadline, c.CreatedAt, c.UpdatedAt = sqldb.Time(deadline), sqldb.Time(created), sqldb.Time(updated)
	if finished != nil {
		c.FinishedAt = sqldb.Time(*finished)
	}
	b, err := s.sealer.Open(ctx, sealed, aad(c.ID))
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", c.ID, err)
	}
	defer clear(b)
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("check %s: %w", c.ID, err)
	}
	c.Data, c.Answers, c.Waiting = st.Data, st.Answers, st.Waiting
	if c.Answers == nil {
		c.Answers = map[registry.Source]Answer{}
	}
	for _, src := range registry.Sources() {
		if a, ok := c.Answers[src]; ok && a.Status != registry.Confirmed && c.Status == Rejected {
			c.Source, c.Fields = src, a.Fields
			break
		}
	}
	return &c, nil
}

// Get returns a check.
func (s *Service) Get(ctx context.Context, id string) (*Check, error) {
	return s.scan(ctx, s.db.QueryRow(ctx, `SELECT `+columns+` FROM verification_checks WHERE id = $1`, id))
}

// Latest returns the account's newest check, sqldb.ErrNotFound when it
// has none.
func (s *Service) Latest(ctx context.Context, accountID string) (*Check, error) {
	return s.scan(ctx, s.db.QueryRow(ctx, `SELECT `+columns+` FROM verification_checks WHERE account_id = $1
		ORDER BY created_at DESC, id DESC LIMIT 1`, accountID))
}

// List returns the account's checks, newest first.
func (s *Service) List(ctx context.Context, accountID string) ([]*Check, error) {
	rows, err := s.db.Query(ctx, `SELECT `+columns+` FROM verification_checks WHERE account_id = $1
		ORDER BY created_at DESC, id DESC`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Check
	for rows.Next() {
		c, err := s.scan(ctx, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, sqldb.Classify(rows.Err())
}

// Status is the account's newest check's status ("" for none), for the
// account page.
func (s *Service) Status(ctx context.Context, accountID string) (string, error) {
	var st string
	err := s.db.QueryRow(ctx, `SELECT status FROM verification_checks WHERE account_id = $1
		ORDER BY created_at DESC, id DESC LIMIT 1`, accountID).Scan(&st)
	if errors.Is(sqldb.Classify(err), sqldb.ErrNotFound) {
		return "", nil
	}
	return st, sqldb.Classify(err)
}

// errRetry: a registry was unavailable; the queue tries again.
var errRetry = errors.New("check: a registry is unavailable; retrying")

// Run works one check now, whether it is due or not (tests, and a check
// its batch could not commit): asks the registries that have not
// answered yet, keeps each answer, and ends the check when the answers
// decide it. It is idempotent: a check no longer pending only has its
// notice sent if that did not happen. errRetry (an error) says a registry
// was unavailable and the check is due again after its back-off.
func (s *Service) Run(ctx context.Context, id string) error {
	c, err := s.Get(ctx, id)
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil // the account was erased
	}
	if err != nil {
		return err
	}
	if c.Status != Pending {
		return s.notify(ctx, c, nil)
	}
	return s.settle(ctx, c, s.ask(ctx, c))
}

// act is what a check's answers so far call for.
type act int

const (
	actConfirm act = iota // every registry confirmed
	actReject             // a registry's answer rejects the data (next.outcome)
	actFinish             // it ends without a decision (next.status, next.outcome)
	actWait               // a registry was unavailable: again after the back-off
	actLeave              // the replica is stopping: the answers kept, due again at once
	actFail               // the database failed (next.err): due again when the lease ends
)

type next struct {
	act             act
	status, outcome string
	err             error
}

// ask puts the check's questions to the registries that have not answered
// yet and says what the answers call for. It writes nothing.
func (s *Service) ask(ctx context.Context, c *Check) next {
	if taken, err := s.snilsTaken(ctx, c); err != nil || taken {
		if err != nil {
			return next{act: actFail, err: err}
		}
		return next{act: actFinish, status: Rejected, outcome: OutcomeSNILSTaken}
	}
	waiting := false
	for _, src := range registry.Sources() {
		if _, done := c.Answers[src]; done {
			continue
		}
		req := request(c, src)
		start := s.now()
		res, err := s.registry.Check(ctx, req)
		switch {
		case errors.Is(err, registry.ErrBadRequest):
			s.metrics.observe(src, "bad_request", start, s.now())
			return next{act: actFinish, status: Rejected, outcome: OutcomeIncomplete}
		case err != nil && ctx.Err() != nil:
			return next{act: actLeave, err: ctx.Err()}
		case err != nil:
			s.metrics.observe(src, "unavailable", start, s.now())
			s.log.WarnContext(ctx, "registry unavailable", "check", c.ID, "source", string(src), "err", err)
			waiting = true
			continue
		}
		s.metrics.observe(src, string(res.Status), start, s.now())
		c.Answers[src] = Answer{Status: res.Status, Fields: res.Fields, INN: res.INN, RecordID: res.RecordID, CheckedAt: res.CheckedAt}
		if verdict(c) != "" {
			break
		}
	}
	// The answers stay with the check (its page shows each registry's):
	// the statement that ends it writes them.
	if v := verdict(c); v != "" && v != Confirmed {
		return next{act: actReject, outcome: v}
	}
	if waiting {
		if !s.now().Before(c.Deadline) {
			return next{act: actFinish, status: Unavailable}
		}
		return next{act: actWait}
	}
	return next{act: actConfirm}
}

// settle writes what n calls for of c.
func (s *Service) settle(ctx context.Context, c *Check, n next) error {
	switch n.act {
	case actConfirm:
		return s.confirm(ctx, c)
	case actReject:
		return s.reject(ctx, c, n.outcome)
	case actFinish:
		return s.finish(ctx, c, n.status, n.outcome)
	case actWait:
		if err := s.save(ctx, c, true, s.now().Add(s.cfg.Backoff(max(c.attempts, 1)))); err != nil {
			return err
		}
		return errRetry
	case actLeave:
		// Keep the answers so far for the replica that takes the check
		// over, at once.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.save(sctx, c, false, s.now()); err != nil {
			return err
		}
		return n.err
	default:
		return n.err
	}
}

// request is the question to src about c's data; its id is the check's and
// the registry's, the same on every retry.
func request(c *Check, src registry.Source) registry.Request {
	d := c.Data
	req := registry.Request{ID: c.ID + "-" + string(src), Source: src,
		Person: registry.Person{FamilyName: d.Name.Family, GivenName: d.Name.Given, MiddleName: d.Name.Middle, BirthDate: d.BirthDate}}
	switch src {
	case registry.SFR:
		req.SNILS = d.SNILS
	default:
		p := d.Passport
		req.Passport = &registry.Passport{Series: p.Series, Number: p.Number, IssueDate: p.IssueDate, Issuer: p.Issuer, DivisionCode: p.DivisionCode}
		if src == registry.FNS {
			req.INN = d.INN
		}
	}
	return req
}

// verdict decides a check from its answers so far: "" while undecided,
// Confirmed when every registry confirmed (ФНС may find no INN when none
// was typed), else the rejection's outcome.
func verdict(c *Check) string {
	for _, src := range registry.Sources() {
		a, ok := c.Answers[src]
		if !ok {
			continue
		}
		switch {
		case a.Status == registry.Confirmed:
		case src == registry.FNS && a.Status == registry.NotFound && c.Data.INN == "":
		case src == registry.FNS && c.Data.INN != "" && a.Status != registry.Invalid:
			return OutcomeINNMismatch
		case a.Status == registry.Mismatch:
			return OutcomeMismatch
		case a.Status == registry.Invalid:
			return OutcomeInvalid
		default:
			return OutcomeNotFound
		}
	}
	if len(c.Answers) == len(registry.Sources()) {
		return Confirmed
	}
	return ""
}

// snilsTaken reports whether another account has the check's SNILS
// verified: the check then ends without asking anyone.
func (s *Service) snilsTaken(ctx context.Context, c *Check) (bool, error) {
	if c.holder != nil {
		return *c.holder != "" && *c.holder != c.AccountID, nil
	}
	holder, err := s.accounts.SNILSHolder(ctx, c.Data.SNILS)
	return holder != "" && holder != c.AccountID, err
}

// save keeps the answers so far (only while the check is pending) and
// makes the check due at due.
func (s *Service) save(ctx context.Context, c *Check, waiting bool, due time.Time) error {
	sealed, err := s.seal(c.ID, state{Data: c.Data, Answers: c.Answers, Waiting: waiting})
	if err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, `UPDATE verification_checks SET state_enc = $2, updated_at = $3, due_at = $5 WHERE id = $1 AND status = $4`,
		c.ID, sealed, sqldb.Micros(s.now()), Pending, sqldb.Micros(due))
	return err
}

// errNotPending: another run ended the check first.
var errNotPending = errors.New("check: no longer pending")

// end is the compare-and-swap that ends a pending check, inside tx, with
// the answers it got.
func (s *Service) end(ctx context.Context, tx sqldb.Querier, c *Check, status, outcome string) error {
	sealed, err := s.seal(c.ID, state{Data: c.Data, Answers: c.Answers})
	if err != nil {
		return err
	}
	res, err := tx.Exec(ctx, `UPDATE verification_checks SET status = $2, outcome = $3, state_enc = $4, updated_at = $5, finished_at = $5
		WHERE id = $1 AND status = $6`, c.ID, status, outcome, sealed, sqldb.Micros(s.now()), Pending)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errNotPending
	}
	c.Status, c.Outcome = status, outcome
	return nil
}

// finish ends c with status and tells the citizen.
func (s *Service) finish(ctx context.Context, c *Check, status, outcome string) error {
	if err := s.end(ctx, s.db, c, status, outcome); err != nil {
		if errors.Is(err, errNotPending) {
			return nil
		}
		return err
	}
	s.metrics.finished(status, outcome)
	return s.notify(ctx, c, nil)
}

// reject ends c as rejected. A recheck that finds the account's verified
// passport invalid also lowers the level.
func (s *Service) reject(ctx context.Context, c *Check, outcome string) error {
	a, err := s.accounts.Get(ctx, c.AccountID)
	if err != nil {
		return err
	}
	if outcome != OutcomeInvalid || !a.Verified() || a.Passport == nil || c.Data.Passport == nil ||
		a.Passport.Series != c.Data.Passport.Series || a.Passport.Number != c.Data.Passport.Number {
		return s.finish(ctx, c, Rejected, outcome)
	}
	lowered, err := s.verifier.Lower(ctx, assurance.Lowering{AccountID: c.AccountID, To: assurance.Simplified, Reason: "passport_invalid",
		Apply: func(ctx context.Context, tx *sqldb.Tx) error { return s.end(ctx, tx, c, Rejected, outcome) }})
	if errors.Is(err, errNotPending) {
		return nil
	}
	if err != nil {
		return err
	}
	s.metrics.finished(Rejected, outcome)
	if lowered {
		s.notifier.Account(ctx, a, notice.KindNoticeLevelLowered, a.Lang, nil)
	}
	return s.notify(ctx, c, a)
}

// confirm records the evidence of every registry that confirmed, applies
// the checked data to the account and raises it to standard, in one
// transaction with the check's end.
func (s *Service) confirm(ctx context.Context, c *Check) error {
	v := s.verification(c)
	// The account as the transaction found it: its contacts are where
	// the notice goes.
	var a *account.Account
	v.Apply = func(ctx context.Context, tx *sqldb.Tx) error {
		if err := s.end(ctx, tx, c, Confirmed, ""); err != nil {
			return err
		}
		as, err := s.takeChecked(ctx, tx, []string{c.AccountID})
		a = as[c.AccountID]
		return err
	}
	out, err := s.verifier.Verify(ctx, v)
	switch {
	case errors.Is(err, errNotPending):
		return nil
	case errors.Is(err, account.ErrTaken):
		return s.finish(ctx, c, Rejected, OutcomeSNILSTaken)
	case errors.Is(err, account.ErrSNILSVerified):
		// The account has another SNILS verified (by a certificate): the
		// registry's word does not replace it.
		c.Answers[registry.SFR] = Answer{Status: registry.Mismatch, Fields: []string{"snils"}, CheckedAt: s.now()}
		return s.finish(ctx, c, Rejected, OutcomeMismatch)
	case err != nil:
		return err
	}
	s.confirmed(ctx, c, out)
	return s.notify(ctx, c, a)
}

// takeChecked reads the accounts of confirmed checks in tx and makes a
// verified account's change that waited for its check the account's data
// (its SNILS verified by the check, replacing the one before).
func (s *Service) takeChecked(ctx context.Context, tx *sqldb.Tx, ids []string) (map[string]*account.Account, error) {
	st := s.accounts.With(tx)
	as, err := st.GetAll(ctx, ids)
	if err != nil {
		return nil, err
	}
	by := make(map[string]*account.Account, len(as))
	for _, a := range as {
		by[a.ID] = a
		if !a.Pending.Empty() {
			if _, err := st.ApplyPending(ctx, a.ID, string(assurance.MethodRegistry)); err != nil {
				return nil, err
			}
		}
	}
	if len(by) != len(ids) {
		return nil, fmt.Errorf("check: an account was erased: %w", sqldb.ErrNotFound)
	}
	return by, nil
}

// verification is what c's confirmation records: the evidence of every
// registry that confirmed and the account's checked data (the caller
// adds the check's end).
func (s *Service) verification(c *Check) (v assurance.Verification) {
	d := c.Data
	person := func(src registry.Source, doc assurance.Document, extra map[string]string) assurance.Evidence {
		a := c.Answers[src]
		values := map[string]string{"family_name": d.Name.Family, "given_name": d.Name.Given, "birthdate": d.BirthDate.Format(time.DateOnly)}
		if d.Name.Middle != "" {
			values["middle_name"] = d.Name.Middle
		}
		for k, v := range extra {
			values[k] = v
		}
		claims := make([]string, 0, len(values))
		for k := range values {
			claims = append(claims, k)
		}
		slices.Sort(claims)
		return assurance.Evidence{AccountID: c.AccountID, Method: assurance.MethodRegistry,
			Verifier: assurance.Verifier{Kind: "registry", ID: string(src)}, Claims: claims, Values: values,
			Document: doc, Level: assurance.Standard, VerifiedAt: a.CheckedAt}
	}
	p := d.Passport
	idDoc := p.Series + " " + p.Number
	v = assurance.Verification{SNILS: d.SNILS,
		Evidence: person(registry.SFR, assurance.Document{Type: "snils", Number: d.SNILS, Issuer: "СФР"}, map[string]string{"snils": d.SNILS}),
		More: []assurance.Evidence{person(registry.MVD, assurance.Document{Type: "passport", Number: idDoc, Issuer: p.Issuer, IssuedAt: p.IssueDate},
			map[string]string{"id_doc": idDoc})}}
	inn := d.INN
	if a := c.Answers[registry.FNS]; a.Status == registry.Confirmed {
		if inn == "" {
			inn = a.INN
		}
		if inn != "" {
			v.More = append(v.More, assurance.Evidence{AccountID: c.AccountID, Method: assurance.MethodRegistry,
				Verifier: assurance.Verifier{Kind: "registry", ID: string(registry.FNS)}, Claims: []string{"inn"},
				Values: map[string]string{"inn": inn}, Document: assurance.Document{Type: "inn", Number: inn, Issuer: "ФНС"},
				VerifiedAt: a.CheckedAt})
		}
	}
	// The checked data, written with the verified SNILS and the level.
	n := d.Name
	v.Data = account.Documents{Name: &n, BirthDate: d.BirthDate, Passport: d.Passport, INN: inn}
	return v
}

// confirmed counts a check confirmed and tells the owners of the accounts
// whose claim of its SNILS was dropped.
func (s *Service) confirmed(ctx context.Context, c *Check, out assurance.Outcome) {
	s.metrics.finished(Confirmed, "")
	if len(out.Dropped) > 0 {
		s.log.InfoContext(ctx, "claims of a verified SNILS dropped", "check", c.ID, "accounts", len(out.Dropped))
		for _, id := range out.Dropped {
			if other, err := s.accounts.Get(ctx, id); err == nil {
				s.notifier.Account(ctx, other, notice.KindNoticeSNILSClaimDropped, other.Lang, nil)
			}
		}
	}
}

// notify tells the citizen how a finished check ended, unless it is
// marked so, and then marks it (at least once: a crash between the two
// sends it again). a is the account when the caller has it.
func (s *Service) notify(ctx context.Context, c *Check, a *account.Account) error {
	told, err := s.tell(ctx, c, a)
	if err != nil || !told {
		return err
	}
	err = s.markNotified(ctx, c.ID)
	c.notified = err == nil
	return err
}

// tell sends the notice of how c ended when one is owed, and says whether
// it did.
func (s *Service) tell(ctx context.Context, c *Check, a *account.Account) (bool, error) {
	if c.notified || c.Status == Superseded || c.Status == Pending {
		return false, nil
	}
	if a == nil {
		var err error
		if a, err = s.accounts.Get(ctx, c.AccountID); err != nil {
			return false, err
		}
	}
	kind := notice.KindNoticeVerificationFailed
	if c.Status == Confirmed {
		kind = notice.KindNoticeVerificationDone
	}
	s.notifier.Account(ctx, a, kind, a.Lang, nil)
	return true, nil
}

// markNotified marks the checks told, in one statement.
func (s *Service) markNotified(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	in, args := sqldb.In(nil, ids)
	_, err := s.db.Exec(ctx, `UPDATE verification_checks SET notified = 1 WHERE id IN (`+in+`)`, args...)
	return err
}

// Describe is a short account of a check for operators (no document
// numbers).
func (c *Check) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", c.CreatedAt.UTC().Format(time.DateTime), c.Reason, c.Status)
	if c.Outcome != "" {
		fmt.Fprintf(&b, " (%s", c.Outcome)
		if c.Source != "" {
			fmt.Fprintf(&b, " %s", c.Source)
		}
		if len(c.Fields) > 0 {
			fmt.Fprintf(&b, ": %s", strings.Join(c.Fields, ", "))
		}
		b.WriteString(")")
	}
	if c.Waiting {
		b.WriteString(" waiting for a registry")
	}
	return b.String()
}

// startedSince counts the checks the account started since t.
func (s *Service) startedSince(ctx context.Context, accountID string, t time.Time) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM verification_checks WHERE account_id = $1 AND created_at >= $2`,
		accountID, sqldb.Micros(t)).Scan(&n)
	return n, sqldb.Classify(err)
}
