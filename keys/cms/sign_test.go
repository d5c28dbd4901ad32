package cms

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cert/certtest"
	"github.com/gosid/gosid/keys/gost"
)

// TestSignDetachedRoundTrip signs with every citizen's key and checks the
// result with Check and, where available, with OpenSSL.
func TestSignDetachedRoundTrip(t *testing.T) {
	for _, dir := range certtest.Dirs(t) {
		f := certtest.Open(t, dir)
		v := f.Verifier()
		t.Run(f.Name(), func(t *testing.T) {
			for _, name := range certtest.Citizens {
				t.Run(name, func(t *testing.T) {
					signer, certs, err := LoadSigner(append(f.File(name+".key"), f.File(name+".pem")...), "")
					if err != nil {
						t.Fatal(err)
					}
					content := []byte("challenge " + name)
					der, err := SignDetached(content, signer, certs[0], []*x509.Certificate{f.Cert("intermediate")}, f.Now())
					if err != nil {
						t.Fatal(err)
					}
					res, err := Check(context.Background(), v, der, content)
					if err != nil {
						t.Fatal(err)
					}
					if !res.Signer.SigningTime.Equal(f.Now().Truncate(time.Second)) {
						t.Errorf("signing time %v", res.Signer.SigningTime)
					}
					if _, err := Check(context.Background(), v, der, []byte("another challenge")); !errors.Is(err, cert.ErrBadSignature) {
						t.Errorf("other content: %v", err)
					}
					opensslVerify(t, f, der, content)
				})
			}
		})
	}
}

// opensslVerify checks a detached DER signature with openssl cms -verify.
func opensslVerify(t *testing.T, f *certtest.Fixtures, der, content []byte) {
	t.Helper()
	certtest.NeedOpenSSL(t)
	tmp := t.TempDir()
	sig, data := filepath.Join(tmp, "sig.der"), filepath.Join(tmp, "content")
	if err := os.WriteFile(sig, der, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(data, content, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("openssl", "cms", "-verify", "-engine", "gost", "-binary", "-inform", "DER",
		"-in", sig, "-content", data, "-CAfile", f.Path("root.pem"), "-purpose", "any", "-out", os.DevNull)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -verify: %v\n%s", err, out)
	}
}

// TestSignDetachedKeys covers keys the fixtures lack: Ed25519, P-384 and
// freshly generated GOST keys, with self-made certificates.
func TestSignDetachedKeys(t *testing.T) {
	ed, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for _, tc := range []struct {
		name   string
		pub    any
		signer any
	}{
		{"ed25519", ed, edPriv},
		{"p384", &p384.PublicKey, p384},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: tc.name},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, tc.pub, tc.signer)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := x509.ParseCertificate(der)
			sig, err := SignDetached([]byte("x"), tc.signer, c, nil, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			sd, err := Parse(sig)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sd.Verify([]byte("x")); err != nil {
				t.Fatal(err)
			}
			if _, err := sd.Verify([]byte("y")); !errors.Is(err, cert.ErrBadSignature) {
				t.Fatalf("other content: %v", err)
			}
		})
	}
	t.Run("mismatched key", func(t *testing.T) {
		f := certtest.Open(t, certtest.Committed())
		other, _ := gost.GenerateKey(gost.CurveCryptoProA, nil)
		if _, err := SignDetached([]byte("x"), other, f.Cert("citizen256"), nil, time.Now()); err == nil {
			t.Fatal("signed with a key that is not the certificate's")
		}
	})
}
