package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cms"
)

// TestSignatureVerifies: what Sign makes is valid for the check `gosid
// certs verify` performs, with the sandbox CA as the trust list, and not
// for other content.
func TestSignatureVerifies(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), CA, 0o644); err != nil {
		t.Fatal(err)
	}
	crl := filepath.Join(t.TempDir(), "ca.crl")
	if err := os.WriteFile(crl, CRL, 0o644); err != nil {
		t.Fatal(err)
	}
	v, _, err := cert.TrustConfig{TrustDir: dir, CRLFiles: []string{crl}, CRLTimeout: time.Second}.Open(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("%PDF-1.4 result")
	sig, err := Sign(content, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := cms.Explain(context.Background(), v, sig, content); !r.Valid {
		t.Fatalf("the sandbox signature does not verify: %+v", r)
	}
	if r := cms.Explain(context.Background(), v, sig, []byte("%PDF-1.4 another")); r.Valid {
		t.Fatal("the signature verifies other content")
	}
}
