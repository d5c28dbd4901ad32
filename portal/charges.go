package portal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/appointments"
	"github.com/gosid/gosid/portal/auth"
	"github.com/gosid/gosid/portal/payments"
	"github.com/gosid/gosid/portal/payments/acquirer"
	"github.com/gosid/gosid/portal/payments/sandbox"
	"github.com/gosid/gosid/portal/receipts"
)

// Charges and payments, the citizen's side: «Мои начисления» (by the
// verified SNILS and INN of the sign-in and the driving licences and СТС
// of «Мои документы»), a charge's details, «Оплатить» through the acquirer
// (portal/payments: one payment per charge, captures exactly once), the
// acquirer's signed notifications, receipts (PDF, e-mailed) and the
// payment history with its CSV export.

// notifyPath is where the acquirer posts its notifications: no cookie, no
// cross-origin check — the HMAC over the raw body authenticates them.
const notifyPath = "/payments/notify"

func (h *Handler) mountCharges(mux *http.ServeMux) {
	h.pays = payments.NewStore(h.db, h.cfg.Sealer, h.cfg.IndexKey, h.cfg.Acquirer, h.now)
	h.pays.OnChargeChange = h.chargeChanged
	signedIn := func(f http.HandlerFunc) http.HandlerFunc { return h.require(auth.Need{}, f) }
	mux.HandleFunc("GET /charges", signedIn(h.showCharges))
	mux.HandleFunc("GET /charges/{uin}", signedIn(h.showCharge))
	mux.HandleFunc("POST /charges/{uin}/pay", signedIn(h.pay))
	mux.HandleFunc("GET /payments", signedIn(h.showPayments))
	mux.HandleFunc("GET /payments/export.csv", signedIn(h.exportPayments))
	mux.HandleFunc("GET /payments/{id}", signedIn(h.showPayment))
	mux.HandleFunc("GET /payments/{id}/receipt.pdf", signedIn(h.receiptPDF))
	mux.HandleFunc("POST "+notifyPath, h.acquirerNotification)
	mux.HandleFunc("GET /documents", signedIn(h.showDocuments))
	mux.HandleFunc("POST /documents", signedIn(h.addDocument))
	mux.HandleFunc("POST /documents/{id}/delete", signedIn(h.removeDocument))
	mux.HandleFunc("PUT /agency/v1/charges/{uin}", h.agencyAPI(h.apiPutCharge))
	mux.HandleFunc("GET /agency/v1/charges/{uin}", h.agencyAPI(h.apiGetCharge))
	mux.HandleFunc("POST /agency/v1/charges/{uin}/cancel", h.agencyAPI(h.apiCancelCharge))
	mux.HandleFunc("POST /agency/v1/charges/{uin}/refunds", h.agencyAPI(h.apiRefund))
}

// reconcile is the periodic job that asks the acquirer about payments left
// pending (a notification lost or delayed) and applies its answers.
func (h *Handler) registerReconcile(q *jobs.Queue) error {
	if h.cfg.Acquirer == nil {
		return nil
	}
	return q.AddPeriodic(jobs.Periodic{Name: "portal.reconcile", Every: time.Minute, Run: func(ctx context.Context) (int, error) {
		return h.pays.Reconcile(ctx, 2*time.Minute, 200)
	}})
}

// discountDays is how many days before a fine's discount ends its
// holders are reminded.
const discountDays = 2

// registerDiscounts reminds, hourly, the holders of unpaid charges whose
// discount ends in discountDays days — once each (the notice, once
// written, is not written again).
func (h *Handler) registerDiscounts(q *jobs.Queue) error {
	return q.AddPeriodic(jobs.Periodic{Name: "portal.discounts", Every: time.Hour, Run: h.RemindDiscounts})
}

// RemindDiscounts is the hourly run of the discounts' reminder.
func (h *Handler) RemindDiscounts(ctx context.Context) (int, error) {
	day := payments.MoscowDate(h.now().AddDate(0, 0, discountDays))
	ending, err := h.pays.DiscountEnding(ctx, day)
	if err != nil {
		return 0, err
	}
	sent := 0
	for uin, hashes := range ending {
		err := h.db.InTx(ctx, func(tx *sqldb.Tx) error {
			c, err := h.pays.ChargeTx(ctx, tx, uin)
			if err != nil {
				return err
			}
			subjects, err := h.pays.DocumentHoldersTx(ctx, tx, hashes)
			if err != nil {
				return err
			}
			for _, s := range subjects {
				var told int
				if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM portal_notices WHERE subject = $1 AND kind = $2 AND ref = $3 AND status = 'discount'`,
					s, noticeCharge, uin).Scan(&told); err != nil || told > 0 {
					if err != nil {
						return err
					}
					continue
				}
				if err := h.addNotice(ctx, tx, notice{Subject: s, Kind: noticeCharge, Ref: uin, Status: "discount",
					Params: map[string]string{"purpose": c.Purpose, "uin": uin, "amount": payments.FormatRubles(c.DiscountAmount),
						"until": c.DiscountUntil.Russian()}}); err != nil {
					return err
				}
				sent++
			}
			return nil
		})
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// citizenIDs are what the citizen's charges are found by: the SNILS and
// INN the identity provider vouches for (a typed one is a claim, and would
// show a stranger's fines) and the documents they added.
func (h *Handler) citizenIDs(ctx context.Context, sess *auth.Session) ([]payments.Identifier, error) {
	ids, err := h.pays.Identifiers(ctx, sess.Subject)
	if err != nil {
		return nil, err
	}
	return append(ids, verifiedIDs(sess.Profile)...), nil
}

// verifiedIDs are the SNILS and INN of a profile that the identity
// provider vouches for.
func verifiedIDs(p auth.Profile) []payments.Identifier {
	var ids []payments.Identifier
	if p.SNILS != "" && p.IsVerified("snils") {
		ids = append(ids, payments.Identifier{Kind: payments.SNILS, Value: p.SNILS})
	}
	if p.INN != "" && p.IsVerified("inn") {
		ids = append(ids, payments.Identifier{Kind: payments.INN, Value: p.INN})
	}
	return ids
}

// chargeItem is a charge as the list and its page show it.
type chargeItem struct {
	UIN, Purpose, Kind, Amount, Due, DiscountUntil, Issued, DueOn, Status, StatusKey string
	Discounted, Overdue                                                              bool
}

func textIn(l webui.Localizer, t payments.Text) string {
	if l.Lang == "en" {
		return t.EN
	}
	return t.RU
}

func (h *Handler) chargeItem(l webui.Localizer, c *payments.Charge) chargeItem {
	now := h.now()
	due, discounted := c.DueAmount(now)
	it := chargeItem{UIN: c.UIN, Purpose: c.Purpose, Kind: textIn(l, c.Kind.Label()), Amount: payments.FormatRubles(c.Amount),
		Due: payments.FormatRubles(due), Discounted: discounted, Overdue: c.Overdue(now), Issued: c.IssuedOn.Russian(),
		Status: textIn(l, c.Status.Label()), StatusKey: string(c.Status)}
	if !c.DueOn.IsZero() {
		it.DueOn = c.DueOn.Russian()
	}
	if discounted {
		it.DiscountUntil = c.DiscountUntil.Russian()
	}
	return it
}

type chargeFilterForm struct {
	UIN, From, To, Min, Max string
}

type chargesView struct {
	portalPage
	F                chargeFilterForm
	Kinds, Statuses  []option
	Items            []chargeItem
	Errs             map[string]string
	Filtered, HasIDs bool
}

func kindOptions(l webui.Localizer, selected string) []option {
	var out []option
	for _, k := range payments.Kinds() {
		out = append(out, option{Value: string(k), Label: textIn(l, k.Label()), Selected: string(k) == selected})
	}
	return out
}

func (h *Handler) showCharges(w http.ResponseWriter, r *http.Request) {
	ctx, q := r.Context(), r.URL.Query()
	v := chargesView{portalPage: h.page(r, "charges.title"), Errs: map[string]string{},
		F: chargeFilterForm{UIN: strings.TrimSpace(q.Get("uin")), From: q.Get("from"), To: q.Get("to"), Min: q.Get("min"), Max: q.Get("max")}}
	l := v.L
	var f payments.ChargeFilter
	if k := payments.Kind(q.Get("kind")); slices.Contains(payments.Kinds(), k) {
		f.Kind = k
	}
	v.Kinds = kindOptions(l, string(f.Kind))
	for _, st := range []payments.ChargeStatus{payments.Unpaid, payments.Paid, payments.Cancelled, payments.Refunded} {
		if string(st) == q.Get("status") {
			f.Status = st
		}
		v.Statuses = append(v.Statuses, option{Value: string(st), Label: textIn(l, st.Label()), Selected: string(st) == q.Get("status")})
	}
	if v.F.UIN != "" {
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, v.F.UIN)
		if len(digits) < 4 || len(digits) > 25 {
			v.Errs["uin"] = l.T("filter.bad_uin")
		}
		f.UIN = digits
	}
	for key, dst := range map[string]*payments.Date{"from": &f.From, "to": &f.To} {
		raw := q.Get(key)
		if raw == "" {
			continue
		}
		d, ok := payments.ParseDate(raw)
		if !ok {
			v.Errs[key] = l.T("filter.bad_date", raw)
		}
		*dst = d
	}
	for key, dst := range map[string]*int64{"min": &f.MinAmount, "max": &f.MaxAmount} {
		raw := q.Get(key)
		if raw == "" {
			continue
		}
		k, err := payments.ParseRubles(raw)
		if err != nil {
			v.Errs[key] = l.T("filter.bad_amount", raw)
		}
		*dst = k
	}
	v.Filtered = f != payments.ChargeFilter{}
	ids, err := h.citizenIDs(ctx, session(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.HasIDs = len(ids) > 0
	if len(v.Errs) > 0 {
		h.render.Render(w, r, http.StatusUnprocessableEntity, "charges", v)
		return
	}
	list, err := h.pays.ChargesFor(ctx, ids, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, c := range list {
		v.Items = append(v.Items, h.chargeItem(l, c))
	}
	h.render.Render(w, r, http.StatusOK, "charges", v)
}

// mineCharge loads a charge that concerns the signed-in citizen; any
// other (or none) is 404, so a УИН alone reveals nothing.
func (h *Handler) mineCharge(w http.ResponseWriter, r *http.Request) (*payments.Charge, bool) {
	ctx, uin := r.Context(), r.PathValue("uin")
	if payments.ValidUIN(uin) {
		ids, err := h.citizenIDs(ctx, session(r))
		if err != nil {
			h.fail(w, r, err)
			return nil, false
		}
		list, err := h.pays.ChargesFor(ctx, ids, payments.ChargeFilter{UIN: uin})
		if err != nil {
			h.fail(w, r, err)
			return nil, false
		}
		for _, c := range list {
			if c.UIN == uin {
				return c, true
			}
		}
	}
	h.render.ErrorPage(w, r, http.StatusNotFound)
	return nil, false
}

type paymentItem struct {
	ID, UIN, Purpose, At, Amount, Status, StatusKey, Card, Transaction string
	Receipt                                                            bool
}

func (h *Handler) paymentItem(l webui.Localizer, p *payments.Payment, purpose string) paymentItem {
	at := p.CreatedAt
	if !p.CapturedAt.IsZero() {
		at = p.CapturedAt
	}
	return paymentItem{ID: p.ID, UIN: p.UIN, Purpose: purpose, At: moscowTime(at) + " МСК", Amount: payments.FormatRubles(p.Amount),
		Status: textIn(l, p.Status.Label()), StatusKey: string(p.Status), Card: p.Card, Transaction: p.AcquirerID, Receipt: hasReceipt(p)}
}

// hasReceipt: money was taken (a refund later does not undo the receipt).
func hasReceipt(p *payments.Payment) bool {
	return !p.CapturedAt.IsZero()
}

type chargeView struct {
	portalPage
	C              chargeItem
	LegalBasis     string
	DiscountAmount string
	Payee          payments.Payee
	CanPay         bool
	Payments       []paymentItem
}

var chargeErrors = map[string]string{"paid": "charges.paid_already", "cancelled": "charges.not_payable", "down": "charges.acquirer_down",
	"declined": "payment.declined"}

func (h *Handler) showCharge(w http.ResponseWriter, r *http.Request) {
	c, ok := h.mineCharge(w, r)
	if !ok {
		return
	}
	v := chargeView{portalPage: h.page(r, "charges.details"), LegalBasis: c.LegalBasis, Payee: c.Payee, CanPay: c.Status == payments.Unpaid}
	v.C = h.chargeItem(v.L, c)
	v.Title = c.Purpose
	if c.DiscountAmount > 0 {
		v.DiscountAmount = payments.FormatRubles(c.DiscountAmount)
		v.C.DiscountUntil = c.DiscountUntil.Russian()
	}
	if key, ok := chargeErrors[r.URL.Query().Get("err")]; ok {
		v.Error = v.L.T(key)
	}
	ps, err := h.pays.PaymentsOf(r.Context(), c.UIN)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, p := range ps {
		// The citizen's own, that reached the acquirer (as the history).
		if p.Subject == session(r).Subject && p.Status != payments.New && p.Status != payments.Expired {
			v.Payments = append(v.Payments, h.paymentItem(v.L, p, c.Purpose))
		}
	}
	h.render.Render(w, r, http.StatusOK, "charge", v)
}

// pay starts (or resumes) the charge's payment and sends the browser to
// the acquirer's page (POST /charges/{uin}/pay).
func (h *Handler) pay(w http.ResponseWriter, r *http.Request) {
	c, ok := h.mineCharge(w, r)
	if !ok {
		return
	}
	back := "/charges/" + c.UIN + "?err="
	if h.cfg.Acquirer == nil {
		http.Redirect(w, r, back+"down", http.StatusSeeOther)
		return
	}
	p, err := h.pays.Pay(r.Context(), session(r).Subject, c.UIN, func(id string) (string, string) {
		return h.cfg.PortalURL + "/payments/" + id, h.cfg.PortalURL + notifyPath
	})
	switch {
	case errors.Is(err, payments.ErrPaid):
		http.Redirect(w, r, back+"paid", http.StatusSeeOther)
	case errors.Is(err, payments.ErrCancelled):
		http.Redirect(w, r, back+"cancelled", http.StatusSeeOther)
	case errors.Is(err, payments.ErrUnavailable):
		http.Redirect(w, r, back+"down", http.StatusSeeOther)
	case errors.Is(err, payments.ErrConflict):
		h.render.ErrorPage(w, r, http.StatusConflict)
	case err != nil:
		h.fail(w, r, err)
	case p.Status != payments.Pending || p.ConfirmationURL == "":
		http.Redirect(w, r, "/payments/"+p.ID, http.StatusSeeOther)
	default:
		http.Redirect(w, r, p.ConfirmationURL, http.StatusSeeOther)
	}
}

type paymentView struct {
	portalPage
	P      paymentItem
	Reason string
}

// showPayment is where the acquirer sends the citizen back: a payment
// still pending is asked about once (the notification may be on its way
// or lost), so the citizen sees the outcome at once.
func (h *Handler) showPayment(w http.ResponseWriter, r *http.Request) {
	ctx, sub := r.Context(), session(r).Subject
	p, err := h.pays.PaymentOf(ctx, sub, r.PathValue("id"))
	if err != nil {
		h.paymentsFail(w, r, err)
		return
	}
	if (p.Status == payments.Pending) && p.AcquirerID != "" && h.cfg.Acquirer != nil {
		if ap, err := h.cfg.Acquirer.Payment(ctx, p.AcquirerID); err == nil {
			if _, err := h.pays.Apply(ctx, ap); err != nil {
				h.log.WarnContext(ctx, "payment: applying the acquirer's answer", "payment", p.ID, "err", err)
			}
			if fresh, err := h.pays.PaymentOf(ctx, sub, p.ID); err == nil {
				p = fresh
			}
		}
	}
	purpose := ""
	if c, err := h.pays.Charge(ctx, p.UIN); err == nil {
		purpose = c.Purpose
	}
	v := paymentView{portalPage: h.page(r, "payment.title")}
	v.P = h.paymentItem(v.L, p, purpose)
	h.render.Render(w, r, http.StatusOK, "payment", v)
}

// acquirerNotification takes the acquirer's signed notification: verified
// over the raw body (HMAC, time window), then applied exactly once. A
// forged, replayed, unknown or mismatching one changes nothing and is
// refused (the acquirer retries only what it signed itself).
func (h *Handler) acquirerNotification(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := io.ReadAll(io.LimitReader(r.Body, acquirer.MaxNotificationBytes+1))
	if err != nil || len(body) > acquirer.MaxNotificationBytes {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	n, err := acquirer.ParseNotification(h.cfg.AcquirerSecret, r.Header.Get(acquirer.SignatureHeader), body, h.now())
	if err != nil {
		h.log.WarnContext(ctx, "acquirer notification refused", "err", err)
		status := http.StatusBadRequest
		if errors.Is(err, acquirer.ErrSignature) {
			status = http.StatusUnauthorized
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	var out payments.Outcome
	if n.Payment != nil {
		out, err = h.pays.Apply(ctx, *n.Payment)
	} else {
		out, err = h.pays.ApplyRefund(ctx, *n.Refund)
	}
	switch {
	case errors.Is(err, payments.ErrUnknownPayment), errors.Is(err, payments.ErrNotFound), errors.Is(err, payments.ErrMismatch):
		h.log.WarnContext(ctx, "acquirer notification does not match a payment", "notification", n.ID, "event", n.Event, "err", err)
		http.Error(w, "unknown or mismatching payment", http.StatusUnprocessableEntity)
	case err != nil:
		h.log.ErrorContext(ctx, "acquirer notification", "notification", n.ID, "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
	default:
		h.log.InfoContext(ctx, "acquirer notification", "notification", n.ID, "event", n.Event, "outcome", string(out))
		w.WriteHeader(http.StatusNoContent)
	}
}

// chargeChanged runs in the transaction of every charge change: the
// payer's notice when paid or refunded (with the receipt by e-mail), the
// holders' of a matching document when posted, changed or cancelled, and
// the agency's webhook of payments.
func (h *Handler) chargeChanged(ctx context.Context, tx *sqldb.Tx, c payments.ChargeChange) error {
	ch, err := h.pays.ChargeTx(ctx, tx, c.UIN)
	if err != nil {
		return err
	}
	params := map[string]string{"purpose": ch.Purpose, "uin": c.UIN, "amount": payments.FormatRubles(ch.Amount)}
	var subjects []string
	status := string(c.Event)
	switch c.Event {
	case payments.ChargePaid, payments.ChargeRefunded:
		p, err := h.pays.PaymentTx(ctx, tx, c.PaymentID)
		if err != nil {
			return err
		}
		subjects, params["amount"], params["payment"] = []string{p.Subject}, payments.FormatRubles(c.Amount), p.ID
		event := "charge.paid"
		if c.Event == payments.ChargeRefunded {
			event = "charge.refunded"
		}
		if err := h.webhookEvent(ctx, tx, c.Agency, event, map[string]any{"uin": c.UIN, "status": c.Status, "version": c.Version,
			"payment_id": c.PaymentID, "amount": c.Amount, "href": h.cfg.PortalURL + agencyPrefix + "/charges/" + c.UIN}); err != nil {
			return err
		}
	case payments.ChargePosted:
		status = "new"
		fallthrough
	default:
		subjects, err = h.pays.DocumentHoldersTx(ctx, tx, c.Hashes)
		if err != nil {
			return err
		}
	}
	for _, s := range subjects {
		if err := h.addNotice(ctx, tx, notice{Subject: s, Kind: noticeCharge, Ref: c.UIN, Status: status, Params: params}); err != nil {
			return err
		}
	}
	return nil
}

// receiptData is a captured payment's receipt.
func (h *Handler) receiptData(ctx context.Context, it *payments.HistoryItem, payer string) receipts.ReceiptData {
	d := receipts.ReceiptData{PaymentID: it.ID, Payer: payer, PayeeName: it.Payee.Name, PayeeINN: it.Payee.INN, PayeeKPP: it.Payee.KPP,
		BIK: it.Payee.BIK, BankName: it.Payee.BankName, TreasuryAccount: it.Payee.Account, KBK: it.Payee.KBK, OKTMO: it.Payee.OKTMO,
		UIN: it.UIN, Purpose: it.Purpose, Basis: it.LegalBasis, Amount: it.Amount, PaidAt: it.CapturedAt.In(moscow),
		TransactionID: it.AcquirerID, Card: it.Card, Acquirer: "Gosid Pay"}
	if d.BankName == "" {
		d.BankName = "Казначейство России"
	}
	if it.Discounted {
		if c, err := h.pays.Charge(ctx, it.UIN); err == nil && c.Amount > it.Amount {
			d.Original, d.DiscountNote = c.Amount, "Скидка по ч. 1.3 ст. 32.2 КоАП РФ при оплате до "+c.DiscountUntil.Russian()
		}
	}
	return d
}

// payerName is the name on a receipt: the verified name of the sign-in.
func payerName(p auth.Profile) string {
	return strings.Join(strings.Fields(p.FamilyName+" "+p.GivenName+" "+p.MiddleName), " ")
}

// historyItem is one of the citizen's payments with its charge: two reads
// by key, not the whole history.
func (h *Handler) historyItem(ctx context.Context, subject, id string) (*payments.HistoryItem, error) {
	p, err := h.pays.PaymentOf(ctx, subject, id)
	if err != nil {
		return nil, err
	}
	c, err := h.pays.Charge(ctx, p.UIN)
	if err != nil {
		return nil, err
	}
	return &payments.HistoryItem{Payment: *p, Kind: c.Kind, Agency: c.Agency, Purpose: c.Purpose, LegalBasis: c.LegalBasis, Payee: c.Payee}, nil
}

func (h *Handler) receiptPDF(w http.ResponseWriter, r *http.Request) {
	sess := session(r)
	it, err := h.historyItem(r.Context(), sess.Subject, r.PathValue("id"))
	if err == nil && !hasReceipt(&it.Payment) {
		err = payments.ErrNotFound
	}
	if err != nil {
		h.paymentsFail(w, r, err)
		return
	}
	pdf, err := receipts.Receipt(h.receiptData(r.Context(), it, payerName(sess.Profile)))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sendInline(w, "application/pdf", "kvitanciya-"+it.UIN+".pdf", pdf)
}

// receiptAttachment is the receipt e-mailed with the «paid» notice; the
// payer's name comes from the contacts the portal keeps.
func (h *Handler) receiptAttachment(ctx context.Context, subject, paymentID, payer string) (*message.Attachment, error) {
	it, err := h.historyItem(ctx, subject, paymentID)
	if err != nil {
		return nil, err
	}
	pdf, err := receipts.Receipt(h.receiptData(ctx, it, payer))
	if err != nil {
		return nil, err
	}
	return &message.Attachment{Name: "kvitanciya-" + it.UIN + ".pdf", ContentType: "application/pdf", Data: pdf}, nil
}

type historyForm struct {
	From, To string
}

type paymentsView struct {
	portalPage
	F               historyForm
	Kinds, Statuses []option
	Items           []paymentItem
	Errs            map[string]string
	Query           string
}

// historyFilter reads the history's filters: a period of Moscow days,
// kind and status; errs names what is wrong.
func historyFilter(l webui.Localizer, q url.Values) (payments.HistoryFilter, map[string]string) {
	var f payments.HistoryFilter
	errs := map[string]string{}
	if k := payments.Kind(q.Get("kind")); slices.Contains(payments.Kinds(), k) {
		f.Kind = k
	}
	if st := payments.PaymentStatus(q.Get("status")); slices.Contains(historyStatuses, st) {
		f.Status = st
	}
	if raw := q.Get("from"); raw != "" {
		if t, err := time.ParseInLocation(time.DateOnly, raw, moscow); err == nil {
			f.From = t
		} else {
			errs["from"] = l.T("filter.bad_date", raw)
		}
	}
	if raw := q.Get("to"); raw != "" {
		if t, err := time.ParseInLocation(time.DateOnly, raw, moscow); err == nil {
			f.To = t.AddDate(0, 0, 1)
		} else {
			errs["to"] = l.T("filter.bad_date", raw)
		}
	}
	return f, errs
}

var historyStatuses = []payments.PaymentStatus{payments.Pending, payments.Succeeded, payments.Declined, payments.PartiallyRefunded, payments.PaymentRefunded}

func (h *Handler) showPayments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := paymentsView{portalPage: h.page(r, "payments.title"), F: historyForm{From: q.Get("from"), To: q.Get("to")}}
	f, errs := historyFilter(v.L, q)
	v.Errs = errs
	v.Kinds = kindOptions(v.L, string(f.Kind))
	for _, st := range historyStatuses {
		v.Statuses = append(v.Statuses, option{Value: string(st), Label: textIn(v.L, st.Label()), Selected: st == f.Status})
	}
	v.Query = url.Values{"from": {q.Get("from")}, "to": {q.Get("to")}, "kind": {string(f.Kind)}, "status": {string(f.Status)}}.Encode()
	if len(errs) > 0 {
		h.render.Render(w, r, http.StatusUnprocessableEntity, "payments", v)
		return
	}
	list, err := h.pays.History(r.Context(), session(r).Subject, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for i := range list {
		v.Items = append(v.Items, h.paymentItem(v.L, &list[i].Payment, list[i].Purpose))
	}
	h.render.Render(w, r, http.StatusOK, "payments", v)
}

// exportPayments is the history as CSV for a Russian Excel (UTF-8 with
// BOM, «;», amounts «1 234,56»).
func (h *Handler) exportPayments(w http.ResponseWriter, r *http.Request) {
	l := h.render.LocalizerFor("ru")
	f, errs := historyFilter(l, r.URL.Query())
	if len(errs) > 0 {
		h.render.ErrorPage(w, r, http.StatusUnprocessableEntity)
		return
	}
	list, err := h.pays.History(r.Context(), session(r).Subject, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows := make([]receipts.PaymentRow, 0, len(list))
	for _, it := range list {
		at := it.CreatedAt
		if !it.CapturedAt.IsZero() {
			at = it.CapturedAt
		}
		rows = append(rows, receipts.PaymentRow{At: at.In(moscow), UIN: it.UIN, Kind: it.Kind.Label().RU, Purpose: it.Purpose, Payee: it.Payee.Name,
			Amount: it.Amount, Status: it.Status.Label().RU, OperationID: it.AcquirerID})
	}
	var b bytes.Buffer
	if err := receipts.PaymentsCSV(&b, rows); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="platezhi-`+h.now().In(moscow).Format("2006-01-02")+`.csv"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(b.Bytes())
}

type documentItem struct {
	ID, Kind, Masked string
}

type documentsView struct {
	portalPage
	Items  []documentItem
	Kinds  []option
	Number string
	Errs   map[string]string
}

// maskDocument shows a document's series and the last two digits only.
func maskDocument(v string) string {
	r := []rune(v)
	if len(r) <= 6 {
		return strings.Repeat("•", len(r))
	}
	return string(r[:4]) + strings.Repeat("•", len(r)-6) + string(r[len(r)-2:])
}

func (h *Handler) documentsView(r *http.Request, kind string) (documentsView, error) {
	v := documentsView{portalPage: h.page(r, "documents.title"), Errs: map[string]string{}}
	for _, k := range []payments.IDKind{payments.DriverLicence, payments.VehicleCert} {
		v.Kinds = append(v.Kinds, option{Value: string(k), Label: textIn(v.L, k.Label()), Selected: string(k) == kind})
	}
	docs, err := h.pays.Documents(r.Context(), session(r).Subject)
	for _, d := range docs {
		v.Items = append(v.Items, documentItem{ID: d.ID, Kind: textIn(v.L, d.Kind.Label()), Masked: maskDocument(d.Value)})
	}
	return v, err
}

func (h *Handler) showDocuments(w http.ResponseWriter, r *http.Request) {
	v, err := h.documentsView(r, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	switch r.URL.Query().Get("done") {
	case "added":
		v.Notice = v.L.T("documents.added")
	case "removed":
		v.Notice = v.L.T("documents.removed")
	}
	h.render.Render(w, r, http.StatusOK, "documents", v)
}

func (h *Handler) addDocument(w http.ResponseWriter, r *http.Request) {
	kind := r.PostFormValue("kind")
	v, err := h.documentsView(r, kind)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Number = r.PostFormValue("number")
	_, err = h.pays.AddDocument(r.Context(), session(r).Subject, payments.IDKind(kind), v.Number)
	var ve *payments.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/documents?done=added", http.StatusSeeOther)
		return
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			name := f.Field
			if name != "kind" {
				name = "number"
			}
			v.Errs[name] = v.L.T("documents.bad_number", textIn(v.L, payments.Text{RU: f.RU, EN: f.EN}))
		}
	case errors.Is(err, payments.ErrConflict):
		v.Errs["number"] = v.L.T("documents.duplicate")
	case errors.Is(err, payments.ErrTooMany):
		v.Errs["number"] = v.L.T("documents.too_many")
	default:
		h.fail(w, r, err)
		return
	}
	h.render.Render(w, r, http.StatusUnprocessableEntity, "documents", v)
}

func (h *Handler) removeDocument(w http.ResponseWriter, r *http.Request) {
	err := h.pays.RemoveDocument(r.Context(), session(r).Subject, r.PathValue("id"))
	if err != nil {
		h.paymentsFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/documents?done=removed", http.StatusSeeOther)
}

// AcquirerSetup configures the acquirer: a real one by its API's URL,
// merchant id, API key and notification secret; in development mode
// without a URL, the sandbox acquirer that the portal serves itself under
// /sandbox/acquirer/ (test cards, a confirmation step, delayed and
// duplicate notifications). Neither: no payments.
type AcquirerSetup struct {
	URL, MerchantID, APIKey, NotifySecret string
	PortalURL                             string
	Sandbox                               bool
	Logger                                *slog.Logger
	Now                                   func() time.Time
}

// OpenAcquirer returns the client, the notification secret and, for the
// sandbox, its handler (Config.SandboxAcquirer).
func OpenAcquirer(s AcquirerSetup) (acquirer.Client, []byte, http.Handler, error) {
	if s.URL != "" {
		if len(s.NotifySecret) < 32 {
			return nil, nil, nil, errors.New("acquirer: the notification secret must be at least 32 characters")
		}
		c, err := acquirer.NewHTTPClient(acquirer.HTTPConfig{BaseURL: s.URL, MerchantID: s.MerchantID, APIKey: s.APIKey})
		return c, []byte(s.NotifySecret), nil, err
	}
	if !s.Sandbox {
		return nil, nil, nil, nil
	}
	secret, key := make([]byte, 32), make([]byte, 24)
	_, _ = rand.Read(secret)
	_, _ = rand.Read(key)
	apiKey := hex.EncodeToString(key)
	sb, err := sandbox.New(sandbox.Config{Prefix: sandboxAcquirerPrefix, PublicURL: s.PortalURL, MerchantID: "gosid-sandbox", APIKey: apiKey,
		NotifySecret: secret, Now: s.Now, Logger: s.Logger, NotifyDelay: 20 * time.Second})
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := acquirer.NewHTTPClient(acquirer.HTTPConfig{BaseURL: s.PortalURL + sandboxAcquirerPrefix, MerchantID: "gosid-sandbox", APIKey: apiKey})
	return c, secret, sb, err
}

// demoLicence is the driving licence the sandbox's fines concern.
const demoLicence = "7700123456"

// seedCharges posts the sandbox's demo charges once (a УИН already there
// is left alone, paid or not).
func seedCharges(ctx context.Context, st *payments.Store, now time.Time) error {
	today := payments.MoscowDate(now)
	gibdd := payments.Payee{Name: "УФК по г. Москве (ГУ МВД России по г. Москве)", INN: "7707089101", KPP: "770731005", BIK: "004525988",
		Account: "03100643000000017300", BankName: "ГУ Банка России по ЦФО//УФК по г. Москве г. Москва", KBK: "18811601123010001140", OKTMO: "45379000"}
	licence := []payments.Identifier{{Kind: payments.DriverLicence, Value: demoLicence}}
	demo := []payments.Charge{
		{Kind: payments.Fine, Purpose: "Штраф за превышение скорости на 20–40 км/ч", LegalBasis: "Постановление по делу об административном правонарушении, ч. 2 ст. 12.9 КоАП РФ",
			Amount: 75000, DiscountAmount: 37500, DiscountUntil: today.AddDays(15), IssuedOn: today.AddDays(-5), DueOn: today.AddDays(55)},
		{Kind: payments.Fine, Purpose: "Штраф за нарушение правил остановки или стоянки", LegalBasis: "Постановление по делу об административном правонарушении, ч. 1 ст. 12.19 КоАП РФ",
			Amount: 100000, IssuedOn: today.AddDays(-90), DueOn: today.AddDays(-30)},
	}
	for i, c := range demo {
		prefix := fmt.Sprintf("1881077126%09d", 120400+i)
		c.UIN, c.Payee, c.Concerns = prefix+string(payments.UINCheckDigit(prefix)), gibdd, licence
		if _, err := st.Charge(ctx, c.UIN); err == nil {
			continue
		} else if !errors.Is(err, payments.ErrNotFound) {
			return err
		}
		if _, _, err := st.PostCharge(ctx, "mvd", c); err != nil && !errors.Is(err, payments.ErrConflict) {
			return fmt.Errorf("demo charge: %w", err)
		}
	}
	return nil
}

// paymentsFail answers a payments error: what is not the citizen's (or
// not there) is 404, anything else a failure.
func (h *Handler) paymentsFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, payments.ErrNotFound) {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	h.fail(w, r, err)
}

// homeVisitsAndCharges adds the citizen's coming bookings and unpaid
// charges to the dashboard.
func (h *Handler) homeVisitsAndCharges(r *http.Request, v *homeView) error {
	ctx, sess := r.Context(), v.Session
	list, err := h.appts.List(ctx, sess.Subject)
	if err != nil {
		return err
	}
	for i := range list {
		if b := &list[i]; b.Status == appointments.Booked && b.End.After(h.now()) && len(v.Visits) < homeRecent {
			v.Visits = append(v.Visits, h.bookingItem(ctx, v.L, b))
		}
	}
	ids, err := h.citizenIDs(ctx, sess)
	if err != nil {
		return err
	}
	charges, err := h.pays.ChargesFor(ctx, ids, payments.ChargeFilter{Status: payments.Unpaid})
	if err != nil {
		return err
	}
	for _, c := range charges {
		if len(v.Unpaid) < homeRecent {
			v.Unpaid = append(v.Unpaid, h.chargeItem(v.L, c))
		}
	}
	return nil
}
