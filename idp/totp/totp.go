package totp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/gosid/gosid/internal/sqldb"
)

// Errors returned by Confirm and Verify; check with errors.Is.
var (
	// ErrWrongCode: the code is malformed or matches none of the accepted
	// steps. Callers count it toward the sign-in lock-out.
	ErrWrongCode = errors.New("totp: wrong code")
	// ErrReplayed: the code is valid but its step (or a later one) was
	// already accepted for this account. It is a refusal like a wrong code.
	ErrReplayed = errors.New("totp: code already used")
	// ErrNotEnrolled: the account has no active authenticator (Verify) or
	// no pending enrolment (Confirm; also when it expired).
	ErrNotEnrolled = errors.New("totp: not enrolled")
)

const (
	// Issuer is the name authenticator apps show beside the account label.
	Issuer = "Gosid"
	// Period is the length of a step.
	Period = 30 * time.Second
	// Skew is how many steps either side of the current one are accepted.
	Skew = 1
	// Digits is the length of a code.
	Digits = 6
	// SecretSize is the secret's length in bytes (160 bits, as RFC 4226
	// recommends for HMAC-SHA1).
	SecretSize = 20
	// PendingLifetime is how long an enrolment begun can be confirmed.
	PendingLifetime = 15 * time.Minute
	// QRSize is the width and height of the QR code image in pixels.
	QRSize = 256
)

// Sealer encrypts secrets at rest with associated data binding them to
// their row; *keys.Manager implements it. Open fails for a blob sealed with
// other associated data.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, blob, aad []byte) ([]byte, error)
}

// Store keeps the accounts' TOTP secrets. It is safe for concurrent use, by
// several replicas too.
type Store struct {
	db     sqldb.Runner
	sealer Sealer
	now    func() time.Time
}

// NewStore returns a store over db; now is the clock (nil: time.Now).
func NewStore(db *sqldb.DB, sealer Sealer, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, sealer: sealer, now: now}
}

// With returns the store working in q, a caller's transaction: the
// caller's other writes (an activity-log entry) commit with the store's.
func (s *Store) With(q sqldb.Runner) *Store {
	c := *s
	c.db = q
	return &c
}

// Enrolment is what the enrolment page shows: the secret for manual entry,
// the otpauth:// URL and that URL as a QR code. It holds the secret, so it
// never goes to a log (LogValue redacts it).
type Enrolment struct {
	Secret string // base32, no padding
	URL    string // otpauth://totp/Gosid:label?secret=…&issuer=Gosid…
	PNG    []byte // QR code of URL, QRSize × QRSize pixels
}

// LogValue keeps the secret out of logs.
func (Enrolment) LogValue() slog.Value { return slog.StringValue("[totp enrolment]") }

// aad binds a sealed secret to its account's row.
func aad(accountID string) []byte { return []byte("totp|" + accountID) }

// Begin makes a new secret for the account and keeps it as pending, to be
// activated by Confirm; it replaces an earlier pending secret and leaves an
// active one in force. label names the account in the authenticator app
// (e.g. a masked phone number); it must not be empty. An unknown account
// gives sqldb.ErrNotFound.
func (s *Store) Begin(ctx context.Context, accountID, label string) (Enrolment, error) {
	if label == "" {
		return Enrolment{}, errors.New("totp: empty account label")
	}
	secret := make([]byte, SecretSize)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails
	key, err := pqtotp.Generate(pqtotp.GenerateOpts{
		Issuer:      Issuer,
		AccountName: label,
		Period:      uint(Period / time.Second),
		Secret:      secret,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return Enrolment{}, fmt.Errorf("totp: make key: %w", err)
	}
	img, err := key.Image(QRSize, QRSize)
	if err != nil {
		return Enrolment{}, fmt.Errorf("totp: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrolment{}, fmt.Errorf("totp: QR code: %w", err)
	}
	sealed, err := s.sealer.Seal(secret, aad(accountID))
	if err != nil {
		return Enrolment{}, fmt.Errorf("totp: seal secret: %w", err)
	}
	now := sqldb.Micros(s.now())
	_, err = s.db.Exec(ctx, `INSERT INTO totp_secrets (account_id, pending_enc, pending_at, created_at, updated_at)
		VALUES ($1, $2, $3, $3, $3)
		ON CONFLICT (account_id) DO UPDATE SET pending_enc = excluded.pending_enc,
			pending_at = excluded.pending_at, updated_at = excluded.updated_at`,
		accountID, sealed, now)
	if errors.Is(err, sqldb.ErrConflict) { // the foreign key: no such account
		return Enrolment{}, fmt.Errorf("totp: account: %w", sqldb.ErrNotFound)
	}
	if err != nil {
		return Enrolment{}, fmt.Errorf("totp: begin enrolment: %w", err)
	}
	return Enrolment{Secret: key.Secret(), URL: key.URL(), PNG: buf.Bytes()}, nil
}

// Confirm activates the pending secret when code is valid for it, replacing
// an active secret, and records the code's step as used. It returns
// ErrWrongCode for a wrong code, ErrNotEnrolled when there is no pending
// secret or it is older than PendingLifetime (then also sqldb.ErrExpired),
// and ErrReplayed when a concurrent Confirm or Begin changed the pending
// secret first.
func (s *Store) Confirm(ctx context.Context, accountID, code string) error {
	c, sealed, pendingAt, err := s.load(ctx, pendingSecret, accountID, code)
	if err != nil {
		return err
	}
	now := s.now()
	if now.Sub(sqldb.Time(pendingAt)) > PendingLifetime {
		return fmt.Errorf("%w: enrolment %w", ErrNotEnrolled, sqldb.ErrExpired)
	}
	step, err := s.match(ctx, pendingSecret, accountID, sealed, c, now)
	if err != nil {
		return err
	}
	// The pending secret is compared so that a Begin in between (a new
	// secret the code cannot be for) makes this a no-op. last_step only
	// grows: steps are time, shared by the old and the new secret.
	return s.swap(ctx, "confirm", `UPDATE totp_secrets SET secret_enc = pending_enc, pending_enc = NULL, pending_at = NULL,
			last_step = CASE WHEN last_step < $2 THEN $2 ELSE last_step END, confirmed_at = $3, updated_at = $3
		WHERE account_id = $1 AND pending_enc = $4`,
		accountID, step, sqldb.Micros(now), sealed)
}

// secretKind is one of an account's two secrets: its name in errors and
// the query of the sealed secret and the number kept beside it.
type secretKind struct{ what, query string }

var (
	// pendingSecret is the secret being enrolled, with its time (micros).
	pendingSecret = secretKind{"pending secret", `SELECT pending_enc, pending_at FROM totp_secrets
		WHERE account_id = $1 AND pending_enc IS NOT NULL`}
	// activeSecret is the confirmed secret, with the last step accepted.
	activeSecret = secretKind{"secret", `SELECT secret_enc, last_step FROM totp_secrets
		WHERE account_id = $1 AND secret_enc IS NOT NULL`}
)

// load parses the typed code (ErrWrongCode when it is no code) and reads
// the account's secret of kind that it is checked against, with its
// number: ErrNotEnrolled when there is none.
func (s *Store) load(ctx context.Context, kind secretKind, accountID, code string) (c [Digits]byte, sealed []byte, n int64, err error) {
	c, ok := parseCode(code)
	if !ok {
		return c, nil, 0, ErrWrongCode
	}
	err = s.db.QueryRow(ctx, kind.query, accountID).Scan(&sealed, &n)
	if errors.Is(err, sqldb.ErrNotFound) {
		return c, nil, 0, ErrNotEnrolled
	}
	if err != nil {
		return c, nil, 0, fmt.Errorf("totp: load %s: %w", kind.what, err)
	}
	return c, sealed, n, nil
}

// match opens the account's sealed secret and returns the step around now
// that code is for: ErrWrongCode when none.
func (s *Store) match(ctx context.Context, kind secretKind, accountID string, sealed []byte, code [Digits]byte, now time.Time) (int64, error) {
	secret, err := s.sealer.Open(ctx, sealed, aad(accountID))
	if err != nil {
		return 0, fmt.Errorf("totp: open %s: %w", kind.what, err)
	}
	step, ok := match(secret, code, stepAt(now))
	if !ok {
		return 0, ErrWrongCode
	}
	return step, nil
}

// swap runs the compare-and-swap update q (what names it in errors): no
// row changed means another request won, ErrReplayed.
func (s *Store) swap(ctx context.Context, what, q string, args ...any) error {
	res, err := s.db.Exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("totp: %s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("totp: %s: %w", what, err)
	} else if n == 0 {
		return ErrReplayed
	}
	return nil
}

// Verify checks a code against the account's active secret and, when it is
// valid for a step later than any accepted before, records that step. It
// returns nil, ErrWrongCode, ErrReplayed or ErrNotEnrolled. Of several
// calls racing with one code, on any replicas, at most one returns nil.
func (s *Store) Verify(ctx context.Context, accountID, code string) error {
	return s.VerifyFor(ctx, accountID, code, "")
}

// VerifyFor is Verify for one attempt (a sign-in's second-factor flow,
// named by its token): the attempt's own retry of the code whose step it
// used — its first answer lost to a database blip or an exhausted pool,
// and the citizen told to try again — is accepted again, not refused as a
// replay; any other use of that step still is. An empty attempt is
// Verify.
func (s *Store) VerifyFor(ctx context.Context, accountID, code, attempt string) error {
	c, sealed, lastStep, err := s.load(ctx, activeSecret, accountID, code)
	if err != nil {
		return err
	}
	now := s.now()
	step, err := s.match(ctx, activeSecret, accountID, sealed, c, now)
	if err != nil {
		return err
	}
	var by []byte
	if attempt != "" {
		h := sha256.Sum256([]byte("totp-attempt\x00" + attempt))
		by = h[:]
	}
	if step <= lastStep {
		return s.retried(ctx, accountID, step, by)
	}
	// The compare-and-swap: only a step later than every accepted one
	// moves last_step, so of two racing uses of one code exactly one
	// updates the row. secret_enc is compared so that a code checked
	// against a secret replaced meanwhile is not recorded.
	err = s.swap(ctx, "record step", `UPDATE totp_secrets SET last_step = $2, used_at = $3, used_by = $5
		WHERE account_id = $1 AND last_step < $2 AND secret_enc = $4`,
		accountID, step, sqldb.Micros(now), sealed, by)
	if errors.Is(err, ErrReplayed) {
		return s.retried(ctx, accountID, step, by)
	}
	return err
}

// retried answers a step already used: nil when by (not empty) used it,
// the attempt retrying, else ErrReplayed.
func (s *Store) retried(ctx context.Context, accountID string, step int64, by []byte) error {
	if by == nil {
		return ErrReplayed
	}
	var used []byte
	err := s.db.QueryRow(ctx, `SELECT used_by FROM totp_secrets WHERE account_id = $1 AND last_step = $2`, accountID, step).Scan(&used)
	switch {
	case errors.Is(err, sqldb.ErrNotFound):
		return ErrReplayed
	case err != nil:
		return fmt.Errorf("totp: read the step's attempt: %w", err)
	case subtle.ConstantTimeCompare(used, by) == 1:
		return nil
	}
	return ErrReplayed
}

// Enabled reports whether the account has an active (confirmed) secret.
func (s *Store) Enabled(ctx context.Context, accountID string) (bool, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM totp_secrets
		WHERE account_id = $1 AND secret_enc IS NOT NULL`, accountID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("totp: enabled: %w", err)
	}
	return n > 0, nil
}

// Remove deletes the account's active and pending secrets. Removing what
// is not there is not an error.
func (s *Store) Remove(ctx context.Context, accountID string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM totp_secrets WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("totp: remove: %w", err)
	}
	return nil
}

// parseCode accepts exactly Digits ASCII digits and nothing else (no
// spaces: callers trim what their form allows).
func parseCode(code string) (c [Digits]byte, ok bool) {
	if len(code) != Digits {
		return c, false
	}
	for i := range Digits {
		if code[i] < '0' || code[i] > '9' {
			return c, false
		}
		c[i] = code[i]
	}
	return c, true
}

// stepAt is the RFC 6238 time step of t.
func stepAt(t time.Time) int64 {
	return t.Unix() / int64(Period/time.Second)
}

// match compares code with the codes of steps step-Skew … step+Skew in
// constant time (every candidate is computed and compared) and returns the
// latest matching step.
func match(secret []byte, code [Digits]byte, step int64) (int64, bool) {
	var (
		found int
		best  int64
	)
	for s := step - Skew; s <= step+Skew; s++ {
		want := hotp(secret, uint64(s))
		eq := subtle.ConstantTimeCompare(want[:], code[:])
		best = int64(subtle.ConstantTimeSelect(eq, int(s), int(best)))
		found |= eq
	}
	return best, found == 1
}

// hotp is the RFC 4226 code of counter: HMAC-SHA1, dynamic truncation,
// Digits decimal digits.
func hotp(secret []byte, counter uint64) [Digits]byte {
	mac := hmac.New(sha1.New, secret)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	var sum [sha1.Size]byte
	h := mac.Sum(sum[:0])
	off := h[len(h)-1] & 0x0f
	v := binary.BigEndian.Uint32(h[off:off+4]) & 0x7fffffff
	var out [Digits]byte
	for i := Digits - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return out
}
