package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/internal/sqldb"
)

// `gosid-load soak` starts a cluster (replicas of gosid serve behind a
// round-robin proxy, on one database), gives it virtual citizens, runs
// their journeys for a while and, optionally, injects a fault midway;
// then it reports journeys per second, failures by kind and step, p50
// and p99 per step, and the fault's pass/fail verdict.

type soakConfig struct {
	Gosid       string
	DatabaseURL string
	DataDir     string
	Replicas    int
	Citizens    int
	// Accounts is how many accounts are loaded (at least Citizens); the
	// citizens are drawn from them at random (the scale measurement).
	Accounts  int
	Duration  time.Duration
	TOTPShare float64
	Refreshes int
	Fault     string
	FaultAt   time.Duration
	PGData    string
	JSONOut   string
	Timeout   time.Duration
	// restartDB, when set (by tests), restarts the database in place of
	// pg_ctl restart -D PGData -m fast.
	restartDB func(ctx context.Context) error
	// beforeRun, when set (by tests), runs after the set-up, just before
	// the journeys.
	beforeRun func() error
}

// Faults the soak can inject, each with its verdict.
var soakFaults = []string{"none", "pg-restart", "kill-replica", "term-replica", "pool-exhausted", "slow-db", "slow-sms", "clock-ahead", "clock-behind", "signin-burst"}

// slowDB is the delay the slow-db scenario adds to every chunk a replica
// sends to the database (each statement's round trip).
const slowDB = 50 * time.Millisecond

// clockStep is how far the clock-ahead and clock-behind scenarios shift
// the last replica's clock.
const clockStep = 2 * time.Minute

func parseSoakFlags(args []string, getenv func(string) string, stderr io.Writer) (*soakConfig, error) {
	fs := flag.NewFlagSet("gosid-load soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &soakConfig{}
	fs.StringVar(&c.Gosid, "gosid", binNear(), "The gosid binary to start replicas of (default: the one beside gosid-load, else on PATH).")
	fs.StringVar(&c.DataDir, "data-dir", "", "Data dir of the cluster (the master key, SQLite, replica logs); default a new temporary one.")
	fs.IntVar(&c.Replicas, "replicas", 2, "Replicas of gosid serve behind the proxy (more than one needs PostgreSQL).")
	fs.IntVar(&c.Citizens, "citizens", 200, "Concurrent virtual citizens.")
	fs.DurationVar(&c.Duration, "duration", 60*time.Second, "How long journeys run.")
	fs.Float64Var(&c.TOTPShare, "totp-share", 0.25, "Share of the citizens who sign in with an authenticator code after the password.")
	fs.IntVar(&c.Refreshes, "refreshes", 3, "Refresh-token rotations per journey.")
	fs.StringVar(&c.Fault, "fault", "none", "Fault injected midway: "+strings.Join(soakFaults, ", ")+".")
	fs.DurationVar(&c.FaultAt, "fault-at", 0, "When the fault is injected (default: a third of --duration).")
	fs.StringVar(&c.PGData, "pg-data", "", "PostgreSQL data directory, for --fault pg-restart (pg_ctl restart -D DIR -m fast, as the cluster's owner).")
	fs.StringVar(&c.JSONOut, "json", "", "Also write the report as JSON to this file.")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "Per-request timeout.")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.DatabaseURL = getenv("GOSID_DATABASE_URL")
	switch {
	case !slices.Contains(soakFaults, c.Fault):
		return nil, usageErr("--fault: one of %s", strings.Join(soakFaults, ", "))
	case c.Replicas < 1 || c.Citizens < 1 || c.Duration <= 0 || c.Refreshes < 0 || c.TOTPShare < 0 || c.TOTPShare > 1:
		return nil, usageErr("--replicas, --citizens and --duration must be positive, --refreshes not negative, --totp-share within 0..1")
	case c.Replicas > 1 && c.DatabaseURL == "":
		return nil, usageErr("--replicas %d: several replicas need PostgreSQL (GOSID_DATABASE_URL)", c.Replicas)
	case (c.Fault == "kill-replica" || c.Fault == "term-replica" || strings.HasPrefix(c.Fault, "clock-")) && c.Replicas < 2:
		return nil, usageErr("--fault %s needs --replicas 2 or more", c.Fault)
	case c.Fault == "signin-burst" && (c.DatabaseURL == "" || c.Citizens < burstCitizens):
		return nil, usageErr("--fault signin-burst needs PostgreSQL (GOSID_DATABASE_URL) and at least %d citizens", burstCitizens)
	case c.Fault == "slow-db" && c.DatabaseURL == "":
		return nil, usageErr("--fault slow-db needs PostgreSQL (GOSID_DATABASE_URL)")
	case c.Fault == "pg-restart" && (c.DatabaseURL == "" || c.PGData == ""):
		return nil, usageErr("--fault pg-restart needs PostgreSQL (GOSID_DATABASE_URL) and --pg-data")
	}
	if c.FaultAt <= 0 {
		c.FaultAt = c.Duration / 3
	}
	return c, nil
}

// soakReport is what a soak found.
type soakReport struct {
	Started        string           `json:"started"`
	Replicas       int              `json:"replicas"`
	Database       string           `json:"database"`
	Citizens       int              `json:"citizens"`
	Accounts       int              `json:"accounts"`
	ImportSeconds  float64          `json:"import_s"`
	TOTPCitizens   int              `json:"totp_citizens"`
	Seconds        float64          `json:"seconds"`
	Journeys       int64            `json:"journeys"`
	JourneysPerSec float64          `json:"journeys_per_s"`
	Failures       map[string]int64 `json:"failures"`
	Retries        map[string]int64 `json:"retries"`
	Rerouted       int64            `json:"rerouted_by_proxy"`
	// Dropped counts requests a replica took and never answered in full
	// (the proxy's 502 after the request was sent): only a killed
	// replica may cost any.
	Dropped   int64  `json:"dropped_in_flight"`
	FirstDrop string `json:"first_drop,omitempty"`
	// Unread counts requests a replica sent SIGTERM closed the kept-alive
	// connection on before reading them (term-replica): sent again, not
	// dropped.
	Unread    int64 `json:"unread_at_close,omitempty"`
	PoolWaits int64 `json:"pool_waits"`
	// ClockOffset is what the shifted replica adds to its clock to keep
	// the database's (clock-ahead, clock-behind).
	ClockOffset  float64     `json:"clock_offset_s,omitempty"`
	Steps        []soakStep  `json:"steps"`
	Fault        faultResult `json:"fault"`
	AuditIntact  bool        `json:"audit_intact"`
	AuditSeconds float64     `json:"audit_verify_s"`
	// Consistency is what the checks after the run found (consistency.go).
	Consistency *consistency `json:"consistency"`
	// SMS is the slow-sms scenario's sign-ins by SMS (sms.go).
	SMS     *smsFigures `json:"sms,omitempty"`
	Verdict string      `json:"verdict"`
}

type soakStep struct {
	Step     string           `json:"step"`
	OK       int64            `json:"ok"`
	Failures map[string]int64 `json:"failures,omitempty"`
	P50ms    float64          `json:"p50_ms"`
	P99ms    float64          `json:"p99_ms"`
	Maxms    float64          `json:"max_ms"`
	// AnswerP99ms and AnswerMaxms are of each answer: a portal step
	// sends several requests (P99ms is of their sum), the others one.
	AnswerP99ms float64 `json:"answer_p99_ms"`
	AnswerMaxms float64 `json:"answer_max_ms"`
	// WaitP99ms is the step's p99 with its retries after 503s: what the
	// citizen waited.
	WaitP99ms  float64 `json:"with_retries_p99_ms"`
	FirstError string  `json:"first_error,omitempty"`
}

type faultResult struct {
	Name string `json:"name"`
	// InjectedAt and EndedAt are seconds since the start.
	InjectedAt float64 `json:"injected_at_s,omitempty"`
	EndedAt    float64 `json:"ended_at_s,omitempty"`
	// RecoverySeconds: from the fault's end to the next finished journey.
	RecoverySeconds float64 `json:"recovery_s,omitempty"`
	// CatchUpSeconds: from a clock step to the shifted replica's offset
	// metric (gosid_clock_offset_seconds) correcting it; -1 never.
	CatchUpSeconds float64 `json:"clock_catch_up_s,omitempty"`
	// NotReadyAt (pg-restart): seconds since the start when a replica's
	// /readyz first answered other than 200; 0 never. ReadyAgainSeconds:
	// from the database's return to every live replica's /readyz
	// answering 200; -1 not within readyWait.
	NotReadyAt        float64  `json:"not_ready_at_s,omitempty"`
	ReadyAgainSeconds float64  `json:"ready_again_s,omitempty"`
	Verdict           string   `json:"verdict"`
	Reasons           []string `json:"reasons,omitempty"`
}

func runSoak(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseSoakFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	rep, err := soak(ctx, cfg, stderr)
	if rep != nil {
		rep.writeTable(stdout)
		if cfg.JSONOut != "" {
			b, _ := json.MarshalIndent(rep, "", "  ")
			if werr := os.WriteFile(cfg.JSONOut, append(b, '\n'), 0o644); werr != nil && err == nil {
				err = werr
			}
		}
		if err == nil && rep.Verdict != "pass" {
			err = fmt.Errorf("soak failed: %s", strings.Join(rep.Fault.Reasons, "; "))
		}
	}
	return err
}

// soak runs one soak and judges it.
func soak(ctx context.Context, cfg *soakConfig, log io.Writer) (*soakReport, error) {
	dir := cfg.DataDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "gosid-soak-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	// The registry simulator answers at once: the set-up's checks are
	// not what the soak measures.
	extra := []string{"--registry-simulator-latency", "0"}
	if cfg.Fault == "signin-burst" {
		// The budget the scenario holds the answers to, whatever the
		// default.
		extra = append(extra, "--password-wait", burstBudget.String())
	}
	if cfg.Fault == "pool-exhausted" {
		// Two connections for a crowd: the pool, not the database,
		// limits, and the acquire timeout must keep latency bounded.
		extra = append(extra, "--db-max-conns", "1", "--db-acquire-timeout", "100ms")
	}
	// The edge: the relying party's back-channel logout endpoint and the
	// SMS gateway, faked by the tool (edge.go).
	e, err := newEdge()
	if err != nil {
		return nil, err
	}
	defer e.close()
	if cfg.Fault == "slow-sms" {
		// Codes by SMS go to the edge's gateway; the SMS citizens come
		// through the proxy from addresses of their own.
		extra = append(extra, "--sms-gateway-url", e.url+"/sms", "--sms-gateway-auth-header", "", "--trusted-proxies", "127.0.0.1/32")
	}
	// Set-up before the replicas start: a relying party (not first-party:
	// consent is asked) and the citizens' accounts; then authenticators
	// for a share of them, enrolled through the pages.
	const redirect, secret = "http://127.0.0.1:9/cb", "Zk7#vLq2!mWp"
	var client soakClient
	var imported time.Duration
	citizens := make([]*citizen, cfg.Citizens)
	setup := func(cl *cluster) error {
		out, err := cl.gosid(ctx, nil, "clients", "create", "--name", "Нагрузка", "--scopes", "openid fullname offline_access",
			"--grant-types", "authorization_code,refresh_token", "--auth-method", "client_secret_basic", "--redirect-uri", redirect,
			"--backchannel-logout-uri", e.url+"/backchannel-logout", "--json")
		if err != nil {
			return err
		}
		var created struct {
			ID     string `json:"client_id"`
			Secret string `json:"client_secret"`
		}
		if err := json.Unmarshal(out, &created); err != nil {
			return fmt.Errorf("clients create: %v", err)
		}
		client = soakClient{id: created.ID, secret: created.Secret, redirect: redirect}
		// The accounts in one `gosid accounts import`, all with one
		// password hashed once (as the server's parameters hash it); the
		// citizens are cfg.Citizens of them drawn at random.
		accounts := max(cfg.Accounts, cfg.Citizens)
		fmt.Fprintf(log, "soak: importing %d accounts\n", accounts)
		h, err := password.NewHasher(password.DefaultParams(), 1)
		if err != nil {
			return err
		}
		phc, err := h.Hash(ctx, secret)
		if err != nil {
			return err
		}
		file := filepath.Join(cl.dataDir, "citizens.jsonl")
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		// The citizens' accounts claim a person of the registry
		// simulator's generated family (so that the checks after the
		// start raise them to standard, as the portal's applications
		// need); the others only a name.
		picked := map[int]*citizen{}
		for i, n := range rand.Perm(accounts)[:len(citizens)] {
			citizens[i] = &citizen{login: soakPhone(n), password: secret}
			picked[n] = citizens[i]
		}
		w := bufio.NewWriterSize(f, 1<<20)
		for i := range accounts {
			rec := map[string]string{"external_id": strconv.Itoa(i), "phone": soakPhone(i), "password_hash": phc,
				"family_name": "Нагрузкин", "given_name": "Гражданин"}
			if c := picked[i]; c != nil {
				c.person = claimIdentity(rec, i)
			}
			line, _ := json.Marshal(rec)
			w.Write(append(line, '\n'))
		}
		if err := errors.Join(w.Flush(), f.Close()); err != nil {
			return err
		}
		start := time.Now()
		_, err = cl.gosidArgs(ctx, nil, append(append([]string{"accounts", "import", "--format", "jsonl", "--contacts-verified", "--batch", "2000"},
			cl.storage()...), file)...)
		imported = time.Since(start)
		_ = os.Remove(file)
		return err
	}
	fmt.Fprintf(log, "soak: starting %d replica(s) of %s\n", cfg.Replicas, cfg.Gosid)
	var replicaEnv func(int) []string
	if strings.HasPrefix(cfg.Fault, "clock-") {
		// The last replica's clock steps at --fault-at, while the load
		// runs: it reads its shift from a file every second (inject
		// writes it); every request of a journey may meet either clock.
		replicaEnv = func(i int) []string {
			if i == cfg.Replicas-1 {
				return []string{"GOSID_FAULT_CLOCK_FILE=" + clockFile(dir)}
			}
			return nil
		}
	}
	dbURL := cfg.DatabaseURL
	var slow *delayProxy
	if cfg.Fault == "slow-db" {
		// The replicas reach the database through a proxy that will hold
		// their statements (a short directory: socket paths are bounded).
		sock, err := os.MkdirTemp("", "gsp")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(sock)
		if slow, err = newDelayProxy(dbURL, sock); err != nil {
			return nil, err
		}
		defer slow.close()
		dbURL = slow.url
	}
	cl, err := startCluster(ctx, cfg.Gosid, dir, dbURL, cfg.Replicas, extra, replicaEnv, setup)
	if err != nil {
		return nil, err
	}
	defer cl.stop()
	issuer, _ := url.Parse(cl.issuer)
	q := newRequester(&config{Issuer: issuer, Concurrency: cfg.Citizens, Timeout: cfg.Timeout})
	defer q.tr.CloseIdleConnections()
	run := &soakRun{q: q, client: client, steps: map[string]*stepStats{}, retries: map[string]int64{}, okPerSec: map[int]int64{}, failLog: log}
	run.portal, _ = url.Parse(cl.portal)
	if cfg.Fault == "signin-burst" {
		rep := &soakReport{Started: time.Now().UTC().Format(time.RFC3339), Replicas: cfg.Replicas, Citizens: cfg.Citizens,
			Accounts: max(cfg.Accounts, cfg.Citizens), ImportSeconds: imported.Seconds(), Database: "postgres", Fault: faultResult{Name: cfg.Fault}}
		signInBurst(ctx, cfg, cl, citizens, rep, log)
		rep.Rerouted, rep.Dropped, rep.FirstDrop, rep.Unread = cl.proxyCounts()
		rep.PoolWaits = cl.poolWaits(ctx)
		rep.verifyAudit(ctx, cl, log)
		judge(cfg, rep, run, cl, nil)
		return rep, nil
	}
	if err := run.raise(ctx, citizens, log); err != nil {
		return nil, fmt.Errorf("raise the citizens to standard: %w", err)
	}
	withTOTP := int(float64(cfg.Citizens)*cfg.TOTPShare + 0.5)
	if err := parallel(ctx, 4, withTOTP, func(i int) error { return run.enrolTOTP(ctx, citizens[i]) }); err != nil {
		return nil, fmt.Errorf("enrol an authenticator: %w", err)
	}
	if cfg.Fault == "slow-sms" {
		// Half of the citizens, none of those with an authenticator,
		// sign in with SMS codes.
		run.sms = newSMSRun(e, citizens[withTOTP:min(len(citizens), withTOTP+cfg.Citizens/2)])
		if err := parallel(ctx, 4, len(run.sms.order), func(i int) error { return run.enrolSMS(ctx, run.sms.order[i]) }); err != nil {
			return nil, fmt.Errorf("enrol SMS codes: %w", err)
		}
	}

	fmt.Fprintf(log, "soak: %d citizens (%d with an authenticator), %s, fault %s\n", cfg.Citizens, withTOTP, cfg.Duration, cfg.Fault)
	rep := &soakReport{Started: time.Now().UTC().Format(time.RFC3339), Replicas: cfg.Replicas, Citizens: cfg.Citizens, TOTPCitizens: withTOTP,
		Accounts: max(cfg.Accounts, cfg.Citizens), ImportSeconds: imported.Seconds(),
		Database: "sqlite", Fault: faultResult{Name: cfg.Fault}}
	if cfg.DatabaseURL != "" {
		rep.Database = "postgres"
	}
	if cfg.beforeRun != nil {
		if err := cfg.beforeRun(); err != nil {
			return nil, err
		}
	}
	cdb, err := openCheckDB(ctx, cfg, dir)
	if err != nil {
		return nil, err
	}
	defer cdb.Close()
	run.start = time.Now()
	if run.sms != nil {
		run.sms.pace(run.start, cfg.Duration)
	}
	lctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	watched := make(chan *tokenWatch, 1)
	go func() { watched <- watchTokens(lctx, cdb, client.id, run.start) }()
	var wg sync.WaitGroup
	for _, c := range citizens {
		wg.Go(func() {
			// Spread the first requests over a second.
			sleepCtx(lctx, time.Duration(rand.Int64N(int64(time.Second))))
			for lctx.Err() == nil {
				if jerr := run.journey(lctx, c, cfg.Refreshes); jerr != nil && jerr.kind != "cancelled" {
					sleepCtx(lctx, 100*time.Millisecond)
				}
			}
		})
	}
	faultErr := make(chan error, 1)
	go func() { faultErr <- inject(lctx, cfg, cl, slow, run, &rep.Fault) }()
	wg.Wait()
	ferr := <-faultErr
	rep.Seconds = time.Since(run.start).Seconds()
	var killedAt time.Time
	if cfg.Fault == "kill-replica" && rep.Fault.InjectedAt > 0 {
		killedAt = run.start.Add(time.Duration(rep.Fault.InjectedAt * float64(time.Second)))
	}
	rep.Consistency = checkConsistency(ctx, cfg, cdb, run, e, <-watched, killedAt)
	rep.Steps = run.stepRows()
	rep.Failures = map[string]int64{}
	for _, s := range rep.Steps {
		for k, n := range s.Failures {
			if k != "cancelled" {
				rep.Failures[k] += n
			}
		}
	}
	for _, n := range run.okPerSec {
		rep.Journeys += n
	}
	rep.JourneysPerSec = float64(rep.Journeys) / rep.Seconds
	rep.Retries = run.retries
	rep.Rerouted, rep.Dropped, rep.FirstDrop, rep.Unread = cl.proxyCounts()
	rep.PoolWaits = cl.poolWaits(ctx)
	if strings.HasPrefix(cfg.Fault, "clock-") {
		v, _ := cl.replicas[len(cl.replicas)-1].metric(ctx, "gosid_clock_offset_seconds")
		rep.ClockOffset = v
	}
	rep.verifyAudit(ctx, cl, log)
	judge(cfg, rep, run, cl, ferr)
	return rep, nil
}

// verifyAudit runs `gosid audit verify` on the cluster's database and
// records the outcome and its time.
func (rep *soakReport) verifyAudit(ctx context.Context, cl *cluster, log io.Writer) {
	start := time.Now()
	_, err := cl.gosid(ctx, nil, "audit", "verify")
	rep.AuditSeconds = time.Since(start).Seconds()
	rep.AuditIntact = err == nil
	if err != nil {
		fmt.Fprintf(log, "soak: %v\n", err)
	}
}

// parallel runs fn(0..n-1) on k goroutines and returns the first error.
func parallel(ctx context.Context, k, n int, fn func(i int) error) error {
	var mu sync.Mutex
	var first error
	next := 0
	var wg sync.WaitGroup
	for range k {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil || i >= n || ctx.Err() != nil
				mu.Unlock()
				if stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// inject waits until cfg.FaultAt and injects the fault.
func inject(ctx context.Context, cfg *soakConfig, cl *cluster, slow *delayProxy, run *soakRun, fr *faultResult) error {
	if cfg.Fault == "none" || cfg.Fault == "pool-exhausted" {
		return nil // in force from the start
	}
	sleepCtx(ctx, cfg.FaultAt)
	if ctx.Err() != nil {
		return errors.New("the run ended before the fault")
	}
	fr.InjectedAt = time.Since(run.start).Seconds()
	last := cl.replicas[len(cl.replicas)-1]
	var err error
	switch cfg.Fault {
	case "pg-restart":
		w := watchReady(ctx, cl.replicas, run.start)
		if cfg.restartDB != nil {
			err = cfg.restartDB(ctx)
		} else {
			cmd := exec.CommandContext(ctx, "pg_ctl", "restart", "-D", cfg.PGData, "-m", "fast", "-w")
			if out, cerr := cmd.CombinedOutput(); cerr != nil {
				err = fmt.Errorf("pg_ctl restart: %v: %s", cerr, strings.TrimSpace(string(out)))
			}
		}
		fr.EndedAt = time.Since(run.start).Seconds()
		fr.ReadyAgainSeconds = w.readyAgain(ctx, cl.replicas)
		fr.NotReadyAt = w.firstDown()
		return err
	case "slow-db":
		// Slow until the end: the verdict is about bounded latency.
		slow.delay.Store(int64(slowDB))
		return nil
	case "slow-sms":
		// Slow for a quarter of the run: the codes sent then must still
		// arrive and work, and the ones sent after arrive at once.
		window := cfg.Duration / 4
		run.sms.slow(time.Since(run.start), window)
		sleepCtx(ctx, window)
		run.sms.edge.smsDelay.Store(0)
	case "clock-ahead", "clock-behind":
		err = stepClock(ctx, cfg, cl, fr)
	case "kill-replica":
		err = last.cmd.Process.Signal(syscall.SIGKILL)
		<-last.exited
	case "term-replica":
		cl.proxy.stopping(last.url)
		cl.portalProxy.stopping(last.portal)
		err = last.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-last.exited:
		case <-time.After(30 * time.Second):
			err = errors.New("the replica did not stop within 30 s of SIGTERM")
		}
	}
	fr.EndedAt = time.Since(run.start).Seconds()
	return err
}

// judge gives the verdict: no failure a citizen would see, whatever the
// fault (a clean 503 is waited out; a verdict on valid credentials, a 500,
// a lost connection that stayed lost are failures), the activity log
// intact, and per fault: recovery within 5 s of the database's return,
// a clean exit on SIGTERM, bounded latency with an exhausted pool.
func judge(cfg *soakConfig, rep *soakReport, run *soakRun, cl *cluster, ferr error) {
	fr := &rep.Fault
	fail := func(format string, a ...any) { fr.Reasons = append(fr.Reasons, fmt.Sprintf(format, a...)) }
	if ferr != nil {
		fail("injecting the fault: %v", ferr)
	}
	for _, kind := range []string{failVerdict, failServer, failTransport, failUnavailable, failStatus, failInvalid} {
		if n := rep.Failures[kind]; n > 0 {
			fail("%d %s failures", n, kind)
		}
	}
	if rep.Journeys == 0 {
		fail("%v", errNoJourneys)
	}
	if rep.Dropped > 0 && cfg.Fault != "kill-replica" {
		fail("%d requests a replica had taken were never answered (a replica that stops lets them finish); the first: %s", rep.Dropped, rep.FirstDrop)
	}
	if !rep.AuditIntact {
		fail("gosid audit verify failed")
	}
	if rep.Consistency != nil {
		for _, p := range rep.Consistency.Problems {
			fail("%s", p)
		}
	}
	if cfg.Fault == "pg-restart" && fr.EndedAt > 0 {
		if fr.NotReadyAt == 0 {
			fail("/readyz never reported the database away")
		}
		if fr.ReadyAgainSeconds < 0 || fr.ReadyAgainSeconds > 5 {
			fail("/readyz was not 200 on every replica within 5 s of the database's return (%.1f s)", fr.ReadyAgainSeconds)
		}
		// Requests in the gap fail fast: a clean 503, never a hang.
		for _, s := range rep.Steps {
			if s.Maxms > float64(gapBound.Milliseconds()) {
				fail("%s: an answer took %.0f ms, want ≤ %d ms even while the database is away", s.Step, s.Maxms, gapBound.Milliseconds())
			}
		}
	}
	switch cfg.Fault {
	case "pg-restart", "kill-replica", "term-replica":
		if fr.EndedAt == 0 {
			break
		}
		run.mu.Lock()
		secs := make([]int, 0, len(run.okPerSec))
		for s := range run.okPerSec {
			secs = append(secs, s)
		}
		run.mu.Unlock()
		sort.Ints(secs)
		i := sort.SearchInts(secs, int(fr.EndedAt))
		if i == len(secs) {
			fail("no journey finished after the fault")
			break
		}
		fr.RecoverySeconds = max(0, float64(secs[i])-fr.EndedAt)
		if fr.RecoverySeconds > 5 {
			fail("service resumed %.1f s after the fault, want ≤ 5 s", fr.RecoverySeconds)
		}
		if cfg.Fault == "term-replica" {
			if n := len(cl.replicas); n > 0 && cl.replicas[n-1].err != nil {
				fail("the replica stopped by SIGTERM exited with %v", cl.replicas[n-1].err)
			}
		}
	case "clock-ahead", "clock-behind":
		want := clockStep.Seconds()
		if cfg.Fault == "clock-ahead" {
			want = -want
		}
		if math.Abs(rep.ClockOffset-want) > 1 {
			fail("the shifted replica corrects its clock by %.1f s, want %.0f s", rep.ClockOffset, want)
		}
		if fr.InjectedAt > 0 && (fr.CatchUpSeconds < 0 || fr.CatchUpSeconds > sqldb.ClockInterval.Seconds()) {
			fail("the shifted replica's clock correction did not catch up with the step within %s", sqldb.ClockInterval)
		}
	case "signin-burst":
		// Every answer, a sign-in or a refusal, within the budget at p99,
		// none past twice it.
		budget := ms(burstBudget)
		for _, s := range rep.Steps {
			if s.P99ms > budget {
				fail("%s: p99 %.0f ms, want within the budget (%.0f ms)", s.Step, s.P99ms, budget)
			}
			if s.Maxms > 2*budget {
				fail("%s: the longest answer took %.0f ms, want at most twice the budget", s.Step, s.Maxms)
			}
		}
	case "pool-exhausted", "slow-db", "slow-sms":
		if cfg.Fault == "slow-sms" {
			judgeSMS(rep, run, fail)
		}
		if cfg.Fault == "pool-exhausted" && rep.PoolWaits == 0 {
			fail("no request waited for a pooled connection: the pool was not exhausted")
		}
		// Bounded latency is each answer's, what a browser waits for: a
		// portal step of five requests under a database that holds each
		// statement takes five answers' time, which bounds the number of
		// statements, not the pile-up.
		for _, s := range rep.Steps {
			if s.AnswerP99ms > 5000 {
				fail("%s: p99 of each answer %.0f ms (%s), want ≤ 5000", s.Step, s.AnswerP99ms, cfg.Fault)
			}
		}
	}
	fr.Verdict = "pass"
	if len(fr.Reasons) > 0 {
		fr.Verdict = "fail"
	}
	rep.Verdict = fr.Verdict
}

func (rep *soakReport) writeTable(out io.Writer) {
	fmt.Fprintf(out, "soak %s: %d replica(s), %s, %d citizens (%d with an authenticator), %.0f s, fault %s\n",
		rep.Started, rep.Replicas, rep.Database, rep.Citizens, rep.TOTPCitizens, rep.Seconds, rep.Fault.Name)
	fmt.Fprintf(out, "journeys: %d (%.1f/s); retries: %v; rerouted by the proxy: %d; dropped in flight: %d; closed unread by a stopping replica: %d; waits for a pooled connection: %d; audit log intact: %v (verified in %.1f s)\n",
		rep.Journeys, rep.JourneysPerSec, rep.Retries, rep.Rerouted, rep.Dropped, rep.Unread, rep.PoolWaits, rep.AuditIntact, rep.AuditSeconds)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\tok\tfailures\tp50 ms\tp99 ms\tmax ms\tp99 each answer ms\tp99 with retries ms\t")
	for _, s := range rep.Steps {
		var fails []string
		for k, n := range s.Failures {
			fails = append(fails, fmt.Sprintf("%s %d", k, n))
		}
		sort.Strings(fails)
		f := strings.Join(fails, ", ")
		if f == "" {
			f = "0"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", s.Step, s.OK, f, s.P50ms, s.P99ms, s.Maxms, s.AnswerP99ms, s.WaitP99ms)
	}
	tw.Flush()
	fmt.Fprintf(out, "fault %s: %s", rep.Fault.Name, rep.Fault.Verdict)
	if rep.ClockOffset != 0 {
		fmt.Fprintf(out, " (the shifted replica corrects its clock by %+.3f s, caught up %.1f s after the step)", rep.ClockOffset, rep.Fault.CatchUpSeconds)
	}
	if rep.Fault.EndedAt > 0 {
		fmt.Fprintf(out, " (injected at %.1f s, over at %.1f s, journeys again %.1f s later)", rep.Fault.InjectedAt, rep.Fault.EndedAt, rep.Fault.RecoverySeconds)
	}
	if rep.Fault.Name == "pg-restart" && rep.Fault.EndedAt > 0 {
		fmt.Fprintf(out, "; /readyz not ready from %.1f s, 200 on every replica %.1f s after the return", rep.Fault.NotReadyAt, rep.Fault.ReadyAgainSeconds)
	}
	fmt.Fprintln(out)
	if s := rep.SMS; s != nil {
		fmt.Fprintf(out, "sign-ins by SMS: %d (%d with the code sent while the gateway was slow, %d after); longest from the page to the SMS: %.1f s\n",
			s.Completed, s.InWindow, s.AfterWindow, s.MaxArrivalSeconds)
	}
	rep.Consistency.writeTable(out)
	for _, r := range rep.Fault.Reasons {
		fmt.Fprintf(out, "  - %s\n", r)
	}
	for _, s := range rep.Steps {
		if s.FirstError != "" {
			fmt.Fprintf(out, "  first %s failure: %s\n", s.Step, s.FirstError)
		}
	}
}

// binNear finds gosid beside gosid-load, for a default --gosid.
func binNear() string {
	self, err := os.Executable()
	if err != nil {
		return "gosid"
	}
	if p := filepath.Join(filepath.Dir(self), "gosid"); isExecFile(p) {
		return p
	}
	return "gosid"
}

func isExecFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// soakPhone is the phone number of the soak's i-th account.
func soakPhone(i int) string { return fmt.Sprintf("+791%08d", i) }
