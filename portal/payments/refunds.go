package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/portal/payments/acquirer"
)

// RefundStatus is a refund's status.
type RefundStatus string

const (
	RefundPending   RefundStatus = "pending"
	RefundSucceeded RefundStatus = "succeeded"
	RefundDeclined  RefundStatus = "declined"
)

// RefundRecord is an agency's refund of a paid charge.
type RefundRecord struct {
	ID         string // the agency's refund id, the idempotence key
	PaymentID  string
	UIN        string
	Agency     string
	Amount     int64
	Status     RefundStatus
	AcquirerID string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

const refundColumns = `id, payment_id, uin, agency, amount, status, acquirer_id, created_at, updated_at`

func scanRefund(row sqldb.Scanner) (*RefundRecord, error) {
	var r RefundRecord
	var created, updated int64
	if err := row.Scan(&r.ID, &r.PaymentID, &r.UIN, &r.Agency, &r.Amount, &r.Status, &r.AcquirerID, &created, &updated); err != nil {
		return nil, notFound(err)
	}
	r.CreatedAt, r.UpdatedAt = sqldb.Time(created), sqldb.Time(updated)
	return &r, nil
}

// Refund returns amount of what the citizen paid for an agency's charge,
// through client. It is idempotent on refundID: a repeat with the same
// amount returns the same refund (asking the acquirer again while it is
// pending); the same id for another charge or amount is ErrConflict. The
// amount is reserved against the payment in the database before the
// acquirer is asked, so two refunds racing cannot return more than was
// paid (ErrRefund). A refund the acquirer declines releases its amount.
// When everything paid has come back the charge becomes Refunded.
func (s *Store) Refund(ctx context.Context, agency, uin, refundID string, amount int64, client acquirer.Client) (*RefundRecord, error) {
	if refundID == "" || len(refundID) > 100 {
		return nil, &ValidationError{Fields: []FieldError{{"refund_id", "Укажите идентификатор возврата (до 100 символов)", "refund id is required (up to 100 characters)"}}}
	}
	if amount <= 0 || amount > MaxAmount {
		return nil, ErrAmountNegative
	}
	now := sqldb.Micros(s.now())
	var r *RefundRecord
	var acquirerPayment string
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		r = nil
		var status ChargeStatus
		if err := tx.QueryRow(ctx, `SELECT status FROM portal_charges WHERE uin = $1 AND agency = $2`, uin, agency).Scan(&status); err != nil {
			return notFound(err)
		}
		existing, err := scanRefund(tx.QueryRow(ctx, `SELECT `+refundColumns+` FROM portal_refunds WHERE id = $1`, refundID))
		switch {
		case err == nil:
			if existing.UIN != uin || existing.Agency != agency || existing.Amount != amount {
				return fmt.Errorf("%w: the refund id is taken", ErrConflict)
			}
			r = existing
			return tx.QueryRow(ctx, `SELECT acquirer_id FROM portal_payments WHERE id = $1`, r.PaymentID).Scan(&acquirerPayment)
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if status != Paid {
			return fmt.Errorf("%w: the charge is %s", ErrRefund, status)
		}
		var paymentID string
		if err := tx.QueryRow(ctx, `SELECT id, acquirer_id FROM portal_payments WHERE uin = $1 AND status IN ('succeeded', 'partially_refunded')
			AND needs_refund = $2 ORDER BY captured_at LIMIT 1`, uin, false).Scan(&paymentID, &acquirerPayment); err != nil {
			if errors.Is(err, sqldb.ErrNotFound) {
				return fmt.Errorf("%w: nothing was paid", ErrRefund)
			}
			return err
		}
		// Reserve: compare-and-swap on what is left.
		res, err := tx.Exec(ctx, `UPDATE portal_payments SET refunded = refunded + $2, updated_at = $3
			WHERE id = $1 AND refunded + $2 <= amount`, paymentID, amount, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrRefund
		}
		r = &RefundRecord{ID: refundID, PaymentID: paymentID, UIN: uin, Agency: agency, Amount: amount, Status: RefundPending,
			CreatedAt: sqldb.Time(now), UpdatedAt: sqldb.Time(now)}
		_, err = tx.Exec(ctx, `INSERT INTO portal_refunds (`+refundColumns+`) VALUES ($1, $2, $3, $4, $5, 'pending', '', $6, $6)`,
			refundID, paymentID, uin, agency, amount, now)
		return err // a racing insert of the same id: ErrConflict, and the reservation rolls back
	})
	if errors.Is(err, sqldb.ErrConflict) {
		return nil, fmt.Errorf("%w: the refund id is taken", ErrConflict)
	}
	if err != nil {
		return nil, err
	}
	if r.Status != RefundPending {
		return r, nil
	}
	ar, err := client.Refund(ctx, acquirer.RefundRequest{RefundID: refundID, PaymentID: acquirerPayment, Amount: amount})
	if err != nil {
		if errors.Is(err, acquirer.ErrUnavailable) {
			// Kept pending and reserved: a repeat of the same refund id asks
			// again, or the acquirer's notification settles it.
			return r, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		if errors.Is(err, acquirer.ErrRejected) {
			ar = acquirer.Refund{RefundID: refundID, PaymentID: acquirerPayment, Amount: amount, Status: acquirer.Declined}
		} else {
			return r, err
		}
	}
	if ar.RefundID == "" {
		ar.RefundID = refundID
	}
	if _, err := s.ApplyRefund(ctx, ar); err != nil {
		return r, err
	}
	return s.refund(ctx, refundID)
}

func (s *Store) refund(ctx context.Context, id string) (*RefundRecord, error) {
	return scanRefund(s.db.QueryRow(ctx, `SELECT `+refundColumns+` FROM portal_refunds WHERE id = $1`, id))
}

// ApplyRefund settles a refund from the acquirer's answer or notification:
// a pending refund becomes succeeded (the payment's and, when all is back,
// the charge's status follow) or declined (its reserved amount is
// released). Repeats change nothing (AlreadyApplied). An unknown refund id
// is ErrUnknownPayment; one whose amount differs is ErrMismatch.
func (s *Store) ApplyRefund(ctx context.Context, ar acquirer.Refund) (Outcome, error) {
	var out Outcome
	now := sqldb.Micros(s.now())
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		out = ""
		r, err := scanRefund(tx.QueryRow(ctx, `SELECT `+refundColumns+` FROM portal_refunds WHERE id = $1`, ar.RefundID))
		if errors.Is(err, ErrNotFound) {
			return ErrUnknownPayment
		}
		if err != nil {
			return err
		}
		if ar.Amount != r.Amount {
			return ErrMismatch
		}
		var to RefundStatus
		switch ar.Status {
		case acquirer.Succeeded:
			to = RefundSucceeded
		case acquirer.Declined:
			to = RefundDeclined
		case acquirer.Pending:
			out = Unchanged
			return nil
		default:
			return ErrMismatch
		}
		res, err := tx.Exec(ctx, `UPDATE portal_refunds SET status = $2, acquirer_id = $3, updated_at = $4 WHERE id = $1 AND status = 'pending'`,
			r.ID, to, ar.ID, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			out = AlreadyApplied
			return nil
		}
		p, err := s.payment(ctx, tx, r.PaymentID)
		if err != nil {
			return err
		}
		if to == RefundDeclined {
			out = DeclinedNow
			_, err := tx.Exec(ctx, `UPDATE portal_payments SET refunded = refunded - $2, updated_at = $3 WHERE id = $1`, r.PaymentID, r.Amount, now)
			return err
		}
		out = Captured
		// What succeeded is what is refunded for good: pending refunds are
		// reserved in refunded too, so the status counts settled ones.
		var settled int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(amount), 0) FROM portal_refunds WHERE payment_id = $1 AND status = 'succeeded'`,
			r.PaymentID).Scan(&settled); err != nil {
			return err
		}
		st := PartiallyRefunded
		if settled >= p.Amount {
			st = PaymentRefunded
		}
		if _, err := tx.Exec(ctx, `UPDATE portal_payments SET status = $2, updated_at = $3 WHERE id = $1`, p.ID, st, now); err != nil {
			return err
		}
		if err := s.paymentChanged(ctx, tx, p, st); err != nil {
			return err
		}
		if st == PaymentRefunded {
			// Everything paid is back: the charge is refunded (it was paid
			// by this payment; a compare-and-swap on paid all the same).
			if _, err := tx.Exec(ctx, `UPDATE portal_charges SET status = 'refunded', version = version + 1, updated_at = $2
				WHERE uin = $1 AND status = 'paid'`, r.UIN, now); err != nil {
				return err
			}
		}
		var version int64
		var cst ChargeStatus
		if err := tx.QueryRow(ctx, `SELECT status, version FROM portal_charges WHERE uin = $1`, r.UIN).Scan(&cst, &version); err != nil {
			return err
		}
		return s.chargeChanged(ctx, tx, ChargeChange{Event: ChargeRefunded, UIN: r.UIN, Agency: r.Agency, Status: cst, Version: version,
			PaymentID: p.ID, Amount: r.Amount})
	})
	if err != nil {
		return "", err
	}
	return out, nil
}
