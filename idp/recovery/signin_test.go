package recovery_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/otp"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/recovery"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/keys"
)

// TestMain (sqldbtest.Main) is in the package's other test file.

const goodPassword = "Zk7#vLq2!mWp"

type rig struct {
	t        *testing.T
	url      string
	accounts *account.Store
	sessions *session.Store
	sink     *message.DevSink
	hasher   *password.Hasher
	// secondFactor records hand-overs to /login/2fa.
	secondFactor []string
}

type nobody struct{}

func (nobody) Account(context.Context, *account.Account, string, string, map[string]string) {}

func newRig(t *testing.T, db *sqldb.DB) *rig {
	t.Helper()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	mk, _ := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	km, err := keys.Open(context.Background(), db, mk, keys.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := notice.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	limiter := ratelimit.New(db, time.Now)
	codes, err := otp.New(db, limiter, otp.Config{Pepper: km.BlindIndex("otp-pepper", "v1")})
	if err != nil {
		t.Fatal(err)
	}
	hasher, _ := password.NewHasher(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	r := &rig{t: t, accounts: account.NewStore(db, km, time.Now), sink: message.NewDevSink(db, log), hasher: hasher,
		sessions: session.NewStore(db, session.Config{IdleTimeout: time.Hour, Lifetime: time.Hour})}
	h, err := recovery.New(recovery.Deps{Accounts: r.accounts, Passwords: hasher, Policy: password.DefaultPolicy(),
		Flows: flow.NewStore(db, km, time.Now), Codes: &codestep.Step{OTP: codes, Sender: &notice.Outbox{Templates: tmpl, Out: r.sink}, Log: log, TTL: 5 * time.Minute},
		Sessions: r.sessions, Notifier: nobody{}, Log: log,
		SignIn: &recovery.SignIn{Passwords: hasher, Accounts: r.accounts, MaxFailures: 3, LockFor: 30 * time.Minute,
			Start: func(w http.ResponseWriter, req *http.Request, id string, amr []string, ip string) error {
				_, err := r.sessions.Start(w, req, id, amr, ip)
				return err
			},
			SecondFactor: func(w http.ResponseWriter, req *http.Request, a *account.Account, next string, amr []string) {
				r.secondFactor = append(r.secondFactor, a.ID)
				webui.Redirect(w, req, "/login/2fa")
			}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, req *http.Request) {
		s, err := r.sessions.Current(req)
		if err != nil {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, s.AccountID+" "+strings.Join(s.AMR, " "))
	})
	srv := httptest.NewServer(webui.Protect(mux))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

// lockedAccount is an account whose password sign-in someone locked.
func (r *rig) lockedAccount(phone, mfa string) *account.Account {
	r.t.Helper()
	ctx := context.Background()
	hash, _ := r.hasher.Hash(ctx, goodPassword)
	a, err := r.accounts.Create(ctx, account.New{Name: account.Name{Family: "Иванов", Given: "Иван"},
		Phone: account.Contact{Value: phone, VerifiedAt: time.Now()}, PasswordHash: hash})
	if err != nil {
		r.t.Fatal(err)
	}
	if mfa != "" {
		if err := r.accounts.SetMFA(ctx, a.ID, mfa); err != nil {
			r.t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := r.accounts.RecordFailure(ctx, a.ID, 3, 30*time.Minute); err != nil {
			r.t.Fatal(err)
		}
	}
	if got, _ := r.accounts.Get(ctx, a.ID); !got.Locked(time.Now()) {
		r.t.Fatal("not locked")
	}
	return a
}

type browser struct {
	r *rig
	c *http.Client
}

func (r *rig) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{r, &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.r.t.Helper()
	resp, err := b.c.Post(b.r.url+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		b.r.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

func (b *browser) get(path string) (int, string) {
	resp, err := b.c.Get(b.r.url + path)
	if err != nil {
		b.r.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var codeRe = regexp.MustCompile(`\b\d{6}\b`)

// throughCode runs the recovery's first two steps for phone.
func (b *browser) throughCode(phone string) {
	b.r.t.Helper()
	if st, _, _ := b.post("/recover", url.Values{"login": {phone}}); st != 303 {
		b.r.t.Fatalf("recover: %d", st)
	}
	m, err := b.r.sink.Latest(context.Background(), phone, notice.KindCodeRecover)
	if err != nil {
		b.r.t.Fatal(err)
	}
	if st, loc, _ := b.post("/recover/code", url.Values{"code": {codeRe.FindString(m.Text)}}); st != 303 || loc != "/recover/password" {
		b.r.t.Fatalf("code: %d %s", st, loc)
	}
}

// TestSignInDuringLock: an attacker who keeps the account locked with
// wrong passwords cannot keep its owner out: a code to the verified phone
// and the current password sign the owner in and lift the lock.
func TestSignInDuringLock(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		a := r.lockedAccount("+79000000301", "")
		b := r.browser()
		b.throughCode("+79000000301")
		if _, body := b.get("/recover/password"); !strings.Contains(body, `action="/recover/signin"`) {
			t.Fatal("the password step does not offer signing in with the current password")
		}
		st, _, body := b.post("/recover/signin", url.Values{"current_password": {"Wrong#Pass1"}})
		if st != 401 || !strings.Contains(body, "Осталось попыток: 2") {
			t.Fatalf("wrong current password: %d", st)
		}
		st, loc, _ := b.post("/recover/signin", url.Values{"current_password": {goodPassword}})
		if st != 303 || loc != "/account" {
			t.Fatalf("right current password: %d %s", st, loc)
		}
		if _, who := b.get("/account"); who != a.ID+" pwd sms mfa" {
			t.Fatalf("session %q, want %s with pwd sms mfa", who, a.ID)
		}
		if got, _ := r.accounts.Get(ctx, a.ID); got.Locked(time.Now()) || got.FailedLogins != 0 {
			t.Fatalf("lock not lifted: locked %v, %d failures", got.Locked(time.Now()), got.FailedLogins)
		}
		// The flow is spent.
		if st, loc, _ := b.post("/recover/signin", url.Values{"current_password": {goodPassword}}); st != 303 || !strings.HasPrefix(loc, "/recover?expired") {
			t.Fatalf("the flow used twice: %d %s", st, loc)
		}
	})
}

// TestSignInDuringLockLimits: the current password is checked only after
// the code, three wrong ones end the flow, and an authenticator app is
// still asked for.
func TestSignInDuringLockLimits(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		r.lockedAccount("+79000000302", "")
		b := r.browser()
		// Without the code, nothing is checked.
		if st, loc, _ := b.post("/recover/signin", url.Values{"current_password": {goodPassword}}); st != 303 || !strings.HasPrefix(loc, "/recover?expired") {
			t.Fatalf("sign-in without a code: %d %s", st, loc)
		}
		b.throughCode("+79000000302")
		for i := 0; i < 2; i++ {
			b.post("/recover/signin", url.Values{"current_password": {"Wrong#Pass1"}})
		}
		if st, _, body := b.post("/recover/signin", url.Values{"current_password": {"Wrong#Pass1"}}); st != 401 || !strings.Contains(body, "Запросите новый код") {
			t.Fatalf("third wrong password: %d", st)
		}
		if st, loc, _ := b.post("/recover/signin", url.Values{"current_password": {goodPassword}}); st != 303 || !strings.HasPrefix(loc, "/recover?expired") {
			t.Fatalf("the right password after three wrong ones: %d %s, want a new code needed", st, loc)
		}

		// An account with an authenticator app: the code covered the phone,
		// not the app, which is asked for next.
		totpAcc := r.lockedAccount("+79000000303", account.MFATOTP)
		c := r.browser()
		c.throughCode("+79000000303")
		if st, loc, _ := c.post("/recover/signin", url.Values{"current_password": {goodPassword}}); st != 303 || loc != "/login/2fa" {
			t.Fatalf("with an authenticator app: %d %s", st, loc)
		}
		if len(r.secondFactor) != 1 || r.secondFactor[0] != totpAcc.ID {
			t.Fatalf("second factor asked for %v", r.secondFactor)
		}
		if st, _ := c.get("/account"); st != 401 {
			t.Fatal("signed in without the authenticator app")
		}
	})
}

// TestSignInRefusesSuspendedPassword: after «Это был не я» the old
// password may be someone else's too; the code does not revive it, only a
// new password does.
func TestSignInRefusesSuspendedPassword(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		a := r.lockedAccount("+79000000304", "")
		if _, err := db.Exec(context.Background(), `UPDATE accounts SET password_suspended_at = $2 WHERE id = $1`, a.ID, sqldb.Micros(time.Now())); err != nil {
			t.Fatal(err)
		}
		b := r.browser()
		b.throughCode("+79000000304")
		if st, _, body := b.post("/recover/signin", url.Values{"current_password": {goodPassword}}); st != 403 || !strings.Contains(body, "задайте новый пароль") {
			t.Fatalf("suspended password: %d", st)
		}
		if st, _ := b.get("/account"); st != 401 {
			t.Fatal("signed in with a suspended password")
		}
	})
}
