package sandbox

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/gosid/gosid/portal/payments/acquirer"
)

// The JSON API. Error answers are {code, message}: 400 bad_request, 401
// unauthorized, 404 not_found, 409 idempotence_conflict (a key reused
// with another body), 422 refund_exceeds / payment_not_succeeded.

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"code":"internal","message":"encoding"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, acquirer.WireError{Code: code, Message: msg})
}

// readJSON decodes a request body strictly: unknown fields are refused
// here (the sandbox is the place where a client's mistakes should show),
// though the portal's side of the protocol tolerates them in answers.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", "the body is not the expected JSON")
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		apiError(w, http.StatusBadRequest, "bad_request", "trailing data after the JSON body")
		return false
	}
	return true
}

func (h *Handler) apiAuth(w http.ResponseWriter, r *http.Request) bool {
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="sandbox acquirer"`)
		apiError(w, http.StatusUnauthorized, "unauthorized", "wrong merchant id or API key")
		return false
	}
	return true
}

func idemKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	k := r.Header.Get("Idempotence-Key")
	if k == "" || len(k) > 128 {
		apiError(w, http.StatusBadRequest, "bad_request", "Idempotence-Key header is required (at most 128 characters)")
		return "", false
	}
	return k, true
}

func absHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

func (h *Handler) createPayment(w http.ResponseWriter, r *http.Request) {
	if !h.apiAuth(w, r) {
		return
	}
	key, ok := idemKey(w, r)
	if !ok {
		return
	}
	var req acquirer.WireCreatePayment
	if !readJSON(w, r, &req) {
		return
	}
	switch {
	case req.OrderID == "" || len(req.OrderID) > 64:
		apiError(w, http.StatusBadRequest, "bad_request", "order_id is required (at most 64 characters)")
		return
	case req.Amount <= 0 || req.Amount > 1_000_000_000_00:
		apiError(w, http.StatusBadRequest, "bad_request", "amount must be a positive number of kopecks")
		return
	case req.Currency != acquirer.Currency:
		apiError(w, http.StatusBadRequest, "unsupported_currency", "only RUB is accepted")
		return
	case utf8.RuneCountInString(req.Description) > 128 || !utf8.ValidString(req.Description):
		apiError(w, http.StatusBadRequest, "bad_request", "description is at most 128 characters")
		return
	case !absHTTP(req.ReturnURL) || !absHTTP(req.NotifyURL):
		apiError(w, http.StatusBadRequest, "bad_request", "return_url and notify_url must be absolute http(s) URLs")
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	status := http.StatusOK
	var p *payment
	if id, ok := h.byKey[key]; ok {
		p = h.payments[id]
		if p.req != req {
			apiError(w, http.StatusConflict, "idempotence_conflict", "this Idempotence-Key was used with another request")
			return
		}
	} else {
		p = &payment{req: req, createdAt: h.now(), Payment: acquirer.Payment{ID: newID("pay_"), OrderID: req.OrderID,
			Status: acquirer.Pending, Amount: int64(req.Amount), Currency: req.Currency}}
		h.payments[p.ID] = p
		h.byKey[key] = p.ID
		status = http.StatusCreated
	}
	writeJSON(w, status, acquirer.WireCreated{ID: p.ID, OrderID: p.OrderID, Status: p.Status,
		Amount: acquirer.Kopecks(p.Amount), Currency: p.Currency, ConfirmationURL: h.payURL(p.ID)})
}

func (h *Handler) getPayment(w http.ResponseWriter, r *http.Request) {
	if !h.apiAuth(w, r) {
		return
	}
	p, ok := h.Payment(r.PathValue("id"))
	if !ok {
		apiError(w, http.StatusNotFound, "not_found", "no such payment")
		return
	}
	writeJSON(w, http.StatusOK, acquirer.WirePaymentOf(p))
}

func (h *Handler) createRefund(w http.ResponseWriter, r *http.Request) {
	if !h.apiAuth(w, r) {
		return
	}
	key, ok := idemKey(w, r)
	if !ok {
		return
	}
	var req acquirer.WireCreateRefund
	if !readJSON(w, r, &req) {
		return
	}
	if req.RefundID == "" || len(req.RefundID) > 64 || req.Amount <= 0 {
		apiError(w, http.StatusBadRequest, "bad_request", "refund_id and a positive amount are required")
		return
	}
	h.mu.Lock()
	if rf, ok := h.refunds[key]; ok {
		h.mu.Unlock()
		if rf.req != req {
			apiError(w, http.StatusConflict, "idempotence_conflict", "this Idempotence-Key was used with another request")
			return
		}
		writeJSON(w, http.StatusOK, acquirer.WireRefundOf(rf.Refund))
		return
	}
	p, ok := h.payments[req.PaymentID]
	switch {
	case !ok:
		h.mu.Unlock()
		apiError(w, http.StatusNotFound, "not_found", "no such payment")
		return
	case p.Status != acquirer.Succeeded:
		h.mu.Unlock()
		apiError(w, http.StatusUnprocessableEntity, "payment_not_succeeded", "only a succeeded payment can be refunded")
		return
	case int64(req.Amount) > p.Amount-p.refunded:
		h.mu.Unlock()
		apiError(w, http.StatusUnprocessableEntity, "refund_exceeds", "the refund exceeds what is left of the payment")
		return
	}
	p.refunded += int64(req.Amount)
	rf := &refund{req: req, Refund: acquirer.Refund{ID: newID("rfn_"), RefundID: req.RefundID, PaymentID: p.ID,
		Amount: int64(req.Amount), Status: acquirer.Succeeded}}
	h.refunds[key] = rf
	notifyURL := p.req.NotifyURL
	h.mu.Unlock()
	out := rf.Refund
	h.send(notifyURL, acquirer.Notification{ID: newID("ntf_"), Event: acquirer.EventRefundSucceeded, Refund: &out}, 0, 1)
	writeJSON(w, http.StatusOK, acquirer.WireRefundOf(rf.Refund))
}
