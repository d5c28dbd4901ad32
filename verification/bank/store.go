package bank

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// Store keeps banks and the links of bank identities to accounts.
type Store struct {
	db  sqldb.Runner
	now func() time.Time
}

// NewStore returns the store on db; now is the clock (nil: time.Now).
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

// config is the stored form of a bank's configuration (the banks.config
// column): everything but the id, the disabled flag and the times.
type config struct {
	NameRU           string            `json:"name_ru"`
	NameEN           string            `json:"name_en"`
	Issuer           string            `json:"issuer"`
	DiscoveryURL     string            `json:"discovery_url,omitempty"`
	ClientID         string            `json:"client_id"`
	ClientSecretFile string            `json:"client_secret_file,omitempty"`
	PrivateKeyFile   string            `json:"private_key_file,omitempty"`
	KeyID            string            `json:"key_id,omitempty"`
	Scopes           []string          `json:"scopes,omitempty"`
	Claims           map[string]string `json:"claims,omitempty"`
	Vouches          []string          `json:"vouches,omitempty"`
	MayRegister      bool              `json:"may_register,omitempty"`
	Sandbox          bool              `json:"sandbox,omitempty"`
}

func encodeConfig(b *Bank) (string, error) {
	raw, err := json.Marshal(config{NameRU: b.NameRU, NameEN: b.NameEN, Issuer: b.Issuer, DiscoveryURL: b.DiscoveryURL, ClientID: b.ClientID,
		ClientSecretFile: b.ClientSecretFile, PrivateKeyFile: b.PrivateKeyFile, KeyID: b.KeyID, Scopes: b.Scopes,
		Claims: b.Claims, Vouches: b.Vouches, MayRegister: b.MayRegister, Sandbox: b.Sandbox})
	return string(raw), err
}

func invalid(b *Bank) error {
	if p := b.Validate(); len(p) > 0 {
		return fmt.Errorf("bank %q: invalid: %v", b.ID, p)
	}
	return nil
}

// Add stores a new bank; ErrExists when the id is taken.
func (s *Store) Add(ctx context.Context, b Bank) error {
	if err := invalid(&b); err != nil {
		return err
	}
	cfg, err := encodeConfig(&b)
	if err != nil {
		return err
	}
	now := sqldb.Micros(s.now())
	_, err = s.db.Exec(ctx, `INSERT INTO banks (id, config, disabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
		b.ID, cfg, flag(b.Disabled), now)
	if errors.Is(err, sqldb.ErrConflict) {
		return fmt.Errorf("bank %q: %w", b.ID, ErrExists)
	}
	return err
}

// Update replaces a bank's configuration; sqldb.ErrNotFound when there is
// no such bank.
func (s *Store) Update(ctx context.Context, b Bank) error {
	if err := invalid(&b); err != nil {
		return err
	}
	cfg, err := encodeConfig(&b)
	if err != nil {
		return err
	}
	res, err := s.db.Exec(ctx, `UPDATE banks SET config = $2, disabled = $3, updated_at = $4 WHERE id = $1`,
		b.ID, cfg, flag(b.Disabled), sqldb.Micros(s.now()))
	return oneRow(res, err, b.ID)
}

// Remove deletes a bank with its links and flows in flight (the foreign
// keys cascade); sqldb.ErrNotFound when there is no such bank.
func (s *Store) Remove(ctx context.Context, id string) error {
	res, err := s.db.Exec(ctx, `DELETE FROM banks WHERE id = $1`, id)
	return oneRow(res, err, id)
}

func oneRow(res interface{ RowsAffected() (int64, error) }, err error, id string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("bank %q: %w", id, sqldb.ErrNotFound)
	}
	return nil
}

const bankColumns = `id, config, disabled, created_at, updated_at`

func scanBank(scan func(...any) error) (*Bank, error) {
	var (
		b        Bank
		raw      string
		disabled int
		cr, up   int64
	)
	if err := scan(&b.ID, &raw, &disabled, &cr, &up); err != nil {
		return nil, err
	}
	var c config
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return nil, fmt.Errorf("bank %q: stored configuration: %w", b.ID, err)
	}
	b.NameRU, b.NameEN, b.Issuer, b.DiscoveryURL, b.ClientID = c.NameRU, c.NameEN, c.Issuer, c.DiscoveryURL, c.ClientID
	b.ClientSecretFile, b.PrivateKeyFile, b.KeyID = c.ClientSecretFile, c.PrivateKeyFile, c.KeyID
	b.Scopes, b.Claims, b.Vouches, b.MayRegister, b.Sandbox = c.Scopes, c.Claims, c.Vouches, c.MayRegister, c.Sandbox
	b.Disabled, b.CreatedAt, b.UpdatedAt = disabled != 0, sqldb.Time(cr), sqldb.Time(up)
	return &b, nil
}

// Get returns a bank, disabled or not; sqldb.ErrNotFound when missing.
func (s *Store) Get(ctx context.Context, id string) (*Bank, error) {
	b, err := scanBank(s.db.QueryRow(ctx, `SELECT `+bankColumns+` FROM banks WHERE id = $1`, id).Scan)
	if err != nil {
		return nil, fmt.Errorf("bank %q: %w", id, err)
	}
	return b, nil
}

// List returns every bank by id.
func (s *Store) List(ctx context.Context) ([]Bank, error) {
	rows, err := s.db.Query(ctx, `SELECT `+bankColumns+` FROM banks ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Bank
	for rows.Next() {
		b, err := scanBank(rows.Scan)
		if err != nil {
			return nil, sqldb.Classify(err)
		}
		out = append(out, *b)
	}
	return out, sqldb.Classify(rows.Err())
}

// Link is a bank identity (the bank and the bank's subject) linked to an
// account.
type Link struct {
	BankID, Subject, AccountID string
	LinkedAt, LastUsedAt       time.Time
}

// Link links a bank identity to an account inside the caller's
// transaction q (the lead's evidence and the link are one change). Linking
// the same identity to the same account again changes nothing;
// ErrLinkedElsewhere when it belongs to another account.
func (s *Store) Link(ctx context.Context, q sqldb.Querier, l Link) error {
	if l.BankID == "" || l.Subject == "" || l.AccountID == "" {
		return errors.New("bank: link needs a bank, a subject and an account")
	}
	now := sqldb.Micros(s.now())
	// ON CONFLICT DO NOTHING keeps a PostgreSQL transaction usable when the
	// identity is linked already (a failed INSERT would abort it).
	if _, err := q.Exec(ctx, `INSERT INTO bank_links (bank_id, subject, account_id, linked_at, last_used_at)
		VALUES ($1, $2, $3, $4, $4) ON CONFLICT (bank_id, subject) DO NOTHING`, l.BankID, l.Subject, l.AccountID, now); err != nil {
		return err
	}
	var owner string
	if err := q.QueryRow(ctx, `SELECT account_id FROM bank_links WHERE bank_id = $1 AND subject = $2`,
		l.BankID, l.Subject).Scan(&owner); err != nil {
		return err
	}
	if owner != l.AccountID {
		return fmt.Errorf("bank %q: %w", l.BankID, ErrLinkedElsewhere)
	}
	return nil
}

// Unlink removes an account's link to a bank; sqldb.ErrNotFound when
// there is none.
func (s *Store) Unlink(ctx context.Context, accountID, bankID string) error {
	res, err := s.db.Exec(ctx, `DELETE FROM bank_links WHERE account_id = $1 AND bank_id = $2`, accountID, bankID)
	return oneRow(res, err, bankID)
}

// Links returns an account's links by bank.
func (s *Store) Links(ctx context.Context, accountID string) ([]Link, error) {
	rows, err := s.db.Query(ctx, `SELECT bank_id, subject, account_id, linked_at, last_used_at FROM bank_links
		WHERE account_id = $1 ORDER BY bank_id, subject`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Link
	for rows.Next() {
		var (
			l         Link
			lnk, used int64
		)
		if err := rows.Scan(&l.BankID, &l.Subject, &l.AccountID, &lnk, &used); err != nil {
			return nil, sqldb.Classify(err)
		}
		l.LinkedAt, l.LastUsedAt = sqldb.Time(lnk), sqldb.Time(used)
		out = append(out, l)
	}
	return out, sqldb.Classify(rows.Err())
}

// AccountFor returns the account a bank identity is linked to;
// sqldb.ErrNotFound when it is not linked.
func (s *Store) AccountFor(ctx context.Context, bankID, subject string) (string, error) {
	var id string
	err := s.db.QueryRow(ctx, `SELECT account_id FROM bank_links WHERE bank_id = $1 AND subject = $2`, bankID, subject).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("bank %q link: %w", bankID, err)
	}
	return id, nil
}

// Used records a sign-in with a linked identity; sqldb.ErrNotFound when
// it is not linked.
func (s *Store) Used(ctx context.Context, bankID, subject string) error {
	res, err := s.db.Exec(ctx, `UPDATE bank_links SET last_used_at = $3 WHERE bank_id = $1 AND subject = $2`,
		bankID, subject, sqldb.Micros(s.now()))
	return oneRow(res, err, bankID)
}

// flag is a bool as the INTEGER column both dialects store.
func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}
