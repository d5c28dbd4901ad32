package cms

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cert/certtest"
	"github.com/gosid/gosid/keys/gost"
)

func matches(t *testing.T, signer any, c *x509.Certificate) {
	t.Helper()
	pub, err := cert.PublicKeyOf(c)
	if err != nil {
		t.Fatal(err)
	}
	switch k := signer.(type) {
	case *gost.PrivateKey:
		gp, ok := pub.(*gost.PublicKey)
		if !ok || gp.X.Cmp(k.X) != 0 || gp.Y.Cmp(k.Y) != 0 || gp.Curve != k.Curve {
			t.Fatal("GOST key does not match its certificate")
		}
	case crypto.Signer:
		if !samePublicKey(k.Public(), pub) {
			t.Fatal("key does not match its certificate")
		}
	default:
		t.Fatalf("signer %T", signer)
	}
}

func TestLoadSigner(t *testing.T) {
	for _, dir := range certtest.Dirs(t) {
		f := certtest.Open(t, dir)
		t.Run(f.Name(), func(t *testing.T) {
			for _, name := range append(certtest.Citizens, "expired", "revoked") {
				s, certs, err := LoadSigner(f.File(name+".key"), "")
				if err != nil || len(certs) != 0 {
					t.Fatalf("%s: %v", name, err)
				}
				matches(t, s, f.Cert(name))
			}
			for _, p12 := range []string{"citizenrsa.p12", "citizenecdsa.p12", "citizen256.p12", "citizenecdsa.legacy.p12"} {
				s, certs, err := LoadSigner(f.File(p12), "test")
				if err != nil {
					t.Fatalf("%s: %v", p12, err)
				}
				if len(certs) == 0 {
					t.Fatalf("%s: no certificates", p12)
				}
				matches(t, s, certs[0])
				if _, _, err := LoadSigner(f.File(p12), "wrong"); !errors.Is(err, ErrPassword) {
					t.Errorf("%s with a wrong password: %v", p12, err)
				}
			}
			s, _, err := LoadSigner(f.File("citizen512.enc.key"), "test")
			if err != nil {
				t.Fatal(err)
			}
			matches(t, s, f.Cert("citizen512"))
			if _, _, err := LoadSigner(f.File("citizen512.enc.key"), "nope"); !errors.Is(err, ErrPassword) {
				t.Errorf("wrong password: %v", err)
			}
		})
	}
}

// TestGOSTKeyLayouts writes the other PKCS #8 layouts the GOST engine reads
// and checks they give the same key.
func TestGOSTKeyLayouts(t *testing.T) {
	f := certtest.Open(t, certtest.Committed())
	for _, name := range []string{"citizen256", "citizen512"} {
		s, _, err := LoadSigner(f.File(name+".key"), "")
		if err != nil {
			t.Fatal(err)
		}
		k := s.(*gost.PrivateKey)
		n := k.Curve.Size
		le := func(v *big.Int) []byte {
			b := v.FillBytes(make([]byte, n))
			for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
				b[i], b[j] = b[j], b[i]
			}
			return b
		}
		// A mask m: the stored value is d·m⁻¹, to be multiplied by m.
		m := big.NewInt(0x1234567)
		dm := new(big.Int).Mul(k.D, new(big.Int).ModInverse(m, k.Curve.Q))
		dm.Mod(dm, k.Curve.Q)
		var octet, integer, seq cryptobyte.Builder
		octet.AddASN1OctetString(le(k.D))
		integer.AddASN1BigInt(k.D)
		seq.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1OctetString(append(le(dm), le(m)...))
			b.AddASN1OctetString(k.PublicKey.Bytes())
		})
		for label, raw := range map[string][]byte{
			"raw":     le(k.D),
			"masked":  append(le(dm), le(m)...),
			"octet":   octet.BytesOrPanic(),
			"integer": integer.BytesOrPanic(),
			"seq":     seq.BytesOrPanic(),
		} {
			var b cryptobyte.Builder
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(0)
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(cert.GOSTKeyAlgorithm(k.Curve))
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(cert.GOSTParamSet(k.Curve))
					})
				})
				b.AddASN1OctetString(raw)
			})
			got, _, err := LoadSigner(b.BytesOrPanic(), "")
			if err != nil {
				t.Fatalf("%s %s: %v", name, label, err)
			}
			if got.(*gost.PrivateKey).D.Cmp(k.D) != 0 {
				t.Errorf("%s %s: another key", name, label)
			}
		}
	}
}

// TestWrongPasswordByChance: about one wrong password in 256 passes the
// decryption's padding check and yields bytes that are no key; that is a
// wrong password too (ErrPassword), not a malformed file — CI's run of
// TestLoadSigner met one with a freshly encrypted key.
func TestWrongPasswordByChance(t *testing.T) {
	f := certtest.Open(t, certtest.Committed())
	data := f.File("citizen512.enc.key")
	for i := range 1500 {
		if _, _, err := LoadSigner(data, fmt.Sprintf("wrong-%d", i)); !errors.Is(err, ErrPassword) {
			t.Fatalf("password wrong-%d: %v, want ErrPassword", i, err)
		}
	}
}
