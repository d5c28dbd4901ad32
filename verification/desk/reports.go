package desk

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gosid/gosid/idp/staff"
)

// MaxReportDays bounds a report's date range.
const MaxReportDays = 366

type reportView struct {
	deskPage
	From, To string
	Rows     []Tally
	Total    Tally
	CSV      string
}

// reportRange reads ?from=&to= (ДД.ММ.ГГГГ or ISO dates, Moscow days,
// both included): the last 7 days by default.
func (h *Handler) reportRange(r *http.Request) (from, to time.Time, ok bool) {
	today := time.Date(h.d.Now().In(h.msk).Year(), h.d.Now().In(h.msk).Month(), h.d.Now().In(h.msk).Day(), 0, 0, 0, 0, h.msk)
	from, to = today.AddDate(0, 0, -6), today
	parse := func(s string, into *time.Time) bool {
		if s == "" {
			return true
		}
		for _, layout := range []string{"02.01.2006", time.DateOnly} {
			if t, err := time.ParseInLocation(layout, s, h.msk); err == nil {
				*into = t
				return true
			}
		}
		return false
	}
	q := r.URL.Query()
	ok = parse(q.Get("from"), &from) && parse(q.Get("to"), &to) && !to.Before(from) && to.Sub(from) <= MaxReportDays*24*time.Hour
	return from, to, ok
}

// supervised is the office of a reports request: one where the member is
// supervisor.
func (h *Handler) supervised(w http.ResponseWriter, r *http.Request) (staff.Member, staff.Org, bool) {
	m, ok := staff.FromContext(r.Context())
	if !ok {
		http.Error(w, "forbidden", http.StatusForbidden)
		return m, staff.Org{}, false
	}
	orgs := m.In(staff.RoleSupervisor)
	want := r.URL.Query().Get("org")
	for _, o := range orgs {
		if want == "" || o.Code == want {
			return m, o, true
		}
	}
	v := h.deskPage(r, "dk.reports.title", m, staff.Org{})
	v.Error = v.L.T("dk.err.notsupervisor")
	h.desk.Render(w, r, http.StatusForbidden, "refused", v)
	return m, staff.Org{}, false
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request) (reportView, bool) {
	m, o, ok := h.supervised(w, r)
	if !ok {
		return reportView{}, false
	}
	v := reportView{deskPage: h.deskPage(r, "dk.reports.title", m, o)}
	from, to, ok := h.reportRange(r)
	if !ok {
		v.Error = v.L.T("dk.err.range", MaxReportDays)
		from, to, _ = h.reportRange(&http.Request{URL: &url.URL{}})
	}
	v.From, v.To = from.Format("02.01.2006"), to.Format("02.01.2006")
	rows, err := h.store.Daily(r.Context(), o.Code, from, to.AddDate(0, 0, 1), h.msk)
	if err != nil {
		h.fail(w, r, "desk report", err)
		return v, false
	}
	names := map[string]string{}
	for i, t := range rows {
		if _, ok := names[t.OperatorID]; !ok {
			names[t.OperatorID] = t.OperatorID
			if a, err := h.d.Accounts.Get(r.Context(), t.OperatorID); err == nil {
				names[t.OperatorID] = a.Name.Full()
			}
		}
		rows[i].Operator = names[t.OperatorID]
		if d, err := time.Parse(time.DateOnly, t.Day); err == nil {
			rows[i].Day = d.Format("02.01.2006")
		}
	}
	v.Rows = rows
	for _, t := range rows {
		v.Total.Confirmed += t.Confirmed
		v.Total.Refused += t.Refused
		v.Total.Viewed += t.Viewed
		v.Total.Corrected += t.Corrected
		v.Total.Checked += t.Checked
		v.Total.AccessCodes += t.AccessCodes
	}
	v.CSV = "/desk/reports.csv?org=" + o.Code + "&from=" + v.From + "&to=" + v.To
	return v, true
}

func (h *Handler) showReports(w http.ResponseWriter, r *http.Request) {
	v, ok := h.report(w, r)
	if !ok {
		return
	}
	h.desk.Render(w, r, http.StatusOK, "reports", v)
}

// reportsCSV is the report for Excel: UTF-8 with a byte-order mark (Excel
// reads UTF-8 only with it), «;» between fields (the separator Excel
// expects where the decimal mark is a comma, as in Russia), Russian
// headers.
func (h *Handler) reportsCSV(w http.ResponseWriter, r *http.Request) {
	v, ok := h.report(w, r)
	if !ok {
		return
	}
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	cw := csv.NewWriter(&buf)
	cw.Comma = ';'
	cw.UseCRLF = true
	_ = cw.Write([]string{"Дата", "Офис", "Оператор", "Подтверждения", "Отказы", "Просмотры данных", "Исправления паспорта", "Проверки в реестрах", "Коды доступа"})
	for _, t := range v.Rows {
		_ = cw.Write([]string{t.Day, v.Org.Code, t.Operator, strconv.Itoa(t.Confirmed), strconv.Itoa(t.Refused),
			strconv.Itoa(t.Viewed), strconv.Itoa(t.Corrected), strconv.Itoa(t.Checked), strconv.Itoa(t.AccessCodes)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		h.fail(w, r, "desk report csv", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="desk-`+v.Org.Code+`-`+v.From+`-`+v.To+`.csv"`)
	_, _ = w.Write(buf.Bytes())
}
