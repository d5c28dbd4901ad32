package profile

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/httpx"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// Changing the phone or the e-mail: the new value gets a code, and only
// the code makes it the account's contact (and login); the old value
// stops working at once and is told of the change.
//
//	GET  /account/contacts/{kind}          kind is phone or email: the new value
//	POST /account/contacts/{kind}          a code to the new value
//	GET  /account/contacts/{kind}/code
//	POST /account/contacts/{kind}/code     the code makes the change
//	POST /account/contacts/{kind}/resend
//
// The flow state (new value, challenge) lives in the database, sealed, so
// the steps may land on different replicas. A value another account has
// verified is refused only after the code proves the citizen holds it, so
// that the page does not tell anyone whose number is whose.

// Flows keeps multi-step state between requests.
type Flows interface {
	Begin(w http.ResponseWriter, r *http.Request, kind string, data any, ttl time.Duration) error
	FromRequest(r *http.Request, kind string, data any) (string, int, error)
	Save(ctx context.Context, kind, token string, version int, data any) (int, error)
	End(ctx context.Context, w http.ResponseWriter, kind, token string) error
	Clear(w http.ResponseWriter, kind string)
}

// Notifier sends notices to one contact.
type Notifier interface {
	Contact(ctx context.Context, contactKind, to, kind, lang string, data map[string]string)
	Account(ctx context.Context, a *account.Account, kind, lang string, data map[string]string)
}

const (
	contactFlow    = "contact"
	contactPurpose = "contact"
	contactTTL     = 15 * time.Minute
)

type contactState struct {
	AccountID string `json:"account_id"`
	Kind      string `json:"kind"`
	Value     string `json:"value"`
	Challenge string `json:"challenge"`
}

type contactView struct {
	webui.Page
	Kind    string // phone or email
	Current string
	Step    string // "" (new value) or "code"
	Masked  string
}

// contactRequest reads the contact kind of the path and the signed-in
// account; it answers the request itself when either is missing. Every
// step needs a fresh session (a contact is a login and the way to recover
// the password); a stale one goes to re-authenticate and comes back to the
// step's page.
func (h *Handler) contactRequest(w http.ResponseWriter, r *http.Request) (string, *account.Account, bool) {
	k := r.PathValue("kind")
	if k != account.Phone && k != account.Email {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return "", nil, false
	}
	back := "/account/contacts/" + k
	if strings.HasSuffix(r.URL.Path, "/code") || strings.HasSuffix(r.URL.Path, "/resend") {
		back += "/code"
	}
	a, ok := h.sensitive(w, r, back)
	return k, a, ok
}

func (h *Handler) contactPage(r *http.Request, a *account.Account, kind string) contactView {
	v := contactView{Page: h.page(r, "con.title."+kind, "profile"), Kind: kind}
	c := a.Phone
	if kind == account.Email {
		c = a.Email
	}
	v.Current = maskContact(kind, c.Value)
	return v
}

func maskContact(kind, value string) string {
	switch {
	case value == "":
		return ""
	case kind == account.Phone:
		return validate.MaskPhone(value)
	}
	return validate.MaskEmail(value)
}

func (h *Handler) showContact(w http.ResponseWriter, r *http.Request) {
	kind, a, ok := h.contactRequest(w, r)
	if !ok {
		return
	}
	v := h.contactPage(r, a, kind)
	noteBack(r, &v.Page, "expired", "con.expired")
	h.render.Render(w, r, http.StatusOK, "contact", v)
}

func (h *Handler) submitContact(w http.ResponseWriter, r *http.Request) {
	kind, a, ok := h.contactRequest(w, r)
	if !ok {
		return
	}
	v := h.contactPage(r, a, kind)
	f := webui.NewForm(r, "value")
	v.Form = f
	var value string
	var err error
	if kind == account.Phone {
		value, err = validate.Phone(f.Get("value"))
	} else {
		value, err = validate.Email(f.Get("value"))
	}
	var fe *validate.FieldError
	switch {
	case errors.As(err, &fe):
		f.Fail("value", fe.Message(v.L.Lang))
	case err != nil:
		f.Fail("value", v.L.T("con.err.value."+kind))
	case (kind == account.Phone && value == a.Phone.Value) || (kind == account.Email && value == a.Email.Value):
		f.Fail("value", v.L.T("con.err.same"))
	}
	if !f.OK() {
		h.render.Render(w, r, http.StatusUnprocessableEntity, "contact", v)
		return
	}
	st := contactState{AccountID: a.ID, Kind: kind, Value: value}
	h.contactCode(a, kind).Begin(w, r, &st, contactTTL, "contact", &v, &v.Page)
}

// contactCode is the code step of the change of a's contact of kind.
func (h *Handler) contactCode(a *account.Account, kind string) *codestep.Pages[contactState] {
	return &codestep.Pages[contactState]{Step: h.Security.Codes, Flows: h.Flows, Kind: contactFlow, Purpose: contactPurpose,
		Render: h.render, Log: h.Log, Template: "contact", Resent: "con.resent", Path: "/account/contacts/" + kind,
		View: func(r *http.Request, st *contactState) (any, *webui.Page) {
			v := h.contactCodePage(r, a, *st)
			return &v, &v.Page
		},
		Code:     func(st *contactState) (*string, string) { return &st.Challenge, st.Value },
		Send:     func(r *http.Request, st *contactState) codestep.Send { return contactSend(r, *st) },
		Internal: h.internal}
}

// contactSend is the message with the code for st's new contact.
func contactSend(r *http.Request, st contactState) codestep.Send {
	ch := message.SMS
	if st.Kind == account.Email {
		ch = message.Email
	}
	return codestep.Send{Purpose: contactPurpose, Channel: ch, To: st.Value, IP: httpx.ClientIP(r), Lang: webui.Lang(r), Kind: notice.KindCodeContact}
}

// loadContact reads the flow of the signed-in account; a missing, expired
// or foreign one sends the browser back to the first step.
func (h *Handler) loadContact(w http.ResponseWriter, r *http.Request, a *account.Account, kind string) (string, int, contactState, bool) {
	return h.contactCode(a, kind).Load(w, r, "/account/contacts/"+kind+"?expired=1", func(st *contactState) bool {
		return st.AccountID == a.ID && st.Kind == kind
	})
}

func (h *Handler) contactCodePage(r *http.Request, a *account.Account, st contactState) contactView {
	v := h.contactPage(r, a, st.Kind)
	v.Step, v.Masked = "code", maskContact(st.Kind, st.Value)
	return v
}

func (h *Handler) showContactCode(w http.ResponseWriter, r *http.Request) {
	kind, a, ok := h.contactRequest(w, r)
	if !ok {
		return
	}
	if _, _, st, ok := h.loadContact(w, r, a, kind); ok {
		h.contactCode(a, kind).Show(w, r, &st)
	}
}

func (h *Handler) submitContactCode(w http.ResponseWriter, r *http.Request) {
	kind, a, ok := h.contactRequest(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	token, _, st, ok := h.loadContact(w, r, a, kind)
	if !ok {
		return
	}
	if !h.contactCode(a, kind).Check(w, r, &st, false) {
		return
	}
	v := h.contactCodePage(r, a, st)
	v.Form = webui.NewForm(r)
	old := a.Phone
	if kind == account.Email {
		old = a.Email
	}
	detail := map[string]string{"field": kind, "value": maskContact(kind, st.Value)}
	if old.Verified() {
		detail["undo"] = "offered"
	}
	var undo string
	err := h.Activity.Change(ctx, h.entry(r, a.ID, audit.ActionContactChanged, detail), func(s *account.Store) error {
		undo = ""
		if err := s.SetContact(ctx, a.ID, kind, st.Value, h.Now()); err != nil {
			return err
		}
		if !old.Verified() {
			return nil
		}
		var err error
		undo, err = s.OfferUndo(ctx, a.ID, kind, old.Value, h.Now().Add(h.Undo.TTL))
		return err
	})
	if errors.Is(err, account.ErrTaken) {
		v.Step = ""
		v.Error = v.L.T("con.err.taken." + kind)
		// The flow is over; one that cannot be deleted expires unused.
		if err := h.Flows.End(ctx, w, contactFlow, token); err != nil {
			h.Log.WarnContext(ctx, "end contact flow", "account", a, "err", err)
		}
		h.render.Render(w, r, http.StatusConflict, "contact", v)
		return
	}
	if err != nil {
		h.internal(w, r, "change contact", err)
		return
	}
	if err := h.Flows.End(ctx, w, contactFlow, token); err != nil {
		h.Log.ErrorContext(ctx, "end contact flow", "err", err)
	}
	if old.Verified() {
		h.Notifier.Contact(ctx, kind, old.Value, notice.KindNoticeContactChanged, v.L.Lang, map[string]string{
			"field": kind, "value": detail["value"], "link": h.undoLink(undo), "days": strconv.Itoa(int(h.Undo.TTL / (24 * time.Hour)))})
	}
	webui.Redirect(w, r, "/account?done=contact_"+kind)
}

func (h *Handler) resendContactCode(w http.ResponseWriter, r *http.Request) {
	kind, a, ok := h.contactRequest(w, r)
	if !ok {
		return
	}
	if token, version, st, ok := h.loadContact(w, r, a, kind); ok {
		h.contactCode(a, kind).Resend(w, r, token, version, &st, "/account/contacts/"+kind+"/code")
	}
}

// internal logs err and answers 500 with a general message.
func (h *Handler) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.Log.ErrorContext(r.Context(), what, "err", err)
	if webui.Overloaded(w, err) || sqldb.Unavailable(err) {
		h.render.ErrorPage(w, r, http.StatusServiceUnavailable) // with Retry-After
		return
	}
	h.render.ErrorPage(w, r, http.StatusInternalServerError)
}
