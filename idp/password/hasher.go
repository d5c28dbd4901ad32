package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"runtime"

	"golang.org/x/crypto/argon2"
)

// Hasher hashes and verifies passwords with argon2id. It is safe for
// concurrent use. At most maxConcurrent hashes are computed at once; other
// callers wait (honouring their context), so a burst of sign-ins costs at most
// maxConcurrent × Params.Memory KiB of memory instead of growing without
// bound.
type Hasher struct {
	params Params
	sem    chan struct{}
	dummy  PHC // a hash of a random secret with the current params, for VerifyDummy

	// derive computes the argon2id key; tests replace it to observe
	// concurrency without paying for real hashes.
	derive func(pw, salt []byte, p Params) []byte
}

func argon2idKey(pw, salt []byte, p Params) []byte {
	return argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// NewHasher returns a Hasher for params. The zero Params means
// DefaultParams(). maxConcurrent ≤ 0 means runtime.GOMAXPROCS(0).
// NewHasher computes one hash (the dummy used by VerifyDummy).
func NewHasher(params Params, maxConcurrent int) (*Hasher, error) {
	return newHasher(params, maxConcurrent, argon2idKey)
}

func newHasher(params Params, maxConcurrent int, derive func(pw, salt []byte, p Params) []byte) (*Hasher, error) {
	if params == (Params{}) {
		params = DefaultParams()
	}
	if err := params.Validate(); err != nil {
		return nil, err
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{params: params, sem: make(chan struct{}, maxConcurrent), derive: derive}
	secret := make([]byte, 32)
	rand.Read(secret) // never fails since Go 1.24
	h.dummy = h.newPHC(secret)
	return h, nil
}

// Params returns the parameters used for new hashes.
func (h *Hasher) Params() Params { return h.params }

// newPHC hashes pw with a fresh salt, without the semaphore.
func (h *Hasher) newPHC(pw []byte) PHC {
	salt := make([]byte, h.params.SaltLen)
	rand.Read(salt)
	return PHC{Params: h.params, Salt: salt, Key: h.derive(pw, salt, h.params)}
}

// acquire takes a slot of the semaphore or fails with ctx's error.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns an argon2id PHC string for pw with a fresh random salt.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if len(pw) > MaxPasswordBytes {
		return "", ErrPasswordTooLong
	}
	if err := h.acquire(ctx); err != nil {
		return "", fmt.Errorf("password: waiting to hash: %w", err)
	}
	defer h.release()
	return h.newPHC([]byte(pw)).Encode(), nil
}

// Verify reports whether pw matches the stored PHC string. The keys are
// compared in constant time. needsRehash is true, for a matching password
// only, when the stored parameters differ from the Hasher's; the caller
// should then store a fresh Hash. A malformed PHC string is an error
// wrapping ErrMalformedHash (no hash is computed in that case).
func (h *Hasher) Verify(ctx context.Context, phc, pw string) (ok, needsRehash bool, err error) {
	stored, err := ParsePHC(phc)
	if err != nil {
		return false, false, err
	}
	if len(pw) > MaxPasswordBytes {
		return false, false, ErrPasswordTooLong
	}
	ok, err = h.verify(ctx, stored, pw)
	if err != nil || !ok {
		return false, false, err
	}
	return true, stored.Params != h.params, nil
}

// VerifyDummy computes exactly one hash with the current parameters against
// a fixed dummy hash and discards the result, so that a login for an unknown
// identifier takes as long as one for a known identifier. Like Verify, it
// returns ErrPasswordTooLong without hashing for over-long input; otherwise
// it returns only context errors.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	if len(pw) > MaxPasswordBytes {
		return ErrPasswordTooLong
	}
	_, err := h.verify(ctx, h.dummy, pw)
	return err
}

func (h *Hasher) verify(ctx context.Context, stored PHC, pw string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, fmt.Errorf("password: waiting to verify: %w", err)
	}
	key := h.derive([]byte(pw), stored.Salt, stored.Params)
	h.release()
	return subtle.ConstantTimeCompare(key, stored.Key) == 1, nil
}

// String describes the Hasher's parameters; it holds no secret of its own
// but implements String and LogValue so that the dummy hash never leaks.
func (h *Hasher) String() string {
	return fmt.Sprintf("password.Hasher{argon2id %s, concurrency %d}", h.params, cap(h.sem))
}

// LogValue implements slog.LogValuer.
func (h *Hasher) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("alg", "argon2id"),
		slog.String("params", h.params.String()),
		slog.Int("max_concurrent", cap(h.sem)),
	)
}
