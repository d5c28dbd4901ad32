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

// Kinds the tests send: senders treat them as labels only.
const (
	kindRegister       = "code.register"
	kindRecover        = "code.recover"
	kindContact        = "code.contact"
	kindNewDevice      = "notice.new_device"
	kindPasswordChange = "notice.password_changed"
)

// subjects are the e-mail subjects the tests' messages carry, as the
// identity provider's templates render them.
var subjects = map[string]string{
	kindRegister: "Код для регистрации в Gosid", kindRecover: "Код для восстановления пароля Gosid",
	kindContact: "Код для подтверждения контакта в Gosid", kindPasswordChange: "Пароль Gosid изменён",
}

// codeMsg is a rendered message with a one-time code, as a module would
// hand it over.
func codeMsg(ch Channel, to, kind, code string) Message {
	m := Message{Channel: ch, To: to, Kind: kind, Lang: "ru",
		Text: "Gosid: код " + code + ". Никому не сообщайте его. Код действует 5 минут."}
	if ch == Email {
		m.Subject = subjects[kind]
		m.Text = "Здравствуйте!\n\nВаш код: " + code + ". Никому не сообщайте его.\nОн действует 5 минут.\n\n—\nЭто письмо отправлено автоматически."
		m.HTML = "<!doctype html><html lang=\"ru\"><body><p>Здравствуйте!</p><p>Ваш код: <b>" + code + "</b>. Никому не сообщайте его.</p></body></html>"
	}
	return m
}
