package session

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// Defaults for Config's zero fields.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultLifetime    = 12 * time.Hour
	DefaultCookieName  = "gosid_session"
	DefaultTouchEvery  = time.Minute
	DefaultRetention   = 24 * time.Hour
)

// Limits on what a session row keeps of the client's description.
const (
	maxIP        = 64
	maxUserAgent = 512
)

// Session is one sign-in of one browser. It never holds the token.
type Session struct {
	// ID is the public identifier the account centre lists and ends
	// sessions by; it does not let anyone use the session.
	ID        string
	AccountID string
	// AMR lists the authentication methods used (RFC 8176), in the order
	// they were first used.
	AMR []string
	// AuthTime is the time of the latest authentication (OIDC auth_time).
	AuthTime   time.Time
	CreatedAt  time.Time
	LastSeenAt time.Time
	// IdleUntil is when the session ends unless it is used; never after
	// ExpiresAt.
	IdleUntil time.Time
	// ExpiresAt is the absolute end, CreatedAt + Config.Lifetime.
	ExpiresAt time.Time
	IP        string
	UserAgent string
	// IdleTimeout is the session's own idle timeout (the citizen's
	// setting), zero for the configured default.
	IdleTimeout time.Duration
	// Idle is how long the session had not been used before the Lookup
	// that returned it (exact to Config.TouchEvery): a stricter idle rule
	// than the session's (idp/staff) reads it.
	Idle time.Duration
}

// LogValue implements slog.LogValuer: identifiers and times only, never the
// token (which Session does not hold), the IP or the user agent.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", s.ID),
		slog.String("account_id", s.AccountID),
		slog.Any("amr", s.AMR),
		slog.Time("auth_time", s.AuthTime),
		slog.Time("expires_at", s.ExpiresAt),
	)
}

// Config tunes a Store. Zero fields take the defaults.
type Config struct {
	// IdleTimeout ends a session not used for this long (30 min).
	IdleTimeout time.Duration
	// Lifetime ends a session this long after creation, used or not (12 h).
	Lifetime time.Duration
	// CookieName names the cookie ("gosid_session"); under Secure the
	// browser sees it as webui.CookieName gives it ("__Host-gosid_session").
	CookieName string
	// Secure marks the cookie Secure and prefixes its name with __Host-;
	// set it when the public URL is https.
	Secure bool
	// TouchEvery bounds how often Lookup writes last_seen_at and idle_until
	// of one session (1 min).
	TouchEvery time.Duration
	// Retention is how long Sweep keeps ended or absolutely expired rows
	// (24 h), so that Lookup can still answer ErrExpired for them.
	Retention time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// Started, when set, hears of every sign-in Start makes, with the
	// language of its request (the account keeps it for notices).
	Started func(ctx context.Context, accountID, lang string)
}

// Store keeps sessions in the database. It holds no session state of its
// own and is safe for concurrent use.
type Store struct {
	db  sqldb.Runner
	cfg Config
	// cookieName is the cookie's name as set and read.
	cookieName string
}

// NewStore returns a Store over db.
func NewStore(db *sqldb.DB, cfg Config) *Store {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if cfg.CookieName == "" {
		cfg.CookieName = DefaultCookieName
	}
	if cfg.TouchEvery <= 0 {
		cfg.TouchEvery = DefaultTouchEvery
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{db: db, cfg: cfg, cookieName: webui.CookieName(cfg.CookieName, cfg.Secure)}
}

// With returns the store working in q, a caller's transaction: the
// caller's other writes (an activity-log entry) commit with the store's.
func (s *Store) With(q sqldb.Runner) *Store {
	c := *s
	c.db = q
	return &c
}

// now is the clock at the stored precision, so that what Create returns
// equals what Lookup reads back.
func (s *Store) now() time.Time {
	return s.cfg.Now().UTC().Truncate(time.Microsecond)
}

// Create starts a session for accountID and returns the token to put in the
// cookie. authTime is when the citizen authenticated (now when zero).
func (s *Store) Create(ctx context.Context, accountID string, amr []string, authTime time.Time, ip, userAgent string) (string, *Session, error) {
	if accountID == "" {
		return "", nil, errors.New("session: no account")
	}
	now := s.now()
	if authTime.IsZero() {
		authTime = now
	}
	token, hash := bearer.New()
	sess := &Session{
		ID:         newID(),
		AccountID:  accountID,
		AMR:        mergeAMR(nil, amr),
		AuthTime:   authTime.UTC().Truncate(time.Microsecond),
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(s.cfg.Lifetime),
		IP:         truncate(ip, maxIP),
		UserAgent:  truncate(userAgent, maxUserAgent),
	}
	sess.IdleUntil = s.idleUntil(now, sess.ExpiresAt, 0)
	amrJSON, err := encodeAMR(sess.AMR)
	if err != nil {
		return "", nil, err
	}
	_, err = s.db.Exec(ctx, `INSERT INTO sessions
		(id, token_hash, account_id, amr, auth_time, created_at, last_seen_at, idle_until, expires_at, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		sess.ID, hash, sess.AccountID, amrJSON, sqldb.Micros(sess.AuthTime), sqldb.Micros(now),
		sqldb.Micros(now), sqldb.Micros(sess.IdleUntil), sqldb.Micros(sess.ExpiresAt), sess.IP, sess.UserAgent)
	if err != nil {
		return "", nil, fmt.Errorf("session: create: %w", err)
	}
	return token, sess, nil
}

// Lookup returns the live session the token belongs to and slides its idle
// deadline. Errors: sqldb.ErrNotFound for a malformed, unknown or ended
// token, sqldb.ErrExpired for an idle or absolutely expired session.
func (s *Store) Lookup(ctx context.Context, token string) (*Session, error) {
	hash, ok := bearer.Hash(token)
	if !ok {
		return nil, fmt.Errorf("session: malformed token: %w", sqldb.ErrNotFound)
	}
	row := s.db.QueryRow(ctx, `SELECT `+columns+` FROM sessions WHERE token_hash = $1`, hash)
	sess, stored, ended, err := scan(row)
	if err != nil {
		return nil, fmt.Errorf("session: lookup: %w", err)
	}
	// The index found the row by hash already; comparing again in
	// constant time costs nothing and leaves no doubt.
	if subtle.ConstantTimeCompare(stored, hash) != 1 || ended {
		return nil, fmt.Errorf("session: lookup: %w", sqldb.ErrNotFound)
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) || !now.Before(sess.IdleUntil) {
		return nil, fmt.Errorf("session: lookup: %w", sqldb.ErrExpired)
	}
	sess.Idle = max(now.Sub(sess.LastSeenAt), 0)
	if now.Sub(sess.LastSeenAt) < s.cfg.TouchEvery {
		return sess, nil
	}
	idle := s.idleUntil(now, sess.ExpiresAt, sess.IdleTimeout)
	// Only forward: a replica that touched the row later wins, and one that
	// ended it meanwhile is not undone.
	_, err = s.db.Exec(ctx, `UPDATE sessions SET last_seen_at = $2, idle_until = $3
		WHERE id = $1 AND ended_at IS NULL AND last_seen_at < $2`,
		sess.ID, sqldb.Micros(now), sqldb.Micros(idle))
	if err != nil && !sqldb.IsRetryable(err) {
		return nil, fmt.Errorf("session: touch: %w", err)
	}
	// A busy database skips this touch; the next request retries it.
	if err == nil {
		sess.LastSeenAt, sess.IdleUntil = now, idle
	}
	return sess, nil
}

// AddAuthentication records a further authentication of a live session
// (step-up): amr is merged into the session's methods and auth_time becomes
// authTime (now when zero). Errors as Lookup's.
func (s *Store) AddAuthentication(ctx context.Context, id string, amr []string, authTime time.Time) error {
	now := s.now()
	if authTime.IsZero() {
		authTime = now
	}
	// Compare-and-swap on the stored amr: two step-ups racing on
	// different replicas both end up in the merged list.
	for range 8 {
		var (
			oldAMR          string
			ended           sql.NullInt64
			idle, expiresAt int64
		)
		err := s.db.QueryRow(ctx, `SELECT amr, ended_at, idle_until, expires_at FROM sessions WHERE id = $1`, id).
			Scan(&oldAMR, &ended, &idle, &expiresAt)
		if err != nil {
			return fmt.Errorf("session: add authentication: %w", err)
		}
		if ended.Valid {
			return fmt.Errorf("session: add authentication: %w", sqldb.ErrNotFound)
		}
		if !now.Before(sqldb.Time(idle)) || !now.Before(sqldb.Time(expiresAt)) {
			return fmt.Errorf("session: add authentication: %w", sqldb.ErrExpired)
		}
		current, err := decodeAMR(oldAMR)
		if err != nil {
			return err
		}
		newAMR, err := encodeAMR(mergeAMR(current, amr))
		if err != nil {
			return err
		}
		res, err := s.db.Exec(ctx, `UPDATE sessions SET amr = $2, auth_time = $3
			WHERE id = $1 AND amr = $4 AND ended_at IS NULL`,
			id, newAMR, sqldb.Micros(authTime), oldAMR)
		if err != nil {
			return fmt.Errorf("session: add authentication: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("session: add authentication: %w", err)
		} else if n == 1 {
			return nil
		}
	}
	return fmt.Errorf("session: add authentication: %w", sqldb.ErrConflict)
}

// End ends the session with this public ID. sqldb.ErrNotFound if there is
// no such session or it was already ended. The caller checks that the
// session is the citizen's own (or uses EndForAccount).
func (s *Store) End(ctx context.Context, id string) error {
	return s.end(ctx, `id = $1`, id)
}

// EndForAccount is End restricted to accountID's sessions: what the account
// centre's "end this session" button calls with an ID from a form.
func (s *Store) EndForAccount(ctx context.Context, accountID, id string) error {
	return s.end(ctx, `id = $1 AND account_id = $3`, id, accountID)
}

func (s *Store) endByToken(ctx context.Context, token string) error {
	hash, ok := bearer.Hash(token)
	if !ok {
		return fmt.Errorf("session: malformed token: %w", sqldb.ErrNotFound)
	}
	return s.end(ctx, `token_hash = $1`, hash)
}

// end sets ended_at; where must use $1 (and $3), $2 is now.
func (s *Store) end(ctx context.Context, where string, key any, more ...any) error {
	args := append([]any{key, sqldb.Micros(s.now())}, more...)
	res, err := s.db.Exec(ctx, `UPDATE sessions SET ended_at = $2 WHERE `+where+` AND ended_at IS NULL`, args...)
	if err != nil {
		return fmt.Errorf("session: end: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("session: end: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("session: end: %w", sqldb.ErrNotFound)
	}
	return nil
}

// EndAll ends every session of accountID except exceptID (empty: all), for
// instance after a password recovery, and returns how many of them were
// still live. Expired sessions are ended too, so that a replica whose clock
// lags cannot accept one.
func (s *Store) EndAll(ctx context.Context, accountID, exceptID string) (int, error) {
	_, live, err := s.EndEach(ctx, accountID, exceptID)
	return live, err
}

// EndEach is EndAll that also returns the ids of every session it ended,
// expired ones included, for a caller that must act on each: tokens issued
// in a session outlive its idle timeout.
func (s *Store) EndEach(ctx context.Context, accountID, exceptID string) (ended []string, live int, err error) {
	now := sqldb.Micros(s.now())
	rows, err := s.db.Query(ctx, `UPDATE sessions SET ended_at = $3
		WHERE account_id = $1 AND id <> $2 AND ended_at IS NULL
		RETURNING id, idle_until, expires_at`, accountID, exceptID, now)
	if err != nil {
		return nil, 0, fmt.Errorf("session: end all: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var idle, expiresAt int64
		if err := rows.Scan(&id, &idle, &expiresAt); err != nil {
			return nil, 0, fmt.Errorf("session: end all: %w", sqldb.Classify(err))
		}
		ended = append(ended, id)
		if idle > now && expiresAt > now {
			live++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("session: end all: %w", sqldb.Classify(err))
	}
	return ended, live, nil
}

// List returns accountID's live sessions, newest first.
func (s *Store) List(ctx context.Context, accountID string) ([]Session, error) {
	now := sqldb.Micros(s.now())
	rows, err := s.db.Query(ctx, `SELECT `+columns+` FROM sessions
		WHERE account_id = $1 AND ended_at IS NULL AND idle_until > $2 AND expires_at > $2
		ORDER BY created_at DESC, id DESC`, accountID, now)
	if err != nil {
		return nil, fmt.Errorf("session: list: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		sess, _, _, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("session: list: %w", err)
		}
		out = append(out, *sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("session: list: %w", sqldb.Classify(err))
	}
	return out, nil
}

// Sweep deletes sessions ended, or past their absolute lifetime, more than
// Config.Retention ago, and returns how many. Sessions that merely went idle
// go once their absolute lifetime is over too.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	cutoff := sqldb.Micros(s.now().Add(-s.cfg.Retention))
	res, err := s.db.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1 OR ended_at < $1`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("session: sweep: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("session: sweep: %w", err)
	}
	return int(n), nil
}

// SetIdleTimeout gives a live session its own idle timeout (the
// citizen's choice); it applies from now.
func (s *Store) SetIdleTimeout(ctx context.Context, id string, d time.Duration) error {
	if d <= 0 {
		return errors.New("session: idle timeout must be positive")
	}
	now := s.now()
	res, err := s.db.Exec(ctx, `UPDATE sessions SET idle_s = $2,
			idle_until = CASE WHEN $3 < expires_at THEN $3 ELSE expires_at END
		WHERE id = $1 AND ended_at IS NULL`, id, int64(d/time.Second), sqldb.Micros(now.Add(d)))
	if err != nil {
		return fmt.Errorf("session: set idle timeout: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("session: set idle timeout: %w", sqldb.ErrNotFound)
	}
	return nil
}

func (s *Store) idleUntil(now, expiresAt time.Time, own time.Duration) time.Time {
	d := s.cfg.IdleTimeout
	if own > 0 {
		d = own
	}
	idle := now.Add(d)
	if idle.After(expiresAt) {
		return expiresAt
	}
	return idle
}

const columns = `id, account_id, amr, auth_time, created_at, last_seen_at, idle_until, expires_at, ip, user_agent, ended_at, token_hash, idle_s`

type scanner interface{ Scan(dest ...any) error }

func scan(row scanner) (sess *Session, tokenHash []byte, ended bool, err error) {
	var (
		amr                                                string
		authTime, createdAt, lastSeen, idleUntil, expireAt int64
		endedAt, idleS                                     sql.NullInt64
	)
	sess = &Session{}
	err = row.Scan(&sess.ID, &sess.AccountID, &amr, &authTime, &createdAt, &lastSeen, &idleUntil, &expireAt,
		&sess.IP, &sess.UserAgent, &endedAt, &tokenHash, &idleS)
	if err != nil {
		return nil, nil, false, sqldb.Classify(err)
	}
	if sess.AMR, err = decodeAMR(amr); err != nil {
		return nil, nil, false, err
	}
	sess.AuthTime = sqldb.Time(authTime)
	sess.CreatedAt = sqldb.Time(createdAt)
	sess.LastSeenAt = sqldb.Time(lastSeen)
	sess.IdleUntil = sqldb.Time(idleUntil)
	sess.ExpiresAt = sqldb.Time(expireAt)
	sess.IdleTimeout = time.Duration(idleS.Int64) * time.Second
	return sess, tokenHash, endedAt.Valid, nil
}

// The amr column holds a JSON array of strings.
func encodeAMR(amr []string) (string, error) {
	if amr == nil {
		amr = []string{}
	}
	b, err := json.Marshal(amr)
	if err != nil {
		return "", fmt.Errorf("session: encode amr: %w", err)
	}
	return string(b), nil
}

func decodeAMR(s string) ([]string, error) {
	var amr []string
	if err := json.Unmarshal([]byte(s), &amr); err != nil {
		return nil, fmt.Errorf("session: stored amr is not a JSON array: %w", err)
	}
	return amr, nil
}

// mergeAMR appends the methods of add not yet in have, keeping order.
func mergeAMR(have, add []string) []string {
	out := slices.Clone(have)
	for _, m := range add {
		if m != "" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the column stays valid UTF-8.
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
