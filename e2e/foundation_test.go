package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestServeEmbedded: `gosid serve` on a fresh data dir needs no set-up,
// creates the database and a 0600 master key, is ready, and serves an ES256
// and an RS256 public key; a restart serves the same kids.
func TestServeEmbedded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	s := startServer(t, "--data-dir", dir)
	st, err := os.Stat(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatalf("master key file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("master key file mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(dir, "gosid.db")); err != nil {
		t.Errorf("database file: %v", err)
	}
	first := s.kids(t)
	if len(first["ES256"]) != 1 || len(first["RS256"]) != 1 {
		t.Fatalf("JWKS kids %v, want one ES256 and one RS256 key", first)
	}
	// Liveness on the public listener; readiness and metrics only on the
	// management listener.
	if code, _, _ := s.get(t, "/healthz"); code != 200 {
		t.Errorf("GET /healthz: %d", code)
	}
	for _, path := range []string{"/readyz", "/metrics"} {
		if code, _, _ := s.get(t, path); code != 404 {
			t.Errorf("public GET %s: %d, want 404", path, code)
		}
		if code, _ := s.adminGet(t, path); code != 200 {
			t.Errorf("management GET %s: %d", path, code)
		}
	}
	_, metrics := s.adminGet(t, "/metrics")
	for _, want := range []string{`gosid_http_requests_total{`, `route="GET /keys"`, `go_sql_open_connections`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	_, hdr, _ := s.get(t, "/keys")
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "X-Request-Id"} {
		if hdr.Get(h) == "" {
			t.Errorf("GET /keys: no %s header", h)
		}
	}
	// A line a handler logs (the dev sink's, for a registration code)
	// carries the request's id, as the access-log line does.
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirects.PostForm(s.URL+"/register", url.Values{"by": {"phone"}, "phone": {"+79161110999"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	// The server's output reaches us through a pipe, a moment after the
	// answer: wait for the line rather than read once.
	found := false
	for deadline := time.Now().Add(10 * time.Second); id != "" && !found && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, line := range strings.Split(s.out.String(), "\n") {
			if strings.Contains(line, `"msg":"dev message`) && strings.Contains(line, `"request_id":"`+id+`"`) {
				found = true
			}
		}
	}
	if id == "" || !found {
		t.Errorf("no handler log line with request_id %q:\n%s", id, s.out)
	}
	brandedErrorPages(t, s.URL)
	s.stop(t)

	s2 := startServer(t, "--data-dir", dir)
	if again := s2.kids(t); !sameKids(first, again) {
		t.Fatalf("after restart the JWKS kids are %v, want %v", again, first)
	}
}

// TestServePostgres: the same against an empty PostgreSQL database.
func TestServePostgres(t *testing.T) {
	url := sqldbtest.EmptyPostgresURL(t)
	dir := t.TempDir()
	s := startServer(t, "--data-dir", dir, "--database-url", url)
	first := s.kids(t)
	if len(first["ES256"]) != 1 || len(first["RS256"]) != 1 {
		t.Fatalf("JWKS kids %v, want one ES256 and one RS256 key", first)
	}
	s.stop(t)
	s2 := startServer(t, "--data-dir", dir, "--database-url", url)
	if again := s2.kids(t); !sameKids(first, again) {
		t.Fatalf("after restart the JWKS kids are %v, want %v", again, first)
	}
}

func sameKids(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for alg, kids := range a {
		if !slices.Equal(kids, b[alg]) {
			return false
		}
	}
	return true
}

// TestRotateWhileServing: `gosid keys rotate` from another process while two
// replicas serve: the new kids appear in both /keys within the refresh
// interval, and the old ones stay published.
func TestRotateWhileServing(t *testing.T) {
	url := sqldbtest.EmptyPostgresURL(t)
	dir := t.TempDir()
	a := startServer(t, "--data-dir", dir, "--database-url", url, "--key-refresh-interval", "1s")
	b := startServer(t, "--data-dir", dir, "--database-url", url, "--key-refresh-interval", "1s")
	before := a.kids(t)

	code, out, errOut := gosid(t, "keys", "rotate", "--data-dir", dir, "--database-url", url)
	if code != 0 {
		t.Fatalf("gosid keys rotate: exit %d\n%s%s", code, out, errOut)
	}
	for _, s := range []*server{a, b} {
		deadline := time.Now().Add(60 * time.Second)
		for {
			now := s.kids(t)
			if len(now["ES256"]) == 2 && len(now["RS256"]) == 2 {
				for alg, kids := range before {
					if !slices.Contains(now[alg], kids[0]) {
						t.Errorf("old %s key %s left the JWKS at once", alg, kids[0])
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("new kids not published within 60s: %v", now)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	code, out, _ = gosid(t, "keys", "list", "--data-dir", dir, "--database-url", url)
	if code != 0 || strings.Count(out, "ES256") != 2 || strings.Count(out, "RS256") != 2 {
		t.Fatalf("gosid keys list: exit %d\n%s", code, out)
	}
}

// TestWrongMasterKey: a master key that did not wrap the data keys stops the
// start with exit 2 and a clear message, and nothing is overwritten.
func TestWrongMasterKey(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, "--data-dir", dir)
	kids := s.kids(t)
	s.stop(t)

	other := filepath.Join(t.TempDir(), "other.key")
	s2 := startServer(t, "--data-dir", t.TempDir(), "--master-key-file", other) // makes a valid, unrelated key
	s2.stop(t)

	keyPath := filepath.Join(dir, "master.key")
	keyBefore := fileHash(t, keyPath)
	code, _, errOut := gosid(t, "serve", "--data-dir", dir, "--master-key-file", other, "--addr", "127.0.0.1:0", "--portal-addr", "off", "--sandbox-bank-addr", "off", "--admin-addr", "off")
	if code != 2 {
		t.Fatalf("serve with a wrong master key: exit %d, want 2\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "master key") {
		t.Errorf("stderr does not explain the master key problem:\n%s", errOut)
	}
	if fileHash(t, keyPath) != keyBefore {
		t.Error("the original master key file changed")
	}
	s3 := startServer(t, "--data-dir", dir)
	if again := s3.kids(t); !sameKids(kids, again) {
		t.Fatalf("after the refused start the kids are %v, want %v", again, kids)
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestRotateMasterWhileServing: rotate-master re-wraps the data keys while a
// replica serves; the replica keeps serving; afterwards only the new master
// key opens the database.
func TestRotateMasterWhileServing(t *testing.T) {
	dir := t.TempDir()
	url := sqldbtest.EmptyPostgresURL(t)
	s := startServer(t, "--data-dir", dir, "--database-url", url, "--key-refresh-interval", "1s")
	kids := s.kids(t)
	newKey := filepath.Join(t.TempDir(), "new.key")
	code, out, errOut := gosid(t, "keys", "rotate-master", "--data-dir", dir, "--database-url", url, "--new-master-key-file", newKey)
	if code != 0 {
		t.Fatalf("rotate-master: exit %d\n%s%s", code, out, errOut)
	}
	if st, err := os.Stat(newKey); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("new master key file: %v %v", st, err)
	}
	time.Sleep(2 * time.Second) // a refresh cycle on the running replica
	if code, _ := s.adminGet(t, "/readyz"); code != 200 {
		t.Fatalf("replica not ready after rotate-master: %d", code)
	}
	if now := s.kids(t); !sameKids(kids, now) {
		t.Fatalf("kids changed by rotate-master: %v → %v", kids, now)
	}
	s.stop(t)

	code, _, errOut = gosid(t, "serve", "--data-dir", dir, "--database-url", url, "--addr", "127.0.0.1:0", "--portal-addr", "off", "--sandbox-bank-addr", "off", "--admin-addr", "off")
	if code != 2 || !strings.Contains(errOut, "master key") {
		t.Fatalf("serve with the old master key after rotation: exit %d, want 2\n%s", code, errOut)
	}
	s2 := startServer(t, "--data-dir", dir, "--database-url", url, "--master-key-file", newKey)
	if now := s2.kids(t); !sameKids(kids, now) {
		t.Fatalf("kids under the new master key: %v, want %v", now, kids)
	}
}

// TestBadConfiguration: every problem is reported at once, one clear line
// each, exit 2, and nothing is written.
func TestBadConfiguration(t *testing.T) {
	base := t.TempDir()
	blocker := filepath.Join(base, "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		args  []string
		lines []string // each must appear on its own line of stderr
	}{
		{"unknown flag", []string{"--adrr", "x"}, []string{"--adrr"}},
		{"malformed database URL", []string{"--data-dir", base, "--database-url", "postgres://localhost:notaport/x"}, []string{"database-url"}},
		{"unreachable database", []string{"--data-dir", base, "--database-url", "postgres://gosid@127.0.0.1:1/gosid?connect_timeout=2"}, []string{"database-url"}},
		{"unwritable data dir", []string{"--data-dir", filepath.Join(blocker, "sub")}, []string{"data-dir"}},
		{"refresh grace out of range", []string{"--data-dir", base, "--refresh-token-grace", "5m"}, []string{"refresh-token-grace"}},
		{"all at once", []string{"--data-dir", filepath.Join(blocker, "sub"), "--log-format", "xml", "--addr", "nohostport", "--key-rotation-period", "ninety"},
			[]string{"flag --data-dir:", "flag --log-format:", "flag --addr:", "flag --key-rotation-period:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := gosid(t, append([]string{"serve"}, tc.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2\n%s", code, errOut)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			for _, want := range tc.lines {
				n := 0
				for _, l := range lines {
					if strings.Contains(l, want) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("want exactly one line naming %q, got %d in:\n%s", want, n, errOut)
				}
			}
		})
	}
	if entries, _ := os.ReadDir(base); len(entries) != 1 {
		t.Errorf("bad configurations wrote into the data dir: %v", entries)
	}
}

// TestServeRefusesDevModeBehindProxy: the real binary, started in an empty
// directory as an operator behind a reverse proxy would (a loopback
// listener, a public https URL) but with no SMS or e-mail gateway and no
// master key, refuses to run in development mode, which would publish every
// one-time code at /dev/messages: exit 2, a line naming the gateway
// options, a line naming the master key file, and the directory stays
// empty (no gosid-data, no database, no key).
func TestServeRefusesDevModeBehindProxy(t *testing.T) {
	dir := t.TempDir()
	// Were the check missing, serve would run until this deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "--addr", "127.0.0.1:0", "--public-url", "https://id.example.ru", "--portal-addr", "off", "--sandbox-bank-addr", "off")
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", code, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	for _, want := range [][]string{
		{"--smtp-addr or --sms-gateway-url", "https://id.example.ru"},
		{"--master-key-file", "does not exist"},
	} {
		n := 0
		for _, l := range lines {
			if strings.Contains(l, want[0]) && strings.Contains(l, want[1]) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("want one line naming %s, got %d in:\n%s", want[0], n, stderr.String())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused start wrote into its directory: %v", entries)
	}
}

// brandedErrorPages: an unknown address (404) and a wrong method (405) get
// the site's page in Russian and in English, whose stylesheet loads — not
// Go's plain text.
func brandedErrorPages(t *testing.T, base string) {
	t.Helper()
	for _, tc := range []struct {
		method, path, lang string
		status             int
		want               string
	}{
		{"GET", "/nowhere", "ru", 404, "Страница не найдена"},
		{"GET", "/nowhere", "en", 404, "Page not found"},
		{"DELETE", "/register", "ru", 405, "Действие недоступно"},
		{"DELETE", "/register", "en", 405, "Action not available"},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		req.Header.Set("Accept-Language", tc.lang)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s (%s): %d %s %q, want %d with %q", tc.method, tc.path, tc.lang, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.status, tc.want)
			continue
		}
		css := regexp.MustCompile(`href="(/static/[^"]+\.css)"`).FindStringSubmatch(body)
		if css == nil {
			t.Errorf("%s %s: the page links no stylesheet", tc.method, tc.path)
			continue
		}
		if r, err := http.Get(base + css[1]); err != nil || r.StatusCode != 200 {
			t.Errorf("the error page's stylesheet %s: %v %v", css[1], err, r)
		} else {
			r.Body.Close()
		}
	}
}
