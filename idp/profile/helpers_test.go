package profile_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
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
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/backupcode"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/idp/login"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/oidc"
	"github.com/gosid/gosid/idp/otp"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/profile"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/idp/totp"
	"github.com/gosid/gosid/internal/message"
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

// outbox is both the message sender (codes) and the notifier (notices):
// it keeps everything, newest last.
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

func (o *outbox) Contact(ctx context.Context, contactKind, to, kind, lang string, data map[string]string) {
	ch := message.SMS
	if contactKind == account.Email {
		ch = message.Email
	}
	_ = o.Send(ctx, notice.Message{Channel: ch, To: to, Kind: kind, Lang: lang, Data: data})
}

func (o *outbox) Account(ctx context.Context, a *account.Account, kind, lang string, data map[string]string) {
	_ = o.Send(ctx, notice.Message{Channel: message.SMS, To: a.Phone.Value, Kind: kind, Lang: lang, Data: data})
}

// last returns the newest message of kind to to, if any.
func (o *outbox) last(to, kind string) (notice.Message, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.msgs) - 1; i >= 0; i-- {
		if o.msgs[i].To == to && o.msgs[i].Kind == kind {
			return o.msgs[i], true
		}
	}
	return notice.Message{}, false
}

func (o *outbox) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.msgs)
}

// activity is cmd/gosid's activity recorder: a change and its entry in
// one transaction.
type activity struct {
	db       *sqldb.DB
	accounts *account.Store
	log      *audit.Log
}

func (a *activity) Change(ctx context.Context, e audit.Entry, fn func(*account.Store) error) error {
	return a.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := fn(a.accounts.With(tx)); err != nil {
			return err
		}
		_, err := a.log.Append(ctx, tx, e)
		return err
	})
}

func (a *activity) Record(ctx context.Context, e audit.Entry) error {
	_, err := a.log.Append(ctx, a.db, e)
	return err
}

func (a *activity) List(ctx context.Context, accountID string, since time.Time, limit int) ([]audit.Entry, error) {
	return a.log.List(ctx, accountID, since, limit)
}

type noGrants struct{}

func (noGrants) Grants(context.Context, string) ([]oidc.SiteGrant, error) { return nil, nil }
func (noGrants) RevokeGrant(context.Context, string, string) error        { return nil }

// env is the package wired as cmd/gosid wires it, on 127.0.0.1:0.
type env struct {
	db       *sqldb.DB
	clock    *sqldbtest.Clock
	accounts *account.Store
	sessions *session.Store
	hasher   *password.Hasher
	totps    *totp.Store
	devices  *login.Devices
	out      *outbox
	log      *audit.Log
	// ended lists the sessions the back-channel hook was told of.
	endedMu sync.Mutex
	ended   []string
	url     string
}

func newEnv(t testing.TB, db *sqldb.DB) *env {
	t.Helper()
	c := sqldbtest.NewClock(t0)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &env{db: db, clock: c, out: &outbox{}}
	e.accounts = account.NewStore(db, plainCrypto{}, c.Now)
	e.sessions = session.NewStore(db, session.Config{Now: c.Now})
	var err error
	if e.hasher, err = password.NewHasher(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0); err != nil {
		t.Fatal(err)
	}
	codes, err := otp.New(db, ratelimit.New(db, c.Now), otp.Config{Pepper: bytes.Repeat([]byte{7}, 32), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.totps = totp.NewStore(db, plainCrypto{}, c.Now)
	backups := backupcode.NewStore(db, bytes.Repeat([]byte{9}, 32), c.Now)
	e.devices = &login.Devices{DB: db, Now: c.Now}
	e.log = audit.New(db, plainCrypto{}, c.Now)
	ph, err := profile.New(profile.Deps{Accounts: e.accounts, Sessions: e.sessions, Log: log, Now: c.Now,
		Security: profile.SecurityDeps{TOTP: e.totps, Backup: backups, SetMFA: e.accounts.SetMFA, Forget: e.devices.Forget, AddEvent: e.accounts.AddEvent,
			Codes: &codestep.Step{OTP: codes, Sender: e.out, Log: log, TTL: 5 * time.Minute}},
		Centre: profile.CentreDeps{Sessions: e.sessions, Grants: noGrants{}, Ended: func(_ context.Context, _, id string) error {
			e.endedMu.Lock()
			defer e.endedMu.Unlock()
			e.ended = append(e.ended, id)
			return nil
		}},
		Password: profile.PasswordDeps{Verify: e.hasher.Verify, Hash: e.hasher.Hash, Policy: password.DefaultPolicy(), SetPassword: e.accounts.SetPassword,
			EndOthers: e.sessions.EndAll, Notify: e.out.Account, AddEvent: e.accounts.AddEvent, Forget: e.devices.Forget},
		Data:     profile.DataDeps{EndAll: e.sessions.EndAll},
		Activity: &activity{db: db, accounts: e.accounts, log: e.log}, Events: e.accounts,
		Flows: flow.NewStore(db, plainCrypto{}, c.Now), Notifier: e.out,
		Idle:   profile.IdleTimeouts{Default: 30 * time.Minute, Min: 5 * time.Minute, Max: 4 * time.Hour},
		Reauth: session.Reauth{MaxAge: 5 * time.Minute, Now: c.Now},
		Undo:   profile.UndoDeps{PublicURL: "https://id.gosid.test", Links: e.accounts}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ph.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

var phoneSeq atomic.Int64

// newAccount creates a citizen with a verified phone and e-mail and a
// password.
func (e *env) newAccount(t testing.TB) *account.Account {
	t.Helper()
	ctx := context.Background()
	hash, err := e.hasher.Hash(ctx, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	n := phoneSeq.Add(1)
	a, err := e.accounts.Create(ctx, account.New{Name: account.Name{Family: "Иванов", Given: "Иван"}, PasswordHash: hash,
		Phone: account.Contact{Value: fmt.Sprintf("+7912%07d", n), VerifiedAt: t0},
		Email: account.Contact{Value: fmt.Sprintf("ivan%d@example.ru", n), VerifiedAt: t0}})
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
	token string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signIn gives the browser a session of a authenticated now.
func (b *browser) signIn(t testing.TB, a *account.Account) {
	t.Helper()
	token, _, err := b.e.sessions.Create(context.Background(), a.ID, []string{"pwd"}, time.Time{}, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(b.e.url)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: session.DefaultCookieName, Value: token, Path: "/"}})
	b.token = token
}

// reauthenticate does what the re-authentication page does on success.
func (b *browser) reauthenticate(t testing.TB) {
	t.Helper()
	s := b.session(t)
	if err := b.e.sessions.AddAuthentication(context.Background(), s.ID, []string{"pwd"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
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

func (b *browser) do(t testing.TB, method, path string, form url.Values) answer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Location"), string(raw)}
}

func (b *browser) get(t testing.TB, path string) answer { t.Helper(); return b.do(t, "GET", path, nil) }

func (b *browser) post(t testing.TB, path string, form url.Values) answer {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	return b.do(t, "POST", path, form)
}

var secretRe = regexp.MustCompile(`<code>([A-Z2-7 ]+)</code>`)

func find(t testing.TB, re *regexp.Regexp, a answer) string {
	t.Helper()
	m := re.FindStringSubmatch(a.Body)
	if m == nil {
		t.Fatalf("%v not in the page (%d):\n%.2000s", re, a.Status, a.Body)
	}
	return m[1]
}
