package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// TokenBytes is the entropy of the random bearer tokens (session cookies,
// flow cookies, authorization codes, refresh tokens): 256 bits.
const TokenBytes = 32

// NewToken returns a random bearer token, base64url without padding, and
// the SHA-256 of it, which is all that is ever stored: a database dump
// gives no usable token, and a random 256-bit token needs no salt or slow
// hash.
func NewToken() (token string, hash []byte) {
	b := make([]byte, TokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, tokenHash(token)
}

// TokenHash checks that a presented token has the form NewToken makes
// before hashing it, so that junk never reaches the database; the store
// then finds the row by the hash through its index, which compares hashes
// of random tokens and so reveals nothing about them.
func TokenHash(token string) ([]byte, bool) {
	if base64.RawURLEncoding.DecodedLen(len(token)) != TokenBytes {
		return nil, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(token); err != nil {
		return nil, false
	}
	return tokenHash(token), true
}

func tokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
