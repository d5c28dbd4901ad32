package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/gost"
)

// ErrPassword reports a wrong password for an encrypted key or PKCS #12
// file.
var ErrPassword = errors.New("cms: wrong password or corrupted key file")

// LoadSigner reads a software signing key for SignDetached and the
// certificates that came with it, the key's own certificate first.
//
// keyData may be PEM (PRIVATE KEY or ENCRYPTED PRIVATE KEY in PKCS #8, RSA
// PRIVATE KEY, EC PRIVATE KEY, with any CERTIFICATE blocks), DER PKCS #8, or
// a PKCS #12 file. GOST keys are read in every PKCS #8 layout OpenSSL's GOST
// engine reads: the private key OCTET STRING holding the scalar
// little-endian (what `openssl genpkey -engine gost` writes), optionally
// followed by masks it is to be multiplied by, a nested OCTET STRING
// (little-endian), an INTEGER (big-endian) or a masked-key SEQUENCE.
// Encrypted PKCS #8 and PKCS #12 are read with PBES2 (PBKDF2 with HMAC
// SHA-1/SHA-2/Streebog, AES-CBC or 3DES-CBC) and with the PKCS #12
// pbeWithSHAAnd3-KeyTripleDES-CBC scheme, which covers what OpenSSL 3 writes
// for RSA, ECDSA and GOST keys alike; a MAC with SHA-1 or SHA-2 is checked.
// PKCS #12 files encrypted with the GOST ciphers (Kuznyechik, Magma), or
// with a Streebog MAC, as some Russian tools write them, give
// cert.ErrUnsupportedAlgorithm: convert them with OpenSSL first.
//
// The signer is a *gost.PrivateKey or a crypto.Signer.
func LoadSigner(keyData []byte, password string) (signer any, certs []*x509.Certificate, err error) {
	trimmed := bytes.TrimSpace(keyData)
	if bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		signer, certs, err = loadPEM(trimmed, password)
	} else if isPFX(keyData) {
		signer, certs, err = parsePKCS12(keyData, password)
	} else {
		signer, err = parsePKCS8(keyData)
		if err != nil {
			// Perhaps an encrypted PKCS #8 key in DER.
			key, derr := parseEncryptedPKCS8(keyData, password)
			switch {
			case derr == nil:
				signer, err = key, nil
			case errors.Is(derr, ErrPassword):
				err = derr
			}
		}
	}
	if err != nil {
		return nil, nil, err
	}
	if signer == nil {
		return nil, nil, fmt.Errorf("%w: no private key found", cert.ErrMalformed)
	}
	return signer, ownCertFirst(signer, certs), nil
}

func loadPEM(data []byte, password string) (any, []*x509.Certificate, error) {
	var signer any
	var certs []*x509.Certificate
	for len(bytes.TrimSpace(data)) > 0 {
		b, rest := pem.Decode(data)
		if b == nil {
			return nil, nil, fmt.Errorf("%w: bad PEM", cert.ErrMalformed)
		}
		data = rest
		var key any
		var err error
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: %w", cert.ErrMalformed, err)
			}
			certs = append(certs, c)
			continue
		case "PRIVATE KEY":
			key, err = parsePKCS8(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			key, err = parseEncryptedPKCS8(b.Bytes, password)
		case "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if _, enc := b.Headers["Proc-Type"]; enc {
				return nil, nil, fmt.Errorf("%w: legacy PEM encryption; convert the key to PKCS #8", cert.ErrUnsupportedAlgorithm)
			}
			if b.Type == "RSA PRIVATE KEY" {
				key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
			} else {
				key, err = x509.ParseECPrivateKey(b.Bytes)
			}
			if err != nil {
				err = fmt.Errorf("%w: %w", cert.ErrMalformed, err)
			}
		default:
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if signer != nil {
			return nil, nil, fmt.Errorf("%w: more than one private key", cert.ErrMalformed)
		}
		signer = key
	}
	return signer, certs, nil
}

// ownCertFirst moves the certificate of signer's public key to the front.
func ownCertFirst(signer any, certs []*x509.Certificate) []*x509.Certificate {
	for i, c := range certs {
		pub, err := cert.PublicKeyOf(c)
		if err != nil {
			continue
		}
		match := false
		switch k := signer.(type) {
		case *gost.PrivateKey:
			gp, ok := pub.(*gost.PublicKey)
			match = ok && gp.Curve == k.Curve && gp.X.Cmp(k.X) == 0 && gp.Y.Cmp(k.Y) == 0
		case crypto.Signer:
			match = samePublicKey(k.Public(), pub)
		}
		if match {
			out := append([]*x509.Certificate{c}, certs[:i]...)
			return append(out, certs[i+1:]...)
		}
	}
	return certs
}

// parsePKCS8 parses an unencrypted PKCS #8 PrivateKeyInfo.
// parseEncryptedPKCS8 decrypts an encrypted PKCS #8 key and parses it. A
// wrong password passes the decryption's padding check by chance (about
// one time in 256 with PKCS #7 padding) and yields bytes that are no key:
// that is ErrPassword too, not a malformed file.
func parseEncryptedPKCS8(data []byte, password string) (any, error) {
	der, err := decryptPKCS8(data, password)
	if err != nil {
		return nil, err
	}
	key, err := parsePKCS8(der)
	if errors.Is(err, cert.ErrMalformed) {
		return nil, ErrPassword
	}
	return key, err
}

func parsePKCS8(der []byte) (any, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	return parseGOSTPKCS8(der)
}

func parseGOSTPKCS8(der []byte) (*gost.PrivateKey, error) {
	in := cryptobyte.String(der)
	var info, alg, params, priv cryptobyte.String
	var version int
	var algOID, curveOID asn1.ObjectIdentifier
	if !in.ReadASN1(&info, cbasn1.SEQUENCE) || !in.Empty() || !info.ReadASN1Integer(&version) ||
		!info.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&algOID) {
		return nil, fmt.Errorf("%w: PKCS #8 private key", cert.ErrMalformed)
	}
	size := 0
	switch {
	case algOID.Equal(cert.OIDGOST256PublicKey):
		size = 32
	case algOID.Equal(cert.OIDGOST512PublicKey):
		size = 64
	default:
		return nil, fmt.Errorf("%w: private key algorithm %s", cert.ErrUnsupportedAlgorithm, algOID)
	}
	if !alg.ReadASN1(&params, cbasn1.SEQUENCE) || !params.ReadASN1ObjectIdentifier(&curveOID) ||
		!info.ReadASN1(&priv, cbasn1.OCTET_STRING) {
		return nil, fmt.Errorf("%w: GOST private key", cert.ErrMalformed)
	}
	c := cert.GOSTCurve(curveOID)
	if c == nil || c.Size != size {
		return nil, fmt.Errorf("%w: GOST parameter set %s", cert.ErrUnsupportedAlgorithm, curveOID)
	}
	d, err := gostScalar(c, priv)
	if err != nil {
		return nil, err
	}
	key, err := gost.NewPrivateKey(c, d)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", cert.ErrMalformed, err)
	}
	return key, nil
}

// gostScalar decodes the privateKey OCTET STRING content the way the GOST
// engine's priv_decode_gost does.
func gostScalar(c *gost.Curve, raw []byte) (*big.Int, error) {
	bad := fmt.Errorf("%w: GOST private key value", cert.ErrMalformed)
	n := c.Size
	switch {
	case len(raw) == 0:
		return nil, bad
	case len(raw)%n == 0:
		// The scalar little-endian, possibly followed by masks.
		return unmask(c, raw), nil
	case raw[0] == 0x04:
		s := cryptobyte.String(raw)
		var v cryptobyte.String
		if !s.ReadASN1(&v, cbasn1.OCTET_STRING) || !s.Empty() || (len(v) != 32 && len(v) != 64) {
			return nil, bad
		}
		return leInt(v), nil
	case raw[0] == 0x02:
		s := cryptobyte.String(raw)
		d := new(big.Int)
		if !s.ReadASN1Integer(d) || !s.Empty() {
			return nil, bad
		}
		return d, nil
	case raw[0] == 0x30:
		s := cryptobyte.String(raw)
		var seq, masked cryptobyte.String
		if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() || !seq.ReadASN1(&masked, cbasn1.OCTET_STRING) ||
			len(masked) == 0 || len(masked)%n != 0 {
			return nil, bad
		}
		return unmask(c, masked), nil
	}
	return nil, bad
}

// unmask returns k·m1·m2… mod Q for buf = k || m1 || m2 …, each
// little-endian and c.Size bytes long.
func unmask(c *gost.Curve, buf []byte) *big.Int {
	n := c.Size
	d := leInt(buf[:n])
	for p := n; p < len(buf); p += n {
		d.Mul(d, leInt(buf[p:p+n]))
		d.Mod(d, c.Q)
	}
	return d
}

func leInt(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i, v := range b {
		be[len(b)-1-i] = v
	}
	return new(big.Int).SetBytes(be)
}

// ErrNoCertificate: SignWithKey was given no certificate, neither in
// certData nor in the key file.
var ErrNoCertificate = errors.New("no certificate: give --cert")

// SignWithKey makes a detached CMS signature of content, as PEM, with the
// software key in keyData (see LoadSigner; password for an encrypted
// file) and the certificate with its chain in certData (PEM or DER), or,
// when certData is empty, the certificates of a PKCS#12 key file.
func SignWithKey(keyData, certData []byte, password string, content []byte, now time.Time) ([]byte, error) {
	signer, certs, err := LoadSigner(keyData, password)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	if len(certData) > 0 {
		if certs, err = cert.ParseCertificates(certData); err != nil {
			return nil, fmt.Errorf("cert: %w", err)
		}
	}
	if len(certs) == 0 {
		return nil, ErrNoCertificate
	}
	der, err := SignDetached(content, signer, certs[0], certs[1:], now)
	if err != nil {
		return nil, err
	}
	return PEM(der), nil
}
