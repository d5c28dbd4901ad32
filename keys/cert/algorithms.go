package cert

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"sync"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/gosid/gosid/keys/gost"
)

// Object identifiers of the algorithms this package handles.
var (
	OIDGOST256PublicKey = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 1, 1} // id-tc26-gost3410-12-256
	OIDGOST512PublicKey = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 1, 2} // id-tc26-gost3410-12-512
	OIDStreebog256      = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 2, 2} // id-tc26-gost3411-12-256
	OIDStreebog512      = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 2, 3} // id-tc26-gost3411-12-512
	OIDSignGOST256      = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 3, 2} // id-tc26-signwithdigest-gost3410-12-256
	OIDSignGOST512      = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 3, 3} // id-tc26-signwithdigest-gost3410-12-512

	OIDSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	OIDSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	OIDSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	OIDRSAEncryption   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	OIDRSAPSS          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	OIDSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	OIDSHA384WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	OIDSHA512WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	OIDECPublicKey     = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	OIDECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	OIDECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	OIDECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	OIDEd25519         = asn1.ObjectIdentifier{1, 3, 101, 112}

	oidMGF1 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
)

// GOST parameter sets by OID (RFC 4357, RFC 7836). Several OIDs name the
// same curve.
var gostParamSets = []struct {
	oid   asn1.ObjectIdentifier
	curve *gost.Curve
}{
	{asn1.ObjectIdentifier{1, 2, 643, 7, 1, 2, 1, 1, 1}, gost.CurveTC26256A},
	{asn1.ObjectIdentifier{1, 2, 643, 2, 2, 35, 1}, gost.CurveCryptoProA},
	{asn1.ObjectIdentifier{1, 2, 643, 2, 2, 35, 2}, gost.CurveCryptoProB},
	{asn1.ObjectIdentifier{1, 2, 643, 2, 2, 35, 3}, gost.CurveCryptoProC},
	{asn1.ObjectIdentifier{1, 2, 643, 7, 1, 2, 1, 2, 1}, gost.CurveTC26512A},
	{asn1.ObjectIdentifier{1, 2, 643, 7, 1, 2, 1, 2, 2}, gost.CurveTC26512B},
	{asn1.ObjectIdentifier{1, 2, 643, 7, 1, 2, 1, 2, 3}, gost.CurveTC26512C},
	{asn1.ObjectIdentifier{1, 2, 643, 7, 1, 2, 1, 1, 2}, gost.CurveTC26256B},
	{asn1.ObjectIdentifier{1, 2, 643, 7, 1, 2, 1, 1, 3}, gost.CurveTC26256C},
	{asn1.ObjectIdentifier{1, 2, 643, 7, 1, 2, 1, 1, 4}, gost.CurveTC26256D},
	{asn1.ObjectIdentifier{1, 2, 643, 2, 2, 36, 0}, gost.CurveCryptoProXchA},
	{asn1.ObjectIdentifier{1, 2, 643, 2, 2, 36, 1}, gost.CurveCryptoProXchB},
}

// GOSTCurve returns the curve a GOST parameter-set OID names, or nil.
func GOSTCurve(paramSet asn1.ObjectIdentifier) *gost.Curve {
	for _, p := range gostParamSets {
		if p.oid.Equal(paramSet) {
			return p.curve
		}
	}
	return nil
}

// GOSTParamSet returns the OID OpenSSL writes for curve c (the first one
// listed for it), or nil for an unknown curve.
func GOSTParamSet(c *gost.Curve) asn1.ObjectIdentifier {
	for _, p := range gostParamSets {
		if p.curve == c {
			return p.oid
		}
	}
	return nil
}

// GOSTKeyAlgorithm returns the public-key OID for a GOST curve of c's size.
func GOSTKeyAlgorithm(c *gost.Curve) asn1.ObjectIdentifier {
	if c.Size == 64 {
		return OIDGOST512PublicKey
	}
	return OIDGOST256PublicKey
}

// GOSTDigestAlgorithm returns the Streebog OID that goes with curve c.
func GOSTDigestAlgorithm(c *gost.Curve) asn1.ObjectIdentifier {
	if c.Size == 64 {
		return OIDStreebog512
	}
	return OIDStreebog256
}

// digestAlg is a hash this package accepts in signatures.
type digestAlg struct {
	oid  asn1.ObjectIdentifier
	hash crypto.Hash // 0 for Streebog
	new  func() hash.Hash
}

var digests = []*digestAlg{
	{OIDSHA256, crypto.SHA256, sha256.New},
	{OIDSHA384, crypto.SHA384, sha512.New384},
	{OIDSHA512, crypto.SHA512, sha512.New},
	{OIDStreebog256, 0, gost.New256},
	{OIDStreebog512, 0, gost.New512},
}

func digestByOID(oid asn1.ObjectIdentifier) *digestAlg {
	for _, d := range digests {
		if d.oid.Equal(oid) {
			return d
		}
	}
	return nil
}

// NewHash returns a new hash for a digest algorithm: SHA-256/384/512 or
// Streebog-256/512. Parameters must be absent or NULL. SHA-1 and MD5 are
// refused.
func NewHash(alg pkix.AlgorithmIdentifier) (hash.Hash, error) {
	d := digestByOID(alg.Algorithm)
	if d == nil || !nullOrAbsent(alg.Parameters) {
		return nil, fmt.Errorf("%w: digest %s", ErrUnsupportedAlgorithm, alg.Algorithm)
	}
	return d.new(), nil
}

func nullOrAbsent(p asn1.RawValue) bool {
	return len(p.FullBytes) == 0 || bytes.Equal(p.FullBytes, []byte{asn1.TagNull, 0})
}

type keyKind int

const (
	kindRSA keyKind = iota + 1
	kindECDSA
	kindEd25519
	kindGOST256
	kindGOST512
)

// scheme is a resolved signature algorithm.
type scheme struct {
	kind   keyKind
	digest *digestAlg // nil for Ed25519
	pss    *rsa.PSSOptions
}

var sigSchemes = []struct {
	oid    asn1.ObjectIdentifier
	kind   keyKind
	digest asn1.ObjectIdentifier // nil: taken from the separate digest algorithm
}{
	{OIDSHA256WithRSA, kindRSA, OIDSHA256},
	{OIDSHA384WithRSA, kindRSA, OIDSHA384},
	{OIDSHA512WithRSA, kindRSA, OIDSHA512},
	{OIDRSAEncryption, kindRSA, nil},
	{OIDECDSAWithSHA256, kindECDSA, OIDSHA256},
	{OIDECDSAWithSHA384, kindECDSA, OIDSHA384},
	{OIDECDSAWithSHA512, kindECDSA, OIDSHA512},
	{OIDECPublicKey, kindECDSA, nil},
	{OIDSignGOST256, kindGOST256, OIDStreebog256},
	{OIDSignGOST512, kindGOST512, OIDStreebog512},
	// CMS signer infos made by OpenSSL's GOST engine name the key
	// algorithm; the digest algorithm must then be the matching Streebog.
	{OIDGOST256PublicKey, kindGOST256, OIDStreebog256},
	{OIDGOST512PublicKey, kindGOST512, OIDStreebog512},
}

// resolve works out the signature scheme from a signature algorithm and,
// for CMS, the separate digest algorithm (zero when there is none).
func resolve(sigAlg, digAlg pkix.AlgorithmIdentifier) (scheme, error) {
	unsupported := func(why string) (scheme, error) {
		return scheme{}, fmt.Errorf("%w: %s (signature %s, digest %s)", ErrUnsupportedAlgorithm, why, sigAlg.Algorithm, digAlg.Algorithm)
	}
	var sepDigest *digestAlg
	if len(digAlg.Algorithm) > 0 {
		if sepDigest = digestByOID(digAlg.Algorithm); sepDigest == nil || !nullOrAbsent(digAlg.Parameters) {
			return unsupported("digest algorithm")
		}
	}
	switch {
	case sigAlg.Algorithm.Equal(OIDEd25519):
		if len(sigAlg.Parameters.FullBytes) != 0 {
			return unsupported("parameters on Ed25519")
		}
		return scheme{kind: kindEd25519}, nil
	case sigAlg.Algorithm.Equal(OIDRSAPSS):
		opts, d, err := parsePSS(sigAlg.Parameters)
		if err != nil {
			return unsupported(err.Error())
		}
		if sepDigest != nil && sepDigest != d {
			return unsupported("digest algorithm does not match the signature algorithm")
		}
		return scheme{kind: kindRSA, digest: d, pss: opts}, nil
	}
	for _, s := range sigSchemes {
		if !s.oid.Equal(sigAlg.Algorithm) {
			continue
		}
		// ECDSA identifiers carry no parameters; the others NULL or none.
		// id-ecPublicKey as a CMS signature algorithm may carry the curve.
		if !nullOrAbsent(sigAlg.Parameters) && !s.oid.Equal(OIDECPublicKey) {
			return unsupported("unexpected parameters")
		}
		d := sepDigest
		if s.digest != nil {
			fixed := digestByOID(s.digest)
			if d != nil && d != fixed {
				return unsupported("digest algorithm does not match the signature algorithm")
			}
			d = fixed
		}
		if d == nil {
			return unsupported("no digest algorithm")
		}
		if (s.kind == kindRSA || s.kind == kindECDSA) && d.hash == 0 {
			return unsupported("Streebog with a non-GOST key")
		}
		return scheme{kind: s.kind, digest: d}, nil
	}
	return unsupported("signature algorithm")
}

func parsePSS(params asn1.RawValue) (*rsa.PSSOptions, *digestAlg, error) {
	var p struct {
		Hash         pkix.AlgorithmIdentifier `asn1:"explicit,tag:0,optional"`
		MGF          pkix.AlgorithmIdentifier `asn1:"explicit,tag:1,optional"`
		SaltLength   int                      `asn1:"explicit,tag:2,default:20"`
		TrailerField int                      `asn1:"explicit,tag:3,default:1"`
	}
	if rest, err := asn1.Unmarshal(params.FullBytes, &p); err != nil || len(rest) != 0 {
		return nil, nil, errors.New("bad RSASSA-PSS parameters")
	}
	d := digestByOID(p.Hash.Algorithm)
	if d == nil || d.hash == 0 || !nullOrAbsent(p.Hash.Parameters) {
		return nil, nil, errors.New("RSASSA-PSS hash (SHA-1 is refused)")
	}
	var mgfHash pkix.AlgorithmIdentifier
	if !p.MGF.Algorithm.Equal(oidMGF1) {
		return nil, nil, errors.New("RSASSA-PSS mask generation function")
	}
	if rest, err := asn1.Unmarshal(p.MGF.Parameters.FullBytes, &mgfHash); err != nil || len(rest) != 0 || !mgfHash.Algorithm.Equal(d.oid) {
		return nil, nil, errors.New("RSASSA-PSS MGF1 hash differs from the message hash")
	}
	if p.SaltLength < 0 || p.TrailerField != 1 {
		return nil, nil, errors.New("RSASSA-PSS salt length or trailer field")
	}
	return &rsa.PSSOptions{SaltLength: p.SaltLength, Hash: d.hash}, d, nil
}

// CheckSignature checks sig over signed with pub (*rsa.PublicKey,
// *ecdsa.PublicKey, ed25519.PublicKey or *gost.PublicKey) under the
// signature algorithm alg of a certificate or CRL. A GOST signature is the
// s || r value of the BIT STRING (or CMS OCTET STRING), each half big-endian,
// over the Streebog digest of signed. It returns nil, or an error wrapping
// ErrBadSignature or ErrUnsupportedAlgorithm.
func CheckSignature(pub any, alg pkix.AlgorithmIdentifier, signed, sig []byte) error {
	return CheckDigestSignature(pub, alg, pkix.AlgorithmIdentifier{}, signed, sig)
}

// CheckDigestSignature is CheckSignature for CMS signer infos, whose
// signature algorithm may name only the key type (rsaEncryption,
// id-ecPublicKey, a GOST key algorithm) with the hash in a separate digest
// algorithm. When both name a hash they must agree.
func CheckDigestSignature(pub any, sigAlg, digestAlg pkix.AlgorithmIdentifier, signed, sig []byte) error {
	s, err := resolve(sigAlg, digestAlg)
	if err != nil {
		return err
	}
	var digest []byte
	if s.digest != nil {
		h := s.digest.new()
		h.Write(signed)
		digest = h.Sum(nil)
	}
	return s.verify(pub, signed, digest, sig)
}

func (s scheme) verify(pub any, signed, digest, sig []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if s.kind != kindRSA {
			break
		}
		if s.pss != nil {
			if err := rsa.VerifyPSS(k, s.digest.hash, digest, sig, s.pss); err != nil {
				return fmt.Errorf("%w: RSA-PSS: %w", ErrBadSignature, err)
			}
			return nil
		}
		if err := rsa.VerifyPKCS1v15(k, s.digest.hash, digest, sig); err != nil {
			return fmt.Errorf("%w: RSA: %w", ErrBadSignature, err)
		}
		return nil
	case *ecdsa.PublicKey:
		if s.kind != kindECDSA {
			break
		}
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return fmt.Errorf("%w: ECDSA", ErrBadSignature)
		}
		return nil
	case ed25519.PublicKey:
		if s.kind != kindEd25519 {
			break
		}
		if len(k) != ed25519.PublicKeySize || !ed25519.Verify(k, signed, sig) {
			return fmt.Errorf("%w: Ed25519", ErrBadSignature)
		}
		return nil
	case *gost.PublicKey:
		if k == nil || k.Curve == nil || !(s.kind == kindGOST256 && k.Curve.Size == 32 || s.kind == kindGOST512 && k.Curve.Size == 64) {
			break
		}
		if !gost.Verify(k, digest, sig) {
			return fmt.Errorf("%w: GOST R 34.10-2012", ErrBadSignature)
		}
		return nil
	}
	return fmt.Errorf("%w: key type %T does not match the signature algorithm", ErrUnsupportedAlgorithm, pub)
}

// PublicKeyOf returns the public key of c: what crypto/x509 parsed for RSA,
// ECDSA and Ed25519, or a *gost.PublicKey for GOST R 34.10-2012 keys, which
// crypto/x509 leaves unparsed.
func PublicKeyOf(c *x509.Certificate) (any, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: no certificate", ErrMalformed)
	}
	if c.PublicKeyAlgorithm != x509.UnknownPublicKeyAlgorithm && c.PublicKey != nil {
		return c.PublicKey, nil
	}
	return ParsePublicKeyInfo(c.RawSubjectPublicKeyInfo)
}

// gostKeys caches parsed GOST keys by their SubjectPublicKeyInfo: parsing
// checks subgroup membership, which costs as much as a signature check, and
// the same CA keys come by on every sign-in.
var gostKeys struct {
	sync.Mutex
	m map[string]*gost.PublicKey
}

const gostKeyCacheSize = 1024

// ParsePublicKeyInfo parses a DER SubjectPublicKeyInfo, including GOST R
// 34.10-2012 keys: algorithm 1.2.643.7.1.1.1.1 or .1.2 with parameters
// SEQUENCE { paramSet OID, digest OID OPTIONAL, … } and a BIT STRING holding
// an OCTET STRING of X || Y, each coordinate little-endian.
func ParsePublicKeyInfo(spki []byte) (any, error) {
	in := cryptobyte.String(spki)
	var info, algSeq, algOID, params cryptobyte.String
	var bits asn1.BitString
	if !in.ReadASN1(&info, cbasn1.SEQUENCE) || !in.Empty() ||
		!info.ReadASN1(&algSeq, cbasn1.SEQUENCE) || !algSeq.ReadASN1Element(&algOID, cbasn1.OBJECT_IDENTIFIER) {
		return nil, fmt.Errorf("%w: subject public key info", ErrMalformed)
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(algOID, &oid); err != nil {
		return nil, fmt.Errorf("%w: public key algorithm", ErrMalformed)
	}
	size := 0
	switch {
	case oid.Equal(OIDGOST256PublicKey):
		size = 32
	case oid.Equal(OIDGOST512PublicKey):
		size = 64
	default:
		pub, err := x509.ParsePKIXPublicKey(spki)
		if err != nil {
			if errors.Is(err, errors.ErrUnsupported) || bytes.Contains([]byte(err.Error()), []byte("unknown public key algorithm")) {
				return nil, fmt.Errorf("%w: public key %s", ErrUnsupportedAlgorithm, oid)
			}
			return nil, fmt.Errorf("%w: public key: %w", ErrMalformed, err)
		}
		return pub, nil
	}
	gostKeys.Lock()
	pub := gostKeys.m[string(spki)]
	gostKeys.Unlock()
	if pub != nil {
		return pub, nil
	}
	var curveOID asn1.ObjectIdentifier
	if !algSeq.ReadASN1(&params, cbasn1.SEQUENCE) || !algSeq.Empty() || !params.ReadASN1ObjectIdentifier(&curveOID) {
		return nil, fmt.Errorf("%w: GOST key parameters", ErrMalformed)
	}
	// The digest and cipher parameter OIDs that may follow are implied by
	// the key algorithm in 2012 keys; skip them.
	for !params.Empty() {
		var skip asn1.ObjectIdentifier
		if !params.ReadASN1ObjectIdentifier(&skip) {
			return nil, fmt.Errorf("%w: GOST key parameters", ErrMalformed)
		}
	}
	curve := GOSTCurve(curveOID)
	if curve == nil {
		return nil, fmt.Errorf("%w: GOST parameter set %s", ErrUnsupportedAlgorithm, curveOID)
	}
	if curve.Size != size {
		return nil, fmt.Errorf("%w: GOST parameter set %s with a %d-bit key algorithm", ErrMalformed, curveOID, size*8)
	}
	var bitsDER cryptobyte.String
	if !info.ReadASN1Element(&bitsDER, cbasn1.BIT_STRING) || !info.Empty() {
		return nil, fmt.Errorf("%w: GOST public key", ErrMalformed)
	}
	if rest, err := asn1.Unmarshal(bitsDER, &bits); err != nil || len(rest) != 0 || bits.BitLength%8 != 0 {
		return nil, fmt.Errorf("%w: GOST public key", ErrMalformed)
	}
	raw := cryptobyte.String(bits.Bytes)
	var point cryptobyte.String
	if !raw.ReadASN1(&point, cbasn1.OCTET_STRING) || !raw.Empty() {
		return nil, fmt.Errorf("%w: GOST public key", ErrMalformed)
	}
	pub, err := gost.ParsePublicKey(curve, point)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	gostKeys.Lock()
	if len(gostKeys.m) >= gostKeyCacheSize || gostKeys.m == nil {
		gostKeys.m = make(map[string]*gost.PublicKey)
	}
	gostKeys.m[string(spki)] = pub
	gostKeys.Unlock()
	return pub, nil
}

// outerSignature splits a signed X.509 structure (certificate or CRL:
// SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING }) into its algorithm
// and signature value.
func outerSignature(raw []byte) (pkix.AlgorithmIdentifier, []byte, error) {
	var alg pkix.AlgorithmIdentifier
	in := cryptobyte.String(raw)
	var outer, tbs, algDER cryptobyte.String
	var bitsDER cryptobyte.String
	if !in.ReadASN1(&outer, cbasn1.SEQUENCE) || !outer.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!outer.ReadASN1Element(&algDER, cbasn1.SEQUENCE) || !outer.ReadASN1Element(&bitsDER, cbasn1.BIT_STRING) {
		return alg, nil, fmt.Errorf("%w: signed structure", ErrMalformed)
	}
	if rest, err := asn1.Unmarshal(algDER, &alg); err != nil || len(rest) != 0 {
		return alg, nil, fmt.Errorf("%w: signature algorithm", ErrMalformed)
	}
	var bits asn1.BitString
	if rest, err := asn1.Unmarshal(bitsDER, &bits); err != nil || len(rest) != 0 || bits.BitLength%8 != 0 {
		return alg, nil, fmt.Errorf("%w: signature value", ErrMalformed)
	}
	return alg, bits.Bytes, nil
}

// CheckCertificateSignature checks that issuer's key made c's signature.
// It checks no names or constraints; see Verifier for that.
func CheckCertificateSignature(c, issuer *x509.Certificate) error {
	pub, err := PublicKeyOf(issuer)
	if err != nil {
		return err
	}
	alg, sig, err := outerSignature(c.Raw)
	if err != nil {
		return err
	}
	return CheckSignature(pub, alg, c.RawTBSCertificate, sig)
}

// CheckCRLSignature checks that issuer's key made the signature on crl.
func CheckCRLSignature(crl *x509.RevocationList, issuer *x509.Certificate) error {
	pub, err := PublicKeyOf(issuer)
	if err != nil {
		return err
	}
	alg, sig, err := outerSignature(crl.Raw)
	if err != nil {
		return err
	}
	return CheckSignature(pub, alg, crl.RawTBSRevocationList, sig)
}
