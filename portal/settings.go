package portal

import (
	"errors"
	"net/http"
	"slices"

	"github.com/gosid/gosid/portal/notify"
)

// «Настройки → Уведомления»: the matrix of events × channels, the
// subscriptions to news, the time zone of quiet hours and this browser's
// push subscription; and unsubscribing by a link, without signing in.

type settingsView struct {
	portalPage
	Channels   []string
	Rows       []settingsRow
	Categories []settingsCell
	Zones      []option
	Errs       map[string]string
	ZoneChosen bool
	// PushKey is the VAPID public key the browser subscribes with; empty
	// when push is not configured.
	PushKey string
	Pushes  int
}

type settingsRow struct {
	Label string
	Cells []settingsCell
}

type settingsCell struct {
	Name, Label      string
	On, Offered, Fix bool
}

func (h *Handler) settingsView(r *http.Request) (settingsView, error) {
	ctx, sub := r.Context(), session(r).Subject
	v := settingsView{portalPage: h.page(r, "settings.title"), Errs: map[string]string{}, PushKey: h.pushKey()}
	m, err := h.notify.Matrix(ctx, h.db, sub)
	if err != nil {
		return v, err
	}
	for _, c := range notify.Channels {
		v.Channels = append(v.Channels, v.L.T("channel."+string(c)))
	}
	for _, e := range notify.Events {
		row := settingsRow{Label: v.L.T("event." + string(e))}
		for _, c := range notify.Channels {
			row.Cells = append(row.Cells, settingsCell{Name: cellName(e, c), Label: row.Label + ": " + v.L.T("channel."+string(c)),
				On: m.On(e, c), Offered: notify.Offered(e, c), Fix: c == notify.Inbox})
		}
		v.Rows = append(v.Rows, row)
	}
	subs, err := h.notify.Subscriptions(ctx, sub)
	if err != nil {
		return v, err
	}
	for _, c := range notify.Categories {
		v.Categories = append(v.Categories, settingsCell{Name: "cat." + string(c), Label: v.L.T("category." + string(c)), On: subs[c], Offered: true})
	}
	tz, chosen, err := h.notify.ZoneOf(ctx, h.db, sub)
	if err != nil {
		return v, err
	}
	v.ZoneChosen = chosen
	for _, z := range notify.Zones {
		v.Zones = append(v.Zones, option{Value: z, Label: v.L.T("tz." + z), Selected: z == tz})
	}
	v.Pushes, err = h.pushCount(ctx, sub)
	return v, err
}

func cellName(e notify.Event, c notify.Channel) string { return "n." + string(e) + "." + string(c) }

func (h *Handler) showSettings(w http.ResponseWriter, r *http.Request) {
	v, err := h.settingsView(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	switch r.URL.Query().Get("done") {
	case "saved":
		v.Notice = v.L.T("settings.saved")
	case "push_on":
		v.Notice = v.L.T("settings.push_on")
	case "push_off":
		v.Notice = v.L.T("settings.push_off")
	}
	h.render.Render(w, r, http.StatusOK, "settings", v)
}

// saveSettings stores the whole form: every offered cell (a checkbox sent
// is on, one not sent is off), the subscriptions and the time zone.
func (h *Handler) saveSettings(w http.ResponseWriter, r *http.Request) {
	ctx, sub := r.Context(), session(r).Subject
	tz := r.PostFormValue("tz")
	if !slices.Contains(notify.Zones, tz) {
		v, err := h.settingsView(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		v.Errs["tz"] = v.L.T("settings.bad_tz")
		h.render.Render(w, r, http.StatusUnprocessableEntity, "settings", v)
		return
	}
	m := notify.Matrix{}
	for _, e := range notify.Events {
		m[e] = map[notify.Channel]bool{}
		for _, c := range notify.Sent {
			m[e][c] = r.PostFormValue(cellName(e, c)) == "on"
		}
	}
	err := h.notify.SetMatrix(ctx, sub, m)
	for _, c := range notify.Categories {
		if err == nil {
			err = h.notify.Subscribe(ctx, sub, c, r.PostFormValue("cat."+string(c)) == "on")
		}
	}
	if err == nil {
		err = h.notify.SetZone(ctx, sub, tz)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/notifications?done=saved", http.StatusSeeOther)
}

// unsubscribeView asks before unsubscribing by a link: a mail scanner that
// follows links must not unsubscribe anyone (RFC 8058 §1); the one-click
// POST does it at once.
type unsubscribeView struct {
	portalPage
	Token, What string
	Done, Bad   bool
}

func (h *Handler) unsubscribeWhat(v *unsubscribeView, u notify.Unsubscribe) {
	if u.Category != "" {
		v.What = v.L.T("unsubscribe.news", v.L.T("category."+string(u.Category)))
	} else {
		v.What = v.L.T("unsubscribe.event", v.L.T("event."+string(u.Event)))
	}
}

func (h *Handler) showUnsubscribe(w http.ResponseWriter, r *http.Request) {
	v := unsubscribeView{portalPage: h.page(r, "unsubscribe.title"), Token: r.URL.Query().Get("t")}
	u, err := notify.ParseToken(h.unsubscribeKey(), v.Token)
	if err != nil {
		v.Bad = true
		h.render.Render(w, r, http.StatusBadRequest, "unsubscribe", v)
		return
	}
	h.unsubscribeWhat(&v, u)
	h.render.Render(w, r, http.StatusOK, "unsubscribe", v)
}

// unsubscribe is the form's POST and RFC 8058's one-click POST
// ("List-Unsubscribe=One-Click" to the URL of the List-Unsubscribe
// header): the token, in the URL or the form, is the authority.
func (h *Handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("t")
	if token == "" {
		token = r.PostFormValue("t")
	}
	v := unsubscribeView{portalPage: h.page(r, "unsubscribe.title"), Token: token}
	u, err := notify.ParseToken(h.unsubscribeKey(), token)
	if errors.Is(err, notify.ErrBadToken) {
		v.Bad = true
		h.render.Render(w, r, http.StatusBadRequest, "unsubscribe", v)
		return
	}
	if err := h.notify.Apply(r.Context(), u); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "unsubscribed", "one_click", r.PostFormValue("List-Unsubscribe") == "One-Click")
	h.unsubscribeWhat(&v, u)
	v.Done = true
	h.render.Render(w, r, http.StatusOK, "unsubscribe", v)
}
