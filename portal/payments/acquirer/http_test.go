package acquirer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fake answers every request with status and body, and records the last
// request's credentials and key.
func fake(t *testing.T, status int, body string) (*HTTPClient, *http.Request) {
	t.Helper()
	var seen http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = *r.Clone(context.Background())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	c, err := NewHTTPClient(HTTPConfig{BaseURL: srv.URL + "/api/", MerchantID: "m-1", APIKey: "sk-secret-key", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c, &seen
}

var createReq = CreateRequest{OrderID: "ord-1", Amount: 123456, Currency: "RUB", Description: "Штраф",
	ReturnURL: "http://portal.test/pay/return", NotifyURL: "http://portal.test/pay/notify"}

func TestHTTPClientCreateAnswer(t *testing.T) {
	okBody := `{"id":"pay_1","order_id":"ord-1","status":"pending","amount":123456,"currency":"RUB","confirmation_url":"https://acq.test/pay/pay_1","new_field":1}`
	c, seen := fake(t, http.StatusCreated, okBody)
	got, err := c.Create(context.Background(), createReq)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "pay_1" || got.ConfirmationURL != "https://acq.test/pay/pay_1" {
		t.Fatalf("created %+v", got)
	}
	if seen.URL.Path != "/api/v1/payments" || seen.Header.Get("Idempotence-Key") != "ord-1" {
		t.Fatalf("request %s key %q", seen.URL.Path, seen.Header.Get("Idempotence-Key"))
	}
	if u, p, ok := seen.BasicAuth(); !ok || u != "m-1" || p != "sk-secret-key" {
		t.Fatal("no basic auth")
	}

	bad := map[string]string{
		"fractional amount":   strings.Replace(okBody, "123456", "123456.0", 1),
		"other amount":        strings.Replace(okBody, "123456", "123400", 1),
		"other order":         strings.Replace(okBody, `"order_id":"ord-1"`, `"order_id":"ord-2"`, 1),
		"no id":               strings.Replace(okBody, `"id":"pay_1",`, "", 1),
		"javascript: page":    strings.Replace(okBody, "https://acq.test/pay/pay_1", "javascript:alert(1)", 1),
		"not json":            `<html>`,
		"too large":           `{"id":"pay_1","pad":"` + strings.Repeat("x", MaxResponseBytes) + `"}`,
		"two values":          okBody + okBody,
		"unexpected redirect": "",
	}
	for name, body := range bad {
		t.Run(name, func(t *testing.T) {
			status := http.StatusOK
			if name == "unexpected redirect" {
				status = http.StatusFound
			}
			c, _ := fake(t, status, body)
			if _, err := c.Create(context.Background(), createReq); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestHTTPClientStatusMapping(t *testing.T) {
	cases := []struct {
		status int
		want   error
	}{
		{http.StatusInternalServerError, ErrUnavailable},
		{http.StatusBadGateway, ErrUnavailable},
		{http.StatusServiceUnavailable, ErrUnavailable},
		{http.StatusTooManyRequests, ErrUnavailable},
		{http.StatusNotFound, ErrNotFound},
		{http.StatusBadRequest, ErrRejected},
		{http.StatusUnauthorized, ErrRejected},
		{http.StatusConflict, ErrRejected},
		{http.StatusUnprocessableEntity, ErrRejected},
	}
	for _, c := range cases {
		t.Run(http.StatusText(c.status), func(t *testing.T) {
			cl, _ := fake(t, c.status, `{"code":"refund_exceeds","message":"sk-secret-key <script>"}`)
			_, err := cl.Payment(context.Background(), "pay_1")
			if !errors.Is(err, c.want) {
				t.Fatalf("Payment: err = %v, want %v", err, c.want)
			}
			_, err = cl.Refund(context.Background(), RefundRequest{RefundID: "r-1", PaymentID: "pay_1", Amount: 1})
			if !errors.Is(err, c.want) {
				t.Fatalf("Refund: err = %v, want %v", err, c.want)
			}
			if strings.Contains(err.Error(), "sk-secret-key") || strings.Contains(err.Error(), "<script>") {
				t.Fatalf("error repeats the answer's message: %v", err)
			}
		})
	}
}

func TestHTTPClientPaymentDecoding(t *testing.T) {
	good := `{"id":"pay_1","order_id":"ord-1","status":"succeeded","amount":100,"currency":"RUB","captured_at":"2026-12-04T11:59:00.123456Z","card":"411111******1111"}`
	c, seen := fake(t, http.StatusOK, good)
	p, err := c.Payment(context.Background(), "pay_1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Amount != 100 || p.Status != Succeeded || p.CapturedAt.Nanosecond() != 123456000 || seen.URL.Path != "/api/v1/payments/pay_1" {
		t.Fatalf("payment %+v at %s", p, seen.URL.Path)
	}
	for name, body := range map[string]string{
		"unknown status":  strings.Replace(good, `"succeeded"`, `"captured"`, 1),
		"string amount":   strings.Replace(good, `100`, `"100"`, 1),
		"other payment":   strings.Replace(good, `"pay_1"`, `"pay_2"`, 1),
		"empty order id":  strings.Replace(good, `"ord-1"`, `""`, 1),
		"bad currency":    strings.Replace(good, `"RUB"`, `"₽"`, 1),
		"negative amount": strings.Replace(good, `100`, `-100`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := fake(t, http.StatusOK, body)
			if _, err := c.Payment(context.Background(), "pay_1"); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
		})
	}
	// An id that would change the path is escaped, not followed.
	c, seen = fake(t, http.StatusNotFound, `{}`)
	if _, err := c.Payment(context.Background(), "../refunds"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if seen.URL.EscapedPath() != "/api/v1/payments/..%2Frefunds" {
		t.Fatalf("path %q", seen.URL.EscapedPath())
	}
}

func TestHTTPClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := NewHTTPClient(HTTPConfig{BaseURL: srv.URL, MerchantID: "m", APIKey: "k", Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Payment(context.Background(), "pay_1")
	if !errors.Is(err, ErrUnavailable) || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestHTTPClientHidesKey(t *testing.T) {
	cfg := HTTPConfig{BaseURL: "https://acq.test", MerchantID: "m", APIKey: "sk-secret-key"}
	c, err := NewHTTPClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "cfg", cfg, "client", c)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprint(c), fmt.Sprintf("%v", c), logged.String()} {
		if strings.Contains(s, "sk-secret-key") {
			t.Fatalf("key shown: %s", s)
		}
	}
	for _, bad := range []HTTPConfig{
		{BaseURL: "ftp://acq.test", MerchantID: "m", APIKey: "k"},
		{BaseURL: "https://acq.test", MerchantID: "", APIKey: "k"},
		{BaseURL: "https://acq.test", MerchantID: "a:b", APIKey: "k"},
		{BaseURL: "https://acq.test", MerchantID: "m"},
	} {
		if _, err := NewHTTPClient(bad); err == nil {
			t.Fatalf("accepted %v", bad)
		}
	}
}
