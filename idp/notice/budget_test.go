package notice

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
)

type slowGateway struct {
	delay time.Duration
	sent  atomic.Int32
}

func (g *slowGateway) Send(ctx context.Context, _ Message) error {
	select {
	case <-time.After(g.delay):
		g.sent.Add(1)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A notice to a slow gateway holds its request no longer than the budget
// and still goes out, once, after the request ended.
func TestNoticeSlowGatewayWithinBudget(t *testing.T) {
	gw := &slowGateway{delay: 300 * time.Millisecond}
	n := &Notifier{Sender: gw, Log: slog.New(slog.DiscardHandler), Budget: Budget{Wait: 50 * time.Millisecond}}
	a := &account.Account{Phone: account.Contact{Value: "+79160000001", VerifiedAt: time.Now()}}
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	n.Account(ctx, a, KindNoticeNewDevice, "ru", map[string]string{"time": "now", "ip": "10.0.0.1", "device": "x"})
	if waited := time.Since(start); waited > 250*time.Millisecond {
		t.Fatalf("the request waited %v for a slow gateway, budget 50ms", waited)
	}
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for gw.sent.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if got := gw.sent.Load(); got != 1 {
		t.Fatalf("the notice went out %d times, want once", got)
	}
}

// Past Max pending sends, a send is refused at once.
func TestBudgetBacklogBounded(t *testing.T) {
	b := &Budget{Wait: 10 * time.Millisecond, Max: 1}
	slow := func(ctx context.Context) error { time.Sleep(300 * time.Millisecond); return nil }
	if err := b.Send(context.Background(), slow, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(context.Background(), slow, nil); err != ErrBacklog {
		t.Fatalf("a second send with one pending: %v, want ErrBacklog", err)
	}
}
