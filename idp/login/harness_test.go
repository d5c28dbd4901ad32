package login_test

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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/login"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/keys"
)

// TestMain (sqldbtest.Main) is in the package's other test file.

const goodPassword = "Zk7#vLq2!mWp"

// rig is the sign-in page on a real server over real stores. faults lets a
// test make a store fail as a database outage would.
type rig struct {
	t        *testing.T
	url      string
	accounts *account.Store
	hasher   *password.Hasher
	clock    *sqldbtest.Clock
	notified *notices
	faults   *faults
}

// faults wraps the account store and the limiter: while down, every call
// fails as a lost database connection does.
type faults struct {
	mu   sync.Mutex
	down bool
}

func (f *faults) set(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }
func (f *faults) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
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
	if err := a.f.err(); err != nil {
		return nil, err
	}
	return a.Store.FindByLogin(ctx, kind, value)
}

func (a faultyAccounts) RecordFailure(ctx context.Context, id string, max int, lockFor time.Duration) (bool, error) {
	if err := a.f.err(); err != nil {
		return false, err
	}
	return a.Store.RecordFailure(ctx, id, max, lockFor)
}

type faultyLimiter struct {
	*ratelimit.Limiter
	f *faults
}

func (l faultyLimiter) PeekAll(ctx context.Context, checks ...ratelimit.Check) (bool, time.Duration, error) {
	if err := l.f.err(); err != nil {
		return false, 0, err
	}
	return l.Limiter.PeekAll(ctx, checks...)
}

// notices records who was told what.
type notices struct {
	mu   sync.Mutex
	sent map[string][]string
}

func (n *notices) Account(_ context.Context, a *account.Account, kind, _ string, _ map[string]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent[a.ID] = append(n.sent[a.ID], kind)
}

func (n *notices) count(id, kind string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, k := range n.sent[id] {
		if k == kind {
			c++
		}
	}
	return c
}

func newRig(t *testing.T, db *sqldb.DB) *rig {
	t.Helper()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	mk, err := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	km, err := keys.Open(context.Background(), db, mk, keys.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	c := sqldbtest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	hasher, err := password.NewHasher(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, accounts: account.NewStore(db, km, c.Now), hasher: hasher, clock: c, notified: &notices{sent: map[string][]string{}}, faults: &faults{}}
	cfg := login.DefaultConfig()
	cfg.Now = c.Now
	h, err := login.New(cfg, login.Deps{
		Accounts: faultyAccounts{r.accounts, r.faults}, Passwords: hasher,
		Limiter:  faultyLimiter{ratelimit.New(db, c.Now), r.faults},
		Sessions: session.NewStore(db, session.Config{IdleTimeout: time.Hour, Lifetime: time.Hour, Now: c.Now}),
		Notifier: r.notified, Log: log,
		LoginKey: func(kind, value string) string { return kind + ":" + value },
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "signed in") })
	srv := httptest.NewServer(webui.Protect(mux))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *rig) newAccount(phone string) *account.Account {
	r.t.Helper()
	hash, err := r.hasher.Hash(context.Background(), goodPassword)
	if err != nil {
		r.t.Fatal(err)
	}
	a, err := r.accounts.Create(context.Background(), account.New{Name: account.Name{Family: "Иванов", Given: "Иван"},
		Phone: account.Contact{Value: phone, VerifiedAt: r.clock.Now()}, PasswordHash: hash})
	if err != nil {
		r.t.Fatal(err)
	}
	return a
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
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Post(r.url+"/login", "application/x-www-form-urlencoded", strings.NewReader(url.Values{"login": {login}, "password": {pw}}.Encode()))
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b), resp.Header.Get("Location")}
}
