package cert_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cert/certtest"
)

// crlServer serves the fixtures' CRLs and counts requests per path.
type crlServer struct {
	*httptest.Server
	hits  sync.Map // path → *atomic.Int64
	mu    sync.Mutex
	delay time.Duration
	body  map[string][]byte
}

func (s *crlServer) setDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

func (s *crlServer) set(path string, body []byte) {
	s.mu.Lock()
	s.body[path] = body
	s.mu.Unlock()
}

func newCRLServer(t *testing.T, f *certtest.Fixtures) *crlServer {
	s := &crlServer{body: map[string][]byte{"/ca.crl": f.File("ca.crl"), "/root.crl": f.File("root.crl")}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := s.hits.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		s.mu.Lock()
		delay := s.delay
		b, ok := s.body[r.URL.Path]
		s.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *crlServer) count(path string) int64 {
	n, ok := s.hits.Load(path)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

// redirect sends the certificates' http://127.0.0.1/… URLs to the server.
type redirect struct {
	base string
	cert.HTTPFetcher
}

func (r *redirect) Fetch(ctx context.Context, u string) ([]byte, error) {
	return r.HTTPFetcher.Fetch(ctx, strings.Replace(u, "http://127.0.0.1", r.base, 1))
}

func TestCRLDistributionPoints(t *testing.T) {
	for _, dir := range certtest.Dirs(t) {
		f := certtest.Open(t, dir)
		t.Run(f.Name(), func(t *testing.T) {
			srv := newCRLServer(t, f)
			now := f.Now()
			var mu sync.Mutex
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			store := cert.NewCRLStore(&redirect{base: srv.URL})
			store.Now = clock
			v := &cert.Verifier{Roots: f.Roots(), CRLs: store, Now: clock}
			inter := []*x509.Certificate{f.Cert("intermediate")}
			ctx := context.Background()

			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					name := []string{"citizen256", "citizen512", "citizenrsa", "citizenecdsa"}[i%4]
					_, err := v.Verify(ctx, f.Cert(name), inter)
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if _, err := v.Verify(ctx, f.Cert("revoked"), inter); !errors.Is(err, cert.ErrRevoked) {
				t.Fatalf("revoked: %v", err)
			}
			if a, b := srv.count("/ca.crl"), srv.count("/root.crl"); a != 1 || b != 1 {
				t.Fatalf("fetched ca.crl %d and root.crl %d times, want once each", a, b)
			}
			// Past nextUpdate the cached list is stale: fetched again, and
			// still stale, so revocation is unknown.
			mu.Lock()
			now = now.AddDate(20, 0, 0)
			mu.Unlock()
			if _, err := store.CRL(ctx, f.Cert("intermediate"), f.Cert("citizen256").CRLDistributionPoints); !errors.Is(err, cert.ErrRevocationUnknown) {
				t.Fatalf("stale CRL: %v", err)
			}
			if n := srv.count("/ca.crl"); n != 2 {
				t.Fatalf("stale CRL fetched %d times in all, want 2", n)
			}
		})
	}
}

func TestCRLFetchFailures(t *testing.T) {
	f := certtest.Open(t, certtest.Committed())
	srv := newCRLServer(t, f)
	inter := []*x509.Certificate{f.Cert("intermediate")}
	ctx := context.Background()
	verifier := func(fetcher cert.Fetcher) (*cert.Verifier, *cert.CRLStore) {
		store := cert.NewCRLStore(fetcher)
		store.Now = f.Now
		return &cert.Verifier{Roots: f.Roots(), CRLs: store, Now: f.Now}, store
	}

	t.Run("timeout", func(t *testing.T) {
		srv.setDelay(2 * time.Second)
		defer srv.setDelay(0)
		v, _ := verifier(&redirect{base: srv.URL, HTTPFetcher: cert.HTTPFetcher{Timeout: 100 * time.Millisecond}})
		start := time.Now()
		if _, err := v.Verify(ctx, f.Cert("citizen256"), inter); !errors.Is(err, cert.ErrRevocationUnknown) {
			t.Fatalf("timeout: %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("took %v despite a 100ms timeout", d)
		}
		// The failure is remembered for RetryAfter: no second request.
		before := srv.count("/root.crl") + srv.count("/ca.crl")
		if _, err := v.Verify(ctx, f.Cert("citizen256"), inter); !errors.Is(err, cert.ErrRevocationUnknown) {
			t.Fatalf("second try: %v", err)
		}
		if after := srv.count("/root.crl") + srv.count("/ca.crl"); after != before {
			t.Fatalf("failed fetch retried at once (%d → %d requests)", before, after)
		}
	})
	t.Run("not found", func(t *testing.T) {
		v, _ := verifier(&redirect{base: srv.URL + "/missing"})
		if _, err := v.Verify(ctx, f.Cert("citizen256"), inter); !errors.Is(err, cert.ErrRevocationUnknown) {
			t.Fatalf("404: %v", err)
		}
	})
	t.Run("wrong issuer's CRL", func(t *testing.T) {
		// Both URLs serve the root's CRL: useless for the intermediate's
		// certificates.
		srv.set("/swap/ca.crl", f.File("root.crl"))
		srv.set("/swap/root.crl", f.File("root.crl"))
		v, _ := verifier(&redirect{base: srv.URL + "/swap"})
		if _, err := v.Verify(ctx, f.Cert("citizen256"), inter); !errors.Is(err, cert.ErrRevocationUnknown) {
			t.Fatalf("wrong CRL: %v", err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		srv.set("/junk/ca.crl", []byte("not a CRL"))
		srv.set("/junk/root.crl", f.File("root.crl"))
		v, _ := verifier(&redirect{base: srv.URL + "/junk"})
		if _, err := v.Verify(ctx, f.Cert("citizen256"), inter); !errors.Is(err, cert.ErrRevocationUnknown) {
			t.Fatalf("garbage: %v", err)
		}
	})
	t.Run("offline file wins", func(t *testing.T) {
		v, store := verifier(&redirect{base: srv.URL + "/missing"})
		if err := store.AddFiles(f.Path("ca.crl"), f.Path("root.crl")); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, f.Cert("citizen256"), inter); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, f.Cert("revoked"), inter); !errors.Is(err, cert.ErrRevoked) {
			t.Fatalf("revoked: %v", err)
		}
	})
	t.Run("tampered CRL", func(t *testing.T) {
		crl := f.File("ca.crl")
		bad := append([]byte{}, crl...)
		bad[len(bad)-1] ^= 1
		srv.set("/bad/ca.crl", bad)
		srv.set("/bad/root.crl", f.File("root.crl"))
		v, _ := verifier(&redirect{base: srv.URL + "/bad"})
		if _, err := v.Verify(ctx, f.Cert("revoked"), inter); !errors.Is(err, cert.ErrRevocationUnknown) {
			t.Fatalf("tampered CRL: %v", err)
		}
	})
}
