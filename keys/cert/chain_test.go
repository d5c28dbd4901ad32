package cert_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cert/certtest"
)

func TestFixtureChains(t *testing.T) {
	for _, dir := range certtest.Dirs(t) {
		f := certtest.Open(t, dir)
		v := f.Verifier()
		inter := []*x509.Certificate{f.Cert("intermediate")}
		t.Run(f.Name(), func(t *testing.T) {
			for _, name := range certtest.Citizens {
				leaf := f.Cert(name)
				chain, err := v.Verify(context.Background(), leaf, inter)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if len(chain.Certificates) != 3 || chain.Leaf() != leaf || !chain.Anchor().Equal(f.Cert("root")) || !chain.RevocationChecked {
					t.Errorf("%s: chain %d long, revocation %v", name, len(chain.Certificates), chain.RevocationChecked)
				}
				s := cert.SubjectOf(leaf)
				if !cert.ValidSNILS(s.SNILS) || len(s.INN) != 12 || s.FamilyName == "" || s.GivenName == "" ||
					!strings.HasPrefix(s.CommonName, s.FamilyName+" ") || !s.Qualified ||
					len(s.Policies) != 1 || s.Policies[0] != "1.2.643.100.113.1" {
					t.Errorf("%s: subject %+v", name, s)
				}
			}
			// The intermediate is also found among several candidates
			// with its name: the fake one's key does not verify.
			if _, err := v.Verify(context.Background(), f.Cert("citizen256"), []*x509.Certificate{f.Cert("fake"), f.Cert("intermediate")}); err != nil {
				t.Errorf("two candidate issuers: %v", err)
			}
		})
	}
}

func TestSubjectValues(t *testing.T) {
	f := certtest.Open(t, certtest.Committed())
	s := cert.SubjectOf(f.Cert("citizen256"))
	if s.FamilyName != "Иванов" || s.GivenName != "Иван Иванович" || s.CommonName != "Иванов Иван Иванович" {
		t.Errorf("names %+v", s)
	}
	if s := cert.SubjectOf(f.Cert("root")); s.Qualified || s.SNILS != "" {
		t.Errorf("root subject %+v", s)
	}
	for snils, ok := range map[string]bool{"11223344595": true, "11223344594": false, "1122334459": false, "1122334459a": false} {
		if cert.ValidSNILS(snils) != ok {
			t.Errorf("ValidSNILS(%s) != %v", snils, ok)
		}
	}
}

func TestFixtureRefusals(t *testing.T) {
	for _, dir := range certtest.Dirs(t) {
		f := certtest.Open(t, dir)
		v := f.Verifier()
		inter := f.Cert("intermediate")
		corrupt, err := x509.ParseCertificate(flipLast(inter.Raw))
		if err != nil {
			t.Fatal(err)
		}
		noCRL := f.Verifier()
		noCRL.CRLs = cert.NewCRLStore(nil)
		cases := []struct {
			name  string
			v     *cert.Verifier
			leaf  string
			inter []*x509.Certificate
			want  error
		}{
			{"expired", v, "expired", []*x509.Certificate{inter}, cert.ErrExpired},
			{"revoked", v, "revoked", []*x509.Certificate{inter}, cert.ErrRevoked},
			{"untrusted", v, "untrusted", []*x509.Certificate{f.Cert("rogue")}, cert.ErrUntrusted},
			{"no digitalSignature", v, "nodigsig", []*x509.Certificate{inter}, cert.ErrKeyUsage},
			{"broken", v, "broken", []*x509.Certificate{inter}, cert.ErrBrokenChain},
			{"broken with fake", v, "broken", []*x509.Certificate{inter, f.Cert("fake")}, cert.ErrBrokenChain},
			{"corrupted intermediate", v, "citizen256", []*x509.Certificate{corrupt}, cert.ErrBrokenChain},
			{"missing intermediate", v, "citizen256", nil, cert.ErrUntrusted},
			{"no CRL", noCRL, "citizen256", []*x509.Certificate{inter}, cert.ErrRevocationUnknown},
			{"leaf is a CA", v, "intermediate", []*x509.Certificate{inter}, cert.ErrKeyUsage},
		}
		for _, tc := range cases {
			t.Run(f.Name()+"/"+tc.name, func(t *testing.T) {
				_, err := tc.v.Verify(context.Background(), f.Cert(tc.leaf), tc.inter)
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
			})
		}
		t.Run(f.Name()+"/not yet valid", func(t *testing.T) {
			early := f.Verifier()
			early.Now = func() time.Time { return f.Cert("root").NotBefore.Add(-time.Hour) }
			if _, err := early.Verify(context.Background(), f.Cert("citizen256"), []*x509.Certificate{inter}); !errors.Is(err, cert.ErrNotYetValid) {
				t.Fatal(err)
			}
		})
	}
}

// flipLast flips a bit in the last byte: the signature value.
func flipLast(b []byte) []byte {
	out := append([]byte{}, b...)
	out[len(out)-1] ^= 1
	return out
}

// pki makes ECDSA certificates for the synthetic cases.
type pki struct {
	t   *testing.T
	now time.Time
	n   int64
}

type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func (p *pki) make(cn string, issuer *issued, edit func(*x509.Certificate)) *issued {
	p.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.makeWithKey(cn, issuer, key, edit)
}

func (p *pki) makeWithKey(cn string, issuer *issued, key *ecdsa.PrivateKey, edit func(*x509.Certificate)) *issued {
	p.t.Helper()
	p.n++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.n), Subject: pkix.Name{CommonName: cn},
		NotBefore: p.now.Add(-time.Hour), NotAfter: p.now.Add(time.Hour),
		BasicConstraintsValid: true, IsCA: true, MaxPathLen: -1,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	if edit != nil {
		edit(tmpl)
	}
	parent, signer := tmpl, key
	if issuer != nil {
		parent, signer = issuer.cert, issuer.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		p.t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		p.t.Fatal(err)
	}
	return &issued{c, key}
}

func TestSyntheticChains(t *testing.T) {
	p := &pki{t: t, now: time.Now()}
	now := func() time.Time { return p.now }
	root := p.make("root", nil, nil)
	v := &cert.Verifier{Roots: cert.NewPool(root.cert), Now: now}
	ctx := context.Background()

	t.Run("deep", func(t *testing.T) {
		cur := root
		var inter []*x509.Certificate
		for i := range 9 {
			cur = p.make("ca"+string(rune('a'+i)), cur, nil)
			inter = append([]*x509.Certificate{cur.cert}, inter...)
		}
		leaf := p.make("leaf", cur, func(c *x509.Certificate) { c.IsCA = false })
		if _, err := v.Verify(ctx, leaf.cert, inter); !errors.Is(err, cert.ErrUntrusted) {
			t.Fatalf("11 certificates with the default depth: %v", err)
		}
		deep := &cert.Verifier{Roots: v.Roots, Now: now, MaxDepth: 11}
		if _, err := deep.Verify(ctx, leaf.cert, inter); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("loop", func(t *testing.T) {
		// a and b certify each other; neither leads to the root.
		a0, b0 := p.make("a", nil, nil), p.make("b", nil, nil)
		a1 := p.makeWithKey("a", b0, a0.key, nil)
		b1 := p.makeWithKey("b", a0, b0.key, nil)
		leaf := p.make("leaf", a0, func(c *x509.Certificate) { c.IsCA = false })
		_, err := v.Verify(ctx, leaf.cert, []*x509.Certificate{a1.cert, b1.cert})
		if !errors.Is(err, cert.ErrUntrusted) {
			t.Fatalf("loop: %v", err)
		}
	})
	t.Run("path length", func(t *testing.T) {
		r := p.make("plroot", nil, func(c *x509.Certificate) { c.MaxPathLen, c.MaxPathLenZero = 0, true })
		mid := p.make("plmid", r, nil)
		leaf := p.make("plleaf", mid, func(c *x509.Certificate) { c.IsCA = false })
		pv := &cert.Verifier{Roots: cert.NewPool(r.cert), Now: now}
		if _, err := pv.Verify(ctx, leaf.cert, []*x509.Certificate{mid.cert}); !errors.Is(err, cert.ErrPathLen) {
			t.Fatalf("path length: %v", err)
		}
	})
	t.Run("not a CA", func(t *testing.T) {
		mid := p.make("nca", root, func(c *x509.Certificate) { c.IsCA = false })
		leaf := p.make("ncaleaf", mid, func(c *x509.Certificate) { c.IsCA = false })
		if _, err := v.Verify(ctx, leaf.cert, []*x509.Certificate{mid.cert}); !errors.Is(err, cert.ErrNotCA) {
			t.Fatalf("not a CA: %v", err)
		}
	})
	t.Run("expired intermediate", func(t *testing.T) {
		mid := p.make("old", root, func(c *x509.Certificate) { c.NotAfter = p.now.Add(-time.Minute) })
		leaf := p.make("oldleaf", mid, func(c *x509.Certificate) { c.IsCA = false })
		if _, err := v.Verify(ctx, leaf.cert, []*x509.Certificate{mid.cert}); !errors.Is(err, cert.ErrExpired) {
			t.Fatalf("expired intermediate: %v", err)
		}
	})
	t.Run("critical extension", func(t *testing.T) {
		leaf := p.make("crit", root, func(c *x509.Certificate) {
			c.IsCA = false
			c.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}}}
		})
		if _, err := v.Verify(ctx, leaf.cert, nil); !errors.Is(err, cert.ErrCriticalExtension) {
			t.Fatalf("critical extension: %v", err)
		}
	})
	t.Run("many candidates", func(t *testing.T) {
		// Thirty CAs with one name, each certified by all before it: the
		// search is bounded.
		var cas []*issued
		var inter []*x509.Certificate
		for i := range 30 {
			issuer := root
			if i > 0 {
				issuer = cas[i-1]
			}
			c := p.make("same", issuer, nil)
			cas = append(cas, c)
			inter = append(inter, c.cert)
		}
		leaf := p.make("manyleaf", cas[len(cas)-1], func(c *x509.Certificate) { c.IsCA = false })
		start := time.Now()
		_, _ = v.Verify(ctx, leaf.cert, inter)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v", d)
		}
	})
}

func TestCheckSignatureRefusals(t *testing.T) {
	f := certtest.Open(t, certtest.Committed())
	pub, err := cert.PublicKeyOf(f.Cert("citizen256"))
	if err != nil {
		t.Fatal(err)
	}
	for name, alg := range map[string]asn1.ObjectIdentifier{
		"unknown":         {1, 2, 3, 4},
		"sha1WithRSA":     {1, 2, 840, 113549, 1, 1, 5},
		"512 with 256key": cert.OIDSignGOST512,
		"ecdsa":           cert.OIDECDSAWithSHA256,
	} {
		err := cert.CheckSignature(pub, pkix.AlgorithmIdentifier{Algorithm: alg}, []byte("x"), make([]byte, 64))
		if !errors.Is(err, cert.ErrUnsupportedAlgorithm) {
			t.Errorf("%s: %v", name, err)
		}
	}
	err = cert.CheckSignature(pub, pkix.AlgorithmIdentifier{Algorithm: cert.OIDSignGOST256}, []byte("x"), make([]byte, 64))
	if !errors.Is(err, cert.ErrBadSignature) {
		t.Errorf("zero signature: %v", err)
	}
}
