package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// A sound state passes; each kind of breakage fails the checks with its
// own problem.
func TestConsistencyCheckFails(t *testing.T) {
	sound := func() *dbState {
		return &dbState{
			tokens:  []tokenRow{{"a", true}, {"a", true}, {"a", false}, {"b", false}},
			revoked: map[string]bool{"c": true}, codeFamilies: map[string]int{"a": 1, "b": 1, "c": 1},
			jobs: []jobRow{{kind: logoutKind, state: "completed", attempt: 1, sid: "s1"}, {kind: "periodic.sweep", state: "completed", attempt: 1}},
		}
	}
	ended, delivered := map[string]bool{"s1": true}, map[string]int{"s1": 1}
	var c consistency
	sound().check(&c, ended, delivered)
	if len(c.Problems) != 0 || c.RefreshFamilies != 2 || c.CodesExchanged != 3 || c.LogoutsDelivered != 1 {
		t.Fatalf("a sound state: %+v", c)
	}
	for _, tc := range []struct {
		name   string
		break_ func(st *dbState, ended map[string]bool, delivered map[string]int)
		want   string
	}{
		{"two live tokens in a family", func(st *dbState, _ map[string]bool, _ map[string]int) {
			st.tokens = append(st.tokens, tokenRow{"a", false})
		}, "more than one live token"},
		{"a live token in a revoked family", func(st *dbState, _ map[string]bool, _ map[string]int) {
			st.revoked["b"] = true
		}, "live refresh tokens in revoked families"},
		{"a code exchanged twice", func(st *dbState, _ map[string]bool, _ map[string]int) {
			// The second exchange overwrote the request's family.
			delete(st.codeFamilies, "b")
		}, "no recorded code exchange"},
		{"a job stuck", func(st *dbState, _ map[string]bool, _ map[string]int) {
			st.jobs = append(st.jobs, jobRow{kind: "partner.notice", state: "running", attempt: 1})
		}, "still available or running"},
		{"a job discarded", func(st *dbState, _ map[string]bool, _ map[string]int) {
			st.jobs = append(st.jobs, jobRow{kind: "partner.notice", state: "discarded", attempt: 25})
		}, "discarded"},
		{"a logout job lost", func(_ *dbState, ended map[string]bool, _ map[string]int) {
			ended["s2"] = true
		}, "no back-channel logout job"},
		{"a logout completed, not delivered", func(_ *dbState, _ map[string]bool, delivered map[string]int) {
			delete(delivered, "s1")
		}, "never reached"},
		{"a logout delivered twice", func(_ *dbState, _ map[string]bool, delivered map[string]int) {
			delivered["s1"] = 2
		}, "more than once"},
		{"a job running on a live replica after a kill", func(st *dbState, _ map[string]bool, _ map[string]int) {
			// Taken after the kill: not the dead replica's, so stuck.
			st.killedAt = time.Now().Add(-time.Minute)
			st.jobs = append(st.jobs, jobRow{kind: "partner.notice", state: "running", attempt: 1, attempted: time.Now()})
		}, "still available or running"},
		{"a logout job enqueued twice", func(st *dbState, _ map[string]bool, _ map[string]int) {
			st.jobs = append(st.jobs, jobRow{kind: logoutKind, state: "retryable", attempt: 1, sid: "s1"})
		}, "more than once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := sound()
			e, d := map[string]bool{"s1": true}, map[string]int{"s1": 1}
			tc.break_(st, e, d)
			var c consistency
			st.check(&c, e, d)
			if !hasProblem(c.Problems, tc.want) {
				t.Fatalf("want a problem with %q, got %q", tc.want, c.Problems)
			}
		})
	}
	// A job the killed replica was running awaits the queue's rescue: not
	// a problem, but counted.
	rescued := sound()
	rescued.killedAt = time.Now()
	rescued.jobs = append(rescued.jobs, jobRow{kind: logoutKind, state: "running", attempt: 1, attempted: time.Now().Add(-time.Second)})
	var rc consistency
	rescued.check(&rc, ended, delivered)
	if len(rc.Problems) != 0 || rc.JobsAwaitingRescue != 1 || rc.JobsStuck != 0 {
		t.Fatalf("a job left running by the killed replica: %+v", rc)
	}
	var sms consistency
	checkSMS(&sms, []smsMessage{{To: "+79100000001", Text: "Код 123456"}, {To: "+79100000002", Text: "Код 123456"},
		{To: "+79100000001", Text: "Вход с нового устройства"}, {To: "+79100000001", Text: "Вход с нового устройства"}})
	if len(sms.Problems) != 0 {
		t.Fatalf("two numbers, one text each: %q", sms.Problems)
	}
	checkSMS(&sms, []smsMessage{{To: "+79100000001", Text: "Код 123456"}, {To: "+79100000001", Text: "Код 123456"}})
	if !hasProblem(sms.Problems, "sent twice") {
		t.Fatalf("one code sent twice passed: %q", sms.Problems)
	}
}

func hasProblem(problems []string, want string) bool {
	for _, p := range problems {
		if strings.Contains(p, want) {
			return true
		}
	}
	return false
}

// readState reads what the checks need from the real schema on both
// dialects: a broken state written there is found.
func TestConsistencyReadsDatabase(t *testing.T) {
	run := func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		const client, account = "rp", "5f0c2f6e-1a63-4f0e-9d5e-0a7c1d9f3b21"
		token := func(hash, family string, rotated bool) {
			rot := any(nil)
			if rotated {
				rot = int64(2)
			}
			if _, err := db.Exec(ctx, `INSERT INTO oidc_refresh_tokens (hash, family_id, client_id, account_id, scopes, amr, acr, auth_time, created_at, expires_at, rotated_at)
				VALUES ($1, $2, $3, $4, 'openid', 'pwd', 'x', 1, 1, 9999999999999999, $5)`, []byte(hash), family, client, account, rot); err != nil {
				t.Fatal(err)
			}
		}
		code := func(id, family string) {
			if _, err := db.Exec(ctx, `INSERT INTO oidc_auth_requests (id, client_id, request, created_at, expires_at, code_hash, code_used_at, family_id)
				VALUES ($1, $2, '{}', 1, 9999999999999999, $3, 2, $4)`, id, client, []byte(id), family); err != nil {
				t.Fatal(err)
			}
		}
		job := func(kind, state, args string) {
			fin := "NULL"
			if state == "completed" || state == "discarded" {
				fin = "CURRENT_TIMESTAMP"
			}
			if _, err := db.Exec(ctx, `INSERT INTO river_job (kind, state, args, max_attempts, attempt, finalized_at) VALUES ($1, $2, $3, 12, 1, `+fin+`)`, kind, state, args); err != nil {
				t.Fatal(err)
			}
		}
		// Family a: rotated once, one live token (sound). Family b: two
		// live tokens, and no request names it (a doubled exchange).
		token("a1", "a", true)
		token("a2", "a", false)
		token("b1", "b", false)
		token("b2", "b", false)
		code("r1", "a")
		job(logoutKind, "completed", `{"client_id":"rp","account_id":"x","sid":"s1"}`)
		job(logoutKind, "discarded", `{"client_id":"rp","account_id":"x","sid":"s2"}`)
		st, err := readState(ctx, db, client)
		if err != nil {
			t.Fatal(err)
		}
		var c consistency
		st.check(&c, map[string]bool{"s1": true, "s2": true, "s3": true}, map[string]int{"s1": 2})
		for _, want := range []string{"more than one live token", "no recorded code exchange", "discarded", "no back-channel logout job", "more than once"} {
			if !hasProblem(c.Problems, want) {
				t.Errorf("want a problem with %q, got %q", want, c.Problems)
			}
		}
		if c.RefreshFamilies != 2 || c.FamiliesSeveral != 1 || c.CodesExchanged != 1 || c.LogoutJobsMissing != 1 {
			t.Errorf("figures: %+v", c)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		db, err := sqldb.Open(context.Background(), sqldb.Config{SQLitePath: sqldbtest.SQLitePath(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		run(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		pg := sqldbtest.Restartable(t)
		db, err := sqldb.Open(context.Background(), sqldb.Config{URL: pg.URL()})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// The cluster's database has the modules' schema; the queue's
		// tables come with `gosid migrate`, as in a soak.
		if _, err := jobs.Migrate(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		run(t, db)
	})
}

// The replays fail the checks when a spent code or a rotated refresh
// token is honoured, and pass when each gets invalid_grant.
func TestReplayCheckFails(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		refused bool
	}{
		{"refused", http.StatusBadRequest, `{"error":"invalid_grant"}`, true},
		{"honoured", http.StatusOK, `{"access_token":"a","refresh_token":"r","token_type":"Bearer"}`, false},
		{"another error", http.StatusBadRequest, `{"error":"invalid_request"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			issuer, _ := url.Parse(srv.URL)
			q := newRequester(&config{Issuer: issuer, Concurrency: 1, Timeout: 5 * time.Second})
			run := &soakRun{q: q, client: soakClient{id: "rp", secret: "s"}, steps: map[string]*stepStats{}, retries: map[string]int64{}, okPerSec: map[int]int64{}}
			run.spent.code(url.Values{"grant_type": {"authorization_code"}, "code": {"c"}})
			run.spent.rotate = append(run.spent.rotate, spentRefresh{"r", time.Now().Add(-time.Minute)})
			var c consistency
			replay(context.Background(), run, &c)
			if c.Replayed != 2 {
				t.Fatalf("replayed %d, want 2", c.Replayed)
			}
			if got := c.ReplaysAccepted == 0 && len(c.Problems) == 0; got != tc.refused {
				t.Fatalf("refused %v, want %v: %q", got, tc.refused, c.Problems)
			}
		})
	}
}

// TestPendingJobs: the drain waits for a retry due within its window (it
// turns available after the drain looked: ci on 8fed401 failed so), not
// for one due later, nor for a job the killed replica left running.
func TestPendingJobs(t *testing.T) {
	now := time.Now()
	until := now.Add(jobsDrain)
	killed := now.Add(-time.Minute)
	for _, tc := range []struct {
		job  jobRow
		want int
	}{
		{jobRow{state: "available"}, 1},
		{jobRow{state: "running", attempted: now}, 1},
		{jobRow{state: "running", attempted: killed.Add(-time.Second)}, 0},
		{jobRow{state: "retryable", due: now.Add(time.Second)}, 1},
		{jobRow{state: "scheduled", due: now.Add(time.Second)}, 1},
		{jobRow{state: "retryable", due: until.Add(time.Minute)}, 0},
		{jobRow{state: "completed"}, 0},
		{jobRow{state: "discarded"}, 0},
	} {
		if got := pendingJobs([]jobRow{tc.job}, killed, until); got != tc.want {
			t.Errorf("%s due in %v: pending %d, want %d", tc.job.state, tc.job.due.Sub(now).Round(time.Second), got, tc.want)
		}
	}
}
