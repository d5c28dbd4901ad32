package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
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
// The CPU cannot hash for all of them. It fills rep's figures; judge
// gives the verdict: the excess refused with 503 and Retry-After (one
// without is a failure), admitted and refused answers within burstBudget
// at p99 and none longer than twice it, and nothing else (a
// wrong-password verdict, a 500, a lost request).
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
					mu.Lock()
					refused = append(refused, r.dur)
					mu.Unlock()
					wait, err := strconv.Atoi(r.header.Get("Retry-After"))
					if err != nil || wait <= 0 {
						fail(failStatus, "503 without Retry-After")
						wait = 1
					}
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
	// Each answer is its own try: the p99 "with retries" is the answer's.
	rep.Steps = []soakStep{stepRow("login (admitted)", int64(len(admitted)), admitted, admitted, fails, firstErr),
		stepRow("login (refused, 503)", int64(len(refused)), refused, refused, nil, "")}
}
