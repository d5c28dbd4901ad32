package webpush

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Error classes of Send; the error returned wraps exactly one of them.
var (
	// ErrGone: the push service no longer knows the subscription (404,
	// 410). The caller deletes it.
	ErrGone = errors.New("webpush: subscription gone")
	// ErrTooLarge: the payload is too large (413, or over MaxPayload
	// before sending).
	ErrTooLarge = errors.New("webpush: payload too large")
	// ErrRejected: the push service refused the request (400, 401, 403,
	// other 4xx): bad keys, subject, clock or options. Not retryable.
	ErrRejected = errors.New("webpush: rejected by the push service")
	// ErrUnavailable: try again later (429, 5xx, 408, network errors);
	// RetryAfter tells when if the service said so.
	ErrUnavailable = errors.New("webpush: push service unavailable")
)

// Urgency values (RFC 8030 §5.3).
const (
	UrgencyVeryLow = "very-low"
	UrgencyLow     = "low"
	UrgencyNormal  = "normal"
	UrgencyHigh    = "high"
)

// maxResponseBody bounds what Send reads of an answer (and then drops):
// enough to reuse the connection, never stored or logged.
const maxResponseBody = 4096

// Options of one push (RFC 8030 §5).
type Options struct {
	// TTL is how long the push service keeps an undelivered message;
	// sent in whole seconds, 0 meaning "deliver now or drop".
	TTL time.Duration
	// Urgency is very-low, low, normal or high; "" sends no header
	// (the service assumes normal).
	Urgency string
	// Topic, when set, replaces an undelivered earlier message with the
	// same topic: at most 32 base64url characters.
	Topic string
}

func (o Options) check() error {
	if o.TTL < 0 {
		return fmt.Errorf("webpush: negative TTL: %w", ErrRejected)
	}
	switch o.Urgency {
	case "", UrgencyVeryLow, UrgencyLow, UrgencyNormal, UrgencyHigh:
	default:
		return fmt.Errorf("webpush: urgency %q is not very-low, low, normal or high: %w", o.Urgency, ErrRejected)
	}
	if len(o.Topic) > 32 {
		return fmt.Errorf("webpush: topic longer than 32 characters: %w", ErrRejected)
	}
	for i := 0; i < len(o.Topic); i++ {
		c := o.Topic[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("webpush: topic is not base64url: %w", ErrRejected)
		}
	}
	return nil
}

// Client sends pushes. The zero HTTP means a client with a 30-second
// timeout that does not follow redirects; the zero Now means time.Now.
type Client struct {
	VAPID VAPID
	HTTP  *http.Client
	Now   func() time.Time
}

// StatusError is the error of a push the service answered with a
// non-success status. It wraps ErrGone, ErrTooLarge, ErrRejected or
// ErrUnavailable and names neither the endpoint nor the payload.
type StatusError struct {
	Status int
	// RetryAfter is the service's Retry-After, when it gave one.
	RetryAfter    time.Duration
	HasRetryAfter bool
	class         error
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%v: HTTP %d", e.class, e.Status)
}

func (e *StatusError) Unwrap() error { return e.class }

// RetryAfter reports the delay the push service asked for with a
// Retry-After header, if err carries one.
func RetryAfter(err error) (time.Duration, bool) {
	var se *StatusError
	if errors.As(err, &se) && se.HasRetryAfter {
		return se.RetryAfter, true
	}
	return 0, false
}

// Send encrypts payload for sub and posts it to the subscription's push
// service. nil means the service accepted the message (any 2xx: RFC 8030
// says 201, some services answer 200 or 202, and a delivered message must
// not be retried). Errors wrap ErrGone, ErrTooLarge, ErrRejected or
// ErrUnavailable (see the package documentation).
func (c *Client) Send(ctx context.Context, sub Subscription, payload []byte, o Options) error {
	if err := o.check(); err != nil {
		return err
	}
	if err := sub.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	body, err := Encrypt(payload, sub, nil)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	auth, err := c.VAPID.Authorization(sub.Endpoint, now())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: cannot build the request", ErrRejected)
	}
	req.Header.Set("TTL", strconv.FormatInt(int64(o.TTL/time.Second), 10))
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", auth)
	if o.Urgency != "" {
		req.Header.Set("Urgency", o.Urgency)
	}
	if o.Topic != "" {
		req.Header.Set("Topic", o.Topic)
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return networkError(ctx, err)
	}
	defer resp.Body.Close()
	// Read a little to let the connection be reused; the body is the
	// service's text and is never kept or logged.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	se := &StatusError{Status: resp.StatusCode, class: classify(resp.StatusCode)}
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now()); ok {
		se.RetryAfter, se.HasRetryAfter = d, true
	}
	return se
}

var defaultHTTP = &http.Client{
	Timeout: 30 * time.Second,
	// A push service does not redirect; following one would hand the
	// message and the VAPID token to another host.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func classify(status int) error {
	switch {
	case status == http.StatusNotFound || status == http.StatusGone:
		return ErrGone
	case status == http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		return ErrUnavailable
	default:
		return ErrRejected
	}
}

// networkError drops the URL that *url.Error carries (the endpoint is a
// capability) and keeps the cause, marked retryable.
func networkError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// parseRetryAfter reads delta-seconds or an HTTP date (RFC 9110 §10.2.3).
// A date in the past means "now"; a delay is capped at a day so that a
// broken header cannot park a job for ever.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	const maxDelay = 24 * time.Hour
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		if n > uint64(maxDelay/time.Second) {
			return maxDelay, true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	switch {
	case d < 0:
		return 0, true
	case d > maxDelay:
		return maxDelay, true
	}
	return d, true
}
