package esign

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// Sealer encrypts the certificates at rest (keys.Manager).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, blob, aad []byte) ([]byte, error)
}

// Certificate is a certificate bound to an account, as listed in the
// account centre.
type Certificate struct {
	Fingerprint []byte
	AccountID   string
	Subject     string // the common name
	Issuer      string // the issuer's common name or organisation
	Serial      string // hexadecimal
	Algorithm   string
	NotBefore   time.Time
	NotAfter    time.Time
	LinkedAt    time.Time
	LastUsedAt  time.Time
	// Cert is the parsed certificate.
	Cert *x509.Certificate
}

// ErrOtherAccount: the certificate is bound to another account.
var ErrOtherAccount = errors.New("esign: certificate bound to another account")

// Store keeps the bindings. It is safe for concurrent use.
type Store struct {
	db    sqldb.Runner
	crypt Sealer
	now   func() time.Time
}

// NewStore returns a store over db.
func NewStore(db *sqldb.DB, crypt Sealer, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, crypt: crypt, now: now}
}

// With returns the store working in q, a caller's transaction: the
// caller's other writes (an activity-log entry) commit with the store's.
func (s *Store) With(q sqldb.Runner) *Store {
	c := *s
	c.db = q
	return &c
}

// Fingerprint is the SHA-256 of the certificate's DER.
func Fingerprint(c *x509.Certificate) []byte {
	s := sha256.Sum256(c.Raw)
	return s[:]
}

// Bind binds c to the account, or records its use when it is already
// bound to it. It reports whether the binding is new; a certificate bound
// to another account gives ErrOtherAccount.
func (s *Store) Bind(ctx context.Context, accountID string, c *x509.Certificate, subject, issuer, algorithm string) (bool, error) {
	created, err := s.bind(ctx, accountID, c, subject, issuer, algorithm)
	if errors.Is(err, errLostRace) {
		// A binding committed between the look-up and the insert (on
		// PostgreSQL; SQLite serialises the two): look again, so that the
		// same account's second request records a use instead of being
		// told the certificate is someone else's.
		created, err = s.bind(ctx, accountID, c, subject, issuer, algorithm)
		if errors.Is(err, errLostRace) {
			err = fmt.Errorf("esign: bind certificate: %w", sqldb.ErrConflict)
		}
	}
	return created, err
}

// errLostRace: the insert met a row that the look-up did not see.
var errLostRace = errors.New("esign: certificate bound meanwhile")

func (s *Store) bind(ctx context.Context, accountID string, c *x509.Certificate, subject, issuer, algorithm string) (bool, error) {
	fp := Fingerprint(c)
	now := sqldb.Micros(s.now())
	enc, err := s.crypt.Seal(c.Raw, fp)
	if err != nil {
		return false, err
	}
	created := false
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		// InTx may run this again (a serialization failure): what an
		// attempt that rolled back noted must not survive it.
		created = false
		var owner string
		err := tx.QueryRow(ctx, `SELECT account_id FROM account_certificates WHERE fingerprint = $1`, fp).Scan(&owner)
		switch {
		case err == nil && owner != accountID:
			return ErrOtherAccount
		case err == nil:
			_, err = tx.Exec(ctx, `UPDATE account_certificates SET last_used_at = $2 WHERE fingerprint = $1`, fp, now)
			return err
		case !errors.Is(err, sqldb.ErrNotFound):
			return err
		}
		// ON CONFLICT DO NOTHING keeps a PostgreSQL transaction usable
		// when the race is lost (a failed INSERT would abort it), so that
		// Bind can look again in a caller's transaction (With).
		res, err := tx.Exec(ctx, `INSERT INTO account_certificates (fingerprint, account_id, subject, issuer, serial, algorithm,
			not_before, not_after, der_enc, linked_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
			ON CONFLICT (fingerprint) DO NOTHING`,
			fp, accountID, subject, issuer, fmt.Sprintf("%X", c.SerialNumber), algorithm,
			sqldb.Micros(c.NotBefore), sqldb.Micros(c.NotAfter), enc, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errLostRace
		}
		created = true
		return nil
	})
	if err != nil {
		created = false
	}
	return created, err
}

// List returns the account's certificates, newest binding first.
func (s *Store) List(ctx context.Context, accountID string) ([]Certificate, error) {
	rows, err := s.db.Query(ctx, `SELECT fingerprint, subject, issuer, serial, algorithm, not_before, not_after, der_enc, linked_at, last_used_at
		FROM account_certificates WHERE account_id = $1 ORDER BY linked_at DESC`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Certificate
	for rows.Next() {
		c := Certificate{AccountID: accountID}
		var nb, na, linked int64
		var used sql.NullInt64
		var enc []byte
		if err := rows.Scan(&c.Fingerprint, &c.Subject, &c.Issuer, &c.Serial, &c.Algorithm, &nb, &na, &enc, &linked, &used); err != nil {
			return nil, sqldb.Classify(err)
		}
		c.NotBefore, c.NotAfter, c.LinkedAt, c.LastUsedAt = sqldb.Time(nb), sqldb.Time(na), sqldb.Time(linked), sqldb.Time(used.Int64)
		der, err := s.crypt.Open(ctx, enc, c.Fingerprint)
		if err != nil {
			return nil, fmt.Errorf("esign: certificate: %w", err)
		}
		if c.Cert, err = x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("esign: stored certificate: %w", err)
		}
		out = append(out, c)
	}
	return out, sqldb.Classify(rows.Err())
}

// Remove unbinds a certificate of the account; sqldb.ErrNotFound if the
// account has no such certificate.
func (s *Store) Remove(ctx context.Context, accountID string, fingerprint []byte) error {
	res, err := s.db.Exec(ctx, `DELETE FROM account_certificates WHERE account_id = $1 AND fingerprint = $2`, accountID, fingerprint)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("esign: remove certificate: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("esign: %w", sqldb.ErrNotFound)
	}
	return nil
}
