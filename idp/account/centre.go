package account

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/validate"

	"github.com/gosid/gosid/internal/sqldb"
)

// What the account centre changes: verified data waiting for verification,
// contacts, the citizen's settings, deletion, and the devices the account
// has used.

func (s *Store) openPending(ctx context.Context, blob []byte, id string) (*PersonChange, error) {
	if blob == nil {
		return nil, nil
	}
	b, err := s.crypto.Open(ctx, blob, aad("pending", id))
	if err != nil {
		return nil, fmt.Errorf("account %s pending: %w", id, err)
	}
	defer clear(b)
	var p PersonChange
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("account %s pending: %w", id, err)
	}
	return &p, nil
}

// SetPending stores a change of verified person data to wait for
// verification (sealed; it holds document numbers). An empty change
// clears what waited.
func (s *Store) SetPending(ctx context.Context, id string, p *PersonChange) error {
	var blob []byte
	if !p.Empty() {
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		blob, err = s.crypto.Seal(b, aad("pending", id))
		clear(b)
		if err != nil {
			return err
		}
	}
	return s.exec1(ctx, `UPDATE accounts SET pending = $2, updated_at = $3 WHERE id = $1`, id, blob, sqldb.Micros(s.now()))
}

// ApplyPending makes the waiting change the account's data, once method
// (a registry check, a bank, an operator) has verified it: its SNILS
// becomes the verified SNILS as with VerifySNILS, whose dropped claims it
// returns. A SNILS that another account has verified gives a *TakenError
// and changes nothing.
func (s *Store) ApplyPending(ctx context.Context, id, method string) (dropped []string, err error) {
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		st := s.With(tx)
		a, err := st.Get(ctx, id)
		if err != nil {
			return err
		}
		if a.Pending.Empty() {
			return nil
		}
		p := a.Pending
		if p.SNILS != "" {
			if dropped, err = st.verifySNILS(ctx, tx, id, p.SNILS, method, true); err != nil {
				return err
			}
		}
		if err := st.UpdateDocuments(ctx, id, Documents{Name: p.Name, BirthDate: p.BirthDate, Passport: p.Passport}); err != nil {
			return err
		}
		return st.SetPending(ctx, id, nil)
	})
	if err != nil {
		return nil, err
	}
	return dropped, nil
}

// Settings are the citizen's own choices on the security page.
type Settings struct {
	NotifyNewDevice bool
	// IdleTimeout zero means the configured default.
	IdleTimeout time.Duration
}

// SetSettings stores the citizen's settings.
func (s *Store) SetSettings(ctx context.Context, id string, st Settings) error {
	idle := sql.NullInt64{Int64: int64(st.IdleTimeout / time.Second), Valid: st.IdleTimeout > 0}
	return s.exec1(ctx, `UPDATE accounts SET notify_new_device = $2, idle_timeout_s = $3, updated_at = $4 WHERE id = $1`,
		id, st.NotifyNewDevice, idle, sqldb.Micros(s.now()))
}

// SetContact replaces the account's phone or e-mail with value, verified
// at verifiedAt (after a code sent to it). The old value stops being a
// login at once. A value another account has verified gives a *TakenError
// and changes nothing.
func (s *Store) SetContact(ctx context.Context, id, kind, value string, verifiedAt time.Time) error {
	if kind != Phone && kind != Email {
		return fmt.Errorf("account: unknown contact kind %q", kind)
	}
	enc, err := s.crypto.Seal([]byte(value), aad("contacts."+kind, id))
	if err != nil {
		return err
	}
	idx := s.crypto.BlindIndex(kind, indexValue(kind, value))
	now := sqldb.Micros(s.now())
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM contacts WHERE account_id = $1 AND kind = $2`, id, kind); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO contacts (account_id, kind, value_enc, value_index, verified_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			id, kind, enc, idx, sqldb.NullMicros(verifiedAt), now)
		if errors.Is(err, sqldb.ErrConflict) {
			return &TakenError{Kind: kind}
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE accounts SET updated_at = $2 WHERE id = $1`, id, now)
		return err
	})
}

// RequestDeletion schedules the account's erasure at after.
func (s *Store) RequestDeletion(ctx context.Context, id string, after time.Time) error {
	return s.exec1(ctx, `UPDATE accounts SET delete_after = $2, updated_at = $3 WHERE id = $1`, id, sqldb.Micros(after), sqldb.Micros(s.now()))
}

// CancelDeletion withdraws a requested deletion; it reports whether one
// was pending.
func (s *Store) CancelDeletion(ctx context.Context, id string) (bool, error) {
	res, err := s.db.Exec(ctx, `UPDATE accounts SET delete_after = NULL, updated_at = $2 WHERE id = $1 AND delete_after IS NOT NULL`, id, sqldb.Micros(s.now()))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DueForErasure lists up to limit accounts whose deletion time has come.
func (s *Store) DueForErasure(ctx context.Context, now time.Time, limit int) ([]string, error) {
	return sqldb.Strings(ctx, s.db, `SELECT id FROM accounts WHERE delete_after IS NOT NULL AND delete_after <= $1 ORDER BY delete_after LIMIT $2`, sqldb.Micros(now), limit)
}

// Erase deletes the account's person data for good: the account row and
// everything that cascades from it (contacts, sessions, factors, grants).
// Its sign-in events lose their network details and their link to the
// account; the activity log keeps the account's random identifier only,
// a pseudonymous reference. Erase refuses (sqldb.ErrConflict) when the
// deletion was cancelled meanwhile (unless due is zero: erase now).
func (s *Store) Erase(ctx context.Context, id string, due time.Time) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if !due.IsZero() {
			var after sql.NullInt64
			if err := tx.QueryRow(ctx, `SELECT delete_after FROM accounts WHERE id = $1`, id).Scan(&after); err != nil {
				return err
			}
			if !after.Valid || after.Int64 > sqldb.Micros(due) {
				return fmt.Errorf("account: deletion was cancelled: %w", sqldb.ErrConflict)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE account_events SET ip = '', user_agent = '' WHERE account_id = $1`, id); err != nil {
			return err
		}
		return s.With(tx).exec1(ctx, `DELETE FROM accounts WHERE id = $1`, id)
	})
}

// SeenDevice records a sign-in from the device whose cookie hashes to
// deviceHash and reports whether the device is new to an account that had
// signed in from other devices before (the first device of an account is
// not "new": there is nothing to compare with).
func (s *Store) SeenDevice(ctx context.Context, accountID string, deviceHash []byte, userAgent string) (isNew bool, err error) {
	now := sqldb.Micros(s.now())
	ua := validate.Truncate(userAgent, 512)
	// A known device, the usual case, is one statement outside a
	// transaction; only a new one needs the count and the insert together.
	res, err := s.db.Exec(ctx, `UPDATE account_devices SET last_seen = $3, user_agent = $4 WHERE account_id = $1 AND device_hash = $2`,
		accountID, deviceHash, now, ua)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return false, nil
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var others int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM account_devices WHERE account_id = $1`, accountID).Scan(&others); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO account_devices (account_id, device_hash, user_agent, first_seen, last_seen) VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT (account_id, device_hash) DO UPDATE SET last_seen = excluded.last_seen`, accountID, deviceHash, ua, now)
		isNew = others > 0
		return err
	})
	return isNew, err
}

// SetLevel changes the account's assurance level from from to to, a
// compare-and-swap: sqldb.ErrConflict when the level is no longer from
// (another verification changed it first). Only idp/assurance calls it,
// with the evidence that justifies the level (Service.Verify).
func (s *Store) SetLevel(ctx context.Context, id string, from, to assurance.Level) error {
	if !to.Valid() {
		return fmt.Errorf("account: unknown level %q", to)
	}
	res, err := s.db.Exec(ctx, `UPDATE accounts SET level = $3, updated_at = $4 WHERE id = $1 AND level = $2`, id, from, to, sqldb.Micros(s.now()))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("account: level is no longer %s: %w", from, sqldb.ErrConflict)
	}
	return nil
}

// State is what idp/assurance needs to know of the account: its level and
// whether its SNILS is verified.
func (s *Store) State(ctx context.Context, id string) (assurance.State, error) {
	var level string
	var snilsEnc []byte
	var verified sql.NullInt64
	err := s.db.QueryRow(ctx, `SELECT level, snils_enc, snils_verified_at FROM accounts WHERE id = $1`, id).Scan(&level, &snilsEnc, &verified)
	if err != nil {
		return assurance.State{}, err
	}
	st := assurance.State{Level: assurance.Level(level)}
	if st.SNILS, err = s.openString(ctx, snilsEnc, "snils", id); err != nil {
		return assurance.State{}, err
	}
	st.SNILSVerified = st.SNILS != "" && verified.Valid
	return st, nil
}
