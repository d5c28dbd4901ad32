package passkey

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// Credential is one registered WebAuthn credential: a passkey or a security
// key. It holds no secret (the private key never leaves the authenticator).
type Credential struct {
	// ID is the credential ID the authenticator chose, globally unique.
	ID        []byte
	AccountID string
	// Name is the citizen's label, «Ключ доступа N» until renamed.
	Name string
	// PublicKey is the COSE_Key of the credential.
	PublicKey []byte
	// SignCount is the newest signature counter seen (0 for authenticators
	// without a counter, which most synced passkeys are).
	SignCount uint32
	// Transports as the browser reported them at registration ("internal",
	// "usb", "nfc", "ble", "hybrid").
	Transports []string
	// AAGUID names the authenticator model (all zero for most passkeys).
	AAGUID []byte
	// Attachment is "platform", "cross-platform" or "" (unknown), as the
	// browser reported it at registration.
	Attachment string
	// Attestation is the attestation statement format ("none", "packed"…).
	Attestation string
	// Flags of the authenticator data at registration (BackupState: at the
	// latest use).
	UserVerified   bool
	BackupEligible bool
	BackupState    bool
	// CloneWarning marks a credential whose signature counter went
	// backwards: possibly cloned. Such a credential is refused.
	CloneWarning bool
	CreatedAt    time.Time
	LastUsedAt   time.Time // zero until first used
}

// LogValue implements slog.LogValuer: the credential's and account's ids
// only, never the citizen's label.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("credential", encodeID(c.ID)), slog.String("account_id", c.AccountID))
}

// Challenge is a ceremony in progress, stored so that any replica can finish
// it.
type Challenge struct {
	// Hash is the SHA-256 of the raw challenge bytes.
	Hash    []byte
	Purpose string
	// AccountID is "" for a discoverable (username-less) sign-in.
	AccountID string
	// SessionData is go-webauthn's SessionData as JSON.
	SessionData []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Ceremony purposes.
const (
	PurposeRegister     = "register"
	PurposeLogin        = "login"
	PurposeSecondFactor = "second_factor"
)

// Store keeps credentials and challenges in the database. It holds no state
// of its own and is safe for concurrent use.
type Store struct {
	db  sqldb.Runner
	now func() time.Time
}

// NewStore returns a Store over db; now is the clock (time.Now when nil).
func NewStore(db *sqldb.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

// With returns the store working in q, a caller's transaction: the
// caller's other writes (an activity-log entry) commit with the store's.
func (s *Store) With(q sqldb.Runner) *Store {
	c := *s
	c.db = q
	return &c
}

func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

const credentialColumns = `id, account_id, name, public_key, sign_count, transports, aaguid, attachment, attestation,
	user_verified, backup_eligible, backup_state, clone_warning, created_at, last_used_at`

// Add stores a new credential if the account has fewer than limit
// credentials (limit <= 0: no limit). A credential ID that is already
// registered, to this or any other account, gives sqldb.ErrConflict; too
// many credentials give ErrTooMany. Nothing is written then.
func (s *Store) Add(ctx context.Context, c *Credential, limit int) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.clock()
	}
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if limit > 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM passkeys WHERE account_id = $1`, c.AccountID).Scan(&n); err != nil {
				return fmt.Errorf("passkey: count credentials: %w", err)
			}
			if n >= limit {
				return ErrTooMany
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO passkeys (`+credentialColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			c.ID, c.AccountID, c.Name, c.PublicKey, int64(c.SignCount), strings.Join(c.Transports, " "), nullBytes(c.AAGUID),
			c.Attachment, c.Attestation, c.UserVerified, c.BackupEligible, c.BackupState, c.CloneWarning,
			sqldb.Micros(c.CreatedAt), sqldb.NullMicros(c.LastUsedAt))
		if err != nil {
			return fmt.Errorf("passkey: add credential: %w", err)
		}
		return nil
	})
}

// Get returns the credential with this ID, or sqldb.ErrNotFound.
func (s *Store) Get(ctx context.Context, id []byte) (*Credential, error) {
	c, err := scanCredential(s.db.QueryRow(ctx, `SELECT `+credentialColumns+` FROM passkeys WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("passkey: get credential: %w", err)
	}
	return c, nil
}

// List returns the account's credentials, oldest first.
func (s *Store) List(ctx context.Context, accountID string) ([]Credential, error) {
	rows, err := s.db.Query(ctx, `SELECT `+credentialColumns+` FROM passkeys WHERE account_id = $1 ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("passkey: list credentials: %w", err)
	}
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("passkey: list credentials: %w", err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("passkey: list credentials: %w", sqldb.Classify(err))
	}
	return out, nil
}

// Rename sets the label of the account's credential; sqldb.ErrNotFound when
// the account has no such credential.
func (s *Store) Rename(ctx context.Context, accountID string, id []byte, name string) error {
	return s.exec1(ctx, "rename credential", `UPDATE passkeys SET name = $3 WHERE id = $1 AND account_id = $2`, id, accountID, name)
}

// Remove deletes the account's credential; sqldb.ErrNotFound when the
// account has no such credential.
func (s *Store) Remove(ctx context.Context, accountID string, id []byte) error {
	return s.exec1(ctx, "remove credential", `DELETE FROM passkeys WHERE id = $1 AND account_id = $2`, id, accountID)
}

// RecordUse records a verified assertion: the counter moves to count, the
// backup state and the last-use time are updated. It is a compare-and-swap
// on the counter: it succeeds only while the stored counter is below count
// (or both are 0, for authenticators without a counter) and the credential
// is not flagged, so that of two replicas verifying assertions with the same
// or an older counter at once only one succeeds. Otherwise it returns
// ErrCounter, and sqldb.ErrNotFound for an unknown credential.
func (s *Store) RecordUse(ctx context.Context, id []byte, count uint32, backupState bool) error {
	res, err := s.db.Exec(ctx, `UPDATE passkeys SET sign_count = $2, backup_state = $3, last_used_at = $4
		WHERE id = $1 AND clone_warning = $5 AND (sign_count < $2 OR (sign_count = 0 AND $2 = 0))`,
		id, int64(count), backupState, sqldb.Micros(s.clock()), false)
	if err != nil {
		return fmt.Errorf("passkey: record use: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("passkey: record use: %w", err)
	} else if n == 1 {
		return nil
	}
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	return ErrCounter
}

// FlagClone marks the credential as possibly cloned.
func (s *Store) FlagClone(ctx context.Context, id []byte) error {
	return s.exec1(ctx, "flag credential", `UPDATE passkeys SET clone_warning = $2 WHERE id = $1`, id, true)
}

// SaveChallenge stores a ceremony's challenge.
func (s *Store) SaveChallenge(ctx context.Context, c Challenge) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.clock()
	}
	_, err := s.db.Exec(ctx, `INSERT INTO passkey_challenges (challenge_hash, purpose, account_id, session_data, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.Hash, c.Purpose, sql.NullString{String: c.AccountID, Valid: c.AccountID != ""},
		string(c.SessionData), sqldb.Micros(c.CreatedAt), sqldb.Micros(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("passkey: save challenge: %w", err)
	}
	return nil
}

// ConsumeChallenge deletes the challenge with this hash and purpose and
// returns it. The read and the delete are one statement, so of any number of
// requests (on any replicas) finishing one challenge, exactly one gets it;
// the others get sqldb.ErrNotFound, as does an unknown challenge. An expired
// challenge is deleted too and gives sqldb.ErrExpired.
func (s *Store) ConsumeChallenge(ctx context.Context, hash []byte, purpose string) (*Challenge, error) {
	c := Challenge{Hash: hash, Purpose: purpose}
	var (
		account          sql.NullString
		data             string
		created, expires int64
	)
	err := s.db.QueryRow(ctx, `DELETE FROM passkey_challenges WHERE challenge_hash = $1 AND purpose = $2
		RETURNING account_id, session_data, created_at, expires_at`, hash, purpose).Scan(&account, &data, &created, &expires)
	if err != nil {
		return nil, fmt.Errorf("passkey: consume challenge: %w", err)
	}
	c.AccountID, c.SessionData, c.CreatedAt, c.ExpiresAt = account.String, []byte(data), sqldb.Time(created), sqldb.Time(expires)
	if !s.clock().Before(c.ExpiresAt) {
		return nil, fmt.Errorf("passkey: consume challenge: %w", sqldb.ErrExpired)
	}
	return &c, nil
}

// Sweep deletes expired challenges and returns how many. Any replica may
// run it.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	res, err := s.db.Exec(ctx, `DELETE FROM passkey_challenges WHERE expires_at <= $1`, sqldb.Micros(s.clock()))
	if err != nil {
		return 0, fmt.Errorf("passkey: sweep: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("passkey: sweep: %w", err)
	}
	return int(n), nil
}

func (s *Store) exec1(ctx context.Context, what, q string, args ...any) error {
	res, err := s.db.Exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("passkey: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("passkey: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("passkey: %s: %w", what, sqldb.ErrNotFound)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanCredential(row scanner) (*Credential, error) {
	var (
		c                 Credential
		count, created    int64
		transports        string
		lastUsed          sql.NullInt64
		uv, be, bs, clone bool
	)
	err := row.Scan(&c.ID, &c.AccountID, &c.Name, &c.PublicKey, &count, &transports, &c.AAGUID, &c.Attachment, &c.Attestation,
		&uv, &be, &bs, &clone, &created, &lastUsed)
	if err != nil {
		return nil, sqldb.Classify(err)
	}
	if count < 0 || count > int64(^uint32(0)) {
		return nil, errors.New("stored signature counter out of range")
	}
	c.SignCount = uint32(count)
	if transports != "" {
		c.Transports = strings.Fields(transports)
	}
	if len(c.AAGUID) == 0 {
		c.AAGUID = nil
	}
	c.UserVerified, c.BackupEligible, c.BackupState, c.CloneWarning = uv, be, bs, clone
	c.CreatedAt = sqldb.Time(created)
	c.LastUsedAt = sqldb.Time(lastUsed.Int64)
	return &c, nil
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
