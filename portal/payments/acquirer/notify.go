package acquirer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header that carries a notification's signature.
const SignatureHeader = "Acquirer-Signature"

// SignatureWindow is how far a notification's timestamp may be from the
// receiver's clock, either way. Outside it a validly signed body is a
// replay (or a clock gone wrong) and is refused; the acquirer's retries
// carry a fresh timestamp, so a genuine notification is never lost to it.
const SignatureWindow = 5 * time.Minute

// MaxNotificationBytes bounds a notification's body; the receiver should
// read at most this much (plus one byte, to tell "too large").
const MaxNotificationBytes = 64 << 10

// maxSignatureHeader bounds the header: a few v1 values during a secret
// rotation fit many times over.
const maxSignatureHeader = 1024

// Sign returns the Acquirer-Signature header value of body sent at t:
// "t=UNIX_SECONDS,v1=HEX(HMAC-SHA256(secret, "UNIX_SECONDS." + body))".
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// signature is a parsed Acquirer-Signature header.
type signature struct {
	ts   string   // the digits of t, exactly as signed
	unix int64    // t
	v1   [][]byte // the v1 MACs, decoded
}

// parseSignatureHeader reads "t=…,v1=…[,v1=…]". Elements of other schemes
// (v0=, v2=) are skipped so that the acquirer can add a scheme before the
// portal knows it; a header without exactly one t or without any
// well-formed v1 is refused.
func parseSignatureHeader(h string) (signature, error) {
	var s signature
	if h == "" {
		return s, fmt.Errorf("%w: missing", ErrSignature)
	}
	if len(h) > maxSignatureHeader {
		return s, fmt.Errorf("%w: header too long", ErrSignature)
	}
	seenT := false
	for _, part := range strings.Split(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return s, fmt.Errorf("%w: element without '='", ErrSignature)
		}
		switch k {
		case "t":
			if seenT {
				return s, fmt.Errorf("%w: two timestamps", ErrSignature)
			}
			seenT = true
			if v == "" || len(v) > 12 || strings.TrimLeft(v, "0123456789") != "" {
				return s, fmt.Errorf("%w: bad timestamp", ErrSignature)
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return s, fmt.Errorf("%w: bad timestamp", ErrSignature)
			}
			s.ts, s.unix = v, n
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				// A malformed v1 can never match; skipping it rather than
				// refusing the header keeps a good value next to it usable.
				continue
			}
			s.v1 = append(s.v1, b)
		}
	}
	if !seenT {
		return s, fmt.Errorf("%w: no timestamp", ErrSignature)
	}
	if len(s.v1) == 0 {
		return s, fmt.Errorf("%w: no v1 signature", ErrSignature)
	}
	return s, nil
}

// ParseNotification verifies a notification and decodes it. The signature
// comes first: nothing of an unsigned body is looked at. It is accepted
// when any v1 value of the header (the acquirer sends one per active secret
// while it rotates them) is the HMAC of "t." + body under secret, compared
// in constant time, and t is within SignatureWindow of now. Then the body
// must be a well-formed notification of a known event. A retried
// notification repeats its id: the caller deduplicates on it (or, better,
// on the state it applies) — ParseNotification keeps no state.
//
// Errors wrap ErrSignature (missing, forged, expired or future) or
// ErrMalformed (signed, but not the protocol); their text never contains
// the body or the secret.
func ParseNotification(secret []byte, signatureHeader string, body []byte, now time.Time) (*Notification, error) {
	if len(secret) == 0 {
		// An empty secret would accept anyone's HMAC under the empty key.
		return nil, fmt.Errorf("%w: no secret configured", ErrSignature)
	}
	sig, err := parseSignatureHeader(signatureHeader)
	if err != nil {
		return nil, err
	}
	if len(body) > MaxNotificationBytes {
		return nil, fmt.Errorf("%w: body too large", ErrMalformed)
	}
	want := mac(secret, sig.ts, body)
	ok := false
	for _, v := range sig.v1 {
		// No early exit: the time taken does not depend on which one matched.
		if hmac.Equal(v, want) {
			ok = true
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: no matching signature", ErrSignature)
	}
	t := time.Unix(sig.unix, 0)
	if d := now.Sub(t); d > SignatureWindow || d < -SignatureWindow {
		return nil, fmt.Errorf("%w: timestamp outside the window", ErrSignature)
	}
	return decodeNotification(body)
}

func decodeNotification(body []byte) (*Notification, error) {
	var w WireNotification
	if err := decodeJSON(body, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := checkID("notification id", w.ID); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	n := &Notification{ID: w.ID, Event: w.Event}
	switch w.Event {
	case EventPaymentSucceeded, EventPaymentDeclined:
		if w.Payment == nil || w.Refund != nil {
			return nil, fmt.Errorf("%w: a payment event needs a payment and no refund", ErrMalformed)
		}
		p, err := w.Payment.Payment()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		// The event and the payment's status say the same thing, or the
		// notification contradicts itself.
		want := Succeeded
		if w.Event == EventPaymentDeclined {
			want = Declined
		}
		if p.Status != want {
			return nil, fmt.Errorf("%w: event and payment status disagree", ErrMalformed)
		}
		n.Payment = &p
	case EventRefundSucceeded:
		if w.Refund == nil || w.Payment != nil {
			return nil, fmt.Errorf("%w: a refund event needs a refund and no payment", ErrMalformed)
		}
		r, err := w.Refund.Refund()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if r.Status != Succeeded {
			return nil, fmt.Errorf("%w: event and refund status disagree", ErrMalformed)
		}
		n.Refund = &r
	default:
		return nil, fmt.Errorf("%w: unknown event", ErrMalformed)
	}
	return n, nil
}

// MarshalNotification encodes n as a notification body (the acquirer's
// side; the sandbox uses it, and tests).
func MarshalNotification(n Notification) ([]byte, error) {
	w := WireNotification{ID: n.ID, Event: n.Event}
	if n.Payment != nil {
		p := WirePaymentOf(*n.Payment)
		w.Payment = &p
	}
	if n.Refund != nil {
		r := WireRefundOf(*n.Refund)
		w.Refund = &r
	}
	return jsonMarshal(w)
}
