package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/sqldb"
)

// «Это был не я»: when a phone or e-mail is replaced, the previous one gets
// a link that undoes the change. Whoever changed it may hold the session
// and the password, so undoing also suspends password sign-in until the
// password is set anew (SetPassword); the caller ends the sessions.
//
// A link is random; only its SHA-256 is stored, with the previous value
// sealed. It works once and until it expires. Undoing a change also spends
// the links of later changes of the same contact, which went to values the
// undone change had put in (possibly the intruder's), while links of earlier
// changes stay usable: the first owner can always get back.

// ContactUndo is an undo link's state.
type ContactUndo struct {
	AccountID string
	// Kind is Phone or Email; OldValue the contact before the change.
	Kind     string
	OldValue string
	// Taken: another account has verified OldValue since; it cannot be
	// restored (the rest of the undo still applies).
	Taken     bool
	CreatedAt time.Time
	ExpiresAt time.Time
}

// OfferUndo stores an undo link for the change of accountID's kind contact
// away from oldValue, valid until expiresAt, and returns the link's token.
// Call it in the change's transaction (With).
func (s *Store) OfferUndo(ctx context.Context, accountID, kind, oldValue string, expiresAt time.Time) (string, error) {
	if kind != Phone && kind != Email {
		return "", fmt.Errorf("account: unknown contact kind %q", kind)
	}
	enc, err := s.crypto.Seal([]byte(oldValue), aad("contact_undos", accountID))
	if err != nil {
		return "", err
	}
	token, hash := bearer.New()
	_, err = s.db.Exec(ctx, `INSERT INTO contact_undos (token_hash, account_id, kind, old_value_enc, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, hash, accountID, kind, enc, sqldb.Micros(s.now()), sqldb.Micros(expiresAt))
	if err != nil {
		return "", fmt.Errorf("account: offer undo: %w", err)
	}
	return token, nil
}

// Undo returns the state of the link token: sqldb.ErrNotFound for a
// malformed, unknown or spent one, sqldb.ErrExpired past its expiry.
func (s *Store) Undo(ctx context.Context, token string) (*ContactUndo, error) {
	u, _, err := s.undo(ctx, s.db, token)
	return u, err
}

// undo reads the link of token in q (a transaction, to act on it).
func (s *Store) undo(ctx context.Context, q sqldb.Querier, token string) (*ContactUndo, []byte, error) {
	hash, ok := bearer.Hash(token)
	if !ok {
		return nil, nil, fmt.Errorf("account: undo link: %w", sqldb.ErrNotFound)
	}
	var (
		u                  ContactUndo
		enc                []byte
		created, expiresAt int64
		used               sql.NullInt64
	)
	err := q.QueryRow(ctx, `SELECT account_id, kind, old_value_enc, created_at, expires_at, used_at FROM contact_undos WHERE token_hash = $1`, hash).
		Scan(&u.AccountID, &u.Kind, &enc, &created, &expiresAt, &used)
	if err != nil {
		return nil, nil, fmt.Errorf("account: undo link: %w", err)
	}
	if used.Valid {
		return nil, nil, fmt.Errorf("account: undo link spent: %w", sqldb.ErrNotFound)
	}
	u.CreatedAt, u.ExpiresAt = sqldb.Time(created), sqldb.Time(expiresAt)
	if !s.now().Before(u.ExpiresAt) {
		return nil, nil, fmt.Errorf("account: undo link: %w", sqldb.ErrExpired)
	}
	if u.OldValue, err = s.openString(ctx, enc, "contact_undos", u.AccountID); err != nil {
		return nil, nil, err
	}
	var others int
	err = q.QueryRow(ctx, `SELECT count(*) FROM contacts WHERE kind = $1 AND value_index = $2 AND verified_at IS NOT NULL AND account_id <> $3`,
		u.Kind, s.crypto.BlindIndex(u.Kind, indexValue(u.Kind, u.OldValue)), u.AccountID).Scan(&others)
	if err != nil {
		return nil, nil, fmt.Errorf("account: undo link: %w", err)
	}
	u.Taken = others > 0
	return &u, hash, nil
}

// ErrUndoChanged: the previous contact was taken by another account, or
// freed, between reading the link and acting on it; read it again.
var ErrUndoChanged = errors.New("account: the previous contact changed hands")

// UndoContactChange spends the link token and, in one transaction:
// restores the previous contact as the account's verified one, unless
// another account has verified it meanwhile; spends the links of later
// changes of the same contact; and suspends password sign-in until the
// password is set anew. taken is what Undo reported: if that is no longer
// so, nothing changes and the error is ErrUndoChanged. Errors otherwise as
// Undo's. The caller ends the account's sessions.
func (s *Store) UndoContactChange(ctx context.Context, token string, taken bool) (*ContactUndo, error) {
	var out *ContactUndo
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		st := s.With(tx)
		u, hash, err := st.undo(ctx, tx, token)
		if err != nil {
			return err
		}
		if u.Taken != taken {
			return ErrUndoChanged
		}
		now := sqldb.Micros(s.now())
		// Single use even when two clicks race: only one statement finds
		// used_at empty.
		res, err := tx.Exec(ctx, `UPDATE contact_undos SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL`, hash, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("account: undo link spent: %w", sqldb.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `UPDATE contact_undos SET used_at = $4
			WHERE account_id = $1 AND kind = $2 AND created_at > $3 AND used_at IS NULL`,
			u.AccountID, u.Kind, sqldb.Micros(u.CreatedAt), now); err != nil {
			return err
		}
		if !u.Taken {
			if err := st.SetContact(ctx, u.AccountID, u.Kind, u.OldValue, s.now()); err != nil {
				return err
			}
		}
		if err := st.exec1(ctx, `UPDATE accounts SET password_suspended_at = $2, updated_at = $2 WHERE id = $1`, u.AccountID, now); err != nil {
			return err
		}
		out = u
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SweepUndos deletes undo links that expired before now and returns how
// many.
func (s *Store) SweepUndos(ctx context.Context) (int, error) {
	res, err := s.db.Exec(ctx, `DELETE FROM contact_undos WHERE expires_at < $1`, sqldb.Micros(s.now()))
	if err != nil {
		return 0, fmt.Errorf("account: sweep undo links: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("account: sweep undo links: %w", err)
	}
	return int(n), nil
}
