package httpx

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestQuiet: 100 identical errors in one second write QuietBurst lines;
// the first of the next second says how many were left out; another
// message and Info lines (the access log) are never held back; the
// request id still reaches every line written.
func TestQuiet(t *testing.T) {
	var buf bytes.Buffer
	h := Quiet(slog.NewTextHandler(&buf, nil), QuietBurst, time.Second)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	h.(*quiet).s.now = func() time.Time { return now }
	log := slog.New(LogHandler(h)).With("component", "oidc")
	ctx := withInfo(context.Background(), info{id: "req-1"})
	for range 100 {
		log.ErrorContext(ctx, "token: store failed", "err", "connection refused")
		log.Info("request", "status", 503)
	}
	log.Warn("another failure")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	count := func(s string) int {
		n := 0
		for _, l := range lines {
			if strings.Contains(l, s) {
				n++
			}
		}
		return n
	}
	if n := count("token: store failed"); n != QuietBurst {
		t.Fatalf("%d repeated errors written in one second, want %d", n, QuietBurst)
	}
	if n := count("msg=request"); n != 100 {
		t.Fatalf("%d access-log lines, want all 100", n)
	}
	if count("another failure") != 1 || count("request_id=req-1") != QuietBurst {
		t.Fatalf("other messages or request ids lost:\n%s", buf.String())
	}
	now = now.Add(time.Second)
	buf.Reset()
	log.ErrorContext(ctx, "token: store failed", "err", "connection refused")
	if got := buf.String(); !strings.Contains(got, "suppressed=90") || !strings.Contains(got, "component=oidc") {
		t.Fatalf("the next window's line: %s", got)
	}
}
