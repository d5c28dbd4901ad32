package cms

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/gosid/gosid/keys/cert"
)

// Signer is the result of a verified signature.
type Signer struct {
	// Certificate is the signer's certificate, taken from the SignedData.
	Certificate *x509.Certificate
	// Intermediates are the other certificates of the SignedData, to build
	// the chain with.
	Intermediates []*x509.Certificate
	// SigningTime is the signing-time attribute, zero when absent. It is
	// the signer's claim, not a trusted time.
	SigningTime time.Time
	// SignedAttributes reports that the signature covers signed attributes
	// rather than the content directly.
	SignedAttributes bool
	// DigestAlgorithm and SignatureAlgorithm are those of the signer info.
	DigestAlgorithm, SignatureAlgorithm pkix.AlgorithmIdentifier
}

// Verify checks the signature over content, which for an attached
// signature must equal the encapsulated content (nil accepts whatever is
// encapsulated). With signed attributes, the content-type attribute must be
// the encapsulated type, the message-digest attribute the digest of content
// under the signer's digest algorithm, and the signature must cover the DER
// SET OF the attributes; without, the signature covers the content itself.
// The signer's certificate is found among the SignedData's certificates by
// issuer and serial number or by subject key identifier. Verify does not
// check the certificate: pass Signer.Certificate and Signer.Intermediates
// to cert.Verifier.Verify, or use Check, which does both.
func (s *SignedData) Verify(content []byte) (*Signer, error) {
	switch {
	case s.Content != nil && content != nil && !bytes.Equal(s.Content, content):
		return nil, fmt.Errorf("%w: the signed content differs from the expected content", cert.ErrBadSignature)
	case s.Content != nil:
		content = s.Content
	case content == nil:
		return nil, fmt.Errorf("%w: a detached signature needs its content", cert.ErrMalformed)
	}
	if !s.ContentType.Equal(oidData) {
		return nil, fmt.Errorf("%w: content type %s, want id-data", cert.ErrMalformed, s.ContentType)
	}
	si := &s.signer
	signerCert, err := s.findSigner()
	if err != nil {
		return nil, err
	}
	pub, err := cert.PublicKeyOf(signerCert)
	if err != nil {
		return nil, err
	}
	out := &Signer{
		Certificate:        signerCert,
		DigestAlgorithm:    si.digestAlg,
		SignatureAlgorithm: si.sigAlg,
		SignedAttributes:   si.signedAttrs != nil,
	}
	for _, c := range s.Certificates {
		if c != signerCert {
			out.Intermediates = append(out.Intermediates, c)
		}
	}
	signed := content
	if si.signedAttrs != nil {
		if out.SigningTime, err = si.checkAttributes(s.ContentType, content); err != nil {
			return nil, err
		}
		// The signature covers the attributes with their SET OF tag.
		signed = append([]byte{0x31}, si.signedAttrs[1:]...)
	}
	if err := cert.CheckDigestSignature(pub, si.sigAlg, si.digestAlg, signed, si.signature); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *SignedData) findSigner() (*x509.Certificate, error) {
	si := &s.signer
	for _, c := range s.Certificates {
		if si.ski != nil {
			if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, si.ski) {
				return c, nil
			}
			continue
		}
		if c.SerialNumber.Cmp(si.serial) == 0 && bytes.Equal(c.RawIssuer, si.issuer) {
			return c, nil
		}
	}
	if s.certErrors > 0 {
		return nil, fmt.Errorf("%w: signer's certificate not found (%d certificates could not be parsed)", cert.ErrMalformed, s.certErrors)
	}
	return nil, fmt.Errorf("%w: signer's certificate not found in the signature", cert.ErrMalformed)
}

// checkAttributes checks the content-type and message-digest attributes and
// returns the signing time, if any.
func (si *signerInfo) checkAttributes(contentType asn1.ObjectIdentifier, content []byte) (time.Time, error) {
	var signingTime time.Time
	var seenType, seenDigest, seenTime bool
	for _, a := range si.attrs {
		switch {
		case a.oid.Equal(oidContentType):
			var ct asn1.ObjectIdentifier
			if seenType || len(a.values) != 1 {
				return signingTime, malformed("content-type attribute")
			}
			seenType = true
			v := cryptobyte.String(a.values[0])
			if !v.ReadASN1ObjectIdentifier(&ct) || !v.Empty() {
				return signingTime, malformed("content-type attribute")
			}
			if !ct.Equal(contentType) {
				return signingTime, fmt.Errorf("%w: content-type attribute %s differs from the content type", cert.ErrBadSignature, ct)
			}
		case a.oid.Equal(oidMessageDigest):
			var md cryptobyte.String
			if seenDigest || len(a.values) != 1 {
				return signingTime, malformed("message-digest attribute")
			}
			seenDigest = true
			v := cryptobyte.String(a.values[0])
			if !v.ReadASN1(&md, cbasn1.OCTET_STRING) || !v.Empty() {
				return signingTime, malformed("message-digest attribute")
			}
			h, err := cert.NewHash(si.digestAlg)
			if err != nil {
				return signingTime, err
			}
			h.Write(content)
			if subtle.ConstantTimeCompare(h.Sum(nil), md) != 1 {
				return signingTime, fmt.Errorf("%w: message digest does not match the content", cert.ErrBadSignature)
			}
		case a.oid.Equal(oidSigningTime):
			if seenTime || len(a.values) != 1 {
				return signingTime, malformed("signing-time attribute")
			}
			seenTime = true
			v := cryptobyte.String(a.values[0])
			var ok bool
			switch {
			case v.PeekASN1Tag(cbasn1.UTCTime):
				ok = v.ReadASN1UTCTime(&signingTime)
			case v.PeekASN1Tag(cbasn1.GeneralizedTime):
				ok = v.ReadASN1GeneralizedTime(&signingTime)
			}
			if !ok || !v.Empty() {
				return signingTime, malformed("signing-time attribute")
			}
		}
	}
	if !seenType || !seenDigest {
		return signingTime, malformed("signed attributes lack content-type or message-digest")
	}
	return signingTime, nil
}

// Result is what Check found.
type Result struct {
	Signer  *Signer
	Chain   *cert.Chain
	Subject cert.Subject
}

// Check verifies a signature of content exactly as sign-in does: Parse,
// SignedData.Verify, then v.Verify on the signer's certificate with the
// SignedData's other certificates as intermediates.
func Check(ctx context.Context, v *cert.Verifier, signature, content []byte) (*Result, error) {
	sd, err := Parse(signature)
	if err != nil {
		return nil, err
	}
	s, err := sd.Verify(content)
	if err != nil {
		return nil, err
	}
	chain, err := v.Verify(ctx, s.Certificate, s.Intermediates)
	if err != nil {
		return nil, err
	}
	return &Result{Signer: s, Chain: chain, Subject: cert.SubjectOf(s.Certificate)}, nil
}
