package cms

import (
	"context"
	"errors"
	"testing"

	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cert/certtest"
)

// TestOpenSSLSignatures checks every signature the GOST engine made: both
// key sizes, both paramsets, RSA and ECDSA, with and without signed
// attributes, DER and PEM; the chain validates to the root and SNILS and
// INN come out.
func TestOpenSSLSignatures(t *testing.T) {
	for _, dir := range certtest.Dirs(t) {
		f := certtest.Open(t, dir)
		v := f.Verifier()
		challenge := f.File("challenge.txt")
		t.Run(f.Name(), func(t *testing.T) {
			for _, name := range certtest.Citizens {
				for _, suffix := range []string{".cms.der", ".cms.pem", ".noattr.cms.der", ".noattr.cms.pem"} {
					t.Run(name+suffix, func(t *testing.T) {
						res, err := Check(context.Background(), v, f.File(name+suffix), challenge)
						if err != nil {
							t.Fatal(err)
						}
						if got := len(res.Chain.Certificates); got != 3 || !res.Chain.RevocationChecked {
							t.Errorf("chain of %d, revocation checked %v", got, res.Chain.RevocationChecked)
						}
						if !cert.ValidSNILS(res.Subject.SNILS) || len(res.Subject.INN) != 12 || !res.Subject.Qualified {
							t.Errorf("subject %+v", res.Subject)
						}
						if res.Signer.SignedAttributes == (suffix[1:7] == "noattr") {
							t.Errorf("signed attributes %v", res.Signer.SignedAttributes)
						}
						if res.Signer.SignedAttributes && res.Signer.SigningTime.IsZero() {
							t.Error("no signing time")
						}
					})
				}
			}
			t.Run("attached", func(t *testing.T) {
				if _, err := Check(context.Background(), v, f.File("citizen256.attached.cms.der"), challenge); err != nil {
					t.Fatal(err)
				}
				if _, err := Check(context.Background(), v, f.File("citizen256.attached.cms.der"), []byte("other")); !errors.Is(err, cert.ErrBadSignature) {
					t.Fatalf("other content: %v", err)
				}
			})
		})
	}
}
