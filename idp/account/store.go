package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/assurance"

	"github.com/gosid/gosid/internal/sqldb"
)

// Crypto seals fields and computes blind indexes; *keys.Manager implements
// it.
type Crypto interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, blob, aad []byte) ([]byte, error)
	BlindIndex(domain, value string) []byte
}

// Store persists accounts. It is safe for concurrent use.
type Store struct {
	db     sqldb.Runner
	crypto Crypto
	now    func() time.Time
}

// NewStore returns a store over db.
func NewStore(db *sqldb.DB, crypto Crypto, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, crypto: crypto, now: now}
}

// With returns the store working in q, a caller's transaction: the
// caller's other writes (an activity-log entry) commit with the store's.
func (s *Store) With(q sqldb.Runner) *Store {
	c := *s
	c.db = q
	return &c
}

const dateLayout = "2006-01-02"

// aad binds a sealed column to its account.
func aad(column, accountID string) []byte { return []byte(column + "|" + accountID) }

// NewID returns a version 7 UUID: time-ordered, so new rows append to the
// primary-key index instead of scattering across it. Its time is the wall
// clock's on purpose, not a store's injected clock: it orders the index
// and means nothing else, and a test clock held still would only make the
// ids of one test share their first bytes.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	ms := uint64(time.Now().UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Create stores a new account with its contacts in one transaction. A
// verified phone or e-mail that another account already has gives a
// *TakenError (errors.Is ErrTaken); nothing is written then. n.SNILS is
// stored as a claim, which never conflicts.
func (s *Store) Create(ctx context.Context, n New) (*Account, error) {
	if n.Phone.Value == "" && n.Email.Value == "" {
		return nil, errors.New("account: a phone or an e-mail is required")
	}
	now := s.now().UTC()
	id := NewID()
	var snilsEnc, snilsClaim, innEnc, passEnc []byte
	var err error
	if n.SNILS != "" {
		if snilsEnc, err = s.crypto.Seal([]byte(n.SNILS), aad("snils", id)); err != nil {
			return nil, err
		}
		snilsClaim = s.crypto.BlindIndex(SNILS, n.SNILS)
	}
	if n.INN != "" {
		if innEnc, err = s.crypto.Seal([]byte(n.INN), aad("inn", id)); err != nil {
			return nil, err
		}
	}
	if passEnc, err = s.sealPassport(n.Passport, id); err != nil {
		return nil, err
	}
	type contactRow struct {
		kind     string
		enc, idx []byte
		verified sql.NullInt64
	}
	var contacts []contactRow
	for _, c := range []struct {
		kind string
		c    Contact
	}{{Phone, n.Phone}, {Email, n.Email}} {
		if c.c.Value == "" {
			continue
		}
		enc, err := s.crypto.Seal([]byte(c.c.Value), aad("contacts."+c.kind, id))
		if err != nil {
			return nil, err
		}
		contacts = append(contacts, contactRow{c.kind, enc, s.crypto.BlindIndex(c.kind, indexValue(c.kind, c.c.Value)), sqldb.NullMicros(c.c.VerifiedAt)})
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO accounts (id, status, level, family_name, given_name, middle_name, birth_date, gender,
			snils_enc, snils_claim_index, inn_enc, passport_enc, password_hash, password_changed_at, consent_version, consent_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)`,
			id, StatusActive, assurance.Simplified, n.Name.Family, n.Name.Given, n.Name.Middle, nullDate(n.BirthDate), nullString(n.Gender),
			snilsEnc, snilsClaim, innEnc, passEnc, nullString(n.PasswordHash), nullMicrosIf(n.PasswordHash != "", now),
			nullString(n.ConsentVersion), sqldb.NullMicros(n.ConsentAt), sqldb.Micros(now))
		if err != nil {
			return err
		}
		for _, c := range contacts {
			_, err := tx.Exec(ctx, `INSERT INTO contacts (account_id, kind, value_enc, value_index, verified_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
				id, c.kind, c.enc, c.idx, c.verified, sqldb.Micros(now))
			if errors.Is(err, sqldb.ErrConflict) {
				return &TakenError{Kind: c.kind}
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// indexValue is the form of a value that its blind index is computed over:
// e-mail look-up is case-insensitive.
func indexValue(kind, v string) string {
	if kind == Email {
		return lowerASCII(v)
	}
	return v
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (s *Store) sealPassport(p *Passport, id string) ([]byte, error) {
	if p == nil {
		return nil, nil
	}
	b, err := json.Marshal(passportJSON{p.Series, p.Number, dateString(p.IssueDate), p.Issuer, p.DivisionCode})
	if err != nil {
		return nil, err
	}
	defer clear(b)
	return s.crypto.Seal(b, aad("passport", id))
}

type passportJSON struct {
	Series       string `json:"series"`
	Number       string `json:"number"`
	IssueDate    string `json:"issue_date,omitempty"`
	Issuer       string `json:"issuer,omitempty"`
	DivisionCode string `json:"division_code,omitempty"`
}

const accountColumns = `id, status, level, family_name, given_name, middle_name, birth_date, gender,
	snils_enc, inn_enc, passport_enc, password_hash, password_changed_at, failed_logins, locked_until,
	consent_version, consent_at, created_at, updated_at, mfa, notify_new_device, idle_timeout_s, pending, delete_after,
	snils_verified_at, snils_verified_by, password_suspended_at, lang`

// Get returns the account with its contacts; sqldb.ErrNotFound if none.
func (s *Store) Get(ctx context.Context, id string) (*Account, error) {
	return s.load(ctx, `SELECT `+withContacts+` FROM accounts a`+joinContacts+` WHERE a.id = $1`, id)
}

// withContacts selects an account's columns and, through joinContacts, one
// row per contact (or one row of NULLs), so that an account is read in one
// round trip.
var withContacts = "a." + strings.ReplaceAll(accountColumns, ", ", ", a.") + ", c.kind, c.value_enc, c.verified_at"

const joinContacts = ` LEFT JOIN contacts c ON c.account_id = a.id`

// load reads the account rows of query (see withContacts).
func (s *Store) load(ctx context.Context, query string, args ...any) (*Account, error) {
	as, err := s.loadAll(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("account: %w", sqldb.ErrNotFound)
	}
	return as[0], nil
}

// GetOwn returns the account without its contacts (Phone and Email
// empty): its own row only, for a reader of its person data.
func (s *Store) GetOwn(ctx context.Context, id string) (*Account, error) {
	return s.load(ctx, `SELECT a.`+strings.ReplaceAll(accountColumns, ", ", ", a.")+`, NULL, NULL, NULL FROM accounts a WHERE a.id = $1`, id)
}

// GetAll returns the accounts of ids that exist, in no order, in one
// round trip.
func (s *Store) GetAll(ctx context.Context, ids []string) ([]*Account, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	in, args := sqldb.In(nil, ids)
	return s.loadAll(ctx, `SELECT `+withContacts+` FROM accounts a`+joinContacts+` WHERE a.id IN (`+in+`) ORDER BY a.id`, args...)
}

// stored is an account's row as read, before its sealed columns are
// opened.
type stored struct {
	a                                 Account
	birth, gender, hash, consentVer   sql.NullString
	snilsEnc, innEnc, passEnc         []byte
	pwChanged, lockedUntil, consentAt sql.NullInt64
	idle, deleteAfter, suspended      sql.NullInt64
	snilsVerifiedAt                   sql.NullInt64
	snilsVerifiedBy                   sql.NullString
	pendingEnc                        []byte
	created, updated                  int64
	contacts                          []contactRow
}

type contactRow struct {
	kind     string
	enc      []byte
	verified int64
}

// loadAll reads the accounts of query (see withContacts), whose rows of
// one account must come one after another (one account, or ORDER BY a.id).
func (s *Store) loadAll(ctx context.Context, query string, args ...any) ([]*Account, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var all []*stored
	for rows.Next() {
		var r stored
		var kind sql.NullString
		var enc []byte
		var verified sql.NullInt64
		a := &r.a
		if err := rows.Scan(&a.ID, &a.Status, &a.Level, &a.Name.Family, &a.Name.Given, &a.Name.Middle, &r.birth, &r.gender,
			&r.snilsEnc, &r.innEnc, &r.passEnc, &r.hash, &r.pwChanged, &a.FailedLogins, &r.lockedUntil,
			&r.consentVer, &r.consentAt, &r.created, &r.updated, &a.MFA, &a.NotifyNewDevice, &r.idle, &r.pendingEnc, &r.deleteAfter,
			&r.snilsVerifiedAt, &r.snilsVerifiedBy, &r.suspended, &a.Lang, &kind, &enc, &verified); err != nil {
			return nil, sqldb.Classify(err)
		}
		cur := &r
		if n := len(all); n > 0 && all[n-1].a.ID == a.ID {
			cur = all[n-1]
		} else {
			all = append(all, cur)
		}
		if kind.Valid {
			cur.contacts = append(cur.contacts, contactRow{kind.String, enc, verified.Int64})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, sqldb.Classify(err)
	}
	out := make([]*Account, len(all))
	for i, r := range all {
		if out[i], err = s.open(ctx, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// open completes an account read by loadAll: its dates and its sealed
// columns opened.
func (s *Store) open(ctx context.Context, r *stored) (*Account, error) {
	a := r.a
	var err error
	a.BirthDate = parseDate(r.birth.String)
	a.Gender = r.gender.String
	a.PasswordHash = r.hash.String
	a.PasswordChangedAt = sqldb.Time(r.pwChanged.Int64)
	a.LockedUntil = sqldb.Time(r.lockedUntil.Int64)
	a.ConsentVersion = r.consentVer.String
	a.ConsentAt = sqldb.Time(r.consentAt.Int64)
	a.CreatedAt, a.UpdatedAt = sqldb.Time(r.created), sqldb.Time(r.updated)
	a.IdleTimeout = time.Duration(r.idle.Int64) * time.Second
	a.DeleteAfter = sqldb.Time(r.deleteAfter.Int64)
	a.PasswordSuspendedAt = sqldb.Time(r.suspended.Int64)
	if a.Pending, err = s.openPending(ctx, r.pendingEnc, a.ID); err != nil {
		return nil, err
	}
	if a.SNILS, err = s.openString(ctx, r.snilsEnc, "snils", a.ID); err != nil {
		return nil, err
	}
	if a.SNILS != "" && r.snilsVerifiedAt.Valid {
		a.SNILSVerifiedAt, a.SNILSVerifiedBy = sqldb.Time(r.snilsVerifiedAt.Int64), r.snilsVerifiedBy.String
	}
	if a.INN, err = s.openString(ctx, r.innEnc, "inn", a.ID); err != nil {
		return nil, err
	}
	if r.passEnc != nil {
		b, err := s.crypto.Open(ctx, r.passEnc, aad("passport", a.ID))
		if err != nil {
			return nil, fmt.Errorf("account %s passport: %w", a.ID, err)
		}
		var pj passportJSON
		err = json.Unmarshal(b, &pj)
		clear(b)
		if err != nil {
			return nil, fmt.Errorf("account %s passport: %w", a.ID, err)
		}
		a.Passport = &Passport{pj.Series, pj.Number, parseDate(pj.IssueDate), pj.Issuer, pj.DivisionCode}
	}
	for _, cr := range r.contacts {
		v, err := s.openString(ctx, cr.enc, "contacts."+cr.kind, a.ID)
		if err != nil {
			return nil, err
		}
		c := Contact{Value: v, VerifiedAt: sqldb.Time(cr.verified)}
		switch cr.kind {
		case Phone:
			a.Phone = c
		case Email:
			a.Email = c
		}
	}
	return &a, nil
}

func (s *Store) openString(ctx context.Context, blob []byte, column, id string) (string, error) {
	if blob == nil {
		return "", nil
	}
	b, err := s.crypto.Open(ctx, blob, aad(column, id))
	if err != nil {
		return "", fmt.Errorf("account %s %s: %w", id, column, err)
	}
	return string(b), nil
}

// FindByLogin returns the account whose verified phone, e-mail or SNILS
// is value (normalised by idp/validate); sqldb.ErrNotFound if none. A
// claimed SNILS finds nothing: only a verified one is in snils_index.
func (s *Store) FindByLogin(ctx context.Context, kind, value string) (*Account, error) {
	idx := s.crypto.BlindIndex(kind, indexValue(kind, value))
	switch kind {
	case Phone, Email:
		return s.load(ctx, `SELECT `+withContacts+` FROM contacts l JOIN accounts a ON a.id = l.account_id`+joinContacts+`
			WHERE l.kind = $1 AND l.value_index = $2 AND l.verified_at IS NOT NULL`, kind, idx)
	case SNILS:
		return s.load(ctx, `SELECT `+withContacts+` FROM accounts a`+joinContacts+` WHERE a.snils_index = $1`, idx)
	}
	return nil, fmt.Errorf("account: unknown login kind %q", kind)
}

// SNILSHolder returns the id of the account whose verified SNILS is snils,
// "" when none: FindByLogin's question without loading the account.
func (s *Store) SNILSHolder(ctx context.Context, snils string) (string, error) {
	var id string
	err := s.db.QueryRow(ctx, `SELECT id FROM accounts WHERE snils_index = $1`, s.crypto.BlindIndex(SNILS, indexValue(SNILS, snils))).Scan(&id)
	if errors.Is(sqldb.Classify(err), sqldb.ErrNotFound) {
		return "", nil
	}
	return id, sqldb.Classify(err)
}

// SNILSHolders is SNILSHolder for several SNILS in one round trip: the
// holder of each SNILS that is verified on an account.
func (s *Store) SNILSHolders(ctx context.Context, snils []string) (map[string]string, error) {
	out := map[string]string{}
	if len(snils) == 0 {
		return out, nil
	}
	byIndex := map[string]string{}
	idx := make([][]byte, len(snils))
	for i, v := range snils {
		idx[i] = s.crypto.BlindIndex(SNILS, indexValue(SNILS, v))
		byIndex[string(idx[i])] = v
	}
	in, args := sqldb.In(nil, idx)
	rows, err := s.db.Query(ctx, `SELECT id, snils_index FROM accounts WHERE snils_index IN (`+in+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var held []byte
		if err := rows.Scan(&id, &held); err != nil {
			return nil, sqldb.Classify(err)
		}
		out[byIndex[string(held)]] = id
	}
	return out, sqldb.Classify(rows.Err())
}

// Taken reports whether a verified phone, e-mail or SNILS already belongs
// to an account.
func (s *Store) Taken(ctx context.Context, kind, value string) (bool, error) {
	_, err := s.FindByLogin(ctx, kind, value)
	if errors.Is(err, sqldb.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// RecordFailure counts one failed password for the account, atomically.
// When the count reaches maxFailures, the statement that reaches it locks
// password sign-in until now+lockFor and resets the count, and lockedNow is
// true for that caller only; concurrent failures on other replicas are
// counted exactly.
func (s *Store) RecordFailure(ctx context.Context, id string, maxFailures int, lockFor time.Duration) (lockedNow bool, err error) {
	now := s.now()
	var n int
	err = s.db.QueryRow(ctx, `UPDATE accounts SET
			failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END,
			locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END,
			updated_at = $4
		WHERE id = $1 RETURNING failed_logins`,
		id, maxFailures, sqldb.Micros(now.Add(lockFor)), sqldb.Micros(now)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("record failed sign-in: %w", err)
	}
	return n == 0, nil
}

// RecordSuccess resets the failure count after a correct password.
func (s *Store) RecordSuccess(ctx context.Context, id string) error {
	_, err := s.db.Exec(ctx, `UPDATE accounts SET failed_logins = 0 WHERE id = $1 AND failed_logins <> 0`, id)
	return err
}

// ClearLockout lifts a password lock-out and resets the failure count: the
// owner proved a verified contact and the password (recovery's sign-in).
// A suspension of password sign-in stays: only a new password lifts it.
func (s *Store) ClearLockout(ctx context.Context, id string) error {
	return s.lifted(ctx, id, `UPDATE accounts SET failed_logins = 0, locked_until = NULL, updated_at = $2 WHERE id = $1`, id, sqldb.Micros(s.now()))
}

// SetPassword replaces the password hash and clears the lock-out and a
// suspension of password sign-in (password recovery, change, operator
// reset): a password nobody else knows is what the suspension waited for.
func (s *Store) SetPassword(ctx context.Context, id, hash string) error {
	now := sqldb.Micros(s.now())
	return s.lifted(ctx, id, `UPDATE accounts SET password_hash = $2, password_changed_at = $3, failed_logins = 0, locked_until = NULL,
		password_suspended_at = NULL, updated_at = $3 WHERE id = $1`, id, hash, now)
}

// Rehash swaps the hash for one with current parameters if it is still
// oldHash (a concurrent password change wins).
func (s *Store) Rehash(ctx context.Context, id, oldHash, newHash string) error {
	_, err := s.db.Exec(ctx, `UPDATE accounts SET password_hash = $3 WHERE id = $1 AND password_hash = $2`, id, oldHash, newHash)
	return err
}

// SetMFA sets the second factor password sign-ins need ("" turns it off).
func (s *Store) SetMFA(ctx context.Context, id, method string) error {
	switch method {
	case "", MFATOTP, MFASMS:
	default:
		return fmt.Errorf("account: unknown second factor %q", method)
	}
	return s.exec1(ctx, `UPDATE accounts SET mfa = $2, updated_at = $3 WHERE id = $1`, id, method, sqldb.Micros(s.now()))
}

// SetLang records the language of the citizen's latest sign-in ("ru" or
// "en"; anything else is ignored). Writes only when it changed.
func (s *Store) SetLang(ctx context.Context, id, lang string) error {
	if lang != "ru" && lang != "en" {
		return nil
	}
	_, err := s.db.Exec(ctx, `UPDATE accounts SET lang = $2 WHERE id = $1 AND lang <> $2`, id, lang)
	return err
}

// SetStatus blocks or unblocks an account (operators). Unblocking also
// clears a password lock-out.
func (s *Store) SetStatus(ctx context.Context, id string, st Status) error {
	now := sqldb.Micros(s.now())
	if st == StatusActive {
		return s.lifted(ctx, id, `UPDATE accounts SET status = $2, failed_logins = 0, locked_until = NULL, updated_at = $3 WHERE id = $1`, id, st, now)
	}
	return s.exec1(ctx, `UPDATE accounts SET status = $2, updated_at = $3 WHERE id = $1`, id, st, now)
}

// UpdateDocuments stores birth date, gender, SNILS, INN and passport given
// after registration (unverified until checked). Zero values leave a field
// unchanged. A SNILS is stored as a claim and never conflicts with another
// account's; an account whose SNILS is verified keeps it: the same value
// again changes nothing, another gives ErrSNILSVerified.
func (s *Store) UpdateDocuments(ctx context.Context, id string, d Documents) error {
	var claim []byte
	if d.SNILS != "" {
		claim = s.crypto.BlindIndex(SNILS, d.SNILS)
	}
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if claim != nil {
			var verified []byte
			if err := tx.QueryRow(ctx, `SELECT snils_index FROM accounts WHERE id = $1`, id).Scan(&verified); err != nil {
				return err
			}
			switch {
			case verified == nil:
			case hmac.Equal(verified, claim):
				d.SNILS = "" // the verified value itself
			default:
				return ErrSNILSVerified
			}
		}
		u := update{args: []any{id, sqldb.Micros(s.now())}, set: []string{"updated_at = $2"}}
		if err := s.documents(&u, id, d); err != nil {
			return err
		}
		return s.With(tx).exec1(ctx, `UPDATE accounts SET `+strings.Join(u.set, ", ")+` WHERE id = $1`, u.args...)
	})
}

// update is an UPDATE of an account's row being built: its SET clauses
// and their arguments ($1 the id, $2 the time).
type update struct {
	set  []string
	args []any
}

// to adds "column = $n" with v.
func (u *update) to(column string, v any) {
	u.args = append(u.args, v)
	u.set = append(u.set, column+" = $"+strconv.Itoa(len(u.args)))
}

// documents adds the fields of d that are set to u, sealing the document
// numbers; a SNILS is a claim (snils_claim_index).
func (s *Store) documents(u *update, id string, d Documents) error {
	if !d.BirthDate.IsZero() {
		u.to("birth_date", d.BirthDate.Format(dateLayout))
	}
	if d.Gender != "" {
		u.to("gender", d.Gender)
	}
	if d.SNILS != "" {
		enc, err := s.crypto.Seal([]byte(d.SNILS), aad("snils", id))
		if err != nil {
			return err
		}
		u.to("snils_enc", enc)
		u.to("snils_claim_index", s.crypto.BlindIndex(SNILS, d.SNILS))
	}
	if d.INN != "" {
		enc, err := s.crypto.Seal([]byte(d.INN), aad("inn", id))
		if err != nil {
			return err
		}
		u.to("inn_enc", enc)
	}
	if d.Passport != nil {
		enc, err := s.sealPassport(d.Passport, id)
		if err != nil {
			return err
		}
		u.to("passport_enc", enc)
	}
	if n := d.Name; n != nil {
		if n.Family != "" {
			u.to("family_name", n.Family)
		}
		if n.Given != "" {
			u.to("given_name", n.Given)
		}
		u.to("middle_name", n.Middle)
	}
	return nil
}

// VerifySNILS makes snils the account's verified SNILS, proven by method
// (e.g. "qualified_esignature") at the store's now, and drops every other
// account's claim of the same SNILS, returning those accounts' ids so that
// their owners can be told. One transaction: either all of it happens or
// nothing. Another account's verified SNILS gives a *TakenError; a
// different verified SNILS on this account gives ErrSNILSVerified. Calling
// it again with the account's own verified SNILS only drops new claims.
func (s *Store) VerifySNILS(ctx context.Context, id, snils, method string) (dropped []string, err error) {
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		dropped, err = s.With(tx).verifySNILS(ctx, tx, id, snils, method, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return dropped, nil
}

// verifySNILS is VerifySNILS inside tx; replace lets a verified change
// (ApplyPending) replace the account's verified SNILS with another.
func (s *Store) verifySNILS(ctx context.Context, tx *sqldb.Tx, id, snils, method string, replace bool) (dropped []string, err error) {
	_, dropped, err = s.With(tx).raise(ctx, id, assurance.Raise{SNILS: snils, Method: method}, replace)
	return dropped, err
}

// Raise is what a verification changes of the account itself, in two
// statements inside the caller's transaction: the verified SNILS (other
// accounts' claims of it dropped, as VerifySNILS does), the verified data
// r.Data (Documents without a SNILS), and the level
// raised to r.Level when that is higher, with a compare-and-swap on the
// level it read (sqldb.ErrConflict when another change got there first).
// It returns the account's state before it and the accounts that lost a
// claim. Only idp/assurance calls it.
func (s *Store) Raise(ctx context.Context, id string, r assurance.Raise) (before assurance.State, dropped []string, err error) {
	return s.raise(ctx, id, r, false)
}

func (s *Store) raise(ctx context.Context, id string, r assurance.Raise, replace bool) (before assurance.State, dropped []string, err error) {
	p, err := s.planRaise(id, r)
	if err != nil {
		return before, nil, err
	}
	found, err := s.raiseRows(ctx, []*raisePlan{p})
	if err != nil {
		return before, nil, err
	}
	if err := s.decideRaise(ctx, p, found, replace); err != nil {
		return before, nil, err
	}
	if err := s.dropClaims(ctx, p.dropped); err != nil {
		return before, nil, err
	}
	if p.u == nil {
		return p.before, p.dropped, nil
	}
	res, err := s.db.Exec(ctx, `UPDATE accounts SET `+strings.Join(p.u.set, ", ")+` WHERE `+p.where, p.u.args...)
	if errors.Is(err, sqldb.ErrConflict) {
		return before, nil, &TakenError{Kind: SNILS}
	}
	if err != nil {
		return before, nil, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return before, nil, fmt.Errorf("account: level is no longer %s: %w", p.before.Level, sqldb.ErrConflict)
	}
	return p.before, p.dropped, nil
}

// raisePlan is one account's Raise on its way: what it will write and,
// once decided, the UPDATE of its row.
type raisePlan struct {
	id       string
	r        assurance.Raise
	docs     Documents
	enc, idx []byte // the sealed and indexed SNILS, when r has one

	before  assurance.State
	dropped []string
	u       *update // nil: nothing to write of the row itself
	where   string
}

func (s *Store) planRaise(id string, r assurance.Raise) (*raisePlan, error) {
	p := &raisePlan{id: id, r: r}
	if r.Level != "" && !r.Level.Valid() {
		return nil, fmt.Errorf("account: unknown level %q", r.Level)
	}
	if r.Data != nil {
		d, ok := r.Data.(Documents)
		if !ok || d.SNILS != "" {
			return nil, fmt.Errorf("account: verified data are Documents without a SNILS, not %T", r.Data)
		}
		p.docs = d
	}
	if r.SNILS != "" {
		var err error
		if p.enc, err = s.crypto.Seal([]byte(r.SNILS), aad("snils", id)); err != nil {
			return nil, err
		}
		p.idx = s.crypto.BlindIndex(SNILS, r.SNILS)
	}
	return p, nil
}

// raiseRow is an account's row as a Raise reads it.
type raiseRow struct {
	id, level          string
	snils, held, claim []byte
	verifiedAt         sql.NullInt64
}

// raiseRows reads, in one round trip, the plans' own rows (their level
// and verified SNILS) and every account that claims one of their SNILS.
func (s *Store) raiseRows(ctx context.Context, ps []*raisePlan) ([]raiseRow, error) {
	ids := make([]string, len(ps))
	var idxs [][]byte
	for i, p := range ps {
		ids[i] = p.id
		if p.idx != nil {
			idxs = append(idxs, p.idx)
		}
	}
	in, args := sqldb.In(nil, ids)
	q := `SELECT id, level, snils_enc, snils_index, snils_claim_index, snils_verified_at FROM accounts WHERE id IN (` + in + `)`
	if len(idxs) > 0 {
		var claims string
		claims, args = sqldb.In(args, idxs)
		q += ` OR snils_claim_index IN (` + claims + `)`
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqldb.Collect(rows, func(sc sqldb.Scanner) (raiseRow, error) {
		var v raiseRow
		return v, sc.Scan(&v.id, &v.level, &v.snils, &v.held, &v.claim, &v.verifiedAt)
	})
}

// decideRaise fills in p from the rows read: the state before, the
// accounts whose claim gives way, and the UPDATE of its own row.
func (s *Store) decideRaise(ctx context.Context, p *raisePlan, found []raiseRow, replace bool) error {
	var current []byte
	own := false
	for _, f := range found {
		if f.id != p.id {
			if p.idx != nil && f.claim != nil && hmac.Equal(f.claim, p.idx) {
				p.dropped = append(p.dropped, f.id)
			}
			continue
		}
		own, current = true, f.held
		p.before.Level = assurance.Level(f.level)
		var err error
		if p.before.SNILS, err = s.openString(ctx, f.snils, "snils", p.id); err != nil {
			return err
		}
		p.before.SNILSVerified = p.before.SNILS != "" && f.verifiedAt.Valid
	}
	if !own {
		return fmt.Errorf("account: %w", sqldb.ErrNotFound)
	}
	same := current != nil && hmac.Equal(current, p.idx)
	if p.r.SNILS != "" && current != nil && !same && !replace {
		return ErrSNILSVerified
	}
	u := update{set: []string{"updated_at = $2"}, args: []any{p.id, sqldb.Micros(s.now())}}
	if p.r.SNILS != "" && !same {
		u.to("snils_enc", p.enc)
		u.to("snils_index", p.idx)
		u.set = append(u.set, "snils_claim_index = NULL", "snils_verified_at = $2")
		u.to("snils_verified_by", p.r.Method)
	}
	if err := s.documents(&u, p.id, p.docs); err != nil {
		return err
	}
	p.where = "id = $1"
	if p.r.Level.Rank() > p.before.Level.Rank() {
		u.to("level", string(p.r.Level))
		u.args = append(u.args, string(p.before.Level))
		p.where += " AND level = $" + strconv.Itoa(len(u.args))
	}
	if len(u.set) > 1 {
		p.u = &u
	}
	return nil
}

// dropClaims drops the claims of the accounts ids, in one statement.
func (s *Store) dropClaims(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	in, args := sqldb.In([]any{sqldb.Micros(s.now())}, ids)
	_, err := s.db.Exec(ctx, `UPDATE accounts SET snils_enc = NULL, snils_claim_index = NULL, updated_at = $1
		WHERE id IN (`+in+`) AND snils_claim_index IS NOT NULL`, args...)
	return err
}

// RaiseAll is Raise for several accounts, each once, in the caller's
// transaction, in a few statements whatever their number: one read of the
// accounts and of the claims of their SNILS, one for the claims dropped,
// and one UPDATE ... FROM VALUES per shape of change. Accounts that touch
// each other (one claims the SNILS another verifies, two verify one SNILS)
// are raised one by one instead, with the same outcome.
func (s *Store) RaiseAll(ctx context.Context, ids []string, rs []assurance.Raise) ([]assurance.State, [][]string, error) {
	befores := make([]assurance.State, len(ids))
	dropped := make([][]string, len(ids))
	one := func() ([]assurance.State, [][]string, error) {
		for i, id := range ids {
			var err error
			if befores[i], dropped[i], err = s.Raise(ctx, id, rs[i]); err != nil {
				return nil, nil, err
			}
		}
		return befores, dropped, nil
	}
	if len(ids) < 2 {
		return one()
	}
	ps := make([]*raisePlan, len(ids))
	in := map[string]bool{}
	seen := map[string]bool{}
	for i, id := range ids {
		var err error
		if ps[i], err = s.planRaise(id, rs[i]); err != nil {
			return nil, nil, err
		}
		if in[id] || (ps[i].idx != nil && seen[string(ps[i].idx)]) {
			return one()
		}
		in[id], seen[string(ps[i].idx)] = true, ps[i].idx != nil
	}
	found, err := s.raiseRows(ctx, ps)
	if err != nil {
		return nil, nil, err
	}
	var all []string
	for i, p := range ps {
		if err := s.decideRaise(ctx, p, found, false); err != nil {
			return nil, nil, err
		}
		for _, d := range p.dropped {
			if in[d] {
				return one()
			}
		}
		befores[i], dropped[i] = p.before, p.dropped
		all = append(all, p.dropped...)
	}
	if err := s.dropClaims(ctx, all); err != nil {
		return nil, nil, err
	}
	// The UPDATEs, one per shape: the same columns set and the same
	// condition, so the same arguments in the same places.
	shapes := map[string][]*raisePlan{}
	var order []string
	for _, p := range ps {
		if p.u == nil {
			continue
		}
		key := strings.Join(p.u.set, ", ") + " WHERE " + p.where
		if shapes[key] == nil {
			order = append(order, key)
		}
		shapes[key] = append(shapes[key], p)
	}
	for _, key := range order {
		if err := s.updateAll(ctx, shapes[key]); err != nil {
			return nil, nil, err
		}
	}
	return befores, dropped, nil
}

// param is a "$n" of an update's SET clauses and condition.
var param = regexp.MustCompile(`\$(\d+)`)

// updateAll runs the UPDATEs of ps, all of one shape, as one statement:
// their arguments are rows of VALUES, and each $n becomes that row's
// column n (VALUES name their columns column1, column2… on both
// dialects; PostgreSQL is told each one's type).
func (s *Store) updateAll(ctx context.Context, ps []*raisePlan) error {
	first := ps[0]
	ref := func(q string) string { return param.ReplaceAllString(q, "x.column$1") }
	d, ok := s.db.(interface{ Dialect() sqldb.Dialect })
	pg := ok && d.Dialect() == sqldb.Postgres
	var values strings.Builder
	var args []any
	for i, p := range ps {
		if i > 0 {
			values.WriteString(", ")
		}
		values.WriteString("(")
		for j, a := range p.u.args {
			if j > 0 {
				values.WriteString(", ")
			}
			args = append(args, a)
			values.WriteString("$" + strconv.Itoa(len(args)))
			if pg {
				values.WriteString(pgType(j, a))
			}
		}
		values.WriteString(")")
	}
	where := strings.ReplaceAll(ref(first.where), "id = x.column1", "accounts.id = x.column1")
	res, err := s.db.Exec(ctx, `UPDATE accounts SET `+ref(strings.Join(first.u.set, ", "))+` FROM (VALUES `+values.String()+`) AS x WHERE `+where, args...)
	if errors.Is(err, sqldb.ErrConflict) {
		return &TakenError{Kind: SNILS}
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != int64(len(ps)) {
		return fmt.Errorf("account: a level changed meanwhile: %w", sqldb.ErrConflict)
	}
	return nil
}

// pgType is the cast of an update's argument j in a PostgreSQL VALUES row
// (the first is the account's id).
func pgType(j int, a any) string {
	switch a.(type) {
	case []byte:
		return "::bytea"
	case int64, int:
		return "::bigint"
	}
	if j == 0 {
		return "::uuid"
	}
	return "::text"
}

// Documents are the optional person data a citizen may add after
// registration.
type Documents struct {
	// Name, when set, replaces the whole name (an empty Middle removes it).
	Name      *Name
	BirthDate time.Time
	Gender    string
	SNILS     string
	INN       string
	Passport  *Passport
}

// Delete removes the account and everything that cascades from it; its
// events keep no reference to it.
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.exec1(ctx, `DELETE FROM accounts WHERE id = $1`, id)
}

// exec1 runs a statement that must change exactly one row.
// lifted runs q, an update of account id that lifts its password
// lock-out, and lifts the lock-outs of the login identifiers counted for
// it too (LoginLocked).
func (s *Store) lifted(ctx context.Context, id, q string, args ...any) error {
	if err := s.exec1(ctx, q, args...); err != nil {
		return err
	}
	return s.clearLoginLocks(ctx, id)
}

func (s *Store) exec1(ctx context.Context, q string, args ...any) error {
	res, err := s.db.Exec(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("account: %w", sqldb.ErrNotFound)
	}
	return nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func nullDate(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: t.Format(dateLayout), Valid: true}
}

func dateString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(dateLayout)
}

func parseDate(s string) time.Time {
	t, _ := time.Parse(dateLayout, s)
	return t
}

func nullMicrosIf(ok bool, t time.Time) sql.NullInt64 {
	if !ok {
		return sql.NullInt64{}
	}
	return sqldb.NullMicros(t)
}
