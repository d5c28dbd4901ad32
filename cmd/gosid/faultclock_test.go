package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The fault clock follows its file: written, rewritten, garbled (kept),
// removed (back to the fixed offset).
func TestFaultClockFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "clock")
	f := &faultClock{fixed: time.Minute, file: file}
	log := slog.New(slog.DiscardHandler)
	near := func(want time.Duration) {
		t.Helper()
		if d := time.Until(f.now()); (d - want).Abs() > time.Second {
			t.Fatalf("the clock is %s ahead, want %s", d.Round(time.Millisecond), want)
		}
	}
	f.read(log)
	near(time.Minute)
	for _, tc := range []struct {
		content string
		want    time.Duration
	}{{"2m\n", 3 * time.Minute}, {"-2m", -time.Minute}, {"soon", -time.Minute}, {"11m", -time.Minute}, {"", time.Minute}} {
		if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		f.read(log)
		near(tc.want)
	}
	_ = os.Remove(file)
	f.read(log)
	near(time.Minute)
}
