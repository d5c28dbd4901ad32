package cms

import (
	"context"
	"testing"

	"github.com/gosid/gosid/keys/cert/certtest"
)

func benchmarkCheck(b *testing.B, name string) {
	f := certtest.Open(b, certtest.Committed())
	v := f.Verifier()
	sig, content := f.File(name), f.File("challenge.txt")
	if _, err := Check(context.Background(), v, sig, content); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Check(context.Background(), v, sig, content); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkVerifyCMSGOST256 is a whole sign-in check: parse, CMS signature
// (GOST-256), chain (GOST-512 intermediate, GOST-256 root) and CRLs. The CA
// signatures and CRLs are remembered after the first check, as on a server.
func BenchmarkVerifyCMSGOST256(b *testing.B) { benchmarkCheck(b, "citizen256.cms.der") }

// BenchmarkVerifyCMSGOST512 is the same with a GOST-512 signer.
func BenchmarkVerifyCMSGOST512(b *testing.B) { benchmarkCheck(b, "citizen512.cms.der") }
