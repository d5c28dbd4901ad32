package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const testPassword = "Zk7#vLq2!mWp"

// TestAgainstServer builds gosid, starts `gosid serve` on loopback with
// SQLite, registers two clients and an account with the CLI, and runs every
// step for a second: each must have throughput and no errors.
func TestAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts a gosid server; skipped with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "gosid")
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build gosid with")
	}
	if out, err := exec.Command(goTool, "build", "-o", bin, "github.com/gosid/gosid/cmd/gosid").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")

	logFile, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	// No management listener: /readyz is not on the public one, and a
	// fixed management port could clash with another test's. Port 0: the
	// server binds it and logs the issuer it got, so that no other process
	// can take a port between our choosing it and the server binding it.
	srv := exec.Command(bin, "serve", "--data-dir", data, "--addr", "127.0.0.1:0", "--portal-addr", "off", "--sandbox-bank-addr", "off", "--admin-addr", "off",
		"--log-format", "json")
	srv.Stdout, srv.Stderr = logFile, logFile
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = srv.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = srv.Process.Kill()
			<-exited
		}
	})
	serverLog := func() string {
		b, _ := os.ReadFile(logFile.Name())
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		return string(b)
	}
	issuer := waitReady(t, logFile.Name(), exited, func() string { return fmt.Sprintf("%v\n%s", waitErr, serverLog()) })

	cli := func(env []string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--data-dir", data)...)
		cmd.Env = append(os.Environ(), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gosid %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	type created struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	var rp, cc created
	const redirect = "http://127.0.0.1:9/cb"
	mustJSON(t, cli(nil, "clients", "create", "--name", "Нагрузка", "--first-party", "--scopes", "openid fullname offline_access",
		"--grant-types", "authorization_code,refresh_token", "--auth-method", "client_secret_basic", "--redirect-uri", redirect, "--json"), &rp)
	mustJSON(t, cli(nil, "clients", "create", "--name", "Партнёр", "--grant-types", "client_credentials",
		"--auth-method", "client_secret_basic", "--json"), &cc)
	cli([]string{"GOSID_PASSWORD=" + testPassword}, "accounts", "create", "--phone", "+79160000001", "--family-name", "Нагрузкин", "--given-name", "Тест")

	var out, log bytes.Buffer
	env := map[string]string{"GOSID_LOAD_PASSWORD": testPassword, "GOSID_LOAD_CLIENT_SECRET": rp.Secret}
	args := []string{"--issuer", issuer, "--client-id", rp.ID, "--redirect-uri", redirect, "--login", "+79160000001",
		"--cc-client-id", cc.ID, "--cc-client-secret", cc.Secret, "--concurrency", "4", "--duration", "1s", "--calibrate", "100ms",
		"--steps", strings.Join(allSteps, ","), "--json"}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := run(ctx, args, func(k string) string { return env[k] }, &out, &log); err != nil {
		t.Fatalf("gosid-load: %v\n%s\nserver log:\n%s", err, log.String(), serverLog())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("JSON output: %v\n%s", err, out.String())
	}
	if len(rep.Steps) != len(allSteps) {
		t.Fatalf("%d steps reported, want %d", len(rep.Steps), len(allSteps))
	}
	for i, s := range rep.Steps {
		if s.Step != allSteps[i] {
			t.Errorf("step %d is %s, want %s", i, s.Step, allSteps[i])
		}
		for j, r := range s.Rows {
			if r.Errors() != 0 {
				t.Errorf("%s %s: %d transport errors, %d unexpected statuses, %d invalid; first: %s",
					s.Step, r.Row, r.HTTPErrors, r.Non2xx, r.Invalid, r.FirstError)
			}
			if j == 0 && (r.OK == 0 || r.PerSecond <= 0 || r.P50ms <= 0 || r.P99ms < r.P50ms) {
				t.Errorf("%s: %d ok, %.1f/s, p50 %.3f ms, p99 %.3f ms", s.Step, r.OK, r.PerSecond, r.P50ms, r.P99ms)
			}
			if j == 0 && (r.Limit == nil || r.Ratio <= 0) {
				t.Errorf("%s: no limit to compare with", s.Step)
			}
		}
		t.Logf("%-18s %8.1f/s  p50 %6.2f ms  p99 %6.2f ms  ratio %.3f", s.Step, s.Rows[0].PerSecond, s.Rows[0].P50ms, s.Rows[0].P99ms, s.Rows[0].Ratio)
	}
	if t.Failed() {
		t.Logf("server log:\n%s", serverLog())
	}
}

// TestRefusesRemote: a non-loopback issuer is refused before any request.
func TestRefusesRemote(t *testing.T) {
	for _, issuer := range []string{"http://192.0.2.1:8080", "https://10.0.0.1"} {
		err := run(context.Background(), []string{"--issuer", issuer, "--steps", "jwks"}, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: %v, want a refusal", issuer, err)
		}
	}
	// The transport refuses too, whatever the URL says.
	c := &http.Client{Transport: newTransport(1, true), Timeout: 2 * time.Second}
	if _, err := c.Get("http://192.0.2.1:9/"); err == nil || !strings.Contains(err.Error(), "not loopback") {
		t.Errorf("dial to a remote address: %v", err)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 90: 90 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond} {
		if got := percentile(d, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("p99 of one = %v", got)
	}
}

// waitReady waits for the "gosid serving" line in the server's JSON log
// at logPath, then for /healthz on the issuer it names, and returns the
// issuer.
func waitReady(t *testing.T, logPath string, exited <-chan struct{}, serverLog func() string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	issuer := ""
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("gosid serve exited: %s", serverLog())
		default:
		}
		if issuer == "" {
			issuer = servingIssuer(logPath)
		}
		// The listener serves only once the schema is migrated and the
		// keys are loaded, so a live /healthz means ready here.
		if issuer != "" {
			if resp, err := http.Get(issuer + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return issuer
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("gosid serve not ready after 60s\n%s", serverLog())
	return ""
}

// servingIssuer returns the issuer of the "gosid serving" record in the
// JSON log at path, or "" while there is none.
func servingIssuer(path string) string {
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		var rec struct{ Msg, Issuer string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "gosid serving" {
			return rec.Issuer
		}
	}
	return ""
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

// TestAuthorizeHopFails: a hop of the authorization flow that fails in
// transport (here the consent POST, whose connection the server drops) is
// reported as a transport error, not read as an answer.
func TestAuthorizeHopFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/authorize":
			http.Redirect(w, r, "/authorize/consent?id=1", http.StatusFound)
		default:
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			conn.Close()
		}
	}))
	defer srv.Close()
	issuer, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := newRequester(&config{Issuer: issuer, ClientID: "c", RedirectURI: "http://127.0.0.1:9/cb", Scope: "openid",
		Concurrency: 1, Timeout: 5 * time.Second})
	res, err := q.authorize(context.Background(), q.browser(), false)
	if kindOf(err) != kindHTTP {
		t.Fatalf("authorize = %v, %v; want a transport error", res, err)
	}
}

// TestRefusalsApart: a 503 (the server's back-pressure, with Retry-After)
// is counted as refused, not as an error; any other status is an error.
func TestRefusalsApart(t *testing.T) {
	s := &rowStats{}
	s.record(time.Millisecond, nil)
	s.record(time.Millisecond, statusErr("authorize hop 2", http.StatusServiceUnavailable, []byte("busy")))
	s.record(time.Millisecond, statusErr("token", http.StatusInternalServerError, nil))
	if s.ok != 1 || s.refused != 1 || s.statusErrs != 1 {
		t.Fatalf("ok %d, refused %d, unexpected statuses %d; want 1, 1, 1", s.ok, s.refused, s.statusErrs)
	}
	if r := (rowResult{OK: s.ok, Non2xx: s.statusErrs, Refused: s.refused}); r.Errors() != 1 {
		t.Fatalf("Errors() = %d, want the 500 only", r.Errors())
	}
}
