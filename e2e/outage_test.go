package e2e

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestBrowserSessionOutage: a signed-in citizen whose session cannot be
// read (the sessions table is away, as in a database blip) sees the
// branded «temporarily unavailable» page in their language, not the
// sign-in page; once the table is back the same page opens signed in.
// With GOSID_E2E_SCREENSHOTS=1 the page is saved at 1280 and 360 px, in
// Russian and English.
func TestBrowserSessionOutage(t *testing.T) {
	requireChromium(t)
	dir := t.TempDir()
	s := startLocalhostServer(t, "--data-dir", dir)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gosid serve output:\n%s", s.out)
		}
	})
	b := newBrowser(t, s.Issuer)
	registerByPhone(b, s, registrant{Phone: "+7 913 111-22-55", E164: "+79131112255", Family: "Соколова", Given: "Мария", Password: browserPassword},
		func(string) {})
	db, err := sqldb.Open(context.Background(), sqldb.Config{SQLitePath: filepath.Join(dir, "gosid.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	shoot := shooter(b)
	sqldbtest.WithoutTable(t, db, "sessions", func() {
		b.openStatus("/account/passkeys", 503)
		b.expectText("Сервис временно недоступен", "введённые данные не потеряны")
		shoot("outage")
		b.openStatus("/account/passkeys?lang=en", 503)
		b.expectText("Service temporarily unavailable", "nothing you entered was lost")
		shoot("outage-en")
	})
	b.open("/account/passkeys?lang=ru")
	if got := b.path(); got != "/account/passkeys" {
		b.fatalf("after the outage: %s, want /account/passkeys", got)
	}
	if p := b.consoleProblems(); len(p) > 0 {
		b.fatalf("console problems: %v", p)
	}
}
