package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// served is `gosid serve` running in this process.
type served struct {
	Issuer, IdP, Portal, Admin string // URLs as logged ("off" when off)
	stderr                     *lockedBuffer
	cancel                     context.CancelFunc
	done                       chan int
	stopped                    bool
}

// stop cancels serve's context, as SIGTERM does, and requires exit 0.
func (s *served) stop(t *testing.T) {
	t.Helper()
	if s.stopped {
		return
	}
	s.stopped = true
	s.cancel()
	if code := <-s.done; code != exitOK {
		t.Errorf("gosid serve exited %d after cancel\n%s", code, s.stderr)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// record returns the first JSON log record whose msg is msg.
func (l *lockedBuffer) record(msg string) map[string]any {
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == msg {
			return rec
		}
	}
	return nil
}

// startServe runs `gosid serve` with args in this process and waits for
// its "gosid serving" line. Unless args say otherwise the log is JSON,
// argon2id cheap, the portal off and the management listener on
// 127.0.0.1:0. When the test ends it cancels the context, as SIGTERM does,
// and requires a clean exit (see stop).
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{stderr: &lockedBuffer{}, cancel: cancel, done: make(chan int, 1)}
	full := []string{"serve"}
	for _, d := range [][2]string{{"--log-format", "json"}, {"--portal-addr", "off"}, {"--sandbox-bank-addr", "off"}, {"--admin-addr", "127.0.0.1:0"},
		{"--argon2-memory", "8192"}, {"--argon2-time", "1"}} {
		if !slices.Contains(args, d[0]) {
			full = append(full, d[0], d[1])
		}
	}
	full = append(full, args...)
	go func() { s.done <- run(ctx, full, nil, &bytes.Buffer{}, s.stderr) }()
	t.Cleanup(func() { s.stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if rec := s.stderr.record("gosid serving"); rec != nil {
			s.Issuer, _ = rec["issuer"].(string)
			s.IdP, _ = rec["idp"].(string)
			s.Portal, _ = rec["portal"].(string)
			s.Admin, _ = rec["admin"].(string)
			return s
		}
		select {
		case code := <-s.done:
			s.done <- code
			t.Fatalf("gosid serve exited %d before serving\n%s", code, s.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("gosid serve not serving within 30s\n%s", s.stderr)
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and localhost and its key
// to dir and returns their paths and a pool trusting the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gosid test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// cookieLog records every Set-Cookie the server sends.
type cookieLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	set  []string
}

func (c *cookieLog) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil {
		c.mu.Lock()
		c.set = append(c.set, resp.Header.Values("Set-Cookie")...)
		c.mu.Unlock()
	}
	return resp, err
}

// named returns the Set-Cookie lines that set (not expire) cookie name.
func (c *cookieLog) named(name string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, h := range c.set {
		if strings.HasPrefix(h, name+"=") && !strings.Contains(h, "Max-Age=0") {
			out = append(out, h)
		}
	}
	return out
}

// TestServeOverTLS: `gosid serve` with --tls-cert-file/--tls-key-file and
// no --public-url publishes an https issuer in discovery, sends HSTS, and
// names every cookie it sets with Path=/ under TLS __Host-…; Secure (the
// session, flow, browser, remembered-device and language cookies), which
// its readers then find: the session works and the remembered device skips
// the second factor.
func TestServeOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	s := startServe(t, "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"),
		"--tls-cert-file", certFile, "--tls-key-file", keyFile)
	if !strings.HasPrefix(s.IdP, "https://127.0.0.1:") || s.Issuer != s.IdP {
		t.Fatalf("issuer %q, listener %q: want the https listener's URL", s.Issuer, s.IdP)
	}
	cookies := &cookieLog{next: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	client := &http.Client{Transport: cookies}

	resp, err := client.Get(s.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
	}
	err = json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if err != nil || disc.Issuer != s.Issuer || !strings.HasPrefix(disc.AuthorizationEndpoint, "https://") {
		t.Fatalf("discovery: issuer %q, authorization_endpoint %q, %v; want %s", disc.Issuer, disc.AuthorizationEndpoint, err, s.Issuer)
	}
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
		t.Errorf("no HSTS over TLS: %q", hsts)
	}

	idp := &testIdP{URL: s.Issuer, client: client}
	b := newBrowser(t, idp)
	b.register("phone", "+79105550011", "+79105550011", "Защищённый", "Иван")
	if p := b.get("/account"); p.Status != 200 {
		t.Fatalf("the __Host- session cookie was not read back: /account %d → %s", p.Status, p.Location)
	}
	if p := b.get("/login?lang=en"); p.Status != 200 || !strings.Contains(p.Body, `lang="en"`) {
		t.Fatalf("/login?lang=en: %d", p.Status)
	}
	if p := b.get("/login"); !strings.Contains(p.Body, `lang="en"`) {
		t.Error("the __Host- language cookie was not read back")
	}

	// A second factor, passed once with "remember this device".
	p := b.postStep("/account/security/totp", nil)
	m := secretRe.FindStringSubmatch(p.Body)
	if p.Status != 200 || m == nil {
		t.Fatalf("TOTP enrolment page: %d", p.Status)
	}
	code, err := totp.GenerateCode(strings.ReplaceAll(m[1], " ", ""), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p = b.postStep("/account/security/totp/confirm", url.Values{"code": {code}})
	backups := backupRe.FindAllStringSubmatch(p.Body, -1)
	if len(backups) == 0 {
		t.Fatalf("confirm TOTP: %d, no backup codes", p.Status)
	}
	b.post("/logout", nil).expectRedirect(t, "/login")
	b.post("/login", url.Values{"login": {"+79105550011"}, "password": {goodPassword}}).expectRedirect(t, "/login/2fa")
	b.post("/login/2fa", url.Values{"backup_code": {backups[0][1]}, "remember": {"yes"}}).expectRedirect(t, "/account")
	b.post("/logout", nil).expectRedirect(t, "/login")
	b.post("/login", url.Values{"login": {"+79105550011"}, "password": {goodPassword}}).expectRedirect(t, "/account")

	hostOnly := regexp.MustCompile(`(?i);\s*domain=`)
	for _, name := range []string{"gosid_session", "gosid_flow_register", "gosid_flow_mfa", "gosid_browser", "gosid_device", "gosid_lang"} {
		if plain := cookies.named(name); len(plain) > 0 {
			t.Errorf("under TLS %s was set without the __Host- prefix: %q", name, plain)
		}
		set := cookies.named("__Host-" + name)
		if len(set) == 0 {
			t.Errorf("__Host-%s never set", name)
		}
		for _, h := range set {
			if !strings.Contains(h, "; Secure") || !strings.Contains(h, "; Path=/") || hostOnly.MatchString(h) {
				t.Errorf("Set-Cookie %q: want Secure, Path=/ and no Domain", h)
			}
		}
	}
}
