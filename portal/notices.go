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

// changed runs in the transaction of every status change: the notice in
// the citizen's inbox and its SMS and e-mail (jobs) exist only if the
// change commits, and are sent even if this process stops right after;
// then the agency's webhook.
func (h *Handler) changed(ctx context.Context, tx *sqldb.Tx, c applications.Change) error {
	id := newFileID()
	if _, err := tx.Exec(ctx, `INSERT INTO portal_notices (id, subject, application_id, status, comment, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, id, c.Subject, c.ID, c.Status, c.Comment, sqldb.Micros(h.now())); err != nil {
		return err
	}
	for _, ch := range []message.Channel{message.SMS, message.Email} {
		if _, err := h.jobs.Enqueue(ctx, tx, noticeArgs{Notice: id, Channel: string(ch)}, nil); err != nil {
			return err
		}
	}
	return h.webhookChange(ctx, tx, c)
}

// sendNotice sends one notice by one channel to the contacts of the
// citizen's latest sign-in, in its language; nothing when they have none
// on that channel.
func (h *Handler) sendNotice(ctx context.Context, a noticeArgs) error {
	var subject, appID, status, comment string
	err := h.db.QueryRow(ctx, `SELECT subject, application_id, status, comment FROM portal_notices WHERE id = $1`, a.Notice).
		Scan(&subject, &appID, &status, &comment)
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil // the application was deleted
	} else if err != nil {
		return err
	}
	var sealed []byte
	err = h.db.QueryRow(ctx, `SELECT data_enc FROM portal_citizens WHERE subject = $1`, subject).Scan(&sealed)
	if errors.Is(err, sqldb.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	plain, err := h.cfg.Sealer.Open(ctx, sealed, citizenAAD(subject))
	if err != nil {
		return err
	}
	var c citizen
	if err := json.Unmarshal(plain, &c); err != nil {
		return err
	}
	app, err := h.apps.Get(ctx, appID)
	if err != nil {
		return err
	}
	l := h.render.LocalizerFor(c.Lang)
	title := app.ServiceID
	if ix, err := h.searcher.Index(ctx); err == nil {
		if s := ix.Get(app.ServiceID); s != nil {
			title = s.Title.In(l.Lang)
		}
	}
	text := l.T("notice.status", title, app.Number, l.T("status."+status))
	if comment != "" {
		text += " " + l.T("notice.comment", comment)
	}
	m := message.Message{Channel: message.Channel(a.Channel), Kind: "portal.status", Lang: l.Lang, Text: text}
	switch m.Channel {
	case message.SMS:
		m.To = c.Phone
	case message.Email:
		m.To, m.Subject = c.Email, l.T("apps.mail_subject")
	}
	if m.To == "" {
		return nil
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
