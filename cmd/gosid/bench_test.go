package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
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
// same run. Everything here — server, clients, PostgreSQL — shares the
// machine's cores, so the ratio also pays for the clients and the
// database; BenchmarkPasswordSignInOneCore gives the server a core of its
// own. Run with -benchtime 1x.
func BenchmarkPasswordSignIn(b *testing.B) {
	cpus := runtime.GOMAXPROCS(0)
	rig := newSignInRig(b, 2*cpus)
	var cpu signInCPU
	rig.alternate(b, func() float64 {
		return measure(cpus, signInRound, func(int) error {
			_, err := rig.raw.Hash(context.Background(), goodPassword)
			return err
		})
	}, func() float64 {
		var n atomic.Int64
		m := cpu.start()
		rate := measure(len(rig.phones), signInRound, func(w int) error {
			n.Add(1)
			if err := rig.signIn(w); err != nil {
				b.Error(err)
				return err
			}
			return nil
		})
		m.stop(&cpu, n.Load())
		return rate
	})
	cpu.report(b)
	rig.statements(cpu.signIns)
}

// BenchmarkPasswordSignInOneCore is BenchmarkPasswordSignIn with the server
// on a core of its own, the way the load figures of the README are taken:
// this process (the server, GOMAXPROCS=1) is pinned to CPU 0, PostgreSQL
// and the clients — a child process, two clients — to the other CPUs. The
// limit is raw argon2id hashes on that one core, alternating with the
// sign-in rounds. Also reported: the server's and PostgreSQL's CPU time
// per sign-in (from getrusage and /proc). Linux with taskset and at least
// two CPUs. Run with -benchtime 1x.
func BenchmarkPasswordSignInOneCore(b *testing.B) {
	if runtime.GOOS != "linux" || runtime.NumCPU() < 2 {
		b.Skip("needs Linux and at least two CPUs")
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		b.Skip("needs taskset (util-linux)")
	}
	others := fmt.Sprintf("1-%d", runtime.NumCPU()-1)
	all := fmt.Sprintf("0-%d", runtime.NumCPU()-1)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	// The server's hashing pool is sized by GOMAXPROCS: one.
	rig := newSignInRig(b, 2)
	pin := func(cpus string, pids ...int) {
		b.Helper()
		for _, pid := range pids {
			if out, err := exec.Command(taskset, "-a", "-p", "-c", cpus, strconv.Itoa(pid)).CombinedOutput(); err != nil {
				b.Fatalf("taskset %d: %v: %s", pid, err, out)
			}
		}
	}
	// PostgreSQL's backends fork from the postmaster and inherit its CPUs.
	pin(others, sqldbtest.PostgresPIDs()...)
	defer func() { pin(all, sqldbtest.PostgresPIDs()...) }()
	pin("0", os.Getpid())
	defer pin(all, os.Getpid())

	client := exec.Command(taskset, "-c", others, os.Args[0], "-test.run", "^$")
	client.Env = append(os.Environ(), "GOSID_BENCH_SIGNIN_URL="+rig.srv.URL, "GOSID_BENCH_SIGNIN_LOGINS="+strings.Join(rig.phones, ","))
	stdin, err := client.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := client.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	client.Stderr = os.Stderr
	if err := client.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = stdin.Close(); _ = client.Wait() }()
	lines := bufio.NewScanner(stdout)

	var cpu signInCPU
	rig.alternate(b, func() float64 {
		return measure(1, signInRound, func(int) error {
			_, err := rig.raw.Hash(context.Background(), goodPassword)
			return err
		})
	}, func() float64 {
		m := cpu.start()
		if _, err := io.WriteString(stdin, "round\n"); err != nil {
			b.Fatal(err)
		}
		var n int64
		var rate float64
		for lines.Scan() {
			if _, err := fmt.Sscanf(lines.Text(), "signins %d rate %g", &n, &rate); err == nil {
				break
			}
		}
		if n == 0 {
			b.Fatalf("the client reported no sign-ins: %v", lines.Err())
		}
		m.stop(&cpu, n)
		return rate
	})
	cpu.report(b)
}

// signInClientMain is BenchmarkPasswordSignInOneCore's client, run by
// TestMain in a process of its own when GOSID_BENCH_SIGNIN_URL is set: for
// every line "round" on stdin it signs in for signInRound with one client
// per login (own cookies, kept across rounds) and prints "signins N rate
// R"; it returns the process's exit code.
func signInClientMain() int {
	c := newSignInClients(os.Getenv("GOSID_BENCH_SIGNIN_URL"), strings.Split(os.Getenv("GOSID_BENCH_SIGNIN_LOGINS"), ","))
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var n atomic.Int64
		var failed atomic.Value
		rate := measure(len(c.forms), signInRound, func(w int) error {
			if err := c.signIn(w); err != nil {
				failed.Store(err)
				return err
			}
			n.Add(1)
			return nil
		})
		if err := failed.Load(); err != nil {
			fmt.Fprintln(os.Stderr, "sign-in client:", err)
			return 1
		}
		fmt.Printf("signins %d rate %g\n", n.Load(), rate)
	}
	return 0
}

// signInRound is one round of sign-ins or of raw hashes.
const signInRound = 2 * time.Second

// signInRig is a server on PostgreSQL, one account per client, and the
// in-process clients.
type signInRig struct {
	*signInClients
	srv    *httptest.Server
	raw    *password.Hasher
	phones []string
	// statements logs PostgreSQL's statements per sign-in
	// (GOSID_BENCH_STATEMENTS=1).
	statements func(signIns int64)
}

func newSignInRig(b *testing.B, clients int) *signInRig {
	b.Helper()
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
	b.Cleanup(srv.Close)
	raw, err := password.NewHasher(params, runtime.GOMAXPROCS(0))
	if err != nil {
		b.Fatal(err)
	}
	hash, err := raw.Hash(ctx, goodPassword)
	if err != nil {
		b.Fatal(err)
	}
	accounts := account.NewStore(db, km, time.Now)
	phones := make([]string, clients)
	for i := range phones {
		phones[i] = fmt.Sprintf("+7916000%04d", i)
		_, err := accounts.Create(ctx, account.New{Name: account.Name{Family: "Иванов", Given: "Иван"},
			Phone: account.Contact{Value: phones[i], VerifiedAt: time.Now()}, PasswordHash: hash})
		if err != nil {
			b.Fatal(err)
		}
	}
	r := &signInRig{signInClients: newSignInClients(srv.URL, phones), srv: srv, raw: raw, phones: phones}
	if err := r.signIn(0); err != nil {
		b.Fatal(err)
	}
	r.statements = sqldbtest.CountStatements(b, db)
	return r
}

// alternate runs short rounds of the limit and of sign-ins in turn, so
// that load from elsewhere on the machine affects both alike, and
// reports both rates and their ratio. b.N is not used.
func (r *signInRig) alternate(b *testing.B, limit, signIns func() float64) {
	b.ResetTimer()
	var raw, rate float64
	const rounds = 4
	for range rounds {
		raw += limit() / rounds
		rate += signIns() / rounds
	}
	b.ReportMetric(rate, "signins/s")
	b.ReportMetric(raw, "raw-argon2id/s")
	b.ReportMetric(rate/raw, "ratio")
}

// signInClients sign in over HTTP, one client (cookie jar) per login.
type signInClients struct {
	base    string
	clients []*http.Client
	forms   []string
}

func newSignInClients(base string, logins []string) *signInClients {
	c := &signInClients{base: base}
	for _, login := range logins {
		jar, _ := cookiejar.New(nil)
		c.clients = append(c.clients, &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }})
		c.forms = append(c.forms, url.Values{"login": {login}, "password": {goodPassword}}.Encode())
	}
	return c
}

func (c *signInClients) signIn(w int) error {
	resp, err := c.clients[w].Post(c.base+"/login", "application/x-www-form-urlencoded", strings.NewReader(c.forms[w]))
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

// signInCPU adds up the CPU time of this process and of PostgreSQL's
// processes over the sign-in rounds.
type signInCPU struct {
	self, postgres time.Duration
	signIns        int64
}

type cpuMark struct{ self, postgres time.Duration }

func (*signInCPU) start() cpuMark { return cpuMark{sqldbtest.SelfCPU(), sqldbtest.PostgresCPU()} }

func (m cpuMark) stop(c *signInCPU, signIns int64) {
	c.self += sqldbtest.SelfCPU() - m.self
	c.postgres += sqldbtest.PostgresCPU() - m.postgres
	c.signIns += signIns
}

func (c *signInCPU) report(b *testing.B) {
	if c.signIns == 0 {
		return
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(c.signIns) }
	b.ReportMetric(per(c.self), "process-cpu-ms/signin")
	b.ReportMetric(per(c.postgres), "postgres-cpu-ms/signin")
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
