package codestep

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/internal/message"
)

// slowSender takes each message after delay, or fails at once with err.
type slowSender struct {
	delay time.Duration
	err   error
	mu    sync.Mutex
	sent  int
}

func (s *slowSender) Send(ctx context.Context, _ notice.Message) error {
	if s.err != nil {
		return s.err
	}
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	s.sent++
	s.mu.Unlock()
	return nil
}

func (s *slowSender) count() int { s.mu.Lock(); defer s.mu.Unlock(); return s.sent }

var smsCode = notice.Message{Channel: message.SMS, To: "+79160000001", Kind: notice.KindCodeLogin, Data: map[string]string{"code": "123456"}}

// A gateway slower than the budget holds the page no longer than the
// budget, and the code still goes out, once, after the page was answered
// and its request's context ended.
func TestSendSlowGatewayWithinBudget(t *testing.T) {
	gw := &slowSender{delay: 300 * time.Millisecond}
	st := &Step{Sender: gw, Log: slog.New(slog.DiscardHandler), Budget: notice.Budget{Wait: 50 * time.Millisecond}}
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	if err := st.send(ctx, smsCode); err != nil {
		t.Fatalf("send past the budget: %v, want nil (under way)", err)
	}
	if waited := time.Since(start); waited > 250*time.Millisecond {
		t.Fatalf("the page waited %v for a slow gateway, budget 50ms", waited)
	}
	cancel() // the page's request is over
	if n := gw.count(); n != 0 {
		t.Fatalf("sent %d before the gateway answered", n)
	}
	deadline := time.Now().Add(2 * time.Second)
	for gw.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if n := gw.count(); n != 1 {
		t.Fatalf("the code was sent %d times, want once", n)
	}
}

// A gateway that fails within the budget fails the send: the page says
// the code was not sent.
func TestSendFailureWithinBudget(t *testing.T) {
	st := &Step{Sender: &slowSender{err: errors.New("gateway: 400")}, Log: slog.New(slog.DiscardHandler), Budget: notice.Budget{Wait: time.Second}}
	if err := st.send(context.Background(), smsCode); err == nil {
		t.Fatal("a refused message passed as sent")
	}
}

// Sends left running are bounded: past MaxPending a slow gateway's
// backlog is refused at once instead of piling up.
func TestSendBacklogBounded(t *testing.T) {
	gw := &slowSender{delay: 500 * time.Millisecond}
	st := &Step{Sender: gw, Log: slog.New(slog.DiscardHandler), Budget: notice.Budget{Wait: 10 * time.Millisecond, Max: 2}}
	for i := range 2 {
		if err := st.send(context.Background(), smsCode); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	start := time.Now()
	if err := st.send(context.Background(), smsCode); !errors.Is(err, notice.ErrBacklog) {
		t.Fatalf("a third send with two pending: %v, want ErrBacklog", err)
	} else if time.Since(start) > 100*time.Millisecond {
		t.Fatal("the refusal waited")
	}
	time.Sleep(700 * time.Millisecond)
	if err := st.send(context.Background(), smsCode); err != nil {
		t.Fatalf("once the backlog cleared: %v", err)
	}
}
