package httpx

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/overload"
)

func TestTrustedProxies(t *testing.T) {
	resolve := TrustedProxies([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")})
	for _, tc := range []struct {
		peer, xff, want string
	}{
		{"203.0.113.7:5555", "", "203.0.113.7"},
		{"203.0.113.7:5555", "198.51.100.1", "203.0.113.7"}, // an untrusted peer's header is ignored
		{"10.1.2.3:80", "198.51.100.1", "198.51.100.1"},
		{"10.1.2.3:80", "198.51.100.1, 10.9.9.9", "198.51.100.1"},          // the last untrusted hop
		{"10.1.2.3:80", "1.1.1.1, 198.51.100.1, 10.9.9.9", "198.51.100.1"}, // a client cannot prepend its own
		{"10.1.2.3:80", "garbage", "10.1.2.3"},
		{"10.1.2.3:80", "", "10.1.2.3"},
		{"[::1]:80", "::ffff:198.51.100.2", "198.51.100.2"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := resolve(r); got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
}

// TestRequestContext: what Wrap resolves reaches the handler, and a line
// the handler logs with the request's context carries the request ID.
func TestRequestContext(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil)))
	var gotIP string
	var gotSecure bool
	var arrival time.Time
	h := Wrap("test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotIP, gotSecure = ClientIP(r), Secure(r)
		arrival = overload.Arrival(r.Context())
		log.InfoContext(r.Context(), "inside the handler")
	}), Options{Logger: log, TLS: true, ClientIP: func(*http.Request) string { return "198.51.100.9" }})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set(RequestIDHeader, "req-123")
	before := time.Now()
	h.ServeHTTP(httptest.NewRecorder(), r)
	if arrival.Before(before) || time.Since(arrival) > time.Minute {
		t.Errorf("the handler saw the request's arrival as %v (sent at %v)", arrival, before)
	}
	if gotIP != "198.51.100.9" || !gotSecure {
		t.Errorf("handler saw ClientIP %q, Secure %v", gotIP, gotSecure)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want the handler's and the access log's:\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		if strings.Count(l, `"request_id":"req-123"`) != 1 {
			t.Errorf("want the request id once in: %s", l)
		}
	}
	// Outside Wrap: the peer, not secure, no id.
	bare := httptest.NewRequest("GET", "/", nil)
	bare.RemoteAddr = "192.0.2.5:1234"
	if ClientIP(bare) != "192.0.2.5" || Secure(bare) || RequestID(context.Background()) != "" {
		t.Errorf("outside Wrap: %q %v", ClientIP(bare), Secure(bare))
	}
}
