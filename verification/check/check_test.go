package check_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/verification/check"
	"github.com/gosid/gosid/verification/registry"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// notes records the notices sent.
type notes struct {
	mu    sync.Mutex
	sent  map[string][]string // account → kinds
	langs map[string][]string // account → their languages
}

func (n *notes) Account(_ context.Context, a *account.Account, kind, lang string, _ map[string]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent[a.ID] = append(n.sent[a.ID], kind)
	if n.langs == nil {
		n.langs = map[string][]string{}
	}
	n.langs[a.ID] = append(n.langs[a.ID], lang)
}

func (n *notes) of(id string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.sent[id])
}

// counting counts calls per source and can fail them: a registry at the
// edge of the world, in front of the simulator.
type counting struct {
	inner registry.Registry
	mu    sync.Mutex
	calls map[registry.Source]int
	byID  map[string]int // calls per request id (check and source)
	down  bool
	// hang, when set, makes calls to that source wait until their
	// context ends (a replica stopping mid-call).
	hang registry.Source
	// before, when set, runs before each call is answered.
	before func(req registry.Request)
}

func (c *counting) Check(ctx context.Context, req registry.Request) (registry.Result, error) {
	c.mu.Lock()
	c.calls[req.Source]++
	if c.byID == nil {
		c.byID = map[string]int{}
	}
	c.byID[req.ID]++
	down, hang, before := c.down, c.hang == req.Source, c.before
	c.mu.Unlock()
	if before != nil {
		before(req)
	}
	if down {
		return registry.Result{}, registry.ErrUnavailable
	}
	if hang {
		<-ctx.Done()
		return registry.Result{}, fmt.Errorf("%w: %w", registry.ErrUnavailable, ctx.Err())
	}
	return c.inner.Check(ctx, req)
}

func (c *counting) n(src registry.Source) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[src]
}

type rig struct {
	master   []byte
	db       *sqldb.DB
	accounts *account.Store
	verifier *assurance.Service
	log      *audit.Log
	reg      *counting
	notes    *notes
	metrics  *prometheus.Registry
	svc      *check.Service
	queue    *jobs.Queue
}

func newRig(t testing.TB, db *sqldb.DB, cfg check.Config) *rig {
	t.Helper()
	return newReplica(t, db, cfg, nil)
}

// newReplica is another replica on db sharing r's keys (nil: new keys).
func newReplica(t testing.TB, db *sqldb.DB, cfg check.Config, of *rig) *rig {
	t.Helper()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	if of != nil {
		raw = of.master
	}
	mk, err := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	km, err := keys.Open(context.Background(), db, mk, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{master: raw, db: db, notes: &notes{sent: map[string][]string{}}, metrics: prometheus.NewRegistry()}
	r.accounts = account.NewStore(db, km, time.Now)
	r.log = audit.New(db, km, time.Now)
	r.verifier = assurance.New(db, func(q sqldb.Runner) assurance.Accounts { return r.accounts.With(q) }, r.log, km, time.Now)
	r.reg = &counting{inner: registry.NewSimulator(registry.SimulatorConfig{NoLatency: true, Timeout: 200 * time.Millisecond}), calls: map[registry.Source]int{}}
	if r.queue, err = jobs.New(db, jobs.Config{PollInterval: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	r.svc, err = check.New(cfg, check.Deps{DB: db, Jobs: r.queue, Accounts: r.accounts, Registry: r.reg, Verifier: r.verifier,
		Notifier: r.notes, Sealer: km, Metrics: r.metrics})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// person opens an account holding id's data as claims.
func (r *rig) person(t testing.TB, id registry.Identity, phone string) *account.Account {
	t.Helper()
	ctx := context.Background()
	p := id.Person
	a, err := r.accounts.Create(ctx, account.New{Name: account.Name{Family: p.FamilyName, Given: p.GivenName, Middle: p.MiddleName},
		Phone: account.Contact{Value: phone, VerifiedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	pp := id.Passport
	if err := r.accounts.UpdateDocuments(ctx, a.ID, account.Documents{BirthDate: p.BirthDate, SNILS: id.SNILS, INN: id.INN,
		Passport: &account.Passport{Series: pp.Series, Number: pp.Number, IssueDate: pp.IssueDate, Issuer: pp.Issuer, DivisionCode: pp.DivisionCode}}); err != nil {
		t.Fatal(err)
	}
	return a
}

func identity(t *testing.T, key string) registry.Identity {
	t.Helper()
	for _, id := range registry.Identities() {
		if id.Key == key {
			return id
		}
	}
	t.Fatalf("no simulator identity %q", key)
	return registry.Identity{}
}

// start starts a check and runs it directly until it leaves pending or
// tries stop.
func (r *rig) runCheck(t *testing.T, accountID string) *check.Check {
	t.Helper()
	ctx := context.Background()
	id, err := r.svc.Start(ctx, accountID, "submitted")
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		// An error is an unavailable registry: try again, as the queue
		// would.
		_ = r.svc.Run(ctx, id)
		c, err := r.svc.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != check.Pending {
			return c
		}
	}
	c, _ := r.svc.Get(ctx, id)
	return c
}

// TestCheckOutcomes: every documented kind of simulator identity ends as
// docs/verification.md says; only a confirmed check changes the account.
func TestCheckOutcomes(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db, check.Config{})
		for i, tc := range []struct {
			key, status, outcome string
			source               registry.Source
			fields               []string
		}{
			{key: "passes", status: check.Confirmed},
			{key: "passes-no-middle-name", status: check.Confirmed},
			{key: "flaky", status: check.Confirmed},
			{key: "sfr-birthdate", status: check.Rejected, outcome: check.OutcomeMismatch, source: registry.SFR, fields: []string{"birthdate"}},
			{key: "mvd-issue-date", status: check.Rejected, outcome: check.OutcomeMismatch, source: registry.MVD, fields: []string{"passport_issue_date"}},
			{key: "mvd-family-name", status: check.Rejected, outcome: check.OutcomeMismatch, source: registry.MVD, fields: []string{"family_name"}},
			{key: "snils-not-found", status: check.Rejected, outcome: check.OutcomeNotFound, source: registry.SFR},
			{key: "passport-not-found", status: check.Rejected, outcome: check.OutcomeNotFound, source: registry.MVD},
			{key: "passport-invalid", status: check.Rejected, outcome: check.OutcomeInvalid, source: registry.MVD},
			{key: "inn-mismatch", status: check.Rejected, outcome: check.OutcomeINNMismatch, source: registry.FNS, fields: []string{"inn"}},
		} {
			t.Run(tc.key, func(t *testing.T) {
				a := r.person(t, identity(t, tc.key), "+7916100000"+string(rune('0'+i)))
				before, err := r.accounts.Get(ctx, a.ID)
				if err != nil || before.SNILS == "" || before.Passport == nil {
					t.Fatalf("the documents to check: %+v %v", before, err)
				}
				c := r.runCheck(t, a.ID)
				if c.Status != tc.status || c.Outcome != tc.outcome || c.Source != tc.source || !slices.Equal(c.Fields, tc.fields) {
					t.Fatalf("check = %s %s %s %v, want %s %s %s %v", c.Status, c.Outcome, c.Source, c.Fields, tc.status, tc.outcome, tc.source, tc.fields)
				}
				after, err := r.accounts.Get(ctx, a.ID)
				if err != nil {
					t.Fatal(err)
				}
				ev, err := r.verifier.Evidence(ctx, a.ID)
				if err != nil {
					t.Fatal(err)
				}
				if tc.status != check.Confirmed {
					if after.Level != assurance.Simplified || len(ev) != 0 || after.SNILSVerified() {
						t.Errorf("a rejected check changed the account: level %s, %d evidence, SNILS verified %v", after.Level, len(ev), after.SNILSVerified())
					}
					if after.SNILS != before.SNILS || *after.Passport != *before.Passport || after.INN != before.INN || !after.BirthDate.Equal(before.BirthDate) {
						t.Errorf("the values to correct were not kept: %q %+v %q, want %q %+v %q", after.SNILS, after.Passport, after.INN, before.SNILS, before.Passport, before.INN)
					}
					if got := r.notes.of(a.ID); !slices.Equal(got, []string{"notice.verification_failed"}) {
						t.Errorf("notices = %v", got)
					}
					return
				}
				for _, src := range registry.Sources() {
					if c.Answers[src].Status != registry.Confirmed {
						t.Errorf("the confirmed check keeps %s's answer as %q", src, c.Answers[src].Status)
					}
				}
				if after.Level != assurance.Standard || !after.SNILSVerified() || after.INN == "" {
					t.Errorf("after a confirmed check: level %s, SNILS verified %v, INN %q", after.Level, after.SNILSVerified(), after.INN)
				}
				sources := map[string]assurance.Evidence{}
				for _, e := range ev {
					sources[e.Verifier.ID] = e
				}
				if len(ev) != 3 || sources["ru_sfr"].Values["snils"] != after.SNILS || sources["ru_mvd"].Values["id_doc"] != after.Passport.Series+" "+after.Passport.Number ||
					sources["ru_fns"].Values["inn"] != after.INN || sources["ru_sfr"].Values["family_name"] != after.Name.Family {
					t.Errorf("evidence = %+v", ev)
				}
				if got := r.notes.of(a.ID); !slices.Equal(got, []string{"notice.verification_done"}) {
					t.Errorf("notices = %v", got)
				}
				// Running the job again (a rescued job) applies nothing twice.
				if err := r.svc.Run(ctx, c.ID); err != nil {
					t.Fatal(err)
				}
				if ev2, _ := r.verifier.Evidence(ctx, a.ID); len(ev2) != 3 || len(r.notes.of(a.ID)) != 1 {
					t.Errorf("a second run: %d evidence, %d notices", len(ev2), len(r.notes.of(a.ID)))
				}
			})
		}
		if n := testutil.ToFloat64(r.svc.MetricsFinished(check.Confirmed, "")); n != 3 {
			t.Errorf("confirmed checks counted %v", n)
		}
	})
}

// TestUnavailableRetriesThenGivesUp: an unavailable registry keeps the
// check pending (and says so) until the deadline, then ends it as
// unavailable; the answers already had are not asked again.
func TestUnavailableRetriesThenGivesUp(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db, check.Config{Deadline: 300 * time.Millisecond})
		a := r.person(t, identity(t, "mvd-timeout"), "+79161000100")
		id, err := r.svc.Start(ctx, a.ID, "submitted")
		if err != nil {
			t.Fatal(err)
		}
		if err := r.svc.Run(ctx, id); err == nil {
			t.Fatal("Run with МВД down returned nil: the queue would not retry")
		}
		c, _ := r.svc.Get(ctx, id)
		if c.Status != check.Pending || !c.Waiting || c.Answers[registry.SFR].Status != registry.Confirmed {
			t.Fatalf("after an unavailable МВД: %s waiting=%v answers=%v", c.Status, c.Waiting, c.Answers)
		}
		time.Sleep(350 * time.Millisecond)
		_ = r.svc.Run(ctx, id)
		c, _ = r.svc.Get(ctx, id)
		if c.Status != check.Unavailable {
			t.Fatalf("after the deadline: %s", c.Status)
		}
		if n := r.reg.n(registry.SFR); n != 1 {
			t.Errorf("СФР asked %d times: its answer was kept", n)
		}
		if after, _ := r.accounts.Get(ctx, a.ID); after.Level != assurance.Simplified {
			t.Error("an unavailable check changed the level")
		}
	})
}

// TestQueueAcrossRestartAndReplicas: checks queued while no replica runs
// are done when two replicas start on the one queue, each exactly once.
func TestQueueAcrossRestartAndReplicas(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r1 := newRig(t, db, check.Config{})
		var ids []string
		for i := range 20 {
			gen := registry.GeneratedIdentity(i + 1)
			a := r1.person(t, gen, fmt.Sprintf("+7916200%04d", i))
			id, err := r1.svc.Start(ctx, a.ID, "submitted")
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		r2 := newReplica(t, db, check.Config{}, r1)
		for _, r := range []*rig{r1, r2} {
			if err := r.queue.Start(ctx); err != nil {
				t.Fatal(err)
			}
			q := r.queue
			t.Cleanup(func() {
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = q.Stop(sctx)
			})
		}
		deadline := time.Now().Add(30 * time.Second)
		for _, id := range ids {
			for {
				c, err := r1.svc.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if c.Status == check.Confirmed {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("check %s still %s", id, c.Status)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		total := 0
		for _, r := range []*rig{r1, r2} {
			total += r.reg.n(registry.SFR)
		}
		if total != len(ids) {
			t.Errorf("СФР asked %d times for %d checks", total, len(ids))
		}
		var evidence int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM evidence`).Scan(&evidence); err != nil || evidence != 3*len(ids) {
			t.Errorf("evidence rows = %d, %v (want %d)", evidence, err, 3*len(ids))
		}
	})
}

// TestVerifiedSNILSIsUnique: a second account's check of a SNILS verified
// elsewhere ends snils_taken without asking the registries; a claim of it
// never blocks the holder.
func TestVerifiedSNILSIsUnique(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db, check.Config{})
		id := identity(t, "passes")
		squatter := r.person(t, id, "+79161000200")
		holder := r.person(t, id, "+79161000201")
		if c := r.runCheck(t, holder.ID); c.Status != check.Confirmed {
			t.Fatalf("the holder's check: %s %s", c.Status, c.Outcome)
		}
		if s, _ := r.accounts.Get(ctx, squatter.ID); s.SNILS != "" {
			t.Error("the squatter's claim was not dropped")
		}
		again := r.person(t, id, "+79161000202")
		calls := r.reg.n(registry.SFR)
		if c := r.runCheck(t, again.ID); c.Status != check.Rejected || c.Outcome != check.OutcomeSNILSTaken {
			t.Fatalf("a second account's check: %s %s", c.Status, c.Outcome)
		}
		if r.reg.n(registry.SFR) != calls {
			t.Error("the registries were asked about a SNILS verified elsewhere")
		}
	})
}

// TestRecheckLowersLevel: a recheck in which МВД reports the verified
// passport invalid lowers the account to simplified, logs it and tells
// the citizen.
func TestRecheckLowersLevel(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db, check.Config{})
		a := r.person(t, identity(t, "becomes-invalid"), "+79161000300")
		if c := r.runCheck(t, a.ID); c.Status != check.Confirmed {
			t.Fatalf("first check: %s %s", c.Status, c.Outcome)
		}
		id, err := r.svc.Start(ctx, a.ID, "recheck")
		if err != nil {
			t.Fatal(err)
		}
		if err := r.svc.Run(ctx, id); err != nil {
			t.Fatal(err)
		}
		c, _ := r.svc.Get(ctx, id)
		after, _ := r.accounts.Get(ctx, a.ID)
		if c.Status != check.Rejected || c.Outcome != check.OutcomeInvalid || after.Level != assurance.Simplified {
			t.Fatalf("recheck: %s %s, level %s", c.Status, c.Outcome, after.Level)
		}
		if got := r.notes.of(a.ID); !slices.Contains(got, "notice.level_lowered") {
			t.Errorf("notices = %v", got)
		}
		entries, _ := r.log.List(ctx, a.ID, time.Time{}, 0)
		if len(entries) == 0 || entries[0].Action != audit.ActionLevelChanged || entries[0].Detail["reason"] != "passport_invalid" {
			t.Errorf("activity = %+v", entries)
		}
	})
}

// TestNewSubmissionSupersedes: a second submission supersedes the pending
// check; only one is pending at a time.
func TestNewSubmissionSupersedes(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db, check.Config{})
		a := r.person(t, identity(t, "passes"), "+79161000400")
		first, err := r.svc.Start(ctx, a.ID, "submitted")
		if err != nil {
			t.Fatal(err)
		}
		second, err := r.svc.Start(ctx, a.ID, "submitted")
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := r.svc.Get(ctx, first); c.Status != check.Superseded {
			t.Errorf("first check %s", c.Status)
		}
		if err := r.svc.Run(ctx, first); err != nil {
			t.Fatal(err)
		}
		if r.reg.n(registry.SFR) != 0 {
			t.Error("a superseded check asked a registry")
		}
		if st, _ := r.svc.Status(ctx, a.ID); st != check.Pending {
			t.Errorf("Status = %s", st)
		}
		if err := r.svc.Run(ctx, second); err != nil {
			t.Fatal(err)
		}
		if st, _ := r.svc.Status(ctx, a.ID); st != check.Confirmed {
			t.Errorf("Status = %s", st)
		}
		// Incomplete data start nothing.
		bare, err := r.accounts.Create(ctx, account.New{Name: account.Name{Family: "Пустов", Given: "Пётр"},
			Phone: account.Contact{Value: "+79161000401", VerifiedAt: time.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Start(ctx, bare.ID, "submitted"); !errors.Is(err, check.ErrIncomplete) {
			t.Errorf("Start on incomplete data = %v", err)
		}
	})
}

// TestChangeWaitsForItsCheck: a verified account's changed data (a new
// surname) wait as a pending change; until its check confirms them the old
// verified values stay the account's (and the tokens'), then the new ones
// replace them.
func TestChangeWaitsForItsCheck(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db, check.Config{})
		a := r.person(t, registry.GeneratedIdentity(42), "+79161000500")
		if c := r.runCheck(t, a.ID); c.Status != check.Confirmed {
			t.Fatalf("first check: %s %s", c.Status, c.Outcome)
		}
		before, _ := r.accounts.Get(ctx, a.ID)
		renamed := account.Name{Family: "Новосёлова", Given: before.Name.Given, Middle: before.Name.Middle}
		if err := r.accounts.SetPending(ctx, a.ID, &account.PersonChange{Name: &renamed, RequestedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		id, err := r.svc.Start(ctx, a.ID, "submitted")
		if err != nil {
			t.Fatal(err)
		}
		if mid, _ := r.accounts.Get(ctx, a.ID); mid.Name != before.Name || mid.Level != assurance.Standard {
			t.Fatalf("while the check runs: name %v, level %s", mid.Name, mid.Level)
		}
		if err := r.svc.Run(ctx, id); err != nil {
			t.Fatal(err)
		}
		if c, _ := r.svc.Get(ctx, id); c.Status != check.Confirmed {
			t.Fatalf("the change's check: %s %s %s %v", c.Status, c.Outcome, c.Source, c.Fields)
		}
		after, _ := r.accounts.Get(ctx, a.ID)
		if after.Name != renamed || !after.Pending.Empty() || after.Level != assurance.Standard {
			t.Errorf("after the check: name %v, pending %v, level %s", after.Name, after.Pending, after.Level)
		}
		ev, _ := r.verifier.Evidence(ctx, a.ID)
		renamedEvidence := 0
		for _, e := range ev {
			if e.Values["family_name"] == "Новосёлова" {
				renamedEvidence++
			}
		}
		if len(ev) != 6 || renamedEvidence != 2 {
			t.Errorf("evidence after the change: %d records, %d of the new surname (want 6 and 2: СФР and МВД)", len(ev), renamedEvidence)
		}
	})
}

// TestStoppedRunKeepsAnswers: a run cut short (the replica stops while МВД
// is being asked) keeps СФР's answer, so that the run that takes the job
// over asks only МВД and ФНС.
func TestStoppedRunKeepsAnswers(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db, check.Config{})
		a := r.person(t, identity(t, "passes"), "+79161234501")
		id, err := r.svc.Start(context.Background(), a.ID, "submitted")
		if err != nil {
			t.Fatal(err)
		}
		r.reg.mu.Lock()
		r.reg.hang = registry.MVD
		r.reg.mu.Unlock()
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for r.reg.n(registry.MVD) == 0 {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
		}()
		if err := r.svc.Run(ctx, id); !errors.Is(err, context.Canceled) {
			t.Fatalf("a cancelled run: %v, want context.Canceled", err)
		}
		c, err := r.svc.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != check.Pending || c.Answers[registry.SFR].Status != registry.Confirmed || len(c.Answers) != 1 {
			t.Fatalf("after the cut: %s %v, want pending with СФР's answer kept", c.Status, c.Answers)
		}
		r.reg.mu.Lock()
		r.reg.hang = ""
		r.reg.mu.Unlock()
		if err := r.svc.Run(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if c, _ = r.svc.Get(context.Background(), id); c.Status != check.Confirmed {
			t.Fatalf("the next run: %s, want confirmed", c.Status)
		}
		if n := r.reg.n(registry.SFR); n != 1 {
			t.Errorf("СФР asked %d times, want once", n)
		}
	})
}

// TestNoticeLanguage: a check's outcome reaches the citizen in the
// language of their latest sign-in (the job has no request to ask).
func TestNoticeLanguage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db, check.Config{})
		ctx := context.Background()
		ru := r.person(t, identity(t, "passes"), "+79163009001")
		en := r.person(t, registry.GeneratedIdentity(77), "+79163009002")
		if err := r.accounts.SetLang(ctx, en.ID, "en"); err != nil {
			t.Fatal(err)
		}
		if err := r.accounts.SetLang(ctx, ru.ID, "xx"); err != nil { // not a language of ours: ignored
			t.Fatal(err)
		}
		for _, a := range []*account.Account{ru, en} {
			if c := r.runCheck(t, a.ID); c.Status != check.Confirmed {
				t.Fatalf("check of %s: %s", a.ID, c.Status)
			}
		}
		r.notes.mu.Lock()
		defer r.notes.mu.Unlock()
		if got := r.notes.langs[ru.ID]; !slices.Equal(got, []string{"ru"}) {
			t.Errorf("notices to a citizen who never chose English: %v", got)
		}
		if got := r.notes.langs[en.ID]; !slices.Equal(got, []string{"en"}) {
			t.Errorf("notices to a citizen who signed in in English: %v", got)
		}
	})
}
