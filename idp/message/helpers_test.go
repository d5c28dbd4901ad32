package message

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

func loadTemplates(t testing.TB) *Templates {
	t.Helper()
	tmpl, err := LoadTemplates()
	if err != nil {
		t.Fatalf("LoadTemplates: %v", err)
	}
	return tmpl
}

// logBuffer collects log output so that tests can check what never reaches
// a log (codes, recipients, secrets).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func codeMsg(ch Channel, to, kind, code string) Message {
	return Message{Channel: ch, To: to, Kind: kind, Data: map[string]string{"code": code, "minutes": "5"}}
}
