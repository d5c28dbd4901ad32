package backupcode

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
	"unicode"

	"github.com/gosid/gosid/internal/sqldb"
)

// ErrInvalid: the code is malformed, wrong, or already used.
var ErrInvalid = errors.New("backupcode: invalid code")

// ErrUsed: the code is one of the account's, spent already (it is
// ErrInvalid too): no guess, as the attempt that spent it may be retrying
// after its answer was lost to a database blip.
var ErrUsed = fmt.Errorf("backupcode: code already used: %w", ErrInvalid)

const (
	// Count is how many codes Generate makes.
	Count = 10
	// Length is a code's length in characters, without the hyphen.
	Length = 10
	// MinPepper is the shortest pepper NewStore accepts, in bytes.
	MinPepper = 32
)

// alphabet is Crockford's base32 in lower case: 32 symbols, so a random
// byte's low five bits pick one without bias.
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// Store keeps the accounts' recovery codes. It is safe for concurrent use,
// by several replicas too.
type Store struct {
	db     sqldb.Runner
	pepper []byte
	now    func() time.Time
}

// NewStore returns a store over db. pepper is a secret of at least
// MinPepper bytes kept outside the database, the same on every replica and
// never changed (changing it invalidates all stored codes); NewStore
// panics on a shorter one. now is the clock (nil: time.Now).
func NewStore(db *sqldb.DB, pepper []byte, now func() time.Time) *Store {
	if len(pepper) < MinPepper {
		panic(fmt.Sprintf("backupcode: pepper of %d bytes, need at least %d", len(pepper), MinPepper))
	}
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, pepper: append([]byte(nil), pepper...), now: now}
}

// With returns the store working in q, a caller's transaction: the
// caller's other writes (an activity-log entry) commit with the store's.
func (s *Store) With(q sqldb.Runner) *Store {
	c := *s
	c.db = q
	return &c
}

// Generate makes Count new codes for the account, replacing all earlier
// ones, and returns them formatted as "xxxxx-xxxxx" to be shown once. An
// unknown account gives sqldb.ErrNotFound.
func (s *Store) Generate(ctx context.Context, accountID string) ([]string, error) {
	codes := make([]string, 0, Count)
	hashes := make([][]byte, 0, Count)
	seen := make(map[string]bool, Count)
	for len(codes) < Count {
		c := newCode()
		if seen[c] { // 2^-50 per pair; the primary key would refuse it
			continue
		}
		seen[c] = true
		codes = append(codes, c[:Length/2]+"-"+c[Length/2:])
		hashes = append(hashes, s.hash(accountID, c))
	}
	now := sqldb.Micros(s.now())
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM backup_codes WHERE account_id = $1`, accountID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := tx.Exec(ctx, `INSERT INTO backup_codes (account_id, code_hash, created_at) VALUES ($1, $2, $3)`,
				accountID, h, now); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, sqldb.ErrConflict) { // the foreign key: no such account
		return nil, fmt.Errorf("backupcode: account: %w", sqldb.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("backupcode: generate: %w", err)
	}
	return codes, nil
}

// Use spends one of the account's codes: nil if code (in any form
// Normalize accepts) is one of them and unused, ErrUsed if it is one of
// them spent, ErrInvalid otherwise.
// Malformed input is refused without a database round trip.
func (s *Store) Use(ctx context.Context, accountID, code string) error {
	c, ok := Normalize(code)
	if !ok {
		return ErrInvalid
	}
	res, err := s.db.Exec(ctx, `UPDATE backup_codes SET used_at = $3
		WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL`,
		accountID, s.hash(accountID, c), sqldb.Micros(s.now()))
	if err != nil {
		return fmt.Errorf("backupcode: use: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("backupcode: use: %w", err)
	}
	if n == 0 {
		var used int
		err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM backup_codes WHERE account_id = $1 AND code_hash = $2`,
			accountID, s.hash(accountID, c)).Scan(&used)
		if err != nil {
			return fmt.Errorf("backupcode: use: %w", err)
		}
		if used > 0 {
			return ErrUsed
		}
		return ErrInvalid
	}
	return nil
}

// Remaining counts the account's unused codes (0 for none at all).
func (s *Store) Remaining(ctx context.Context, accountID string) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM backup_codes WHERE account_id = $1 AND used_at IS NULL`,
		accountID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("backupcode: remaining: %w", err)
	}
	return n, nil
}

// Remove deletes all of the account's codes (when its second factors are
// turned off). Removing what is not there is not an error.
func (s *Store) Remove(ctx context.Context, accountID string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM backup_codes WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("backupcode: remove: %w", err)
	}
	return nil
}

// hash is what is stored for a normalised code.
func (s *Store) hash(accountID, code string) []byte {
	mac := hmac.New(sha256.New, s.pepper)
	mac.Write([]byte(accountID))
	mac.Write([]byte{0})
	mac.Write([]byte(code))
	return mac.Sum(nil)
}

// newCode returns Length random symbols of alphabet, unformatted.
func newCode() string {
	var b [Length]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return string(b[:])
}

// Normalize turns what a person typed into the stored form of a code:
// lower case, without hyphens, dashes or spaces (any Unicode ones, as
// copying from a PDF or a messenger gives), with o read as 0 and i and l as
// 1. It reports false unless the result is Length symbols of the alphabet.
func Normalize(in string) (string, bool) {
	if len(in) > 4*Length { // generous room for separators; refuse junk early
		return "", false
	}
	out := make([]byte, 0, Length)
	for _, r := range in {
		switch {
		case unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || r == '\u2212': // U+2212 MINUS SIGN
			continue
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		}
		switch r {
		case 'o':
			r = '0'
		case 'i', 'l':
			r = '1'
		}
		if r >= 0x80 || !isSymbol(byte(r)) || len(out) == Length {
			return "", false
		}
		out = append(out, byte(r))
	}
	if len(out) != Length {
		return "", false
	}
	return string(out), true
}

func isSymbol(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' && c != 'i' && c != 'l' && c != 'o' && c != 'u'
}
