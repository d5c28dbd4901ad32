package webpush

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Sizes of the aes128gcm message (RFC 8188 §2) as Web Push uses it
// (RFC 8291 §4: one record, the sender's key as the key id).
const (
	saltSize   = 16
	recordSize = 4096
	headerSize = saltSize + 4 + 1 + pointSize // 86
	tagSize    = 16
	// MaxPayload is the largest plaintext Encrypt takes: a push service
	// must accept 4096-byte bodies (RFC 8030 §7.2), and the header, the
	// padding delimiter and the GCM tag take 86+1+16 of them.
	MaxPayload = recordSize - headerSize - 1 - tagSize // 3993
	// minRecordSize is RFC 8188's lower bound on rs: one byte of content,
	// the delimiter and the tag.
	minRecordSize = 18
)

// ErrDecrypt is wrapped by every error of Decrypt: the body is malformed
// or was not encrypted for this key and secret.
var ErrDecrypt = errors.New("webpush: cannot decrypt")

// Encrypt encrypts plaintext for the subscription as RFC 8291 §3.4 and
// RFC 8188 say: a 16-byte salt and an ephemeral P-256 key, both taken from
// rand (crypto/rand when nil) in that order, the key as a 32-byte scalar
// (redrawn in the rare case it is out of range), so that a test can feed
// RFC 8291's vector through this very function. The result is the request
// body: salt, rs = 4096, idlen = 65, the ephemeral public key, and one
// record ending in the delimiter 0x02. plaintext is at most MaxPayload
// bytes; a longer one gives an error wrapping ErrTooLarge.
func Encrypt(plaintext []byte, sub Subscription, rand io.Reader) ([]byte, error) {
	if len(plaintext) > MaxPayload {
		return nil, fmt.Errorf("webpush: payload of %d bytes is over %d: %w", len(plaintext), MaxPayload, ErrTooLarge)
	}
	if rand == nil {
		rand = cryptoRand
	}
	salt := make([]byte, saltSize)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return nil, fmt.Errorf("webpush: reading the salt: %w", err)
	}
	asPriv, err := readScalar(rand)
	if err != nil {
		return nil, err
	}
	return encrypt(plaintext, sub, salt, asPriv)
}

var cryptoRand = rand.Reader

// readScalar draws a P-256 private key from r by rejection sampling.
// ecdh's GenerateKey ignores its reader since Go 1.26, which would make
// Encrypt's output impossible to reproduce from rand.
func readScalar(r io.Reader) (*ecdh.PrivateKey, error) {
	b := make([]byte, 32)
	for range 16 { // each try fails with probability < 2^-32
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("webpush: reading the ephemeral key: %w", err)
		}
		if k, err := ecdh.P256().NewPrivateKey(b); err == nil {
			return k, nil
		}
	}
	return nil, errors.New("webpush: the random source gives no valid P-256 key")
}

// keys are the values RFC 8291 §3.3-3.4 and RFC 8188 §2.2-2.3 derive; kept
// together so that the test can check each against Appendix A.
type keys struct {
	prkKey, ikm, prk, cek, nonce []byte
}

// deriveKeys computes the content-encryption key and nonce from the ECDH
// secret, the browser's auth secret, both public keys and the salt.
func deriveKeys(ecdhSecret, auth, uaPub, asPub, salt []byte) (keys, error) {
	var k keys
	var err error
	// RFC 8291 §3.4: PRK_key = HMAC-SHA-256(auth_secret, ecdh_secret).
	if k.prkKey, err = hkdf.Extract(sha256.New, ecdhSecret, auth); err != nil {
		return keys{}, err
	}
	// key_info = "WebPush: info" || 0x00 || ua_public || as_public.
	info := make([]byte, 0, 14+2*pointSize)
	info = append(info, "WebPush: info\x00"...)
	info = append(info, uaPub...)
	info = append(info, asPub...)
	if k.ikm, err = hkdf.Expand(sha256.New, k.prkKey, string(info), 32); err != nil {
		return keys{}, err
	}
	// RFC 8188 §2.2-2.3, with IKM in place of the shared key.
	if k.prk, err = hkdf.Extract(sha256.New, k.ikm, salt); err != nil {
		return keys{}, err
	}
	if k.cek, err = hkdf.Expand(sha256.New, k.prk, "Content-Encoding: aes128gcm\x00", 16); err != nil {
		return keys{}, err
	}
	if k.nonce, err = hkdf.Expand(sha256.New, k.prk, "Content-Encoding: nonce\x00", 12); err != nil {
		return keys{}, err
	}
	return k, nil
}

// encrypt is Encrypt with the salt and the ephemeral key given.
func encrypt(plaintext []byte, sub Subscription, salt []byte, asPriv *ecdh.PrivateKey) ([]byte, error) {
	if len(plaintext) > MaxPayload {
		return nil, fmt.Errorf("webpush: payload of %d bytes is over %d: %w", len(plaintext), MaxPayload, ErrTooLarge)
	}
	if len(salt) != saltSize {
		return nil, errors.New("webpush: the salt must be 16 bytes")
	}
	if len(sub.Auth) != authSize {
		return nil, invalid("keys.auth", "must be %d bytes", authSize)
	}
	uaPub, err := ecdh.P256().NewPublicKey(sub.P256dh)
	if err != nil {
		return nil, invalid("keys.p256dh", "not a point on P-256")
	}
	secret, err := asPriv.ECDH(uaPub)
	if err != nil {
		return nil, fmt.Errorf("webpush: key agreement: %w", err)
	}
	asPub := asPriv.PublicKey().Bytes()
	k, err := deriveKeys(secret, sub.Auth, sub.P256dh, asPub, salt)
	if err != nil {
		return nil, fmt.Errorf("webpush: key derivation: %w", err)
	}
	aead, err := newGCM(k.cek)
	if err != nil {
		return nil, err
	}
	body := make([]byte, 0, headerSize+len(plaintext)+1+tagSize)
	body = append(body, salt...)
	body = binary.BigEndian.AppendUint32(body, recordSize)
	body = append(body, byte(len(asPub)))
	body = append(body, asPub...)
	record := make([]byte, 0, len(plaintext)+1)
	record = append(record, plaintext...)
	record = append(record, 2) // delimiter of the last (here: only) record
	// The record's sequence number is 0, so the nonce is used as derived.
	return aead.Seal(body, k.nonce, record, nil), nil
}

// Decrypt is the receiving side of Encrypt: it checks the aes128gcm header
// (16-byte salt, rs ≥ 18, a 65-byte P-256 key id), requires exactly one
// record that fits rs, decrypts it with the browser's private key and auth
// secret and strips the padding, which must end in the last-record
// delimiter 0x02. Every failure wraps ErrDecrypt.
func Decrypt(body []byte, uaPriv *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if uaPriv == nil || uaPriv.Curve() != ecdh.P256() {
		return nil, fmt.Errorf("%w: the key must be a P-256 key", ErrDecrypt)
	}
	if len(auth) != authSize {
		return nil, fmt.Errorf("%w: the auth secret must be %d bytes", ErrDecrypt, authSize)
	}
	if len(body) < saltSize+4+1 {
		return nil, fmt.Errorf("%w: shorter than the header", ErrDecrypt)
	}
	salt := body[:saltSize]
	rs := binary.BigEndian.Uint32(body[saltSize:])
	idlen := int(body[saltSize+4])
	if rs < minRecordSize {
		return nil, fmt.Errorf("%w: record size below %d", ErrDecrypt, minRecordSize)
	}
	if idlen != pointSize {
		return nil, fmt.Errorf("%w: the key id is not a %d-byte point", ErrDecrypt, pointSize)
	}
	if len(body) < headerSize {
		return nil, fmt.Errorf("%w: shorter than the header", ErrDecrypt)
	}
	asPubBytes := body[saltSize+5 : headerSize]
	ciphertext := body[headerSize:]
	if len(ciphertext) < tagSize+1 {
		return nil, fmt.Errorf("%w: no record", ErrDecrypt)
	}
	if uint64(len(ciphertext)) > uint64(rs) {
		// A longer body would hold several records; Web Push sends one.
		return nil, fmt.Errorf("%w: more than one record", ErrDecrypt)
	}
	asPub, err := ecdh.P256().NewPublicKey(asPubBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: the key id is not a point on P-256", ErrDecrypt)
	}
	secret, err := uaPriv.ECDH(asPub)
	if err != nil {
		return nil, fmt.Errorf("%w: key agreement", ErrDecrypt)
	}
	k, err := deriveKeys(secret, auth, uaPriv.PublicKey().Bytes(), asPubBytes, salt)
	if err != nil {
		return nil, fmt.Errorf("%w: key derivation", ErrDecrypt)
	}
	aead, err := newGCM(k.cek)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	record, err := aead.Open(nil, k.nonce, ciphertext, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrDecrypt)
	}
	// RFC 8188 §2: content, then a delimiter (2 for the last record), then
	// zero or more zero bytes.
	i := len(record) - 1
	for i >= 0 && record[i] == 0 {
		i--
	}
	if i < 0 || record[i] != 2 {
		return nil, fmt.Errorf("%w: no last-record delimiter", ErrDecrypt)
	}
	return record[:i], nil
}

func newGCM(cek []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, fmt.Errorf("webpush: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("webpush: %w", err)
	}
	return aead, nil
}
