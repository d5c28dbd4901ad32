package keys

import (
	"bytes"
	"crypto"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Supported signing algorithms.
const (
	ES256 = "ES256" // ECDSA P-256 with SHA-256
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 2048-bit with SHA-256
)

// algorithms lists the algorithms Gosid keeps a signing key for, in the
// order keys appear in the JWKS.
var algorithms = []string{ES256, RS256}

// Algorithms returns the algorithms Gosid keeps a signing key for, in the
// order their keys appear in the JWKS: ES256, RS256.
func Algorithms() []string { return slices.Clone(algorithms) }

// ErrCorrupt is returned when stored key material fails authentication or
// does not parse: a ciphertext was altered, moved to another row, or the
// row's public key does not match its kid.
var ErrCorrupt = errors.New("stored key material is corrupt or was tampered with")

// ciphertextV1 prefixes every sealed blob: version 1 is
// 0x01 || 12-byte nonce || AES-256-GCM ciphertext and tag.
const ciphertextV1 = 0x01

// seal encrypts plaintext with a fresh random nonce.
func seal(aead cipher.AEAD, plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = ciphertextV1
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return aead.Seal(out, out[1:], plaintext, aad), nil
}

// open decrypts a blob made by seal; any mismatch of key, associated data or
// bytes yields ErrCorrupt.
func open(aead cipher.AEAD, blob, aad []byte) ([]byte, error) {
	ns := aead.NonceSize()
	if len(blob) < 1+ns+aead.Overhead() || blob[0] != ciphertextV1 {
		return nil, fmt.Errorf("%w: malformed ciphertext", ErrCorrupt)
	}
	pt, err := aead.Open(nil, blob[1:1+ns], blob[1+ns:], aad)
	if err != nil {
		return nil, fmt.Errorf("%w: ciphertext fails authentication", ErrCorrupt)
	}
	return pt, nil
}

// dataKey is an unwrapped data key, held only as its AES-GCM instance.
type dataKey struct {
	id    string
	seq   int
	aead  cipher.AEAD
	index []byte // blind-index key derived from the raw key (see fields.go)
}

func (k *dataKey) String() string   { return "dataKey(" + k.id + ")" }
func (k *dataKey) GoString() string { return k.String() }
func (k *dataKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("data_key_id", k.id))
}

// randomID returns n random bytes in unpadded base64url.
func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// generateKey makes a new private key for alg. It is slow for RS256
// (tens to hundreds of milliseconds), so callers run it outside any
// transaction.
func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
}

func jwaAlg(alg string) jwa.SignatureAlgorithm {
	if alg == RS256 {
		return jwa.RS256()
	}
	return jwa.ES256()
}

// publicJWK is what the JWKS publishes for one key: the public members,
// kid, alg and use, and the kid derived from them.
type publicJWK struct {
	kid  string
	json []byte
}

// makePublicJWK builds the public JWK of pub. The kid is the RFC 7638
// SHA-256 thumbprint, so that a kid names exactly one public key.
func makePublicJWK(alg string, pub crypto.PublicKey) (publicJWK, error) {
	if err := checkPublic(alg, pub); err != nil {
		return publicJWK{}, err
	}
	k, err := jwk.Import(pub)
	if err != nil {
		return publicJWK{}, fmt.Errorf("import public key: %w", err)
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return publicJWK{}, fmt.Errorf("thumbprint: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	for name, v := range map[string]any{
		jwk.KeyIDKey:     kid,
		jwk.AlgorithmKey: jwaAlg(alg),
		jwk.KeyUsageKey:  jwk.ForSignature,
	} {
		if err := k.Set(name, v); err != nil {
			return publicJWK{}, fmt.Errorf("set %s: %w", name, err)
		}
	}
	b, err := json.Marshal(k)
	if err != nil {
		return publicJWK{}, fmt.Errorf("marshal JWK: %w", err)
	}
	return publicJWK{kid: kid, json: b}, nil
}

// checkPublic insists on the key type and size that alg promises.
func checkPublic(alg string, pub crypto.PublicKey) error {
	switch alg {
	case ES256:
		if k, ok := pub.(*ecdsa.PublicKey); ok && k.Curve == elliptic.P256() {
			return nil
		}
	case RS256:
		if k, ok := pub.(*rsa.PublicKey); ok && k.N.BitLen() >= 2048 {
			return nil
		}
	default:
		return fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	return fmt.Errorf("%w: public key of type %T does not suit %s", ErrCorrupt, pub, alg)
}

// sealedKey is a newly generated key ready to insert.
type sealedKey struct {
	kid        string
	alg        string
	publicDER  []byte
	privateEnc []byte
	dataKeyID  string
}

// sealNewKey generates a key for alg and seals its PKCS#8 form under dk with
// the kid as associated data.
func sealNewKey(alg string, dk *dataKey) (sealedKey, error) {
	priv, err := generateKey(alg)
	if err != nil {
		return sealedKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return sealedKey{}, err
	}
	pj, err := makePublicJWK(alg, priv.Public())
	if err != nil {
		return sealedKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return sealedKey{}, err
	}
	defer clear(der)
	enc, err := seal(dk.aead, der, []byte(pj.kid))
	if err != nil {
		return sealedKey{}, err
	}
	return sealedKey{kid: pj.kid, alg: alg, publicDER: pubDER, privateEnc: enc, dataKeyID: dk.id}, nil
}

// material is a key's parsed public part and, while it may still sign, its
// private part.
type material struct {
	jwk     publicJWK
	public  crypto.PublicKey
	private crypto.Signer // nil once the key can no longer sign
}

// parsePublic parses a row's public key and checks that it matches kid.
func parsePublic(kid, alg string, der []byte) (*material, error) {
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w: public key does not parse", kid, ErrCorrupt)
	}
	pj, err := makePublicJWK(alg, pub)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", kid, err)
	}
	if pj.kid != kid {
		return nil, fmt.Errorf("key %s: %w: public key does not match the kid", kid, ErrCorrupt)
	}
	return &material{jwk: pj, public: pub}, nil
}

// openPrivate decrypts a row's private key and checks it against the
// public key.
func openPrivate(m *material, kid string, enc []byte, dk *dataKey) (crypto.Signer, error) {
	der, err := open(dk.aead, enc, []byte(kid))
	if err != nil {
		return nil, fmt.Errorf("decrypt private key %s under data key %s: %w", kid, dk.id, err)
	}
	defer clear(der)
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w: PKCS#8 does not parse", kid, ErrCorrupt)
	}
	priv, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key %s: %w: %T is not a signer", kid, ErrCorrupt, k)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if eq, ok := priv.Public().(equaler); !ok || !eq.Equal(m.public) {
		return nil, fmt.Errorf("private key %s: %w: it does not match the public key", kid, ErrCorrupt)
	}
	if rk, ok := priv.(*rsa.PrivateKey); ok {
		rk.Precompute()
	}
	return priv, nil
}

// jwksJSON concatenates the public JWKs into {"keys":[…]}.
func jwksJSON(keys []publicJWK) []byte {
	var b bytes.Buffer
	b.WriteString(`{"keys":[`)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(k.json)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}
