package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/verification/registry/registrytest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeGateway is a registry gateway with scripted behaviour: an HTTPS
// server on 127.0.0.1 that requires and verifies client certificates
// issued by its CA, and records every call that got past the handshake.
type fakeGateway struct {
	srv  *registrytest.Server
	ca   *registrytest.CA
	stop chan struct{}

	mu     sync.Mutex
	script func(n int, w http.ResponseWriter, r *http.Request) // n counts from 1
	calls  []fakeCall
}

type fakeCall struct {
	path, key string
	body      map[string]any
}

func newFakeGateway(t *testing.T) *fakeGateway {
	t.Helper()
	f := &fakeGateway{ca: registrytest.NewCA(t, "registry clients"), stop: make(chan struct{})}
	f.srv = registrytest.NewServer(t, f.ca, http.HandlerFunc(f.serve))
	t.Cleanup(func() { close(f.stop) }) // runs first: ends hanging handlers
	f.always(answer(http.StatusOK, `{"status":"confirmed","record_id":"r-1","checked_at":"2026-03-12T10:00:00+03:00"}`))
	return f
}

func (f *fakeGateway) serve(w http.ResponseWriter, r *http.Request) {
	body := map[string]any{}
	_ = json.NewDecoder(r.Body).Decode(&body)
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{path: r.URL.Path, key: r.Header.Get("Idempotency-Key"), body: body})
	n, script := len(f.calls), f.script
	f.mu.Unlock()
	script(n, w, r)
}

func (f *fakeGateway) always(h http.HandlerFunc) {
	f.setScript(func(_ int, w http.ResponseWriter, r *http.Request) { h(w, r) })
}

func (f *fakeGateway) setScript(s func(n int, w http.ResponseWriter, r *http.Request)) {
	f.mu.Lock()
	f.script = s
	f.mu.Unlock()
}

func (f *fakeGateway) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeGateway) call(i int) fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[i]
}

func answer(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// hang answers nothing until the client goes away.
func (f *fakeGateway) hang(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-f.stop:
	}
}

// config is a gateway configuration for f with a client certificate its
// CA issued, short timings, and a breaker that stays closed unless a test
// says otherwise.
func (f *fakeGateway) config(t *testing.T) GatewayConfig {
	cert, key := f.ca.IssueClient(t, "gosid")
	return GatewayConfig{
		URL: f.srv.URL + "/gw/", ClientCertFile: cert, ClientKeyFile: key, CAFile: f.srv.CAFile,
		Timeout: 300 * time.Millisecond, Attempts: 3, BackoffBase: 5 * time.Millisecond,
		BreakerFailures: 1000, BreakerOpen: time.Minute,
	}
}

// testGateway is a gateway under test with its own metrics and a log
// captured for inspection.
type testGateway struct {
	*Gateway
	reg *prometheus.Registry
	log *bytes.Buffer
}

func newTestGateway(t *testing.T, cfg GatewayConfig) *testGateway {
	t.Helper()
	// Checks log synchronously, from the test's goroutine: no lock needed.
	var buf bytes.Buffer
	reg := prometheus.NewRegistry()
	g, err := NewGateway(cfg, reg, slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	return &testGateway{Gateway: g, reg: reg, log: &buf}
}

func (g *testGateway) outcomes(t *testing.T, source Source, outcome string) float64 {
	t.Helper()
	return testutil.ToFloat64(g.calls.WithLabelValues(string(source), outcome))
}

// noDocumentsLogged: the log never carries the citizen's documents or
// names.
func (g *testGateway) noDocumentsLogged(t *testing.T, id Identity) {
	t.Helper()
	logged := g.log.String()
	for _, v := range []string{id.SNILS, id.Passport.Number, id.Person.FamilyName, id.Person.GivenName, id.INN} {
		if v != "" && strings.Contains(logged, v) {
			t.Errorf("the log carries %q", v)
		}
	}
}

// TestGatewayVerdicts: each verdict makes the round trip, and the gateway
// gets the protocol's request with only what each registry needs.
func TestGatewayVerdicts(t *testing.T) {
	f := newFakeGateway(t)
	g := newTestGateway(t, f.config(t))
	id := identity(t, "passes")
	id.INN = "770412345664"
	at := "2026-03-12T10:00:00+03:00"
	cases := []struct {
		source Source
		body   string
		want   Result
		sent   map[string]any
	}{{
		source: SFR,
		body:   `{"status":"confirmed","record_id":"sfr-1","checked_at":"` + at + `","extension":{"ignored":true}}`,
		want:   Result{Status: Confirmed, RecordID: "sfr-1"},
		sent: map[string]any{"request_id": "q-ru_sfr", "snils": "112-233-445 95",
			"person": map[string]any{"family_name": "Иванов", "given_name": "Иван", "middle_name": "Иванович", "birthdate": "1985-03-15"}},
	}, {
		source: MVD,
		body:   `{"status":"mismatch","fields":["passport_issue_date","family_name"],"record_id":"mvd-1","checked_at":"` + at + `"}`,
		want:   Result{Status: Mismatch, Fields: []string{"passport_issue_date", "family_name"}, RecordID: "mvd-1"},
		sent: map[string]any{"request_id": "q-ru_mvd",
			"person":   map[string]any{"family_name": "Иванов", "given_name": "Иван", "middle_name": "Иванович", "birthdate": "1985-03-15"},
			"passport": map[string]any{"series": "4505", "number": "123456", "issue_date": "2005-04-02", "issuer": "ОВД района Хамовники г. Москвы", "division_code": "772-093"}},
	}, {
		source: FNS,
		body:   `{"status":"confirmed","inn":"770412345664","record_id":"fns-1","checked_at":"` + at + `"}`,
		want:   Result{Status: Confirmed, INN: "770412345664", RecordID: "fns-1"},
		sent: map[string]any{"request_id": "q-ru_fns", "inn": "770412345664",
			"person":   map[string]any{"family_name": "Иванов", "given_name": "Иван", "middle_name": "Иванович", "birthdate": "1985-03-15"},
			"passport": map[string]any{"series": "4505", "number": "123456", "issue_date": "2005-04-02", "issuer": "ОВД района Хамовники г. Москвы", "division_code": "772-093"}},
	}, {
		source: SFR,
		body:   `{"status":"not_found","record_id":"sfr-2","checked_at":"` + at + `"}`,
		want:   Result{Status: NotFound, RecordID: "sfr-2"},
	}, {
		source: MVD,
		body:   `{"status":"invalid","record_id":"mvd-2","checked_at":"` + at + `"}`,
		want:   Result{Status: Invalid, RecordID: "mvd-2"},
	}}
	wantAt, _ := time.Parse(time.RFC3339, at)
	for i, c := range cases {
		f.always(answer(http.StatusOK, c.body))
		res, err := g.Check(t.Context(), request(id, c.source, "q-"+string(c.source)))
		c.want.CheckedAt = wantAt
		if err != nil || !reflect.DeepEqual(res, c.want) || !res.CheckedAt.Equal(wantAt) {
			t.Errorf("%d %s: %+v %v, want %+v", i, c.source, res, err, c.want)
		}
		call := f.call(f.count() - 1)
		if call.path != "/gw/v1/checks/"+string(c.source) || call.key != "q-"+string(c.source) {
			t.Errorf("%d: path %q, Idempotency-Key %q", i, call.path, call.key)
		}
		if c.sent != nil && !reflect.DeepEqual(call.body, c.sent) {
			t.Errorf("%d %s: sent %v\nwant %v", i, c.source, call.body, c.sent)
		}
	}
	if f.count() != len(cases) {
		t.Errorf("%d calls for %d checks", f.count(), len(cases))
	}
	for _, m := range []struct {
		source  Source
		outcome string
		want    float64
	}{{SFR, "confirmed", 1}, {SFR, "not_found", 1}, {MVD, "mismatch", 1}, {MVD, "invalid", 1}, {FNS, "confirmed", 1}, {MVD, "unavailable", 0}} {
		if got := g.outcomes(t, m.source, m.outcome); got != m.want {
			t.Errorf("calls_total{%s,%s} = %v, want %v", m.source, m.outcome, got, m.want)
		}
	}
	if n := testutil.CollectAndCount(g.reg, "gosid_registry_call_seconds"); n != 3 {
		t.Errorf("%d duration series, want one per registry", n)
	}
	g.noDocumentsLogged(t, id)
}

// TestGatewayRetries: 5xx, 408 and 429 are retried within one Check with
// the same Idempotency-Key, and the Check ends in the verdict.
func TestGatewayRetries(t *testing.T) {
	f := newFakeGateway(t)
	g := newTestGateway(t, f.config(t))
	ok := answer(http.StatusOK, `{"status":"confirmed","record_id":"r","checked_at":"2026-03-12T10:00:00Z"}`)
	f.setScript(func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			answer(http.StatusServiceUnavailable, `{"error":"busy"}`)(w, r)
		case 2:
			answer(http.StatusBadGateway, "<html>")(w, r)
		default:
			ok(w, r)
		}
	})
	id := identity(t, "passes")
	res, err := g.Check(t.Context(), request(id, SFR, "retry-1"))
	if err != nil || res.Status != Confirmed {
		t.Fatalf("%+v %v", res, err)
	}
	if f.count() != 3 {
		t.Errorf("%d calls, want 3", f.count())
	}
	for i := range f.count() {
		if c := f.call(i); c.key != "retry-1" || c.body["request_id"] != "retry-1" {
			t.Errorf("call %d: key %q, request_id %v", i, c.key, c.body["request_id"])
		}
	}
	if got := testutil.ToFloat64(g.retries.WithLabelValues("ru_sfr")); got != 2 {
		t.Errorf("retries %v, want 2", got)
	}
	for _, code := range []int{http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError} {
		before := f.count()
		f.setScript(func(n int, w http.ResponseWriter, r *http.Request) {
			if n == before+1 {
				answer(code, "")(w, r)
				return
			}
			ok(w, r)
		})
		if res, err := g.Check(t.Context(), request(id, SFR, "retry-2")); err != nil || res.Status != Confirmed || f.count() != before+2 {
			t.Errorf("HTTP %d: %+v %v after %d calls", code, res, err, f.count()-before)
		}
	}
	g.noDocumentsLogged(t, id)
}

// TestGatewayHang: a gateway that never answers costs at most Timeout per
// attempt; the Check ends in ErrUnavailable.
func TestGatewayHang(t *testing.T) {
	f := newFakeGateway(t)
	f.always(f.hang)
	cfg := f.config(t)
	cfg.Timeout = 200 * time.Millisecond
	g := newTestGateway(t, cfg)
	start := time.Now()
	_, err := g.Check(t.Context(), request(identity(t, "passes"), MVD, "hang-1"))
	el := time.Since(start)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err %v", err)
	}
	if limit := 3*cfg.Timeout + 500*time.Millisecond; el < 3*cfg.Timeout || el > limit {
		t.Errorf("took %v, want between %v and %v", el, 3*cfg.Timeout, limit)
	}
	if f.count() != 3 || g.outcomes(t, MVD, "unavailable") != 1 {
		t.Errorf("%d calls, unavailable %v", f.count(), g.outcomes(t, MVD, "unavailable"))
	}
	// A slow answer within the timeout is an answer.
	f.always(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		answer(http.StatusOK, `{"status":"not_found","record_id":"r","checked_at":"2026-03-12T10:00:00Z"}`)(w, r)
	})
	if res, err := g.Check(t.Context(), request(identity(t, "passes"), MVD, "slow")); err != nil || res.Status != NotFound {
		t.Errorf("slow: %+v %v", res, err)
	}
}

// TestGatewayCallerGivesUp: a Check whose caller cancels ends at once
// with ErrUnavailable, and does not count against the gateway's circuit.
func TestGatewayCallerGivesUp(t *testing.T) {
	f := newFakeGateway(t)
	f.always(f.hang)
	cfg := f.config(t)
	cfg.Timeout = 5 * time.Second
	cfg.BreakerFailures = 1
	g := newTestGateway(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := g.Check(ctx, request(identity(t, "passes"), SFR, "gone"))
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("after %v: %v", time.Since(start), err)
	}
	if f.count() != 1 {
		t.Errorf("%d calls, want 1", f.count())
	}
	f.always(answer(http.StatusOK, `{"status":"confirmed","record_id":"r","checked_at":"2026-03-12T10:00:00Z"}`))
	if res, err := g.Check(t.Context(), request(identity(t, "passes"), SFR, "next")); err != nil || res.Status != Confirmed {
		t.Errorf("the circuit opened on an abandoned call: %+v %v", res, err)
	}
}

// TestGatewayMalformed: answers that are not the protocol's are retried
// and end in ErrUnavailable, never in a verdict.
func TestGatewayMalformed(t *testing.T) {
	f := newFakeGateway(t)
	g := newTestGateway(t, f.config(t))
	at := `"checked_at":"2026-03-12T10:00:00Z"`
	for name, c := range map[string]struct {
		source Source
		body   string
	}{
		"not JSON":          {SFR, `<html>Service Unavailable</html>`},
		"truncated":         {SFR, `{"status":"confirmed","record_id":"r",` + at},
		"unknown status":    {SFR, `{"status":"probably","record_id":"r",` + at + `}`},
		"no record id":      {SFR, `{"status":"confirmed",` + at + `}`},
		"no checked_at":     {SFR, `{"status":"confirmed","record_id":"r"}`},
		"mismatch, no list": {MVD, `{"status":"mismatch","record_id":"r",` + at + `}`},
		"fields, confirmed": {MVD, `{"status":"confirmed","fields":["birthdate"],"record_id":"r",` + at + `}`},
		"fns, no inn":       {FNS, `{"status":"confirmed","record_id":"r",` + at + `}`},
		"fns, bad inn":      {FNS, `{"status":"confirmed","inn":"770412345665","record_id":"r",` + at + `}`},
		"fns, other inn":    {FNS, `{"status":"confirmed","inn":"780634567801","record_id":"r",` + at + `}`},
		"sfr with inn":      {SFR, `{"status":"confirmed","inn":"770412345664","record_id":"r",` + at + `}`},
		"over 64 KiB":       {SFR, `{"status":"confirmed","record_id":"r",` + at + `,"pad":"` + strings.Repeat("x", 64<<10) + `"}`},
		"64 KiB of spaces":  {SFR, `{"status":"confirmed","record_id":"r",` + at + `}` + strings.Repeat(" ", 64<<10)},
	} {
		f.always(answer(http.StatusOK, c.body))
		id := identity(t, "passes")
		id.INN = "770412345664"
		before := f.count()
		res, err := g.Check(t.Context(), request(id, c.source, "m"))
		if !errors.Is(err, ErrUnavailable) || res.Status != "" {
			t.Errorf("%s: %+v %v", name, res, err)
		}
		if n := f.count() - before; n != 3 {
			t.Errorf("%s: %d calls, want 3", name, n)
		}
	}
	if !strings.Contains(g.log.String(), "malformed answer") {
		t.Error("the log does not say why the calls failed")
	}
}

// TestGatewayBadRequest: 400 and 422 are the request's fault: no retry,
// ErrBadRequest, and no count against the circuit. Other 4xx are the
// configuration's: ErrUnavailable without a retry.
func TestGatewayBadRequest(t *testing.T) {
	f := newFakeGateway(t)
	cfg := f.config(t)
	cfg.BreakerFailures = 2
	g := newTestGateway(t, cfg)
	id := identity(t, "passes")
	for _, code := range []int{http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusBadRequest} {
		f.always(answer(code, `{"error":"bad"}`))
		before := f.count()
		if _, err := g.Check(t.Context(), request(id, MVD, "bad")); !errors.Is(err, ErrBadRequest) || f.count() != before+1 {
			t.Errorf("HTTP %d: %v after %d calls", code, err, f.count()-before)
		}
	}
	if got := g.outcomes(t, MVD, "bad_request"); got != 3 {
		t.Errorf("bad_request %v", got)
	}
	// An incomplete request never reaches the gateway.
	before := f.count()
	if _, err := g.Check(t.Context(), Request{ID: "x", Source: MVD, Person: id.Person}); !errors.Is(err, ErrBadRequest) || f.count() != before {
		t.Errorf("incomplete: %v, %d calls", err, f.count()-before)
	}
	f.always(answer(http.StatusNotFound, "no such path"))
	before = f.count()
	if _, err := g.Check(t.Context(), request(id, MVD, "404")); !errors.Is(err, ErrUnavailable) || f.count() != before+1 {
		t.Errorf("HTTP 404: %v after %d calls", err, f.count()-before)
	}
}

// TestGatewayClientCertificate: the gateway refuses a client certificate
// from another CA and a client without one; Check ends in ErrUnavailable
// and no call reaches the handler.
func TestGatewayClientCertificate(t *testing.T) {
	f := newFakeGateway(t)
	cfg := f.config(t)
	cfg.ClientCertFile, cfg.ClientKeyFile = registrytest.NewCA(t, "someone else").IssueClient(t, "gosid")
	other := newTestGateway(t, cfg)
	if _, err := other.Check(t.Context(), request(identity(t, "passes"), SFR, "tls-1")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("another CA's certificate: %v", err)
	}
	none := newTestGateway(t, f.config(t))
	none.client.Transport.(*http.Transport).TLSClientConfig.Certificates = nil
	if _, err := none.Check(t.Context(), request(identity(t, "passes"), SFR, "tls-2")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("no certificate: %v", err)
	}
	if f.count() != 0 {
		t.Errorf("%d calls reached the handler", f.count())
	}
	// The right certificate gets through, and a server certificate the CA
	// file does not hold is refused.
	good := newTestGateway(t, f.config(t))
	if res, err := good.Check(t.Context(), request(identity(t, "passes"), SFR, "tls-3")); err != nil || res.Status != Confirmed {
		t.Errorf("own certificate: %+v %v", res, err)
	}
	cfg = f.config(t)
	cfg.CAFile = ""
	system := newTestGateway(t, cfg)
	if _, err := system.Check(t.Context(), request(identity(t, "passes"), SFR, "tls-4")); !errors.Is(err, ErrUnavailable) || f.count() != 1 {
		t.Errorf("untrusted server: %v, %d calls", err, f.count())
	}
}

// TestGatewayBreaker: consecutive failures open a registry's circuit;
// while open, Checks fail at once with no call; after the open interval a
// success closes it. Other registries are not affected.
func TestGatewayBreaker(t *testing.T) {
	f := newFakeGateway(t)
	cfg := f.config(t)
	cfg.Attempts = 1
	cfg.BreakerFailures = 5
	cfg.BreakerOpen = 300 * time.Millisecond
	g := newTestGateway(t, cfg)
	id := identity(t, "passes")
	ok := answer(http.StatusOK, `{"status":"confirmed","record_id":"r","checked_at":"2026-03-12T10:00:00Z"}`)
	f.setScript(func(_ int, w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/ru_sfr") {
			answer(http.StatusInternalServerError, "")(w, r)
			return
		}
		ok(w, r)
	})
	for i := range 5 {
		if _, err := g.Check(t.Context(), request(id, SFR, "b")); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("check %d: %v", i, err)
		}
	}
	if f.count() != 5 {
		t.Fatalf("%d calls before the circuit opened, want 5", f.count())
	}
	if got := testutil.ToFloat64(g.open.WithLabelValues("ru_sfr")); got != 1 {
		t.Errorf("circuit_open gauge %v", got)
	}
	opened := time.Now()
	for i := range 3 {
		start := time.Now()
		_, err := g.Check(t.Context(), request(id, SFR, "b"))
		if !errors.Is(err, ErrUnavailable) || time.Since(start) > 50*time.Millisecond {
			t.Errorf("open check %d: %v after %v", i, err, time.Since(start))
		}
	}
	if f.count() != 5 || g.outcomes(t, SFR, "circuit_open") != 3 {
		t.Errorf("while open: %d calls (want 5), circuit_open %v (want 3)", f.count(), g.outcomes(t, SFR, "circuit_open"))
	}
	// МВД has its own circuit.
	if res, err := g.Check(t.Context(), request(id, MVD, "m")); err != nil || res.Status != Confirmed || f.count() != 6 {
		t.Errorf("МВД while СФР is open: %+v %v", res, err)
	}
	// The gateway recovers; after the open interval one trial call
	// closes the circuit.
	f.always(ok)
	time.Sleep(cfg.BreakerOpen - time.Since(opened) + 50*time.Millisecond)
	for i := range 3 {
		if res, err := g.Check(t.Context(), request(id, SFR, "b")); err != nil || res.Status != Confirmed {
			t.Errorf("after recovery, check %d: %+v %v", i, res, err)
		}
	}
	if f.count() != 9 {
		t.Errorf("%d calls, want 9", f.count())
	}
	if got := testutil.ToFloat64(g.open.WithLabelValues("ru_sfr")); got != 0 {
		t.Errorf("circuit_open gauge %v after recovery", got)
	}
	if g.outcomes(t, SFR, "unavailable") != 5 || g.outcomes(t, SFR, "confirmed") != 3 {
		t.Errorf("outcomes: unavailable %v, confirmed %v", g.outcomes(t, SFR, "unavailable"), g.outcomes(t, SFR, "confirmed"))
	}
}

// TestGatewayBreakerWithinCheck: with retries, the circuit opening in the
// middle of a Check ends it without the remaining calls.
func TestGatewayBreakerWithinCheck(t *testing.T) {
	f := newFakeGateway(t)
	f.always(answer(http.StatusServiceUnavailable, ""))
	cfg := f.config(t)
	cfg.BreakerFailures = 5
	g := newTestGateway(t, cfg)
	for range 3 {
		if _, err := g.Check(t.Context(), request(identity(t, "passes"), FNS, "w")); !errors.Is(err, ErrUnavailable) {
			t.Fatal(err)
		}
	}
	// 3 calls, then 2 and the circuit opens, then none.
	if f.count() != 5 || g.outcomes(t, FNS, "unavailable") != 2 || g.outcomes(t, FNS, "circuit_open") != 1 {
		t.Errorf("%d calls; unavailable %v, circuit_open %v", f.count(), g.outcomes(t, FNS, "unavailable"), g.outcomes(t, FNS, "circuit_open"))
	}
}

func TestNewGatewayConfig(t *testing.T) {
	f := newFakeGateway(t)
	good := f.config(t)
	broken := filepath.Join(t.TempDir(), "broken.pem")
	if err := os.WriteFile(broken, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*GatewayConfig){
		"http":          func(c *GatewayConfig) { c.URL = strings.Replace(c.URL, "https", "http", 1) },
		"no URL":        func(c *GatewayConfig) { c.URL = "" },
		"user in URL":   func(c *GatewayConfig) { c.URL = "https://u:p@" + strings.TrimPrefix(c.URL, "https://") },
		"no cert":       func(c *GatewayConfig) { c.ClientCertFile = "" },
		"no key":        func(c *GatewayConfig) { c.ClientKeyFile = "" },
		"key mismatch":  func(c *GatewayConfig) { _, c.ClientKeyFile = f.ca.IssueClient(t, "other") },
		"missing CA":    func(c *GatewayConfig) { c.CAFile = filepath.Join(t.TempDir(), "none.pem") },
		"CA not PEM":    func(c *GatewayConfig) { c.CAFile = broken },
		"negative time": func(c *GatewayConfig) { c.Timeout = -time.Second },
	} {
		cfg := good
		edit(&cfg)
		if _, err := NewGateway(cfg, nil, slog.New(slog.DiscardHandler)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	g, err := NewGateway(GatewayConfig{URL: good.URL, ClientCertFile: good.ClientCertFile, ClientKeyFile: good.ClientKeyFile}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if g.timeout != DefaultGatewayTimeout || g.attempts != DefaultGatewayAttempts || g.base != f.srv.URL+"/gw" {
		t.Errorf("defaults: timeout %v, attempts %d, base %q", g.timeout, g.attempts, g.base)
	}
	// One registry of metrics takes one gateway.
	reg := prometheus.NewRegistry()
	if _, err := NewGateway(good, reg, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if _, err := NewGateway(good, reg, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a second gateway registered the same metrics")
	}
}

func TestFullJitter(t *testing.T) {
	if d := fullJitter(10*time.Second, time.Minute)(1000); d < 0 || d >= time.Minute {
		t.Errorf("a long base overflowed: %v", d)
	}
	b := fullJitter(200*time.Millisecond, time.Second)
	for n, limit := range map[int]time.Duration{1: 200 * time.Millisecond, 2: 400 * time.Millisecond, 3: 800 * time.Millisecond, 4: time.Second, 80: time.Second} {
		var top time.Duration
		for range 2000 {
			d := b(n)
			if d < 0 || d >= limit {
				t.Fatalf("retry %d: %v outside [0, %v)", n, d, limit)
			}
			top = max(top, d)
		}
		if top < limit*8/10 {
			t.Errorf("retry %d: never above %v of [0, %v): not full jitter", n, top, limit)
		}
	}
}

// TestGatewayConcurrent: one gateway serves many checks at once (run
// with -race).
func TestGatewayConcurrent(t *testing.T) {
	f := newFakeGateway(t)
	g := newTestGateway(t, f.config(t))
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Go(func() {
			source := Sources()[i%3]
			res, err := g.Check(t.Context(), request(GeneratedIdentity(i), source, fmt.Sprint("c", i)))
			if err == nil && source == FNS {
				err = errors.New("a confirmed ru_fns answer without inn was accepted")
			}
			if err == nil && res.Status != Confirmed {
				err = fmt.Errorf("%s", res.Status)
			}
			if err != nil && !(source == FNS && errors.Is(err, ErrUnavailable)) {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := g.outcomes(t, SFR, "confirmed") + g.outcomes(t, MVD, "confirmed"); got != 20 {
		t.Errorf("%v confirmed, want 20", got)
	}
}
