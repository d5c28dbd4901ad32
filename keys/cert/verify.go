package cert

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Defaults of the chain builder.
const (
	// DefaultMaxDepth is the longest chain accepted, leaf and anchor
	// included.
	DefaultMaxDepth = 8
	// maxIntermediates bounds the certificates a signature may bring along.
	maxIntermediates = 32
	// searchBudget bounds the issuer candidates tried in one Verify, so that
	// many certificates with one name cannot make the search explode.
	searchBudget = 64
)

// Verifier checks a certificate against a trust list: path to a trust
// anchor (several candidate issuers are tried by name and key identifier),
// signatures (GOST included), validity at Now, key usage, basic constraints,
// path length, unhandled critical extensions and revocation through CRLs.
// A Verifier is safe for concurrent use; do not change its fields while it
// is in use.
type Verifier struct {
	// Roots are the trust anchors.
	Roots *Pool
	// CRLs supplies revocation lists. When nil, revocation is not checked
	// and Chain.RevocationChecked is false.
	CRLs CRLSource
	// Now returns the time at which validity is judged; nil means
	// time.Now.
	Now func() time.Time
	// MaxDepth bounds the chain length, leaf and anchor included; 0 means
	// DefaultMaxDepth.
	MaxDepth int

	memo sigMemo
}

// Chain is a verified certification path.
type Chain struct {
	// Certificates runs from the leaf to the trust anchor.
	Certificates []*x509.Certificate
	// RevocationChecked reports that every certificate below the anchor was
	// found absent from a current CRL of its issuer.
	RevocationChecked bool
}

// Leaf returns the end-entity certificate.
func (c *Chain) Leaf() *x509.Certificate { return c.Certificates[0] }

// Anchor returns the trust anchor the chain ends at.
func (c *Chain) Anchor() *x509.Certificate { return c.Certificates[len(c.Certificates)-1] }

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Verify builds and checks a path from leaf, which must allow digital
// signatures, through any of intermediates to one of v.Roots, then checks
// revocation of every certificate on it below the anchor. Errors wrap the
// package's sentinel errors; when no path verifies, the error is that of the
// most promising failed path (ErrUntrusted when none got anywhere).
func (v *Verifier) Verify(ctx context.Context, leaf *x509.Certificate, intermediates []*x509.Certificate) (*Chain, error) {
	if leaf == nil || len(leaf.Raw) == 0 {
		return nil, fmt.Errorf("%w: no certificate", ErrMalformed)
	}
	if len(intermediates) > maxIntermediates {
		return nil, fmt.Errorf("%w: %d intermediate certificates, at most %d", ErrMalformed, len(intermediates), maxIntermediates)
	}
	now := v.now()
	if err := checkCertificate(leaf, now); err != nil {
		return nil, err
	}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, fmt.Errorf("%w: the signer's certificate lacks digitalSignature", ErrKeyUsage)
	}
	depth := v.MaxDepth
	if depth <= 0 {
		depth = DefaultMaxDepth
	}
	b := &builder{
		v: v, now: now, depth: depth, budget: searchBudget,
		roots: v.Roots.load(), inter: newCertSet(intermediates),
	}
	path, err := b.extend([]*x509.Certificate{leaf})
	if err != nil {
		return nil, err
	}
	chain := &Chain{Certificates: path}
	if v.CRLs == nil {
		return chain, nil
	}
	for i := 0; i < len(path)-1; i++ {
		if err := v.checkRevocation(ctx, path[i], path[i+1], now); err != nil {
			return nil, err
		}
	}
	chain.RevocationChecked = true
	return chain, nil
}

type builder struct {
	v           *Verifier
	now         time.Time
	depth       int
	budget      int
	roots       *certSet
	inter       *certSet
	best        error // the most telling failure so far
	budgetSpent bool
}

func (b *builder) note(err error) {
	if b.best == nil || errors.Is(b.best, ErrUntrusted) {
		b.best = err
	}
}

// extend tries to complete path (leaf first) to a trust anchor.
func (b *builder) extend(path []*x509.Certificate) ([]*x509.Certificate, error) {
	cur := path[len(path)-1]
	if len(path) >= b.depth {
		b.note(fmt.Errorf("%w: chain longer than %d certificates", ErrUntrusted, b.depth))
		return nil, b.result()
	}
	candidates := make([]*x509.Certificate, 0, 4)
	candidates = append(candidates, b.roots.bySubject[string(cur.RawIssuer)]...)
	nRoots := len(candidates)
	candidates = append(candidates, b.inter.bySubject[string(cur.RawIssuer)]...)
	for i, cand := range candidates {
		if onPath(path, cand) {
			continue // loop
		}
		if len(cur.AuthorityKeyId) > 0 && len(cand.SubjectKeyId) > 0 && string(cur.AuthorityKeyId) != string(cand.SubjectKeyId) {
			continue
		}
		if b.budget <= 0 {
			b.budgetSpent = true
			b.note(fmt.Errorf("%w: too many candidate issuers", ErrUntrusted))
			return nil, b.result()
		}
		b.budget--
		isRoot := i < nRoots
		if !isRoot && b.roots.byRaw[string(cand.Raw)] {
			continue // tried as a root already
		}
		if err := checkIssuer(cand, len(path)-1, b.now); err != nil {
			b.note(err)
			continue
		}
		if err := b.v.memo.checkCert(cur, cand); err != nil {
			if errors.Is(err, ErrBadSignature) {
				// Not wrapped: this is a broken chain, not a bad signature
				// of the signed content.
				err = fmt.Errorf("%w: the certificate at depth %d does not verify with its issuer's key", ErrBrokenChain, len(path)-1)
			}
			b.note(err)
			continue
		}
		next := append(path[:len(path):len(path)], cand)
		if isRoot {
			return next, nil
		}
		if full, err := b.extend(next); err == nil {
			return full, nil
		}
		if b.budgetSpent {
			return nil, b.result()
		}
	}
	b.note(fmt.Errorf("%w: no trusted issuer found", ErrUntrusted))
	return nil, b.result()
}

func (b *builder) result() error {
	if b.best == nil {
		return fmt.Errorf("%w: no trusted issuer found", ErrUntrusted)
	}
	return b.best
}

func onPath(path []*x509.Certificate, c *x509.Certificate) bool {
	for _, p := range path {
		if p == c || string(p.Raw) == string(c.Raw) {
			return true
		}
	}
	return false
}

// checkCertificate checks what every certificate on a path must satisfy.
func checkCertificate(c *x509.Certificate, now time.Time) error {
	if now.Before(c.NotBefore) {
		return fmt.Errorf("%w: valid from %s", ErrNotYetValid, c.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(c.NotAfter) {
		return fmt.Errorf("%w: valid until %s", ErrExpired, c.NotAfter.UTC().Format(time.RFC3339))
	}
	if len(c.UnhandledCriticalExtensions) > 0 {
		return fmt.Errorf("%w: %s", ErrCriticalExtension, c.UnhandledCriticalExtensions[0])
	}
	return nil
}

// checkIssuer checks that c may issue certificates with below CA
// certificates under it on the path.
func checkIssuer(c *x509.Certificate, below int, now time.Time) error {
	if err := checkCertificate(c, now); err != nil {
		return err
	}
	if !c.BasicConstraintsValid || !c.IsCA {
		return fmt.Errorf("%w: an issuer lacks CA basic constraints", ErrNotCA)
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("%w: issuer lacks keyCertSign", ErrKeyUsage)
	}
	if (c.MaxPathLen > 0 || c.MaxPathLen == 0 && c.MaxPathLenZero) && below > c.MaxPathLen {
		return fmt.Errorf("%w: %d CA certificates below one allowing %d", ErrPathLen, below, c.MaxPathLen)
	}
	return nil
}

func (v *Verifier) checkRevocation(ctx context.Context, c, issuer *x509.Certificate, now time.Time) error {
	crl, err := v.CRLs.CRL(ctx, issuer, c.CRLDistributionPoints)
	if err != nil {
		if errors.Is(err, ErrRevocationUnknown) {
			return err
		}
		return revocationUnknown("CRL source", err)
	}
	if crl == nil {
		return fmt.Errorf("%w: no CRL", ErrRevocationUnknown)
	}
	if err := v.memo.checkCRL(crl, issuer, now); err != nil {
		return err
	}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber != nil && e.SerialNumber.Cmp(c.SerialNumber) == 0 {
			return fmt.Errorf("%w: on %s", ErrRevoked, e.RevocationTime.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// usableCRL checks that crl is issued by issuer, current at now and signed
// by issuer's key; failures wrap ErrRevocationUnknown.
func usableCRL(crl *x509.RevocationList, issuer *x509.Certificate, now time.Time, m *sigMemo) error {
	if string(crl.RawIssuer) != string(issuer.RawSubject) {
		return fmt.Errorf("%w: CRL from another issuer", ErrRevocationUnknown)
	}
	if len(crl.AuthorityKeyId) > 0 && len(issuer.SubjectKeyId) > 0 && string(crl.AuthorityKeyId) != string(issuer.SubjectKeyId) {
		return fmt.Errorf("%w: CRL signed by another key of the issuer", ErrRevocationUnknown)
	}
	if issuer.KeyUsage != 0 && issuer.KeyUsage&x509.KeyUsageCRLSign == 0 {
		return fmt.Errorf("%w: issuer may not sign CRLs", ErrRevocationUnknown)
	}
	for _, e := range crl.Extensions {
		if e.Critical {
			// Delta CRLs and issuing distribution points are not handled.
			return fmt.Errorf("%w: CRL has critical extension %s", ErrRevocationUnknown, e.Id)
		}
	}
	if !fresh(crl, now) {
		return fmt.Errorf("%w: CRL not current (next update %s)", ErrRevocationUnknown, crl.NextUpdate.UTC().Format(time.RFC3339))
	}
	if err := m.check(crl, issuer, func() error { return CheckCRLSignature(crl, issuer) }); err != nil {
		return revocationUnknown("CRL signature", err)
	}
	return nil
}

// revocationUnknown wraps ErrRevocationUnknown around the text of err but
// not err itself: a CRL that fails with ErrBadSignature or ErrMalformed must
// not make the signature or certificate look bad to errors.Is.
func revocationUnknown(what string, err error) error {
	return fmt.Errorf("%w: %s: %s", ErrRevocationUnknown, what, err.Error())
}

func fresh(crl *x509.RevocationList, now time.Time) bool {
	return !crl.NextUpdate.IsZero() && now.Before(crl.NextUpdate) && !now.Before(crl.ThisUpdate)
}

// sigMemo remembers signatures already found good, keyed by the signed
// object and the signer's public key, so that the same CA certificates and
// CRLs are not checked again on every sign-in. Only successes are kept.
type sigMemo struct {
	mu sync.Mutex
	m  map[sigKey]struct{}
}

type sigKey struct {
	object any    // *x509.RevocationList, or the SHA-256 of a certificate
	key    string // issuer's SubjectPublicKeyInfo
}

const sigMemoSize = 4096

func (m *sigMemo) check(object any, issuer *x509.Certificate, verify func() error) error {
	k := sigKey{object, string(issuer.RawSubjectPublicKeyInfo)}
	m.mu.Lock()
	_, ok := m.m[k]
	m.mu.Unlock()
	if ok {
		return nil
	}
	if err := verify(); err != nil {
		return err
	}
	m.mu.Lock()
	if m.m == nil || len(m.m) >= sigMemoSize {
		m.m = make(map[sigKey]struct{})
	}
	m.m[k] = struct{}{}
	m.mu.Unlock()
	return nil
}

func (m *sigMemo) checkCert(c, issuer *x509.Certificate) error {
	return m.check(sha256.Sum256(c.Raw), issuer, func() error { return CheckCertificateSignature(c, issuer) })
}

func (m *sigMemo) checkCRL(crl *x509.RevocationList, issuer *x509.Certificate, now time.Time) error {
	return usableCRL(crl, issuer, now, m)
}
