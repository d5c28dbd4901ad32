package otp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/internal/sqldb"
)

// Errors. Verify and Issue return these (or the typed errors below); none
// of them ever carries a code or a destination.
var (
	// ErrNotFound: no such challenge — unknown id, replaced by a newer code,
	// already used, swept, or issued for another purpose or destination.
	ErrNotFound = fmt.Errorf("otp: no such challenge: %w", sqldb.ErrNotFound)
	// ErrUsed: the challenge's right code was entered already (it is
	// ErrNotFound too). No code can succeed on it, so trying one is no
	// guess: the attempt that spent it may be retrying after its answer
	// was lost to a database blip.
	ErrUsed = fmt.Errorf("otp: code already used: %w", ErrNotFound)
	// ErrExpired: the challenge's lifetime is over.
	ErrExpired = fmt.Errorf("otp: code expired: %w", sqldb.ErrExpired)
	// ErrTooManyAttempts: MaxAttempts wrong codes were entered; the
	// challenge is dead, even for the correct code.
	ErrTooManyAttempts = errors.New("otp: too many wrong codes")
	// ErrDailyCap: the daily cap for the destination or the client IP is
	// reached. The error returned is a *DailyCapError.
	ErrDailyCap = errors.New("otp: daily cap reached")
	// ErrInvalid: an empty or malformed purpose, destination or IP.
	ErrInvalid = errors.New("otp: invalid argument")
)

// ErrWrongCode: the code does not match. The attempt was counted;
// AttemptsLeft more may be made (0: the challenge is now dead).
// errors.Is(err, &ErrWrongCode{}) matches any AttemptsLeft.
type ErrWrongCode struct{ AttemptsLeft int }

func (e *ErrWrongCode) Error() string {
	return fmt.Sprintf("otp: wrong code, %d attempts left", e.AttemptsLeft)
}

// Is matches any *ErrWrongCode.
func (e *ErrWrongCode) Is(target error) bool { _, ok := target.(*ErrWrongCode); return ok }

// ErrResendTooSoon: a code for this purpose and destination was sent less
// than ResendAfter ago. errors.Is(err, &ErrResendTooSoon{}) matches any
// RetryAfter.
type ErrResendTooSoon struct{ RetryAfter time.Duration }

func (e *ErrResendTooSoon) Error() string {
	return fmt.Sprintf("otp: resend too soon, retry in %v", e.RetryAfter)
}

// Is matches any *ErrResendTooSoon.
func (e *ErrResendTooSoon) Is(target error) bool { _, ok := target.(*ErrResendTooSoon); return ok }

// DailyCapError says which cap refused a code and when the next code may be
// sent. It unwraps to ErrDailyCap.
type DailyCapError struct {
	Scope      string // "ip" or "destination"
	RetryAfter time.Duration
}

func (e *DailyCapError) Error() string {
	return fmt.Sprintf("otp: daily cap reached for the %s, retry in %v", e.Scope, e.RetryAfter)
}

func (e *DailyCapError) Unwrap() error { return ErrDailyCap }

// Config tunes a Service. Zero fields take the defaults in brackets.
type Config struct {
	Length              int           // digits per code [6], 4…12
	TTL                 time.Duration // life of a code [5m]
	MaxAttempts         int           // wrong codes before the challenge dies [3]
	ResendAfter         time.Duration // cool-down between codes per purpose and destination [60s]
	DailyPerDestination int           // codes per destination per 24 h, all purposes [10]
	DailyPerIP          int           // codes per client IP per 24 h [30]
	// Pepper keys the HMACs of codes and destinations: a server secret of at
	// least 32 bytes, kept outside the database and the same on every
	// replica. Changing it invalidates live codes and resets the caps.
	Pepper []byte
	Now    func() time.Time // clock [time.Now]
	Rand   io.Reader        // randomness for ids and codes [crypto/rand.Reader]
}

// Service issues and verifies codes. It keeps no state of its own: any
// replica may verify a code another issued.
type Service struct {
	db      *sqldb.DB
	limiter *ratelimit.Limiter
	cfg     Config
	modulus uint64 // 10^Length
	destCap ratelimit.Rule
	ipCap   ratelimit.Rule
}

// New checks cfg, fills in its defaults and returns a Service. limiter
// keeps the daily caps (rules "otp-destination" and "otp-ip").
func New(db *sqldb.DB, limiter *ratelimit.Limiter, cfg Config) (*Service, error) {
	if db == nil || limiter == nil {
		return nil, errors.New("otp: nil database or limiter")
	}
	if len(cfg.Pepper) < 32 {
		return nil, errors.New("otp: Config.Pepper must be at least 32 bytes")
	}
	cfg.Pepper = append([]byte(nil), cfg.Pepper...)
	setDefault(&cfg.Length, 6)
	setDefault(&cfg.TTL, 5*time.Minute)
	setDefault(&cfg.MaxAttempts, 3)
	setDefault(&cfg.ResendAfter, 60*time.Second)
	setDefault(&cfg.DailyPerDestination, 10)
	setDefault(&cfg.DailyPerIP, 30)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	switch {
	case cfg.Length < 4 || cfg.Length > 12:
		return nil, fmt.Errorf("otp: Config.Length %d outside 4…12", cfg.Length)
	case cfg.TTL < time.Second, cfg.ResendAfter < 0, cfg.MaxAttempts < 1,
		cfg.DailyPerDestination < 1, cfg.DailyPerIP < 1:
		return nil, errors.New("otp: negative or too small Config value")
	}
	modulus := uint64(1)
	for range cfg.Length {
		modulus *= 10
	}
	return &Service{
		db:      db,
		limiter: limiter,
		cfg:     cfg,
		modulus: modulus,
		destCap: ratelimit.Rule{Name: "otp-destination", Limit: cfg.DailyPerDestination, Window: 24 * time.Hour},
		ipCap:   ratelimit.Rule{Name: "otp-ip", Limit: cfg.DailyPerIP, Window: 24 * time.Hour},
	}, nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// Challenge is a freshly issued code. ID is opaque and safe to put in a
// form or flow state; Code is to be sent to the destination and nowhere
// else (LogValue and String leave it out).
type Challenge struct {
	ID        string
	Code      string
	ExpiresAt time.Time
}

// LogValue keeps the code out of logs.
func (c Challenge) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID), slog.Time("expires_at", c.ExpiresAt))
}

// String keeps the code out of %v.
func (c Challenge) String() string {
	return fmt.Sprintf("otp.Challenge{ID: %s, ExpiresAt: %s}", c.ID, c.ExpiresAt.Format(time.RFC3339))
}

// Issue creates a code for (purpose, destination), replacing any earlier
// one of the pair, and returns it with its challenge id. ip is the client's
// address, for the per-IP cap. destination must be normalised (E.164 phone,
// lower-cased e-mail): it is matched exactly.
//
// Refusals, checked before anything is created: *ErrResendTooSoon, then
// *DailyCapError (ErrDailyCap). An Issue that passes the caps counts
// against them even if it then loses a race with a concurrent Issue for the
// same pair (*ErrResendTooSoon).
func (s *Service) Issue(ctx context.Context, purpose, destination, ip string) (Challenge, error) {
	id, err := s.NewID()
	if err != nil {
		return Challenge{}, err
	}
	return s.IssueAs(ctx, id, purpose, destination, ip)
}

// NewID is a fresh challenge id for IssueAs. A flow that keeps the id
// before the code is issued never holds a code it cannot name: when the
// flow cannot be stored, nothing was issued, and no cool-down stands in
// the way of the citizen's retry.
func (s *Service) NewID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("otp: random id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Ready reports whether a code for (purpose, destination) may be issued
// now as far as the cool-down goes: nil, *ErrResendTooSoon, or a store's
// error. It changes nothing; Issue checks again.
func (s *Service) Ready(ctx context.Context, purpose, destination string) error {
	return s.ready(ctx, purpose, s.mac("destination", destination), s.cfg.Now())
}

func (s *Service) ready(ctx context.Context, purpose string, dest []byte, now time.Time) error {
	var resendAt int64
	err := s.db.QueryRow(ctx, `SELECT resend_at FROM otp_challenges WHERE purpose = $1 AND destination_hash = $2`,
		purpose, dest).Scan(&resendAt)
	switch {
	case err == nil:
		if wait := sqldb.Time(resendAt).Sub(now); wait > 0 {
			return &ErrResendTooSoon{RetryAfter: wait}
		}
	case !errors.Is(err, sqldb.ErrNotFound):
		return fmt.Errorf("otp: read challenge: %w", err)
	}
	return nil
}

// IssueAs is Issue with the challenge id chosen by the caller (NewID).
func (s *Service) IssueAs(ctx context.Context, id, purpose, destination, ip string) (Challenge, error) {
	if id == "" || !validPurpose(purpose) || destination == "" || ip == "" {
		return Challenge{}, ErrInvalid
	}
	now := s.cfg.Now()
	dest := s.mac("destination", destination)
	if err := s.ready(ctx, purpose, dest, now); err != nil {
		return Challenge{}, err
	}

	// The IP first: a client over its own cap must not use up the
	// destination's.
	if ok, retry, err := s.limiter.Allow(ctx, s.ipCap, hex.EncodeToString(s.mac("ip", ip))); err != nil {
		return Challenge{}, fmt.Errorf("otp: IP cap: %w", err)
	} else if !ok {
		return Challenge{}, &DailyCapError{Scope: "ip", RetryAfter: retry}
	}
	if ok, retry, err := s.limiter.Allow(ctx, s.destCap, hex.EncodeToString(dest)); err != nil {
		return Challenge{}, fmt.Errorf("otp: destination cap: %w", err)
	} else if !ok {
		return Challenge{}, &DailyCapError{Scope: "destination", RetryAfter: retry}
	}

	code, err := s.randomCode()
	if err != nil {
		return Challenge{}, err
	}
	expires := now.Add(s.cfg.TTL)
	resend := now.Add(s.cfg.ResendAfter)

	// Replace the pair's previous challenge only if its cool-down is over:
	// a concurrent Issue that got here first wins.
	var one int
	err = s.db.QueryRow(ctx, `INSERT INTO otp_challenges
			(id_hash, purpose, destination_hash, code_hash, attempts, max_attempts, created_at, expires_at, resend_at, consumed_at)
		VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, NULL)
		ON CONFLICT (purpose, destination_hash) DO UPDATE SET
			id_hash = excluded.id_hash, code_hash = excluded.code_hash, attempts = 0,
			max_attempts = excluded.max_attempts, created_at = excluded.created_at,
			expires_at = excluded.expires_at, resend_at = excluded.resend_at, consumed_at = NULL
		WHERE otp_challenges.resend_at <= $6
		RETURNING 1`,
		idHash(id), purpose, dest, s.codeMAC(code, id), s.cfg.MaxAttempts,
		sqldb.Micros(now), sqldb.Micros(expires), sqldb.Micros(resend)).Scan(&one)
	if errors.Is(err, sqldb.ErrNotFound) {
		return Challenge{}, &ErrResendTooSoon{RetryAfter: s.cfg.ResendAfter}
	}
	if err != nil {
		return Challenge{}, fmt.Errorf("otp: store challenge: %w", err)
	}
	return Challenge{ID: id, Code: code, ExpiresAt: expires.UTC()}, nil
}

// Verify checks code against the challenge id, which must have been issued
// for purpose and destination. nil means the code was right and the
// challenge is now used up; otherwise *ErrWrongCode (attempt counted),
// ErrTooManyAttempts, ErrExpired or ErrNotFound. See the package comment for
// the state machine.
func (s *Service) Verify(ctx context.Context, id, purpose, destination, code string) error {
	now := sqldb.Micros(s.cfg.Now())
	key := idHash(id)
	var (
		gotPurpose       string
		gotDest, gotCode []byte
		attempts, maxAtt int
		expiresAt        int64
		consumedAt       sql.NullInt64
	)
	err := s.db.QueryRow(ctx, `SELECT purpose, destination_hash, code_hash, attempts, max_attempts, expires_at, consumed_at
		FROM otp_challenges WHERE id_hash = $1`, key).
		Scan(&gotPurpose, &gotDest, &gotCode, &attempts, &maxAtt, &expiresAt, &consumedAt)
	if errors.Is(err, sqldb.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("otp: read challenge: %w", err)
	}
	if gotPurpose != purpose || !hmac.Equal(gotDest, s.mac("destination", destination)) {
		return ErrNotFound
	}
	if err := stateError(attempts, maxAtt, expiresAt, consumedAt, now); err != nil {
		return err
	}

	// Both updates carry the liveness guard, so whatever happened since the
	// read (a racing Verify consumed it or used up the attempts, it expired,
	// a new Issue replaced it) the update does nothing and the re-read says
	// why.
	const live = `id_hash = $1 AND consumed_at IS NULL AND attempts < max_attempts AND expires_at > $2`
	if hmac.Equal(gotCode, s.codeMAC(code, id)) {
		res, err := s.db.Exec(ctx, `UPDATE otp_challenges SET consumed_at = $2 WHERE `+live, key, now)
		if err != nil {
			return fmt.Errorf("otp: consume challenge: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("otp: consume challenge: %w", err)
		} else if n == 1 {
			return nil
		}
		return s.reread(ctx, key, now)
	}
	var used int
	err = s.db.QueryRow(ctx, `UPDATE otp_challenges SET attempts = attempts + 1 WHERE `+live+`
		RETURNING attempts, max_attempts`, key, now).Scan(&used, &maxAtt)
	if errors.Is(err, sqldb.ErrNotFound) {
		return s.reread(ctx, key, now)
	}
	if err != nil {
		return fmt.Errorf("otp: count attempt: %w", err)
	}
	return &ErrWrongCode{AttemptsLeft: maxAtt - used}
}

// reread explains why a guarded update found no live challenge.
func (s *Service) reread(ctx context.Context, key []byte, now int64) error {
	var (
		attempts, maxAtt int
		expiresAt        int64
		consumedAt       sql.NullInt64
	)
	err := s.db.QueryRow(ctx, `SELECT attempts, max_attempts, expires_at, consumed_at FROM otp_challenges WHERE id_hash = $1`,
		key).Scan(&attempts, &maxAtt, &expiresAt, &consumedAt)
	if errors.Is(err, sqldb.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("otp: read challenge: %w", err)
	}
	if err := stateError(attempts, maxAtt, expiresAt, consumedAt, now); err != nil {
		return err
	}
	// Live again cannot happen (nothing revives a challenge under the same
	// id); refuse rather than guess.
	return ErrNotFound
}

// stateError is nil for a live challenge, else the error for its terminal
// state. Consumed and dead are reached before expiry, so they take
// precedence over it.
func stateError(attempts, maxAtt int, expiresAt int64, consumedAt sql.NullInt64, now int64) error {
	switch {
	case consumedAt.Valid:
		return ErrUsed
	case attempts >= maxAtt:
		return ErrTooManyAttempts
	case now >= expiresAt:
		return ErrExpired
	}
	return nil
}

// Release ends the resend cool-down of challenge id at once, so that a code
// the gateway refused can be asked for again without waiting; the code
// itself stays live (a refusal can be ambiguous: the message may still
// arrive). The daily caps still count it. An id that is gone or already past
// its cool-down is not an error.
func (s *Service) Release(ctx context.Context, id string) error {
	now := sqldb.Micros(s.cfg.Now())
	if _, err := s.db.Exec(ctx, `UPDATE otp_challenges SET resend_at = $2 WHERE id_hash = $1 AND resend_at > $2`,
		idHash(id), now); err != nil {
		return fmt.Errorf("otp: release cool-down: %w", err)
	}
	return nil
}

// Sweep deletes challenges that are past both their expiry and their resend
// cool-down, and returns how many. Any replica may call it at any time.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := sqldb.Micros(s.cfg.Now())
	res, err := s.db.Exec(ctx, `DELETE FROM otp_challenges WHERE expires_at <= $1 AND resend_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("otp: sweep: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("otp: sweep: %w", err)
	}
	return int(n), nil
}

// randomCode draws a uniform Length-digit code: 64-bit values at or above
// the largest multiple of 10^Length are rejected, so no residue is favoured.
func (s *Service) randomCode() (string, error) {
	limit := math.MaxUint64 - math.MaxUint64%s.modulus
	var b [8]byte
	for {
		if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
			return "", fmt.Errorf("otp: random code: %w", err)
		}
		if v := binary.BigEndian.Uint64(b[:]); v < limit {
			return fmt.Sprintf("%0*d", s.cfg.Length, v%s.modulus), nil
		}
	}
}

// mac is HMAC-SHA256 under the pepper with a domain label, so that a
// destination hash can never stand for an IP hash or a code hash.
func (s *Service) mac(label string, parts ...string) []byte {
	m := hmac.New(sha256.New, s.cfg.Pepper)
	m.Write([]byte("gosid/otp/" + label))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func (s *Service) codeMAC(code, id string) []byte { return s.mac("code", code, id) }

func idHash(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// validPurpose: a short lower-case token such as "register" or "recover".
func validPurpose(p string) bool {
	if p == "" || len(p) > 32 {
		return false
	}
	return strings.Trim(p, "abcdefghijklmnopqrstuvwxyz0123456789_-") == ""
}
