package login_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/login"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/overload"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestMain (sqldbtest.Main) is in the package's other test file.

const goodPassword = idptest.GoodPassword

// rig is the sign-in page on a real server over real stores. faults lets a
// test make a store fail as a database outage would.
type rig struct {
	t        *testing.T
	env      *idptest.Env
	srv      *idptest.Server
	accounts *account.Store
	clock    *sqldbtest.Clock
	notified *idptest.Messages
	faults   *faults
	// ended are the sessions whose sign-out was told (OnSignOut); it
	// fails while faults.signOutDown.
	endedMu sync.Mutex
	ended   []string
}

// faults wraps the account store and the limiter: while down, every call
// fails as a lost database connection does; with only, just the named
// calls fail (a database that drops one statement). While busy, the
// password hasher refuses as its pool does when the wait would exceed its
// budget.
type faults struct {
	mu      sync.Mutex
	down    bool
	only    map[string]bool
	busy    bool
	signOut bool // OnSignOut fails
	// queued is the ticket (overload.Queued) the last Admit saw.
	queued time.Time
}

func (f *faults) setSignOut(down bool) { f.mu.Lock(); f.signOut = down; f.mu.Unlock() }
func (f *faults) signOutFails() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.signOut
}

func (f *faults) set(down bool)     { f.mu.Lock(); f.down, f.only = down, nil; f.mu.Unlock() }
func (f *faults) setBusy(busy bool) { f.mu.Lock(); f.busy = busy; f.mu.Unlock() }
func (f *faults) overloaded() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy {
		return fmt.Errorf("password: waiting to verify: %w", &overload.Error{What: "password hashing", RetryAfter: 1500 * time.Millisecond})
	}
	return nil
}

// busyPasswords is the hasher behind the faults' busy switch.
type busyPasswords struct {
	login.Passwords
	f *faults
}

func (p busyPasswords) Verify(ctx context.Context, phc, pw string) (bool, bool, error) {
	if err := p.f.overloaded(); err != nil {
		return false, false, err
	}
	return p.Passwords.Verify(ctx, phc, pw)
}

func (p busyPasswords) Admit(ctx context.Context) (context.Context, func(), error) {
	p.f.mu.Lock()
	p.f.queued = overload.Queued(ctx)
	p.f.mu.Unlock()
	if err := p.f.overloaded(); err != nil {
		return ctx, func() {}, err
	}
	return p.Passwords.Admit(ctx)
}

func (p busyPasswords) VerifyDummy(ctx context.Context, pw string) error {
	if err := p.f.overloaded(); err != nil {
		return err
	}
	return p.Passwords.VerifyDummy(ctx, pw)
}

// failOnly makes just the named calls fail (faultyAccounts' and
// faultyLimiter's method names); set(false) heals them.
func (f *faults) failOnly(calls ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down, f.only = false, map[string]bool{}
	for _, c := range calls {
		f.only[c] = true
	}
}

// err is the error of the call named call: a lost connection while down
// or while call is one of failOnly's.
func (f *faults) err(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down || f.only[call] {
		return errConnRefused
	}
	return nil
}

type connError struct{}

func (connError) Error() string { return "dial tcp 127.0.0.1:5432: connect: connection refused" }

var errConnRefused error = connError{}

type faultyAccounts struct {
	*account.Store
	f *faults
}

func (a faultyAccounts) FindByLogin(ctx context.Context, kind, value string) (*account.Account, error) {
	if err := a.f.err("FindByLogin"); err != nil {
		return nil, err
	}
	return a.Store.FindByLogin(ctx, kind, value)
}

func (a faultyAccounts) RecordFailure(ctx context.Context, id string, max int, lockFor time.Duration) (bool, error) {
	if err := a.f.err("RecordFailure"); err != nil {
		return false, err
	}
	return a.Store.RecordFailure(ctx, id, max, lockFor)
}

func (a faultyAccounts) LoginLocked(ctx context.Context, key string) (time.Time, bool, error) {
	if err := a.f.err("LoginLocked"); err != nil {
		return time.Time{}, false, err
	}
	return a.Store.LoginLocked(ctx, key)
}

func (a faultyAccounts) RecordLoginFailure(ctx context.Context, key, accountID string, max int, lockFor time.Duration) (time.Time, error) {
	if err := a.f.err("RecordLoginFailure"); err != nil {
		return time.Time{}, err
	}
	return a.Store.RecordLoginFailure(ctx, key, accountID, max, lockFor)
}

type faultyLimiter struct {
	*ratelimit.Limiter
	f *faults
}

func (l faultyLimiter) PeekAll(ctx context.Context, checks ...ratelimit.Check) (bool, time.Duration, error) {
	if err := l.f.err("PeekAll"); err != nil {
		return false, 0, err
	}
	return l.Limiter.PeekAll(ctx, checks...)
}

func newRig(t *testing.T, db *sqldb.DB) *rig {
	t.Helper()
	e := idptest.NewEnv(t, db, idptest.Options{Keys: true, Start: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
		Session: session.Config{IdleTimeout: time.Hour, Lifetime: time.Hour}})
	r := &rig{t: t, env: e, accounts: e.Accounts, clock: e.Clock, notified: e.Messages, faults: &faults{}}
	cfg := login.DefaultConfig()
	cfg.Now = e.Clock.Now
	h, err := login.New(cfg, login.Deps{
		Accounts: faultyAccounts{e.Accounts, r.faults}, Passwords: busyPasswords{e.Hasher, r.faults},
		Limiter:  faultyLimiter{e.Limiter, r.faults},
		Sessions: &login.Arrivals{Store: e.Sessions, Accounts: e.Accounts, Notifier: e.Messages, Activity: e.Activity, Log: e.Log, Now: e.Clock.Now},
		Notifier: e.Messages, Log: e.Log,
		LoginKey: func(kind, value string) string { return kind + ":" + value },
		OnSignOut: func(_ context.Context, _, sessionID string) error {
			if r.faults.signOutFails() {
				return errConnRefused
			}
			r.endedMu.Lock()
			r.ended = append(r.ended, sessionID)
			r.endedMu.Unlock()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := e.Serve(t, h.Routes)
	srv.Mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "signed in") })
	r.srv = srv
	return r
}

func (r *rig) newAccount(phone string) *account.Account {
	r.t.Helper()
	return r.env.NewAccount(r.t, account.New{Phone: account.Contact{Value: phone, VerifiedAt: r.clock.Now()}, PasswordHash: r.env.Hash(r.t, goodPassword)})
}

type reply struct {
	status  int
	header  http.Header
	body    string
	locaton string
}

// signIn posts the sign-in form from a fresh browser.
func (r *rig) signIn(login, pw string) reply {
	r.t.Helper()
	a := r.srv.Browser().Post(r.t, "/login", url.Values{"login": {login}, "password": {pw}})
	return reply{a.Status, a.Header, a.Body, a.Location}
}
