package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/portal/appointments"
)

// The agency API's places (docs/agency-api.yaml): an agency publishes a
// place with its weekly hours, dated exceptions, resources and service
// durations (PUT, the whole place at once), announces closures, and reads
// a day's bookings.

// apiPlaceBody is a place as the API writes and reads it.
type apiPlaceBody struct {
	ID         string            `json:"id,omitempty"`
	Agency     string            `json:"agency,omitempty"`
	Kind       string            `json:"kind"`
	Name       string            `json:"name"`
	Region     string            `json:"region"`
	Address    string            `json:"address"`
	Phone      string            `json:"phone,omitempty"`
	TimeZone   string            `json:"time_zone"`
	Hours      map[string]string `json:"hours"`
	Exceptions []apiException    `json:"exceptions,omitempty"`
	Resources  []apiResource     `json:"resources"`
	Durations  map[string]int    `json:"durations,omitempty"`
}

type apiException struct {
	Date  string `json:"date"`
	Hours string `json:"hours"`
	Note  string `json:"note,omitempty"`
}

type apiResource struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Name      string   `json:"name"`
	Specialty string   `json:"specialty,omitempty"`
	Step      int      `json:"step_minutes,omitempty"`
	Capacity  int      `json:"capacity,omitempty"`
	Services  []string `json:"services"`
}

// validationProblem answers 422 with every field to fix.
func (h *Handler) validationProblem(w http.ResponseWriter, fields []httpx.FieldProblem) {
	h.agencyProblem(w, "validation", http.StatusUnprocessableEntity, "", fields...)
}

func fieldProblems(prefix string, fs []appointments.FieldError) []httpx.FieldProblem {
	out := make([]httpx.FieldProblem, 0, len(fs))
	for _, f := range fs {
		out = append(out, httpx.FieldProblem{Name: prefix + f.Field, Detail: f.RU, DetailEN: f.EN})
	}
	return out
}

// decodeJSON reads a JSON body strictly (unknown fields refused), at most
// limit bytes; a problem is answered when it fails.
func (h *Handler) decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, limit))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		detail, detailEN := "тело запроса — не JSON этой схемы", "the body is not JSON of this schema"
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			detail, detailEN = "поле «"+te.Field+"»: неверный тип", "field “"+te.Field+"”: wrong type"
			h.validationProblem(w, []httpx.FieldProblem{{Name: te.Field, Detail: detail, DetailEN: detailEN}})
			return false
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			name := strings.Trim(f, `"`)
			h.validationProblem(w, []httpx.FieldProblem{{Name: name, Detail: "неизвестное поле", DetailEN: "unknown field"}})
			return false
		}
		h.agencyProblem(w, "invalid_request", http.StatusBadRequest, "", httpx.FieldProblem{Name: "body", Detail: detail, DetailEN: detailEN})
		return false
	}
	return true
}

// callAgencyOf picks the call's agency (the ?agency= parameter when the
// token has several).
func (h *Handler) callAgencyOf(w http.ResponseWriter, r *http.Request, c agencyCall) (string, bool) {
	return h.callAgency(w, c, r.URL.Query().Get("agency"))
}

// agencyPlace loads a place of the call's agencies; another's is 404.
func (h *Handler) agencyPlace(w http.ResponseWriter, r *http.Request, c agencyCall) (*appointments.Place, bool) {
	p, err := h.appts.Place(r.Context(), r.PathValue("id"))
	if err == nil && slices.Contains(c.agencies, p.Agency) {
		return p, true
	}
	if err != nil && !errors.Is(err, appointments.ErrNotFound) {
		h.apiFail(w, r, err)
		return nil, false
	}
	h.agencyProblem(w, "not_found", http.StatusNotFound, "no such place of the agency")
	return nil, false
}

func (h *Handler) placeBody(r *http.Request, p *appointments.Place) (apiPlaceBody, error) {
	b := apiPlaceBody{ID: p.ID, Agency: p.Agency, Kind: p.Kind, Name: p.Name, Region: p.Region, Address: p.Address, Phone: p.Phone,
		TimeZone: p.TZ, Hours: map[string]string{}, Resources: []apiResource{}}
	for i, wd := range weekdayOrder {
		b.Hours[weekdayKeys[i]] = p.Week[wd].String()
	}
	for _, x := range p.Exceptions {
		b.Exceptions = append(b.Exceptions, apiException{Date: x.Date.String(), Hours: x.Hours.String(), Note: x.Note})
	}
	rs, err := h.appts.Resources(r.Context(), p.ID)
	if err != nil {
		return b, err
	}
	for _, res := range rs {
		b.Resources = append(b.Resources, apiResource{ID: res.ID, Kind: res.Kind, Name: res.Name, Specialty: res.Specialty, Step: res.Step,
			Capacity: res.Capacity, Services: append([]string{}, res.Services...)})
	}
	return b, nil
}

func (h *Handler) apiPlaces(w http.ResponseWriter, r *http.Request, c agencyCall) {
	agency, ok := h.callAgencyOf(w, r, c)
	if !ok {
		return
	}
	ps, err := h.appts.Places(r.Context(), appointments.Filter{Agency: agency})
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	items := []apiPlaceBody{}
	for i := range ps {
		b, err := h.placeBody(r, &ps[i])
		if err != nil {
			h.apiFail(w, r, err)
			return
		}
		items = append(items, b)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (h *Handler) apiPlace(w http.ResponseWriter, r *http.Request, c agencyCall) {
	p, ok := h.agencyPlace(w, r, c)
	if !ok {
		return
	}
	b, err := h.placeBody(r, p)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, b)
}

// apiPutPlace publishes a place as a whole (PUT /agency/v1/places/{id}):
// the place, its resources (those left out are removed, unless they have
// bookings to come: 409) and its services' durations.
func (h *Handler) apiPutPlace(w http.ResponseWriter, r *http.Request, c agencyCall) {
	ctx, id := r.Context(), r.PathValue("id")
	agency, ok := h.callAgencyOf(w, r, c)
	if !ok {
		return
	}
	var body apiPlaceBody
	if !h.decodeJSON(w, r, 256<<10, &body) {
		return
	}
	old, err := h.appts.Place(ctx, id)
	switch {
	case err == nil && old.Agency != agency:
		h.agencyProblem(w, "not_found", http.StatusNotFound, "no such place of the agency")
		return
	case err != nil && !errors.Is(err, appointments.ErrNotFound):
		h.apiFail(w, r, err)
		return
	}
	p := appointments.Place{ID: id, Agency: agency, Kind: body.Kind, Name: body.Name, Region: body.Region, Address: body.Address, Phone: body.Phone, TZ: body.TimeZone}
	var fields []httpx.FieldProblem
	for key := range body.Hours {
		if !slices.Contains(weekdayKeys, key) {
			fields = append(fields, httpx.FieldProblem{Name: "hours." + key, Detail: "день недели: mon … sun", DetailEN: "a weekday: mon … sun"})
		}
	}
	for i, wd := range weekdayOrder {
		hours, err := appointments.ParseHours(body.Hours[weekdayKeys[i]])
		if err != nil {
			fields = append(fields, httpx.FieldProblem{Name: "hours." + weekdayKeys[i], Detail: "интервалы ЧЧ:ММ-ЧЧ:ММ по возрастанию через запятую, пусто — выходной",
				DetailEN: "ascending HH:MM-HH:MM intervals separated by commas; empty means closed"})
		}
		p.Week[wd] = hours
	}
	for i, x := range body.Exceptions {
		d, err := appointments.ParseDate(x.Date)
		if err != nil {
			fields = append(fields, httpx.FieldProblem{Name: fmt.Sprintf("exceptions[%d].date", i), Detail: "дата ГГГГ-ММ-ДД по местному календарю, без времени и часового пояса",
				DetailEN: "a YYYY-MM-DD date of the place's calendar, without time or zone"})
		}
		hours, err := appointments.ParseHours(x.Hours)
		if err != nil {
			fields = append(fields, httpx.FieldProblem{Name: fmt.Sprintf("exceptions[%d].hours", i), Detail: "интервалы ЧЧ:ММ-ЧЧ:ММ, пусто — выходной", DetailEN: "HH:MM-HH:MM intervals; empty means closed"})
		}
		p.Exceptions = append(p.Exceptions, appointments.Exception{Date: d, Hours: hours, Note: x.Note})
	}
	var ve *appointments.ValidationError
	if err := p.Validate(); errors.As(err, &ve) {
		fields = append(fields, fieldProblems("", ve.Fields)...)
	}
	resources := make([]appointments.Resource, len(body.Resources))
	for i, res := range body.Resources {
		resources[i] = appointments.Resource{ID: res.ID, PlaceID: id, Kind: res.Kind, Name: res.Name, Specialty: res.Specialty, Step: res.Step,
			Capacity: res.Capacity, Services: res.Services}
		if err := resources[i].Validate(); errors.As(err, &ve) {
			fields = append(fields, fieldProblems(fmt.Sprintf("resources[%d].", i), ve.Fields)...)
		}
		if other, err := h.appts.Resource(ctx, res.ID); err == nil && other.PlaceID != id {
			fields = append(fields, httpx.FieldProblem{Name: fmt.Sprintf("resources[%d].id", i), Detail: "идентификатор занят ресурсом другого места", DetailEN: "the id belongs to another place's resource"})
		}
	}
	for svc, minutes := range body.Durations {
		if minutes < 5 || minutes > 480 {
			fields = append(fields, httpx.FieldProblem{Name: "durations." + svc, Detail: "от 5 до 480 минут", DetailEN: "5 to 480 minutes"})
		}
	}
	if len(fields) > 0 {
		h.validationProblem(w, fields)
		return
	}
	if err := h.appts.SavePlace(ctx, p); err != nil {
		h.placeFail(w, r, err, "")
		return
	}
	keep := map[string]bool{}
	for i, res := range resources {
		keep[res.ID] = true
		if err := h.appts.SaveResource(ctx, res); err != nil {
			h.placeFail(w, r, err, fmt.Sprintf("resources[%d].", i))
			return
		}
	}
	current, err := h.appts.Resources(ctx, id)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	for _, res := range current {
		if keep[res.ID] {
			continue
		}
		if err := h.appts.DeleteResource(ctx, res.ID); errors.Is(err, appointments.ErrInUse) {
			h.agencyProblem(w, "conflict", http.StatusConflict, "resource "+res.ID+" has bookings to come: close it first (POST …/closures), then remove it")
			return
		} else if err != nil {
			h.apiFail(w, r, err)
			return
		}
	}
	for svc, minutes := range body.Durations {
		if err := h.appts.SetDuration(ctx, id, svc, minutes); err != nil {
			h.placeFail(w, r, err, "durations."+svc+".")
			return
		}
	}
	saved, err := h.appts.Place(ctx, id)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out, err := h.placeBody(r, saved)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	status := http.StatusOK
	if old == nil {
		status = http.StatusCreated
	}
	httpx.WriteJSON(w, status, out)
}

func (h *Handler) placeFail(w http.ResponseWriter, r *http.Request, err error, prefix string) {
	var ve *appointments.ValidationError
	if errors.As(err, &ve) {
		h.validationProblem(w, fieldProblems(prefix, ve.Fields))
		return
	}
	h.apiFail(w, r, err)
}

// apiTime reads an RFC 3339 time that must carry the place's own offset at
// that moment: "09:00+03:00" for a Vladivostok office is almost surely a
// Moscow clock misread, and is refused rather than closing the wrong hours.
func apiTime(raw string, loc *time.Location) (time.Time, *httpx.FieldProblem) {
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return t, &httpx.FieldProblem{Detail: "дата и время RFC 3339 со смещением, например 2026-12-10T09:00:00+10:00",
			DetailEN: "an RFC 3339 date-time with its offset, e.g. 2026-12-10T09:00:00+10:00"}
	}
	_, want := t.In(loc).Zone()
	if _, got := t.Zone(); got != want {
		local := t.In(loc).Format("-07:00")
		return t, &httpx.FieldProblem{Detail: "смещение не совпадает с часовым поясом места (" + loc.String() + ", " + local + ")",
			DetailEN: "the offset differs from the place's time zone (" + loc.String() + ", " + local + ")"}
	}
	return t, nil
}

// apiClose announces a closure (POST /agency/v1/places/{id}/closures).
func (h *Handler) apiClose(w http.ResponseWriter, r *http.Request, c agencyCall) {
	p, ok := h.agencyPlace(w, r, c)
	if !ok {
		return
	}
	var body struct {
		From     string `json:"from"`
		To       string `json:"to"`
		Resource string `json:"resource_id"`
		Reason   string `json:"reason"`
	}
	if !h.decodeJSON(w, r, 16<<10, &body) {
		return
	}
	loc := placeZone(p)
	var fields []httpx.FieldProblem
	from, fp := apiTime(body.From, loc)
	if fp != nil {
		fp.Name = "from"
		fields = append(fields, *fp)
	}
	to, fp := apiTime(body.To, loc)
	if fp != nil {
		fp.Name = "to"
		fields = append(fields, *fp)
	} else if len(fields) == 0 && !to.After(from) {
		fields = append(fields, httpx.FieldProblem{Name: "to", Detail: "конец позже начала", DetailEN: "after from"})
	}
	if strings.TrimSpace(body.Reason) == "" || len(body.Reason) > 300 {
		fields = append(fields, httpx.FieldProblem{Name: "reason", Detail: "от 1 до 300 знаков — её увидят граждане", DetailEN: "1 to 300 characters; citizens see it"})
	}
	if body.Resource != "" {
		if res, err := h.appts.Resource(r.Context(), body.Resource); err != nil || res.PlaceID != p.ID {
			fields = append(fields, httpx.FieldProblem{Name: "resource_id", Detail: "нет такого ресурса у места", DetailEN: "no such resource at the place"})
		}
	}
	if len(fields) > 0 {
		h.validationProblem(w, fields)
		return
	}
	var cancelled []appointments.Booking
	var err error
	if body.Resource != "" {
		cancelled, err = h.appts.CloseResource(r.Context(), body.Resource, from, to, body.Reason)
	} else {
		cancelled, err = h.appts.Close(r.Context(), p.ID, from, to, body.Reason)
	}
	if err != nil {
		h.placeFail(w, r, err, "")
		return
	}
	numbers := []string{}
	for _, b := range cancelled {
		numbers = append(numbers, b.Number)
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"cancelled": len(cancelled), "bookings": numbers})
}

type apiBooking struct {
	ID         string    `json:"id"`
	Number     string    `json:"number"`
	ServiceID  string    `json:"service_id"`
	ResourceID string    `json:"resource_id"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Status     string    `json:"status"`
	Version    int64     `json:"version"`
}

// apiDayBookings lists a day's bookings (GET …/bookings?date=YYYY-MM-DD).
func (h *Handler) apiDayBookings(w http.ResponseWriter, r *http.Request, c agencyCall) {
	p, ok := h.agencyPlace(w, r, c)
	if !ok {
		return
	}
	d, err := appointments.ParseDate(r.URL.Query().Get("date"))
	if err != nil {
		h.agencyProblem(w, "invalid_request", http.StatusBadRequest, "", httpx.FieldProblem{Name: "date",
			Detail: "дата ГГГГ-ММ-ДД по календарю места", DetailEN: "a YYYY-MM-DD date of the place's calendar"})
		return
	}
	list, err := h.appts.Day(r.Context(), p.ID, d)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	loc := placeZone(p)
	items := []apiBooking{}
	for _, b := range list {
		items = append(items, apiBooking{ID: b.ID, Number: b.Number, ServiceID: b.ServiceID, ResourceID: b.ResourceID,
			Start: b.Start.In(loc), End: b.End.In(loc), Status: string(b.Status), Version: b.Version})
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}
