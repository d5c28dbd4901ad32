package cert_test

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cert/certtest"
)

func TestTrustDirReload(t *testing.T) {
	f := certtest.Open(t, certtest.Committed())
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("root.pem", f.File("root.pem"))
	write(".hidden", []byte("ignored"))
	pool, err := cert.OpenTrustDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := f.Now()
	v := &cert.Verifier{Roots: pool, Now: func() time.Time { return now }}
	ctx := context.Background()
	untrusted := func() error {
		_, err := v.Verify(ctx, f.Cert("untrusted"), []*x509.Certificate{f.Cert("rogue")})
		return err
	}
	if err := untrusted(); !errors.Is(err, cert.ErrUntrusted) {
		t.Fatalf("before reload: %v", err)
	}

	// Reload while verifications run.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				if _, err := v.Verify(ctx, f.Cert("citizen256"), []*x509.Certificate{f.Cert("intermediate")}); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()

	write("rogue.der", f.Cert("rogue").Raw) // DER works too
	if err := pool.Reload(); err != nil {
		t.Fatal(err)
	}
	if pool.Len() != 2 {
		t.Fatalf("%d anchors after reload", pool.Len())
	}
	if err := untrusted(); err != nil {
		t.Fatalf("after adding the root: %v", err)
	}
	write("broken.pem", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	if err := pool.Reload(); err == nil {
		t.Fatal("reload with a bad file succeeded")
	}
	if pool.Len() != 2 || untrusted() != nil {
		t.Fatal("a failed reload changed the pool")
	}
	close(stop)
	wg.Wait()

	if _, err := cert.OpenTrustDir(t.TempDir()); err == nil {
		t.Fatal("empty trust directory accepted")
	}
	if err := cert.NewPool().Reload(); err == nil {
		t.Fatal("reload of a fixed pool succeeded")
	}
}
