package httpx

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestGracefulShutdown(t *testing.T) {
	started := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "done")
	})
	logger, _ := newLogger()
	srv, err := New(Config{Name: "idp", Addr: "127.0.0.1:0", Handler: Wrap("idp", mux, Options{}), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr().String()
	if strings.HasSuffix(addr, ":0") {
		t.Fatalf("Addr %s has no real port", addr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()

	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(srv.URL() + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{resp.StatusCode, string(b), err}
	}()

	<-started
	cancel()

	// While the slow request drains, new connections are refused.
	deadline := time.Now().Add(time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections a second after shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case r := <-got:
		if r.err != nil || r.status != http.StatusOK || r.body != "done" {
			t.Fatalf("in-flight request: %d %q %v", r.status, r.body, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("in-flight request never finished")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve after graceful shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("connection accepted after Serve returned")
	}
	if err := srv.Serve(context.Background()); err == nil {
		t.Error("second Serve succeeded")
	}
}

func TestShutdownTimeoutForcesClose(t *testing.T) {
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- Run(ctx, Config{Name: "idp", Listener: ln, Handler: h, ShutdownTimeout: 100 * time.Millisecond})
	}()
	clientErr := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
		clientErr <- err
	}()
	<-started
	begin := time.Now()
	cancel()
	select {
	case err := <-served:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Serve = %v, want a deadline error", err)
		}
		if d := time.Since(begin); d > 2*time.Second {
			t.Errorf("shutdown took %v with a 100ms limit", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its shutdown timeout")
	}
	if err := <-clientErr; err == nil {
		t.Error("cut-off request succeeded")
	}
}

func TestNewFailsFast(t *testing.T) {
	h := Healthz()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := New(Config{Name: "idp", Addr: ln.Addr().String(), Handler: h}); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("New on a busy address: %v, want EADDRINUSE", err)
	}
	if _, err := Listen(ln.Addr().String()); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("Listen on a busy address: %v, want EADDRINUSE", err)
	}
	if _, err := New(Config{Name: "idp", Addr: "127.0.0.1:0"}); err == nil {
		t.Error("New without a handler succeeded")
	}
	if _, err := New(Config{Name: "idp", Addr: "127.0.0.1:0", Handler: h, TLSCertFile: "cert.pem"}); err == nil {
		t.Error("New with a certificate but no key succeeded")
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	if _, err := New(Config{Name: "idp", Addr: "127.0.0.1:0", Handler: h, TLSCertFile: bad, TLSKeyFile: bad}); err == nil {
		t.Error("New with a bad certificate succeeded")
	}

	// Close frees a server that is never served.
	s, err := New(Config{Name: "idp", Addr: "127.0.0.1:0", Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr().String()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Listen(addr)
	if err != nil {
		t.Fatalf("address not freed by Close: %v", err)
	}
	again.Close()
}

func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	srv, err := New(Config{Name: "idp", Addr: "127.0.0.1:0", Handler: Healthz(), TLSCertFile: certFile, TLSKeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL(), "https://") {
		t.Errorf("URL %s", srv.URL())
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()

	good := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer good.CloseIdleConnections()
	resp, err := good.Get(srv.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("TLS response: %d %+v", resp.StatusCode, resp.TLS)
	}

	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11,
	}}}
	if resp, err := old.Get(srv.URL() + "/"); err == nil {
		resp.Body.Close()
		t.Error("TLS 1.1 client was served")
	}
}

func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestHealthzReadyz(t *testing.T) {
	logger, logs := newLogger()
	dbErr := errors.New("dial tcp 10.0.0.5:5432: password authentication failed for user gosid")
	var deadlineLeft atomic.Int64
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", Healthz())
	mux.Handle("GET /readyz", Readyz(logger, Check{Name: "database", Func: func(ctx context.Context) error {
		d, ok := ctx.Deadline()
		if ok {
			deadlineLeft.Store(int64(time.Until(d)))
		}
		return nil
	}}))
	mux.Handle("GET /readyz-fail", Readyz(logger,
		Check{Name: "keys", Func: func(context.Context) error { return nil }},
		Check{Name: "database", Func: func(context.Context) error { return dbErr }},
		Check{Name: "queue", Func: func(context.Context) error { return errors.New("queue down") }},
	))
	mux.Handle("GET /readyz-slow", readyz(logger, 100*time.Millisecond, []Check{
		{Name: "cache", Func: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
	}))
	mux.Handle("GET /readyz-stuck", readyz(logger, 100*time.Millisecond, []Check{
		{Name: "directory", Func: func(ctx context.Context) error { time.Sleep(time.Second); return nil }},
	}))
	base, c := serve(t, mux)

	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/healthz", 200, "ok\n"},
		{"/readyz", 200, "ready\n"},
		{"/readyz-fail", 503, "database not ready\n"},
		{"/readyz-slow", 503, "cache not ready\n"},
		{"/readyz-stuck", 503, "directory not ready\n"},
	} {
		begin := time.Now()
		resp, body := get(t, c, base+tc.path)
		if resp.StatusCode != tc.status || body != tc.body {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, resp.StatusCode, body, tc.status, tc.body)
		}
		if d := time.Since(begin); d > 900*time.Millisecond {
			t.Errorf("GET %s took %v", tc.path, d)
		}
	}
	if left := time.Duration(deadlineLeft.Load()); left <= 1500*time.Millisecond || left > 2*time.Second {
		t.Errorf("check ran with %v left, want just under 2s", left)
	}
	if !strings.Contains(logs.String(), "password authentication failed") {
		t.Errorf("check error not logged:\n%s", logs.String())
	}
}

func TestMetricsHandlerAndCollectors(t *testing.T) {
	reg := NewRegistry()
	reg.MustRegister(NewDBStatsCollector("main", func() sql.DBStats {
		return sql.DBStats{
			MaxOpenConnections: 10, OpenConnections: 5, InUse: 3, Idle: 2,
			WaitCount: 7, WaitDuration: 1500 * time.Millisecond, MaxIdleClosed: 4,
		}
	}))
	if err := reg.Register(NewDBStatsCollector("main", func() sql.DBStats { return sql.DBStats{} })); err == nil {
		t.Error("a second collector with the same db_name registered")
	}
	reg.MustRegister(NewDBStatsCollector("portal", func() sql.DBStats { return sql.DBStats{OpenConnections: 1} }))

	base, c := serve(t, MetricsHandler(reg))
	resp, text := get(t, c, base+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	s := parseMetrics(t, text)
	main := map[string]string{"db_name": "main"}
	for name, want := range map[string]float64{
		"go_sql_max_open_connections":        10,
		"go_sql_open_connections":            5,
		"go_sql_in_use_connections":          3,
		"go_sql_idle_connections":            2,
		"go_sql_wait_count_total":            7,
		"go_sql_wait_duration_seconds_total": 1.5,
		"go_sql_max_idle_closed_total":       4,
	} {
		if got := one(t, s, name, main); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := one(t, s, "go_sql_open_connections", map[string]string{"db_name": "portal"}); got != 1 {
		t.Errorf("portal open connections = %v", got)
	}
	if len(find(s, "go_goroutines", nil)) != 1 {
		t.Error("no Go collector")
	}
	if len(find(s, "process_start_time_seconds", nil)) != 1 {
		t.Error("no process collector")
	}
}

func TestNewMetricsPanicsOnConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gosid_http_requests_total", Help: "other",
	}, []string{"x"}))
	defer func() {
		if recover() == nil {
			t.Error("NewMetrics accepted a conflicting metric")
		}
	}()
	NewMetrics(reg)
}

// TestRunAll: a failing task stops the servers and is the answer; a
// cancelled context stops everything with no error, tasks that end with
// context.Canceled included.
func TestRunAll(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	newServer := func() *Server {
		s, err := New(Config{Name: "t", Addr: "127.0.0.1:0", Handler: http.NotFoundHandler(), Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	boom := errors.New("boom")
	srv := newServer()
	err := RunAll(context.Background(), log, []*Server{srv}, func(context.Context) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("RunAll after a failing task = %v, want boom", err)
	}
	if _, err := http.Get("http://" + srv.Addr().String()); err == nil {
		t.Fatal("the server still answers after RunAll returned")
	}

	ctx, cancel := context.WithCancel(context.Background())
	srv = newServer()
	ran := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- RunAll(ctx, log, []*Server{srv}, func(ctx context.Context) error {
			close(ran)
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	<-ran
	// Serving: the server answers (404 from the handler).
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + srv.Addr().String())
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d, want 404", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunAll after cancel = %v, want nil", err)
	}
}
