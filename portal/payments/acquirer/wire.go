package acquirer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
)

// The JSON shapes of the acquirer's protocol (version /v1). Decoding is
// strict about what the portal relies on — amounts are JSON integers (never
// 12.5, 1e3 or "100"), statuses and events are known ones, ids are present,
// currencies are three capital letters — and lenient about the rest:
// unknown fields are ignored, because acquirers add fields to their answers
// and notifications without a new API version, and refusing them would
// stop every payment the day they do.

// Kopecks is an amount on the wire: a JSON integer, nothing else.
type Kopecks int64

// UnmarshalJSON accepts only a plain JSON integer (an optional minus and
// digits), so that 1.5, 1e2, "100", true and null are refused rather than
// rounded or zeroed.
func (k *Kopecks) UnmarshalJSON(b []byte) error {
	s := string(b)
	digits := s
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if digits == "" || len(digits) > 19 {
		return errors.New("amount is not an integer")
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return errors.New("amount is not an integer")
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("amount is out of range")
	}
	*k = Kopecks(v)
	return nil
}

// WirePayment is a payment on the wire (GET /v1/payments/{id} and the
// payment of a notification).
type WirePayment struct {
	ID         string  `json:"id"`
	OrderID    string  `json:"order_id"`
	Status     Status  `json:"status"`
	Amount     Kopecks `json:"amount"`
	Currency   string  `json:"currency"`
	Reason     string  `json:"reason,omitempty"`
	CapturedAt string  `json:"captured_at,omitempty"` // RFC 3339, Succeeded only
	Card       string  `json:"card,omitempty"`        // masked
}

// WireRefund is a refund on the wire (POST /v1/refunds and the refund of a
// notification).
type WireRefund struct {
	ID        string  `json:"id"`
	RefundID  string  `json:"refund_id"`
	PaymentID string  `json:"payment_id"`
	Amount    Kopecks `json:"amount"`
	Status    Status  `json:"status"`
}

// WireNotification is a notification's body.
type WireNotification struct {
	ID      string       `json:"id"`
	Event   string       `json:"event"`
	Payment *WirePayment `json:"payment,omitempty"`
	Refund  *WireRefund  `json:"refund,omitempty"`
}

// WireError is the body of every 4xx and 5xx answer.
type WireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// WirePaymentOf encodes p for the wire.
func WirePaymentOf(p Payment) WirePayment {
	w := WirePayment{ID: p.ID, OrderID: p.OrderID, Status: p.Status, Amount: Kopecks(p.Amount),
		Currency: p.Currency, Reason: p.Reason, Card: p.Card}
	if !p.CapturedAt.IsZero() {
		w.CapturedAt = p.CapturedAt.UTC().Format(time.RFC3339Nano)
	}
	return w
}

// WireRefundOf encodes r for the wire.
func WireRefundOf(r Refund) WireRefund {
	return WireRefund{ID: r.ID, RefundID: r.RefundID, PaymentID: r.PaymentID, Amount: Kopecks(r.Amount), Status: r.Status}
}

// maxID bounds ids so that a hostile peer cannot make the portal store
// megabytes per payment.
const maxID = 128

func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("%s is missing", what)
	}
	if len(id) > maxID {
		return fmt.Errorf("%s is too long", what)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("%s has a character outside printable ASCII", what)
		}
	}
	return nil
}

func checkCurrency(c string) error {
	if len(c) != 3 {
		return errors.New("currency is not three capital letters")
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return errors.New("currency is not three capital letters")
		}
	}
	return nil
}

// Payment checks w and converts it.
func (w WirePayment) Payment() (Payment, error) {
	if err := checkID("payment id", w.ID); err != nil {
		return Payment{}, err
	}
	if err := checkID("order id", w.OrderID); err != nil {
		return Payment{}, err
	}
	switch w.Status {
	case Pending, Succeeded, Declined:
	default:
		return Payment{}, errors.New("unknown payment status")
	}
	if w.Amount < 0 {
		return Payment{}, errors.New("negative amount")
	}
	if err := checkCurrency(w.Currency); err != nil {
		return Payment{}, err
	}
	if len(w.Reason) > maxID || len(w.Card) > 32 {
		return Payment{}, errors.New("reason or card too long")
	}
	p := Payment{ID: w.ID, OrderID: w.OrderID, Status: w.Status, Amount: int64(w.Amount),
		Currency: w.Currency, Reason: w.Reason, Card: w.Card}
	if w.CapturedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, w.CapturedAt)
		if err != nil {
			return Payment{}, errors.New("captured_at is not an RFC 3339 time")
		}
		p.CapturedAt = t
	}
	if w.Status == Succeeded && p.CapturedAt.IsZero() {
		return Payment{}, errors.New("succeeded payment without captured_at")
	}
	return p, nil
}

// Refund checks w and converts it.
func (w WireRefund) Refund() (Refund, error) {
	for _, f := range []struct{ what, id string }{{"refund id", w.ID}, {"portal refund id", w.RefundID}, {"payment id", w.PaymentID}} {
		if err := checkID(f.what, f.id); err != nil {
			return Refund{}, err
		}
	}
	switch w.Status {
	case Succeeded, Declined:
	default:
		return Refund{}, errors.New("unknown refund status")
	}
	if w.Amount < 0 {
		return Refund{}, errors.New("negative amount")
	}
	return Refund{ID: w.ID, RefundID: w.RefundID, PaymentID: w.PaymentID, Amount: int64(w.Amount), Status: w.Status}, nil
}

// decodeJSON decodes one JSON value and refuses trailing data.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return errors.New("not valid JSON of the expected shape")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func checkHTTPURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%s is not an absolute http(s) URL", what)
	}
	return nil
}
