package certtest

import (
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/keys/cert"
)

// EnvOpenSSL is the variable that asks for fresh OpenSSL fixtures and makes
// a missing OpenSSL GOST engine a test failure instead of a skip.
const EnvOpenSSL = "GOSID_OPENSSL_FIXTURES"

// Citizens are the fixtures whose signatures must verify.
var Citizens = []string{"citizen256", "citizen256b", "citizen512", "citizenrsa", "citizenecdsa"}

// Committed returns the directory of the committed fixtures.
func Committed() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(filepath.Dir(file)), "testdata")
}

// Required reports whether OpenSSL checks must run (EnvOpenSSL=1).
func Required() bool { return os.Getenv(EnvOpenSSL) == "1" }

var (
	gostOnce sync.Once
	gostOK   bool
)

// OpenSSLGOST reports whether an openssl command with the gost engine is
// available.
func OpenSSLGOST() bool {
	gostOnce.Do(func() {
		out, err := exec.Command("openssl", "engine", "gost").CombinedOutput()
		gostOK = err == nil && strings.Contains(string(out), "gost")
	})
	return gostOK
}

// NeedOpenSSL skips t when OpenSSL with the GOST engine is missing, or
// fails it when EnvOpenSSL=1.
func NeedOpenSSL(t testing.TB) {
	t.Helper()
	if OpenSSLGOST() {
		return
	}
	if Required() {
		t.Fatalf("openssl with the gost engine is required (%s=1) but not available", EnvOpenSSL)
	}
	t.Skip("openssl with the gost engine not available")
}

var (
	freshOnce sync.Once
	freshDir  string
	freshErr  error
	freshOut  []byte
)

// Dirs returns the fixture directories to run a test on: the committed
// one, and with EnvOpenSSL=1 one freshly made by gen.sh (once per test
// binary).
func Dirs(t testing.TB) []string {
	t.Helper()
	dirs := []string{Committed()}
	if !Required() {
		return dirs
	}
	NeedOpenSSL(t)
	freshOnce.Do(func() {
		freshDir, freshErr = os.MkdirTemp("", "gosid-fixtures-")
		if freshErr != nil {
			return
		}
		cmd := exec.Command("bash", filepath.Join(Committed(), "gen.sh"), freshDir)
		freshOut, freshErr = cmd.CombinedOutput()
	})
	if freshErr != nil {
		t.Fatalf("gen.sh: %v\n%s", freshErr, freshOut)
	}
	return append(dirs, freshDir)
}

// Fixtures is one directory of fixtures.
type Fixtures struct {
	Dir string
	t   testing.TB
}

// Open returns the fixtures in dir.
func Open(t testing.TB, dir string) *Fixtures { return &Fixtures{Dir: dir, t: t} }

// Name is a short label for subtests: "committed" or "fresh".
func (f *Fixtures) Name() string {
	if f.Dir == Committed() {
		return "committed"
	}
	return "fresh"
}

// File returns the content of a fixture file.
func (f *Fixtures) File(name string) []byte {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.Dir, name))
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// Path returns the path of a fixture file.
func (f *Fixtures) Path(name string) string { return filepath.Join(f.Dir, name) }

// Cert returns the certificate NAME.pem.
func (f *Fixtures) Cert(name string) *x509.Certificate {
	f.t.Helper()
	cs, err := cert.ParseCertificates(f.File(name + ".pem"))
	if err != nil || len(cs) != 1 {
		f.t.Fatalf("%s.pem: %v", name, err)
	}
	return cs[0]
}

// Now is a time at which the fixtures are valid: an hour after the
// intermediate's CRL was made.
func (f *Fixtures) Now() time.Time {
	f.t.Helper()
	crl, err := cert.ParseCRL(f.File("ca.crl"))
	if err != nil {
		f.t.Fatal(err)
	}
	return crl.ThisUpdate.Add(time.Hour)
}

// Roots returns the trust pool of the fixtures (trust/, the root only).
func (f *Fixtures) Roots() *cert.Pool {
	f.t.Helper()
	p, err := cert.OpenTrustDir(filepath.Join(f.Dir, "trust"))
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// CRLs returns an offline CRL store with ca.crl and root.crl.
func (f *Fixtures) CRLs() *cert.CRLStore {
	f.t.Helper()
	s := cert.NewCRLStore(nil)
	now := f.Now()
	s.Now = func() time.Time { return now }
	if err := s.AddFiles(f.Path("ca.crl"), f.Path("root.crl")); err != nil {
		f.t.Fatal(err)
	}
	return s
}

// Verifier returns a verifier of the fixtures with offline CRLs, at Now.
func (f *Fixtures) Verifier() *cert.Verifier {
	now := f.Now()
	return &cert.Verifier{Roots: f.Roots(), CRLs: f.CRLs(), Now: func() time.Time { return now }}
}
