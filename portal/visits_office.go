package portal

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/appointments"
	"github.com/gosid/gosid/portal/receipts"
)

// Bookings in the back-office: an officer of the agency that runs a place
// sees the day's bookings, marks arrived / served / no-show, edits the
// weekly hours and announces a closure (which cancels the bookings in it
// and tells the citizens).

// officerPlaces are the places of the officer's agencies.
func (h *Handler) officerPlaces(ctx context.Context, r *http.Request) ([]appointments.Place, error) {
	var out []appointments.Place
	for _, a := range agencies(session(r)) {
		ps, err := h.appts.Places(ctx, appointments.Filter{Agency: a})
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

// theirPlace loads a place of the officer's agencies, or answers 404.
func (h *Handler) theirPlace(w http.ResponseWriter, r *http.Request, id string) (*appointments.Place, bool) {
	p, err := h.appts.Place(r.Context(), id)
	if err == nil && slices.Contains(agencies(session(r)), p.Agency) {
		return p, true
	}
	h.bookingFail(w, r, err)
	return nil, false
}

type officeDayItem struct {
	ID, Time, Resource, Service, Number, Status, StatusKey string
	Version                                                int64
	Marks                                                  []option
}

type officeDayView struct {
	portalPage
	Places        []option
	PlaceID, Date string
	Items         []officeDayItem
}

func (h *Handler) showOfficeDay(w http.ResponseWriter, r *http.Request) {
	ctx, q := r.Context(), r.URL.Query()
	places, err := h.officerPlaces(ctx, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(places) == 0 {
		h.render.ErrorPage(w, r, http.StatusForbidden)
		return
	}
	v := officeDayView{portalPage: h.page(r, "office.bookings")}
	place := &places[0]
	for i := range places {
		if places[i].ID == q.Get("place") {
			place = &places[i]
		}
	}
	for _, p := range places {
		v.Places = append(v.Places, option{Value: p.ID, Label: p.Name, Selected: p.ID == place.ID})
	}
	loc := placeZone(place)
	day := appointments.DateOf(h.now().In(loc))
	if d, err := appointments.ParseDate(q.Get("date")); err == nil {
		day = d
	}
	v.PlaceID, v.Date = place.ID, day.String()
	list, err := h.appts.Day(ctx, place.ID, day)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names, err := h.resourceNames(ctx, place.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l := v.L
	for _, b := range list {
		it := officeDayItem{ID: b.ID, Time: b.Start.In(loc).Format("15:04"), Resource: names[b.ResourceID], Service: h.serviceTitle(ctx, l, b.ServiceID),
			Number: b.Number, StatusKey: string(b.Status), Status: l.T("booking." + string(b.Status)), Version: b.Version}
		switch b.Status {
		case appointments.Booked:
			it.Marks = []option{{Value: string(appointments.Arrived), Label: l.T("office.mark.arrived")}, {Value: string(appointments.NoShow), Label: l.T("office.mark.no_show")}}
		case appointments.Arrived:
			it.Marks = []option{{Value: string(appointments.Served), Label: l.T("office.mark.served")}}
		}
		v.Items = append(v.Items, it)
	}
	h.render.Render(w, r, http.StatusOK, "office_day", v)
}

func (h *Handler) markBooking(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	b, err := h.appts.Get(ctx, r.PathValue("id"))
	if err != nil {
		h.bookingFail(w, r, err)
		return
	}
	p, ok := h.theirPlace(w, r, b.PlaceID)
	if !ok {
		return
	}
	version, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	_, err = h.appts.Mark(ctx, b.ID, version, appointments.Status(r.PostFormValue("outcome")), session(r).Subject)
	back := "/office/bookings?" + url.Values{"place": {p.ID}, "date": {appointments.DateOf(b.Start.In(placeZone(p))).String()}}.Encode()
	switch {
	case errors.Is(err, appointments.ErrConflict), errors.Is(err, appointments.ErrTransition), errors.Is(err, appointments.ErrTooEarly):
		h.render.ErrorPage(w, r, http.StatusConflict)
	case err != nil:
		h.fail(w, r, err)
	default:
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}

type weekField struct {
	Key, Label, Value, Err string
}

type officePlaceView struct {
	portalPage
	ID, Name, Address, Zone string
	Week                    []weekField
	Resources               []option
	CFrom, CTo, CReason     string
	CResource               string
	Errs                    map[string]string
}

var weekdayKeys = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

func (h *Handler) officePlaceView(r *http.Request, p *appointments.Place) officePlaceView {
	v := officePlaceView{portalPage: h.page(r, "office.schedule"), ID: p.ID, Name: p.Name, Address: p.Address, Zone: p.TZ, Errs: map[string]string{}}
	for i, wd := range weekdayOrder {
		v.Week = append(v.Week, weekField{Key: weekdayKeys[i], Label: weekdayNames[langIndex(v.L)][i], Value: p.Week[wd].String()})
	}
	if rs, err := h.appts.Resources(r.Context(), p.ID); err == nil {
		for _, res := range rs {
			v.Resources = append(v.Resources, option{Value: res.ID, Label: res.Name})
		}
	}
	return v
}

func (h *Handler) showOfficePlace(w http.ResponseWriter, r *http.Request) {
	p, ok := h.theirPlace(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	v := h.officePlaceView(r, p)
	switch r.URL.Query().Get("done") {
	case "saved":
		v.Notice = v.L.T("office.saved")
	case "closed":
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		v.Notice = v.L.T("office.closed", n)
	}
	h.render.Render(w, r, http.StatusOK, "office_place", v)
}

func (h *Handler) saveOfficeHours(w http.ResponseWriter, r *http.Request) {
	p, ok := h.theirPlace(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	v := h.officePlaceView(r, p)
	bad := false
	for i, wd := range weekdayOrder {
		raw := r.PostFormValue(weekdayKeys[i])
		v.Week[i].Value = raw
		hours, err := appointments.ParseHours(raw)
		if err != nil {
			v.Week[i].Err, bad = v.L.T("office.hours_hint"), true
			continue
		}
		p.Week[wd] = hours
	}
	if !bad {
		err := h.appts.SavePlace(r.Context(), *p)
		var ve *appointments.ValidationError
		if errors.As(err, &ve) {
			v.Error = fieldErrorsText(v.L, ve.Fields)
		} else if err != nil {
			h.fail(w, r, err)
			return
		} else {
			http.Redirect(w, r, "/office/places/"+p.ID+"?done=saved", http.StatusSeeOther)
			return
		}
	}
	h.render.Render(w, r, http.StatusUnprocessableEntity, "office_place", v)
}

// fieldErrorsText joins a validation's messages in l's language.
func fieldErrorsText(l webui.Localizer, fs []appointments.FieldError) string {
	var parts []string
	for _, f := range fs {
		if l.Lang == "en" {
			parts = append(parts, f.EN)
		} else {
			parts = append(parts, f.RU)
		}
	}
	return strings.Join(parts, "; ")
}

func (h *Handler) officeClose(w http.ResponseWriter, r *http.Request) {
	p, ok := h.theirPlace(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	v := h.officePlaceView(r, p)
	loc := placeZone(p)
	v.CFrom, v.CTo, v.CReason = r.PostFormValue("from"), r.PostFormValue("to"), strings.TrimSpace(r.PostFormValue("reason"))
	from, err1 := time.ParseInLocation("2006-01-02T15:04", v.CFrom, loc)
	to, err2 := time.ParseInLocation("2006-01-02T15:04", v.CTo, loc)
	l := v.L
	if err1 != nil {
		v.Errs["from"] = l.T("office.closure_bad_time")
	}
	if err2 != nil {
		v.Errs["to"] = l.T("office.closure_bad_time")
	} else if err1 == nil && !to.After(from) {
		v.Errs["to"] = l.T("office.closure_order")
	}
	if v.CReason == "" || utf8.RuneCountInString(v.CReason) > 300 {
		v.Errs["reason"] = l.T("office.closure_no_reason")
	}
	resource := r.PostFormValue("resource")
	v.CResource = resource
	if resource != "" && !slices.ContainsFunc(v.Resources, func(o option) bool { return o.Value == resource }) {
		v.Errs["resource"] = l.T("office.bad_resource")
	}
	if len(v.Errs) > 0 {
		h.render.Render(w, r, http.StatusUnprocessableEntity, "office_place", v)
		return
	}
	var cancelled []appointments.Booking
	var err error
	if resource != "" {
		cancelled, err = h.appts.CloseResource(r.Context(), resource, from, to, v.CReason)
	} else {
		cancelled, err = h.appts.Close(r.Context(), p.ID, from, to, v.CReason)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/office/places/"+p.ID+"?done=closed&n="+strconv.Itoa(len(cancelled)), http.StatusSeeOther)
}

// Reminders: 24 hours and 2 hours before a visit, a job scheduled when the
// booking is made or moved; it does nothing when the booking was cancelled
// or moved meanwhile (its start is in the args).
type reminderArgs struct {
	Booking string `json:"booking"`
	Start   int64  `json:"start"` // Unix microseconds of the start it reminds of
}

func (reminderArgs) Kind() string { return "portal.reminder" }

var reminderLeads = []time.Duration{24 * time.Hour, 2 * time.Hour}

func (h *Handler) registerReminders(q *jobs.Queue) error {
	return jobs.Register(q, jobs.Worker[reminderArgs]{Work: func(ctx context.Context, j jobs.Job[reminderArgs]) error {
		return h.remind(ctx, j.Args)
	}, Backoff: webhookBackoff, MaxAttempts: 5, Timeout: 30 * time.Second})
}

func (h *Handler) remind(ctx context.Context, a reminderArgs) error {
	b, err := h.appts.Get(ctx, a.Booking)
	if errors.Is(err, appointments.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if b.Status != appointments.Booked || sqldb.Micros(b.Start) != a.Start || !h.now().Before(b.Start) {
		return nil // cancelled, moved (its own reminders are scheduled) or over
	}
	return h.db.InTx(ctx, func(tx *sqldb.Tx) error {
		return h.addNotice(ctx, tx, h.bookingNotice(ctx, b, "reminder"))
	})
}

// bookingNotice is the notice of a booking event; its text's place and
// time are the place's, fixed when it is written.
func (h *Handler) bookingNotice(ctx context.Context, b *appointments.Booking, status string) notice {
	when, place := b.Start.In(moscow).Format("02.01.2006 15:04")+" МСК", b.PlaceID
	if p, err := h.appts.Place(ctx, b.PlaceID); err == nil {
		local := b.Start.In(placeZone(p))
		when, place = local.Format("02.01.2006 15:04")+" ("+receipts.ZoneLabel(local)+")", p.Name+", "+p.Address
	}
	return notice{Subject: b.Subject, Kind: noticeBooking, Ref: b.ID, Status: status,
		Params: map[string]string{"service": b.ServiceID, "when": when, "place": place, "number": b.Number}}
}

// bookingChanged runs in the transaction of every booking change: the
// citizen's notice and, for a new time, its reminders.
func (h *Handler) bookingChanged(ctx context.Context, tx *sqldb.Tx, c appointments.Change) error {
	b := c.Booking
	status := string(c.Kind)
	switch c.Kind {
	case appointments.ChangeMarked:
		status = string(b.Status)
	case appointments.ChangeCancelled:
		if b.CancelReason == appointments.ByClosure {
			status = "closure"
		}
	}
	n := h.bookingNotice(ctx, &b, status)
	n.Comment = c.Reason
	if err := h.addNotice(ctx, tx, n); err != nil {
		return err
	}
	if c.Kind != appointments.ChangeBooked && c.Kind != appointments.ChangeRescheduled {
		return nil
	}
	for _, lead := range reminderLeads {
		at := b.Start.Add(-lead)
		if !at.After(h.now()) {
			continue
		}
		if _, err := h.jobs.Enqueue(ctx, tx, reminderArgs{Booking: b.ID, Start: sqldb.Micros(b.Start)}, &jobs.Options{RunAt: at}); err != nil {
			return err
		}
	}
	return nil
}
