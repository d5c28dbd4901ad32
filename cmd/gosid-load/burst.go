package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// burstBudget is the replicas' --password-wait in the signin-burst
// scenario: the longest a password sign-in may take from the request's
// arrival to its answer. The scenario holds every answer to it.
const burstBudget = time.Second

// burstCitizens is how many citizens the signin-burst scenario has at
// least: issue 20's 200 concurrent sign-ins.
const burstCitizens = 200

// signInBurst is the signin-burst scenario: every citizen posts the
// sign-in form with the right password, again as soon as the answer
// comes (after a refusal, when its Retry-After says, as a citizen told
// to come back does), for cfg.Duration, through the round-robin proxy.
// The CPU cannot hash for all of them: the verdict asks that the excess
// is refused at once with 503 and Retry-After and that the sign-ins
// admitted are answered within the budget — p99 of admitted and refused
// answers within burstBudget, none longer than twice it — and nothing
// else (a wrong-password verdict, a 500, a lost request).
func signInBurst(ctx context.Context, cfg *soakConfig, cl *cluster, citizens []*citizen, rep *soakReport, log io.Writer) {
	issuer, _ := url.Parse(cl.issuer)
	q := newRequester(&config{Issuer: issuer, Concurrency: len(citizens), Timeout: cfg.Timeout})
	defer q.tr.CloseIdleConnections()
	fmt.Fprintf(log, "soak: %d citizens sign in at once for %s\n", len(citizens), cfg.Duration)
	var (
		mu                sync.Mutex
		admitted, refused []time.Duration
		fails             = map[string]int64{}
		firstErr          string
		noRetryAfter      int64
	)
	fail := func(kind, msg string) {
		mu.Lock()
		defer mu.Unlock()
		fails[kind]++
		if firstErr == "" {
			firstErr = msg
		}
	}
	start := time.Now()
	lctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range citizens {
		wg.Go(func() {
			b := q.browser()
			form := url.Values{"login": {c.login}, "password": {c.password}}
			// All at once, within 50 ms.
			sleepCtx(lctx, time.Duration(rand.Int64N(int64(50*time.Millisecond))))
			for lctx.Err() == nil {
				r, err := q.post(lctx, b, "/login", form, "", "")
				switch {
				case err != nil && lctx.Err() != nil:
					return
				case err != nil:
					fail(failTransport, err.Error())
					sleepCtx(lctx, 200*time.Millisecond)
				case r.status == http.StatusSeeOther:
					mu.Lock()
					admitted = append(admitted, r.dur)
					mu.Unlock()
				case r.status == http.StatusServiceUnavailable:
					wait, err := strconv.Atoi(r.header.Get("Retry-After"))
					mu.Lock()
					refused = append(refused, r.dur)
					if err != nil || wait <= 0 {
						noRetryAfter++
						wait = 1
					}
					mu.Unlock()
					sleepCtx(lctx, min(time.Duration(wait)*time.Second, 2*time.Second))
				case r.status == http.StatusUnauthorized:
					fail(failVerdict, "the right password refused: "+snippet(r.body))
				case r.status >= 500:
					fail(failServer, fmt.Sprintf("%d %s", r.status, snippet(r.body)))
				default:
					fail(failStatus, fmt.Sprintf("%d %s", r.status, snippet(r.body)))
				}
			}
		})
	}
	wg.Wait()
	rep.Seconds = time.Since(start).Seconds()
	rep.Journeys = int64(len(admitted))
	rep.JourneysPerSec = float64(rep.Journeys) / rep.Seconds
	rep.Retries = map[string]int64{"503": int64(len(refused))}
	rep.Failures = fails
	row := func(step string, durs []time.Duration, fails map[string]int64, first string) soakStep {
		s := soakStep{Step: step, OK: int64(len(durs)), Failures: fails, FirstError: first}
		if len(durs) > 0 {
			durs = slices.Clone(durs)
			slices.Sort(durs)
			s.P50ms, s.P99ms, s.Maxms = ms(percentile(durs, 50)), ms(percentile(durs, 99)), ms(durs[len(durs)-1])
			s.WaitP99ms = s.P99ms
		}
		return s
	}
	rep.Steps = []soakStep{row("login (admitted)", admitted, fails, firstErr), row("login (refused, 503)", refused, nil, "")}
	fr := &rep.Fault
	reason := func(format string, a ...any) { fr.Reasons = append(fr.Reasons, fmt.Sprintf(format, a...)) }
	for _, kind := range []string{failVerdict, failServer, failTransport, failStatus} {
		if n := fails[kind]; n > 0 {
			reason("%d %s failures", n, kind)
		}
	}
	if len(admitted) == 0 {
		reason("no sign-in was admitted")
	}
	if noRetryAfter > 0 {
		reason("%d refusals without Retry-After", noRetryAfter)
	}
	budget := ms(burstBudget)
	for _, s := range rep.Steps {
		if s.P99ms > budget {
			reason("%s: p99 %.0f ms, want within the budget (%.0f ms)", s.Step, s.P99ms, budget)
		}
		if s.Maxms > 2*budget {
			reason("%s: the longest answer took %.0f ms, want at most twice the budget", s.Step, s.Maxms)
		}
	}
}
