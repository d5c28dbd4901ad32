package portal

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/portal/payments"
)

// The agency API's charges (docs/agency-api.yaml): PUT posts or changes a
// charge under its УИН, GET shows it with its payments, cancel withdraws
// an unpaid one, refunds return money of a paid one. Amounts are integer
// kopecks; dates are Moscow calendar dates without time or zone.

type apiChargeInput struct {
	Kind       string          `json:"kind"`
	Purpose    string          `json:"purpose"`
	LegalBasis string          `json:"legal_basis"`
	Amount     json.RawMessage `json:"amount"`
	Discount   *struct {
		Amount json.RawMessage `json:"amount"`
		Until  string          `json:"until"`
	} `json:"discount"`
	IssuedOn  string          `json:"issued_on"`
	DueOn     string          `json:"due_on"`
	Payee     payments.Payee  `json:"payee"`
	Concerns  []apiIdentifier `json:"concerns"`
	PayerName string          `json:"payer_name"`
	Version   int64           `json:"version"`
}

type apiIdentifier struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

type apiDiscount struct {
	Amount int64  `json:"amount"`
	Until  string `json:"until"`
}

type apiPayment struct {
	ID            string     `json:"id"`
	Status        string     `json:"status"`
	Amount        int64      `json:"amount"`
	Discounted    bool       `json:"discounted,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	CapturedAt    *time.Time `json:"captured_at,omitempty"`
	TransactionID string     `json:"transaction_id,omitempty"`
	Refunded      int64      `json:"refunded,omitempty"`
}

type apiCharge struct {
	UIN        string         `json:"uin"`
	Agency     string         `json:"agency"`
	Kind       string         `json:"kind"`
	Purpose    string         `json:"purpose"`
	LegalBasis string         `json:"legal_basis,omitempty"`
	Amount     int64          `json:"amount"`
	Discount   *apiDiscount   `json:"discount,omitempty"`
	IssuedOn   string         `json:"issued_on"`
	DueOn      string         `json:"due_on,omitempty"`
	Payee      payments.Payee `json:"payee"`
	Status     string         `json:"status"`
	Version    int64          `json:"version"`
	PaidAt     *time.Time     `json:"paid_at,omitempty"`
	Payments   []apiPayment   `json:"payments"`
}

func (h *Handler) apiChargeOf(r *http.Request, c *payments.Charge) (apiCharge, error) {
	out := apiCharge{UIN: c.UIN, Agency: c.Agency, Kind: string(c.Kind), Purpose: c.Purpose, LegalBasis: c.LegalBasis, Amount: c.Amount,
		IssuedOn: c.IssuedOn.String(), Payee: c.Payee, Status: string(c.Status), Version: c.Version, Payments: []apiPayment{}}
	if !c.DueOn.IsZero() {
		out.DueOn = c.DueOn.String()
	}
	if c.DiscountAmount > 0 {
		out.Discount = &apiDiscount{Amount: c.DiscountAmount, Until: c.DiscountUntil.String()}
	}
	if !c.PaidAt.IsZero() {
		t := c.PaidAt.UTC()
		out.PaidAt = &t
	}
	ps, err := h.pays.PaymentsOf(r.Context(), c.UIN)
	if err != nil {
		return out, err
	}
	for _, p := range ps {
		if p.Status == payments.New || p.Status == payments.Expired {
			continue // never reached the acquirer: nothing happened with money
		}
		ap := apiPayment{ID: p.ID, Status: string(p.Status), Amount: p.Amount, Discounted: p.Discounted, CreatedAt: p.CreatedAt.UTC(),
			TransactionID: p.AcquirerID, Refunded: p.Refunded}
		if !p.CapturedAt.IsZero() {
			t := p.CapturedAt.UTC()
			ap.CapturedAt = &t
		}
		out.Payments = append(out.Payments, ap)
	}
	return out, nil
}

// amountProblem names what is wrong with an amount.
func amountProblem(name string, err error) httpx.FieldProblem {
	p := httpx.FieldProblem{Name: name, Detail: "сумма в копейках — целое число от 1 до 10^13", DetailEN: "an amount in kopecks: an integer from 1 to 10^13"}
	switch {
	case errors.Is(err, payments.ErrAmountFraction):
		p.Detail, p.DetailEN = "сумма в копейках — целое число, без дробной части", "an amount in kopecks is an integer, no fraction"
	case errors.Is(err, payments.ErrAmountNegative):
		p.Detail, p.DetailEN = "сумма должна быть больше нуля", "the amount must be above zero"
	case errors.Is(err, payments.ErrAmountTooLarge):
		p.Detail, p.DetailEN = "сумма больше допустимой (10^13 копеек)", "the amount is above the limit (10^13 kopecks)"
	}
	return p
}

// apiDate reads a Moscow calendar date; a time or a zone is refused by
// name rather than silently cut (a date-time in UTC is a day off in Moscow
// for three hours of every day).
func apiDate(name, raw string, required bool) (payments.Date, *httpx.FieldProblem) {
	if raw == "" && !required {
		return payments.Date{}, nil
	}
	d, ok := payments.ParseDate(raw)
	if ok && len(raw) == len("2006-01-02") {
		return d, nil
	}
	p := &httpx.FieldProblem{Name: name, Detail: "дата ГГГГ-ММ-ДД по московскому календарю", DetailEN: "a YYYY-MM-DD date of the Moscow calendar"}
	if strings.ContainsAny(raw, "T ") || strings.HasSuffix(raw, "Z") {
		p.Detail += ", без времени и часового пояса"
		p.DetailEN += ", without time or time zone"
	}
	return payments.Date{}, p
}

func (h *Handler) apiPutCharge(w http.ResponseWriter, r *http.Request, c agencyCall) {
	uin := r.PathValue("uin")
	agency, ok := h.callAgencyOf(w, r, c)
	if !ok {
		return
	}
	var fields []httpx.FieldProblem
	if !payments.ValidUIN(uin) {
		fields = append(fields, httpx.FieldProblem{Name: "uin", Detail: "УИН — 20 или 25 цифр с верным контрольным разрядом",
			DetailEN: "a UIN is 20 or 25 digits with a correct control digit"})
	}
	var in apiChargeInput
	if !h.decodeJSON(w, r, 64<<10, &in) {
		return
	}
	ch := payments.Charge{UIN: uin, Kind: payments.Kind(in.Kind), Purpose: in.Purpose, LegalBasis: in.LegalBasis, Payee: in.Payee, PayerName: in.PayerName}
	if a, err := payments.AmountFromJSON(in.Amount); err != nil {
		fields = append(fields, amountProblem("amount", err))
	} else {
		ch.Amount = a
	}
	if in.Discount != nil {
		if a, err := payments.AmountFromJSON(in.Discount.Amount); err != nil {
			fields = append(fields, amountProblem("discount.amount", err))
		} else {
			ch.DiscountAmount = a
		}
		d, p := apiDate("discount.until", in.Discount.Until, true)
		if p != nil {
			fields = append(fields, *p)
		}
		ch.DiscountUntil = d
	}
	var p *httpx.FieldProblem
	if ch.IssuedOn, p = apiDate("issued_on", in.IssuedOn, true); p != nil {
		fields = append(fields, *p)
	}
	if ch.DueOn, p = apiDate("due_on", in.DueOn, false); p != nil {
		fields = append(fields, *p)
	}
	for _, id := range in.Concerns {
		ch.Concerns = append(ch.Concerns, payments.Identifier{Kind: payments.IDKind(id.Kind), Value: id.Value})
	}
	if len(fields) == 0 {
		var ve *payments.ValidationError
		if err := ch.Validate(); errors.As(err, &ve) {
			fields = chargeProblems(ve)
		}
	}
	if len(fields) > 0 {
		h.validationProblem(w, fields)
		return
	}
	saved, created, err := h.pays.PostCharge(r.Context(), agency, ch, payments.PostOptions{ExpectVersion: in.Version})
	if !h.chargeFail(w, r, err) {
		return
	}
	out, err := h.apiChargeOf(r, saved)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpx.WriteJSON(w, status, out)
}

// chargeFail answers a store's refusal; it reports whether err was nil.
func (h *Handler) chargeFail(w http.ResponseWriter, r *http.Request, err error) bool {
	var ve *payments.ValidationError
	switch {
	case err == nil:
		return true
	case errors.As(err, &ve):
		h.validationProblem(w, chargeProblems(ve))
	case errors.Is(err, payments.ErrNotFound):
		h.agencyProblem(w, "not_found", http.StatusNotFound, "no such charge of the agency")
	case errors.Is(err, payments.ErrPaid):
		h.agencyProblem(w, "conflict", http.StatusConflict, "the charge is paid: it cannot be changed or cancelled (refund it instead)")
	case errors.Is(err, payments.ErrCancelled):
		h.agencyProblem(w, "conflict", http.StatusConflict, "the charge is cancelled")
	case errors.Is(err, payments.ErrConflict):
		h.agencyProblem(w, "conflict", http.StatusConflict, "the charge changed meanwhile, or a payment of it is in progress: read it and try again")
	case errors.Is(err, payments.ErrRefund):
		h.agencyProblem(w, "conflict", http.StatusConflict, "the refund exceeds what was paid and not yet returned")
	case errors.Is(err, payments.ErrAmountNegative), errors.Is(err, payments.ErrAmountTooLarge), errors.Is(err, payments.ErrAmountFraction):
		h.validationProblem(w, []httpx.FieldProblem{amountProblem("amount", err)})
	case errors.Is(err, payments.ErrUnavailable):
		h.agencyProblem(w, "temporarily_unavailable", http.StatusServiceUnavailable, "the acquirer did not answer; retry with the same refund_id")
	default:
		h.apiFail(w, r, err)
	}
	return false
}

// chargeProblems are a charge's field errors as the API names them.
func chargeProblems(ve *payments.ValidationError) []httpx.FieldProblem {
	out := make([]httpx.FieldProblem, 0, len(ve.Fields))
	for _, f := range ve.Fields {
		out = append(out, httpx.FieldProblem{Name: f.Field, Detail: f.RU, DetailEN: f.EN})
	}
	return out
}

// agencyChargeCall reads a changing call's УИН and agency, answering the
// problem when either is wrong.
func (h *Handler) agencyChargeCall(w http.ResponseWriter, r *http.Request, c agencyCall) (uin, agency string, ok bool) {
	if uin, ok = h.agencyUIN(w, r); ok {
		agency, ok = h.callAgencyOf(w, r, c)
	}
	return uin, agency, ok
}

// agencyUIN reads the path's УИН: a malformed one is 422 naming it.
func (h *Handler) agencyUIN(w http.ResponseWriter, r *http.Request) (string, bool) {
	uin := r.PathValue("uin")
	if !payments.ValidUIN(uin) {
		h.validationProblem(w, []httpx.FieldProblem{{Name: "uin", Detail: "УИН — 20 или 25 цифр с верным контрольным разрядом",
			DetailEN: "a UIN is 20 or 25 digits with a correct control digit"}})
		return "", false
	}
	return uin, true
}

func (h *Handler) apiGetCharge(w http.ResponseWriter, r *http.Request, c agencyCall) {
	uin, ok := h.agencyUIN(w, r)
	if !ok {
		return
	}
	for _, a := range c.agencies {
		ch, err := h.pays.AgencyCharge(r.Context(), a, uin)
		if errors.Is(err, payments.ErrNotFound) {
			continue
		}
		if !h.chargeFail(w, r, err) {
			return
		}
		out, err := h.apiChargeOf(r, ch)
		if err != nil {
			h.apiFail(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, out)
		return
	}
	h.agencyProblem(w, "not_found", http.StatusNotFound, "no such charge of the agency")
}

func (h *Handler) apiCancelCharge(w http.ResponseWriter, r *http.Request, c agencyCall) {
	uin, agency, ok := h.agencyChargeCall(w, r, c)
	if !ok {
		return
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if !h.decodeJSON(w, r, 8<<10, &in) {
		return
	}
	if strings.TrimSpace(in.Reason) == "" || len(in.Reason) > 500 {
		h.validationProblem(w, []httpx.FieldProblem{{Name: "reason", Detail: "от 1 до 500 знаков — её увидят граждане", DetailEN: "1 to 500 characters; citizens see it"}})
		return
	}
	if !h.chargeFail(w, r, h.pays.CancelCharge(r.Context(), agency, uin, in.Reason)) {
		return
	}
	ch, err := h.pays.AgencyCharge(r.Context(), agency, uin)
	if !h.chargeFail(w, r, err) {
		return
	}
	out, err := h.apiChargeOf(r, ch)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) apiRefund(w http.ResponseWriter, r *http.Request, c agencyCall) {
	uin, agency, ok := h.agencyChargeCall(w, r, c)
	if !ok {
		return
	}
	var in struct {
		RefundID string          `json:"refund_id"`
		Amount   json.RawMessage `json:"amount"`
	}
	if !h.decodeJSON(w, r, 8<<10, &in) {
		return
	}
	amount, err := payments.AmountFromJSON(in.Amount)
	if err != nil {
		h.validationProblem(w, []httpx.FieldProblem{amountProblem("amount", err)})
		return
	}
	if h.cfg.Acquirer == nil {
		h.agencyProblem(w, "temporarily_unavailable", http.StatusServiceUnavailable, "no acquirer is configured")
		return
	}
	rec, err := h.pays.Refund(r.Context(), agency, uin, in.RefundID, amount, h.cfg.Acquirer)
	if !h.chargeFail(w, r, err) {
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"refund_id": rec.ID, "payment_id": rec.PaymentID, "amount": rec.Amount, "status": string(rec.Status)})
}
