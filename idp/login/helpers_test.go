package login

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/backupcode"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/otp"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/idp/totp"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

const goodPassword = "Zk7#vLq2!mWp"

// plainCrypto stands in for the key manager: these tests do not look at
// sealed columns, and the key manager's key generation would dominate.
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

// outbox is the message sender: it keeps what was sent.
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

// code returns the code of the latest message to to.
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

// notices records the owner notices.
type notices struct {
	mu    sync.Mutex
	kinds []string
}

func (n *notices) Account(_ context.Context, _ *account.Account, kind, _ string, _ map[string]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.kinds = append(n.kinds, kind)
}

func (n *notices) count(kind string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, k := range n.kinds {
		if k == kind {
			c++
		}
	}
	return c
}

// fakePasskeys checks "assertions" by their text: "uv" verified the user,
// "nouv" did not, anything else fails.
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
	}
	return nil, errors.New("verification failed")
}

// env is the package wired as cmd/gosid wires it, on 127.0.0.1:0.
type env struct {
	db       *sqldb.DB
	clock    *sqldbtest.Clock
	accounts *account.Store
	sessions *session.Store
	hasher   *password.Hasher
	totps    *totp.Store
	backups  *backupcode.Store
	devices  *Devices
	out      *outbox
	notices  *notices
	url      string
}

func newEnv(t testing.TB, db *sqldb.DB, mut func(*Config)) *env {
	t.Helper()
	c := sqldbtest.NewClock(t0)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &env{db: db, clock: c, out: &outbox{}, notices: &notices{}}
	e.accounts = account.NewStore(db, plainCrypto{}, c.Now)
	e.sessions = session.NewStore(db, session.Config{Now: c.Now})
	var err error
	if e.hasher, err = password.NewHasher(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0); err != nil {
		t.Fatal(err)
	}
	limiter := ratelimit.New(db, c.Now)
	codes, err := otp.New(db, limiter, otp.Config{Pepper: bytes.Repeat([]byte{7}, 32), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.totps = totp.NewStore(db, plainCrypto{}, c.Now)
	e.backups = backupcode.NewStore(db, bytes.Repeat([]byte{9}, 32), c.Now)
	e.devices = &Devices{DB: db, Now: c.Now}
	cfg := DefaultConfig()
	cfg.Now = c.Now
	if mut != nil {
		mut(&cfg)
	}
	h, err := New(cfg, Deps{Accounts: e.accounts, Passwords: e.hasher, Limiter: limiter, Sessions: e.sessions, Notifier: e.notices, Log: log,
		MFA: MFADeps{TOTP: e.totps, Backup: e.backups, Flows: flow.NewStore(db, plainCrypto{}, c.Now), Devices: e.devices,
			Codes: &codestep.Step{OTP: codes, Sender: e.out, Log: log, TTL: 5 * time.Minute},
			Get:   e.accounts.Get, AddAuthentication: e.sessions.AddAuthentication,
			Passkeys: fakePasskeys{}, HasPasskeys: func(context.Context, string) bool { return true }},
		LoginKey: func(kind, value string) string {
			return hex.EncodeToString(plainCrypto{}.BlindIndex("login-rate", kind+":"+value))
		}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

var phoneSeq atomic.Int64

// newAccount creates a citizen with a verified phone and, unless pw is
// empty, a password.
func (e *env) newAccount(t testing.TB, pw string) *account.Account {
	t.Helper()
	ctx := context.Background()
	n := account.New{Name: account.Name{Family: "Иванов", Given: "Иван"},
		Phone: account.Contact{Value: fmt.Sprintf("+7912%07d", phoneSeq.Add(1)), VerifiedAt: t0}}
	if pw != "" {
		hash, err := e.hasher.Hash(ctx, pw)
		if err != nil {
			t.Fatal(err)
		}
		n.PasswordHash = hash
	}
	a, err := e.accounts.Create(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) account(t testing.TB, id string) *account.Account {
	t.Helper()
	a, err := e.accounts.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	e     *env
	c     *http.Client
	token string // the session cookie, when signed in by signIn
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signIn gives the browser a session of a that authenticated with amr at
// the clock's time.
func (b *browser) signIn(t testing.TB, a *account.Account, amr ...string) {
	t.Helper()
	token, _, err := b.e.sessions.Create(context.Background(), a.ID, amr, time.Time{}, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(b.e.url)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: session.DefaultCookieName, Value: token, Path: "/"}})
	b.token = token
}

func (b *browser) session(t testing.TB) *session.Session {
	t.Helper()
	s, err := b.e.sessions.Lookup(context.Background(), b.token)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type answer struct {
	Status   int
	Location string
	Body     string
}

func (b *browser) do(t testing.TB, method, path, contentType string, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, b.e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Location"), string(raw)}
}

func (b *browser) get(t testing.TB, path string) answer {
	t.Helper()
	return b.do(t, "GET", path, "", "")
}

func (b *browser) post(t testing.TB, path string, form url.Values) answer {
	t.Helper()
	return b.do(t, "POST", path, "application/x-www-form-urlencoded", form.Encode())
}

var challengeRe = regexp.MustCompile(`name="challenge" value="([^"]+)"`)

func (a answer) challenge(t testing.TB) string {
	t.Helper()
	m := challengeRe.FindStringSubmatch(a.Body)
	if m == nil {
		t.Fatalf("no challenge in the page (%d)", a.Status)
	}
	return m[1]
}
