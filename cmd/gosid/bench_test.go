package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

// BenchmarkPasswordSignIn measures complete password sign-ins over HTTP
// (form post, account look-up by blind index, rate-limit checks, argon2id
// with the default parameters, session and event rows) on PostgreSQL, with
// two clients per CPU (so that one client's database round trips overlap
// another's hash, as under real load), against the limit: raw argon2id
// hashes per second with the same parameters on every CPU, measured in the
// same run. Everything but the hash should cost almost nothing: the goal
// is a ratio of at least 0.9.
func BenchmarkPasswordSignIn(b *testing.B) {
	ctx := context.Background()
	db := sqldbtest.Postgres(b)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	km, err := keys.Open(ctx, db, newMasterKey(b), keys.Options{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	params := password.DefaultParams()
	o := &idpOptions{LockoutThreshold: 3, LockoutDuration: 30 * time.Minute, SessionIdleTimeout: 30 * time.Minute, SessionLifetime: 12 * time.Hour, SessionIdleMin: 5 * time.Minute, SessionIdleMax: 4 * time.Hour, DeletionGrace: 30 * 24 * time.Hour,
		Argon2Memory: int(params.Memory), Argon2Time: int(params.Time), Argon2Threads: int(params.Threads)}
	parts, err := buildIdP(o, "http://127.0.0.1", db, km, log, false, time.Now, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(parts.Handler(httpx.Options{Logger: log}))
	defer srv.Close()

	cpus := runtime.GOMAXPROCS(0)
	workers := 2 * cpus
	hasher, err := password.NewHasher(params, cpus)
	if err != nil {
		b.Fatal(err)
	}
	hash, err := hasher.Hash(ctx, goodPassword)
	if err != nil {
		b.Fatal(err)
	}
	accounts := account.NewStore(db, km, time.Now)
	phones := make([]string, workers)
	for i := range phones {
		phones[i] = fmt.Sprintf("+7916000%04d", i)
		_, err := accounts.Create(ctx, account.New{Name: account.Name{Family: "Иванов", Given: "Иван"},
			Phone: account.Contact{Value: phones[i], VerifiedAt: time.Now()}, PasswordHash: hash})
		if err != nil {
			b.Fatal(err)
		}
	}

	clients := make([]*http.Client, workers)
	forms := make([]string, workers)
	for w := range workers {
		jar, _ := cookiejar.New(nil)
		clients[w] = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		forms[w] = url.Values{"login": {phones[w]}, "password": {goodPassword}}.Encode()
	}
	signIn := func(w int) error {
		resp, err := clients[w].Post(srv.URL+"/login", "application/x-www-form-urlencoded", strings.NewReader(forms[w]))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			return fmt.Errorf("sign-in: status %d", resp.StatusCode)
		}
		return nil
	}
	if err := signIn(0); err != nil {
		b.Fatal(err)
	}

	// Alternate short rounds of the limit (raw hashes, same parallelism)
	// and of sign-ins, so that load from elsewhere on the machine affects
	// both alike. b.N is not used: run with -benchtime 1x.
	b.ResetTimer()
	var raw, rate float64
	const rounds = 4
	for range rounds {
		raw += measure(cpus, 2*time.Second, func(int) error {
			_, err := hasher.Hash(ctx, goodPassword)
			return err
		}) / rounds
		rate += measure(workers, 2*time.Second, func(w int) error {
			if err := signIn(w); err != nil {
				b.Error(err)
				return err
			}
			return nil
		}) / rounds
	}
	b.ReportMetric(rate, "signins/s")
	b.ReportMetric(raw, "raw-argon2id/s")
	b.ReportMetric(rate/raw, "ratio")
}

// measure runs fn on workers goroutines for d and returns calls per second.
func measure(workers int, d time.Duration, fn func(worker int) error) float64 {
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for time.Since(start) < d {
				if fn(w) != nil {
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}
