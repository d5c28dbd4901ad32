package cert

import (
	"net/http"
	"time"
)

// TrustConfig is where the checks of e-signature certificates get their
// trust and revocation data: the same for sign-in and for support's
// `gosid certs verify`.
type TrustConfig struct {
	// TrustDir is the folder of accredited CA certificates (OpenTrustDir).
	TrustDir string
	// CRLFiles are read before any distribution point is fetched.
	CRLFiles []string
	// CRLTimeout bounds fetching a CRL from a distribution point.
	CRLTimeout time.Duration
}

// Open reads the trust list and the CRL files and returns the verifier,
// and the pool, whose Reload re-reads the trust list.
func (c TrustConfig) Open(now func() time.Time) (*Verifier, *Pool, error) {
	pool, err := OpenTrustDir(c.TrustDir)
	if err != nil {
		return nil, nil, err
	}
	crls := NewCRLStore(&HTTPFetcher{Client: &http.Client{Timeout: c.CRLTimeout}, Timeout: c.CRLTimeout})
	crls.Now = now
	if err := crls.AddFiles(c.CRLFiles...); err != nil {
		return nil, nil, err
	}
	return &Verifier{Roots: pool, CRLs: crls, Now: now}, pool, nil
}
