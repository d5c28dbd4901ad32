package blob

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The encrypted format (version 1) is a header followed by segments:
//
//	header:  "GSBE" | version 0x01 | len(keyID) (1 byte, 1–255) | keyID | salt (32 random bytes)
//	segment: AES-256-GCM(fileKey, nonce_i, plaintext_i, aad = header) (plaintext + 16-byte tag)
//
// fileKey = HKDF-SHA256(secret = the keyring's key for keyID, salt, info =
// "gosid blob v1" NUL blobKey): a fresh key for every file written, bound to
// the key it is stored under, so a file copied or renamed to another key
// does not decrypt, and a segment moved from another file fails too. The
// nonce is 7 zero bytes | segment index (4 bytes, big-endian) | 1 for the
// final segment, 0 otherwise (the STREAM construction of Hoang, Reyhanitabar,
// Rogaway and Vizár, as Tink's streaming AEAD): reordering segments, dropping
// some, or cutting the file at a segment boundary fails authentication.
// Every segment holds 64 KiB of plaintext except the final one, which holds
// less (0 bytes when the plaintext is a multiple of 64 KiB), so the plaintext
// size follows from the stored size and a full segment is never final. The
// header is the associated data of every segment, so no header byte can be
// changed either. Segments are decrypted whole before any of their bytes is
// returned: a reader never sees unauthenticated plaintext.
const (
	encMagic   = "GSBE"
	encVersion = 1
	saltLen    = 32
	segSize    = 64 << 10
	tagSize    = 16
	encSegSize = segSize + tagSize
	nonceSize  = 12
	maxSegs    = 1 << 32
)

var (
	// ErrCorrupt: an encrypted file failed authentication — changed,
	// truncated, reordered, or stored under another key.
	ErrCorrupt = errors.New("blob: encrypted file is damaged or was tampered with")
	// ErrUnknownKey: the file was written with a key the keyring does not
	// hold (a retired key removed too early, or a wrong master key).
	ErrUnknownKey = errors.New("blob: encrypted file's key is not in the keyring")
)

// Keyring supplies 32-byte AES-256 keys by id. New files are written with
// the current key; files written with an older key open as long as the
// keyring still holds it, so keys rotate without rewriting files.
type Keyring interface {
	// Current returns the key new files are written with.
	Current() (id string, key []byte, err error)
	// Key returns the key with the given id, or ErrUnknownKey.
	Key(id string) ([]byte, error)
}

// StaticKeys is a Keyring from a map.
type StaticKeys struct {
	CurrentID string
	Keys      map[string][]byte
}

func (s StaticKeys) Current() (string, []byte, error) {
	k, err := s.Key(s.CurrentID)
	return s.CurrentID, k, err
}

func (s StaticKeys) Key(id string) ([]byte, error) {
	k, ok := s.Keys[id]
	if !ok {
		return nil, ErrUnknownKey
	}
	return k, nil
}

// EncryptedStore encrypts files on their way into the store under it.
type EncryptedStore struct {
	inner Store
	keys  Keyring
}

var _ Store = (*EncryptedStore)(nil)

// Encrypted wraps inner so that it sees only ciphertext.
func Encrypted(inner Store, keys Keyring) *EncryptedStore {
	return &EncryptedStore{inner: inner, keys: keys}
}

func header(keyID string, salt []byte) ([]byte, error) {
	if len(keyID) == 0 || len(keyID) > 255 {
		return nil, fmt.Errorf("blob: key id must be 1–255 bytes, not %d", len(keyID))
	}
	h := make([]byte, 0, len(encMagic)+2+len(keyID)+saltLen)
	h = append(h, encMagic...)
	h = append(h, encVersion, byte(len(keyID)))
	h = append(h, keyID...)
	return append(h, salt...), nil
}

func fileAEAD(key []byte, salt []byte, blobKey string) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("blob: encryption key must be 32 bytes, not %d", len(key))
	}
	fk, err := hkdf.Key(sha256.New, key, salt, "gosid blob v1\x00"+blobKey, 32)
	if err != nil {
		return nil, fmt.Errorf("blob: derive file key: %w", err)
	}
	block, err := aes.NewCipher(fk)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return cipher.NewGCM(block)
}

func segNonce(nonce []byte, i uint64, final bool) {
	clear(nonce)
	binary.BigEndian.PutUint32(nonce[7:11], uint32(i))
	if final {
		nonce[11] = 1
	}
}

// cipherSize is the stored size of plain plaintext bytes under a header of
// hlen bytes.
func cipherSize(hlen int, plain int64) int64 {
	return int64(hlen) + plain/segSize*encSegSize + plain%segSize + tagSize
}

// plainSize inverts cipherSize; false when no plaintext size gives stored.
func plainSize(hlen int, stored int64) (int64, bool) {
	body := stored - int64(hlen)
	if body < tagSize {
		return 0, false
	}
	full := body / encSegSize
	last := body - full*encSegSize - tagSize
	if last < 0 {
		return 0, false
	}
	return full*segSize + last, true
}

// Put encrypts r as it streams into the store under it; max counts
// plaintext bytes.
func (e *EncryptedStore) Put(ctx context.Context, key string, r io.Reader, max int64) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, err
	}
	if err := checkMax(max); err != nil {
		return Info{}, err
	}
	id, k, err := e.keys.Current()
	if err != nil {
		return Info{}, fmt.Errorf("blob: current key: %w", err)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return Info{}, fmt.Errorf("blob: salt: %w", err)
	}
	h, err := header(id, salt)
	if err != nil {
		return Info{}, err
	}
	aead, err := fileAEAD(k, salt, key)
	if err != nil {
		return Info{}, err
	}
	enc := &encReader{src: newMaxReader(r, max), aead: aead, aad: h, out: h}
	if _, err := e.inner.Put(ctx, key, enc, cipherSize(len(h), max)); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return Info{}, ErrTooLarge
		}
		return Info{}, err
	}
	return Info{Key: key, Size: enc.src.n}, nil
}

// encReader yields the header and then one sealed segment at a time.
type encReader struct {
	src   *maxReader
	aead  cipher.AEAD
	aad   []byte
	nonce [nonceSize]byte
	i     uint64
	buf   []byte // plaintext of the next segment, then its ciphertext
	out   []byte // bytes ready to be returned
	done  bool   // the final segment is sealed
}

func (e *encReader) Read(p []byte) (int, error) {
	for len(e.out) == 0 {
		if e.done {
			return 0, io.EOF
		}
		if e.buf == nil {
			e.buf = make([]byte, encSegSize)
		}
		n, err := io.ReadFull(e.src, e.buf[:segSize])
		final := false
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			final = true
		case err != nil:
			return 0, err
		}
		if e.i >= maxSegs {
			return 0, errors.New("blob: file too large for the encrypted format")
		}
		segNonce(e.nonce[:], e.i, final)
		e.out = e.aead.Seal(e.buf[:0], e.nonce[:], e.buf[:n], e.aad)
		e.i++
		e.done = final
	}
	n := copy(p, e.out)
	e.out = e.out[n:]
	return n, nil
}

// Open checks the header and returns a reader that decrypts one segment at
// a time and fails with ErrCorrupt at the first segment that does not
// authenticate (or when the file ends early).
func (e *EncryptedStore) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := ValidKey(key); err != nil {
		return nil, Info{}, err
	}
	rc, info, err := e.inner.Open(ctx, key)
	if err != nil {
		return nil, Info{}, err
	}
	d, size, err := newDecReader(rc, info.Size, key, e.keys)
	if err != nil {
		_ = rc.Close()
		return nil, Info{}, err
	}
	return struct {
		io.Reader
		io.Closer
	}{d, rc}, Info{Key: key, Size: size}, nil
}

// Delete and DeletePrefix need no keys.
func (e *EncryptedStore) Delete(ctx context.Context, key string) error {
	return e.inner.Delete(ctx, key)
}

func (e *EncryptedStore) DeletePrefix(ctx context.Context, prefix string) error {
	return e.inner.DeletePrefix(ctx, prefix)
}

type decReader struct {
	src   io.Reader
	aead  cipher.AEAD
	aad   []byte
	nonce [nonceSize]byte
	i     uint64
	buf   []byte
	out   []byte
	done  bool
	err   error // sticky
}

// newDecReader reads the header from r (stored bytes of the file under
// blobKey, stored long) and returns the plaintext reader and size.
func newDecReader(r io.Reader, stored int64, blobKey string, keys Keyring) (*decReader, int64, error) {
	fixed := make([]byte, len(encMagic)+2)
	if _, err := io.ReadFull(r, fixed); err != nil {
		return nil, 0, corrupt(err)
	}
	if string(fixed[:len(encMagic)]) != encMagic {
		return nil, 0, fmt.Errorf("%w: not an encrypted blob", ErrCorrupt)
	}
	if v := fixed[len(encMagic)]; v != encVersion {
		return nil, 0, fmt.Errorf("%w: unknown format version %d", ErrCorrupt, v)
	}
	idLen := int(fixed[len(encMagic)+1])
	if idLen == 0 {
		return nil, 0, fmt.Errorf("%w: empty key id", ErrCorrupt)
	}
	rest := make([]byte, idLen+saltLen)
	if _, err := io.ReadFull(r, rest); err != nil {
		return nil, 0, corrupt(err)
	}
	h := append(fixed, rest...)
	size, ok := plainSize(len(h), stored)
	if !ok {
		return nil, 0, fmt.Errorf("%w: impossible size", ErrCorrupt)
	}
	id := string(rest[:idLen])
	k, err := keys.Key(id)
	if err != nil {
		return nil, 0, fmt.Errorf("blob: key %q: %w", id, err)
	}
	aead, err := fileAEAD(k, rest[idLen:], blobKey)
	if err != nil {
		return nil, 0, err
	}
	return &decReader{src: r, aead: aead, aad: h}, size, nil
}

func corrupt(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: truncated", ErrCorrupt)
	}
	return err
}

func (d *decReader) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		if d.done {
			return 0, io.EOF
		}
		d.err = d.next()
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// next reads and opens one segment. A full-size segment is never the
// final one; a shorter one is, and must be followed by the end.
func (d *decReader) next() error {
	if d.buf == nil {
		d.buf = make([]byte, encSegSize)
	}
	n, err := io.ReadFull(d.src, d.buf)
	final := false
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		final = true
	case err != nil:
		return err
	}
	if n < tagSize {
		return fmt.Errorf("%w: truncated", ErrCorrupt)
	}
	if d.i >= maxSegs {
		return fmt.Errorf("%w: too many segments", ErrCorrupt)
	}
	segNonce(d.nonce[:], d.i, final)
	pt, err := d.aead.Open(d.buf[:0], d.nonce[:], d.buf[:n], d.aad)
	if err != nil {
		return fmt.Errorf("%w: segment %d does not authenticate", ErrCorrupt, d.i)
	}
	d.i++
	d.out = pt
	d.done = final
	return nil
}
