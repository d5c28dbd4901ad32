package cms

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cert/certtest"
)

func TestRefusals(t *testing.T) {
	for _, dir := range certtest.Dirs(t) {
		f := certtest.Open(t, dir)
		v := f.Verifier()
		challenge := f.File("challenge.txt")
		good := f.File("citizen256.cms.der")
		streebog := []byte{0x06, 0x08, 0x2a, 0x85, 0x03, 0x07, 0x01, 0x01, 0x02, 0x02}
		unknownDigest := bytes.ReplaceAll(good, streebog, []byte{0x06, 0x08, 0x2a, 0x85, 0x03, 0x07, 0x01, 0x01, 0x02, 0x09})
		if bytes.Equal(unknownDigest, good) {
			t.Fatal("digest OID not found")
		}
		cases := []struct {
			name    string
			sig     []byte
			content []byte
			want    error
		}{
			{"expired", f.File("expired.cms.der"), challenge, cert.ErrExpired},
			{"revoked", f.File("revoked.cms.der"), challenge, cert.ErrRevoked},
			{"revoked noattr", f.File("revoked.noattr.cms.der"), challenge, cert.ErrRevoked},
			{"untrusted CA", f.File("untrusted.cms.der"), challenge, cert.ErrUntrusted},
			{"no digitalSignature", f.File("nodigsig.cms.der"), challenge, cert.ErrKeyUsage},
			{"broken chain", f.File("broken.cms.der"), challenge, cert.ErrBrokenChain},
			{"other content", good, []byte("another challenge"), cert.ErrBadSignature},
			{"other content noattr", f.File("citizen512.noattr.cms.der"), []byte("another challenge"), cert.ErrBadSignature},
			{"other content rsa", f.File("citizenrsa.cms.der"), challenge[1:], cert.ErrBadSignature},
			{"other content ecdsa noattr", f.File("citizenecdsa.noattr.cms.der"), challenge[1:], cert.ErrBadSignature},
			{"unknown digest", unknownDigest, challenge, cert.ErrUnsupportedAlgorithm},
			{"empty", nil, challenge, cert.ErrMalformed},
			{"garbage", []byte("hello, world"), challenge, cert.ErrMalformed},
			{"truncated", good[:len(good)-1], challenge, cert.ErrMalformed},
			{"trailing garbage", append(append([]byte{}, good...), 0), challenge, cert.ErrMalformed},
			{"trailing PEM garbage", append(f.File("citizen256.cms.pem"), "junk"...), challenge, cert.ErrMalformed},
			{"certificate instead", f.File("citizen256.pem"), challenge, cert.ErrMalformed},
			{"no content", good, nil, cert.ErrMalformed},
		}
		for _, tc := range cases {
			t.Run(f.Name()+"/"+tc.name, func(t *testing.T) {
				_, err := Check(context.Background(), v, tc.sig, tc.content)
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
			})
		}
	}
}

// TestInputForms accepts what a citizen may paste: bare base64 with or
// without line breaks and padding, URL-safe base64, and PEM types.
func TestInputForms(t *testing.T) {
	f := certtest.Open(t, certtest.Committed())
	v := f.Verifier()
	der := f.File("citizen256.cms.der")
	std := base64.StdEncoding.EncodeToString(der)
	var wrapped strings.Builder
	for i := 0; i < len(std); i += 64 {
		wrapped.WriteString(std[i:min(i+64, len(std))] + "\r\n")
	}
	pkcs7 := strings.NewReplacer("BEGIN CMS-", "BEGIN PKCS7-", "END CMS-", "END PKCS7-").Replace(string(f.File("citizen256.cms.pem")))
	for name, in := range map[string]string{
		"base64":      std,
		"wrapped":     "  \n" + wrapped.String(),
		"unpadded":    strings.TrimRight(std, "="),
		"url":         base64.RawURLEncoding.EncodeToString(der),
		"pkcs7 PEM":   pkcs7,
		"signed data": strings.NewReplacer("BEGIN PKCS7-", "BEGIN SIGNED DATA-", "END PKCS7-", "END SIGNED DATA-").Replace(pkcs7),
	} {
		if _, err := Check(context.Background(), v, []byte(in), f.File("challenge.txt")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestTwoSigners refuses a SignedData with a second signer info.
func TestTwoSigners(t *testing.T) {
	f := certtest.Open(t, certtest.Committed())
	_, err := Parse(duplicateSigner(t, f.File("citizen256.noattr.cms.der")))
	if !errors.Is(err, cert.ErrMalformed) || !strings.Contains(err.Error(), "exactly one") {
		t.Fatalf("two signers: %v", err)
	}
}

// flip returns b with bit i flipped.
func flip(b []byte, i int) []byte {
	out := append([]byte{}, b...)
	out[i/8] ^= 1 << (i % 8)
	return out
}

// TestBitFlips: every single-bit change of the signature, the content and
// the signed attributes, and of every byte (plus a random sample of bits)
// of the signer's certificate, is refused.
func TestBitFlips(t *testing.T) {
	f := certtest.Open(t, certtest.Committed())
	v := f.Verifier()
	challenge := f.File("challenge.txt")
	refused := func(t *testing.T, sig, content []byte, what string, i int) {
		t.Helper()
		if _, err := Check(context.Background(), v, sig, content); err == nil {
			t.Fatalf("%s: bit %d flipped and still accepted", what, i)
		}
	}
	for _, name := range []string{"citizen256.cms.der", "citizen256.noattr.cms.der"} {
		der := f.File(name)
		sd, err := Parse(der)
		if err != nil {
			t.Fatal(err)
		}
		locate := func(part []byte) int {
			at := bytes.Index(der, part)
			if at < 0 || len(part) == 0 {
				t.Fatalf("%s: part not found", name)
			}
			return at
		}
		t.Run(name+"/signature", func(t *testing.T) {
			t.Parallel()
			at := locate(sd.signer.signature)
			for i := 8 * at; i < 8*(at+len(sd.signer.signature)); i++ {
				refused(t, flip(der, i), challenge, "signature", i)
			}
		})
		t.Run(name+"/content", func(t *testing.T) {
			t.Parallel()
			for i := range 8 * len(challenge) {
				refused(t, der, flip(challenge, i), "content", i)
			}
		})
		if sd.signer.signedAttrs != nil {
			t.Run(name+"/signed attributes", func(t *testing.T) {
				t.Parallel()
				at := locate(sd.signer.signedAttrs)
				for i := 8 * at; i < 8*(at+len(sd.signer.signedAttrs)); i++ {
					refused(t, flip(der, i), challenge, "signed attributes", i)
				}
			})
		}
		t.Run(name+"/certificate", func(t *testing.T) {
			t.Parallel()
			leaf := f.Cert("citizen256").Raw
			at := locate(leaf)
			rng := rand.New(rand.NewPCG(1, 2))
			samples := 256
			if testing.Short() {
				samples = 16
			}
			for j := range len(leaf) + samples {
				i := 8*(at+j) + j%8
				if j >= len(leaf) {
					i = 8*at + rng.IntN(8*len(leaf))
				}
				refused(t, flip(der, i), challenge, "certificate", i)
			}
		})
	}
}
