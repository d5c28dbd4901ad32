package password

import (
	"testing"

	"github.com/gosid/gosid/internal/argon2"
)

// BenchmarkHash measures raw argon2id throughput with the default
// parameters on one core: the limit against which login throughput is judged.
func BenchmarkHash(b *testing.B) {
	p := DefaultParams()
	pw, salt := []byte("Vt9#kqzmRw"), make([]byte, p.SaltLen)
	for b.Loop() {
		argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}

// BenchmarkVerify measures Hasher.Verify (parse, semaphore, argon2id,
// constant-time compare) with the default parameters, serially.
func BenchmarkVerify(b *testing.B) {
	h, err := NewHasher(DefaultParams(), 0)
	if err != nil {
		b.Fatal(err)
	}
	phc, _ := h.Hash(b.Context(), "Vt9#kqzmRw")
	for b.Loop() {
		if ok, _, _ := h.Verify(b.Context(), phc, "Vt9#kqzmRw"); !ok {
			b.Fatal("mismatch")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}

// BenchmarkVerifyParallel shows the throughput of all cores, bounded by the
// semaphore (GOMAXPROCS hashes at once).
func BenchmarkVerifyParallel(b *testing.B) {
	h, err := NewHasher(DefaultParams(), 0)
	if err != nil {
		b.Fatal(err)
	}
	phc, _ := h.Hash(b.Context(), "Vt9#kqzmRw")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Verify(b.Context(), phc, "Vt9#kqzmRw")
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}

func BenchmarkPolicyCheck(b *testing.B) {
	p := DefaultPolicy()
	BreachedList() // loaded once, outside the measurement
	for _, pw := range []string{"Vt9#kqzmRw", "P@ssw0rd2024!", "Xq#7IvanPetrov"} {
		b.Run(pw, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Check(pw, testCtx)
			}
		})
	}
}

func BenchmarkLoadBreachedList(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseList(breachedGz); err != nil {
			b.Fatal(err)
		}
	}
}
