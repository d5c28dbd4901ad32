package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// gosidBinary builds cmd/gosid once for the package's tests.
func gosidBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gosid-soak-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "gosid")
		out, err := exec.Command("go", "build", "-o", builtBin, "github.com/gosid/gosid/cmd/gosid").CombinedOutput()
		if err != nil {
			buildErr = err
			builtBin = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build gosid: %v\n%s", buildErr, builtBin)
	}
	return builtBin
}

// TestSoak (issue 20, items 1 and 2), under GOSID_SOAK=1: for each fault,
// 20 virtual citizens (a quarter with an authenticator) run whole journeys
// for 10 s against two replicas of gosid serve on PostgreSQL behind the
// round-robin proxy, the fault injected at 4 s; the verdict must be pass:
// no failure a citizen would see (a verdict on valid credentials, a 500,
// a lost request), the activity log intact, and the fault's own bound
// (service back within 5 s, a clean exit on SIGTERM, p99 within 5 s with
// an exhausted pool). GOSID_SOAK_DURATION and GOSID_SOAK_CITIZENS run it
// longer or larger.
func TestSoak(t *testing.T) {
	if os.Getenv("GOSID_SOAK") != "1" {
		t.Skip("GOSID_SOAK=1 runs the soak scenarios (10 s, 20 citizens, two replicas each)")
	}
	bin := gosidBinary(t)
	duration, citizens := 10*time.Second, 20
	if d, err := time.ParseDuration(os.Getenv("GOSID_SOAK_DURATION")); err == nil && d > 0 {
		duration = d
	}
	if n, err := strconv.Atoi(os.Getenv("GOSID_SOAK_CITIZENS")); err == nil && n > 0 {
		citizens = n
	}
	for _, fault := range soakFaults {
		t.Run(fault, func(t *testing.T) {
			pg := sqldbtest.Restartable(t)
			dir := t.TempDir()
			if keep := os.Getenv("GOSID_SOAK_KEEP"); keep != "" {
				// The replicas' logs outlive the test, to follow a
				// failure's request ids.
				dir = filepath.Join(keep, fault)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cfg := &soakConfig{Gosid: bin, DatabaseURL: pg.URL(), DataDir: dir, Replicas: 2, Citizens: citizens, Duration: duration,
				TOTPShare: 0.25, Refreshes: 3, Fault: fault, FaultAt: duration * 2 / 5, Timeout: 30 * time.Second}
			if fault == "signin-burst" {
				// 200 concurrent sign-ins, whatever the other scenarios'
				// crowd, for at least 20 s: the first second's sign-ins,
				// admitted before the hash time under the burst is known,
				// are the slowest, and in 10 s (CI, other packages'
				// tests on the same cores) they were above the p99.
				cfg.Citizens = max(citizens, burstCitizens)
				cfg.Duration = max(duration, 20*time.Second)
			}
			if fault == "slow-sms" {
				// Each SMS citizen may have a code once a minute: a
				// longer run spreads them before, in and after the
				// slow window.
				cfg.Duration = max(duration, 20*time.Second)
				cfg.FaultAt = cfg.Duration * 2 / 5
			}
			if fault == "pg-restart" {
				cfg.restartDB = func(context.Context) error {
					pg.Stop()
					time.Sleep(time.Second)
					pg.Start()
					return nil
				}
			}
			var log, table bytes.Buffer
			rep, err := soak(context.Background(), cfg, &log)
			if err != nil {
				t.Fatalf("soak: %v\n%s", err, log.String())
			}
			rep.writeTable(&table)
			t.Logf("\n%s", table.String())
			if rep.Verdict != "pass" {
				t.Fatalf("verdict %s\n%s", rep.Verdict, log.String())
			}
			if fault == "signin-burst" {
				if rep.Retries["503"] == 0 {
					t.Errorf("200 concurrent sign-ins met no refusal: the excess was not refused")
				}
				return
			}
			for _, step := range journeySteps {
				found := false
				for _, s := range rep.Steps {
					if s.Step == step {
						found = s.OK > 0
					}
				}
				if !found {
					t.Errorf("no %s step succeeded", step)
				}
			}
			if fault == "pg-restart" && rep.Retries["503"] == 0 {
				t.Errorf("the database restart met no 503: was it injected while journeys ran?")
			}
			if fault == "slow-sms" {
				if rep.SMS == nil || rep.SMS.InWindow == 0 || rep.Consistency.SMSSent == 0 {
					t.Errorf("the slow SMS gateway met no sign-in: %+v", rep.SMS)
				}
			}
			if fault == "kill-replica" && rep.Rerouted == 0 {
				t.Errorf("nothing was rerouted after a replica was killed")
			}
		})
	}
}
