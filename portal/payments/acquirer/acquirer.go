package acquirer

import (
	"context"
	"errors"
	"time"
)

// Status is a payment's status at the acquirer.
type Status string

const (
	// Pending: created, the citizen has not finished (card form, the
	// 3-D Secure-like confirmation) or the bank has not answered yet.
	Pending   Status = "pending"
	Succeeded Status = "succeeded" // captured: the money is taken
	Declined  Status = "declined"  // refused by the card's bank or abandoned
)

// Currency is the only currency the portal charges in.
const Currency = "RUB"

// CreateRequest asks the acquirer for a payment. OrderID is the portal's
// payment id and the idempotence key: asking twice with one OrderID gives
// the same payment.
type CreateRequest struct {
	OrderID     string
	Amount      int64 // kopecks
	Currency    string
	Description string
	// ReturnURL is where the citizen's browser comes back to;
	// NotifyURL where the acquirer posts its signed notifications.
	ReturnURL, NotifyURL string
}

// Created is the acquirer's answer: its id of the payment and the page the
// citizen is sent to.
type Created struct {
	ID              string
	ConfirmationURL string
}

// Payment is a payment as the acquirer sees it.
type Payment struct {
	ID       string // the acquirer's
	OrderID  string // the portal's
	Status   Status
	Amount   int64 // kopecks
	Currency string
	// Reason says why it was declined (a short code, no card data).
	Reason string
	// CapturedAt is when the money was taken (Succeeded only).
	CapturedAt time.Time
	// Card is the masked card, e.g. "411111******1111" (no full number ever).
	Card string
}

// RefundRequest returns money of a captured payment. RefundID is the
// portal's id of the refund and its idempotence key.
type RefundRequest struct {
	RefundID  string
	PaymentID string // the acquirer's payment id
	Amount    int64  // kopecks, at most what is left of the payment
}

// Refund is a refund as the acquirer sees it.
type Refund struct {
	ID        string // the acquirer's
	RefundID  string // the portal's
	PaymentID string
	Amount    int64
	Status    Status // Succeeded or Declined
}

// Client is the acquirer's API as the portal uses it. Every call is
// idempotent on the portal's ids, so a retry after a timeout is safe.
type Client interface {
	Create(ctx context.Context, req CreateRequest) (Created, error)
	Payment(ctx context.Context, id string) (Payment, error)
	Refund(ctx context.Context, req RefundRequest) (Refund, error)
}

// Events of notifications.
const (
	EventPaymentSucceeded = "payment.succeeded"
	EventPaymentDeclined  = "payment.declined"
	EventRefundSucceeded  = "refund.succeeded"
)

// Notification is a verified notification of the acquirer: exactly one of
// Payment and Refund is set, as Event says.
type Notification struct {
	ID      string // the notification's id (a retry repeats it)
	Event   string
	Payment *Payment
	Refund  *Refund
}

var (
	// ErrUnavailable: the acquirer did not answer or answered 5xx; try
	// again later (nothing is known about the payment).
	ErrUnavailable = errors.New("acquirer: temporarily unavailable")
	ErrNotFound    = errors.New("acquirer: no such payment")
	// ErrRejected: the acquirer refused the request itself (a refund of
	// more than was paid, a bad amount).
	ErrRejected = errors.New("acquirer: request rejected")
	// ErrSignature: a notification whose signature is missing, forged or
	// outside the time window (a replay).
	ErrSignature = errors.New("acquirer: bad notification signature")
	// ErrMalformed: a notification that is not what the protocol says.
	ErrMalformed = errors.New("acquirer: malformed notification")
)
