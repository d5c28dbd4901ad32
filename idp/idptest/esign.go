package idptest

import (
	"context"
	"encoding/base64"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cms"
)

// CertFixtures is the folder of keys/cert's OpenSSL-made certificates
// (a trust list, CRLs, and citizens' certificates and keys), seen from a
// package folder under idp/.
var CertFixtures = filepath.Join("..", "..", "keys", "cert", "testdata")

// Fixture reads a file of CertFixtures.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(CertFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CertVerify is the real signature check over the fixtures' trust list and
// CRLs, as idp/esign takes it.
func CertVerify(t testing.TB) func(ctx context.Context, sig, content []byte) (*cms.Result, error) {
	t.Helper()
	pool, err := cert.OpenTrustDir(filepath.Join(CertFixtures, "trust"))
	if err != nil {
		t.Fatal(err)
	}
	crls := cert.NewCRLStore(&cert.HTTPFetcher{Client: &http.Client{Timeout: time.Second}, Timeout: time.Second})
	if err := crls.AddFiles(filepath.Join(CertFixtures, "ca.crl"), filepath.Join(CertFixtures, "root.crl")); err != nil {
		t.Fatal(err)
	}
	v := &cert.Verifier{Roots: pool, CRLs: crls}
	return func(ctx context.Context, sig, content []byte) (*cms.Result, error) {
		return cms.Check(ctx, v, sig, content)
	}
}

// SignAs returns a detached signature (base64 DER) of content made with
// the fixture citizen's key, as the citizen's signing tool makes it.
func SignAs(t testing.TB, citizen string, content []byte) string {
	t.Helper()
	signer, _, err := cms.LoadSigner(Fixture(t, citizen+".key"), "")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := cert.ParseCertificates(Fixture(t, citizen+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	inter, err := cert.ParseCertificates(Fixture(t, "intermediate.pem"))
	if err != nil {
		t.Fatal(err)
	}
	der, err := cms.SignDetached(content, signer, leaf[0], inter, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// SNILSOf is the fixture citizen's SNILS, canonical (123-456-789 01).
func SNILSOf(t testing.TB, citizen string) string {
	t.Helper()
	c, err := cert.ParseCertificates(Fixture(t, citizen+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	d := cert.SubjectOf(c[0]).SNILS
	return d[0:3] + "-" + d[3:6] + "-" + d[6:9] + " " + d[9:11]
}

var esignChallengeRe = regexp.MustCompile(`<textarea id="challenge" readonly rows="3">([^<]+)</textarea>`)

// SignPage loads an e-signature page (sign-in, binding) and returns a
// signature of its challenge by the fixture citizen.
func (b *Browser) SignPage(t testing.TB, path, citizen string) string {
	t.Helper()
	p := b.Get(t, path)
	m := esignChallengeRe.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("%s: %d, no challenge", path, p.Status)
	}
	return SignAs(t, citizen, []byte(html.UnescapeString(m[1])))
}
