package assurance

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// Method is how a verification was made.
type Method string

const (
	// MethodRegistry: a state registry confirmed the data (СФР for SNILS,
	// МВД for passports, ФНС for INN).
	MethodRegistry Method = "registry"
	// MethodBank: a bank vouched for its customer (its ID service or the
	// partner API).
	MethodBank Method = "bank"
	// MethodOperator: an operator saw the document in person.
	MethodOperator Method = "operator"
	// MethodQualifiedESignature: a qualified e-signature certificate,
	// verified to an accredited CA, carried the data.
	MethodQualifiedESignature Method = "qualified_esignature"
	// MethodLetter: a code sent by registered letter to the address came
	// back.
	MethodLetter Method = "letter"
)

var methods = []Method{MethodRegistry, MethodBank, MethodOperator, MethodQualifiedESignature, MethodLetter}

// Verifier is who vouches: Kind is "registry", "bank", "operator",
// "ca" (a certification authority) or "system"; ID names it (the
// registry, the bank's id, the operator's account, the CA).
type Verifier struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

var verifierKinds = []string{"registry", "bank", "operator", "ca", "system"}

// Document is what the verification looked at. Number is sealed at rest.
type Document struct {
	// Type: "passport", "snils", "inn", "qualified_certificate"…
	Type       string    `json:"type"`
	Number     string    `json:"number,omitempty"` // or a certificate's serial
	Issuer     string    `json:"issuer,omitempty"`
	IssuedAt   time.Time `json:"issued_at,omitzero"`
	ValidUntil time.Time `json:"valid_until,omitzero"`
}

// Evidence is one recorded verification of an account's person data.
type Evidence struct {
	// ID is set by Verify, unless the caller chose one (NewID).
	ID        string
	AccountID string
	Method    Method
	Verifier  Verifier
	// Claims are the names of the verified values: snils, family_name,
	// given_name, middle_name, birthdate, passport, inn…
	Claims   []string
	Document Document
	// Values are the verified values, by claim name, as the verifier saw
	// them (dates ISO, SNILS canonical): a claim counts as verified for a
	// site only while the account's value still equals this one. Sealed
	// at rest with the document. Evidence recorded before values were kept
	// has none.
	Values map[string]string
	// Level is the level the evidence supports ("" none).
	Level      Level
	VerifiedAt time.Time
	CreatedAt  time.Time
	// DisputedAt is when the citizen disputed it (zero: never): disputed
	// evidence is kept for the record but verifies nothing (Standing).
	DisputedAt time.Time
}

// Standing returns the evidence that was not disputed, in order.
func Standing(evs []Evidence) []Evidence {
	out := make([]Evidence, 0, len(evs))
	for _, e := range evs {
		if e.DisputedAt.IsZero() {
			out = append(out, e)
		}
	}
	return out
}

// Dispute marks the account's evidence id as disputed by its citizen, in
// q (the transaction that also undoes what it did: Lower's Apply);
// sqldb.ErrNotFound when the account has no such evidence or it is
// disputed already.
func (s *Service) Dispute(ctx context.Context, q sqldb.Querier, accountID, id string) error {
	res, err := q.Exec(ctx, `UPDATE evidence SET disputed_at = $3 WHERE id = $1 AND account_id = $2 AND disputed_at IS NULL`,
		id, accountID, sqldb.Micros(s.now()))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("assurance: evidence %s: %w", id, sqldb.ErrNotFound)
	}
	return nil
}

// Sealer encrypts document details at rest (keys.Manager).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, blob, aad []byte) ([]byte, error)
}

// ErrInvalid: the verification lacks what it must say.
var ErrInvalid = errors.New("assurance: invalid verification")

func (e Evidence) validate() error {
	switch {
	case e.AccountID == "":
		return fmt.Errorf("%w: no account", ErrInvalid)
	case !slices.Contains(methods, e.Method):
		return fmt.Errorf("%w: unknown method %q", ErrInvalid, e.Method)
	case !slices.Contains(verifierKinds, e.Verifier.Kind):
		return fmt.Errorf("%w: unknown verifier kind %q", ErrInvalid, e.Verifier.Kind)
	case len(e.Claims) == 0:
		return fmt.Errorf("%w: verifies nothing", ErrInvalid)
	case e.Level != "" && !e.Level.Valid():
		return fmt.Errorf("%w: unknown level %q", ErrInvalid, e.Level)
	case e.VerifiedAt.IsZero():
		return fmt.Errorf("%w: no time of verification", ErrInvalid)
	}
	return nil
}

// sealedPart is what evidence keeps sealed: the document (its fields at the
// top level, as rows written before values were kept have them) and the
// verified values.
type sealedPart struct {
	Document
	Values map[string]string `json:"values,omitempty"`
}

// aad binds a sealed document to its evidence row.
func aad(id string) []byte { return []byte("evidence.document|" + id) }

func (s *Service) insert(ctx context.Context, q sqldb.Querier, es ...Evidence) error {
	// One statement for all of them: a registry check records three.
	var b strings.Builder
	b.WriteString(`INSERT INTO evidence (id, account_id, method, verifier_kind, verifier_id, claims, document_type, document_enc, level, verified_at, created_at) VALUES `)
	const cols = 11
	args := make([]any, 0, cols*len(es))
	for i, e := range es {
		doc, err := json.Marshal(sealedPart{Document: e.Document, Values: e.Values})
		if err != nil {
			return err
		}
		sealed, err := s.sealer.Seal(doc, aad(e.ID))
		clear(doc)
		if err != nil {
			return err
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", i*cols+c+1)
		}
		b.WriteString(")")
		args = append(args, e.ID, e.AccountID, string(e.Method), e.Verifier.Kind, e.Verifier.ID, strings.Join(e.Claims, " "), e.Document.Type, sealed,
			string(e.Level), sqldb.Micros(e.VerifiedAt), sqldb.Micros(e.CreatedAt))
	}
	_, err := q.Exec(ctx, b.String(), args...)
	return err
}

// Evidence lists an account's evidence, newest verification first.
func (s *Service) Evidence(ctx context.Context, accountID string) ([]Evidence, error) {
	rows, err := s.db.Query(ctx, `SELECT id, method, verifier_kind, verifier_id, claims, document_enc, level, verified_at, created_at, disputed_at
		FROM evidence WHERE account_id = $1 ORDER BY verified_at DESC, id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Evidence
	for rows.Next() {
		e := Evidence{AccountID: accountID}
		var method, claims, level string
		var sealed []byte
		var verified, created int64
		var disputed sql.NullInt64
		if err := rows.Scan(&e.ID, &method, &e.Verifier.Kind, &e.Verifier.ID, &claims, &sealed, &level, &verified, &created, &disputed); err != nil {
			return nil, sqldb.Classify(err)
		}
		e.Method, e.Claims, e.Level = Method(method), strings.Fields(claims), Level(level)
		e.VerifiedAt, e.CreatedAt = sqldb.Time(verified), sqldb.Time(created)
		if disputed.Valid {
			e.DisputedAt = sqldb.Time(disputed.Int64)
		}
		if sealed != nil {
			doc, err := s.sealer.Open(ctx, sealed, aad(e.ID))
			if err != nil {
				return nil, fmt.Errorf("assurance: evidence %s: %w", e.ID, err)
			}
			var part sealedPart
			err = json.Unmarshal(doc, &part)
			clear(doc)
			e.Document, e.Values = part.Document, part.Values
			if err != nil {
				return nil, fmt.Errorf("assurance: evidence %s: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	return out, sqldb.Classify(rows.Err())
}
