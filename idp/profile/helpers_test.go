package profile_test

import (
	"bytes"
	"context"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/backupcode"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/login"
	"github.com/gosid/gosid/idp/oidc"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/profile"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/idp/totp"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

var t0 = idptest.T0

const goodPassword = idptest.GoodPassword

// siteGrants are the sites a test's accounts allowed (none unless a test
// adds some); RevokeGrant removes one.
type siteGrants struct {
	mu   sync.Mutex
	list map[string][]oidc.SiteGrant // by account
}

func (g *siteGrants) Grants(_ context.Context, accountID string) ([]oidc.SiteGrant, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]oidc.SiteGrant(nil), g.list[accountID]...), nil
}

func (g *siteGrants) RevokeGrant(_ context.Context, _ sqldb.Runner, accountID, clientID string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, s := range g.list[accountID] {
		if s.ClientID == clientID {
			g.list[accountID] = append(g.list[accountID][:i:i], g.list[accountID][i+1:]...)
			return nil
		}
	}
	return sqldb.ErrNotFound
}

func (g *siteGrants) add(accountID string, s oidc.SiteGrant) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.list == nil {
		g.list = map[string][]oidc.SiteGrant{}
	}
	g.list[accountID] = append(g.list[accountID], s)
}

// env is the package wired as cmd/gosid wires it, on the shared harness.
type env struct {
	*idptest.Env
	srv     *idptest.Server
	totps   *totp.Store
	devices *login.Devices
	grants  siteGrants
	// ended lists the sessions the back-channel hook was told of.
	endedMu sync.Mutex
	ended   []string
}

func newEnv(t testing.TB, db *sqldb.DB) *env {
	t.Helper()
	e := &env{Env: idptest.NewEnv(t, db, idptest.Options{})}
	c := e.Clock
	e.totps = totp.NewStore(db, e.Crypto, c.Now)
	backups := backupcode.NewStore(db, bytes.Repeat([]byte{9}, 32), c.Now)
	e.devices = &login.Devices{DB: db, Now: c.Now}
	ph, err := profile.New(profile.Deps{Accounts: e.Accounts, Sessions: e.Sessions, Log: e.Log, Now: c.Now,
		Security: profile.SecurityDeps{TOTP: e.totps, Backup: backups, Forget: e.devices.Forget, AddEvent: e.Accounts.AddEvent,
			Codes: e.Codes, BackupIn: func(q sqldb.Runner) profile.BackupStore { return backups.With(q) },
			TOTPIn: func(q sqldb.Runner) profile.TOTPStore { return e.totps.With(q) }},
		Centre: profile.CentreDeps{Sessions: e.Sessions, SessionsIn: func(q sqldb.Runner) profile.SessionAdmin { return e.Sessions.With(q) },
			Grants: &e.grants, Ended: func(_ context.Context, _, id string) error {
				e.endedMu.Lock()
				defer e.endedMu.Unlock()
				e.ended = append(e.ended, id)
				return nil
			}},
		Password: profile.PasswordDeps{Verify: e.Hasher.Verify, Hash: e.Hasher.Hash, Policy: password.DefaultPolicy(),
			EndOthers: e.Sessions.EndAll, Notify: e.Messages.Account, AddEvent: e.Accounts.AddEvent, Forget: e.devices.Forget},
		Data:     profile.DataDeps{EndAll: e.Sessions.EndAll},
		Activity: e.Activity, Events: e.Accounts,
		Flows: e.Flows, Notifier: e.Messages,
		Idle:   profile.IdleTimeouts{Default: 30 * time.Minute, Min: 5 * time.Minute, Max: 4 * time.Hour},
		Reauth: session.Reauth{MaxAge: 5 * time.Minute, Now: c.Now},
		Undo:   profile.UndoDeps{PublicURL: "https://id.gosid.test", Links: e.Accounts}})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = e.Serve(t, ph.Routes)
	return e
}

// newAccount creates a citizen with a verified phone and e-mail and a
// password.
func (e *env) newAccount(t testing.TB) *account.Account {
	t.Helper()
	return e.NewAccount(t, account.New{PasswordHash: e.Hash(t, goodPassword),
		Phone: account.Contact{Value: idptest.NextPhone(), VerifiedAt: t0},
		Email: account.Contact{Value: idptest.NextEmail(), VerifiedAt: t0}})
}

func (e *env) browser() *idptest.Browser { return e.srv.Browser() }

// reauthenticate does what the re-authentication page does on success.
func reauthenticate(t testing.TB, e *env, b *idptest.Browser) {
	t.Helper()
	if err := e.Sessions.AddAuthentication(context.Background(), b.Session(t).ID, []string{"pwd"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
}

var secretRe = regexp.MustCompile(`<code>([A-Z2-7 ]+)</code>`)

// postStep posts a step of a multi-step page, expects the redirect to the
// step's page (post/redirect/get) and returns that page.
func postStep(t testing.TB, b *idptest.Browser, path string, form url.Values, page string) idptest.Answer {
	t.Helper()
	b.Post(t, path, form).Expect(t, 303, page)
	p := b.Get(t, page)
	if p.Status != 200 {
		t.Fatalf("GET %s: %d\n%.1500s", page, p.Status, p.Body)
	}
	return p
}
