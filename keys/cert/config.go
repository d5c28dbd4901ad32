package cert

import (
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/gosid/gosid/internal/cmdline"
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

// Register adds the trust list's options to s: the same for e-signature
// sign-in and for `gosid certs verify`.
func (c *TrustConfig) Register(s *cmdline.Set) {
	s.String(&c.TrustDir, "trust-dir", "", "Folder of accredited CA certificates (PEM or DER) for e-signature sign-in; reloaded on SIGHUP. Empty: e-signature sign-in is off.")
	s.StringList(&c.CRLFiles, "crl-file", nil, "CRL files (PEM or DER) to use before fetching distribution points; repeatable.")
	s.Duration(&c.CRLTimeout, "crl-fetch-timeout", 10*time.Second, "Timeout for fetching a CRL from a certificate's distribution point.")
}

// Check validates the options without reading the certificates.
func (c *TrustConfig) Check(s *cmdline.Set, p *cmdline.Problems) {
	if c.TrustDir != "" {
		if st, err := os.Stat(c.TrustDir); err != nil || !st.IsDir() {
			p.Add("%s: %s is not a readable folder", s.Source("trust-dir"), c.TrustDir)
		}
	}
	for _, f := range c.CRLFiles {
		if _, err := os.Stat(f); err != nil {
			p.Add("%s: %s: %v", s.Source("crl-file"), f, errors.Unwrap(err))
		}
	}
	if c.CRLTimeout <= 0 {
		p.Add("%s: must be positive", s.Source("crl-fetch-timeout"))
	}
}
