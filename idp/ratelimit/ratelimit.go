package ratelimit

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// ErrInvalidRule: a Rule without a name, a positive limit or a window of at
// least a microsecond.
var ErrInvalidRule = errors.New("ratelimit: invalid rule")

// Rule is one limit: at most Limit hits per key in any interval of length
// Window. Name distinguishes rules sharing keys (an IP under "login-ip" and
// under "otp-ip" are counted apart); a rule's Window must not change while
// its hits are live.
type Rule struct {
	Name   string
	Limit  int
	Window time.Duration
}

func (r Rule) validate() error {
	if r.Name == "" || r.Limit < 1 || r.Window < time.Microsecond {
		return fmt.Errorf("%w: %q limit %d window %v", ErrInvalidRule, r.Name, r.Limit, r.Window)
	}
	return nil
}

// Limiter counts hits in the database; it is safe for concurrent use and
// holds no state of its own, so any number of replicas may share one
// database.
type Limiter struct {
	db  *sqldb.DB
	now func() time.Time
}

// New returns a Limiter over db. now is the clock (time.Now when nil).
func New(db *sqldb.DB, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{db: db, now: now}
}

// keyHash is what is stored instead of the key.
func keyHash(rule Rule, key string) []byte {
	h := sha256.New()
	h.Write([]byte(rule.Name))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return h.Sum(nil)
}

// Allow records one hit for key under rule and reports whether it is within
// the limit; if not, nothing is recorded and retryAfter says when a hit
// would next be admitted (assuming no other hits meanwhile). Racing calls on
// one key, from any number of replicas, admit exactly Limit.
func (l *Limiter) Allow(ctx context.Context, rule Rule, key string) (ok bool, retryAfter time.Duration, err error) {
	if err := rule.validate(); err != nil {
		return false, 0, err
	}
	h := keyHash(rule, key)
	now := l.now().UnixMicro()
	window := rule.Window.Microseconds()
	err = l.db.InTx(ctx, func(tx *sqldb.Tx) error {
		ok, retryAfter = false, 0
		// The upsert locks the key's row until commit (PostgreSQL); every
		// Allow on this key waits here for the one before it.
		_, err := tx.Exec(ctx, `INSERT INTO rate_limit_keys (key_hash, expires_at) VALUES ($1, $2)
			ON CONFLICT (key_hash) DO UPDATE SET expires_at =
				CASE WHEN rate_limit_keys.expires_at > excluded.expires_at
				THEN rate_limit_keys.expires_at ELSE excluded.expires_at END`,
			h, now+window)
		if err != nil {
			return fmt.Errorf("lock rate-limit key: %w", err)
		}
		ok, retryAfter, err = check(ctx, tx, rule, h, now)
		if err != nil || !ok {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO rate_limit_hits (key_hash, at, nonce, expires_at) VALUES ($1, $2, $3, $4)`,
			h, now, rand.Int64(), now+window)
		if err != nil {
			return fmt.Errorf("record rate-limit hit: %w", err)
		}
		return nil
	})
	if err != nil {
		return false, 0, err
	}
	return ok, retryAfter, nil
}

// Peek reports what Allow would answer now, without recording a hit.
func (l *Limiter) Peek(ctx context.Context, rule Rule, key string) (ok bool, retryAfter time.Duration, err error) {
	if err := rule.validate(); err != nil {
		return false, 0, err
	}
	return check(ctx, l.db, rule, keyHash(rule, key), l.now().UnixMicro())
}

// Check is one rule and key for PeekAll.
type Check struct {
	Rule Rule
	Key  string
}

// PeekAll is Peek for several rules and keys in one query (a sign-in
// checks the client's IP and the login): ok only when every one is within
// its limit, retryAfter the longest wait among those that are not.
func (l *Limiter) PeekAll(ctx context.Context, checks ...Check) (ok bool, retryAfter time.Duration, err error) {
	if len(checks) == 0 {
		return true, 0, nil
	}
	now := l.now().UnixMicro()
	hashes := make([][]byte, len(checks))
	args := []any{now}
	var in strings.Builder
	for i, c := range checks {
		if err := c.Rule.validate(); err != nil {
			return false, 0, err
		}
		hashes[i] = keyHash(c.Rule, c.Key)
		if i > 0 {
			in.WriteString(", ")
		}
		fmt.Fprintf(&in, "$%d", i+2)
		args = append(args, hashes[i])
	}
	rows, err := l.db.Query(ctx, `SELECT key_hash, count(*) FROM rate_limit_hits WHERE expires_at > $1 AND key_hash IN (`+in.String()+`) GROUP BY key_hash`, args...)
	if err != nil {
		return false, 0, fmt.Errorf("count rate-limit hits: %w", err)
	}
	counts := map[string]int{}
	for rows.Next() {
		var h []byte
		var n int
		if err := rows.Scan(&h, &n); err != nil {
			rows.Close()
			return false, 0, sqldb.Classify(err)
		}
		counts[string(h)] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, 0, sqldb.Classify(err)
	}
	ok = true
	for i, c := range checks {
		if counts[string(hashes[i])] < c.Rule.Limit {
			continue
		}
		// Over the limit: the exact wait comes from check's second query,
		// which only limited callers pay for.
		_, wait, err := check(ctx, l.db, c.Rule, hashes[i], now)
		if err != nil {
			return false, 0, err
		}
		ok, retryAfter = false, max(retryAfter, wait)
	}
	return ok, retryAfter, nil
}

// check counts the live hits of h and, when there are Limit or more, finds
// when enough of them age out to admit one more.
func check(ctx context.Context, q sqldb.Querier, rule Rule, h []byte, now int64) (bool, time.Duration, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM rate_limit_hits WHERE key_hash = $1 AND expires_at > $2`, h, now).Scan(&n)
	if err != nil {
		return false, 0, fmt.Errorf("count rate-limit hits: %w", err)
	}
	if n < rule.Limit {
		return true, 0, nil
	}
	// n-Limit+1 hits must age out; the last of them is the (n-Limit+1)-th
	// to expire.
	var until int64
	err = q.QueryRow(ctx, `SELECT expires_at FROM rate_limit_hits WHERE key_hash = $1 AND expires_at > $2
		ORDER BY expires_at LIMIT 1 OFFSET $3`, h, now, n-rule.Limit).Scan(&until)
	if err != nil {
		return false, 0, fmt.Errorf("find oldest rate-limit hit: %w", err)
	}
	return false, time.Duration(until-now) * time.Microsecond, nil
}

// Reset forgets every hit of key under rule, e.g. the failure count of a
// login after a successful sign-in.
func (l *Limiter) Reset(ctx context.Context, rule Rule, key string) error {
	if err := rule.validate(); err != nil {
		return err
	}
	h := keyHash(rule, key)
	return l.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM rate_limit_hits WHERE key_hash = $1`, h); err != nil {
			return fmt.Errorf("reset rate-limit hits: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM rate_limit_keys WHERE key_hash = $1`, h); err != nil {
			return fmt.Errorf("reset rate-limit key: %w", err)
		}
		return nil
	})
}

// Sweep deletes hits that no longer count and keys without live hits, and
// returns how many rows it deleted. Any replica may call it at any time.
func (l *Limiter) Sweep(ctx context.Context) (int, error) {
	now := l.now().UnixMicro()
	total := 0
	// Hits first: a key row outlives its hits (its expires_at is the latest
	// of theirs), so deleting in this order never orphans a live hit.
	for _, stmt := range []string{
		`DELETE FROM rate_limit_hits WHERE expires_at <= $1`,
		`DELETE FROM rate_limit_keys WHERE expires_at <= $1`,
	} {
		res, err := l.db.Exec(ctx, stmt, now)
		if err != nil {
			return total, fmt.Errorf("sweep rate limits: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("sweep rate limits: %w", err)
		}
		total += int(n)
	}
	return total, nil
}
