package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/portal/payments/acquirer"
)

// PaymentStatus is a payment's status at the portal.
type PaymentStatus string

const (
	// New: recorded, not yet (known to be) created at the acquirer.
	New PaymentStatus = "new"
	// Pending: created at the acquirer; the citizen is paying.
	Pending   PaymentStatus = "pending"
	Succeeded PaymentStatus = "succeeded"
	Declined  PaymentStatus = "declined"
	// Expired: a `new` payment dropped at the portal's side (never created
	// at the acquirer, or made stale by a change of the charge).
	Expired           PaymentStatus = "expired"
	PartiallyRefunded PaymentStatus = "partially_refunded"
	PaymentRefunded   PaymentStatus = "refunded"
)

// Label is the status for people.
func (s PaymentStatus) Label() Text {
	switch s {
	case New, Pending:
		return Text{"Ожидает оплаты", "Awaiting payment"}
	case Succeeded:
		return Text{"Оплачено", "Paid"}
	case Declined:
		return Text{"Отклонено", "Declined"}
	case Expired:
		return Text{"Не состоялся", "Expired"}
	case PartiallyRefunded:
		return Text{"Частично возвращено", "Partially refunded"}
	case PaymentRefunded:
		return Text{"Возвращено", "Refunded"}
	}
	return Text{string(s), string(s)}
}

// Payment is one attempt to pay a charge. ID is the acquirer's OrderID.
type Payment struct {
	ID              string
	UIN             string
	Subject         string
	Amount          int64
	Currency        string
	Discounted      bool
	Status          PaymentStatus
	AcquirerID      string
	ConfirmationURL string
	Card            string // masked
	Reason          string
	// NeedsRefund: money was taken for a charge already paid by another
	// payment or cancelled meanwhile; the agency or support must refund.
	NeedsRefund bool
	Refunded    int64
	CreatedAt   time.Time
	CapturedAt  time.Time
	UpdatedAt   time.Time
}

// PaymentChange is a change of a payment's status as its transaction
// sees it.
type PaymentChange struct {
	ID, UIN, Subject string
	Status           PaymentStatus
	Amount           int64
	NeedsRefund      bool
}

const paymentColumns = `id, uin, subject, amount, currency, discounted, status, acquirer_id, confirmation_url, card, reason,
	needs_refund, refunded, created_at, captured_at, updated_at`

func scanPayment(row sqldb.Scanner) (*Payment, error) {
	var p Payment
	var created, updated int64
	var captured *int64
	if err := row.Scan(&p.ID, &p.UIN, &p.Subject, &p.Amount, &p.Currency, &p.Discounted, &p.Status, &p.AcquirerID,
		&p.ConfirmationURL, &p.Card, &p.Reason, &p.NeedsRefund, &p.Refunded, &created, &captured, &updated); err != nil {
		return nil, notFound(err)
	}
	p.CreatedAt, p.UpdatedAt = sqldb.Time(created), sqldb.Time(updated)
	if captured != nil {
		p.CapturedAt = sqldb.Time(*captured)
	}
	return &p, nil
}

func (s *Store) payment(ctx context.Context, q sqldb.Querier, id string) (*Payment, error) {
	return scanPayment(q.QueryRow(ctx, `SELECT `+paymentColumns+` FROM portal_payments WHERE id = $1`, id))
}

// Payment returns a payment by id.
func (s *Store) Payment(ctx context.Context, id string) (*Payment, error) {
	return s.payment(ctx, s.db, id)
}

// PaymentTx is Payment inside a change's transaction (OnChargeChange).
func (s *Store) PaymentTx(ctx context.Context, tx *sqldb.Tx, id string) (*Payment, error) {
	return s.payment(ctx, tx, id)
}

// PaymentsOf returns a charge's payments, the oldest first (the agency's
// view of its charge).
func (s *Store) PaymentsOf(ctx context.Context, uin string) ([]*Payment, error) {
	rows, err := s.db.Query(ctx, `SELECT `+paymentColumns+` FROM portal_payments WHERE uin = $1 ORDER BY created_at, id`, uin)
	if err != nil {
		return nil, err
	}
	return collectPayments(rows)
}

// PaymentOf returns a citizen's payment; another citizen's is ErrNotFound.
func (s *Store) PaymentOf(ctx context.Context, subject, id string) (*Payment, error) {
	return scanPayment(s.db.QueryRow(ctx, `SELECT `+paymentColumns+` FROM portal_payments WHERE id = $1 AND subject = $2`, id, subject))
}

// payTries bounds Pay's rounds of "insert, or take the active one": a
// round fails only when the active payment ended between the insert and
// the read.
const payTries = 5

// Pay starts (or resumes) the citizen's payment of a charge and returns it
// with the acquirer's ConfirmationURL to send the citizen to.
//
// Exactly one payment is active per charge: the insert of a `new` payment
// of the amount due now (the discount if in time) is refused by a partial
// unique index when another is active, and the caller then gets that
// one — so twenty concurrent «Оплатить» make one payment, and one order at
// the acquirer. Creating it at the acquirer happens outside the
// transaction and is idempotent on the payment id, so racing callers and a
// retry after ErrUnavailable (the payment stays `new`) are safe.
//
// A `new` payment whose amount is no longer the one due (the discount
// ended, the agency changed the charge) is expired and a fresh one made. A
// `pending` one is kept as it is: the citizen may be paying it at this
// moment, and the amount was due when they started; the agency cannot
// change a charge while it is pending (ErrConflict). The step to pending
// is a compare-and-swap on the charge's version (which it bumps), so an
// agency's change racing with it fails one side or the other, never lets a
// payment of an old amount go ahead unseen. Another citizen's active
// payment is ErrConflict, never handed over.
func (s *Store) Pay(ctx context.Context, subject, uin string, urls func(paymentID string) (returnURL, notifyURL string)) (*Payment, error) {
	var p *Payment
	var chargeVersion int64
	for range payTries {
		var err error
		p, chargeVersion, err = s.startPayment(ctx, subject, uin)
		if errors.Is(err, sqldb.ErrConflict) {
			continue // a racing caller's payment is active: take it next round
		}
		if err != nil {
			return nil, err
		}
		break
	}
	if p == nil {
		return nil, fmt.Errorf("%w: no stable active payment", ErrConflict)
	}
	if p.Subject != subject {
		return nil, fmt.Errorf("%w: the charge is being paid by someone else", ErrConflict)
	}
	if p.Status != New {
		return p, nil
	}
	ret, notify := urls(p.ID)
	created, err := s.client.Create(ctx, acquirer.CreateRequest{OrderID: p.ID, Amount: p.Amount, Currency: p.Currency,
		Description: "УИН " + p.UIN, ReturnURL: ret, NotifyURL: notify})
	if err != nil {
		if errors.Is(err, acquirer.ErrUnavailable) {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil, err
	}
	// new → pending, in one transaction with a compare-and-swap on the
	// charge's version as it was when the payment was made: an agency's
	// change committed meanwhile fails it here (and expired the payment),
	// and a change racing with this commit fails on the version this
	// bumps. A notification may have come first and set the acquirer id,
	// so only an empty or equal one is overwritten.
	errStale := errors.New("stale")
	now := sqldb.Micros(s.now())
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE portal_payments SET status = 'pending', acquirer_id = $2, confirmation_url = $3, updated_at = $4
			WHERE id = $1 AND status = 'new' AND acquirer_id IN ('', $2)`, p.ID, created.ID, created.ConfirmationURL, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errStale // a racing caller or a notification moved it
		}
		res, err = tx.Exec(ctx, `UPDATE portal_charges SET version = version + 1, updated_at = $3 WHERE uin = $1 AND version = $2 AND status = 'unpaid'`,
			p.UIN, chargeVersion, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errStale
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStale) {
		return nil, err
	}
	if _, err := s.db.Exec(ctx, `UPDATE portal_payments SET confirmation_url = $2 WHERE id = $1 AND confirmation_url = '' AND status <> 'expired'`,
		p.ID, created.ConfirmationURL); err != nil {
		return nil, err
	}
	got, err := s.Payment(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	switch got.Status {
	case New:
		// The charge changed under a payment still `new`: drop it, so that
		// the next press makes one of what is due now.
		if _, err := s.db.Exec(ctx, `UPDATE portal_payments SET status = 'expired', updated_at = $2 WHERE id = $1 AND status = 'new'`,
			p.ID, now); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: the charge changed; start again", ErrConflict)
	case Expired:
		return nil, fmt.Errorf("%w: the charge changed; start again", ErrConflict)
	}
	return got, nil
}

// startPayment returns the charge's active payment, inserting one when
// there is none. sqldb.ErrConflict means a racing insert won: try again.
func (s *Store) startPayment(ctx context.Context, subject, uin string) (*Payment, int64, error) {
	now := s.now()
	var p *Payment
	var version int64
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		p = nil
		c, err := s.scanCharge(ctx, tx.QueryRow(ctx, `SELECT `+chargeColumns+` FROM portal_charges WHERE uin = $1`, uin))
		if err != nil {
			return err
		}
		version = c.Version
		switch c.Status {
		case Paid, Refunded:
			return ErrPaid
		case Cancelled:
			return ErrCancelled
		}
		amount, discounted := c.DueAmount(now)
		active, err := scanPayment(tx.QueryRow(ctx, `SELECT `+paymentColumns+` FROM portal_payments WHERE uin = $1 AND status IN ('new', 'pending')`, uin))
		switch {
		case err == nil && (active.Status == Pending || active.Amount == amount):
			p = active
			return nil
		case err == nil:
			// A `new` payment of an amount no longer due: never at the
			// acquirer as far as we know, so it is dropped. Create is
			// idempotent on its id, and Apply still honours it should the
			// acquirer report money taken for it.
			if _, err := tx.Exec(ctx, `UPDATE portal_payments SET status = 'expired', updated_at = $2 WHERE id = $1 AND status = 'new'`,
				active.ID, sqldb.Micros(now)); err != nil {
				return err
			}
		case !errors.Is(err, ErrNotFound):
			return err
		}
		p = &Payment{ID: sqldb.NewID(), UIN: uin, Subject: subject, Amount: amount, Currency: acquirer.Currency, Discounted: discounted,
			Status: New, CreatedAt: now, UpdatedAt: now}
		_, err = tx.Exec(ctx, `INSERT INTO portal_payments (id, uin, subject, amount, currency, discounted, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'new', $7, $7)`, p.ID, uin, subject, amount, p.Currency, discounted, sqldb.Micros(now))
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return p, version, nil
}

// Outcome is what Apply did.
type Outcome string

const (
	// Captured: the payment succeeded now and paid its charge.
	Captured Outcome = "captured"
	// CapturedNeedsRefund: the payment succeeded now but its charge was
	// already paid or cancelled; it is flagged NeedsRefund.
	CapturedNeedsRefund Outcome = "captured_needs_refund"
	// DeclinedNow: the payment was declined now; the charge may be paid
	// again.
	DeclinedNow Outcome = "declined"
	// Unchanged: a pending report of a pending payment.
	Unchanged Outcome = "unchanged"
	// AlreadyApplied: a repeated notification, or one that comes after a
	// final status (a decline after a capture): nothing changes.
	AlreadyApplied Outcome = "already_applied"
)

// Apply applies what the acquirer says of a payment (a verified
// notification, or the answer to a reconciliation poll). The payment is
// found by OrderID (ErrUnknownPayment) and must match the acquirer's id
// (when known), amount and currency (ErrMismatch, nothing changes). Every
// change is a compare-and-swap on the status in SQL, so duplicate and
// out-of-order notifications, on any replica, capture at most once.
func (s *Store) Apply(ctx context.Context, ap acquirer.Payment) (Outcome, error) {
	var out Outcome
	now := s.now()
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		out = ""
		p, err := s.payment(ctx, tx, ap.OrderID)
		if errors.Is(err, ErrNotFound) {
			return ErrUnknownPayment
		}
		if err != nil {
			return err
		}
		if (p.AcquirerID != "" && p.AcquirerID != ap.ID) || ap.ID == "" || ap.Amount != p.Amount || ap.Currency != p.Currency {
			return ErrMismatch
		}
		switch ap.Status {
		case acquirer.Pending:
			res, err := tx.Exec(ctx, `UPDATE portal_payments SET status = 'pending', acquirer_id = $2, updated_at = $3
				WHERE id = $1 AND status = 'new'`, p.ID, ap.ID, sqldb.Micros(now))
			if err != nil {
				return err
			}
			out = Unchanged
			if n, _ := res.RowsAffected(); n == 1 {
				// As in Pay: a payment becoming pending bumps its charge's
				// version, so an agency's change racing with it fails.
				if _, err := tx.Exec(ctx, `UPDATE portal_charges SET version = version + 1, updated_at = $2 WHERE uin = $1 AND status = 'unpaid'`,
					p.UIN, sqldb.Micros(now)); err != nil {
					return err
				}
				return s.paymentChanged(ctx, tx, p, Pending)
			}
			// Still pending: touched, so that Pending hands the
			// reconciliation job the others first next time.
			_, err = tx.Exec(ctx, `UPDATE portal_payments SET updated_at = $2 WHERE id = $1 AND status = 'pending'`, p.ID, sqldb.Micros(now))
			return err
		case acquirer.Succeeded:
			return s.capture(ctx, tx, p, ap, now, &out)
		case acquirer.Declined:
			res, err := tx.Exec(ctx, `UPDATE portal_payments SET status = 'declined', acquirer_id = $2, reason = $3, updated_at = $4
				WHERE id = $1 AND status IN ('new', 'pending')`, p.ID, ap.ID, truncate(ap.Reason, 100), sqldb.Micros(now))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				out = AlreadyApplied
				return nil
			}
			out = DeclinedNow
			return s.paymentChanged(ctx, tx, p, Declined)
		}
		return fmt.Errorf("%w: status %q", ErrMismatch, ap.Status)
	})
	if err != nil {
		return "", err
	}
	return out, nil
}

// capture makes a payment succeeded and, in the same transaction, its
// charge paid.
func (s *Store) capture(ctx context.Context, tx *sqldb.Tx, p *Payment, ap acquirer.Payment, now time.Time, out *Outcome) error {
	captured := ap.CapturedAt
	if captured.IsZero() {
		captured = now
	}
	// declined and expired are not final at the acquirer's word: a
	// late capture after a decline (or of a dropped `new`) still happened.
	res, err := tx.Exec(ctx, `UPDATE portal_payments SET status = 'succeeded', acquirer_id = $2, card = $3, captured_at = $4, updated_at = $5
		WHERE id = $1 AND status IN ('new', 'pending', 'declined', 'expired')`,
		p.ID, ap.ID, truncate(ap.Card, 32), sqldb.Micros(captured), sqldb.Micros(now))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		*out = AlreadyApplied
		return nil
	}
	res, err = tx.Exec(ctx, `UPDATE portal_charges SET status = 'paid', paid_at = $2, version = version + 1, updated_at = $3
		WHERE uin = $1 AND status = 'unpaid'`, p.UIN, sqldb.Micros(captured), sqldb.Micros(now))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		// Paid by another payment, or cancelled meanwhile: the money is
		// taken all the same, so it is kept in sight for a refund.
		if _, err := tx.Exec(ctx, `UPDATE portal_payments SET needs_refund = TRUE WHERE id = $1`, p.ID); err != nil {
			return err
		}
		*out = CapturedNeedsRefund
		p.NeedsRefund = true
		return s.paymentChanged(ctx, tx, p, Succeeded)
	}
	*out = Captured
	// Another `new` payment (made after this one was declined) will not
	// be needed.
	if _, err := tx.Exec(ctx, `UPDATE portal_payments SET status = 'expired', updated_at = $3 WHERE uin = $1 AND id <> $2 AND status = 'new'`,
		p.UIN, p.ID, sqldb.Micros(now)); err != nil {
		return err
	}
	var agency string
	var version int64
	if err := tx.QueryRow(ctx, `SELECT agency, version FROM portal_charges WHERE uin = $1`, p.UIN).Scan(&agency, &version); err != nil {
		return err
	}
	if err := s.chargeChanged(ctx, tx, ChargeChange{Event: ChargePaid, UIN: p.UIN, Agency: agency, Status: Paid, Version: version,
		PaymentID: p.ID, Amount: p.Amount}); err != nil {
		return err
	}
	return s.paymentChanged(ctx, tx, p, Succeeded)
}

func (s *Store) paymentChanged(ctx context.Context, tx *sqldb.Tx, p *Payment, st PaymentStatus) error {
	if s.OnPaymentChange == nil {
		return nil
	}
	return s.OnPaymentChange(ctx, tx, PaymentChange{ID: p.ID, UIN: p.UIN, Subject: p.Subject, Status: st, Amount: p.Amount, NeedsRefund: p.NeedsRefund})
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// Pending returns payments left unsettled for longer than olderThan
// (`new` and `pending`, the least recently touched first), at most limit,
// for the reconciliation job to ask the acquirer about.
func (s *Store) Pending(ctx context.Context, olderThan time.Duration, limit int) ([]*Payment, error) {
	rows, err := s.db.Query(ctx, `SELECT `+paymentColumns+` FROM portal_payments WHERE status IN ('new', 'pending') AND updated_at < $1
		ORDER BY updated_at, id LIMIT $2`, sqldb.Micros(s.now().Add(-olderThan)), limit)
	if err != nil {
		return nil, err
	}
	return collectPayments(rows)
}

func collectPayments(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}) ([]*Payment, error) {
	defer rows.Close()
	var out []*Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, sqldb.Classify(rows.Err())
}

// Expire drops a `new` payment that the acquirer does not know (its
// Payment answered ErrNotFound); any other status is left alone. It
// reports whether it expired it.
func (s *Store) Expire(ctx context.Context, id string) (bool, error) {
	var n int64
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		p, err := s.payment(ctx, tx, id)
		if err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `UPDATE portal_payments SET status = 'expired', updated_at = $2 WHERE id = $1 AND status = 'new'`,
			id, sqldb.Micros(s.now()))
		if err != nil {
			return err
		}
		if n, _ = res.RowsAffected(); n == 1 {
			return s.paymentChanged(ctx, tx, p, Expired)
		}
		return nil
	})
	return n == 1, err
}

// Reconcile polls the acquirer for payments left unsettled longer than
// olderThan and applies its answers: the job the portal runs every few
// minutes on whichever replica takes it. A `new` payment the acquirer does
// not know is expired once older than ActiveFor (before that, Pay of a
// racing caller may be creating it). It returns how many it settled and
// the first error met (it goes on past errors).
func (s *Store) Reconcile(ctx context.Context, olderThan time.Duration, limit int) (int, error) {
	ps, err := s.Pending(ctx, olderThan, limit)
	if err != nil {
		return 0, err
	}
	activeFor := s.ActiveFor
	if activeFor == 0 {
		activeFor = 30 * time.Minute
	}
	settled := 0
	var first error
	for _, p := range ps {
		var ap acquirer.Payment
		var err error
		if p.AcquirerID == "" {
			// The acquirer's API finds payments by its own id only: a
			// `new` payment counts as unknown to it, and expires after
			// ActiveFor unless a notification (which carries the order id)
			// comes first. Should money be taken for it after all, Apply
			// still captures it (and flags it for a refund if the charge
			// was paid meanwhile).
			err = acquirer.ErrNotFound
		} else {
			ap, err = s.client.Payment(ctx, p.AcquirerID)
		}
		switch {
		case errors.Is(err, acquirer.ErrNotFound):
			if s.now().Sub(p.CreatedAt) >= activeFor {
				if ok, err := s.Expire(ctx, p.ID); err == nil && ok {
					settled++
				} else if err != nil && first == nil {
					first = err
				}
			}
			continue
		case err != nil:
			if first == nil {
				first = err
			}
			continue
		}
		out, err := s.Apply(ctx, ap)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		if out == Captured || out == CapturedNeedsRefund || out == DeclinedNow {
			settled++
		}
	}
	return settled, first
}
