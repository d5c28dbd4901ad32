package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// binary is the path of the gosid binary built for this run.
var binary string

// binDirPrefix names the directory of a run's gosid binary. The run's
// process ID follows it, so that a later run can tell a directory left by a
// run that died from one in use.
const binDirPrefix = "gosid-e2e-bin-"

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

// testMain builds gosid into a temporary directory, runs the tests, and
// removes the directory whether they passed or failed. A run that could not
// clean up (a panic, -timeout, a kill) leaves its directory behind: the next
// run removes it.
func testMain(m *testing.M) int {
	removeOrphanBinaries()
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", binDirPrefix, os.Getpid()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintf(os.Stderr, "remove the e2e binaries: %v\n", err)
		}
	}()
	binary = filepath.Join(dir, "gosid")
	build := exec.Command("go", "build", "-o", binary, "../cmd/gosid")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build gosid: %v\n%s", err, out)
		return 1
	}
	return sqldbtest.MainCode(m)
}

// removeOrphanBinaries removes the binary directories of earlier runs
// whose process is gone.
func removeOrphanBinaries() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), binDirPrefix+"*"))
	for _, d := range dirs {
		pid, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(d), binDirPrefix), "-")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil || n <= 0 {
			continue // not named by this code
		}
		if err := syscall.Kill(n, 0); err == nil || errors.Is(err, syscall.EPERM) {
			continue // the run is still going
		}
		if err := os.RemoveAll(d); err != nil {
			fmt.Fprintf(os.Stderr, "remove an earlier run's e2e binaries: %v\n", err)
		}
	}
}

// TestOrphanBinariesRemoved: a binary directory left by a run that died is
// removed; a live run's and one not named by this code are kept.
func TestOrphanBinariesRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	done := exec.Command("true")
	if err := done.Run(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(tmp, fmt.Sprintf("%s%d-1", binDirPrefix, done.Process.Pid))
	live := filepath.Join(tmp, fmt.Sprintf("%s%d-2", binDirPrefix, os.Getpid()))
	other := filepath.Join(tmp, binDirPrefix+"12345")
	for _, d := range []string{dead, live, other} {
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	removeOrphanBinaries()
	for d, want := range map[string]bool{dead: false, live: true, other: true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(d), err == nil, want)
		}
	}
}

// gosid runs a one-shot subcommand and returns its exit code and output.
func gosid(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return gosidEnv(t, nil, args...)
}

// gosidEnv is gosid with extra environment variables ("GOSID_PASSWORD=…"),
// added to cleanEnv's.
func gosidEnv(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code = 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run gosid %v: %v", args, err)
	}
	return code, out.String(), errOut.String()
}

// cleanEnv keeps the test runner's GOSID_* variables (GOSID_E2E and friends
// are harmless, but an operator's GOSID_DATABASE_URL would not be) away from
// the binary.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOSID_") {
			env = append(env, kv)
		}
	}
	return env
}

// server is a running `gosid serve`.
type server struct {
	// URL is the IdP listener's URL and Issuer the public URL, both as the
	// "gosid serving" line logs them: the server binds port 0 itself, so
	// the port is known only once it is bound.
	URL    string
	Issuer string
	// Admin is the management listener's URL (/readyz, /metrics), as the
	// "gosid serving" line logs it.
	Admin string
	cmd   *exec.Cmd
	out   *syncBuffer
	done  chan struct{}
	err   error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer starts `gosid serve` on 127.0.0.1:0 with the given extra
// arguments and its management listener on 127.0.0.1:0 (unless args name
// --admin-addr), and waits until the management /readyz answers 200. The
// server is stopped with SIGTERM when the test ends, and must then exit 0.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	return startServerOn(t, "127.0.0.1:0", args...)
}

// startLocalhostServer is startServer on localhost:0: the public URL, unless
// args give one, is then http://localhost:PORT, a secure context for the
// browser and a host name WebAuthn accepts as relying-party ID.
func startLocalhostServer(t *testing.T, args ...string) *server {
	t.Helper()
	return startServerOn(t, "localhost:0", args...)
}

// startServerOn starts `gosid serve` with --addr addr. The address must
// have port 0: the server binds it and logs what it got, so that no other
// process can take the port between choosing and binding it (a port
// probed free and closed again can be, and was).
func startServerOn(t *testing.T, addr string, args ...string) *server {
	t.Helper()
	if _, port, err := net.SplitHostPort(addr); err != nil || port != "0" {
		t.Fatalf("startServerOn(%q): want a host with port 0", addr)
	}
	full := []string{"serve", "--addr", addr, "--portal-addr", "off", "--log-format", "json"}
	if !slices.Contains(args, "--admin-addr") {
		full = append(full, "--admin-addr", "127.0.0.1:0")
	}
	if !slices.Contains(args, "--sandbox-bank-addr") {
		full = append(full, "--sandbox-bank-addr", "off")
	}
	full = append(full, args...)
	cmd := exec.Command(binary, full...)
	cmd.Env = cleanEnv()
	s := &server{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.stop(t) })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			t.Fatalf("gosid serve exited before it was ready: %v\n%s", s.err, s.out)
		default:
		}
		if s.URL == "" {
			if rec := s.record("gosid serving"); rec != nil {
				s.URL, _ = rec["idp"].(string)
				s.Issuer, _ = rec["issuer"].(string)
				s.Admin, _ = rec["admin"].(string)
				if s.URL == "" || s.Issuer == "" || s.Admin == "" {
					t.Fatalf("the \"gosid serving\" line lacks idp, issuer or admin: %v", rec)
				}
			}
		}
		switch {
		case s.URL == "":
		case s.Admin == "off":
			// No readiness to ask: serving is as ready as it gets.
			if resp, err := http.Get(s.URL + "/healthz"); err == nil {
				resp.Body.Close()
				return s
			}
		default:
			if resp, err := http.Get(s.Admin + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return s
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("gosid serve not ready within 60s:\n%s", s.out)
	return nil
}

// record returns the first JSON log record whose msg is msg, or nil.
func (s *server) record(msg string) map[string]any {
	for _, line := range strings.Split(s.out.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			return rec
		}
	}
	return nil
}

// adminGet is get on the management listener.
func (s *server) adminGet(t *testing.T, path string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(s.Admin + path)
	if err != nil {
		t.Fatalf("GET admin %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// stop sends SIGTERM and requires a clean exit.
func (s *server) stop(t *testing.T) {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		if s.err != nil {
			t.Errorf("gosid serve did not exit cleanly on SIGTERM: %v\n%s", s.err, s.out)
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("gosid serve did not stop within 30s of SIGTERM")
	}
}

func (s *server) get(t *testing.T, path string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(s.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

type jwks struct {
	Keys []map[string]any `json:"keys"`
}

// kids fetches /keys, checks that it holds only public signing keys, and
// returns the kids by algorithm.
func (s *server) kids(t *testing.T) map[string][]string {
	t.Helper()
	code, hdr, body := s.get(t, "/keys")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /keys: %d %s", code, hdr.Get("Content-Type"))
	}
	var set jwks
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("GET /keys: %v", err)
	}
	out := map[string][]string{}
	for _, k := range set.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[private]; ok {
				t.Fatalf("JWKS key %v publishes private member %q", k["kid"], private)
			}
		}
		if k["use"] != "sig" || k["kid"] == "" {
			t.Fatalf("JWKS key without use=sig or kid: %v", k)
		}
		alg, _ := k["alg"].(string)
		kid, _ := k["kid"].(string)
		out[alg] = append(out[alg], kid)
	}
	return out
}

// TestLibraryLogs: the lines zitadel/oidc writes on its own (through slog's
// default logger) come out in the server's format with the request's id,
// and a burst of the same warning is cut to httpx.QuietBurst lines a
// second.
func TestLibraryLogs(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := gosid(t, "migrate", "--data-dir", dir); code != 0 {
		t.Fatalf("gosid migrate: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := gosid(t, "clients", "create", "--data-dir", dir, "--name", "Сайт", "--json",
		"--redirect-uri", "https://rp.example/cb", "--grant-types", "authorization_code,refresh_token")
	var c struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &c) != nil || c.Secret == "" {
		t.Fatalf("gosid clients create: exit %d\n%s%s", code, out, errOut)
	}
	s := startServer(t, "--data-dir", dir)
	for range 40 {
		req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {"no-such-token"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("a refresh with an unknown token: %d", resp.StatusCode)
		}
	}
	time.Sleep(200 * time.Millisecond)
	var lines []map[string]any
	for _, line := range strings.Split(s.out.String(), "\n") {
		if strings.Contains(line, "request error") || strings.Contains(line, "oidc_error") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("a library line not in the server's JSON format: %s", line)
			}
			lines = append(lines, rec)
		}
	}
	if len(lines) == 0 || len(lines) > 2*httpx.QuietBurst {
		t.Fatalf("%d library lines for 40 refused requests, want 1..%d:\n%s", len(lines), 2*httpx.QuietBurst, s.out)
	}
	for _, rec := range lines {
		if id, _ := rec["request_id"].(string); id == "" {
			t.Fatalf("a library line without the request id: %v", rec)
		}
	}
}
