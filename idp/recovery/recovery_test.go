package recovery_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/idp/login"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/otp"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/recovery"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// plainCrypto stands in for the key manager: these tests do not look at
// sealed columns.
type plainCrypto struct{}

func (plainCrypto) Seal(plaintext, _ []byte) ([]byte, error) { return bytes.Clone(plaintext), nil }
func (plainCrypto) Open(_ context.Context, blob, _ []byte) ([]byte, error) {
	return bytes.Clone(blob), nil
}
func (plainCrypto) BlindIndex(domain, value string) []byte {
	m := hmac.New(sha256.New, []byte("test"))
	m.Write([]byte(domain + "\x00" + value))
	return m.Sum(nil)
}

type outbox struct {
	mu   sync.Mutex
	msgs []notice.Message
}

func (o *outbox) Send(_ context.Context, m notice.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, m)
	return nil
}

func (o *outbox) Account(ctx context.Context, a *account.Account, kind, lang string, data map[string]string) {
	_ = o.Send(ctx, notice.Message{Channel: message.SMS, To: a.Phone.Value, Kind: kind, Lang: lang, Data: data})
}

func (o *outbox) code(t testing.TB, to string) string {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.msgs) - 1; i >= 0; i-- {
		if o.msgs[i].To == to && o.msgs[i].Data["code"] != "" {
			return o.msgs[i].Data["code"]
		}
	}
	t.Fatalf("no code sent to %s", to)
	return ""
}

// TestRecoveryAfterUndo: recovering the password lifts the suspension of
// password sign-in that an undone contact change left, forgets every
// remembered device of the account (and no other account's), ends every
// session, and goes to the activity log.
func TestRecoveryAfterUndo(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		accounts := account.NewStore(db, plainCrypto{}, c.Now)
		sessions := session.NewStore(db, session.Config{Now: c.Now})
		devices := &login.Devices{DB: db, Now: c.Now}
		activity := audit.New(db, plainCrypto{}, c.Now)
		hasher, err := password.NewHasher(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
		if err != nil {
			t.Fatal(err)
		}
		codes, err := otp.New(db, ratelimit.New(db, c.Now), otp.Config{Pepper: bytes.Repeat([]byte{7}, 32), Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		out := &outbox{}
		h, err := recovery.New(recovery.Deps{Accounts: accounts, Passwords: hasher, Policy: password.DefaultPolicy(),
			Flows: flow.NewStore(db, plainCrypto{}, c.Now), Codes: &codestep.Step{OTP: codes, Sender: out, Log: log, TTL: 5 * time.Minute},
			Sessions: sessions, Notifier: out, Log: log, Forget: devices.Forget,
			Record: func(ctx context.Context, e audit.Entry) error { _, err := activity.Append(ctx, db, e); return err }})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		h.Routes(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()

		hash, _ := hasher.Hash(ctx, "Old#Passw0rd")
		newAccount := func(phone string) *account.Account {
			a, err := accounts.Create(ctx, account.New{Name: account.Name{Family: "Иванов", Given: "Иван"}, PasswordHash: hash,
				Phone: account.Contact{Value: phone, VerifiedAt: c.Now()}})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		a, other := newAccount("+79120000001"), newAccount("+79120000002")
		remember := func(id string) *http.Request {
			w := httptest.NewRecorder()
			if err := devices.Remember(ctx, w, id, "203.0.113.7", "test"); err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/login", nil)
			r.AddCookie(w.Result().Cookies()[0])
			return r
		}
		mine, others := remember(a.ID), remember(other.ID)
		if _, _, err := sessions.Create(ctx, a.ID, []string{"pwd"}, time.Time{}, "", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `UPDATE accounts SET password_suspended_at = $2, failed_logins = 2 WHERE id = $1`, a.ID, sqldb.Micros(c.Now())); err != nil {
			t.Fatal(err)
		}

		jar, _ := cookiejar.New(nil)
		client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		post := func(path string, form url.Values, want string) {
			t.Helper()
			resp, err := client.PostForm(srv.URL+path, form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 303 || resp.Header.Get("Location") != want {
				t.Fatalf("POST %s: %d → %q, want %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
			}
		}
		post("/recover", url.Values{"login": {a.Phone.Value}}, "/recover/code")
		post("/recover/code", url.Values{"code": {out.code(t, a.Phone.Value)}}, "/recover/password")
		const pw = "Hq8&tRe5!nWb"
		post("/recover/password", url.Values{"password": {pw}, "password_confirm": {pw}}, "/login?notice=password_changed")

		got, err := accounts.Get(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.PasswordSuspended() || got.FailedLogins != 0 {
			t.Fatalf("after recovery: suspended %v, failures %d", got.PasswordSuspended(), got.FailedLogins)
		}
		if ok, _, _ := hasher.Verify(ctx, got.PasswordHash, pw); !ok {
			t.Fatal("the new password does not verify")
		}
		if devices.Trusted(ctx, mine, a.ID, "203.0.113.7") {
			t.Fatal("a remembered device survived the recovery")
		}
		if !devices.Trusted(ctx, others, other.ID, "203.0.113.7") {
			t.Fatal("the recovery forgot another account's device")
		}
		if live, _ := sessions.List(ctx, a.ID); len(live) != 0 {
			t.Fatalf("%d sessions survived the recovery", len(live))
		}
		entries, err := activity.List(ctx, a.ID, time.Time{}, 0)
		if err != nil || len(entries) != 1 || entries[0].Action != audit.ActionPasswordRecovered || entries[0].Detail["suspension"] != "lifted" ||
			!strings.Contains(entries[0].Detail["method"], "sms") {
			t.Fatalf("activity log: %+v %v", entries, err)
		}
	})
}
