package payments

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// HistoryFilter narrows a citizen's payment history. Zero fields do not
// filter; From is inclusive and To exclusive (payment creation time).
type HistoryFilter struct {
	From, To time.Time
	Kind     Kind
	Status   PaymentStatus
	Limit    int // 0 is 1000
}

// HistoryItem is a payment with what its receipt and CSV line need of the
// charge.
type HistoryItem struct {
	Payment
	Kind       Kind
	Agency     string
	Purpose    string
	LegalBasis string
	Payee      Payee
}

// History returns the citizen's payments (the most recent first) joined
// with their charges, for the history page, receipts and CSV. Payments
// that never reached the acquirer (`new`, expired) are left out: nothing
// happened with the citizen's money.
func (s *Store) History(ctx context.Context, subject string, f HistoryFilter) ([]HistoryItem, error) {
	q := `SELECT p.id, p.uin, p.subject, p.amount, p.currency, p.discounted, p.status, p.acquirer_id, p.confirmation_url, p.card, p.reason,
		p.needs_refund, p.refunded, p.created_at, p.captured_at, p.updated_at, c.kind, c.agency, c.purpose, c.legal_basis, c.payee
		FROM portal_payments p JOIN portal_charges c ON c.uin = p.uin
		WHERE p.subject = $1 AND p.status NOT IN ('new', 'expired')`
	args := []any{subject}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if !f.From.IsZero() {
		q += " AND p.created_at >= " + arg(sqldb.Micros(f.From))
	}
	if !f.To.IsZero() {
		q += " AND p.created_at < " + arg(sqldb.Micros(f.To))
	}
	if f.Kind != "" {
		q += " AND c.kind = " + arg(f.Kind)
	}
	if f.Status != "" {
		q += " AND p.status = " + arg(f.Status)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q += " ORDER BY p.created_at DESC, p.id LIMIT " + arg(limit)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []HistoryItem
	for rows.Next() {
		var h HistoryItem
		var created, updated int64
		var captured *int64
		var payee string
		if err := rows.Scan(&h.ID, &h.UIN, &h.Subject, &h.Amount, &h.Currency, &h.Discounted, &h.Status, &h.AcquirerID, &h.ConfirmationURL,
			&h.Card, &h.Reason, &h.NeedsRefund, &h.Refunded, &created, &captured, &updated, &h.Kind, &h.Agency, &h.Purpose, &h.LegalBasis,
			&payee); err != nil {
			return nil, sqldb.Classify(err)
		}
		h.CreatedAt, h.UpdatedAt = sqldb.Time(created), sqldb.Time(updated)
		if captured != nil {
			h.CapturedAt = sqldb.Time(*captured)
		}
		if err := json.Unmarshal([]byte(payee), &h.Payee); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, sqldb.Classify(rows.Err())
}
