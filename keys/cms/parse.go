package cms

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/gosid/gosid/keys/cert"
)

// Limits on what Parse accepts.
const (
	// MaxSize is the largest signature accepted, in any encoding.
	MaxSize = 4 << 20
	// MaxCertificates is the most certificates a SignedData may carry.
	MaxCertificates = 32
	maxAttributes   = 32
	maxAlgorithms   = 8
)

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
)

// PEM block types accepted around a CMS signature.
var pemTypes = map[string]bool{
	"CMS": true, "PKCS7": true, "PKCS #7 SIGNED DATA": true, "SIGNED DATA": true, "SIGNATURE": true,
}

// SignedData is a parsed CMS SignedData (RFC 5652) with exactly one signer.
type SignedData struct {
	// Certificates are those carried in the SignedData, in order.
	Certificates []*x509.Certificate
	// ContentType is the encapsulated content type (id-data for sign-in).
	ContentType asn1.ObjectIdentifier
	// Content is the encapsulated content of an attached signature; nil
	// for a detached one.
	Content []byte

	certErrors int // certificates crypto/x509 could not parse
	signer     signerInfo
}

type signerInfo struct {
	issuer      []byte // DER Name of issuerAndSerialNumber
	serial      *big.Int
	ski         []byte // subjectKeyIdentifier form
	digestAlg   pkix.AlgorithmIdentifier
	signedAttrs []byte // the [0] element as received, nil when absent
	attrs       []attribute
	sigAlg      pkix.AlgorithmIdentifier
	signature   []byte
}

type attribute struct {
	oid    asn1.ObjectIdentifier
	values [][]byte // DER elements
}

func malformed(what string) error { return fmt.Errorf("%w: CMS %s", cert.ErrMalformed, what) }

// Decode turns what a citizen supplies into DER: DER itself, PEM with a
// CMS, PKCS7 or SIGNED DATA block, or bare base64 (standard or URL
// alphabet, padding and line breaks optional).
func Decode(data []byte) ([]byte, error) {
	if len(data) > MaxSize {
		return nil, malformed(fmt.Sprintf("larger than %d bytes", MaxSize))
	}
	if len(data) > 0 && data[0] == 0x30 {
		return data, nil
	}
	text := bytes.TrimSpace(data)
	if bytes.HasPrefix(text, []byte("-----BEGIN ")) {
		b, rest := pem.Decode(text)
		if b == nil || !pemTypes[b.Type] {
			return nil, malformed("PEM block: want CMS, PKCS7 or SIGNED DATA")
		}
		if len(bytes.TrimSpace(rest)) != 0 {
			return nil, malformed("trailing data after the PEM block")
		}
		return b.Bytes, nil
	}
	compact := make([]byte, 0, len(text))
	for _, c := range text {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			compact = append(compact, c)
		}
	}
	compact = bytes.TrimRight(compact, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if der, err := enc.DecodeString(string(compact)); err == nil && len(der) > 0 && der[0] == 0x30 {
			return der, nil
		}
	}
	return nil, malformed("encoding: not DER, PEM or base64")
}

// Parse parses a CMS ContentInfo holding a SignedData with exactly one
// signer, given as DER, PEM or base64 (see Decode). Only DER is accepted:
// definite, minimal lengths and no trailing data.
func Parse(data []byte) (*SignedData, error) {
	der, err := Decode(data)
	if err != nil {
		return nil, err
	}
	in := cryptobyte.String(der)
	var ci, sdOuter, sd cryptobyte.String
	var ctype asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, malformed("ContentInfo (or trailing data)")
	}
	if !ci.ReadASN1ObjectIdentifier(&ctype) || !ctype.Equal(oidSignedData) {
		return nil, malformed("content type: not SignedData")
	}
	if !ci.ReadASN1(&sdOuter, cbasn1.Tag(0).Constructed().ContextSpecific()) || !ci.Empty() ||
		!sdOuter.ReadASN1(&sd, cbasn1.SEQUENCE) || !sdOuter.Empty() {
		return nil, malformed("SignedData")
	}
	var version int
	var digestAlgs, encap cryptobyte.String
	if !sd.ReadASN1Integer(&version) || version < 1 || version > 5 ||
		!sd.ReadASN1(&digestAlgs, cbasn1.SET) || !sd.ReadASN1(&encap, cbasn1.SEQUENCE) {
		return nil, malformed("SignedData header")
	}
	for n := 0; !digestAlgs.Empty(); n++ {
		var alg cryptobyte.String
		if n >= maxAlgorithms || !digestAlgs.ReadASN1(&alg, cbasn1.SEQUENCE) {
			return nil, malformed("digest algorithms")
		}
	}
	s := &SignedData{}
	if !encap.ReadASN1ObjectIdentifier(&s.ContentType) {
		return nil, malformed("encapsulated content type")
	}
	if !encap.Empty() {
		var explicit, content cryptobyte.String
		if !encap.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !encap.Empty() ||
			!explicit.ReadASN1(&content, cbasn1.OCTET_STRING) || !explicit.Empty() {
			return nil, malformed("encapsulated content")
		}
		s.Content = append([]byte{}, content...)
	}
	var certs cryptobyte.String
	var hasCerts bool
	if !sd.ReadOptionalASN1(&certs, &hasCerts, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, malformed("certificates")
	}
	for !certs.Empty() {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !certs.ReadAnyASN1Element(&el, &tag) {
			return nil, malformed("certificates")
		}
		if len(s.Certificates)+s.certErrors >= MaxCertificates {
			return nil, malformed(fmt.Sprintf("more than %d certificates", MaxCertificates))
		}
		if tag != cbasn1.SEQUENCE {
			continue // attribute certificates and other formats
		}
		c, err := x509.ParseCertificate(el)
		if err != nil {
			s.certErrors++
			continue
		}
		s.Certificates = append(s.Certificates, c)
	}
	var crls cryptobyte.String
	if !sd.ReadOptionalASN1(&crls, nil, cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return nil, malformed("CRLs")
	}
	var infos cryptobyte.String
	if !sd.ReadASN1(&infos, cbasn1.SET) || !sd.Empty() {
		return nil, malformed("signer infos")
	}
	n := 0
	for !infos.Empty() {
		var si cryptobyte.String
		if !infos.ReadASN1(&si, cbasn1.SEQUENCE) {
			return nil, malformed("signer info")
		}
		n++
		if n > 1 {
			continue
		}
		if err := s.signer.parse(si); err != nil {
			return nil, err
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("%w: CMS has %d signers, exactly one is required", cert.ErrMalformed, n)
	}
	return s, nil
}

func (si *signerInfo) parse(in cryptobyte.String) error {
	var version int
	if !in.ReadASN1Integer(&version) || (version != 1 && version != 3) {
		return malformed("signer info version")
	}
	switch {
	case in.PeekASN1Tag(cbasn1.SEQUENCE):
		var ias, name cryptobyte.String
		si.serial = new(big.Int)
		if !in.ReadASN1(&ias, cbasn1.SEQUENCE) || !ias.ReadASN1Element(&name, cbasn1.SEQUENCE) ||
			!ias.ReadASN1Integer(si.serial) || !ias.Empty() {
			return malformed("issuer and serial number")
		}
		si.issuer = name
	case in.PeekASN1Tag(cbasn1.Tag(0).ContextSpecific()):
		var ski cryptobyte.String
		if !in.ReadASN1(&ski, cbasn1.Tag(0).ContextSpecific()) || len(ski) == 0 {
			return malformed("subject key identifier")
		}
		si.ski = ski
	default:
		return malformed("signer identifier")
	}
	var err error
	if si.digestAlg, err = readAlgorithm(&in); err != nil {
		return malformed("digest algorithm")
	}
	if in.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		var el, attrs cryptobyte.String
		if !in.ReadASN1Element(&el, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return malformed("signed attributes")
		}
		si.signedAttrs = el
		attrs = el
		if !attrs.ReadASN1(&attrs, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return malformed("signed attributes")
		}
		if si.attrs, err = parseAttributes(attrs); err != nil {
			return err
		}
	}
	if si.sigAlg, err = readAlgorithm(&in); err != nil {
		return malformed("signature algorithm")
	}
	var sig cryptobyte.String
	if !in.ReadASN1(&sig, cbasn1.OCTET_STRING) || len(sig) == 0 {
		return malformed("signature value")
	}
	si.signature = sig
	var unsigned cryptobyte.String
	if !in.ReadOptionalASN1(&unsigned, nil, cbasn1.Tag(1).Constructed().ContextSpecific()) || !in.Empty() {
		return malformed("signer info (trailing data)")
	}
	return nil
}

func readAlgorithm(in *cryptobyte.String) (pkix.AlgorithmIdentifier, error) {
	var alg pkix.AlgorithmIdentifier
	var el cryptobyte.String
	if !in.ReadASN1Element(&el, cbasn1.SEQUENCE) {
		return alg, malformed("algorithm identifier")
	}
	if rest, err := asn1.Unmarshal(el, &alg); err != nil || len(rest) != 0 {
		return alg, malformed("algorithm identifier")
	}
	return alg, nil
}

func parseAttributes(in cryptobyte.String) ([]attribute, error) {
	var attrs []attribute
	for !in.Empty() {
		var a attribute
		var seq, set cryptobyte.String
		if len(attrs) >= maxAttributes || !in.ReadASN1(&seq, cbasn1.SEQUENCE) ||
			!seq.ReadASN1ObjectIdentifier(&a.oid) || !seq.ReadASN1(&set, cbasn1.SET) || !seq.Empty() {
			return nil, malformed("attribute")
		}
		for !set.Empty() {
			var v cryptobyte.String
			var tag cbasn1.Tag
			if len(a.values) >= maxAttributes || !set.ReadAnyASN1Element(&v, &tag) {
				return nil, malformed("attribute value")
			}
			a.values = append(a.values, v)
		}
		attrs = append(attrs, a)
	}
	return attrs, nil
}
