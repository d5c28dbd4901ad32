package bearer

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
)

// TestNewAndHash: a new token is 43 base64url characters, distinct each
// time, and Hash of it gives the hash New gave (its SHA-256); anything not
// of that form has no hash.
func TestNewAndHash(t *testing.T) {
	a, ah := New()
	b, _ := New()
	if len(a) != 43 || a == b || strings.ContainsAny(a, "+/=") {
		t.Fatalf("tokens %q and %q", a, b)
	}
	sum := sha256.Sum256([]byte(a))
	if !bytes.Equal(ah, sum[:]) {
		t.Fatal("New's hash is not the token's SHA-256")
	}
	if h, ok := Hash(a); !ok || !bytes.Equal(h, ah) {
		t.Fatalf("Hash of a new token: %x %v", h, ok)
	}
	for _, junk := range []string{"", a[:42], a + "A", strings.Repeat("*", 43), a[:42] + "=", strings.Repeat("A", 44)} {
		if _, ok := Hash(junk); ok {
			t.Errorf("Hash(%q) accepted", junk)
		}
	}
}

// FuzzHash: Hash never panics, and accepts exactly the form New makes.
func FuzzHash(f *testing.F) {
	tok, _ := New()
	f.Add(tok)
	f.Add("")
	f.Add(strings.Repeat("_", 43))
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := Hash(s)
		if ok != (len(h) == sha256.Size) || ok && len(s) != 43 {
			t.Fatalf("Hash(%q) = %x, %v", s, h, ok)
		}
	})
}
