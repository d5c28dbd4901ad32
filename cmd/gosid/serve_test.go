package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/cmdline"
)

// checkServe parses serve's options from args alone (no environment) and
// runs its checks, as runServe does before it writes anything.
func checkServe(t *testing.T, args ...string) (problems []string, dev bool) {
	t.Helper()
	var o serveOptions
	s := serveFlags(&o)
	env := &cmdline.Env{Prog: "gosid", Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	p, ok := env.Parse(s, args)
	if !ok {
		t.Fatalf("parse %v: help", args)
	}
	if len(p) > 0 {
		t.Fatalf("parse %v: %v", args, p)
	}
	o.storage.resolve()
	dev = o.check(s, &p)
	return p, dev
}

// lineWith counts the problems that contain every one of words.
func lineWith(problems []string, words ...string) int {
	n := 0
	for _, l := range problems {
		all := true
		for _, w := range words {
			all = all && strings.Contains(l, w)
		}
		if all {
			n++
		}
	}
	return n
}

// TestDevModeOnlyWhenAllLoopback: development mode (the dev message sink
// and a master key created on the spot) needs the listener AND the public
// URL on loopback; a loopback listener behind a reverse proxy with a public
// URL is refused with one line naming the gateway options and one naming
// the master key file. The embedded default (no flags) stays allowed.
func TestDevModeOnlyWhenAllLoopback(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		dev  bool
	}{
		{"embedded default", nil, true},
		{"127.0.0.1 with its own URL", []string{"--addr", "127.0.0.1:8080"}, true},
		{"public URL on localhost", []string{"--addr", "127.0.0.1:8080", "--public-url", "http://localhost:8080"}, true},
		{"public URL on LOCALHOST", []string{"--addr", "localhost:8080", "--public-url", "http://LOCALHOST:8080"}, true},
		{"public URL on 127.0.0.0/8", []string{"--addr", "127.0.0.1:8080", "--public-url", "https://127.3.2.1:8443"}, true},
		{"public URL on ::1", []string{"--addr", "[::1]:8080", "--public-url", "http://[::1]:8080"}, true},
		{"reverse proxy", []string{"--addr", "127.0.0.1:8080", "--public-url", "https://id.example.ru"}, false},
		{"proxy on a private address", []string{"--addr", "localhost:8080", "--public-url", "http://10.0.0.5:8080"}, false},
		{"a name under localhost", []string{"--addr", "localhost:8080", "--public-url", "http://localhost.example.ru:8080"}, false},
		{"all interfaces", []string{"--addr", "0.0.0.0:8080", "--public-url", "http://localhost:8080"}, false},
		{"a public listener", []string{"--addr", "192.0.2.10:8080"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"--data-dir", filepath.Join(dir, "data")}, tc.args...)
			problems, dev := checkServe(t, args...)
			if dev != tc.dev {
				t.Errorf("development mode allowed = %v, want %v", dev, tc.dev)
			}
			if tc.dev {
				if len(problems) != 0 {
					t.Errorf("problems: %q", problems)
				}
				return
			}
			if lineWith(problems, "--smtp-addr or --sms-gateway-url") != 1 {
				t.Errorf("want one line naming --smtp-addr or --sms-gateway-url, got %q", problems)
			}
			if lineWith(problems, "--master-key-file", "new-master-key") != 1 {
				t.Errorf("want one line naming --master-key-file, got %q", problems)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("checking wrote %v", entries)
			}
		})
	}

	// With a message gateway, a registry gateway and a master key, a
	// public URL is fine (production refuses the registry simulator).
	dir := t.TempDir()
	key := filepath.Join(dir, "master.key")
	if err := os.WriteFile(key, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	problems, dev := checkServe(t, "--data-dir", dir, "--addr", "127.0.0.1:8080", "--public-url", "https://id.example.ru",
		"--smtp-addr", "smtp.example.ru:587", "--master-key-file", key,
		"--registry-url", "https://registry.example.ru", "--registry-client-cert", key, "--registry-client-key", key)
	if dev || len(problems) != 0 {
		t.Errorf("production configuration: dev %v, problems %q", dev, problems)
	}
}

// TestServeRefusesDevModeBehindProxy runs `gosid serve --addr 127.0.0.1:0
// --public-url https://id.example.ru` with no gateway and no master key:
// exit 2, the two problems on stderr, and nothing written.
func TestServeRefusesDevModeBehindProxy(t *testing.T) {
	dir := t.TempDir()
	// Should the check be missing, serve would run: the deadline stops it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--public-url", "https://id.example.ru", "--portal-addr", "off", "--sandbox-bank-addr", "off",
		"--data-dir", filepath.Join(dir, "gosid-data")}, nil, &stdout, &stderr)
	if code != exitConfig {
		t.Fatalf("exit %d, want %d\n%s", code, exitConfig, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if lineWith(lines, "gosid: --smtp-addr or --sms-gateway-url", "public-url https://id.example.ru") != 1 ||
		lineWith(lines, "gosid: --master-key-file", "does not exist") != 1 {
		t.Errorf("stderr does not name the missing options, one line each:\n%s", stderr.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused start wrote %v", entries)
	}
}

func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestManagementListener: /readyz and /metrics are served on the
// management listener (--admin-addr, its bound address in the "gosid
// serving" line) and not on the public identity-provider or portal
// listeners, which keep /healthz; the management listener stops with the
// rest on shutdown; --admin-addr off turns it off.
func TestManagementListener(t *testing.T) {
	s := startServe(t, "--addr", "127.0.0.1:0", "--portal-addr", "127.0.0.1:0", "--sandbox-bank-addr", "off", "--data-dir", t.TempDir())
	if !strings.HasPrefix(s.Admin, "http://127.0.0.1:") || s.Admin == s.IdP {
		t.Fatalf("management listener logged as %q (idp %q)", s.Admin, s.IdP)
	}
	getStatus(t, s.IdP+"/keys") // a request to count
	for _, tc := range []struct {
		base, path string
		status     int
		want       string
	}{
		{s.Admin, "/readyz", 200, "ready"},
		{s.Admin, "/healthz", 200, "ok"},
		{s.Admin, "/metrics", 200, `gosid_http_requests_total{code="200",method="GET",route="GET /keys",server="idp"}`},
		{s.Admin, "/metrics", 200, "go_sql_open_connections"},
		{s.IdP, "/healthz", 200, "ok"},
		{s.IdP, "/readyz", 404, ""},
		{s.IdP, "/metrics", 404, ""},
		{s.Portal, "/healthz", 200, "ok"},
		{s.Portal, "/readyz", 404, ""},
		{s.Portal, "/metrics", 404, ""},
	} {
		status, body := getStatus(t, tc.base+tc.path)
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s%s: %d, want %d with %q", tc.base, tc.path, status, tc.status, tc.want)
		}
	}
	s.stop(t)
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.Admin, "http://"), time.Second); err == nil {
		c.Close()
		t.Error("the management listener still accepts after shutdown")
	}

	off := startServe(t, "--addr", "127.0.0.1:0", "--admin-addr", "off", "--data-dir", t.TempDir())
	if off.Admin != "off" {
		t.Errorf("--admin-addr off logged as %q", off.Admin)
	}
	if status, _ := getStatus(t, off.IdP+"/readyz"); status != 404 {
		t.Errorf("with the management listener off, the public /readyz answers %d", status)
	}
}

// TestManagementListenerProblems: a malformed --admin-addr or one already
// in use is reported like addr, exit 2, and nothing is written.
func TestManagementListenerProblems(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct{ addr, want string }{
		{"nohostport", "is not host:port"},
		{"127.0.0.1:99999", "has no valid port"},
		{busy.Addr().String(), "address already in use"},
	} {
		dir := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var stderr bytes.Buffer
		code := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--portal-addr", "off", "--sandbox-bank-addr", "off", "--admin-addr", tc.addr,
			"--data-dir", filepath.Join(dir, "data")}, nil, &bytes.Buffer{}, &stderr)
		cancel()
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if code != exitConfig || lineWith(lines, "flag --admin-addr", tc.want) != 1 {
			t.Errorf("--admin-addr %s: exit %d, want 2 and a line naming it:\n%s", tc.addr, code, stderr.String())
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("--admin-addr %s: wrote %v", tc.addr, entries)
		}
	}
}

// TestServingLineNamesLocalhost: with the default host, localhost, the
// start-up line gives http://localhost:PORT for the identity provider and
// the portal, the origin passkeys and cookies work on, never 127.0.0.1,
// which the browser takes for another site.
func TestServingLineNamesLocalhost(t *testing.T) {
	s := startServe(t, "--addr", "localhost:0", "--portal-addr", "localhost:0", "--sandbox-bank-addr", "off", "--data-dir", t.TempDir())
	for name, u := range map[string]string{"issuer": s.Issuer, "idp": s.IdP, "portal": s.Portal} {
		if !strings.HasPrefix(u, "http://localhost:") || strings.HasSuffix(u, ":0") {
			t.Errorf("%s logged as %q, want http://localhost:PORT", name, u)
		}
	}
	if s.Issuer != s.IdP {
		t.Errorf("issuer %q, identity provider %q: the same origin expected", s.Issuer, s.IdP)
	}
	if status, _ := getStatus(t, s.Portal+"/healthz"); status != 200 {
		t.Errorf("the logged portal URL answers %d", status)
	}
}
