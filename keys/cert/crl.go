package cert

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"
)

// CRLSource supplies the current CRL of an issuer. Verifier checks the
// returned list itself (issuer name, signature, freshness), so a source may
// return any list it has. An error, or a list that fails those checks, makes
// Verify fail with ErrRevocationUnknown.
type CRLSource interface {
	// CRL returns a CRL issued by issuer, using distributionPoints (the
	// URLs in the checked certificate) where the source fetches.
	CRL(ctx context.Context, issuer *x509.Certificate, distributionPoints []string) (*x509.RevocationList, error)
}

// Fetcher fetches the bytes at a URL. HTTPFetcher is the real one; tests
// inject others.
type Fetcher interface {
	Fetch(ctx context.Context, url string) ([]byte, error)
}

// HTTPFetcher fetches CRLs over HTTP(S) with a timeout and a size limit.
type HTTPFetcher struct {
	// Client is the HTTP client; nil means http.DefaultClient.
	Client *http.Client
	// Timeout bounds one fetch; 0 means 15 seconds.
	Timeout time.Duration
	// MaxBytes bounds the size of a CRL; 0 means 64 MiB (the CRLs of large
	// Russian CAs run to tens of megabytes).
	MaxBytes int64
}

// Fetch GETs u, which must be an http or https URL, and returns the body of
// a 200 response.
func (f *HTTPFetcher) Fetch(ctx context.Context, u string) ([]byte, error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") {
		return nil, fmt.Errorf("cert: CRL URL %q is not http or https", u)
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	limit := f.MaxBytes
	if limit <= 0 {
		limit = 64 << 20
	}
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cert: fetching CRL: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cert: fetching CRL %s: HTTP status %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("cert: fetching CRL: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("cert: CRL at %s is larger than %d bytes", u, limit)
	}
	return body, nil
}

// ParseCRL parses a DER or PEM ("X509 CRL") revocation list.
func ParseCRL(data []byte) (*x509.RevocationList, error) {
	if b, rest := pem.Decode(data); b != nil {
		if b.Type != "X509 CRL" || len(bytes.TrimSpace(rest)) != 0 {
			return nil, fmt.Errorf("%w: PEM block %q, want one X509 CRL", ErrMalformed, b.Type)
		}
		data = b.Bytes
	}
	crl, err := x509.ParseRevocationList(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return crl, nil
}

// CRLStore is a CRLSource combining CRL files configured offline with CRLs
// fetched from the certificates' distribution points, cached until their
// nextUpdate. A fresh offline CRL wins; otherwise each http(s) distribution
// point is tried in turn. Concurrent requests for one URL share a fetch, and
// a failed fetch is not retried for RetryAfter. The cache holds only public
// data, so each replica may keep its own. Safe for concurrent use.
type CRLStore struct {
	// Fetcher fetches distribution points; nil means offline CRLs only.
	Fetcher Fetcher
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// RetryAfter is how long a failed fetch is remembered; 0 means one
	// minute.
	RetryAfter time.Duration

	memo    sigMemo
	mu      sync.Mutex
	offline []*x509.RevocationList
	cache   map[string]*crlEntry
}

type crlEntry struct {
	done  chan struct{} // closed when the fetch ends
	crl   *x509.RevocationList
	err   error
	until time.Time // when err stops being remembered
}

const maxCachedURLs = 1024

// NewCRLStore returns a store that fetches with fetcher (nil: no fetching).
func NewCRLStore(fetcher Fetcher) *CRLStore {
	return &CRLStore{Fetcher: fetcher}
}

// AddCRL adds an offline CRL (DER or PEM).
func (s *CRLStore) AddCRL(data []byte) error {
	crl, err := ParseCRL(data)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.offline = append(s.offline, crl)
	s.mu.Unlock()
	return nil
}

// AddFiles adds offline CRL files.
func (s *CRLStore) AddFiles(paths ...string) error {
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("cert: CRL file: %w", err)
		}
		if err := s.AddCRL(data); err != nil {
			return fmt.Errorf("cert: CRL file %s: %w", p, err)
		}
	}
	return nil
}

func (s *CRLStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// CRL implements CRLSource.
func (s *CRLStore) CRL(ctx context.Context, issuer *x509.Certificate, distributionPoints []string) (*x509.RevocationList, error) {
	now := s.now()
	s.mu.Lock()
	offline := s.offline
	s.mu.Unlock()
	var best *x509.RevocationList
	for _, crl := range offline {
		if usableCRL(crl, issuer, now, &s.memo) == nil && (best == nil || crl.ThisUpdate.After(best.ThisUpdate)) {
			best = crl
		}
	}
	if best != nil {
		return best, nil
	}
	lastErr := errors.New("no CRL for this issuer and no distribution point")
	for _, dp := range distributionPoints {
		u, err := url.Parse(dp)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			continue // LDAP and other schemes are not fetched
		}
		if s.Fetcher == nil {
			lastErr = errors.New("no CRL for this issuer and fetching is off")
			break
		}
		crl, err := s.fetch(ctx, dp, issuer, now)
		if err == nil {
			return crl, nil
		}
		lastErr = err
	}
	if errors.Is(lastErr, ErrRevocationUnknown) {
		return nil, lastErr
	}
	return nil, revocationUnknown("CRL", lastErr)
}

// fetch returns the cached CRL at u if it is usable, else fetches it once
// for all concurrent callers.
func (s *CRLStore) fetch(ctx context.Context, u string, issuer *x509.Certificate, now time.Time) (*x509.RevocationList, error) {
	s.mu.Lock()
	e := s.cache[u]
	if e == nil || e.finished() && e.crl != nil && !fresh(e.crl, now) || e.finished() && e.err != nil && !now.Before(e.until) {
		e = &crlEntry{done: make(chan struct{})}
		if s.cache == nil || len(s.cache) >= maxCachedURLs {
			s.cache = map[string]*crlEntry{}
		}
		s.cache[u] = e
		s.mu.Unlock()
		s.run(ctx, u, e, issuer)
		return e.result(issuer, now, &s.memo)
	}
	s.mu.Unlock()
	select {
	case <-e.done:
		return e.result(issuer, now, &s.memo)
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrRevocationUnknown, ctx.Err())
	}
}

func (e *crlEntry) finished() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

func (e *crlEntry) result(issuer *x509.Certificate, now time.Time, m *sigMemo) (*x509.RevocationList, error) {
	if e.err != nil {
		return nil, e.err
	}
	if err := usableCRL(e.crl, issuer, now, m); err != nil {
		return nil, err
	}
	return e.crl, nil
}

func (s *CRLStore) run(ctx context.Context, u string, e *crlEntry, issuer *x509.Certificate) {
	defer close(e.done)
	retry := s.RetryAfter
	if retry <= 0 {
		retry = time.Minute
	}
	// The fetch serves every waiter, so it does not end with the first
	// caller's context; the fetcher's own timeout bounds it.
	data, err := s.Fetcher.Fetch(context.WithoutCancel(ctx), u)
	if err == nil {
		var crl *x509.RevocationList
		if crl, err = ParseCRL(data); err == nil {
			// Keep only a list this issuer really signed, so that a
			// tampered download cannot stay in the cache.
			if err = usableCRL(crl, issuer, s.now(), &s.memo); err == nil {
				e.crl = crl
				return
			}
		}
	}
	e.err = revocationUnknown(u, err)
	e.until = s.now().Add(retry)
}
