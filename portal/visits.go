package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/appointments"
	"github.com/gosid/gosid/portal/auth"
	"github.com/gosid/gosid/portal/catalog"
	"github.com/gosid/gosid/portal/receipts"
)

// Appointments, the citizen's side: choose a service's place (or a
// doctor's specialty, then the doctor), a day in a calendar where days
// without free time are greyed, a time; the booking gets a number and a
// ticket with a QR code (a page to print and a PDF). The slots and the
// no-double-booking guarantee are portal/appointments'.

// mountAppointments serves bookings to citizens and officers, and the
// agency API's places.
func (h *Handler) mountAppointments(mux *http.ServeMux) {
	h.appts = appointments.NewStore(h.db, h.now)
	h.appts.OnChange = h.bookingChanged
	signedIn := func(f http.HandlerFunc) http.HandlerFunc { return h.require(auth.Need{}, f) }
	mux.HandleFunc("GET /appointments", signedIn(h.showAppointments))
	mux.HandleFunc("GET /appointments/new", signedIn(h.showBook))
	mux.HandleFunc("POST /appointments", signedIn(h.book))
	mux.HandleFunc("GET /appointments/{id}", signedIn(h.showBooking))
	mux.HandleFunc("GET /appointments/{id}/ticket.pdf", signedIn(h.ticketPDF))
	mux.HandleFunc("GET /appointments/{id}/qr.png", signedIn(h.ticketQR))
	mux.HandleFunc("POST /appointments/{id}/cancel", signedIn(h.cancelBooking))
	mux.HandleFunc("POST /appointments/{id}/reschedule", signedIn(h.reschedule))
	officer := func(f http.HandlerFunc) http.HandlerFunc { return h.require(officeNeed, f) }
	mux.HandleFunc("GET /office/bookings", officer(h.showOfficeDay))
	mux.HandleFunc("POST /office/bookings/{id}/mark", officer(h.markBooking))
	mux.HandleFunc("GET /office/places/{id}", officer(h.showOfficePlace))
	mux.HandleFunc("POST /office/places/{id}/hours", officer(h.saveOfficeHours))
	mux.HandleFunc("POST /office/places/{id}/closures", officer(h.officeClose))
	mux.HandleFunc("GET /agency/v1/places", h.agencyAPI(h.apiPlaces))
	mux.HandleFunc("GET /agency/v1/places/{id}", h.agencyAPI(h.apiPlace))
	mux.HandleFunc("PUT /agency/v1/places/{id}", h.agencyAPI(h.apiPutPlace))
	mux.HandleFunc("POST /agency/v1/places/{id}/closures", h.agencyAPI(h.apiClose))
	mux.HandleFunc("GET /agency/v1/places/{id}/bookings", h.agencyAPI(h.apiDayBookings))
}

// placeZone is a place's location, Moscow when its zone cannot be loaded
// (validated when saved, so only a broken tzdata).
func placeZone(p *appointments.Place) *time.Location {
	if loc, err := time.LoadLocation(p.TZ); err == nil {
		return loc
	}
	return moscow
}

var weekdayOrder = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

// hoursText sums a week up, «Пн–Пт 08:00–20:00; Сб 10:00–17:00; Вс выходной».
func hoursText(l webui.Localizer, w appointments.Week) string {
	names := weekdayNames[langIndex(l)]
	var parts []string
	for i := 0; i < 7; {
		j := i
		for j+1 < 7 && w[weekdayOrder[j+1]].String() == w[weekdayOrder[i]].String() {
			j++
		}
		days := names[i]
		if j > i {
			days += "–" + names[j]
		}
		h := strings.ReplaceAll(strings.ReplaceAll(w[weekdayOrder[i]].String(), "-", "–"), ",", ", ")
		if h == "" {
			h = l.T("book.hours_closed")
		}
		parts = append(parts, days+" "+h)
		i = j + 1
	}
	return strings.Join(parts, "; ")
}

// bookStep is one step of the booking page's breadcrumb.
type bookStep struct {
	Label, Link string
	Current     bool
}

type placeItem struct {
	ID, Name, Address, Hours, Zone, Link string
}

type doctorItem struct {
	ID, Name, Specialty, Link string
}

type timeItem struct {
	Start, Label string
}

type timeGroup struct {
	ResourceID, Resource string
	Times                []timeItem
}

// bookView is the booking page at one of its steps.
type bookView struct {
	portalPage
	Service, ServiceID         string
	Step                       string
	Steps                      []bookStep
	Regions                    []option
	Specialty                  string
	Specialties                []option
	Places                     []placeItem
	Place                      *placeItem
	PlaceID                    string
	Doctors                    []doctorItem
	Doctor                     string
	Calendar                   *calendar
	Base                       string
	DayTitle                   string
	Groups                     []timeGroup
	Action                     string
	Rescheduling, RescheduleID string
	Version                    int64
}

// bookErrors are the booking's refusals as the page says them.
var bookErrors = map[string]string{"taken": "appts.taken", "not_offered": "appts.not_offered", "past": "appts.past", "changed": "appts.changed"}

func (h *Handler) showBook(w http.ResponseWriter, r *http.Request) {
	ctx, q := r.Context(), r.URL.Query()
	v := bookView{portalPage: h.page(r, "book.title"), Action: "/appointments"}
	l := v.L
	if key, ok := bookErrors[q.Get("err")]; ok {
		v.Error = l.T(key)
	}
	params := url.Values{}
	serviceID := q.Get("service")
	if id := q.Get("reschedule"); id != "" {
		b, err := h.appts.Mine(ctx, session(r).Subject, id)
		if err != nil || b.Status != appointments.Booked {
			h.bookingFail(w, r, err)
			return
		}
		serviceID, v.Rescheduling, v.RescheduleID, v.Version = b.ServiceID, b.Number, b.ID, b.Version
		v.Action = "/appointments/" + b.ID + "/reschedule"
		params.Set("reschedule", b.ID)
		q.Set("place", b.PlaceID)
	}
	s, err := h.service(r, serviceID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if s == nil {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	v.Service, v.ServiceID = s.Title.In(l.Lang), s.ID
	params.Set("service", s.ID)
	link := func(extra ...string) string {
		p := url.Values{}
		for k, vs := range params {
			p[k] = vs
		}
		for i := 0; i+1 < len(extra); i += 2 {
			p.Set(extra[i], extra[i+1])
		}
		return "/appointments/new?" + p.Encode()
	}
	region := q.Get("region")
	if region != "" {
		params.Set("region", region)
	}
	specialties, err := h.appts.Specialties(ctx, s.ID, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	doctors := len(specialties) > 0
	if doctors {
		v.Steps = append(v.Steps, bookStep{Label: l.T("book.step.specialty"), Link: link()})
		v.Specialty = q.Get("specialty")
		if !slices.Contains(specialties, v.Specialty) {
			v.Specialty = ""
		}
		if v.Specialty == "" && v.RescheduleID == "" {
			v.Step = "specialty"
			for _, sp := range specialties {
				v.Specialties = append(v.Specialties, option{Value: sp, Label: sp})
			}
			for i := range v.Specialties {
				v.Specialties[i].Value = link("specialty", v.Specialties[i].Label)
			}
			h.renderBook(w, r, v)
			return
		}
		params.Set("specialty", v.Specialty)
	}
	v.Steps = append(v.Steps, bookStep{Label: l.T("book.step.place"), Link: link()})
	places, err := h.appts.Places(ctx, appointments.Filter{ServiceID: s.ID})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var place *appointments.Place
	for i := range places {
		if places[i].ID == q.Get("place") {
			place = &places[i]
		}
	}
	if place == nil {
		v.Step = "place"
		seen := map[string]bool{}
		for _, p := range places {
			if !seen[p.Region] {
				seen[p.Region] = true
				v.Regions = append(v.Regions, option{Value: p.Region, Label: regionName(p.Region), Selected: p.Region == region})
			}
			if region != "" && p.Region != region {
				continue
			}
			if doctors {
				if rs, err := h.doctorsAt(ctx, p.ID, s.ID, v.Specialty); err != nil || len(rs) == 0 {
					continue
				}
			}
			v.Places = append(v.Places, placeItem{ID: p.ID, Name: p.Name, Address: p.Address, Hours: hoursText(l, p.Week), Link: link("place", p.ID)})
		}
		slices.SortFunc(v.Regions, func(a, b option) int { return strings.Compare(a.Label, b.Label) })
		h.renderBook(w, r, v)
		return
	}
	loc := placeZone(place)
	v.PlaceID = place.ID
	params.Set("place", place.ID)
	v.Place = &placeItem{ID: place.ID, Name: place.Name, Address: place.Address, Hours: hoursText(l, place.Week),
		Zone: receipts.ZoneLabel(h.now().In(loc)) + " (" + place.TZ + ")"}
	resourceID := ""
	if doctors {
		v.Steps = append(v.Steps, bookStep{Label: l.T("book.step.doctor"), Link: link()})
		rs, err := h.doctorsAt(ctx, place.ID, s.ID, v.Specialty)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, d := range rs {
			if d.ID == q.Get("resource") {
				resourceID, v.Doctor = d.ID, d.Name+", "+d.Specialty
			}
		}
		if resourceID == "" {
			v.Step = "doctor"
			for _, d := range rs {
				v.Doctors = append(v.Doctors, doctorItem{ID: d.ID, Name: d.Name, Specialty: d.Specialty, Link: link("resource", d.ID)})
			}
			h.renderBook(w, r, v)
			return
		}
		params.Set("resource", resourceID)
	}
	v.Steps = append(v.Steps, bookStep{Label: l.T("book.step.day"), Link: link()})
	v.Base = link()
	now := h.now().In(loc)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
	day := q.Get("day")
	if m, err := time.ParseInLocation("2006-01", q.Get("month"), loc); err == nil {
		month = m
	} else if d, err := time.ParseInLocation(time.DateOnly, day, loc); err == nil {
		month = time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, loc)
	}
	last := now.Add(h.appts.Horizon)
	if month.Before(time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)) || month.After(last) {
		month = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
	}
	days, err := h.appts.Days(ctx, place.ID, s.ID, resourceID, month.Year(), month.Month())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	free := map[string]int{}
	for _, d := range days {
		free[d.Date.String()] = d.Free
	}
	c := newCalendar(l, month, free, day, now, last)
	v.Calendar = &c
	v.Step = "day"
	if d, err := time.ParseInLocation(time.DateOnly, day, loc); err == nil {
		v.Step = "time"
		v.Steps = append(v.Steps, bookStep{Label: l.T("book.step.time")})
		v.DayTitle = d.Format("02.01.2006") + ", " + weekdayNames[langIndex(l)][(int(d.Weekday())+6)%7]
		slots, err := h.appts.Free(ctx, appointments.Query{PlaceID: place.ID, ServiceID: s.ID, ResourceID: resourceID, From: d, To: d.AddDate(0, 0, 1)})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		names, err := h.resourceNames(ctx, place.ID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		// A doctor is chosen by name; windows are alike: each time is
		// offered once and the booking takes whichever window is free.
		names[""] = l.T("book.any_window")
		groups := map[string]*timeGroup{}
		seen := map[string]bool{}
		for _, sl := range slots {
			key := sl.ResourceID
			if !doctors {
				key = ""
			}
			start := sl.Start.UTC().Format(time.RFC3339)
			if g := groups[key]; g == nil {
				groups[key] = &timeGroup{ResourceID: key, Resource: names[key]}
			}
			if seen[key+start] {
				continue
			}
			seen[key+start] = true
			g := groups[key]
			g.Times = append(g.Times, timeItem{Start: start, Label: sl.Start.In(loc).Format("15:04")})
		}
		for _, g := range groups {
			slices.SortFunc(g.Times, func(a, b timeItem) int { return strings.Compare(a.Start, b.Start) })
		}
		for _, g := range groups {
			v.Groups = append(v.Groups, *g)
		}
		slices.SortFunc(v.Groups, func(a, b timeGroup) int { return strings.Compare(a.Resource, b.Resource) })
	}
	v.Steps[len(v.Steps)-1].Current = true
	h.render.Render(w, r, http.StatusOK, "book", v)
}

func (h *Handler) renderBook(w http.ResponseWriter, r *http.Request, v bookView) {
	if len(v.Steps) > 0 {
		v.Steps[len(v.Steps)-1].Current = true
		v.Steps[len(v.Steps)-1].Link = ""
	}
	h.render.Render(w, r, http.StatusOK, "book", v)
}

// doctorsAt are a place's doctors of a specialty serving a service.
func (h *Handler) doctorsAt(ctx context.Context, placeID, serviceID, specialty string) ([]appointments.Resource, error) {
	rs, err := h.appts.Resources(ctx, placeID)
	if err != nil {
		return nil, err
	}
	var out []appointments.Resource
	for _, r := range rs {
		if r.Kind == appointments.ResDoctor && r.Specialty == specialty && slices.Contains(r.Services, serviceID) {
			out = append(out, r)
		}
	}
	return out, nil
}

// resourceNames names a place's resources, a doctor with the specialty.
func (h *Handler) resourceNames(ctx context.Context, placeID string) (map[string]string, error) {
	rs, err := h.appts.Resources(ctx, placeID)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, r := range rs {
		names[r.ID] = r.Name
		if r.Specialty != "" {
			names[r.ID] += ", " + r.Specialty
		}
	}
	return names, nil
}

// bookingForm reads the chosen time: resource and start (RFC 3339).
// An empty resource is any window free at that time.
func bookingForm(r *http.Request) (resource string, start time.Time, ok bool) {
	start, err := time.Parse(time.RFC3339, r.PostFormValue("start"))
	return r.PostFormValue("resource"), start, err == nil
}

// onResource runs take on resource, or, when it is "" (any window), on
// each resource free at start in turn until one is not taken meanwhile:
// the database's claims decide each try, so two citizens racing for the
// last window get one each or one a refusal, never the same seat.
func (h *Handler) onResource(ctx context.Context, place, service, resource string, start time.Time, take func(resource string) error) error {
	if resource != "" {
		return take(resource)
	}
	slots, err := h.appts.Free(ctx, appointments.Query{PlaceID: place, ServiceID: service, From: start, To: start.Add(time.Second)})
	if err != nil {
		return err
	}
	err = appointments.ErrSlotTaken
	for _, sl := range slots {
		if !sl.Start.Equal(start) {
			continue
		}
		if err = take(sl.ResourceID); !errors.Is(err, appointments.ErrSlotTaken) {
			return err
		}
	}
	return err
}

// bookingRefusal maps a refused booking to the page's message key, or "".
func bookingRefusal(err error) string {
	switch {
	case errors.Is(err, appointments.ErrSlotTaken):
		return "taken"
	case errors.Is(err, appointments.ErrNotOffered):
		return "not_offered"
	case errors.Is(err, appointments.ErrPast), errors.Is(err, appointments.ErrTooFar):
		return "past"
	case errors.Is(err, appointments.ErrConflict), errors.Is(err, appointments.ErrCutOff):
		return "changed"
	}
	return ""
}

// book takes the chosen time (POST /appointments).
func (h *Handler) book(w http.ResponseWriter, r *http.Request) {
	ctx, sub := r.Context(), session(r).Subject
	service, place := r.PostFormValue("service"), r.PostFormValue("place")
	resource, start, ok := bookingForm(r)
	back := url.Values{"service": {service}, "place": {place}}
	if !ok {
		back.Set("err", "not_offered")
		http.Redirect(w, r, "/appointments/new?"+back.Encode(), http.StatusSeeOther)
		return
	}
	var b *appointments.Booking
	err := h.onResource(ctx, place, service, resource, start, func(res string) (err error) {
		b, err = h.appts.Book(ctx, sub, place, res, service, start)
		return err
	})
	if errors.Is(err, appointments.ErrActiveExists) {
		h.activeExists(w, r, service)
		return
	}
	if key := bookingRefusal(err); key != "" {
		h.backToDay(w, r, back, resource, start, key)
		return
	}
	if err != nil {
		h.bookingFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/appointments/"+b.ID+"?done=booked", http.StatusSeeOther)
}

// backToDay returns to the day's times with the refusal said.
func (h *Handler) backToDay(w http.ResponseWriter, r *http.Request, back url.Values, resource string, start time.Time, key string) {
	loc := moscow
	if p, err := h.appts.Place(r.Context(), back.Get("place")); err == nil {
		loc = placeZone(p)
		if res, err := h.appts.Resource(r.Context(), resource); err == nil && res.Kind == appointments.ResDoctor {
			back.Set("specialty", res.Specialty)
			back.Set("resource", res.ID)
		}
	}
	back.Set("day", start.In(loc).Format(time.DateOnly))
	back.Set("err", key)
	http.Redirect(w, r, "/appointments/new?"+back.Encode(), http.StatusSeeOther)
}

// activeExists says the citizen has a booking of the service already.
func (h *Handler) activeExists(w http.ResponseWriter, r *http.Request, service string) {
	list, err := h.appts.List(r.Context(), session(r).Subject)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, b := range list {
		if b.ServiceID == service && b.Status == appointments.Booked {
			http.Redirect(w, r, "/appointments/"+b.ID+"?done=exists", http.StatusSeeOther)
			return
		}
	}
	h.render.ErrorPage(w, r, http.StatusConflict)
}

func (h *Handler) bookingFail(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil || errors.Is(err, appointments.ErrNotFound) {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	h.fail(w, r, err)
}

// bookingItem is a booking as lists, the ticket and notices show it.
type bookingItem struct {
	ID, Number, ServiceID, Service, PlaceID, Place, Address, Resource string
	When, Zone, Status, StatusKey                                     string
	Start                                                             time.Time
}

func (h *Handler) bookingItem(ctx context.Context, l webui.Localizer, b *appointments.Booking) bookingItem {
	it := bookingItem{ID: b.ID, Number: b.Number, ServiceID: b.ServiceID, Service: h.serviceTitle(ctx, l, b.ServiceID), PlaceID: b.PlaceID,
		Place: b.PlaceID, StatusKey: string(b.Status), Status: l.T("booking." + string(b.Status)), Start: b.Start}
	if b.Status == appointments.Cancelled && b.CancelReason == appointments.ByClosure {
		it.Status = l.T("booking.closure")
	}
	loc := moscow
	if p, err := h.appts.Place(ctx, b.PlaceID); err == nil {
		it.Place, it.Address, loc = p.Name, p.Address, placeZone(p)
	}
	if names, err := h.resourceNames(ctx, b.PlaceID); err == nil {
		it.Resource = names[b.ResourceID]
	}
	local := b.Start.In(loc)
	it.When = local.Format("02.01.2006 15:04")
	it.Zone = receipts.ZoneLabel(local)
	return it
}

type appointmentsView struct {
	portalPage
	Items []bookingItem
}

func (h *Handler) showAppointments(w http.ResponseWriter, r *http.Request) {
	v := appointmentsView{portalPage: h.page(r, "appts.title")}
	list, err := h.appts.List(r.Context(), session(r).Subject)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for i := range list {
		v.Items = append(v.Items, h.bookingItem(r.Context(), v.L, &list[i]))
	}
	h.render.Render(w, r, http.StatusOK, "appointments", v)
}

type bookingView struct {
	portalPage
	B                 bookingItem
	Active, CanChange bool
	CutOff            string
}

var bookingDone = map[string]string{"booked": "appts.booked", "rescheduled": "appts.rescheduled", "cancelled": "appts.cancelled"}

func (h *Handler) showBooking(w http.ResponseWriter, r *http.Request) {
	b, err := h.appts.Mine(r.Context(), session(r).Subject, r.PathValue("id"))
	if err != nil {
		h.bookingFail(w, r, err)
		return
	}
	v := bookingView{portalPage: h.page(r, "ticket.title")}
	v.B = h.bookingItem(r.Context(), v.L, b)
	v.Active = b.Status == appointments.Booked
	v.CanChange = v.Active && h.now().Add(h.appts.CutOff).Before(b.Start)
	v.CutOff = cutOffText(v.L, h.appts.CutOff)
	if key, ok := bookingDone[r.URL.Query().Get("done")]; ok {
		v.Notice = v.L.T(key)
	} else if r.URL.Query().Get("done") == "exists" {
		v.Error = v.L.T("appts.active_exists", b.Number)
	}
	h.render.Render(w, r, http.StatusOK, "booking", v)
}

// cutOffText is the cut-off in words: «2 ч», «30 мин».
func cutOffText(l webui.Localizer, d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d %s", int(d.Hours()), [2]string{"ч", "h"}[langIndex(l)])
	}
	return fmt.Sprintf("%d %s", int(d.Minutes()), [2]string{"мин", "min"}[langIndex(l)])
}

func (h *Handler) ticketPDF(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	b, err := h.appts.Mine(ctx, session(r).Subject, r.PathValue("id"))
	if err != nil {
		h.bookingFail(w, r, err)
		return
	}
	l := h.render.LocalizerFor("ru")
	it := h.bookingItem(ctx, l, b)
	t := receipts.TicketData{Number: b.Number, Service: it.Service, Place: it.Place, Address: it.Address, Resource: it.Resource,
		At: b.Start, IssuedAt: b.CreatedAt}
	if p, err := h.appts.Place(ctx, b.PlaceID); err == nil {
		t.At = b.Start.In(placeZone(p))
	}
	if res, err := h.appts.Resource(ctx, b.ResourceID); err == nil {
		t.Resource, t.Specialty = res.Name, res.Specialty
	}
	if s, err := h.service(r, b.ServiceID); err == nil && s != nil {
		t.Bring = bringList(s, l)
	}
	pdf, err := receipts.Ticket(t)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sendInline(w, "application/pdf", "talon-"+b.Number+".pdf", pdf)
}

// bringList is what to bring to a service's visit: an identity document,
// and the documents its application asks for.
func bringList(s *catalog.Service, l webui.Localizer) []string {
	out := []string{[2]string{"Паспорт гражданина РФ", "Russian passport"}[langIndex(l)]}
	for _, d := range s.Documents {
		if len(out) == 8 {
			break
		}
		out = append(out, d.Title.In(l.Lang))
	}
	return out
}

func (h *Handler) ticketQR(w http.ResponseWriter, r *http.Request) {
	b, err := h.appts.Mine(r.Context(), session(r).Subject, r.PathValue("id"))
	if err != nil {
		h.bookingFail(w, r, err)
		return
	}
	png, err := receipts.QRPNG(b.Number, 360)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(png)
}

// sendInline serves a file the browser may show (a PDF ticket).
func sendInline(w http.ResponseWriter, contentType, name string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `inline; filename="`+name+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(b)
}

func (h *Handler) cancelBooking(w http.ResponseWriter, r *http.Request) {
	b, err := h.appts.Cancel(r.Context(), session(r).Subject, r.PathValue("id"))
	if errors.Is(err, appointments.ErrCutOff) || errors.Is(err, appointments.ErrTransition) {
		http.Redirect(w, r, "/appointments/"+r.PathValue("id"), http.StatusSeeOther)
		return
	}
	if err != nil {
		h.bookingFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/appointments/"+b.ID+"?done=cancelled", http.StatusSeeOther)
}

func (h *Handler) reschedule(w http.ResponseWriter, r *http.Request) {
	ctx, sub, id := r.Context(), session(r).Subject, r.PathValue("id")
	old, err := h.appts.Mine(ctx, sub, id)
	if err != nil {
		h.bookingFail(w, r, err)
		return
	}
	back := url.Values{"service": {old.ServiceID}, "reschedule": {id}}
	resource, start, ok := bookingForm(r)
	var version int64
	if _, err := fmt.Sscan(r.PostFormValue("version"), &version); err != nil || !ok {
		back.Set("err", "not_offered")
		http.Redirect(w, r, "/appointments/new?"+back.Encode(), http.StatusSeeOther)
		return
	}
	var b *appointments.Booking
	err = h.onResource(ctx, old.PlaceID, old.ServiceID, resource, start, func(res string) (err error) {
		b, err = h.appts.Reschedule(ctx, sub, id, res, start, version)
		return err
	})
	if key := bookingRefusal(err); key != "" {
		back.Set("place", old.PlaceID)
		h.backToDay(w, r, back, resource, start, key)
		return
	}
	if err != nil {
		h.bookingFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/appointments/"+b.ID+"?done=rescheduled", http.StatusSeeOther)
}

// regionName names a region by its code, the code when unknown.
func regionName(code string) string {
	if n, ok := regionNames[code]; ok {
		return n
	}
	return code
}

var regionNames = map[string]string{
	"16": "Республика Татарстан", "23": "Краснодарский край", "25": "Приморский край", "39": "Калининградская область",
	"41": "Камчатский край", "47": "Ленинградская область", "50": "Московская область", "54": "Новосибирская область",
	"66": "Свердловская область", "77": "Москва", "78": "Санкт-Петербург",
}

// SeedSandbox gives the development mode something to book and to pay:
// the sandbox's places, windows and doctors (only into an empty schedule,
// so an officer's changes survive a restart) and demo fines for the
// driving licence 77 00 123456 (docs/portal.md).
func SeedSandbox(ctx context.Context, h *Handler) error {
	if h.appts == nil {
		return nil
	}
	if ps, err := h.appts.Places(ctx, appointments.Filter{}); err != nil {
		return err
	} else if len(ps) == 0 {
		if err := appointments.Seed(ctx, h.appts); err != nil {
			return err
		}
	}
	return seedCharges(ctx, h.pays, h.now())
}
