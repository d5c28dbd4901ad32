package httpx

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestAccessLogHasRouteAndNoSecrets(t *testing.T) {
	logger, logs := newLogger()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("password") != "SECRET456" {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		io.WriteString(w, "welcome")
	})
	base, c := serve(t, Wrap("idp", mux, Options{Logger: logger}))

	req, _ := http.NewRequest(http.MethodGet, base+"/x?code=SECRET123&state=SECRETSTATE", nil)
	req.Header.Set("Authorization", "Bearer SECRETBEARER")
	req.Header.Set("Cookie", "session=SECRETCOOKIE")
	resp, body := do(t, c, req)
	if resp.StatusCode != http.StatusOK || body != "hello" {
		t.Fatalf("GET /x: %d %q", resp.StatusCode, body)
	}
	rec := logs.accessRecord(t, resp.Header.Get(RequestIDHeader))
	want := map[string]any{
		"server": "idp", "method": "GET", "route": "GET /x", "path": "/x",
		"status": float64(200), "bytes": float64(5), "remote_ip": "127.0.0.1", "level": "INFO",
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("access log %s = %v, want %v", k, rec[k], v)
		}
	}
	if _, ok := rec["duration"].(float64); !ok {
		t.Errorf("access log has no duration: %v", rec)
	}

	req, _ = http.NewRequest(http.MethodPost, base+"/login",
		strings.NewReader(url.Values{"login": {"user@example.org"}, "password": {"SECRET456"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body = do(t, c, req)
	if resp.StatusCode != http.StatusOK || body != "welcome" {
		t.Fatalf("POST /login: %d %q", resp.StatusCode, body)
	}
	rec = logs.accessRecord(t, resp.Header.Get(RequestIDHeader))
	if rec["route"] != "POST /login" || rec["status"] != float64(200) {
		t.Errorf("POST /login logged as %v", rec)
	}

	resp, _ = get(t, c, base+"/nope/42?code=SECRET789")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /nope: %d", resp.StatusCode)
	}
	rec = logs.accessRecord(t, resp.Header.Get(RequestIDHeader))
	if rec["route"] != "unmatched" || rec["status"] != float64(404) || rec["path"] != "/nope/42" {
		t.Errorf("unmatched request logged as %v", rec)
	}

	all := logs.String()
	for _, secret := range []string{"SECRET123", "SECRETSTATE", "SECRETBEARER", "SECRETCOOKIE", "SECRET456", "SECRET789", "user@example.org"} {
		if strings.Contains(all, secret) {
			t.Errorf("log contains %q:\n%s", secret, all)
		}
	}
}

func TestRouteSurvivesOnlyWhenMuxGetsTheSameRequest(t *testing.T) {
	// Documents the constraint in Wrap's comment: a layer that copies the
	// request between Wrap and the mux hides the pattern.
	logger, logs := newLogger()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {})
	copying := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(r.Context()))
	})
	direct, c := serve(t, Wrap("a", mux, Options{Logger: logger}))
	indirect, _ := serve(t, Wrap("b", copying, Options{Logger: logger}))

	resp, _ := get(t, c, direct+"/items/1")
	if got := logs.accessRecord(t, resp.Header.Get(RequestIDHeader))["route"]; got != "GET /items/{id}" {
		t.Errorf("direct: route %v", got)
	}
	resp, _ = get(t, c, indirect+"/items/1")
	if got := logs.accessRecord(t, resp.Header.Get(RequestIDHeader))["route"]; got != "unmatched" {
		t.Errorf("behind a copying layer: route %v", got)
	}
}

func TestRequestID(t *testing.T) {
	logger, logs := newLogger()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, RequestID(r.Context()))
	})
	base, c := serve(t, Wrap("idp", h, Options{Logger: logger}))
	generated := regexp.MustCompile(`^[0-9a-f]{32}$`)

	for _, tc := range []struct {
		name, in string
		keep     bool
	}{
		{"valid", "abc-DEF_1.2", true},
		{"64 chars", strings.Repeat("a", 64), true},
		{"missing", "", false},
		{"space", "bad id", false},
		{"65 chars", strings.Repeat("a", 65), false},
		{"markup", "<script>", false},
		{"newline-ish", "a%0d%0ab", false},
		{"non-ASCII", "идентификатор", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
			if tc.in != "" {
				req.Header.Set(RequestIDHeader, tc.in)
			}
			resp, body := do(t, c, req)
			got := resp.Header.Get(RequestIDHeader)
			if body != got {
				t.Errorf("RequestID(ctx) = %q, response header %q", body, got)
			}
			if tc.keep && got != tc.in {
				t.Errorf("valid ID %q replaced by %q", tc.in, got)
			}
			if !tc.keep && !generated.MatchString(got) {
				t.Errorf("invalid ID %q answered with %q, want a fresh 32-hex ID", tc.in, got)
			}
			if rec := logs.accessRecord(t, got); rec["request_id"] != got {
				t.Errorf("logged ID %v", rec["request_id"])
			}
		})
	}

	r1, _ := get(t, c, base+"/")
	r2, _ := get(t, c, base+"/")
	if r1.Header.Get(RequestIDHeader) == r2.Header.Get(RequestIDHeader) {
		t.Error("two generated request IDs are equal")
	}
}

var defaultHeaders = map[string]string{
	"X-Content-Type-Options":     "nosniff",
	"Referrer-Policy":            "no-referrer",
	"X-Frame-Options":            "DENY",
	"Content-Security-Policy":    DefaultCSP,
	"Cross-Origin-Opener-Policy": "same-origin",
	"Permissions-Policy":         "camera=(), microphone=(), geolocation=()",
	"Cache-Control":              "no-store",
}

func checkHeaders(t *testing.T, what string, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := h.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	logger, logs := newLogger()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /error", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "half", Value: "done"})
		w.Header().Set("Content-Type", "application/json")
		panic("boom: PANICDETAIL")
	})
	mux.HandleFunc("GET /own", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		w.Header().Add("Cache-Control", "public, max-age=60")
		w.Header()["X-Frame-Options"] = nil // suppress a default
		io.WriteString(w, "own")
	})
	base, c := serve(t, Wrap("idp", mux, Options{Logger: logger}))

	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/ok", 200},
		{"GET", "/empty", 200},
		{"GET", "/error", 400},
		{"GET", "/missing", 404},
		{"POST", "/ok", 405},
		{"GET", "/panic", 500},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		resp, body := do(t, c, req)
		what := tc.method + " " + tc.path
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", what, resp.StatusCode, tc.status)
		}
		checkHeaders(t, what, resp.Header, defaultHeaders)
		if h := resp.Header.Get("Strict-Transport-Security"); h != "" {
			t.Errorf("%s: HSTS %q without TLS", what, h)
		}
		if resp.Header.Get(RequestIDHeader) == "" {
			t.Errorf("%s: no request ID", what)
		}
		if tc.status == 500 {
			if body != "Internal Server Error\n" {
				t.Errorf("panic body %q", body)
			}
			if len(resp.Cookies()) != 0 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
				t.Errorf("panic response kept the handler's headers: %v", resp.Header)
			}
			rec := logs.accessRecord(t, resp.Header.Get(RequestIDHeader))
			if rec["status"] != float64(500) || rec["route"] != "GET /panic" {
				t.Errorf("panic access log %v", rec)
			}
		}
	}

	panics := logs.records(t, "panic serving request")
	if len(panics) != 1 {
		t.Fatalf("%d panic records, want 1", len(panics))
	}
	if p, _ := panics[0]["panic"].(string); !strings.Contains(p, "PANICDETAIL") {
		t.Errorf("panic value not logged: %v", panics[0])
	}
	if s, _ := panics[0]["stack"].(string); !strings.Contains(s, "middleware_test.go") {
		t.Errorf("stack does not reach the handler: %q", s)
	}

	resp, _ := get(t, c, base+"/own")
	if got := resp.Header.Get("Content-Security-Policy"); got != "default-src 'none'" {
		t.Errorf("handler CSP lost: %q", got)
	}
	if got := resp.Header.Values("Cache-Control"); len(got) != 1 || got[0] != "public, max-age=60" {
		t.Errorf("handler Cache-Control lost: %q", got)
	}
	if got := resp.Header.Values("X-Frame-Options"); len(got) != 0 {
		t.Errorf("suppressed X-Frame-Options sent: %q", got)
	}
	checkHeaders(t, "GET /own", resp.Header, map[string]string{"Referrer-Policy": "no-referrer"})
}

func TestSecurityHeadersOptions(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	base, c := serve(t, Wrap("idp", h, Options{
		TLS: true,
		Headers: map[string]string{
			"x-frame-options":    "SAMEORIGIN",
			"Permissions-Policy": "",
			"X-Extra":            "1",
		},
	}))
	resp, _ := get(t, c, base+"/")
	checkHeaders(t, "TLS", resp.Header, map[string]string{
		"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
		"X-Frame-Options":           "SAMEORIGIN",
		"X-Extra":                   "1",
		"Content-Security-Policy":   DefaultCSP,
	})
	if got := resp.Header.Values("Permissions-Policy"); len(got) != 0 {
		t.Errorf("removed default still sent: %q", got)
	}
}

func TestPanicAfterWriteAbortsConnection(t *testing.T) {
	logger, logs := newLogger()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		panic("late")
	})
	base, c := serve(t, Wrap("idp", h, Options{Logger: logger}))
	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading a response whose handler panicked: %v, want unexpected EOF", err)
	}
	rec := logs.accessRecord(t, resp.Header.Get(RequestIDHeader))
	if rec["status"] != float64(200) || rec["bytes"] != float64(7) {
		t.Errorf("access log %v", rec)
	}
}

func TestFlusherAndResponseController(t *testing.T) {
	proceed := make(chan struct{})
	handlerErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlerErr <- func() error {
			f, ok := w.(http.Flusher)
			if !ok {
				return errors.New("not a Flusher")
			}
			rc := http.NewResponseController(w)
			if err := rc.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
				return err
			}
			if err := rc.EnableFullDuplex(); err != nil {
				return err
			}
			io.WriteString(w, "first|")
			f.Flush()
			select {
			case <-proceed: // the client has read the first part
			case <-time.After(5 * time.Second):
				return errors.New("client never saw the flushed part")
			}
			io.WriteString(w, "second")
			return rc.Flush()
		}()
	})
	base, c := serve(t, Wrap("idp", h, Options{}))
	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	checkHeaders(t, "flushed response", resp.Header, defaultHeaders)
	first := make([]byte, len("first|"))
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	close(proceed)
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if string(first)+string(rest) != "first|second" {
		t.Errorf("body %q", string(first)+string(rest))
	}
	if err := <-handlerErr; err != nil {
		t.Error(err)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg)
	entered, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad", http.StatusBadRequest)
	})
	mux.HandleFunc("GET /block", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})
	mux.Handle("GET /metrics", MetricsHandler(reg))
	base, c := serve(t, Wrap("idp", mux, Options{Metrics: metrics}))

	// A second server sharing the registry; NewMetrics must not panic.
	portal, _ := serve(t, Wrap("portal", mux, Options{Metrics: NewMetrics(reg)}))

	for _, p := range []string{"/items/1", "/items/2", "/items/3?code=x", "/zzz"} {
		get(t, c, base+p)
	}
	get(t, c, portal+"/items/9")
	req, _ := http.NewRequest(http.MethodPost, base+"/items", nil)
	do(t, c, req)
	req, _ = http.NewRequest("FOO", base+"/items/1", nil)
	if resp, _ := do(t, c, req); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("FOO: %d", resp.StatusCode)
	}

	scrape := func() []sample {
		_, text := get(t, c, base+"/metrics")
		return parseMetrics(t, text)
	}
	s := scrape()
	const total = "gosid_http_requests_total"
	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"server": "idp", "route": "GET /items/{id}", "method": "GET", "code": "200"}, 3},
		{map[string]string{"server": "portal", "route": "GET /items/{id}", "method": "GET", "code": "200"}, 1},
		{map[string]string{"server": "idp", "route": "POST /items", "method": "POST", "code": "400"}, 1},
		{map[string]string{"server": "idp", "route": "unmatched", "method": "GET", "code": "404"}, 1},
		{map[string]string{"server": "idp", "route": "unmatched", "method": "OTHER", "code": "405"}, 1},
	} {
		if got := one(t, s, total, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", total, tc.labels, got, tc.want)
		}
	}
	for _, x := range find(s, total, nil) {
		if strings.Contains(x.labels["route"], "/items/1") || strings.Contains(x.labels["route"], "zzz") {
			t.Errorf("raw path in route label: %v", x.labels)
		}
	}
	const dur = "gosid_http_request_duration_seconds"
	itemLabels := map[string]string{"server": "idp", "route": "GET /items/{id}", "method": "GET"}
	if got := one(t, s, dur+"_count", itemLabels); got != 3 {
		t.Errorf("histogram count %v, want 3", got)
	}
	for _, le := range []string{"0.001", "10", "+Inf"} {
		if got := find(s, dur+"_bucket", map[string]string{"route": "GET /items/{id}", "server": "idp", "le": le}); len(got) != 1 {
			t.Errorf("no bucket le=%s", le)
		}
	}

	const inFlight = "gosid_http_requests_in_flight"
	if got := one(t, s, inFlight, map[string]string{"server": "idp"}); got != 1 { // the scrape itself
		t.Errorf("in flight at rest = %v, want 1", got)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if resp, err := c.Get(base + "/block"); err == nil {
			resp.Body.Close()
		}
	})
	<-entered
	if got := one(t, scrape(), inFlight, map[string]string{"server": "idp"}); got != 2 {
		t.Errorf("in flight with a blocked request = %v, want 2", got)
	}
	close(release)
	wg.Wait()
}

func TestValidRequestID(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	for _, id := range []string{"", "a", "A.b_c-9", strings.Repeat("z", 64), strings.Repeat("z", 65),
		"a b", "a/b", "a\nb", "a\x00", "ä", "a=b", "a+b"} {
		if got, want := validRequestID(id), re.MatchString(id); got != want {
			t.Errorf("validRequestID(%q) = %v, want %v", id, got, want)
		}
	}
}

func FuzzValidRequestID(f *testing.F) {
	re := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	f.Add("abc-1.2_3")
	f.Add("a\nb")
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := validRequestID(id), re.MatchString(id); got != want {
			t.Errorf("validRequestID(%q) = %v, want %v", id, got, want)
		}
	})
}
