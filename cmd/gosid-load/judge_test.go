package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestJudge: the soak's verdict fails on every kind of failure it is
// meant to catch — a counted failure of each kind, no journeys, a broken
// audit chain, a consistency problem, a service that did not resume
// within 5 s of a fault or not at all, a /readyz that never told of the
// database's restart or was not 200 within 5 s of its return, a request
// that hung while the database was away, a request a stopping replica
// took and never answered, a clock not corrected, a burst or
// a slow dependency past its latency budget, a pool never exhausted — and
// passes a clean run.
func TestJudge(t *testing.T) {
	clean := func() (*soakConfig, *soakReport, *soakRun) {
		return &soakConfig{Fault: "none"}, &soakReport{Journeys: 100, AuditIntact: true, Failures: map[string]int64{},
			Steps: []soakStep{{Step: "login", OK: 100, P99ms: 300, Maxms: 600}}, Consistency: &consistency{}}, &soakRun{okPerSec: map[int]int64{}}
	}
	type tweak func(cfg *soakConfig, rep *soakReport, run *soakRun)
	fault := func(name string, injected, ended float64, okAt ...int) tweak {
		return func(cfg *soakConfig, rep *soakReport, run *soakRun) {
			cfg.Fault, rep.Fault.InjectedAt, rep.Fault.EndedAt = name, injected, ended
			for _, s := range okAt {
				run.okPerSec[s]++
			}
		}
	}
	readyz := func(down, again float64) tweak {
		return func(_ *soakConfig, rep *soakReport, _ *soakRun) {
			rep.Fault.NotReadyAt, rep.Fault.ReadyAgainSeconds = down, again
		}
	}
	for _, tc := range []struct {
		name string
		edit []tweak
		want string // "" passes; else a reason containing it
	}{
		{"clean", nil, ""},
		{"a verdict", []tweak{func(_ *soakConfig, r *soakReport, _ *soakRun) { r.Failures[failVerdict] = 1 }}, "1 verdict failures"},
		{"a server error", []tweak{func(_ *soakConfig, r *soakReport, _ *soakRun) { r.Failures[failServer] = 2 }}, "2 server_error failures"},
		{"a transport error", []tweak{func(_ *soakConfig, r *soakReport, _ *soakRun) { r.Failures[failTransport] = 1 }}, "transport"},
		{"a 503 that stayed", []tweak{func(_ *soakConfig, r *soakReport, _ *soakRun) { r.Failures[failUnavailable] = 1 }}, "unavailable"},
		{"an unexpected status", []tweak{func(_ *soakConfig, r *soakReport, _ *soakRun) { r.Failures[failStatus] = 1 }}, "unexpected_status"},
		{"an invalid answer", []tweak{func(_ *soakConfig, r *soakReport, _ *soakRun) { r.Failures[failInvalid] = 1 }}, "invalid_answer"},
		{"no journeys", []tweak{func(_ *soakConfig, r *soakReport, _ *soakRun) { r.Journeys = 0 }}, "journey"},
		{"audit chain broken", []tweak{func(_ *soakConfig, r *soakReport, _ *soakRun) { r.AuditIntact = false }}, "audit verify"},
		{"inconsistent tokens", []tweak{func(_ *soakConfig, r *soakReport, _ *soakRun) {
			r.Consistency.Problems = []string{"2 live tokens in revoked families"}
		}}, "revoked families"},
		{"term-replica, one request dropped", []tweak{fault("term-replica", 10, 11, 5, 12), func(_ *soakConfig, r *soakReport, _ *soakRun) { r.Dropped = 1 }},
			"1 requests a replica had taken were never answered"},
		{"kill-replica, requests dropped", []tweak{fault("kill-replica", 10, 11, 5, 12), func(_ *soakConfig, r *soakReport, _ *soakRun) { r.Dropped = 2 }}, ""},
		{"pg-restart, resumed in 2 s", []tweak{fault("pg-restart", 10, 12, 5, 14), readyz(10.2, 0.5)}, ""},
		{"pg-restart, resumed in 7 s", []tweak{fault("pg-restart", 10, 12, 5, 19), readyz(10.2, 0.5)}, "resumed 7.0 s after"},
		{"pg-restart, never resumed", []tweak{fault("pg-restart", 10, 12, 5), readyz(10.2, 0.5)}, "no journey finished after the fault"},
		{"pg-restart, /readyz always 200", []tweak{fault("pg-restart", 10, 12, 5, 14), readyz(0, 0.5)}, "/readyz never reported the database away"},
		{"pg-restart, /readyz back late", []tweak{fault("pg-restart", 10, 12, 5, 14), readyz(10.2, 6)}, "within 5 s of the database's return (6.0 s)"},
		{"pg-restart, /readyz never back", []tweak{fault("pg-restart", 10, 12, 5, 14), readyz(10.2, -1)}, "(-1.0 s)"},
		{"pg-restart, a request hung", []tweak{fault("pg-restart", 10, 12, 5, 14), readyz(10.2, 0.5),
			func(_ *soakConfig, r *soakReport, _ *soakRun) { r.Steps[0].Maxms = 9000 }}, "an answer took 9000 ms"},
		{"clock-ahead corrected", []tweak{fault("clock-ahead", 5, 0), func(_ *soakConfig, r *soakReport, _ *soakRun) {
			r.ClockOffset, r.Fault.CatchUpSeconds = -120, 1
		}}, ""},
		{"clock-ahead not corrected", []tweak{fault("clock-ahead", 5, 0), func(_ *soakConfig, r *soakReport, _ *soakRun) {
			r.ClockOffset, r.Fault.CatchUpSeconds = 0, -1
		}}, "corrects its clock by 0.0 s"},
		{"burst within budget", []tweak{fault("signin-burst", 0, 0)}, ""},
		{"burst past budget", []tweak{fault("signin-burst", 0, 0), func(_ *soakConfig, r *soakReport, _ *soakRun) { r.Steps[0].P99ms = 1500 }}, "p99 1500 ms"},
		{"burst, one answer past twice the budget", []tweak{fault("signin-burst", 0, 0), func(_ *soakConfig, r *soakReport, _ *soakRun) { r.Steps[0].Maxms = 2500 }}, "longest answer"},
		{"slow-db, an answer past 5 s", []tweak{fault("slow-db", 0, 0), func(_ *soakConfig, r *soakReport, _ *soakRun) { r.Steps[0].AnswerP99ms = 6000 }}, "want ≤ 5000"},
		{"slow-db, five answers of 2 s", []tweak{fault("slow-db", 0, 0), func(_ *soakConfig, r *soakReport, _ *soakRun) {
			r.Steps[0].P99ms, r.Steps[0].AnswerP99ms = 10000, 2000
		}}, ""},
		{"pool never exhausted", []tweak{fault("pool-exhausted", 0, 0)}, "the pool was not exhausted"},
		{"pool exhausted", []tweak{fault("pool-exhausted", 0, 0), func(_ *soakConfig, r *soakReport, _ *soakRun) { r.PoolWaits = 40 }}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, rep, run := clean()
			for _, e := range tc.edit {
				e(cfg, rep, run)
			}
			judge(cfg, rep, run, &cluster{}, nil)
			reasons := strings.Join(rep.Fault.Reasons, "; ")
			switch {
			case tc.want == "" && (rep.Verdict != "pass" || reasons != ""):
				t.Errorf("verdict %s (%s), want pass", rep.Verdict, reasons)
			case tc.want != "" && (rep.Verdict != "fail" || !strings.Contains(reasons, tc.want)):
				t.Errorf("verdict %s (%s), want fail naming %q", rep.Verdict, reasons, tc.want)
			}
		})
	}
}

// TestCallRetries: call's retries of a lost answer (a transport failure,
// the proxy's 502) are counted apart from its waits on 503: a sign-in
// the hashing budget refused thirty times, whose replica then dies, is
// sent again and answered; twenty-one lost answers in a row fail the
// step with the proxy's reason.
func TestCallRetries(t *testing.T) {
	defer func(l, r time.Duration) { lostPause, maxRefusedPause = l, r }(lostPause, maxRefusedPause)
	lostPause, maxRefusedPause = time.Millisecond, time.Millisecond
	answers := func(statuses ...int) func() (*response, error) {
		return func() (*response, error) {
			st := statuses[0]
			if len(statuses) > 1 {
				statuses = statuses[1:]
			}
			r := &response{status: st, header: http.Header{}}
			switch st {
			case http.StatusServiceUnavailable:
				r.header.Set("Retry-After", "1")
			case http.StatusBadGateway:
				r.body = []byte("proxy: EOF")
			}
			return r, nil
		}
	}
	run := &soakRun{retries: map[string]int64{}}
	seq := slices.Repeat([]int{http.StatusServiceUnavailable}, 30)
	seq = append(seq, http.StatusBadGateway, http.StatusSeeOther)
	if r, jerr := run.call(context.Background(), "login", answers(seq...)); jerr != nil || r.status != http.StatusSeeOther {
		t.Fatalf("30 refusals and one lost answer: %v, %+v", statusOf(r), jerr)
	}
	if run.retries["transport"] != 1 || run.retries["503"] != 30 {
		t.Fatalf("retries counted %v, want 1 transport and 30 503", run.retries)
	}
	_, jerr := run.call(context.Background(), "login", answers(http.StatusBadGateway))
	if jerr == nil || jerr.kind != failTransport || !strings.Contains(jerr.msg, "proxy: EOF") || !strings.Contains(jerr.msg, "20 retries") {
		t.Fatalf("lost answers without end: %+v", jerr)
	}
}
