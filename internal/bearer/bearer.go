package bearer

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// Bytes is the entropy of a token: 256 bits.
const Bytes = 32

// New returns a random token, base64url without padding, and the SHA-256
// of it, which is all that is ever stored: a database dump gives no usable
// token, and a random 256-bit token needs no salt or slow hash.
func New() (token string, hash []byte) {
	b := make([]byte, Bytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashOf(token)
}

// Hash checks that a presented token has the form New makes before
// hashing it, so that junk never reaches the database; the store then
// finds the row by the hash through its index, which compares hashes of
// random tokens and so reveals nothing about them.
func Hash(token string) ([]byte, bool) {
	if !Valid(token) {
		return nil, false
	}
	return hashOf(token), true
}

// Valid reports whether token has the form New makes.
func Valid(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(Bytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}

func hashOf(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
