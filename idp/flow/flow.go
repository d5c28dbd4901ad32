package flow

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/sqldb"
)

// Sealer encrypts flow data at rest, bound to associated data. Open must
// fail on any change to blob or aad. *keys.Manager implements it.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, blob, aad []byte) ([]byte, error)
}

// Store keeps flows in the database. It holds no flow state of its own and
// is safe for concurrent use.
type Store struct {
	db     sqldb.Runner
	sealer Sealer
	now    func() time.Time
	// secure names and marks the cookies for HTTPS (SecureCookies).
	secure bool
}

// NewStore returns a Store over db; now is the clock (time.Now when nil).
func NewStore(db *sqldb.DB, sealer Sealer, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, sealer: sealer, now: now}
}

// With returns the store working in q, a caller's transaction: a flow
// taken there is spent only if the caller's other writes (the session
// the flow's last step opens) commit too.
func (s *Store) With(q sqldb.Runner) *Store {
	c := *s
	c.db = q
	return &c
}

// Start creates a flow of kind holding data (JSON-encoded, then sealed) that
// lives for ttl, and returns its token. The first version is 1.
func (s *Store) Start(ctx context.Context, kind string, data any, ttl time.Duration) (string, error) {
	if err := checkKind(kind); err != nil {
		return "", err
	}
	if ttl <= 0 {
		return "", errors.New("flow: ttl must be positive")
	}
	token, hash := bearer.New()
	blob, err := s.seal(kind, hash, data)
	if err != nil {
		return "", err
	}
	now := s.now()
	_, err = s.db.Exec(ctx, `INSERT INTO flows (token_hash, kind, data, version, created_at, expires_at)
		VALUES ($1, $2, $3, 1, $4, $5)`,
		hash, kind, blob, sqldb.Micros(now), sqldb.Micros(now.Add(ttl)))
	if err != nil {
		return "", fmt.Errorf("flow: start %s: %w", kind, err)
	}
	return token, nil
}

// Load decodes the flow's data into data (a pointer) and returns its
// version. Errors: sqldb.ErrNotFound for a malformed or unknown token or one
// of another kind, sqldb.ErrExpired, or the Sealer's error when the stored
// data was tampered with.
func (s *Store) Load(ctx context.Context, kind, token string, data any) (int, error) {
	hash, ok := bearer.Hash(token)
	if !ok {
		return 0, fmt.Errorf("flow: load %s: malformed token: %w", kind, sqldb.ErrNotFound)
	}
	var (
		blob      []byte
		version   int
		expiresAt int64
	)
	err := s.db.QueryRow(ctx, `SELECT data, version, expires_at FROM flows WHERE token_hash = $1 AND kind = $2`,
		hash, kind).Scan(&blob, &version, &expiresAt)
	if err != nil {
		return 0, fmt.Errorf("flow: load %s: %w", kind, err)
	}
	if !s.now().Before(sqldb.Time(expiresAt)) {
		return 0, fmt.Errorf("flow: load %s: %w", kind, sqldb.ErrExpired)
	}
	if err := s.open(ctx, kind, hash, blob, data); err != nil {
		return 0, err
	}
	return version, nil
}

// Save replaces the flow's data if its version is still version, and
// returns the new version. A stale version (another tab or replica saved
// first) is sqldb.ErrConflict; the time to live is unchanged.
func (s *Store) Save(ctx context.Context, kind, token string, version int, data any) (int, error) {
	hash, ok := bearer.Hash(token)
	if !ok {
		return 0, fmt.Errorf("flow: save %s: malformed token: %w", kind, sqldb.ErrNotFound)
	}
	blob, err := s.seal(kind, hash, data)
	if err != nil {
		return 0, err
	}
	now := sqldb.Micros(s.now())
	res, err := s.db.Exec(ctx, `UPDATE flows SET data = $1, version = version + 1
		WHERE token_hash = $2 AND kind = $3 AND version = $4 AND expires_at > $5`,
		blob, hash, kind, version, now)
	if err != nil {
		return 0, fmt.Errorf("flow: save %s: %w", kind, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("flow: save %s: %w", kind, err)
	}
	if n == 1 {
		return version + 1, nil
	}
	// Say why nothing was written.
	var expiresAt int64
	err = s.db.QueryRow(ctx, `SELECT expires_at FROM flows WHERE token_hash = $1 AND kind = $2`, hash, kind).Scan(&expiresAt)
	switch {
	case err != nil:
		return 0, fmt.Errorf("flow: save %s: %w", kind, err)
	case expiresAt <= now:
		return 0, fmt.Errorf("flow: save %s: %w", kind, sqldb.ErrExpired)
	default:
		return 0, fmt.Errorf("flow: save %s: version %d is stale: %w", kind, version, sqldb.ErrConflict)
	}
}

// Delete ends the flow. Exactly one of several racing Deletes (or Takes)
// succeeds; the others get sqldb.ErrNotFound. Deleting an expired flow
// removes it and reports sqldb.ErrExpired, so that a finish that comes too
// late does not act.
func (s *Store) Delete(ctx context.Context, kind, token string) error {
	hash, ok := bearer.Hash(token)
	if !ok {
		return fmt.Errorf("flow: delete %s: malformed token: %w", kind, sqldb.ErrNotFound)
	}
	var expiresAt int64
	err := s.db.QueryRow(ctx, `DELETE FROM flows WHERE token_hash = $1 AND kind = $2 RETURNING expires_at`,
		hash, kind).Scan(&expiresAt)
	if err != nil {
		return fmt.Errorf("flow: delete %s: %w", kind, err)
	}
	if !s.now().Before(sqldb.Time(expiresAt)) {
		return fmt.Errorf("flow: delete %s: %w", kind, sqldb.ErrExpired)
	}
	return nil
}

// Take is Delete that also returns the data the deleted row held, so that
// the finishing step acts on exactly the state it removed even if another
// tab saved after this step's Load. Errors as Delete's and Load's.
func (s *Store) Take(ctx context.Context, kind, token string, data any) error {
	hash, ok := bearer.Hash(token)
	if !ok {
		return fmt.Errorf("flow: take %s: malformed token: %w", kind, sqldb.ErrNotFound)
	}
	var (
		blob      []byte
		expiresAt int64
	)
	err := s.db.QueryRow(ctx, `DELETE FROM flows WHERE token_hash = $1 AND kind = $2 RETURNING data, expires_at`,
		hash, kind).Scan(&blob, &expiresAt)
	if err != nil {
		return fmt.Errorf("flow: take %s: %w", kind, err)
	}
	if !s.now().Before(sqldb.Time(expiresAt)) {
		return fmt.Errorf("flow: take %s: %w", kind, sqldb.ErrExpired)
	}
	return s.open(ctx, kind, hash, blob, data)
}

// Sweep deletes expired flows and returns how many.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	res, err := s.db.Exec(ctx, `DELETE FROM flows WHERE expires_at <= $1`, sqldb.Micros(s.now()))
	if err != nil {
		return 0, fmt.Errorf("flow: sweep: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("flow: sweep: %w", err)
	}
	return int(n), nil
}

// aad binds a sealed blob to its flow: kind + "|" + hex(token hash).
func aad(kind string, hash []byte) []byte {
	return []byte(kind + "|" + hex.EncodeToString(hash))
}

func (s *Store) seal(kind string, hash []byte, data any) ([]byte, error) {
	plain, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("flow: encode %s data: %w", kind, err)
	}
	blob, err := s.sealer.Seal(plain, aad(kind, hash))
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("flow: seal %s data: %w", kind, err)
	}
	return blob, nil
}

func (s *Store) open(ctx context.Context, kind string, hash, blob []byte, data any) error {
	plain, err := s.sealer.Open(ctx, blob, aad(kind, hash))
	if err != nil {
		return fmt.Errorf("flow: open %s data: %w", kind, err)
	}
	err = json.Unmarshal(plain, data)
	clear(plain)
	if err != nil {
		return fmt.Errorf("flow: decode %s data: %w", kind, err)
	}
	return nil
}

// checkKind keeps kinds usable in a cookie name and unambiguous in the aad.
func checkKind(kind string) error {
	if kind == "" || len(kind) > 40 {
		return fmt.Errorf("flow: kind must be 1–40 characters")
	}
	for _, c := range kind {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("flow: kind %q: only a-z, 0-9, _ and - are allowed", kind)
		}
	}
	return nil
}
