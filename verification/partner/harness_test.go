package partner_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gosid/gosid/idp"
	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/verification"
	"github.com/gosid/gosid/verification/bank"
	"github.com/gosid/gosid/verification/partner"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// rig is the whole identity provider (token endpoint, accounts, evidence)
// with the partner API mounted, on a real server on 127.0.0.1.
type rig struct {
	URL     string
	DB      *sqldb.DB
	Clock   *sqldbtest.Clock
	IdP     *idp.IdP
	Banks   *bank.Store
	Clients *client.Store
	Sink    *message.DevSink
	Partner *partner.Handler
	Metrics *prometheus.Registry
	Jobs    *jobs.Queue
	// failSends makes the gateway fail that many sends.
	failSends atomic.Int32
}

// t0 is now: JWT access tokens are checked against the real time too.
var t0 = time.Now().UTC().Truncate(time.Second)

func newRig(t testing.TB, db *sqldb.DB, cfg partner.Config) *rig {
	t.Helper()
	return newRigSending(t, db, cfg, nil)
}

// newRigSending is newRig with its messages sent through gateway instead
// of the dev sink (which production never writes to).
func newRigSending(t testing.TB, db *sqldb.DB, cfg partner.Config, gateway message.Sender) *rig {
	t.Helper()
	ctx := context.Background()
	var logTo io.Writer = io.Discard
	if os.Getenv("PARTNER_TEST_LOG") != "" {
		logTo = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logTo, nil))
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	mk, err := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	km, err := keys.Open(ctx, db, mk, keys.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{URL: "http://" + ln.Addr().String(), DB: db, Clock: sqldbtest.NewClock(t0), Metrics: prometheus.NewRegistry()}
	queue, err := jobs.New(db, jobs.Config{Logger: log, Now: r.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	r.Jobs = queue
	r.Sink = message.NewDevSink(db, log)
	if gateway == nil {
		gateway = r.Sink
	}
	argon := password.DefaultParams()
	argon.Memory, argon.Time, argon.Threads = 8*1024, 1, 1
	r.IdP, err = idp.New(idp.Config{Issuer: r.URL, LockoutThreshold: 3, LockoutDuration: time.Minute, SessionIdleTimeout: time.Hour,
		SessionLifetime: 12 * time.Hour, SessionIdleMin: time.Minute, SessionIdleMax: time.Hour, ReauthMaxAge: 5 * time.Minute,
		DeletionGrace: time.Hour, Argon2: argon},
		idp.Platform{DB: db, Keys: km, Log: log, Messages: flaky{gateway, &r.failSends}, Jobs: queue, Now: r.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	r.Banks = bank.NewStore(db, r.Clock.Now)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, b := range []bank.Bank{{ID: "sber", NameRU: "СберБанк", NameEN: "Sberbank"}, {ID: "tbank", NameRU: "Т-Банк", NameEN: "T-Bank"}} {
		b.Issuer, b.ClientID, b.ClientSecretFile = "https://id."+b.ID+".example", "gosid", secret
		b.Scopes = []string{"openid"}
		b.Claims = map[string]string{bank.FamilyName: "family_name"}
		if err := r.Banks.Add(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if r.Partner, err = verification.NewPartner(cfg, r.IdP, r.Banks, argon, r.Metrics); err != nil {
		t.Fatal(err)
	}
	r.Clients = client.NewStore(db, r.Clock.Now)
	// The queue runs the notices to citizens, and the cache's watcher
	// polls the invalidation log, as on a replica.
	if err := queue.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if r.IdP.Cache != nil {
		wctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = r.IdP.Cache.Run(wctx) }()
		t.Cleanup(func() { stop(); <-done })
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = queue.Stop(sctx)
	})
	srv := httptest.NewUnstartedServer(r.IdP.Handler(httpx.Options{Logger: log}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return r
}

// bankClient is a partner's API client with its private key.
type bankClient struct {
	r     *rig
	id    string
	key   *ecdsa.PrivateKey
	token string
	// raw skips the OpenAPI validation (the benchmark measures the server).
	raw bool
}

// partnerClient registers a private_key_jwt client_credentials client with
// the scopes, a partner of bankID ("" for none).
func (r *rig) partnerClient(t testing.TB, bankID string, scopes ...string) *bankClient {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &priv.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	c, _, err := r.Clients.Create(context.Background(), client.Client{Name: "Банк " + bankID, AuthMethod: client.AuthPrivateKeyJWT,
		JWKS: string(set), GrantTypes: []string{client.GrantClientCredentials}, Scopes: scopes, Partner: bankID})
	if err != nil {
		t.Fatal(err)
	}
	bc := &bankClient{r: r, id: c.ID, key: priv}
	bc.token = bc.getToken(t, strings.Join(scopes, " "))
	return bc
}

// assertion is a private_key_jwt client assertion (RFC 7523).
func (bc *bankClient) assertion(t testing.TB) string {
	t.Helper()
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	now := bc.r.Clock.Now()
	claims, _ := json.Marshal(map[string]any{"iss": bc.id, "sub": bc.id, "aud": bc.r.URL + "/oauth/token", "jti": base64.RawURLEncoding.EncodeToString(jti),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: bc.key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := obj.CompactSerialize()
	return s
}

// getToken gets an access token at Gosid's token endpoint.
func (bc *bankClient) getToken(t testing.TB, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {bc.assertion(t)}}
	resp, err := http.PostForm(bc.r.URL+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("token endpoint: %d %s", resp.StatusCode, b)
	}
	return tok.AccessToken
}

// reply is an API answer, read.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r reply) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %s", r.Status, r.Body)
	}
	return m
}

// kind is a problem's type's last segment.
func (r reply) kind(t testing.TB) string {
	typ, _ := r.JSON(t)["type"].(string)
	return typ[strings.LastIndexByte(typ, '/')+1:]
}

// fields are the names in a problem's fields.
func (r reply) fields(t testing.TB) []string {
	var out []string
	fs, _ := r.JSON(t)["fields"].([]any)
	for _, f := range fs {
		out = append(out, f.(map[string]any)["name"].(string))
	}
	return out
}

var validations atomic.Int64

// call sends a request to the API with the client's token (token "" for
// none), validating request and answer against docs/partner-api.yaml.
func (bc *bankClient) call(t testing.TB, method, path, key string, body any) reply {
	t.Helper()
	var raw []byte
	if body != nil {
		switch b := body.(type) {
		case string:
			raw = []byte(b)
		default:
			raw, _ = json.Marshal(b)
		}
	}
	req, err := http.NewRequest(method, bc.r.URL+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bc.token != "" {
		req.Header.Set("Authorization", "Bearer "+bc.token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	rep := reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if !bc.raw {
		checkSpec(t, req, raw, resp, b)
	}
	return rep
}

// person is a customer as the bank identified them.
func person(snils string) map[string]any {
	return map[string]any{"snils": snils, "family_name": "Иванов", "given_name": "Иван", "middle_name": "Иванович",
		"birthdate": "1985-03-15", "passport": map[string]any{"series": "4505", "number": "123456", "issue_date": "2005-04-02"},
		"method": "in_branch", "confirmed_at": t0.Add(-time.Hour).Format(time.RFC3339), "reference": "BR-0001"}
}

// citizen creates an account of Иванов Иван Иванович with a verified phone
// and the SNILS claimed, or verified (by the registry) when verified.
func (r *rig) citizen(t testing.TB, verified bool) (*account.Account, string) {
	t.Helper()
	ctx := context.Background()
	snils := validate.GenerateSNILS(snilsBase + int(seq.Add(1)))
	a, err := r.IdP.Accounts.Create(ctx, account.New{Name: account.Name{Family: "Иванов", Given: "Иван", Middle: "Иванович"},
		SNILS: snils, Phone: account.Contact{Value: phone(), VerifiedAt: r.Clock.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	if verified {
		if _, err := r.IdP.Accounts.VerifySNILS(ctx, a.ID, snils, "registry"); err != nil {
			t.Fatal(err)
		}
	}
	return a, snils
}

// phoneBase and snilsBase start this process's numbers somewhere random;
// a sequence keeps them apart.
var (
	phoneBase = mrand.IntN(5_000_000)
	snilsBase = 2_000_000 + mrand.IntN(800_000_000)
	seq       atomic.Int64
)

// phone is a mobile number no other of this process's.
func phone() string { return fmt.Sprintf("+7916%07d", phoneBase+int(seq.Add(1))) }

// message waits for the newest message of kind to a phone or e-mail (a
// notice goes out after the API call's transaction).
func (r *rig) message(t testing.TB, to, kind string) message.DevMessage {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		m, err := r.Sink.Latest(context.Background(), to, kind)
		if err == nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s message to %s within 10s: %v", kind, to, err)
		}
	}
}

// flaky is the SMS and e-mail gateway at the edge of the world: it fails
// the next fail sends, then delivers to the dev sink (or the rig's
// gateway).
type flaky struct {
	inner message.Sender
	fail  *atomic.Int32
}

func (f flaky) Send(ctx context.Context, m message.Message) error {
	if f.fail.Add(-1) >= 0 {
		return errors.New("gateway: 503 Service Unavailable")
	}
	f.fail.Store(0)
	return f.inner.Send(ctx, m)
}
