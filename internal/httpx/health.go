package httpx

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// readyTimeout bounds all readiness checks together: a probe that hangs is
// as good as a failed one, and load balancers time out too.
const readyTimeout = 2 * time.Second

// Check is one readiness check.
type Check struct {
	// Name says what is checked, in generic words ("database"). A failing
	// check answers "<Name> not ready"; the error itself only goes to the log.
	Name string
	// Func returns nil when ready. It must respect ctx's deadline.
	Func func(ctx context.Context) error
}

// Healthz answers 200 "ok" while the process is up (liveness). It checks
// nothing else on purpose: a failing database must not get replicas
// restarted, only taken out of rotation by Readyz.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writePlain(w, http.StatusOK, "ok")
	})
}

// Readyz answers 200 "ready" when every check passes within 2 seconds, and
// otherwise 503 naming the first failing check in declaration order
// ("database not ready"). The checks run concurrently. Check errors are
// logged at Warn, never sent: they may name hosts, users or SQL.
func Readyz(logger *slog.Logger, checks ...Check) http.Handler {
	return readyz(logger, readyTimeout, checks)
}

func readyz(logger *slog.Logger, timeout time.Duration, checks []Check) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		errs := make([]error, len(checks))
		var wg sync.WaitGroup
		for i, c := range checks {
			wg.Go(func() { errs[i] = runCheck(ctx, c) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				logger.WarnContext(r.Context(), "not ready",
					"check", checks[i].Name, "err", err, "request_id", RequestID(r.Context()))
				writePlain(w, http.StatusServiceUnavailable, checks[i].Name+" not ready")
				return
			}
		}
		writePlain(w, http.StatusOK, "ready")
	})
}

// runCheck returns the check's error, or ctx's if the check ignores its
// deadline (it is then left running and its result dropped).
func runCheck(ctx context.Context, c Check) error {
	done := make(chan error, 1)
	go func() { done <- c.Func(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func writePlain(w http.ResponseWriter, code int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	io.WriteString(w, body+"\n")
}

// Management is the handler of the management listener, like Keycloak's
// management port: liveness at /healthz, readiness (the checks) at
// /readyz and the metrics of reg at /metrics, for probes and scrapers on a
// private address.
func Management(log *slog.Logger, reg prometheus.Gatherer, metrics *Metrics, checks ...Check) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", Healthz())
	mux.Handle("GET /readyz", Readyz(log, checks...))
	mux.Handle("GET /metrics", MetricsHandler(reg))
	return Wrap("admin", mux, Options{Logger: log, Metrics: metrics})
}
