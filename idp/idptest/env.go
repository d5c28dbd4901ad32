package idptest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/otp"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/keys"
)

// T0 is the time an Env's clock starts at unless Options.Start says
// otherwise.
var T0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// GoodPassword passes the default password policy.
const GoodPassword = "Zk7#vLq2!mWp"

// Crypto is what the stores need of the key manager.
type Crypto interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, blob, aad []byte) ([]byte, error)
	BlindIndex(domain, value string) []byte
}

// Plain stands in for the key manager where a test does not look at sealed
// columns: it seals nothing, and its blind index is an HMAC under a fixed
// key. The key manager's key generation would dominate such tests.
type Plain struct{}

func (Plain) Seal(plaintext, _ []byte) ([]byte, error) { return bytes.Clone(plaintext), nil }

func (Plain) Open(_ context.Context, blob, _ []byte) ([]byte, error) { return bytes.Clone(blob), nil }

func (Plain) BlindIndex(domain, value string) []byte {
	m := hmac.New(sha256.New, []byte("test"))
	m.Write([]byte(domain + "\x00" + value))
	return m.Sum(nil)
}

// Options tune an Env. The zero value is the usual one.
type Options struct {
	// Start is the clock's first reading (T0 when zero).
	Start time.Time
	// Keys opens the real key manager over the database (a fresh master
	// key) instead of Plain: for tests of sealed data and of packages that
	// need a *keys.Manager.
	Keys bool
	// Session tunes the session store; its Now is always the Env's clock.
	Session session.Config
	// OTP tunes the code service; its Now and Pepper are the Env's.
	OTP otp.Config
}

// Env is the platform the handlers run on, over one database.
type Env struct {
	DB    *sqldb.DB
	Clock *sqldbtest.Clock
	// Log discards: tests assert on behaviour, never on log lines.
	Log    *slog.Logger
	Crypto Crypto
	// Keys is the key manager when Options.Keys was set, else nil.
	Keys     *keys.Manager
	Accounts *account.Store
	Sessions *session.Store
	Hasher   *password.Hasher
	Limiter  *ratelimit.Limiter
	OTP      *otp.Service
	Flows    *flow.Store
	Audit    *audit.Log
	Activity *account.Activity
	// Messages sends the identity provider's messages through the real
	// templates into the development sink, and remembers them.
	Messages *Messages
	// Codes is the "we sent you a code" step over OTP and Messages.
	Codes *codestep.Step
}

// NewEnv wires the platform over db (a database from sqldbtest).
func NewEnv(t testing.TB, db *sqldb.DB, opts Options) *Env {
	t.Helper()
	start := opts.Start
	if start.IsZero() {
		start = T0
	}
	c := sqldbtest.NewClock(start)
	e := &Env{DB: db, Clock: c, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Crypto: Plain{}}
	if opts.Keys {
		raw := make([]byte, 32)
		_, _ = rand.Read(raw) // crypto/rand.Read never fails
		mk, err := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
		if err != nil {
			t.Fatal(err)
		}
		if e.Keys, err = keys.Open(context.Background(), db, mk, keys.Options{Logger: e.Log}); err != nil {
			t.Fatal(err)
		}
		e.Crypto = e.Keys
	}
	e.Accounts = account.NewStore(db, e.Crypto, c.Now)
	sc := opts.Session
	sc.Now = c.Now
	e.Sessions = session.NewStore(db, sc)
	var err error
	if e.Hasher, err = password.NewHasher(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0); err != nil {
		t.Fatal(err)
	}
	e.Limiter = ratelimit.New(db, c.Now)
	oc := opts.OTP
	oc.Now, oc.Pepper = c.Now, bytes.Repeat([]byte{7}, 32)
	if e.OTP, err = otp.New(db, e.Limiter, oc); err != nil {
		t.Fatal(err)
	}
	e.Flows = flow.NewStore(db, e.Crypto, c.Now)
	e.Audit = audit.New(db, e.Crypto, c.Now)
	e.Activity = account.NewActivity(db, e.Accounts, e.Audit)
	tmpl, err := notice.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	e.Messages = newMessages(message.NewDevSink(db, e.Log), tmpl, e.Log)
	e.Codes = &codestep.Step{OTP: e.OTP, Sender: e.Messages, Log: e.Log, TTL: 5 * time.Minute}
	return e
}

// Server is a handler served on 127.0.0.1:0.
type Server struct {
	URL string
	Env *Env
	Mux *http.ServeMux
}

// Serve registers routes on a fresh mux and serves it behind the
// cross-origin protection every page has in production; the server stops
// when the test ends. Add stand-in routes of the rest of the site to Mux.
func (e *Env) Serve(t testing.TB, routes ...func(*http.ServeMux)) *Server {
	t.Helper()
	mux := http.NewServeMux()
	for _, r := range routes {
		r(mux)
	}
	srv := httptest.NewServer(webui.Protect(mux))
	t.Cleanup(srv.Close)
	return &Server{URL: srv.URL, Env: e, Mux: mux}
}

var seq atomic.Int64

// NextPhone returns a mobile number no other test of the process uses.
func NextPhone() string { return fmt.Sprintf("+7912%07d", seq.Add(1)) }

// NextEmail returns an e-mail address no other test of the process uses.
func NextEmail() string { return fmt.Sprintf("citizen%d@example.ru", seq.Add(1)) }

// Hash is pw's password hash.
func (e *Env) Hash(t testing.TB, pw string) string {
	t.Helper()
	h, err := e.Hasher.Hash(context.Background(), pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// NewAccount creates n. An empty name becomes Иванов Иван; with neither
// contact given, a fresh phone verified now.
func (e *Env) NewAccount(t testing.TB, n account.New) *account.Account {
	t.Helper()
	if n.Name.Family == "" && n.Name.Given == "" {
		n.Name = account.Name{Family: "Иванов", Given: "Иван"}
	}
	if n.Phone.Value == "" && n.Email.Value == "" {
		n.Phone = account.Contact{Value: NextPhone(), VerifiedAt: e.Clock.Now()}
	}
	a, err := e.Accounts.Create(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Citizen creates an account with a fresh verified phone and, unless pw is
// empty, the password pw.
func (e *Env) Citizen(t testing.TB, pw string) *account.Account {
	t.Helper()
	n := account.New{}
	if pw != "" {
		n.PasswordHash = e.Hash(t, pw)
	}
	return e.NewAccount(t, n)
}

// Account reads the account id.
func (e *Env) Account(t testing.TB, id string) *account.Account {
	t.Helper()
	a, err := e.Accounts.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Count runs a count(*) query (or any query of one integer).
func (e *Env) Count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.DB.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Sessions is the session store with login.Arrivals' StartIn, for a
// handler tested without Arrivals (what Arrivals adds to a sign-in is
// login's to test): spend runs in the transaction that opens the session.
type Sessions struct{ *session.Store }

// StartIn is session.Store.BeginIn for the account a.
func (s Sessions) StartIn(w http.ResponseWriter, r *http.Request, a *account.Account, amr []string, ip string, spend func(tx *sqldb.Tx) error) (*session.Session, error) {
	return s.BeginIn(w, r, a.ID, amr, ip, spend)
}
