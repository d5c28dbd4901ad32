package sqldb_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// The fault clock follows its file: written, rewritten, garbled (kept),
// removed (back to the fixed offset).
func TestFaultClockFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "clock")
	f := &sqldb.FaultClock{Fixed: time.Minute, File: file}
	log := slog.New(slog.DiscardHandler)
	near := func(want time.Duration) {
		t.Helper()
		if d := time.Until(f.Now()); (d - want).Abs() > time.Second {
			t.Fatalf("the clock is %s ahead, want %s", d.Round(time.Millisecond), want)
		}
	}
	f.Read(log)
	near(time.Minute)
	for _, tc := range []struct {
		content string
		want    time.Duration
	}{{"2m\n", 3 * time.Minute}, {"-2m", -time.Minute}, {"soon", -time.Minute}, {"11m", -time.Minute}, {"", time.Minute}} {
		if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		f.Read(log)
		near(tc.want)
	}
	_ = os.Remove(file)
	f.Read(log)
	near(time.Minute)
}
