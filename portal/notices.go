package portal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/applications"
	"github.com/gosid/gosid/portal/auth"
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

// noticeArgs is a notice job's argument: one notice on one channel, so
// that a retry of a failed e-mail does not text the citizen again.
type noticeArgs struct {
	Notice  string `json:"notice"`
	Channel string `json:"channel"`
}

func (noticeArgs) Kind() string { return "portal.notice" }

func (h *Handler) registerNotices(q *jobs.Queue) error {
	return jobs.Register(q, jobs.Worker[noticeArgs]{Work: func(ctx context.Context, j jobs.Job[noticeArgs]) error {
		return h.sendNotice(ctx, j.Args)
	}, Backoff: webhookBackoff, MaxAttempts: 10, Timeout: 30 * time.Second})
}

// notice is one message of the citizen's inbox, and of its SMS and
// e-mail: of an application's status (AppID), a booking or a charge (Ref).
// Its text is rendered when shown or sent, in the reader's language, from
// Kind, Status and Params.
type notice struct {
	Subject, Kind, AppID, Ref, Status, Comment string
	Params                                     map[string]string
}

// Kinds of notices.
const (
	noticeApplication = "application"
	noticeBooking     = "booking"
	noticeCharge      = "charge"
)

// addNotice writes a notice in tx and enqueues its SMS and e-mail: they
// exist only if the change that causes them commits, and are sent even if
// this process stops right after.
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
	if _, err := tx.Exec(ctx, `INSERT INTO portal_notices (id, subject, kind, application_id, ref, status, comment, params, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, id, n.Subject, n.Kind, app, n.Ref, n.Status, n.Comment, string(params), sqldb.Micros(h.now())); err != nil {
		return err
	}
	for _, ch := range []message.Channel{message.SMS, message.Email} {
		if _, err := h.jobs.Enqueue(ctx, tx, noticeArgs{Notice: id, Channel: string(ch)}, nil); err != nil {
			return err
		}
	}
	return nil
}

// changed runs in the transaction of every status change of an
// application: the citizen's notice, then the agency's webhook.
func (h *Handler) changed(ctx context.Context, tx *sqldb.Tx, c applications.Change) error {
	if err := h.addNotice(ctx, tx, notice{Subject: c.Subject, Kind: noticeApplication, AppID: c.ID, Status: string(c.Status), Comment: c.Comment}); err != nil {
		return err
	}
	return h.webhookChange(ctx, tx, c)
}

const noticeColumns = `n.subject, n.kind, COALESCE(n.application_id, ''), n.ref, n.status, n.comment, n.params, COALESCE(a.number, ''), COALESCE(a.service_id, '')`

// scanNotice reads noticeColumns; the application's number and service
// come along in Params.
func scanNotice(row sqldb.Scanner, extra ...any) (notice, error) {
	var n notice
	var params, number, service string
	if err := row.Scan(append([]any{&n.Subject, &n.Kind, &n.AppID, &n.Ref, &n.Status, &n.Comment, &params, &number, &service}, extra...)...); err != nil {
		return n, err
	}
	if err := json.Unmarshal([]byte(params), &n.Params); err != nil || n.Params == nil {
		n.Params = map[string]string{}
	}
	if n.Kind == noticeApplication {
		n.Params["number"], n.Params["service"] = number, service
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
	return "/notices"
}

// sendNotice sends one notice by one channel to the contacts of the
// citizen's latest sign-in, in its language; nothing when they have none
// on that channel.
func (h *Handler) sendNotice(ctx context.Context, a noticeArgs) error {
	n, err := scanNotice(h.db.QueryRow(ctx, `SELECT `+noticeColumns+` FROM portal_notices n
		LEFT JOIN portal_applications a ON a.id = n.application_id WHERE n.id = $1`, a.Notice))
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil // the application was deleted
	} else if err != nil {
		return err
	}
	if n.Kind == noticeBooking {
		// Jobs run in any order: a booking's notice that a newer one has
		// superseded (booked, then moved a second later) is not texted, so
		// the last message the citizen gets is the booking's state.
		var newer int
		if err := h.db.QueryRow(ctx, `SELECT COUNT(*) FROM portal_notices WHERE kind = $1 AND ref = $2
			AND created_at > (SELECT created_at FROM portal_notices WHERE id = $3)`, noticeBooking, n.Ref, a.Notice).Scan(&newer); err != nil {
			return err
		}
		if newer > 0 {
			return nil
		}
	}
	var sealed []byte
	err = h.db.QueryRow(ctx, `SELECT data_enc FROM portal_citizens WHERE subject = $1`, n.Subject).Scan(&sealed)
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	plain, err := h.cfg.Sealer.Open(ctx, sealed, citizenAAD(n.Subject))
	if err != nil {
		return err
	}
	var c citizen
	if err := json.Unmarshal(plain, &c); err != nil {
		return err
	}
	l := h.render.LocalizerFor(c.Lang)
	kind := "portal." + n.Kind // portal.booking, portal.charge
	if n.Kind == noticeApplication {
		kind = "portal.status"
	}
	m := message.Message{Channel: message.Channel(a.Channel), Kind: kind, Lang: l.Lang, Text: h.noticeText(ctx, l, n)}
	switch m.Channel {
	case message.SMS:
		m.To = c.Phone
	case message.Email:
		m.To, m.Subject = c.Email, l.T("notice.mail_subject."+n.Kind)
	}
	if m.To == "" {
		return nil
	}
	if n.Kind == noticeCharge && n.Status == "paid" && m.Channel == message.Email && n.Params["payment"] != "" {
		// The receipt goes with the e-mail, rendered now from the payment.
		att, err := h.receiptAttachment(ctx, n.Subject, n.Params["payment"], c.Name)
		if err != nil {
			return err
		}
		m.Attachments = []message.Attachment{*att}
		m.Subject = l.T("payment.mail_subject")
		m.Text = l.T("payment.mail_text", n.Params["amount"], n.Params["uin"], n.Params["purpose"])
	}
	return h.messages.Send(ctx, m)
}

// unread counts the citizen's unread notices (the header's badge).
func (h *Handler) unread(ctx context.Context, subject string) int {
	if h.db == nil {
		return 0
	}
	var n int
	if err := h.db.QueryRow(ctx, `SELECT COUNT(*) FROM portal_notices WHERE subject = $1 AND read_at IS NULL`, subject).Scan(&n); err != nil {
		h.log.WarnContext(ctx, "unread notices", "err", err)
	}
	return n
}

// noticesView is the inbox: newest first; what is shown is read.
type noticesView struct {
	portalPage
	Items []noticeItem
}

type noticeItem struct {
	Link, At, Text string
	Unread         bool
}

func (h *Handler) showNotices(w http.ResponseWriter, r *http.Request) {
	ctx, sub := r.Context(), session(r).Subject
	v := noticesView{portalPage: h.page(r, "notices.title")}
	rows, err := h.db.Query(ctx, `SELECT `+noticeColumns+`, n.created_at, n.read_at IS NULL
		FROM portal_notices n LEFT JOIN portal_applications a ON a.id = n.application_id WHERE n.subject = $1 ORDER BY n.created_at DESC LIMIT 100`, sub)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var it noticeItem
		var at int64
		n, err := scanNotice(rows, &at, &it.Unread)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		it.At, it.Text, it.Link = moscowTime(sqldb.Time(at)), h.noticeText(ctx, v.L, n), noticeLink(n)
		v.Items = append(v.Items, it)
	}
	if err := rows.Err(); err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.db.Exec(ctx, `UPDATE portal_notices SET read_at = $2 WHERE subject = $1 AND read_at IS NULL`, sub, sqldb.Micros(h.now())); err != nil {
		h.fail(w, r, err)
		return
	}
	h.render.Render(w, r, http.StatusOK, "notices", v)
}

// eventText renders a notice of a booking or a charge.
func (h *Handler) eventText(ctx context.Context, l webui.Localizer, n notice) string {
	p := n.Params
	switch n.Kind {
	case noticeBooking:
		return l.T("notice.booking."+n.Status, h.serviceTitle(ctx, l, p["service"]), p["when"], p["place"], p["number"])
	case noticeCharge:
		return l.T("notice.charge."+n.Status, p["purpose"], p["amount"], p["uin"])
	}
	return n.Status
}
