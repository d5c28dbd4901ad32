package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// Sentinel errors. Messages never contain the PHC string or the password.
var (
	// ErrMalformedHash means a stored PHC string could not be parsed or is
	// outside the accepted limits.
	ErrMalformedHash = errors.New("password: malformed argon2id PHC string")
	// ErrInvalidParams means Params are outside the accepted limits.
	ErrInvalidParams = errors.New("password: invalid argon2id parameters")
	// ErrPasswordTooLong means the input exceeds MaxPasswordBytes. The
	// policy limits passwords to far fewer characters; this guards the hash
	// function against abusive inputs on the login form.
	ErrPasswordTooLong = errors.New("password: input too long")
)

// Limits for parsed PHC strings (and for Params). They bound the work and
// memory a stored hash can demand, so a corrupt or hostile row cannot make
// Verify allocate without limit.
const (
	MaxMemoryKiB = 4 << 20 // 4 GiB expressed in KiB
	MaxTime      = 100
	MaxThreads   = 255
	MinSaltLen   = 8
	MaxSaltLen   = 64
	MinKeyLen    = 16
	MaxKeyLen    = 64

	// MaxPasswordBytes is the longest input Hash and Verify accept.
	MaxPasswordBytes = 1024

	// maxPHCLen bounds the input to the parser before any work is done:
	// the prefix, three numbers of at most 10 digits and base64 of 64+64 bytes
	// fit comfortably.
	maxPHCLen = 256
)

// argon2Version is the only Argon2 version golang.org/x/crypto/argon2
// implements (0x13, RFC 9106).
const argon2Version = 19

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // memory in KiB
	Time    uint32 // number of passes
	Threads uint8  // degree of parallelism
	SaltLen uint32 // bytes of random salt for new hashes
	KeyLen  uint32 // bytes of derived key
}

// DefaultParams returns the OWASP Password Storage Cheat Sheet
// recommendation for argon2id (m=19 MiB, t=2, p=1), which is also within the
// RFC 9106 guidance, with a 16-byte salt and a 32-byte key.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Validate reports whether p may be used to create new hashes. It is
// stricter than the parser for salts (at least 16 bytes, as RFC 9106
// recommends), so hashes with shorter salts are verified but rehashed.
func (p Params) Validate() error {
	switch {
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("%w: time must be 1..%d", ErrInvalidParams, MaxTime)
	case p.Threads < 1:
		return fmt.Errorf("%w: threads must be 1..%d", ErrInvalidParams, MaxThreads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > MaxMemoryKiB:
		return fmt.Errorf("%w: memory must be 8*threads..%d KiB", ErrInvalidParams, MaxMemoryKiB)
	case p.SaltLen < 16 || p.SaltLen > MaxSaltLen:
		return fmt.Errorf("%w: salt length must be 16..%d bytes", ErrInvalidParams, MaxSaltLen)
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return fmt.Errorf("%w: key length must be %d..%d bytes", ErrInvalidParams, MinKeyLen, MaxKeyLen)
	}
	return nil
}

// String renders the cost parameters in PHC notation; Params hold no secret.
func (p Params) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads)
}

// PHC is a parsed argon2id PHC string. Params.SaltLen and Params.KeyLen are
// the lengths of Salt and Key.
type PHC struct {
	Params Params
	Salt   []byte
	Key    []byte
}

var b64 = base64.RawStdEncoding.Strict()

// Encode returns the canonical PHC string:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<key>
// with unpadded standard base64.
func (h PHC) Encode() string {
	var b strings.Builder
	b.Grow(64 + b64.EncodedLen(len(h.Salt)) + b64.EncodedLen(len(h.Key)))
	b.WriteString("$argon2id$v=19$m=")
	b.WriteString(strconv.FormatUint(uint64(h.Params.Memory), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(h.Params.Time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(h.Params.Threads), 10))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(h.Salt))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(h.Key))
	return b.String()
}

// String shows the parameters only; salt and key are redacted so that a
// stray %v cannot put a hash into a log.
func (h PHC) String() string {
	return "$argon2id$v=19$" + h.Params.String() + "$[redacted]"
}

// LogValue implements slog.LogValuer with the salt and key redacted.
func (h PHC) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("alg", "argon2id"),
		slog.Uint64("m", uint64(h.Params.Memory)),
		slog.Uint64("t", uint64(h.Params.Time)),
		slog.Uint64("p", uint64(h.Params.Threads)),
		slog.String("hash", "[redacted]"),
	)
}

// ParsePHC parses an argon2id PHC string strictly: exactly
// "$argon2id$v=19$m=M,t=T,p=P$SALT$KEY" with decimal numbers without sign or
// leading zeros, parameters in that order, unpadded canonical standard
// base64, and values within the package limits. Anything else, including
// argon2i/argon2d, other versions and extra parameters, is ErrMalformedHash.
// It never panics.
func ParsePHC(s string) (PHC, error) {
	var h PHC
	if len(s) > maxPHCLen {
		return h, fmt.Errorf("%w: too long", ErrMalformedHash)
	}
	rest, ok := strings.CutPrefix(s, "$argon2id$v=")
	if !ok {
		return h, fmt.Errorf("%w: not an argon2id PHC string", ErrMalformedHash)
	}
	fields := strings.Split(rest, "$")
	if len(fields) != 4 {
		return h, fmt.Errorf("%w: wrong number of fields", ErrMalformedHash)
	}
	v, err := parseDecimal(fields[0], argon2Version)
	if err != nil || v != argon2Version {
		return h, fmt.Errorf("%w: unsupported version", ErrMalformedHash)
	}

	params := strings.Split(fields[1], ",")
	if len(params) != 3 {
		return h, fmt.Errorf("%w: want parameters m,t,p", ErrMalformedHash)
	}
	var vals [3]uint64
	for i, name := range [3]string{"m", "t", "p"} {
		num, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return h, fmt.Errorf("%w: want parameters m,t,p", ErrMalformedHash)
		}
		limit := [3]uint64{MaxMemoryKiB, MaxTime, MaxThreads}[i]
		if vals[i], err = parseDecimal(num, limit); err != nil || vals[i] == 0 {
			return h, fmt.Errorf("%w: parameter %s out of range", ErrMalformedHash, name)
		}
	}
	h.Params.Memory, h.Params.Time, h.Params.Threads = uint32(vals[0]), uint32(vals[1]), uint8(vals[2])
	if h.Params.Memory < 8*uint32(h.Params.Threads) {
		// argon2 would silently raise m to 8p and produce a different key.
		return h, fmt.Errorf("%w: memory below 8*threads", ErrMalformedHash)
	}

	if h.Salt, err = decodeB64(fields[2], MinSaltLen, MaxSaltLen); err != nil {
		return PHC{}, fmt.Errorf("%w: salt", ErrMalformedHash)
	}
	if h.Key, err = decodeB64(fields[3], MinKeyLen, MaxKeyLen); err != nil {
		return PHC{}, fmt.Errorf("%w: key", ErrMalformedHash)
	}
	h.Params.SaltLen, h.Params.KeyLen = uint32(len(h.Salt)), uint32(len(h.Key))
	return h, nil
}

var errSyntax = errors.New("syntax")

// parseDecimal accepts 0 or [1-9][0-9]* up to limit.
func parseDecimal(s string, limit uint64) (uint64, error) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, errSyntax
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errSyntax
		}
		n = n*10 + uint64(c-'0')
	}
	if n > limit {
		return 0, errSyntax
	}
	return n, nil
}

func decodeB64(s string, minLen, maxLen int) ([]byte, error) {
	if s == "" || len(s) > b64.EncodedLen(maxLen) {
		return nil, errSyntax
	}
	// encoding/base64 skips \r and \n even in strict mode; refuse them so
	// that a parsed string always re-encodes to itself.
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, errSyntax
		}
	}
	b, err := b64.DecodeString(s)
	if err != nil || len(b) < minLen || len(b) > maxLen {
		return nil, errSyntax
	}
	return b, nil
}
