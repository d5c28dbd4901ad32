package keys

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
)

// Derive returns a 32-byte key for one purpose ("portal sealing", "blob
// files"), derived from the master key (HMAC-SHA256 of the purpose under a
// key itself derived from the master key's bytes): the keys of a module
// run apart from the identity provider's database (the portal alone),
// which has none of its data keys. Another master key derives other keys:
// what they sealed must be sealed again after a master key rotation.
func (k *MasterKey) Derive(purpose string) []byte {
	mac := hmac.New(sha256.New, k.kdf)
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}

// Sealer is AES-256-GCM under one key, in the sealed format of the data
// keys (a version byte, a random nonce, the ciphertext and tag).
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns a Sealer under a 32-byte key (Derive's).
func NewSealer(key []byte) (*Sealer, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext bound to aad.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) { return seal(s.aead, plaintext, aad) }

// Open decrypts what Seal made with the same aad; anything else is
// ErrCorrupt.
func (s *Sealer) Open(_ context.Context, blob, aad []byte) ([]byte, error) {
	return open(s.aead, blob, aad)
}
