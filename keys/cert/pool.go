package cert

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
)

// Pool is a set of trust anchors: the accredited CAs' certificates. It is
// safe for concurrent use; Reload swaps the whole set atomically.
type Pool struct {
	dir string
	set atomic.Pointer[certSet]
}

// certSet is an immutable set of certificates indexed by subject.
type certSet struct {
	certs     []*x509.Certificate
	bySubject map[string][]*x509.Certificate
	byRaw     map[string]bool
}

func newCertSet(certs []*x509.Certificate) *certSet {
	s := &certSet{bySubject: map[string][]*x509.Certificate{}, byRaw: map[string]bool{}}
	for _, c := range certs {
		if c == nil || s.byRaw[string(c.Raw)] {
			continue
		}
		s.byRaw[string(c.Raw)] = true
		s.certs = append(s.certs, c)
		s.bySubject[string(c.RawSubject)] = append(s.bySubject[string(c.RawSubject)], c)
	}
	return s
}

// NewPool returns a fixed pool of the given certificates; its Reload fails.
func NewPool(certs ...*x509.Certificate) *Pool {
	p := &Pool{}
	p.set.Store(newCertSet(certs))
	return p
}

// OpenTrustDir loads every certificate in the files directly inside dir (PEM
// with one or more CERTIFICATE blocks, or DER; names starting with "." are
// skipped). Any file that is not a certificate is an error, so that a
// mistake in the trust list is noticed rather than half applied.
func OpenTrustDir(dir string) (*Pool, error) {
	p := &Pool{dir: dir}
	if err := p.Reload(); err != nil {
		return nil, err
	}
	return p, nil
}

// Reload reads the trust directory again and swaps the new set in. On an
// error the pool keeps its previous set. The server calls it on SIGHUP.
func (p *Pool) Reload() error {
	if p.dir == "" {
		return errors.New("cert: pool has no trust directory to reload")
	}
	certs, err := readTrustDir(p.dir)
	if err != nil {
		return err
	}
	p.set.Store(newCertSet(certs))
	return nil
}

// Certificates returns the trust anchors, in file-name order.
func (p *Pool) Certificates() []*x509.Certificate {
	return append([]*x509.Certificate(nil), p.load().certs...)
}

// Len returns the number of trust anchors.
func (p *Pool) Len() int { return len(p.load().certs) }

func (p *Pool) load() *certSet {
	if p == nil {
		return newCertSet(nil)
	}
	if s := p.set.Load(); s != nil {
		return s
	}
	return newCertSet(nil)
}

func readTrustDir(dir string) ([]*x509.Certificate, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cert: trust directory: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var certs []*x509.Certificate
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		info, err := os.Stat(path) // follows symbolic links
		if err != nil {
			return nil, fmt.Errorf("cert: trust directory: %w", err)
		}
		if !info.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("cert: trust directory: %w", err)
		}
		cs, err := ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("cert: trust file %s: %w", e.Name(), err)
		}
		certs = append(certs, cs...)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("cert: trust directory %s holds no certificates", dir)
	}
	return certs, nil
}

// ParseCertificates reads one DER certificate or any number of PEM
// CERTIFICATE blocks (at least one; other PEM blocks are an error).
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	trimmed := bytes.TrimSpace(data)
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		return []*x509.Certificate{c}, nil
	}
	var certs []*x509.Certificate
	rest := trimmed
	for len(bytes.TrimSpace(rest)) > 0 {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("%w: not PEM after the certificates", ErrMalformed)
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: PEM block %q, want CERTIFICATE", ErrMalformed, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}
