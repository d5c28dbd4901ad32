package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// After a soak, whatever its fault, nothing may be lost or doubled. The
// tool reads the database directly and checks:
//
//   - every refresh-token family holds at most one live (unrotated) token,
//     and a revoked family none: a rotation that ran twice, or a revocation
//     half done, shows here;
//   - no authorization code was exchanged twice: each family comes from the
//     one exchange its request records (oidc_auth_requests.family_id), so a
//     second exchange that got past the spent-code guard would leave a
//     family no request names;
//   - the job queue drained: after a short wait no job is left available
//     or running, none was discarded; and the journeys' own jobs — each
//     sign-out enqueues a back-channel logout to the soak's relying party,
//     whose endpoint is the tool's edge — ran once each: every session the
//     journeys ended has its logout job, each completed job was delivered,
//     and no session's logout was delivered twice.
//
// From the outside, a sample of codes already exchanged and of refresh
// tokens already rotated (the latest of the run, so after the fault) is
// presented again: each must get 400 invalid_grant.

// consistency is what the checks found.
type consistency struct {
	// Snapshots is how many times the tokens and codes were checked while
	// the load ran (every second; SnapshotsFailed could not be read); the
	// token figures are the most seen in one snapshot or after the run.
	Snapshots        int            `json:"token_snapshots"`
	SnapshotsFailed  int            `json:"token_snapshots_failed"`
	RefreshFamilies  int            `json:"refresh_families"`
	FamiliesSeveral  int            `json:"families_with_several_live_tokens"`
	LiveInRevoked    int            `json:"live_tokens_in_revoked_families"`
	CodesExchanged   int            `json:"codes_exchanged"`
	FamiliesNoCode   int            `json:"families_without_their_code"`
	JobsDrainSeconds float64        `json:"jobs_drain_s"`
	Jobs             map[string]int `json:"jobs"` // "kind state" → count
	JobsStuck        int            `json:"jobs_stuck"`
	// JobsAwaitingRescue were running on the killed replica: the queue
	// runs them again after its rescue interval, not within the drain.
	JobsAwaitingRescue int `json:"jobs_awaiting_rescue,omitempty"`
	JobsDiscarded      int `json:"jobs_discarded"`
	SessionsEnded      int `json:"sessions_ended"`
	LogoutJobsMissing  int `json:"logout_jobs_missing"`
	LogoutsDelivered   int `json:"logouts_delivered"`
	LogoutsLost        int `json:"logouts_undelivered"`
	LogoutsTwice       int `json:"logouts_delivered_twice"`
	// SMS is the slow-sms scenario's: messages taken by the gateway and
	// codes sent twice.
	SMSSent  int `json:"sms_sent,omitempty"`
	SMSTwice int `json:"sms_sent_twice,omitempty"`
	Replayed int `json:"replayed"`
	// ReplaysAccepted are replays answered otherwise than invalid_grant.
	ReplaysAccepted int      `json:"replays_not_refused"`
	Problems        []string `json:"problems,omitempty"`
}

func (c *consistency) problem(format string, a ...any) {
	c.Problems = append(c.Problems, fmt.Sprintf(format, a...))
}

// spentTokens keeps what the journeys spent, for the replays and the
// logout count: the latest exchanged codes (their exchange forms as sent)
// and rotated refresh tokens, and the sids of the sessions ended.
type spentTokens struct {
	mu     sync.Mutex
	codes  []url.Values
	rotate []spentRefresh
	sids   map[string]bool
}

type spentRefresh struct {
	token string
	at    time.Time
}

// replaySample is how many codes and rotated tokens are replayed.
const replaySample = 12

func (s *spentTokens) code(form url.Values) {
	s.mu.Lock()
	s.codes = append(s.codes, form)
	if len(s.codes) > 4*replaySample {
		s.codes = append(s.codes[:0], s.codes[len(s.codes)-replaySample:]...)
	}
	s.mu.Unlock()
}

func (s *spentTokens) rotated(token string) {
	s.mu.Lock()
	s.rotate = append(s.rotate, spentRefresh{token, time.Now()})
	if len(s.rotate) > 4*replaySample {
		s.rotate = append(s.rotate[:0], s.rotate[len(s.rotate)-replaySample:]...)
	}
	s.mu.Unlock()
}

// ended notes the sign-out of the session an ID token names.
func (s *spentTokens) ended(idToken string) {
	sid, ok := jwtClaim(idToken, "sid")
	if !ok {
		return
	}
	s.mu.Lock()
	if s.sids == nil {
		s.sids = map[string]bool{}
	}
	s.sids[sid] = true
	s.mu.Unlock()
}

func (s *spentTokens) endedSIDs() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bool, len(s.sids))
	for k := range s.sids {
		out[k] = true
	}
	return out
}

// dbState is what the checks read from the database.
type dbState struct {
	// tokens are the client's refresh tokens.
	tokens  []tokenRow
	revoked map[string]bool
	// codeFamilies are the families of spent codes, per family how many
	// requests name it.
	codeFamilies map[string]int
	jobs         []jobRow
	// killedAt is when a replica was killed (kill-replica), else zero.
	killedAt time.Time
}

type tokenRow struct {
	family  string
	rotated bool
}

type jobRow struct {
	kind, state string
	attempt     int
	// attempted is when the job was last taken (zero: never).
	attempted time.Time
	// due is when the job may run (river's scheduled_at): a retryable
	// job turns available then.
	due time.Time
	// sid is a back-channel logout's session (its args), for logouts to
	// the soak's relying party only: the portal, a client of the same
	// sessions, gets a logout of its own for each.
	sid string
}

const logoutKind = "oidc.backchannel_logout"

// readState reads the soak client's tokens and codes and every job.
func readState(ctx context.Context, db *sqldb.DB, clientID string) (*dbState, error) {
	st, err := readTokens(ctx, db, clientID)
	if err != nil {
		return nil, err
	}
	if st.jobs, err = readJobs(ctx, db, clientID); err != nil {
		return nil, err
	}
	return st, nil
}

// readTokens reads the soak client's refresh tokens and spent codes, in
// an order that makes the three reads (not one snapshot while the load
// runs) judge right: the revocations first (a family is emptied before,
// or in the same transaction as, its revocation is recorded, so a token
// read later of a family revoked earlier is a real leftover), then the
// tokens, then the codes (a family's first token commits with its code's
// spending, so a code read later that does not name the family is a
// real orphan).
func readTokens(ctx context.Context, db *sqldb.DB, clientID string) (*dbState, error) {
	st := &dbState{revoked: map[string]bool{}, codeFamilies: map[string]int{}}
	ids, err := sqldb.Strings(ctx, db, `SELECT id FROM oidc_revocations`)
	if err != nil {
		return nil, fmt.Errorf("revocations: %w", err)
	}
	for _, id := range ids {
		st.revoked[id] = true
	}
	rows, err := db.Query(ctx, `SELECT family_id, rotated_at FROM oidc_refresh_tokens WHERE client_id = $1`, clientID)
	if err != nil {
		return nil, fmt.Errorf("refresh tokens: %w", err)
	}
	for rows.Next() {
		var t tokenRow
		var rotated sql.NullInt64
		if err := rows.Scan(&t.family, &rotated); err != nil {
			rows.Close()
			return nil, err
		}
		t.rotated = rotated.Valid
		st.tokens = append(st.tokens, t)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	fams, err := sqldb.Strings(ctx, db, `SELECT family_id FROM oidc_auth_requests WHERE client_id = $1 AND code_used_at IS NOT NULL AND family_id IS NOT NULL`, clientID)
	if err != nil {
		return nil, fmt.Errorf("spent codes: %w", err)
	}
	for _, f := range fams {
		st.codeFamilies[f]++
	}
	return st, nil
}

func readJobs(ctx context.Context, db *sqldb.DB, clientID string) ([]jobRow, error) {
	// River keeps args as jsonb on both dialects; SQLite's is binary,
	// which json() turns back into text.
	micros := func(col string) string {
		return "COALESCE(CAST(EXTRACT(EPOCH FROM " + col + ") * 1000000 AS BIGINT), 0)"
	}
	args := "CAST(args AS TEXT)"
	if db.Dialect() == sqldb.SQLite {
		micros = func(col string) string {
			return "COALESCE(CAST(unixepoch(" + col + ", 'subsec') * 1000000 AS INTEGER), 0)"
		}
		args = "json(args)"
	}
	rows, err := db.Query(ctx, `SELECT kind, state, attempt, `+args+`, `+micros("attempted_at")+`, `+micros("scheduled_at")+` FROM river_job`)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	var out []jobRow
	for rows.Next() {
		var j jobRow
		var raw string
		var at, due int64
		if err := rows.Scan(&j.kind, &j.state, &j.attempt, &raw, &at, &due); err != nil {
			rows.Close()
			return nil, err
		}
		if at > 0 {
			j.attempted = time.UnixMicro(at)
		}
		if due > 0 {
			j.due = time.UnixMicro(due)
		}
		if j.kind == logoutKind {
			var a struct {
				ClientID string `json:"client_id"`
				SID      string `json:"sid"`
			}
			_ = json.Unmarshal([]byte(raw), &a)
			if a.ClientID == clientID {
				j.sid = a.SID
			}
		}
		out = append(out, j)
	}
	return out, closeRows(rows)
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// pendingJobs counts jobs still to run: available or running, but not
// those a replica killed at killedAt was running, and retryable or
// scheduled ones due before until (a retry a moment away turns available
// after the drain looked, and would count as stuck).
func pendingJobs(jobs []jobRow, killedAt, until time.Time) int {
	n := 0
	for _, j := range jobs {
		switch j.state {
		case "available", "running":
			if !j.awaitingRescue(killedAt) {
				n++
			}
		case "retryable", "scheduled":
			if j.due.Before(until) {
				n++
			}
		}
	}
	return n
}

// awaitingRescue: a job left running by a replica killed at killedAt.
func (j jobRow) awaitingRescue(killedAt time.Time) bool {
	return !killedAt.IsZero() && j.state == "running" && !j.attempted.IsZero() && !j.attempted.After(killedAt)
}

// check judges a state: ended is the sids of the sessions the journeys
// ended, delivered the logout deliveries per sid at the edge.
func (st *dbState) check(c *consistency, ended map[string]bool, delivered map[string]int) {
	st.checkTokens(c)
	st.checkJobs(c, ended, delivered)
}

// checkTokens judges the refresh tokens and codes.
func (st *dbState) checkTokens(c *consistency) {
	live := map[string]int{}
	families := map[string]bool{}
	for _, t := range st.tokens {
		families[t.family] = true
		if !t.rotated {
			live[t.family]++
		}
	}
	c.RefreshFamilies = len(families)
	for f := range families {
		if live[f] > 1 {
			c.FamiliesSeveral++
		}
		if live[f] > 0 && st.revoked[f] {
			c.LiveInRevoked += live[f]
		}
		if st.codeFamilies[f] == 0 {
			c.FamiliesNoCode++
		}
	}
	for _, n := range st.codeFamilies {
		c.CodesExchanged += n
	}
	if c.FamiliesSeveral > 0 {
		c.problem("%d refresh-token families hold more than one live token", c.FamiliesSeveral)
	}
	if c.LiveInRevoked > 0 {
		c.problem("%d live refresh tokens in revoked families", c.LiveInRevoked)
	}
	if c.FamiliesNoCode > 0 {
		c.problem("%d token families come from no recorded code exchange (a code exchanged twice)", c.FamiliesNoCode)
	}
}

// checkJobs judges the job queue and the back-channel logouts.
func (st *dbState) checkJobs(c *consistency, ended map[string]bool, delivered map[string]int) {
	c.Jobs = map[string]int{}
	jobsBySID := map[string][]jobRow{}
	for _, j := range st.jobs {
		c.Jobs[j.kind+" "+j.state]++
		switch {
		case j.awaitingRescue(st.killedAt):
			c.JobsAwaitingRescue++
		case j.state == "available" || j.state == "running":
			c.JobsStuck++
		case j.state == "discarded":
			c.JobsDiscarded++
		}
		if j.kind == logoutKind && j.sid != "" {
			jobsBySID[j.sid] = append(jobsBySID[j.sid], j)
		}
	}
	if c.JobsStuck > 0 {
		c.problem("%d jobs still available or running after the drain", c.JobsStuck)
	}
	if c.JobsDiscarded > 0 {
		c.problem("%d jobs discarded", c.JobsDiscarded)
	}
	c.SessionsEnded = len(ended)
	for sid := range ended {
		if len(jobsBySID[sid]) == 0 {
			c.LogoutJobsMissing++
		}
	}
	sids := make([]string, 0, len(jobsBySID))
	for sid := range jobsBySID {
		sids = append(sids, sid)
	}
	sort.Strings(sids)
	for _, sid := range sids {
		js := jobsBySID[sid]
		n := delivered[sid]
		if n > 0 {
			c.LogoutsDelivered++
		}
		if n > 1 || len(js) > 1 {
			c.LogoutsTwice++
		}
		for _, j := range js {
			if j.state == "completed" && n == 0 {
				c.LogoutsLost++
			}
		}
	}
	if c.LogoutJobsMissing > 0 {
		c.problem("%d ended sessions have no back-channel logout job", c.LogoutJobsMissing)
	}
	if c.LogoutsLost > 0 {
		c.problem("%d completed back-channel logouts never reached the relying party", c.LogoutsLost)
	}
	if c.LogoutsTwice > 0 {
		c.problem("%d sessions' back-channel logouts ran more than once", c.LogoutsTwice)
	}
	if len(ended) > 0 && len(jobsBySID) == 0 {
		c.problem("the journeys ended sessions, and no back-channel logout job was found")
	}
}

// checkSMS judges the gateway's inbox: no one-time code sent twice (the
// same code to the same number; notices, such as a sign-in from a new
// device, may well repeat their text).
func checkSMS(c *consistency, msgs []smsMessage) {
	c.SMSSent = len(msgs)
	seen := map[string]bool{}
	for _, m := range msgs {
		code := codeRe.FindString(m.Text)
		if code == "" {
			continue
		}
		k := m.To + "\x00" + code
		if seen[k] {
			c.SMSTwice++
		}
		seen[k] = true
	}
	if c.SMSTwice > 0 {
		c.problem("%d SMS sent twice", c.SMSTwice)
	}
}

// jobsDrain is how long the checks wait for the job queue to drain.
const jobsDrain = 30 * time.Second

// openCheckDB opens the cluster's database for the checks, directly (not
// through the slow-db scenario's proxy).
func openCheckDB(ctx context.Context, cfg *soakConfig, dir string) (*sqldb.DB, error) {
	return sqldb.Open(ctx, sqldb.Config{URL: cfg.DatabaseURL, SQLitePath: filepath.Join(dir, "gosid.db"), MaxOpenConns: 2})
}

// tokenWatch is what the checks of the tokens and codes found while the
// load ran.
type tokenWatch struct {
	snapshots, failed                      int
	families, several, liveRevoked, noCode int
	problems                               []string
}

// watchTokens checks the tokens and codes every second until ctx ends:
// each journey's sign-out revokes its families, so it is while the
// journeys run that there are families to check. A read that fails (the
// database restarting) is counted and skipped.
func watchTokens(ctx context.Context, db *sqldb.DB, clientID string, start time.Time) *tokenWatch {
	w := &tokenWatch{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return w
		case <-tick.C:
		}
		st, err := readTokens(ctx, db, clientID)
		if err != nil {
			if ctx.Err() == nil {
				w.failed++
			}
			continue
		}
		var c consistency
		st.checkTokens(&c)
		w.snapshots++
		w.families = max(w.families, c.RefreshFamilies)
		w.several = max(w.several, c.FamiliesSeveral)
		w.liveRevoked = max(w.liveRevoked, c.LiveInRevoked)
		w.noCode = max(w.noCode, c.FamiliesNoCode)
		for _, p := range c.Problems {
			if len(w.problems) < 5 {
				w.problems = append(w.problems, fmt.Sprintf("at %.0f s: %s", time.Since(start).Seconds(), p))
			}
		}
	}
}

// checkConsistency runs the checks after a soak's load, the cluster still
// up (the replicas run the jobs; the replays need them), and adds what
// watchTokens found while the load ran.
//
// killedAt, when not zero, is when a replica was killed: a job it was
// running stays running until the queue's rescue (jobs.DefaultRescueAfter,
// minutes), so one still running after the drain and attempted before
// then is counted as awaiting rescue, not stuck (every worker's own
// timeout would have ended it on a live replica).
func checkConsistency(ctx context.Context, cfg *soakConfig, db *sqldb.DB, run *soakRun, e *edge, w *tokenWatch, killedAt time.Time) *consistency {
	c := &consistency{}
	// The replays first: a replayed code revokes its family (and enqueues
	// nothing: its session is over), so that the state read after
	// reflects them too.
	replay(ctx, run, c)
	start := time.Now()
	for {
		js, err := readJobs(ctx, db, "")
		if err == nil && pendingJobs(js, killedAt, start.Add(jobsDrain)) == 0 || time.Since(start) > jobsDrain || ctx.Err() != nil {
			break
		}
		sleepCtx(ctx, 250*time.Millisecond)
	}
	// Deliveries are counted a moment after the last job ended.
	sleepCtx(ctx, 500*time.Millisecond)
	c.JobsDrainSeconds = time.Since(start).Seconds()
	st, err := readState(ctx, db, run.client.id)
	if err != nil {
		c.problem("read the database: %v", err)
		return c
	}
	st.killedAt = killedAt
	st.check(c, run.spent.endedSIDs(), e.logoutCounts())
	if w != nil {
		c.Snapshots, c.SnapshotsFailed = w.snapshots, w.failed
		c.RefreshFamilies = max(c.RefreshFamilies, w.families)
		c.FamiliesSeveral = max(c.FamiliesSeveral, w.several)
		c.LiveInRevoked = max(c.LiveInRevoked, w.liveRevoked)
		c.FamiliesNoCode = max(c.FamiliesNoCode, w.noCode)
		c.Problems = append(c.Problems, w.problems...)
		if w.snapshots == 0 {
			c.problem("no snapshot of the tokens could be read while the load ran")
		}
	}
	if cfg.Fault == "slow-sms" {
		checkSMS(c, e.smsCopy())
	}
	return c
}

// replay presents the sample of spent codes and rotated refresh tokens
// again; each must be refused with invalid_grant. A rotated token is
// replayed only once its rotation is older than the grace within which a
// retry gets the same successor (idp/oidc.DefaultRefreshGrace).
func replay(ctx context.Context, run *soakRun, c *consistency) {
	run.spent.mu.Lock()
	codes := append([]url.Values(nil), run.spent.codes...)
	rotated := append([]spentRefresh(nil), run.spent.rotate...)
	run.spent.mu.Unlock()
	codes = codes[max(0, len(codes)-replaySample):]
	rotated = rotated[max(0, len(rotated)-replaySample):]
	if len(rotated) > 0 {
		const grace = 11 * time.Second
		sleepCtx(ctx, time.Until(rotated[len(rotated)-1].at.Add(grace)))
	}
	forms := codes
	for _, r := range rotated {
		forms = append(forms, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.token}})
	}
	for _, form := range forms {
		r, jerr := run.call(ctx, "replay", func() (*response, error) {
			return run.q.post(ctx, run.q.plain, "/oauth/token", form, run.client.id, run.client.secret)
		})
		c.Replayed++
		if jerr != nil {
			c.ReplaysAccepted++
			c.problem("replay of a spent %s: %v", form.Get("grant_type"), jerr)
			continue
		}
		var t tokens
		_ = json.Unmarshal(r.body, &t)
		if r.status != http.StatusBadRequest || t.Error != "invalid_grant" {
			c.ReplaysAccepted++
			c.problem("replay of a spent %s answered %d %s", form.Get("grant_type"), r.status, strings.TrimSpace(t.Error))
		}
	}
}

// writeTable prints the checks as a two-column table.
func (c *consistency) writeTable(out io.Writer) {
	if c == nil {
		return
	}
	fmt.Fprintln(out, "after the run:")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	rows := []struct {
		name string
		v    any
	}{
		{"token snapshots while the load ran (failed)", fmt.Sprintf("%d (%d)", c.Snapshots, c.SnapshotsFailed)},
		{"refresh-token families (most in a snapshot)", c.RefreshFamilies},
		{"  with more than one live token", c.FamiliesSeveral},
		{"  revoked, with a live token", c.LiveInRevoked},
		{"codes exchanged", c.CodesExchanged},
		{"  families from no recorded exchange", c.FamiliesNoCode},
		{"jobs drained in (s)", fmt.Sprintf("%.1f", c.JobsDrainSeconds)},
		{"  stuck (available, running)", c.JobsStuck},
		{"  running on the killed replica, awaiting rescue", c.JobsAwaitingRescue},
		{"  discarded", c.JobsDiscarded},
		{"sessions ended by the journeys", c.SessionsEnded},
		{"  without a back-channel logout job", c.LogoutJobsMissing},
		{"  logouts delivered", c.LogoutsDelivered},
		{"  completed, never delivered", c.LogoutsLost},
		{"  delivered or run twice", c.LogoutsTwice},
		{"spent codes and tokens replayed", c.Replayed},
		{"  not refused with invalid_grant", c.ReplaysAccepted},
	}
	if c.SMSSent > 0 {
		rows = append(rows, struct {
			name string
			v    any
		}{"SMS sent", c.SMSSent}, struct {
			name string
			v    any
		}{"  sent twice", c.SMSTwice})
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%v\n", r.name, r.v)
	}
	tw.Flush()
	kinds := make([]string, 0, len(c.Jobs))
	for k := range c.Jobs {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, c.Jobs[k]))
	}
	if len(parts) > 0 {
		fmt.Fprintf(out, "  jobs: %s\n", strings.Join(parts, ", "))
	}
}
