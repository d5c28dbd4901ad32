package bank_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/verification/bank"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

const callback = "https://gosid.example/bank/callback"

// rig is one database with a keys manager, the bank store, a fake bank
// registered as "fake", and a connector.
type rig struct {
	db       *sqldb.DB
	clock    *sqldbtest.Clock
	km       *keys.Manager
	accounts *account.Store
	banks    *bank.Store
	fake     *fakeBank
	conn     *bank.Connector
	log      *bytes.Buffer
	logMu    *sync.Mutex
	metrics  *prometheus.Registry
	dir      string
}

func newRig(t testing.TB, db *sqldb.DB) *rig {
	t.Helper()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	mk, err := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	km, err := keys.Open(context.Background(), db, mk, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{db: db, clock: sqldbtest.NewClock(time.Now()), km: km, log: &bytes.Buffer{}, logMu: &sync.Mutex{},
		metrics: prometheus.NewRegistry(), dir: t.TempDir()}
	r.accounts = account.NewStore(db, km, r.clock.Now)
	r.banks = bank.NewStore(db, r.clock.Now)
	r.fake = newFakeBank(t)
	secret := filepath.Join(r.dir, "secret")
	if err := os.WriteFile(secret, []byte(r.fake.secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.banks.Add(context.Background(), bank.Bank{ID: "fake", NameRU: "Фейк-банк", NameEN: "Fake bank",
		Issuer: r.fake.issuer, ClientID: r.fake.clientID, ClientSecretFile: secret,
		Scopes: []string{"openid", "profile"},
		Claims: map[string]string{bank.FamilyName: "family_name", bank.GivenName: "given_name", bank.MiddleName: "middle_name",
			bank.BirthDate: "birthdate", bank.SNILS: "snils", bank.PassportSeries: "document.series",
			bank.PassportNumber: "document.number", bank.PassportIssueDate: "document.issued", bank.Phone: "phone_number"},
		Vouches: []string{bank.FamilyName, bank.GivenName, bank.BirthDate, bank.SNILS, bank.PassportSeries, bank.PassportNumber},
	}); err != nil {
		t.Fatal(err)
	}
	r.fake.set(func(f *fakeBank) {
		f.idClaims = map[string]any{"family_name": "Иванов", "birthdate": "15.03.1985"}
		f.userinfo = map[string]any{"family_name": "  Петров ", "given_name": "Иван  Сергеевич", "snils": "11223344595",
			"document":     map[string]any{"series": "45 08", "number": "123456", "issued": "2005-04-01"},
			"phone_number": "8 (912) 345-67-89", "email": "ivan@example.org"}
	})
	r.conn = r.connector(time.Second)
	return r
}

// connector is another replica on the rig's database with its own caches.
func (r *rig) connector(timeout time.Duration) *bank.Connector {
	return bank.NewConnector(bank.Deps{DB: r.db, Banks: r.banks, Sealer: r.km, Callback: callback,
		HTTPClient: &http.Client{Timeout: timeout}, Now: r.clock.Now,
		Log:     slog.New(slog.NewJSONHandler(lockedWriter{r.logMu, r.log}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics: r.metrics})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (r *rig) logged() string {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	return r.log.String()
}

func (r *rig) account(t testing.TB) string {
	t.Helper()
	a, err := r.accounts.Create(context.Background(), account.New{Phone: account.Contact{Value: "+7912" + digits(7)}})
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func digits(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

// visit starts a flow on begin, lets the fake bank sign the citizen in,
// and returns the callback's query.
// browser is the hash of the test browser's binding cookie
// (webui.Binding), which every flow of the tests is bound to.
var browser = bytes.Repeat([]byte{7}, 32)

func (r *rig) visit(t testing.TB, begin *bank.Connector, p bank.Purpose, accountID, data string) url.Values {
	t.Helper()
	auth, err := begin.Begin(context.Background(), "fake", p, accountID, data, browser)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(auth)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %s", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != callback {
		t.Fatalf("redirected to %s, want %s", got, callback)
	}
	return loc.Query()
}

func TestFlows(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		ctx := context.Background()
		acc := r.account(t)

		t.Run("purposes", func(t *testing.T) {
			for _, c := range []struct {
				p       bank.Purpose
				account string
			}{{bank.Confirm, acc}, {bank.LinkBank, acc}, {bank.Register, ""}, {bank.SignIn, ""}} {
				data := "/account/confirm?from=" + string(c.p)
				res, err := r.conn.Finish(ctx, r.visit(t, r.conn, c.p, c.account, data), browser)
				if err != nil {
					t.Fatalf("%s: %v", c.p, err)
				}
				if res.Purpose != c.p || res.AccountID != c.account || res.Data != data || res.Bank.ID != "fake" ||
					res.Subject != "bank-subject-1" || !res.At.Equal(r.clock.Now()) {
					t.Fatalf("%s: result %+v", c.p, res)
				}
			}
		})

		t.Run("claims", func(t *testing.T) {
			res, err := r.conn.Finish(ctx, r.visit(t, r.conn, bank.Confirm, acc, ""), browser)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				bank.FamilyName:     "Петров", // userinfo wins over the ID token, trimmed
				bank.GivenName:      "Иван Сергеевич",
				bank.BirthDate:      "1985-03-15", // from the ID token, DD.MM.YYYY
				bank.SNILS:          "112-233-445 95",
				bank.PassportSeries: "4508", bank.PassportNumber: "123456", bank.PassportIssueDate: "2005-04-01",
				bank.Phone: "+79123456789",
			}
			if !equalMaps(res.Values, want) {
				t.Fatalf("values %v, want %v", res.Values, want)
			}
			// Email is sent but not mapped; middle name is mapped but not sent.
			wantV := map[string]string{bank.FamilyName: "Петров", bank.GivenName: "Иван Сергеевич", bank.BirthDate: "1985-03-15",
				bank.SNILS: "112-233-445 95", bank.PassportSeries: "4508", bank.PassportNumber: "123456"}
			if !equalMaps(res.Vouched, wantV) {
				t.Fatalf("vouched %v, want %v", res.Vouched, wantV)
			}
		})

		t.Run("replicas", func(t *testing.T) {
			other := r.connector(time.Second)
			res, err := other.Finish(ctx, r.visit(t, r.conn, bank.SignIn, "", "x"), browser)
			if err != nil || res.Data != "x" {
				t.Fatalf("Finish on another replica: %v, %+v", err, res)
			}
		})

		t.Run("replay", func(t *testing.T) {
			q := r.visit(t, r.conn, bank.SignIn, "", "")
			if _, err := r.conn.Finish(ctx, q, browser); err != nil {
				t.Fatal(err)
			}
			if _, err := r.conn.Finish(ctx, q, browser); !errors.Is(err, bank.ErrUnknownFlow) {
				t.Fatalf("replayed callback: %v, want ErrUnknownFlow", err)
			}
		})

		t.Run("another browser", func(t *testing.T) {
			// A callback brought by a browser without the flow's binding
			// (an address an attacker sent, cookies off) uses the flow up
			// and redeems nothing.
			for _, other := range [][]byte{nil, bytes.Repeat([]byte{8}, 32)} {
				q := r.visit(t, r.conn, bank.SignIn, "", "")
				r.fake.mu.Lock()
				calls := r.fake.tokenCalls
				r.fake.mu.Unlock()
				_, err := r.conn.Finish(ctx, q, other)
				if !errors.Is(err, bank.ErrOtherBrowser) {
					t.Fatalf("the callback in another browser (%x): %v, want ErrOtherBrowser", other, err)
				}
				// The flow was found: its failure names what it was for.
				var fe *bank.FlowError
				if !errors.As(err, &fe) || fe.Purpose != bank.SignIn || fe.BankID == "" {
					t.Fatalf("the failure of a found flow: %#v, want a FlowError of a sign-in", err)
				}
				r.fake.mu.Lock()
				after := r.fake.tokenCalls
				r.fake.mu.Unlock()
				if after != calls {
					t.Fatal("the code of a flow another browser started was redeemed")
				}
				if _, err := r.conn.Finish(ctx, q, browser); !errors.Is(err, bank.ErrUnknownFlow) || errors.As(err, new(*bank.FlowError)) {
					t.Fatalf("the starting browser after another used the flow up: %v, want ErrUnknownFlow of no flow", err)
				}
			}
		})

		t.Run("concurrent replay", func(t *testing.T) {
			q := r.visit(t, r.conn, bank.SignIn, "", "")
			other := r.connector(time.Second)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, c := range []*bank.Connector{r.conn, other} {
				wg.Go(func() { _, errs[i] = c.Finish(ctx, q, browser) })
			}
			wg.Wait()
			ok, unknown := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, bank.ErrUnknownFlow):
					unknown++
				default:
					t.Errorf("unexpected %v", err)
				}
			}
			if ok != 1 || unknown != 1 {
				t.Fatalf("two callbacks with one state: %v", errs)
			}
		})

		t.Run("unknown state", func(t *testing.T) {
			for _, q := range []url.Values{{}, {"state": {"nope"}, "code": {"c"}}} {
				if _, err := r.conn.Finish(ctx, q, browser); !errors.Is(err, bank.ErrUnknownFlow) {
					t.Fatalf("%v: %v", q, err)
				}
			}
		})

		t.Run("expired and swept", func(t *testing.T) {
			q := r.visit(t, r.conn, bank.SignIn, "", "")
			r.visit(t, r.conn, bank.Register, "", "")
			r.clock.Advance(bank.FlowTTL + time.Second)
			defer r.clock.Set(time.Now())
			if _, err := r.conn.Finish(ctx, q, browser); !errors.Is(err, bank.ErrUnknownFlow) {
				t.Fatalf("expired flow: %v", err)
			}
			// The unfinished flows of the subtests before and the second one.
			n, err := r.conn.Sweep(ctx)
			if err != nil || n < 1 {
				t.Fatalf("Sweep = %d, %v", n, err)
			}
			if n, err := r.conn.Sweep(ctx); err != nil || n != 0 {
				t.Fatalf("second Sweep = %d, %v", n, err)
			}
		})

		t.Run("unknown bank", func(t *testing.T) {
			if _, err := r.conn.Begin(ctx, "nope", bank.SignIn, "", "", browser); !errors.Is(err, bank.ErrUnknownBank) {
				t.Fatalf("unknown: %v", err)
			}
			q := r.visit(t, r.conn, bank.SignIn, "", "")
			b, _ := r.banks.Get(ctx, "fake")
			b.Disabled = true
			if err := r.banks.Update(ctx, *b); err != nil {
				t.Fatal(err)
			}
			if _, err := r.conn.Begin(ctx, "fake", bank.SignIn, "", "", browser); !errors.Is(err, bank.ErrUnknownBank) {
				t.Fatalf("disabled: %v", err)
			}
			if _, err := r.conn.Finish(ctx, q, browser); !errors.Is(err, bank.ErrUnknownBank) {
				t.Fatalf("finish at a bank disabled meanwhile: %v", err)
			}
			b.Disabled = false
			if err := r.banks.Update(ctx, *b); err != nil {
				t.Fatal(err)
			}
			if _, err := r.conn.Begin(ctx, "fake", bank.Confirm, "", "", browser); err == nil {
				t.Fatal("Confirm without an account started")
			}
		})

		t.Run("failures", func(t *testing.T) {
			for _, c := range []struct {
				mode     string
				noParam  bool // the bank does not advertise the iss parameter
				want     error
				reason   string // in the error: the check that refused
				maxDelay time.Duration
			}{
				{mode: "bad-iss", want: bank.ErrRefused, reason: "iss of the authorization response is not"},
				{mode: "no-iss", want: bank.ErrRefused, reason: "iss missing"},
				{mode: "no-iss", noParam: true},
				{mode: "other-key", want: bank.ErrRefused, reason: "invalid signature"},
				{mode: "wrong-nonce", want: bank.ErrRefused, reason: "nonce does not match"},
				{mode: "wrong-aud", want: bank.ErrRefused, reason: "audience is not valid"},
				{mode: "wrong-iss", want: bank.ErrRefused, reason: "issuer does not match"},
				{mode: "expired", want: bank.ErrRefused, reason: "token has expired"},
				{mode: "userinfo-sub", want: bank.ErrRefused, reason: "userinfo sub differs"},
				{mode: "userinfo-500", want: bank.ErrUnavailable, reason: "HTTP status 502"},
				{mode: "userinfo-jwt", want: bank.ErrRefused, reason: "content type"},
				{mode: "jwks-down", want: bank.ErrUnavailable, reason: "JWKS"},
				{mode: "token-500", want: bank.ErrUnavailable, reason: "HTTP 500"},
				{mode: "token-hang", want: bank.ErrUnavailable, maxDelay: 3 * time.Second, reason: "timeout"},
				{mode: "access_denied", want: bank.ErrCancelled},
			} {
				name := c.mode
				if c.noParam {
					name += " not advertised"
				}
				t.Run(name, func(t *testing.T) {
					conn := r.connector(time.Second) // fresh discovery
					r.fake.set(func(f *fakeBank) { f.mode, f.issParam = c.mode, !c.noParam })
					defer r.fake.set(func(f *fakeBank) { f.mode, f.issParam = "", true })
					q := r.visit(t, conn, bank.Confirm, acc, "")
					start := time.Now()
					res, err := conn.Finish(ctx, q, browser)
					if c.want == nil {
						if err != nil {
							t.Fatal(err)
						}
						return
					}
					if !errors.Is(err, c.want) || res != nil || !strings.Contains(err.Error(), c.reason) {
						t.Fatalf("Finish = %v, %v; want %v (%s)", res, err, c.want, c.reason)
					}
					if c.maxDelay > 0 && time.Since(start) > c.maxDelay {
						t.Fatalf("took %v", time.Since(start))
					}
					if _, err := conn.Finish(ctx, q, browser); !errors.Is(err, bank.ErrUnknownFlow) {
						t.Fatalf("a failed flow is used up: %v", err)
					}
				})
			}
		})

		t.Run("discovery down", func(t *testing.T) {
			r.fake.set(func(f *fakeBank) { f.mode = "discovery-down" })
			defer r.fake.set(func(f *fakeBank) { f.mode = "" })
			if _, err := r.connector(time.Second).Begin(ctx, "fake", bank.SignIn, "", "", browser); !errors.Is(err, bank.ErrUnavailable) {
				t.Fatalf("Begin with discovery down: %v", err)
			}
		})

		t.Run("private_key_jwt", func(t *testing.T) {
			rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
			ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			ecDER, _ := x509.MarshalECPrivateKey(ecKey)
			for name, k := range map[string]struct {
				block *pem.Block
				pub   any
			}{
				"rsa pkcs1": {&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}, &rsaKey.PublicKey},
				"ec sec1":   {&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}, &ecKey.PublicKey},
			} {
				t.Run(name, func(t *testing.T) {
					path := filepath.Join(r.dir, strings.ReplaceAll(name, " ", "-")+".pem")
					if err := os.WriteFile(path, pem.EncodeToMemory(k.block), 0o600); err != nil {
						t.Fatal(err)
					}
					b, _ := r.banks.Get(ctx, "fake")
					saved := *b
					b.ClientSecretFile, b.PrivateKeyFile, b.KeyID = "", path, "gosid-1"
					if err := r.banks.Update(ctx, *b); err != nil {
						t.Fatal(err)
					}
					defer func() { _ = r.banks.Update(ctx, saved) }()
					r.fake.set(func(f *fakeBank) { f.clientKey = k.pub })
					defer r.fake.set(func(f *fakeBank) { f.clientKey = nil })
					if _, err := r.conn.Finish(ctx, r.visit(t, r.conn, bank.SignIn, "", ""), browser); err != nil {
						t.Fatal(err)
					}
					// The fake checks the assertion's signature: another key fails.
					other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
					r.fake.set(func(f *fakeBank) { f.clientKey = &other.PublicKey })
					if _, err := r.conn.Finish(ctx, r.visit(t, r.conn, bank.SignIn, "", ""), browser); !errors.Is(err, bank.ErrRefused) {
						t.Fatalf("assertion with an unregistered key: %v", err)
					}
				})
			}
		})

		t.Run("missing secret file", func(t *testing.T) {
			b, _ := r.banks.Get(ctx, "fake")
			saved := *b
			b.ClientSecretFile = filepath.Join(r.dir, "missing")
			if err := r.banks.Update(ctx, *b); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = r.banks.Update(ctx, saved) }()
			if _, err := r.conn.Finish(ctx, r.visit(t, r.conn, bank.SignIn, "", ""), browser); !errors.Is(err, bank.ErrUnavailable) {
				t.Fatalf("Finish with the secret file gone: %v", err)
			}
		})

		t.Run("nothing secret logged", func(t *testing.T) {
			q := r.visit(t, r.conn, bank.Confirm, acc, "")
			if _, err := r.conn.Finish(ctx, q, browser); err != nil {
				t.Fatal(err)
			}
			log := r.logged()
			for _, s := range []string{q.Get("code"), q.Get("state"), "112-233-445", "11223344595", "Петров", "123456", r.fake.secret} {
				if strings.Contains(log, s) {
					t.Fatalf("the log holds %q", s)
				}
			}
			if !strings.Contains(log, "bank flow finished") || !strings.Contains(log, "bank flow failed") {
				t.Fatalf("the log lacks the flows: %s", log)
			}
		})

		t.Run("metrics", func(t *testing.T) {
			if n := testutil.ToFloat64(counter(t, r.metrics, "fake", "refused")); n < 1 {
				t.Fatalf("refused flows counted %v", n)
			}
		})
	})
}

func counter(t *testing.T, reg *prometheus.Registry, bankID, outcome string) prometheus.Collector {
	t.Helper()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gosid_bank_flows_total",
		Help: "Bank flows started and finished, by bank and outcome (started, ok, cancelled, unavailable, refused, unknown_flow, other_browser)."},
		[]string{"bank", "outcome"})
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Fatalf("the connector's counter is not registered: %v", err)
	}
	return are.ExistingCollector.(*prometheus.CounterVec).WithLabelValues(bankID, outcome)
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
