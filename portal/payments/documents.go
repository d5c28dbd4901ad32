package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// MaxDocuments bounds a citizen's documents: a family's cars and licences,
// not a fleet's (fleets pay through their organisation).
const MaxDocuments = 10

// Document is a citizen's driving licence or СТС in «Мои документы».
type Document struct {
	ID        string
	Kind      IDKind
	Value     string // normalised; the caller masks it for display
	CreatedAt time.Time
}

func documentAAD(id, subject string) []byte { return []byte("portal_documents|" + id + "|" + subject) }

// AddDocument adds a driving licence or an СТС to the citizen's documents:
// validated and normalised, sealed, and looked up by its keyed hash. The
// same document twice is ErrConflict; beyond MaxDocuments ErrTooMany.
func (s *Store) AddDocument(ctx context.Context, subject string, kind IDKind, value string) (*Document, error) {
	if kind != DriverLicence && kind != VehicleCert {
		return nil, &ValidationError{Fields: []FieldError{{"kind", "Можно добавить водительское удостоверение или СТС", "a driving licence or a vehicle registration certificate only"}}}
	}
	v, ok := Identifier{kind, value}.Normalise()
	if !ok {
		return nil, &ValidationError{Fields: []FieldError{{"value",
			"Номер — 10 знаков: 2 цифры, 2 цифры или буквы, 6 цифр (например, 77 АВ 123456)",
			"the number is 10 characters: 2 digits, 2 digits or letters, 6 digits (e.g. 77 АВ 123456)"}}}
	}
	d := &Document{ID: sqldb.NewID(), Kind: kind, Value: v, CreatedAt: s.now()}
	blob, err := s.sealer.Seal([]byte(v), documentAAD(d.ID, subject))
	if err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM portal_documents WHERE subject = $1`, subject).Scan(&n); err != nil {
			return err
		}
		if n >= MaxDocuments {
			return ErrTooMany
		}
		_, err := tx.Exec(ctx, `INSERT INTO portal_documents (id, subject, kind, hash, value_enc, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			d.ID, subject, kind, blindIndex(s.indexKey, kind, v), blob, sqldb.Micros(d.CreatedAt))
		if errors.Is(err, sqldb.ErrConflict) {
			return ErrConflict
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Documents returns the citizen's documents, oldest first, opened.
func (s *Store) Documents(ctx context.Context, subject string) ([]Document, error) {
	rows, err := s.db.Query(ctx, `SELECT id, kind, value_enc, created_at FROM portal_documents WHERE subject = $1 ORDER BY created_at, id`, subject)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Document
	for rows.Next() {
		var d Document
		var blob []byte
		var created int64
		if err := rows.Scan(&d.ID, &d.Kind, &blob, &created); err != nil {
			return nil, sqldb.Classify(err)
		}
		plain, err := s.sealer.Open(ctx, blob, documentAAD(d.ID, subject))
		if err != nil {
			return nil, fmt.Errorf("payments: open document: %w", err)
		}
		d.Value, d.CreatedAt = string(plain), sqldb.Time(created)
		out = append(out, d)
	}
	return out, sqldb.Classify(rows.Err())
}

// RemoveDocument removes one of the citizen's documents; another
// citizen's, or none, is ErrNotFound.
func (s *Store) RemoveDocument(ctx context.Context, subject, id string) error {
	res, err := s.db.Exec(ctx, `DELETE FROM portal_documents WHERE id = $1 AND subject = $2`, id, subject)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotFound
	}
	return nil
}

// Identifiers returns the citizen's documents as identifiers for
// ChargesFor; the caller adds the verified SNILS and INN it knows from the
// identity provider.
func (s *Store) Identifiers(ctx context.Context, subject string) ([]Identifier, error) {
	docs, err := s.Documents(ctx, subject)
	if err != nil {
		return nil, err
	}
	out := make([]Identifier, len(docs))
	for i, d := range docs {
		out[i] = Identifier{d.Kind, d.Value}
	}
	return out, nil
}

// IdentifierHash is the blind-index hash of an identifier (false when it
// is malformed): how the caller compares a citizen's verified SNILS or INN
// with ChargeChange.Hashes without handling the charge's identifiers.
func (s *Store) IdentifierHash(id Identifier) (string, bool) {
	v, ok := id.Normalise()
	if !ok {
		return "", false
	}
	return blindIndex(s.indexKey, id.Kind, v), true
}

// DocumentHolders returns the citizens (subjects) whose «Мои документы»
// or verified SNILS and INN (RememberVerified) hold any of the hashes
// (ChargeChange.Hashes), to tell them of a new or changed charge.
func (s *Store) DocumentHolders(ctx context.Context, hashes []string) ([]string, error) {
	return s.holders(ctx, s.db, hashes)
}

// DocumentHoldersTx is DocumentHolders inside a change's transaction
// (OnChargeChange), which on SQLite holds the only connection that writes.
func (s *Store) DocumentHoldersTx(ctx context.Context, tx *sqldb.Tx, hashes []string) ([]string, error) {
	return s.holders(ctx, tx, hashes)
}

func (s *Store) holders(ctx context.Context, db sqldb.Querier, hashes []string) ([]string, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	in := ""
	args := make([]any, len(hashes))
	for i, h := range hashes {
		if i > 0 {
			in += ", "
		}
		in += fmt.Sprintf("$%d", i+1)
		args[i] = h
	}
	return sqldb.Strings(ctx, db, `SELECT subject FROM portal_documents WHERE hash IN (`+in+`)
		UNION SELECT subject FROM portal_verified_ids WHERE hash IN (`+in+`) ORDER BY subject`, args...)
}

// RememberVerified keeps the keyed hashes of a citizen's verified
// identifiers (SNILS, INN as the identity provider vouches for them at
// sign-in) in place of the earlier ones, so that DocumentHolders finds the
// citizen for a new charge by them; malformed ones are skipped.
func (s *Store) RememberVerified(ctx context.Context, subject string, ids []Identifier) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM portal_verified_ids WHERE subject = $1`, subject); err != nil {
			return err
		}
		for _, id := range ids {
			h, ok := s.IdentifierHash(id)
			if !ok {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO portal_verified_ids (subject, hash, updated_at) VALUES ($1, $2, $3)
				ON CONFLICT (subject, hash) DO NOTHING`, subject, h, sqldb.Micros(s.now())); err != nil {
				return err
			}
		}
		return nil
	})
}
