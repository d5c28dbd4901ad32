package payments

import (
	"context"
	"errors"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/portal/payments/acquirer"
)

var (
	ErrNotFound = errors.New("payments: not found")
	// ErrConflict: changed meanwhile (a stale version), a duplicate, or
	// another citizen's payment of the charge is in progress.
	ErrConflict  = errors.New("payments: conflict")
	ErrPaid      = errors.New("payments: the charge is paid")
	ErrCancelled = errors.New("payments: the charge is cancelled")
	// ErrInvalid wraps a ValidationError.
	ErrInvalid = errors.New("payments: invalid")
	// ErrUnavailable: the acquirer did not answer; the payment is kept and
	// a later call retries with the same order id.
	ErrUnavailable = errors.New("payments: acquirer unavailable")
	// ErrUnknownPayment: a notification for an order id the portal never
	// made. The caller logs it and answers with an error.
	ErrUnknownPayment = errors.New("payments: unknown payment")
	// ErrMismatch: a notification whose acquirer id, amount or currency is
	// not the payment's. Nothing changes.
	ErrMismatch = errors.New("payments: notification does not match the payment")
	// ErrRefund: a refund beyond what is left of the payment.
	ErrRefund = errors.New("payments: refund exceeds what was paid")
	// ErrTooMany: a citizen's documents are at their limit.
	ErrTooMany = errors.New("payments: too many documents")
)

// Sealer encrypts identifiers at rest; aad binds a blob to its row (the
// same contract as portal/applications.Sealer).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, blob, aad []byte) ([]byte, error)
}

// Store keeps charges, payments, refunds and citizens' documents.
type Store struct {
	db       *sqldb.DB
	sealer   Sealer
	indexKey []byte
	client   acquirer.Client
	now      func() time.Time

	// OnChargeChange, when set, runs inside the transaction of every
	// change of a charge (posted, changed, cancelled, paid, refunded):
	// what it writes or enqueues (the agency's webhook, a citizen's
	// notice) exists only if the change commits.
	OnChargeChange func(ctx context.Context, tx *sqldb.Tx, c ChargeChange) error
	// OnPaymentChange, likewise, runs inside the transaction of every
	// change of a payment's status (not for its creation).
	OnPaymentChange func(ctx context.Context, tx *sqldb.Tx, p PaymentChange) error
	// ActiveFor is how long a `new` payment that never reached the
	// acquirer stays reusable before Reconcile expires it; 0 is 30 minutes.
	ActiveFor time.Duration
}

// NewStore returns a store. indexKey keys the blind index of identifiers
// (at least 32 random bytes, kept with the portal's other keys); client
// is the acquirer; now nil is time.Now.
func NewStore(db *sqldb.DB, sealer Sealer, indexKey []byte, client acquirer.Client, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, sealer: sealer, indexKey: indexKey, client: client, now: now}
}

func notFound(err error) error {
	if errors.Is(err, sqldb.ErrNotFound) {
		return ErrNotFound
	}
	return err
}
