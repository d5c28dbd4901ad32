package portal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/portal/applications"
	"github.com/gosid/gosid/portal/auth"
)

// citizen is what the portal keeps to tell a citizen of their
// applications when they are not signed in: the contacts and language of
// their latest sign-in.
type citizen struct {
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
	Lang  string `json:"lang"`
}

func citizenAAD(subject string) []byte { return []byte("portal_citizens|" + subject) }

// remember keeps the signed-in citizen's contacts and language.
func (h *Handler) remember(ctx context.Context, sess *auth.Session, lang string) error {
	plain, err := json.Marshal(citizen{Phone: sess.Profile.Phone, Email: sess.Profile.Email, Lang: lang})
	if err != nil {
		return err
	}
	sealed, err := h.cfg.Sealer.Seal(plain, citizenAAD(sess.Subject))
	if err != nil {
		return err
	}
	_, err = h.db.Exec(ctx, `INSERT INTO portal_citizens (subject, data_enc, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (subject) DO UPDATE SET data_enc = $2, updated_at = $3`, sess.Subject, sealed, sqldb.Micros(h.now()))
	return err
}

// tell records a status change of a in the citizen's inbox and sends it by
// SMS and e-mail to the contacts of their latest sign-in, in its language.
// The change is already committed: a message that fails is logged, and
// the inbox still has it.
func (h *Handler) tell(ctx context.Context, a *applications.Application, comment string) {
	ctx = context.WithoutCancel(ctx)
	if _, err := h.db.Exec(ctx, `INSERT INTO portal_notices (id, subject, application_id, status, comment, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, newFileID(), a.Subject, a.ID, a.Status, comment, sqldb.Micros(h.now())); err != nil {
		h.log.ErrorContext(ctx, "notice not recorded", "application", a.ID, "err", err)
	}
	var sealed []byte
	err := h.db.QueryRow(ctx, `SELECT data_enc FROM portal_citizens WHERE subject = $1`, a.Subject).Scan(&sealed)
	if errors.Is(err, sqldb.ErrNotFound) {
		return
	}
	var c citizen
	if err == nil {
		var plain []byte
		if plain, err = h.cfg.Sealer.Open(ctx, sealed, citizenAAD(a.Subject)); err == nil {
			err = json.Unmarshal(plain, &c)
		}
	}
	if err != nil {
		h.log.ErrorContext(ctx, "citizen's contacts", "err", err)
		return
	}
	l := h.render.LocalizerFor(c.Lang)
	title := a.ServiceID
	if ix, err := h.searcher.Index(ctx); err == nil {
		if s := ix.Get(a.ServiceID); s != nil {
			title = s.Title.In(l.Lang)
		}
	}
	text := l.T("notice.status", title, a.Number, l.T("status."+string(a.Status)))
	if comment != "" {
		text += " " + l.T("notice.comment", comment)
	}
	for _, m := range []message.Message{{Channel: message.SMS, To: c.Phone}, {Channel: message.Email, To: c.Email, Subject: l.T("apps.mail_subject")}} {
		if m.To == "" {
			continue
		}
		m.Kind, m.Lang, m.Text = "portal.status", l.Lang, text
		if err := h.messages.Send(ctx, m); err != nil {
			h.log.WarnContext(ctx, "notice not sent", "channel", string(m.Channel), "err", err)
		}
	}
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
	ID, AppID, At, Text string
	Unread              bool
}

func (h *Handler) showNotices(w http.ResponseWriter, r *http.Request) {
	ctx, sub := r.Context(), session(r).Subject
	v := noticesView{portalPage: h.page(r, "notices.title")}
	l := v.L
	rows, err := h.db.Query(ctx, `SELECT n.id, n.application_id, COALESCE(a.number, ''), a.service_id, n.status, n.comment, n.created_at, n.read_at IS NULL
		FROM portal_notices n JOIN portal_applications a ON a.id = n.application_id WHERE n.subject = $1 ORDER BY n.created_at DESC LIMIT 100`, sub)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer rows.Close()
	ix, _ := h.searcher.Index(ctx)
	for rows.Next() {
		var it noticeItem
		var number, service, status, comment string
		var at int64
		if err := rows.Scan(&it.ID, &it.AppID, &number, &service, &status, &comment, &at, &it.Unread); err != nil {
			h.fail(w, r, err)
			return
		}
		title := service
		if ix != nil {
			if s := ix.Get(service); s != nil {
				title = s.Title.In(l.Lang)
			}
		}
		it.At, it.Text = moscowTime(sqldb.Time(at)), l.T("notice.status", title, number, l.T("status."+status))
		if comment != "" {
			it.Text += " " + l.T("notice.comment", comment)
		}
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
