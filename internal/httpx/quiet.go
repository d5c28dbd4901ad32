package httpx

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// QuietBurst is how many warnings or errors with one message the process
// logger writes per second; the rest are counted and the next line with
// that message says how many were left out.
const QuietBurst = 10

// Quiet wraps h so that warnings and errors repeated more than burst
// times within a window (the same level and message) are dropped, and the
// first such line of the next window carries "suppressed": how many were.
// A database outage makes every request log the same failure: a thousand
// identical lines a second hide what matters and cost the disk. Lines
// below Warn (the access log) are never dropped.
func Quiet(h slog.Handler, burst int, window time.Duration) slog.Handler {
	return &quiet{Handler: h, s: &quietState{burst: burst, window: window, now: time.Now, seen: map[quietKey]*quietCount{}}}
}

type quiet struct {
	slog.Handler
	s *quietState // shared by the handlers WithAttrs and WithGroup derive
}

type quietState struct {
	mu     sync.Mutex
	burst  int
	window time.Duration
	now    func() time.Time
	seen   map[quietKey]*quietCount
}

type quietKey struct {
	level slog.Level
	msg   string
}

type quietCount struct {
	start   time.Time
	n       int
	dropped int
}

// maxQuietKeys bounds the messages remembered; messages are constants
// in our code, so the bound is only a guard.
const maxQuietKeys = 4096

// admit counts r and reports whether to write it, and how many lines of
// its kind the last window dropped.
func (s *quietState) admit(r slog.Record) (ok bool, dropped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := quietKey{r.Level, r.Message}
	now := s.now()
	c := s.seen[k]
	if c == nil || now.Sub(c.start) >= s.window {
		if c != nil {
			dropped = c.dropped
		}
		if len(s.seen) >= maxQuietKeys {
			clear(s.seen)
		}
		c = &quietCount{start: now}
		s.seen[k] = c
	}
	c.n++
	if c.n > s.burst {
		c.dropped++
		return false, 0
	}
	return true, dropped
}

func (h *quiet) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.Handler.Handle(ctx, r)
	}
	ok, dropped := h.s.admit(r)
	if !ok {
		return nil
	}
	if dropped > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", dropped))
	}
	return h.Handler.Handle(ctx, r)
}

func (h *quiet) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &quiet{Handler: h.Handler.WithAttrs(attrs), s: h.s}
}

func (h *quiet) WithGroup(name string) slog.Handler {
	return &quiet{Handler: h.Handler.WithGroup(name), s: h.s}
}
