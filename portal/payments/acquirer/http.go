package acquirer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxResponseBytes bounds what HTTPClient reads of an answer.
const MaxResponseBytes = 64 << 10

// DefaultTimeout is HTTPClient's per-call timeout when none is configured.
const DefaultTimeout = 10 * time.Second

// HTTPConfig configures an HTTPClient.
type HTTPConfig struct {
	// BaseURL is the API's root, without /v1 (e.g.
	// "https://acquirer.example/api" or the sandbox's
	// "http://localhost:8081/sandbox/acquirer").
	BaseURL string
	// MerchantID and APIKey authenticate the portal (HTTP Basic).
	MerchantID, APIKey string
	// HTTP is the client used (transport, TLS, proxies); nil means a plain
	// one. It is copied, not changed: redirects are not followed, since an
	// API that redirects is misconfigured and the credentials must not
	// follow it.
	HTTP *http.Client
	// Timeout bounds each call (connect, request and answer); zero means
	// DefaultTimeout.
	Timeout time.Duration
}

// String hides the API key, so that printing a configuration is safe.
func (c HTTPConfig) String() string {
	return fmt.Sprintf("acquirer.HTTPConfig{BaseURL: %q, MerchantID: %q, APIKey: [hidden]}", c.BaseURL, c.MerchantID)
}

// LogValue hides the API key in logs.
func (c HTTPConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.BaseURL), slog.String("merchant_id", c.MerchantID))
}

// HTTPClient is the Client of the acquirer's JSON API (see the package
// documentation). It does not retry: every call is idempotent on the
// portal's ids, so the caller (a durable job) retries on ErrUnavailable.
type HTTPClient struct {
	base     string
	merchant string
	apiKey   string
	http     *http.Client
	timeout  time.Duration
}

var _ Client = (*HTTPClient)(nil)

// NewHTTPClient checks cfg and returns the client.
func NewHTTPClient(cfg HTTPConfig) (*HTTPClient, error) {
	if err := checkHTTPURL("acquirer base URL", cfg.BaseURL); err != nil {
		return nil, err
	}
	if cfg.MerchantID == "" || strings.Contains(cfg.MerchantID, ":") || cfg.APIKey == "" {
		return nil, errors.New("acquirer: merchant id (without ':') and API key are required")
	}
	hc := http.Client{}
	if cfg.HTTP != nil {
		hc = *cfg.HTTP
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	t := cfg.Timeout
	if t <= 0 {
		t = DefaultTimeout
	}
	return &HTTPClient{base: strings.TrimRight(cfg.BaseURL, "/"), merchant: cfg.MerchantID, apiKey: cfg.APIKey, http: &hc, timeout: t}, nil
}

// String names the client without its key.
func (c *HTTPClient) String() string { return "acquirer.HTTPClient(" + c.base + ")" }

// LogValue hides the API key in logs.
func (c *HTTPClient) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.base), slog.String("merchant_id", c.merchant))
}

// WireCreatePayment is the body of POST /v1/payments.
type WireCreatePayment struct {
	OrderID     string  `json:"order_id"`
	Amount      Kopecks `json:"amount"`
	Currency    string  `json:"currency"`
	Description string  `json:"description"`
	ReturnURL   string  `json:"return_url"`
	NotifyURL   string  `json:"notify_url"`
}

// WireCreated is the answer to POST /v1/payments.
type WireCreated struct {
	ID              string  `json:"id"`
	OrderID         string  `json:"order_id"`
	Status          Status  `json:"status"`
	Amount          Kopecks `json:"amount"`
	Currency        string  `json:"currency"`
	ConfirmationURL string  `json:"confirmation_url"`
}

// WireCreateRefund is the body of POST /v1/refunds.
type WireCreateRefund struct {
	RefundID  string  `json:"refund_id"`
	PaymentID string  `json:"payment_id"`
	Amount    Kopecks `json:"amount"`
}

// Create asks for a payment; OrderID is the Idempotence-Key. The answer is
// checked against the request (same order, amount and currency), and its
// confirmation URL must be http(s), since the citizen's browser is sent
// there.
func (c *HTTPClient) Create(ctx context.Context, req CreateRequest) (Created, error) {
	if err := checkID("order id", req.OrderID); err != nil {
		return Created{}, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	if req.Amount <= 0 {
		return Created{}, fmt.Errorf("%w: amount must be positive", ErrRejected)
	}
	body := WireCreatePayment{OrderID: req.OrderID, Amount: Kopecks(req.Amount), Currency: req.Currency,
		Description: req.Description, ReturnURL: req.ReturnURL, NotifyURL: req.NotifyURL}
	var w WireCreated
	if err := c.call(ctx, http.MethodPost, "/v1/payments", req.OrderID, body, &w); err != nil {
		return Created{}, fmt.Errorf("create payment: %w", err)
	}
	switch {
	case checkID("payment id", w.ID) != nil:
		return Created{}, fmt.Errorf("create payment: %w: no payment id", ErrUnavailable)
	case w.OrderID != req.OrderID || int64(w.Amount) != req.Amount || w.Currency != req.Currency:
		// Answered for another order, or changed the amount: nothing the
		// portal can send a citizen to.
		return Created{}, fmt.Errorf("create payment: %w: the answer does not match the request", ErrUnavailable)
	case checkHTTPURL("confirmation URL", w.ConfirmationURL) != nil:
		return Created{}, fmt.Errorf("create payment: %w: confirmation URL is not http(s)", ErrUnavailable)
	}
	return Created{ID: w.ID, ConfirmationURL: w.ConfirmationURL}, nil
}

// Payment reads a payment by the acquirer's id.
func (c *HTTPClient) Payment(ctx context.Context, id string) (Payment, error) {
	if checkID("payment id", id) != nil {
		return Payment{}, fmt.Errorf("get payment: %w", ErrNotFound)
	}
	var w WirePayment
	if err := c.call(ctx, http.MethodGet, "/v1/payments/"+url.PathEscape(id), "", nil, &w); err != nil {
		return Payment{}, fmt.Errorf("get payment: %w", err)
	}
	p, err := w.Payment()
	if err != nil {
		return Payment{}, fmt.Errorf("get payment: %w: %w", ErrUnavailable, err)
	}
	if p.ID != id {
		return Payment{}, fmt.Errorf("get payment: %w: answered for another payment", ErrUnavailable)
	}
	return p, nil
}

// Refund returns money; RefundID is the Idempotence-Key. A refund of more
// than is left of the payment is ErrRejected.
func (c *HTTPClient) Refund(ctx context.Context, req RefundRequest) (Refund, error) {
	if err := checkID("refund id", req.RefundID); err != nil {
		return Refund{}, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	if checkID("payment id", req.PaymentID) != nil {
		return Refund{}, fmt.Errorf("refund: %w", ErrNotFound)
	}
	if req.Amount <= 0 {
		return Refund{}, fmt.Errorf("%w: amount must be positive", ErrRejected)
	}
	body := WireCreateRefund{RefundID: req.RefundID, PaymentID: req.PaymentID, Amount: Kopecks(req.Amount)}
	var w WireRefund
	if err := c.call(ctx, http.MethodPost, "/v1/refunds", req.RefundID, body, &w); err != nil {
		return Refund{}, fmt.Errorf("refund: %w", err)
	}
	r, err := w.Refund()
	if err != nil {
		return Refund{}, fmt.Errorf("refund: %w: %w", ErrUnavailable, err)
	}
	if r.RefundID != req.RefundID || r.PaymentID != req.PaymentID || r.Amount != req.Amount {
		return Refund{}, fmt.Errorf("refund: %w: the answer does not match the request", ErrUnavailable)
	}
	return r, nil
}

// call does one request and decodes a 2xx answer into out. Errors never
// contain the API key, the request or the answer's body; a 4xx carries the
// acquirer's error code when it is a plain token.
func (c *HTTPClient) call(ctx context.Context, method, path, idemKey string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%w: encode request: %w", ErrRejected, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%w: build request", ErrRejected)
	}
	req.SetBasicAuth(c.merchant, c.apiKey)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotence-Key", idemKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error holds the URL (no credentials: they are in a header);
		// say only what kind of failure it was.
		kind := "network error"
		if errors.Is(err, context.DeadlineExceeded) {
			kind = "timeout"
		}
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("%w: %w", ErrUnavailable, context.Canceled)
		}
		return fmt.Errorf("%w: %s", ErrUnavailable, kind)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("%w: reading the answer", ErrUnavailable)
	}
	if len(data) > MaxResponseBytes {
		return fmt.Errorf("%w: answer too large", ErrUnavailable)
	}
	switch s := resp.StatusCode; {
	case s == http.StatusOK || s == http.StatusCreated:
		if err := decodeJSON(data, out); err != nil {
			return fmt.Errorf("%w: malformed answer: %w", ErrUnavailable, err)
		}
		return nil
	case s == http.StatusNotFound:
		return ErrNotFound
	case s >= 500 || s == http.StatusTooManyRequests || s == http.StatusRequestTimeout:
		// Too many requests and a timeout are the acquirer's way of saying
		// "later" too: nothing was done.
		return fmt.Errorf("%w: HTTP %d", ErrUnavailable, s)
	case s >= 400:
		return fmt.Errorf("%w: HTTP %d %s", ErrRejected, s, errorCode(data))
	default:
		return fmt.Errorf("%w: unexpected HTTP %d", ErrUnavailable, s)
	}
}

// errorCode extracts the code of an error body when it is a short plain
// token; anything else is not repeated into our errors and logs.
func errorCode(data []byte) string {
	var e WireError
	if json.Unmarshal(data, &e) != nil || e.Code == "" || len(e.Code) > 64 {
		return ""
	}
	for _, c := range e.Code {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return ""
		}
	}
	return "(" + e.Code + ")"
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
