package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

var (
	binary   string // path of the gosid binary built for this run
	buildDir string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gosid-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	binary = filepath.Join(dir, "gosid")
	build := exec.Command("go", "build", "-o", binary, "../cmd/gosid")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build gosid: %v\n%s", err, out)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	sqldbtest.Main(m)
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
	URL string
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

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer starts `gosid serve` on a free loopback port with the given
// extra arguments and its management listener on 127.0.0.1:0 (unless args
// name --admin-addr), and waits until the management /readyz answers 200.
// The server is stopped with SIGTERM when the test ends, and must then exit
// 0.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	return startServerAt(t, freeAddr(t), args...)
}

// startServerAt is startServer on a chosen listen address (e.g. one whose
// port the caller also needs for --public-url).
func startServerAt(t *testing.T, addr string, args ...string) *server {
	t.Helper()
	full := []string{"serve", "--addr", addr, "--portal-addr", "off", "--log-format", "json"}
	if !slices.Contains(args, "--admin-addr") {
		full = append(full, "--admin-addr", "127.0.0.1:0")
	}
	full = append(full, args...)
	cmd := exec.Command(binary, full...)
	cmd.Env = cleanEnv()
	s := &server{URL: "http://" + addr, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
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
		if s.Admin == "" {
			s.Admin = s.logged("gosid serving", "admin")
		}
		if s.Admin == "off" {
			// No readiness to ask: serving is as ready as it gets.
			if resp, err := http.Get(s.URL + "/healthz"); err == nil {
				resp.Body.Close()
				return s
			}
		} else if s.Admin != "" {
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

// logged returns the string attribute key of the first JSON log record
// whose msg is msg, or "".
func (s *server) logged(msg, key string) string {
	for _, line := range strings.Split(s.out.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			v, _ := rec[key].(string)
			return v
		}
	}
	return ""
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
