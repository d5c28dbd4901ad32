package portal

import (
	"context"
	"encoding/json"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/applications"
	"github.com/gosid/gosid/portal/auth"
	"github.com/gosid/gosid/portal/notify"
)

// citizen is what the portal keeps to tell a citizen of their
// applications when they are not signed in: the contacts and language of
// their latest sign-in.
type citizen struct {
	Name  string `json:"name,omitempty"` // for receipts e-mailed
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
	Lang  string `json:"lang"`
}

func citizenAAD(subject string) []byte { return []byte("portal_citizens|" + subject) }

// remember keeps the signed-in citizen's contacts and language.
func (h *Handler) remember(ctx context.Context, sess *auth.Session, lang string) error {
	plain, err := json.Marshal(citizen{Name: payerName(sess.Profile), Phone: sess.Profile.Phone, Email: sess.Profile.Email, Lang: lang})
	if err != nil {
		return err
	}
	sealed, err := h.cfg.Sealer.Seal(plain, citizenAAD(sess.Subject))
	if err != nil {
		return err
	}
	_, err = h.db.Exec(ctx, `INSERT INTO portal_citizens (subject, data_enc, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (subject) DO UPDATE SET data_enc = $2, updated_at = $3`, sess.Subject, sealed, sqldb.Micros(h.now()))
	if err != nil || h.pays == nil {
		return err
	}
	return h.pays.RememberVerified(ctx, sess.Subject, verifiedIDs(sess.Profile))
}

// notice is one message of the citizen's inbox, and of its e-mail, SMS
// and push: of an application's status (AppID), a booking, a charge or a
// support request (Ref), or news. Its text is rendered when shown or sent,
// in the reader's language, from Kind, Status and Params. Event is its row
// in the settings matrix (derived from Kind and Status when empty); an
// Urgent notice is not held by quiet hours.
type notice struct {
	ID, Subject, Kind, AppID, Ref, Status, Comment string
	Params                                         map[string]string
	Event                                          notify.Event
	Urgent                                         bool
}

// Kinds of notices.
const (
	noticeApplication = "application"
	noticeBooking     = "booking"
	noticeCharge      = "charge"
	noticeSupport     = "support"
	noticeNews        = "news"
)

// event is the notice's row in the settings matrix.
func (n notice) event() notify.Event {
	if n.Event != "" {
		return n.Event
	}
	switch n.Kind {
	case noticeApplication:
		switch applications.Status(n.Status) {
		case applications.Received:
			return notify.AppReceived
		case applications.InfoRequested:
			return notify.AppNeedInfo
		case applications.Approved, applications.Refused:
			return notify.AppResult
		}
		return notify.AppStatus
	case noticeBooking:
		switch n.Status {
		case "reminder":
			return notify.BookingReminder
		case "cancelled", "closure":
			return notify.BookingCancelled
		}
		return notify.BookingBooked
	case noticeCharge:
		switch n.Status {
		case "paid", "refunded":
			return notify.ChargePaid
		case "discount":
			return notify.ChargeDiscount
		}
		return notify.ChargeNew
	case noticeSupport:
		return notify.SupportAnswer
	}
	return notify.News
}

// urgent: a visit the office cancelled may be tomorrow morning, so its
// SMS does not wait for the end of quiet hours.
func (n notice) urgent() bool { return n.Urgent || n.Kind == noticeBooking && n.Status == "closure" }

// addNotice writes a notice in tx with a delivery row per channel — to be
// sent where the citizen's settings want it, "off" where not — and the
// jobs that send it: they exist only if the change that causes them
// commits, and are sent even if this process stops right after.
func (h *Handler) addNotice(ctx context.Context, tx *sqldb.Tx, n notice) error {
	id := newFileID()
	params, err := json.Marshal(n.Params)
	if err != nil {
		return err
	}
	var app any
	if n.AppID != "" {
		app = n.AppID
	}
	ev := n.event()
	if _, err := tx.Exec(ctx, `INSERT INTO portal_notices (id, subject, kind, application_id, ref, status, comment, params, created_at, event, urgent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, id, n.Subject, n.Kind, app, n.Ref, n.Status, n.Comment, string(params),
		sqldb.Micros(h.now()), string(ev), n.urgent()); err != nil {
		return err
	}
	return h.queueDeliveries(ctx, tx, id, n.Subject, ev, false)
}

// changed runs in the transaction of every status change of an
// application: the citizen's notice, then the agency's webhook.
func (h *Handler) changed(ctx context.Context, tx *sqldb.Tx, c applications.Change) error {
	if err := h.addNotice(ctx, tx, notice{Subject: c.Subject, Kind: noticeApplication, AppID: c.ID, Status: string(c.Status), Comment: c.Comment}); err != nil {
		return err
	}
	return h.webhookChange(ctx, tx, c)
}

// noticeColumns are read from noticeFrom by scanNotice: a notice with its
// application's number and service, or its broadcast's title and body.
const noticeColumns = `n.id, n.subject, n.kind, COALESCE(n.application_id, ''), n.ref, n.status, n.comment, n.params, n.event, n.urgent,
	COALESCE(a.number, ''), COALESCE(a.service_id, ''), COALESCE(b.title, ''), COALESCE(b.body, ''), COALESCE(b.category, '')`

const noticeFrom = ` FROM portal_notices n LEFT JOIN portal_applications a ON a.id = n.application_id
	LEFT JOIN portal_broadcasts b ON n.kind = 'news' AND b.id = n.ref`

// scanNotice reads noticeColumns; the application's number and service,
// or the broadcast's title and body, come along in Params.
func scanNotice(row sqldb.Scanner, extra ...any) (notice, error) {
	var n notice
	var params, event, number, service, title, body, category string
	if err := row.Scan(append([]any{&n.ID, &n.Subject, &n.Kind, &n.AppID, &n.Ref, &n.Status, &n.Comment, &params, &event, &n.Urgent,
		&number, &service, &title, &body, &category}, extra...)...); err != nil {
		return n, err
	}
	n.Event = notify.Event(event)
	if err := json.Unmarshal([]byte(params), &n.Params); err != nil || n.Params == nil {
		n.Params = map[string]string{}
	}
	switch n.Kind {
	case noticeApplication:
		n.Params["number"], n.Params["service"] = number, service
	case noticeNews:
		n.Params["title"], n.Params["body"], n.Params["category"] = title, body, category
	}
	return n, nil
}

// serviceTitle is a service's title in l's language, or its id.
func (h *Handler) serviceTitle(ctx context.Context, l webui.Localizer, id string) string {
	if ix, err := h.searcher.Index(ctx); err == nil {
		if s := ix.Get(id); s != nil {
			return s.Title.In(l.Lang)
		}
	}
	return id
}

// noticeText renders a notice in l's language.
func (h *Handler) noticeText(ctx context.Context, l webui.Localizer, n notice) string {
	p := n.Params
	var text string
	switch n.Kind {
	case noticeApplication:
		text = l.T("notice.status", h.serviceTitle(ctx, l, p["service"]), p["number"], l.T("status."+n.Status))
	default:
		text = h.eventText(ctx, l, n)
	}
	if n.Comment != "" {
		text += " " + l.T("notice.comment", n.Comment)
	}
	return text
}

// noticeLink is where a notice leads.
func noticeLink(n notice) string {
	switch n.Kind {
	case noticeApplication:
		return "/applications/" + n.AppID
	case noticeBooking:
		return "/appointments/" + n.Ref
	case noticeCharge:
		return "/charges/" + n.Ref
	case noticeSupport:
		return "/support/" + n.Ref
	}
	return "/notices/" + n.ID
}

// unread counts the citizen's unread notices (the header's badge).
func (h *Handler) unread(ctx context.Context, subject string) int {
	if h.db == nil {
		return 0
	}
	var n int
	if err := h.db.QueryRow(ctx, `SELECT COUNT(*) FROM portal_notices WHERE subject = $1 AND read_at IS NULL AND archived_at IS NULL`,
		subject).Scan(&n); err != nil {
		h.log.WarnContext(ctx, "unread notices", "err", err)
	}
	return n
}

// eventText renders a notice of a booking, a charge, a support request
// or news (its title: the body is on the notice's page).
func (h *Handler) eventText(ctx context.Context, l webui.Localizer, n notice) string {
	p := n.Params
	switch n.Kind {
	case noticeBooking:
		return l.T("notice.booking."+n.Status, h.serviceTitle(ctx, l, p["service"]), p["when"], p["place"], p["number"])
	case noticeCharge:
		if n.Status == "discount" {
			return l.T("notice.charge.discount", p["purpose"], p["amount"], p["uin"], p["until"])
		}
		return l.T("notice.charge."+n.Status, p["purpose"], p["amount"], p["uin"])
	case noticeSupport:
		return l.T("notice.support."+n.Status, p["number"])
	case noticeNews:
		return p["title"]
	}
	return n.Status
}
