package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/portal/payments/acquirer"
	"github.com/gosid/gosid/portal/payments/sandbox"
)

const (
	prefix    = "/sandbox/acquirer"
	returnURL = "http://portal.test/payments/return"
)

var (
	secret = []byte("notify-secret")
	now    = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
)

// receiver is the portal's notification endpoint: it verifies every
// notification with ParseNotification, as the portal will.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	got      []*acquirer.Notification
	bad      int // refused notifications
	attempts int
	failN    int // answer 500 to the first failN attempts
}

func newReceiver(t testing.TB) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, acquirer.MaxNotificationBytes+1))
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.attempts++
		if rc.attempts <= rc.failN {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		n, err := acquirer.ParseNotification(secret, r.Header.Get(acquirer.SignatureHeader), body, now)
		if err != nil {
			rc.bad++
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.got = append(rc.got, n)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) notifications() ([]*acquirer.Notification, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*acquirer.Notification(nil), rc.got...), rc.bad
}

type env struct {
	h       *sandbox.Handler
	srv     *httptest.Server
	client  *acquirer.HTTPClient
	recv    *receiver
	browser *http.Client
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t testing.TB, tweak func(*sandbox.Config)) *env {
	t.Helper()
	e := &env{recv: newReceiver(t), logs: &syncBuffer{}}
	var handler http.Handler = http.NotFoundHandler()
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	cfg := sandbox.Config{Prefix: prefix, PublicURL: e.srv.URL, MerchantID: "gosid-portal", APIKey: "sk_test_key",
		NotifySecret: secret, Now: func() time.Time { return now }, RetryDelay: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if tweak != nil {
		tweak(&cfg)
	}
	h, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	e.h, handler = h, h
	e.client = newClient(t, e.srv.URL+prefix, "sk_test_key")
	e.browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func newClient(t testing.TB, base, key string) *acquirer.HTTPClient {
	t.Helper()
	c, err := acquirer.NewHTTPClient(acquirer.HTTPConfig{BaseURL: base, MerchantID: "gosid-portal", APIKey: key, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) create(t *testing.T, order string, amount int64) acquirer.Created {
	t.Helper()
	c, err := e.client.Create(context.Background(), acquirer.CreateRequest{OrderID: order, Amount: amount, Currency: "RUB",
		Description: "Штраф ГИБДД по постановлению", ReturnURL: returnURL, NotifyURL: e.recv.srv.URL + "/notify"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// page GETs a page and returns its status and body.
func (e *env) page(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := e.browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// post submits a form as the browser would (same-origin).
func (e *env) post(t *testing.T, u string, form url.Values, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func cardForm(number string) url.Values {
	return url.Values{"card_number": {number}, "expiry": {"12/29"}, "cvc": {"123"}, "holder": {"IVAN IVANOV"}}
}

func (e *env) pay(t *testing.T, c acquirer.Created, number string) *http.Response {
	t.Helper()
	resp, body := e.post(t, c.ConfirmationURL, cardForm(number))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("card post: %d %s", resp.StatusCode, body)
	}
	return resp
}

func TestAPI(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	c1 := e.create(t, "ord-1", 123456)
	c2 := e.create(t, "ord-1", 123456)
	if c1.ID == "" || c1 != c2 {
		t.Fatalf("create is not idempotent: %+v %+v", c1, c2)
	}
	if !strings.HasPrefix(c1.ConfirmationURL, e.srv.URL+prefix+"/pay/") {
		t.Fatalf("confirmation URL %q", c1.ConfirmationURL)
	}
	if c3 := e.create(t, "ord-2", 100); c3.ID == c1.ID {
		t.Fatal("two orders, one payment")
	}
	// The same key with another amount is refused, not silently merged.
	_, err := e.client.Create(ctx, acquirer.CreateRequest{OrderID: "ord-1", Amount: 1, Currency: "RUB",
		ReturnURL: returnURL, NotifyURL: e.recv.srv.URL})
	if !errors.Is(err, acquirer.ErrRejected) {
		t.Fatalf("key reuse: %v", err)
	}
	_, err = e.client.Create(ctx, acquirer.CreateRequest{OrderID: "ord-9", Amount: 1, Currency: "USD",
		ReturnURL: returnURL, NotifyURL: e.recv.srv.URL})
	if !errors.Is(err, acquirer.ErrRejected) {
		t.Fatalf("USD: %v", err)
	}

	p, err := e.client.Payment(ctx, c1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != acquirer.Pending || p.Amount != 123456 || p.OrderID != "ord-1" || p.Currency != "RUB" {
		t.Fatalf("payment %+v", p)
	}
	if _, err := e.client.Payment(ctx, "pay_unknown"); !errors.Is(err, acquirer.ErrNotFound) {
		t.Fatalf("unknown payment: %v", err)
	}

	// Refunds: not before the money is taken, then up to what was paid.
	rr := acquirer.RefundRequest{RefundID: "ref-1", PaymentID: c1.ID, Amount: 23456}
	if _, err := e.client.Refund(ctx, rr); !errors.Is(err, acquirer.ErrRejected) {
		t.Fatalf("refund of a pending payment: %v", err)
	}
	e.pay(t, c1, sandbox.CardSuccess)
	r1, err := e.client.Refund(ctx, rr)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := e.client.Refund(ctx, rr)
	if err != nil || r1 != r2 || r1.Status != acquirer.Succeeded || r1.Amount != 23456 {
		t.Fatalf("refund not idempotent: %+v %+v %v", r1, r2, err)
	}
	if _, err := e.client.Refund(ctx, acquirer.RefundRequest{RefundID: "ref-2", PaymentID: c1.ID, Amount: 100001}); !errors.Is(err, acquirer.ErrRejected) {
		t.Fatalf("refund beyond what is left: %v", err)
	}
	if _, err := e.client.Refund(ctx, acquirer.RefundRequest{RefundID: "ref-3", PaymentID: c1.ID, Amount: 100000}); err != nil {
		t.Fatalf("refund of exactly what is left: %v", err)
	}
	if _, err := e.client.Refund(ctx, acquirer.RefundRequest{RefundID: "ref-4", PaymentID: "pay_unknown", Amount: 1}); !errors.Is(err, acquirer.ErrNotFound) {
		t.Fatalf("refund of an unknown payment: %v", err)
	}
	e.h.Flush()
	got, bad := e.recv.notifications()
	var refunds []*acquirer.Refund
	for _, n := range got {
		if n.Event == acquirer.EventRefundSucceeded {
			refunds = append(refunds, n.Refund)
		}
	}
	if bad != 0 || len(refunds) != 2 || refunds[0].Amount+refunds[1].Amount != 123456 {
		t.Fatalf("refund notifications %+v (bad %d)", refunds, bad)
	}
}

func TestAPIAuth(t *testing.T) {
	e := newEnv(t, nil)
	c := e.create(t, "ord-1", 100)
	wrong := newClient(t, e.srv.URL+prefix, "sk_test_kez")
	if _, err := wrong.Create(context.Background(), acquirer.CreateRequest{OrderID: "ord-2", Amount: 1, Currency: "RUB", ReturnURL: returnURL, NotifyURL: returnURL}); !errors.Is(err, acquirer.ErrRejected) {
		t.Fatalf("wrong key create: %v", err)
	}
	if _, err := wrong.Payment(context.Background(), c.ID); !errors.Is(err, acquirer.ErrRejected) || strings.Contains(err.Error(), "sk_test") {
		t.Fatalf("wrong key get: %v", err)
	}
	resp, err := http.Get(e.srv.URL + prefix + "/v1/payments/" + c.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d", resp.StatusCode)
	}
}

func TestPaySuccess(t *testing.T) {
	e := newEnv(t, nil)
	c := e.create(t, "ord-1", 123456)
	resp, body := e.page(t, c.ConfirmationURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page: %d", resp.StatusCode)
	}
	for _, want := range []string{"1\u00a0234,56\u00a0₽", "Госуслуги Gosid — оплата", "Штраф ГИБДД по постановлению", "Тестовые карты",
		"4000 0000 0000 3220", `autocomplete="cc-number"`, `autocomplete="cc-exp"`, `autocomplete="cc-csc"`, `for="card_number"`,
		"Отменить", `href="` + prefix + `/static/sandbox.css"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "style=") {
		t.Error("inline script or style on the page")
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://portal.test") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	if en, body := e.page(t, c.ConfirmationURL+"?lang=en"); en.StatusCode != http.StatusOK || !strings.Contains(body, "Card number") || !strings.Contains(body, `lang="en"`) {
		t.Error("no English page")
	}
	css, _ := e.page(t, e.srv.URL+prefix+"/static/sandbox.css")
	if css.StatusCode != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %s", css.StatusCode, css.Header.Get("Content-Type"))
	}

	resp = e.pay(t, c, "4111 1111 1111 1111")
	if loc := resp.Header.Get("Location"); loc != returnURL {
		t.Fatalf("redirected to %q", loc)
	}
	e.h.Flush()
	got, bad := e.recv.notifications()
	if bad != 0 || len(got) != 1 {
		t.Fatalf("notifications %d (bad %d)", len(got), bad)
	}
	n := got[0]
	if n.Event != acquirer.EventPaymentSucceeded || n.Payment.ID != c.ID || n.Payment.OrderID != "ord-1" || n.Payment.Amount != 123456 ||
		n.Payment.Currency != "RUB" || n.Payment.Card != "411111******1111" || !n.Payment.CapturedAt.Equal(now) {
		t.Fatalf("notification %+v %+v", n, n.Payment)
	}
	p, err := e.client.Payment(context.Background(), c.ID)
	if err != nil || p.Status != acquirer.Succeeded || p.Card != "411111******1111" || !p.CapturedAt.Equal(now) {
		t.Fatalf("polled %+v %v", p, err)
	}
	// Paying again is not possible: the page says it is done, and a second
	// post only shows it.
	if _, body := e.page(t, c.ConfirmationURL); !strings.Contains(body, "Платёж выполнен") {
		t.Error("finished page")
	}
	resp, _ = e.post(t, c.ConfirmationURL, cardForm(sandbox.CardDeclined))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == returnURL {
		t.Fatalf("second post: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if p, _ := e.h.Payment(c.ID); p.Status != acquirer.Succeeded {
		t.Fatalf("second post changed the payment: %+v", p)
	}
	if strings.Contains(e.logs.String(), "4111111111111111") || strings.Contains(e.logs.String(), "1111 1111") {
		t.Fatal("the card number was logged")
	}
}

func TestPayDeclinedAndCancelled(t *testing.T) {
	e := newEnv(t, nil)
	c1 := e.create(t, "ord-1", 5000)
	c2 := e.create(t, "ord-2", 5000)
	if loc := e.pay(t, c1, sandbox.CardDeclined).Header.Get("Location"); loc != returnURL {
		t.Fatalf("declined redirect %q", loc)
	}
	resp, _ := e.post(t, e.srv.URL+prefix+"/pay/"+c2.ID+"/cancel", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != returnURL {
		t.Fatalf("cancel: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	e.h.Flush()
	got, _ := e.recv.notifications()
	reasons := map[string]string{}
	for _, n := range got {
		if n.Event != acquirer.EventPaymentDeclined || n.Payment.Status != acquirer.Declined {
			t.Fatalf("notification %+v", n.Payment)
		}
		reasons[n.Payment.ID] = n.Payment.Reason
	}
	if len(got) != 2 || reasons[c1.ID] != sandbox.ReasonInsufficientFunds || reasons[c2.ID] != sandbox.ReasonCancelled {
		t.Fatalf("reasons %v", reasons)
	}
}

var codeRE = regexp.MustCompile(`id="sandbox-code">(\d{5})<`)

func TestPay3DS(t *testing.T) {
	e := newEnv(t, nil)
	c := e.create(t, "ord-1", 100)
	resp := e.pay(t, c, sandbox.Card3DS)
	confirm := resp.Header.Get("Location")
	if confirm != prefix+"/pay/"+c.ID+"/confirm" {
		t.Fatalf("redirected to %q", confirm)
	}
	resp, body := e.page(t, e.srv.URL+confirm)
	m := codeRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil || !strings.Contains(body, "Подтверждение платежа") {
		t.Fatalf("confirmation page: %d", resp.StatusCode)
	}
	// The card page now leads to the confirmation.
	if r, _ := e.page(t, c.ConfirmationURL); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("card page while confirming: %d", r.StatusCode)
	}
	wrong := "00000"
	if m[1] == wrong {
		wrong = "11111"
	}
	resp, body = e.post(t, e.srv.URL+confirm, url.Values{"code": {wrong}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Неверный код. Осталось 2 попытки.") {
		t.Fatalf("wrong code: %d", resp.StatusCode)
	}
	resp, _ = e.post(t, e.srv.URL+confirm, url.Values{"code": {m[1]}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != returnURL {
		t.Fatalf("right code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	e.h.Flush()
	if got, _ := e.recv.notifications(); len(got) != 1 || got[0].Payment.Status != acquirer.Succeeded {
		t.Fatalf("notifications %v", got)
	}

	// Three wrong codes decline the payment.
	c = e.create(t, "ord-2", 100)
	confirm = e.pay(t, c, sandbox.Card3DS).Header.Get("Location")
	_, body = e.page(t, e.srv.URL+confirm)
	code := codeRE.FindStringSubmatch(body)[1]
	wrong = "00000"
	if code == wrong {
		wrong = "11111"
	}
	for i := 1; i <= 3; i++ {
		resp, body = e.post(t, e.srv.URL+confirm+"?lang=en", url.Values{"code": {wrong}})
		switch i {
		case 1:
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Wrong code. 2 tries left.") {
				t.Fatalf("try %d: %d", i, resp.StatusCode)
			}
		case 3:
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != returnURL {
				t.Fatalf("third wrong code: %d", resp.StatusCode)
			}
		}
	}
	// The right code comes too late.
	e.post(t, e.srv.URL+confirm, url.Values{"code": {code}})
	e.h.Flush()
	if p, _ := e.h.Payment(c.ID); p.Status != acquirer.Declined || p.Reason != sandbox.ReasonAuthFailed {
		t.Fatalf("after three wrong codes: %+v", p)
	}
}

func TestPayDelayed(t *testing.T) {
	e := newEnv(t, func(c *sandbox.Config) { c.NotifyDelay = 300 * time.Millisecond })
	c := e.create(t, "ord-1", 100)
	e.pay(t, c, sandbox.CardDelayed)
	if got, _ := e.recv.notifications(); len(got) != 0 {
		t.Fatal("notified before the delay")
	}
	// Polling already sees the payment succeeded.
	if p, err := e.client.Payment(context.Background(), c.ID); err != nil || p.Status != acquirer.Succeeded {
		t.Fatalf("polled %+v %v", p, err)
	}
	e.h.Flush()
	if got, _ := e.recv.notifications(); len(got) != 1 || got[0].Payment.ID != c.ID {
		t.Fatalf("after the delay: %v", got)
	}

	// With no delay configured the notification never comes: only polling
	// tells the portal.
	e = newEnv(t, nil)
	c = e.create(t, "ord-1", 100)
	e.pay(t, c, sandbox.CardDelayed)
	e.h.Flush()
	if got, _ := e.recv.notifications(); len(got) != 0 {
		t.Fatal("notified although the delay is zero")
	}
	if p, err := e.client.Payment(context.Background(), c.ID); err != nil || p.Status != acquirer.Succeeded {
		t.Fatalf("polled %+v %v", p, err)
	}
}

func TestPayDuplicateNotification(t *testing.T) {
	e := newEnv(t, nil)
	c := e.create(t, "ord-1", 100)
	e.pay(t, c, sandbox.CardDuplicate)
	e.h.Flush()
	got, bad := e.recv.notifications()
	if bad != 0 || len(got) != 2 || got[0].ID != got[1].ID || *got[0].Payment != *got[1].Payment {
		t.Fatalf("duplicate: %d notifications, bad %d", len(got), bad)
	}
}

func TestNotificationRetried(t *testing.T) {
	e := newEnv(t, nil)
	e.recv.failN = 2
	c := e.create(t, "ord-1", 100)
	e.pay(t, c, sandbox.CardSuccess)
	e.h.Flush()
	got, _ := e.recv.notifications()
	e.recv.mu.Lock()
	attempts := e.recv.attempts
	e.recv.mu.Unlock()
	if len(got) != 1 || attempts != 3 {
		t.Fatalf("%d notifications after %d attempts", len(got), attempts)
	}
}

func TestCardValidation(t *testing.T) {
	e := newEnv(t, nil)
	c := e.create(t, "ord-1", 100)
	form := url.Values{"card_number": {"4111 1111 1111 1112"}, "expiry": {"11/26"}, "cvc": {"12"}, "holder": {"ИВАН"}}
	resp, body := e.post(t, c.ConfirmationURL, form)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{"Номер карты введён с ошибкой", "Срок действия карты истёк", "CVC — три цифры", "латинскими буквами",
		`id="card_number-err"`, `aria-invalid="true"`} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q", want)
		}
	}
	form = url.Values{"card_number": {""}, "expiry": {"13/29"}, "cvc": {"123"}}
	_, body = e.post(t, c.ConfirmationURL+"?lang=en", form)
	if !strings.Contains(body, "Enter the card number.") || !strings.Contains(body, "The expiry date is MM/YY") {
		t.Error("English field errors")
	}
	if p, _ := e.h.Payment(c.ID); p.Status != acquirer.Pending || p.Card != "" {
		t.Fatalf("a refused form changed the payment: %+v", p)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	e := newEnv(t, nil)
	c := e.create(t, "ord-1", 100)
	resp, _ := e.post(t, c.ConfirmationURL, cardForm(sandbox.CardSuccess), "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site post: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+prefix+"/pay/"+c.ID+"/cancel", nil)
	req.Header.Set("Origin", "http://evil.test")
	resp, err := e.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin cancel: %d", resp.StatusCode)
	}
	if p, _ := e.h.Payment(c.ID); p.Status != acquirer.Pending {
		t.Fatalf("a cross-origin post changed the payment: %+v", p)
	}
}

// TestConcurrentCardPosts: a double click, or two tabs, settle a payment
// once and notify once.
func TestConcurrentCardPosts(t *testing.T) {
	e := newEnv(t, nil)
	c := e.create(t, "ord-1", 100)
	var wg sync.WaitGroup
	var mu sync.Mutex
	toPortal := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := e.post(t, c.ConfirmationURL, cardForm(sandbox.CardSuccess))
			if resp.Header.Get("Location") == returnURL {
				mu.Lock()
				toPortal++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	e.h.Flush()
	got, _ := e.recv.notifications()
	if len(got) != 1 || toPortal != 1 {
		t.Fatalf("%d notifications, %d settling posts", len(got), toPortal)
	}
}

func TestUnavailable(t *testing.T) {
	e := newEnv(t, nil)
	base := e.srv.URL
	e.srv.Close()
	c := newClient(t, base+prefix, "sk_test_key")
	_, err := c.Create(context.Background(), acquirer.CreateRequest{OrderID: "o", Amount: 1, Currency: "RUB", ReturnURL: returnURL, NotifyURL: returnURL})
	if !errors.Is(err, acquirer.ErrUnavailable) {
		t.Fatalf("server closed: %v", err)
	}

	// The acquirer answering 503.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"code":"maintenance","message":"later"}`)
	}))
	defer down.Close()
	c = newClient(t, down.URL+prefix, "sk_test_key")
	if _, err := c.Payment(context.Background(), "pay_1"); !errors.Is(err, acquirer.ErrUnavailable) {
		t.Fatalf("503: %v", err)
	}
	if _, err := c.Refund(context.Background(), acquirer.RefundRequest{RefundID: "r", PaymentID: "pay_1", Amount: 1}); !errors.Is(err, acquirer.ErrUnavailable) {
		t.Fatalf("503: %v", err)
	}
}

func TestNotFoundPage(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.page(t, e.srv.URL+prefix+"/pay/pay_nope")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "Платёж не найден") {
		t.Fatalf("%d", resp.StatusCode)
	}
}

func TestNewChecksConfig(t *testing.T) {
	good := sandbox.Config{Prefix: prefix, PublicURL: "http://localhost:8081", MerchantID: "m", APIKey: "k", NotifySecret: secret}
	if h, err := sandbox.New(good); err != nil {
		t.Fatal(err)
	} else {
		h.Close()
	}
	for _, bad := range []func(*sandbox.Config){
		func(c *sandbox.Config) { c.Prefix = "sandbox" },
		func(c *sandbox.Config) { c.Prefix = "/sandbox/" },
		func(c *sandbox.Config) { c.PublicURL = "localhost:8081" },
		func(c *sandbox.Config) { c.PublicURL = "http://localhost:8081/x" },
		func(c *sandbox.Config) { c.APIKey = "" },
		func(c *sandbox.Config) { c.NotifySecret = nil },
	} {
		c := good
		bad(&c)
		if _, err := sandbox.New(c); err == nil {
			t.Fatalf("accepted %+v", c)
		}
	}
}

// TestCloseAbandonsWaitingNotifications: a notification waiting its delay
// does not hold up shutdown, and none is sent after Close.
func TestCloseAbandonsWaitingNotifications(t *testing.T) {
	e := newEnv(t, func(c *sandbox.Config) { c.NotifyDelay = time.Hour })
	c := e.create(t, "ord-1", 100)
	e.pay(t, c, sandbox.CardDelayed)
	done := make(chan struct{})
	go func() { e.h.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the delayed notification")
	}
	if got, _ := e.recv.notifications(); len(got) != 0 {
		t.Fatal("notified after Close")
	}
}

// TestOutOfOrderNotifications: with the delayed card and a refund straight
// after, the refund's notification reaches the portal before the
// payment's — the out-of-order case the portal must survive.
func TestOutOfOrderNotifications(t *testing.T) {
	e := newEnv(t, func(c *sandbox.Config) { c.NotifyDelay = 300 * time.Millisecond })
	c := e.create(t, "ord-1", 1000)
	e.pay(t, c, sandbox.CardDelayed)
	if _, err := e.client.Refund(context.Background(), acquirer.RefundRequest{RefundID: "ref-1", PaymentID: c.ID, Amount: 400}); err != nil {
		t.Fatal(err)
	}
	e.h.Flush()
	got, bad := e.recv.notifications()
	if bad != 0 || len(got) != 2 || got[0].Event != acquirer.EventRefundSucceeded || got[1].Event != acquirer.EventPaymentSucceeded {
		t.Fatalf("order: %d notifications, bad %d", len(got), bad)
	}
	if got[0].Refund.PaymentID != c.ID || got[1].Payment.ID != c.ID {
		t.Fatal("notifications of another payment")
	}
}

// BenchmarkCreateAndGet is a payment created and read back through the
// client over loopback; BenchmarkLoopbackFloor is a bare GET to an empty
// handler on the same loopback, the floor the HTTP round trips set.
func BenchmarkCreateAndGet(b *testing.B) {
	e := newEnv(b, nil)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		cr, err := e.client.Create(ctx, acquirer.CreateRequest{OrderID: "ord-" + strconv.Itoa(i), Amount: 100, Currency: "RUB",
			ReturnURL: returnURL, NotifyURL: returnURL})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.client.Payment(ctx, cr.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoopbackFloor(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	for b.Loop() {
		for range 2 {
			resp, err := http.Get(srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}
