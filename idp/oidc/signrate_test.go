package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestSignatureRate is a measuring tool, not a check: with
// GOSID_SIGN_RATE=DURATION (scripts/bench-refresh.sh sets it) it prints
// raw RS256 (2048-bit, as keys generates) and ES256 signatures of a
// SHA-256 digest per CPU-second of this process, each signed for
// DURATION. Per CPU-second, so that a machine shared with other work
// still gives the cost of a signature; run it with GOMAXPROCS=1 on the
// core the server gets. A refresh grant signs two tokens, so its limit is
// half the rate.
func TestSignatureRate(t *testing.T) {
	d := os.Getenv("GOSID_SIGN_RATE")
	if d == "" {
		t.Skip("set GOSID_SIGN_RATE=DURATION to measure signatures per CPU-second")
	}
	dur, err := time.ParseDuration(d)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("gosid"))
	for _, s := range []struct {
		alg  string
		sign func() error
	}{
		{"RS256", func() error { _, err := rsa.SignPKCS1v15(nil, rk, crypto.SHA256, digest[:]); return err }},
		{"ES256", func() error { _, err := ecdsa.SignASN1(rand.Reader, ek, digest[:]); return err }},
	} {
		before := cpuTime(t)
		n := 0
		for start := time.Now(); time.Since(start) < dur; n++ {
			if err := s.sign(); err != nil {
				t.Fatal(err)
			}
		}
		cpu := cpuTime(t) - before
		fmt.Printf("sign %s %.1f per CPU-second (%d in %s CPU)\n", s.alg, float64(n)/cpu.Seconds(), n, cpu)
	}
}

func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
