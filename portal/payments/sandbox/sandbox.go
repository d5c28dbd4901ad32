package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/payments/acquirer"
)

//go:embed templates/*.html static/*
var files embed.FS

// Test cards. Any other number that passes the checks succeeds like
// CardSuccess.
const (
	CardSuccess   = "4111111111111111" // succeeds, notified at once
	CardDeclined  = "4000000000000002" // declined: insufficient funds
	Card3DS       = "4000000000003220" // asks for a one-time code first
	CardDelayed   = "4000000000000077" // succeeds, notified after NotifyDelay (never if 0)
	CardDuplicate = "4000000000000119" // succeeds, the notification is sent twice
)

// Reasons of declined payments.
const (
	ReasonInsufficientFunds = "insufficient_funds"
	ReasonCancelled         = "cancelled"
	ReasonAuthFailed        = "authentication_failed"
)

// codeTries is how many wrong confirmation codes a payment survives.
const codeTries = 3

// maxAPIBody bounds the JSON bodies the API accepts; maxFormBody the
// payment page's forms.
const (
	maxAPIBody  = 16 << 10
	maxFormBody = 8 << 10
)

// Config configures the sandbox acquirer.
type Config struct {
	// Prefix is the path the handler is mounted under, e.g.
	// "/sandbox/acquirer" ("" for the root); the API is {Prefix}/v1/…,
	// the payment page {Prefix}/pay/{id}.
	Prefix string
	// PublicURL is the origin (scheme, host, port) at which the browser
	// reaches this handler; confirmation URLs are PublicURL + Prefix +
	// "/pay/{id}".
	PublicURL string
	// MerchantID and APIKey are the one merchant's credentials.
	MerchantID, APIKey string
	// NotifySecret signs the notifications.
	NotifySecret []byte
	// Now is the clock (time.Now if nil): notification timestamps,
	// capture times, card expiry.
	Now func() time.Time
	// HTTPClient posts the notifications (a client with a 10 s timeout if
	// nil).
	HTTPClient *http.Client
	Logger     *slog.Logger
	// NotifyDelay is how long CardDelayed's notification waits; zero means
	// it is never sent, so the portal only learns of the payment by
	// polling.
	NotifyDelay time.Duration
	// RetryDelay is the pause before the second attempt at a notification,
	// doubling after each failure (1 s if zero); Attempts is how many
	// attempts are made in all (5 if zero).
	RetryDelay time.Duration
	Attempts   int
}

// Handler is the sandbox acquirer: the JSON API, the payment pages and the
// notifier. Its state lives in memory (see the package documentation).
type Handler struct {
	cfg   Config
	now   func() time.Time
	log   *slog.Logger
	http  *http.Client
	mux   http.Handler
	pages *pages

	mu       sync.Mutex
	payments map[string]*payment // by the acquirer's id
	byKey    map[string]string   // payment Idempotence-Key → id
	refunds  map[string]*refund  // by Idempotence-Key

	// inflight counts notification goroutines; idle is signalled when it
	// drops to zero. (A sync.WaitGroup would forbid a payment starting one
	// while Flush waits.)
	nmu      sync.Mutex
	inflight int
	idle     *sync.Cond
	ctx      context.Context // cancelled by Close: stops waiting notifications
	cancel   context.CancelFunc
}

type payment struct {
	acquirer.Payment
	req       acquirer.WireCreatePayment // as created, for idempotence
	confirm   bool                       // waiting for the one-time code
	code      string
	tries     int
	refunded  int64
	createdAt time.Time
}

type refund struct {
	acquirer.Refund
	req acquirer.WireCreateRefund
}

// New checks cfg and builds the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Prefix != "" && (!strings.HasPrefix(cfg.Prefix, "/") || strings.HasSuffix(cfg.Prefix, "/") || strings.ContainsAny(cfg.Prefix, "{}")) {
		return nil, errors.New("sandbox acquirer: prefix must start and not end with '/'")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, errors.New("sandbox acquirer: public URL must be an origin like http://localhost:8081")
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.MerchantID == "" || cfg.APIKey == "" || len(cfg.NotifySecret) == 0 {
		return nil, errors.New("sandbox acquirer: merchant id, API key and notification secret are required")
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 5
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = time.Second
	}
	h := &Handler{cfg: cfg, now: cfg.Now, log: cfg.Logger, http: cfg.HTTPClient,
		payments: map[string]*payment{}, byKey: map[string]string{}, refunds: map[string]*refund{}}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.http == nil {
		h.http = &http.Client{Timeout: 10 * time.Second}
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.idle = sync.NewCond(&h.nmu)
	if h.pages, err = parsePages(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, err
	}
	p := cfg.Prefix
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+p+"/v1/payments", h.createPayment)
	mux.HandleFunc("GET "+p+"/v1/payments/{id}", h.getPayment)
	mux.HandleFunc("POST "+p+"/v1/refunds", h.createRefund)
	mux.HandleFunc("GET "+p+"/pay/{id}", h.showPay)
	mux.HandleFunc("POST "+p+"/pay/{id}", h.submitPay)
	mux.HandleFunc("GET "+p+"/pay/{id}/confirm", h.showConfirm)
	mux.HandleFunc("POST "+p+"/pay/{id}/confirm", h.submitConfirm)
	mux.HandleFunc("POST "+p+"/pay/{id}/cancel", h.cancelPay)
	mux.Handle("GET "+p+"/static/", http.StripPrefix(p+"/static/", staticFiles(static)))
	// The API's clients are servers, which send neither Origin nor
	// Sec-Fetch-Site, so they pass; a browser's cross-site post to the
	// payment forms does not.
	h.mux = webui.Protect(mux)
	return h, nil
}

func staticFiles(f fs.FS) http.Handler {
	fsrv := http.FileServerFS(f)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the API and the pages.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Payment returns a payment as the API would (for tests).
func (h *Handler) Payment(id string) (acquirer.Payment, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.payments[id]
	if !ok {
		return acquirer.Payment{}, false
	}
	return p.Payment, true
}

// Flush waits until every notification started so far has been delivered
// or given up (including CardDelayed's, which waits NotifyDelay first).
func (h *Handler) Flush() {
	h.nmu.Lock()
	defer h.nmu.Unlock()
	for h.inflight > 0 {
		h.idle.Wait()
	}
}

// Close abandons the notifications still waiting (a delay or a retry) and
// waits for those being sent.
func (h *Handler) Close() {
	h.cancel()
	h.Flush()
}

func newID(prefix string) string { return prefix + strings.ToLower(rand.Text()) }

// authorized checks HTTP Basic credentials in constant time: both parts are
// hashed first so that neither the comparison nor its length tells how
// much of a guess was right.
func (h *Handler) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	uh, ph := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	wu, wp := sha256.Sum256([]byte(h.cfg.MerchantID)), sha256.Sum256([]byte(h.cfg.APIKey))
	return subtle.ConstantTimeCompare(uh[:], wu[:])&subtle.ConstantTimeCompare(ph[:], wp[:]) == 1
}

func (h *Handler) payURL(id string) string {
	return h.cfg.PublicURL + h.cfg.Prefix + "/pay/" + url.PathEscape(id)
}

// finish settles a pending payment (the caller holds mu) and returns the
// notification to send.
func (h *Handler) finish(p *payment, status acquirer.Status, reason string) acquirer.Notification {
	p.Status, p.Reason, p.confirm = status, reason, false
	event := acquirer.EventPaymentDeclined
	if status == acquirer.Succeeded {
		p.CapturedAt = h.now().UTC().Truncate(time.Microsecond)
		event = acquirer.EventPaymentSucceeded
	}
	pp := p.Payment
	return acquirer.Notification{ID: newID("ntf_"), Event: event, Payment: &pp}
}

// send delivers n to notifyURL copies times (one after the other, the
// same notification id each time), after delay.
func (h *Handler) send(notifyURL string, n acquirer.Notification, delay time.Duration, copies int) {
	h.nmu.Lock()
	defer h.nmu.Unlock()
	if h.ctx.Err() != nil {
		return // closed: shutting down
	}
	h.inflight++
	go func() {
		defer func() {
			h.nmu.Lock()
			if h.inflight--; h.inflight == 0 {
				h.idle.Broadcast()
			}
			h.nmu.Unlock()
		}()
		if delay > 0 && !h.sleep(delay) {
			return
		}
		for range copies {
			h.deliver(notifyURL, n)
		}
	}()
}

func (h *Handler) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-h.ctx.Done():
		return false
	}
}

// deliver posts n until the receiver answers 2xx or the attempts run out.
// Each attempt is signed afresh, so a retry is inside the receiver's
// window however late it comes.
func (h *Handler) deliver(notifyURL string, n acquirer.Notification) {
	body, err := acquirer.MarshalNotification(n)
	if err != nil {
		h.log.Error("sandbox acquirer: encode notification", "err", err)
		return
	}
	log := h.log.With("notification", n.ID, "event", n.Event)
	pause := h.cfg.RetryDelay
	for attempt := 1; ; attempt++ {
		err := h.post(notifyURL, body)
		if err == nil {
			log.Debug("sandbox acquirer: notification delivered", "attempt", attempt)
			return
		}
		if attempt >= h.cfg.Attempts {
			log.Warn("sandbox acquirer: notification given up", "attempts", attempt, "err", err)
			return
		}
		log.Info("sandbox acquirer: notification failed, will retry", "attempt", attempt, "err", err)
		if !h.sleep(pause) {
			return
		}
		pause *= 2
	}
}

func (h *Handler) post(notifyURL string, body []byte) error {
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, notifyURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(acquirer.SignatureHeader, acquirer.Sign(h.cfg.NotifySecret, h.now(), body))
	resp, err := h.http.Do(req)
	if err != nil {
		return errors.New("receiver unreachable")
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered HTTP %d", resp.StatusCode)
	}
	return nil
}
