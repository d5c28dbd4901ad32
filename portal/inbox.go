package portal

import (
	"errors"
	"net/http"
	"slices"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/portal/notify"
)

// The inbox: the citizen's notices, newest first, filtered by kind, with
// an archive. A notice is read when opened (or all at once); archived
// ones leave the inbox and its count.

// mountNotices adds the inbox and the settings of notifications.
func (h *Handler) mountNotices(mux *http.ServeMux, signedIn func(http.HandlerFunc) http.HandlerFunc) {
	mux.HandleFunc("GET /notices", signedIn(h.showNotices))
	mux.HandleFunc("GET /notices/{id}", signedIn(h.showNotice))
	mux.HandleFunc("POST /notices/{id}/archive", signedIn(h.archiveNotice))
	mux.HandleFunc("POST /notices/read-all", signedIn(h.readAll))
	mux.HandleFunc("GET /settings/notifications", signedIn(h.showSettings))
	mux.HandleFunc("POST /settings/notifications", signedIn(h.saveSettings))
	h.mountPush(mux, signedIn)
}

// noticeKinds are the inbox's filters, in order.
var noticeKinds = []string{noticeApplication, noticeBooking, noticeCharge, noticeSupport, noticeNews}

// noticesView is the inbox.
type noticesView struct {
	portalPage
	Items   []noticeItem
	Kinds   []option
	Kind    string
	Archive bool
}

type noticeItem struct {
	ID, Link, At, Text, Kind string
	Unread                   bool
}

// inboxPage is how many notices the inbox lists.
const inboxPage = 100

func (h *Handler) showNotices(w http.ResponseWriter, r *http.Request) {
	ctx, sub := r.Context(), session(r).Subject
	v := noticesView{portalPage: h.page(r, "notices.title"), Kind: r.URL.Query().Get("kind"), Archive: r.URL.Query().Get("box") == "archive"}
	if !slices.Contains(noticeKinds, v.Kind) {
		v.Kind = ""
	}
	v.Kinds = append(v.Kinds, option{Value: "", Label: v.L.T("notices.all"), Selected: v.Kind == ""})
	for _, k := range noticeKinds {
		v.Kinds = append(v.Kinds, option{Value: k, Label: v.L.T("notices.kind." + k), Selected: v.Kind == k})
	}
	switch r.URL.Query().Get("done") {
	case "read":
		v.Notice = v.L.T("notices.all_read")
	case "archived":
		v.Notice = v.L.T("notices.archived")
	case "restored":
		v.Notice = v.L.T("notices.restored")
	}
	box := ` AND n.archived_at IS NULL`
	if v.Archive {
		box = ` AND n.archived_at IS NOT NULL`
	}
	rows, err := h.db.Query(ctx, `SELECT `+noticeColumns+`, n.created_at, n.read_at IS NULL`+noticeFrom+`
		WHERE n.subject = $1 AND ($2 = '' OR n.kind = $2)`+box+` ORDER BY n.created_at DESC LIMIT $3`, sub, v.Kind, inboxPage)
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
		it.ID, it.Kind, it.At, it.Text, it.Link = n.ID, v.L.T("notices.kind."+n.Kind), moscowTime(sqldb.Time(at)), h.noticeText(ctx, v.L, n), "/notices/"+n.ID
		v.Items = append(v.Items, it)
	}
	if err := rows.Err(); err != nil {
		h.fail(w, r, err)
		return
	}
	h.render.Render(w, r, http.StatusOK, "notices", v)
}

// noticeView is one notice: its text, where it leads, and how it was
// delivered on each channel.
type noticeView struct {
	portalPage
	ID, At, Text, Kind, Link string
	Body                     []string
	Archived                 bool
	Deliveries               []deliveryItem
}

type deliveryItem struct{ Channel, Status, Class string }

func (h *Handler) showNotice(w http.ResponseWriter, r *http.Request) {
	ctx, sub := r.Context(), session(r).Subject
	var at int64
	var archived bool
	n, err := scanNotice(h.db.QueryRow(ctx, `SELECT `+noticeColumns+`, n.created_at, n.archived_at IS NOT NULL`+noticeFrom+`
		WHERE n.id = $1 AND n.subject = $2`, r.PathValue("id"), sub), &at, &archived)
	if errors.Is(err, sqldb.ErrNotFound) {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.db.Exec(ctx, `UPDATE portal_notices SET read_at = $3 WHERE id = $1 AND subject = $2 AND read_at IS NULL`,
		n.ID, sub, sqldb.Micros(h.now())); err != nil {
		h.fail(w, r, err)
		return
	}
	v := noticeView{portalPage: h.page(r, "notice.title"), ID: n.ID, At: moscowTime(sqldb.Time(at)), Archived: archived}
	v.Kind, v.Text = v.L.T("notices.kind."+n.Kind), h.noticeText(ctx, v.L, n)
	if n.Kind == noticeNews {
		v.Body = paragraphs(n.Params["body"])
	} else {
		v.Link = noticeLink(n)
	}
	v.Deliveries = []deliveryItem{{Channel: v.L.T("channel.inbox"), Status: v.L.T("delivery.inbox"), Class: "ok"}}
	ds, err := h.notify.Deliveries(ctx, n.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, d := range ds {
		it := deliveryItem{Channel: v.L.T("channel." + string(d.Channel)), Status: v.L.T("delivery." + d.Status)}
		switch d.Status {
		case notify.SentOK:
			it.Class = "ok"
		case notify.Failed:
			it.Class = "bad"
		case notify.Deferred:
			it.Status = v.L.T("delivery.deferred_until", moscowTime(d.Until))
		}
		v.Deliveries = append(v.Deliveries, it)
	}
	h.render.Render(w, r, http.StatusOK, "notice", v)
}

// archiveNotice moves a notice to the archive or back (action=restore).
func (h *Handler) archiveNotice(w http.ResponseWriter, r *http.Request) {
	ctx, sub, id := r.Context(), session(r).Subject, r.PathValue("id")
	var at any = sqldb.Micros(h.now())
	done := "archived"
	if r.PostFormValue("action") == "restore" {
		at, done = nil, "restored"
	}
	res, err := h.db.Exec(ctx, `UPDATE portal_notices SET archived_at = $3, read_at = COALESCE(read_at, $4) WHERE id = $1 AND subject = $2`,
		id, sub, at, sqldb.Micros(h.now()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	http.Redirect(w, r, "/notices?done="+done, http.StatusSeeOther)
}

// readAll marks every notice of the inbox read.
func (h *Handler) readAll(w http.ResponseWriter, r *http.Request) {
	if _, err := h.db.Exec(r.Context(), `UPDATE portal_notices SET read_at = $2 WHERE subject = $1 AND read_at IS NULL`,
		session(r).Subject, sqldb.Micros(h.now())); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/notices?done=read", http.StatusSeeOther)
}
