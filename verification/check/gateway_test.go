package check_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/verification/registry/registrytest"

	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/check"
	"github.com/gosid/gosid/verification/registry"
)

// gateway is a registry gateway with behaviour: it requires a client
// certificate, and answers 503, hangs, or sends garbage while told to,
// else confirms; it counts calls and keeps the idempotency keys it saw.
type gateway struct {
	srv  *registrytest.Server
	mu   sync.Mutex
	mode string // "ok", "503", "hang", "garbage"
	hits int
	keys map[string]int
}

func (g *gateway) set(mode string) { g.mu.Lock(); g.mode = mode; g.mu.Unlock() }

func (g *gateway) calls() int { g.mu.Lock(); defer g.mu.Unlock(); return g.hits }

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.hits++
	g.keys[r.Header.Get("Idempotency-Key")]++
	mode := g.mode
	g.mu.Unlock()
	switch mode {
	case "503":
		http.Error(w, "busy", http.StatusServiceUnavailable)
	case "hang":
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
	case "garbage":
		_, _ = w.Write([]byte(`{"status":"conf`))
	default:
		ans := map[string]any{"status": "confirmed", "record_id": "gw-1", "checked_at": time.Now().UTC().Format(time.RFC3339)}
		if strings.HasSuffix(r.URL.Path, "/ru_fns") {
			ans["inn"] = "500100732259"
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ans)
	}
}

// TestGatewayFaultsThroughChecks: through the real gateway adapter (mutual
// TLS) a registry that answers 503, hangs or sends garbage leaves the check
// pending and retried; the failures open the circuit, and while it is open
// a run of the check makes no call at all; when the gateway recovers (and
// the circuit lets a trial call through) the check is confirmed, its
// evidence recorded once, every registry asked under one idempotency key.
func TestGatewayFaultsThroughChecks(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		g := &gateway{mode: "503", keys: map[string]int{}}
		ca := registrytest.NewCA(t, "registry clients")
		g.srv = registrytest.NewServer(t, ca, g)
		certFile, keyFile := ca.IssueClient(t, "gosid")
		gw, err := registry.NewGateway(registry.GatewayConfig{URL: g.srv.URL, ClientCertFile: certFile,
			ClientKeyFile: keyFile, CAFile: g.srv.CAFile, Timeout: 200 * time.Millisecond,
			Attempts: 2, BackoffBase: time.Millisecond, BreakerFailures: 5, BreakerOpen: 500 * time.Millisecond}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := newRig(t, db, check.Config{})
		r.reg.inner = gw
		a := r.person(t, registry.GeneratedIdentity(7), "+79164000001")
		id, err := r.svc.Start(ctx, a.ID, "submitted")
		if err != nil {
			t.Fatal(err)
		}
		for _, mode := range []string{"503", "hang", "garbage"} {
			g.set(mode)
			if err := r.svc.Run(ctx, id); err == nil {
				t.Fatalf("%s: Run returned nil", mode)
			}
			if c, _ := r.svc.Get(ctx, id); c.Status != check.Pending || !c.Waiting {
				t.Fatalf("%s: check %s waiting=%v", mode, c.Status, c.Waiting)
			}
		}
		// The circuit is open for every registry now: no call.
		g.set("ok")
		before := g.calls()
		if err := r.svc.Run(ctx, id); err == nil {
			t.Fatal("Run with the circuit open returned nil")
		}
		if g.calls() != before {
			t.Errorf("%d calls while the circuit was open", g.calls()-before)
		}
		time.Sleep(600 * time.Millisecond)
		if err := r.svc.Run(ctx, id); err != nil {
			t.Fatalf("Run after recovery: %v", err)
		}
		c, _ := r.svc.Get(ctx, id)
		if c.Status != check.Confirmed {
			t.Fatalf("after recovery: %s %s", c.Status, c.Outcome)
		}
		_ = r.svc.Run(ctx, id)
		if ev, _ := r.verifier.Evidence(ctx, a.ID); len(ev) != 3 {
			t.Errorf("%d evidence records, want 3", len(ev))
		}
		if after, _ := r.accounts.Get(ctx, a.ID); after.Level != assurance.Standard {
			t.Errorf("level %s", after.Level)
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if len(g.keys) != 3 {
			t.Errorf("idempotency keys %v: want one per registry", g.keys)
		}
	})
}
