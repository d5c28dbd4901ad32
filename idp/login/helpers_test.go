package login

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	pqtotp "github.com/pquerna/otp/totp"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/backupcode"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/passkey"
	"github.com/gosid/gosid/idp/totp"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

const goodPassword = idptest.GoodPassword

// fakePasskeys checks "assertions" by their text: "uv" verified the user,
// "nouv" did not, "down" meets a store that cannot be reached (as
// passkey.Service answers then), anything else is refused.
type fakePasskeys struct{}

func (fakePasskeys) BeginSecondFactor(context.Context, string) (json.RawMessage, error) {
	return json.RawMessage(`{"publicKey":{"challenge":"AAAA"}}`), nil
}

func (fakePasskeys) FinishSecondFactor(_ context.Context, _ string, body []byte) ([]string, error) {
	switch string(body) {
	case "uv":
		return []string{"swk", "user"}, nil
	case "nouv":
		return []string{"hwk"}, nil
	case "down":
		return nil, passkey.ErrInternal
	}
	return nil, passkey.ErrVerification
}

// env is the package wired as cmd/gosid wires it, on the shared harness.
type env struct {
	*idptest.Env
	srv     *idptest.Server
	totps   *totp.Store
	backups *backupcode.Store
	devices *Devices
	// totpDown makes every authenticator check fail as a database that
	// cannot be reached does.
	totpDown atomic.Bool
	// stepUpDown makes stepping a session up fail as a database that
	// cannot be reached does.
	stepUpDown atomic.Bool
}

// faultyTOTP is the authenticator store behind env.totpDown.
type faultyTOTP struct {
	*totp.Store
	down *atomic.Bool
}

func (f faultyTOTP) Verify(ctx context.Context, accountID, code string) error {
	return f.VerifyFor(ctx, accountID, code, "")
}

func (f faultyTOTP) VerifyFor(ctx context.Context, accountID, code, attempt string) error {
	if f.down.Load() {
		return fmt.Errorf("totp: load secret: %w", errors.New("dial tcp 127.0.0.1:5432: connect: connection refused"))
	}
	return f.Store.VerifyFor(ctx, accountID, code, attempt)
}

func newEnv(t testing.TB, db *sqldb.DB, mut func(*Config)) *env {
	t.Helper()
	e := &env{Env: idptest.NewEnv(t, db, idptest.Options{})}
	c := e.Clock
	e.totps = totp.NewStore(db, e.Crypto, c.Now)
	e.backups = backupcode.NewStore(db, bytes.Repeat([]byte{9}, 32), c.Now)
	e.devices = &Devices{DB: db, Now: c.Now}
	cfg := DefaultConfig()
	cfg.Now = c.Now
	if mut != nil {
		mut(&cfg)
	}
	arrivals := &Arrivals{Store: e.Sessions, Accounts: e.Accounts, Notifier: e.Messages, Activity: e.Activity, Log: e.Log, Now: c.Now}
	h, err := New(cfg, Deps{Accounts: e.Accounts, Passwords: e.Hasher, Limiter: e.Limiter, Sessions: arrivals, Notifier: e.Messages, Log: e.Log,
		MFA: MFADeps{TOTP: faultyTOTP{e.totps, &e.totpDown}, Backup: e.backups, Flows: e.Flows, Devices: e.devices, Codes: e.Codes,
			Get: e.Accounts.Get, AddAuthentication: func(ctx context.Context, id string, amr []string, at time.Time) error {
				if e.stepUpDown.Load() {
					return fmt.Errorf("session: add authentication: %w", errors.New("dial tcp 127.0.0.1:5432: connect: connection refused"))
				}
				return e.Sessions.AddAuthentication(ctx, id, amr, at)
			},
			Passkeys: fakePasskeys{}, HasPasskeys: func(context.Context, string) bool { return true }},
		LoginKey: func(kind, value string) string {
			return hex.EncodeToString(e.Crypto.BlindIndex("login-rate", kind+":"+value))
		}})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = e.Serve(t, h.Routes)
	return e
}

// newAccount creates a citizen with a verified phone and, unless pw is
// empty, a password.
func (e *env) newAccount(t testing.TB, pw string) *account.Account {
	t.Helper()
	return e.Citizen(t, pw)
}

func (e *env) browser() *idptest.Browser { return e.srv.Browser() }

// enrolTOTP gives the account an authenticator app as its second factor.
func (e *env) enrolTOTP(t testing.TB, accountID string) totp.Enrolment {
	t.Helper()
	ctx := context.Background()
	enr, err := e.totps.Begin(ctx, accountID, "test")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := pqtotp.GenerateCode(enr.Secret, e.Clock.Now())
	if err := e.totps.Confirm(ctx, accountID, code); err != nil {
		t.Fatal(err)
	}
	if err := e.Accounts.SetMFA(ctx, accountID, account.MFATOTP); err != nil {
		t.Fatal(err)
	}
	return enr
}

var challengeRe = regexp.MustCompile(`name="challenge" value="([^"]+)"`)
