package profile

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/webui"
)

// Sign-in history and the activity log.
//
//	GET /account/history        sign-ins of the last 90 days (filters: period, what), suspicious ones marked
//	GET /account/activity       every change to the account, by whom
//	GET /account/activity.csv   the same as CSV

// Events reads the sign-in history.
type Events interface {
	Events(ctx context.Context, accountID string, since time.Time, limit int) ([]account.Event, error)
}

const (
	historyDays  = 90
	historyLimit = 1000
)

type historyRow struct {
	At, What, Method, Result, IP, Device string
	Suspicious                           bool
}

type historyView struct {
	webui.Page
	Rows         []historyRow
	Days, Show   string
	DayChoices   []string
	ShowChoices  []string
	Truncated    bool
	SuspiciousN  int
	TotalInRange int
}

// historyKinds: event kinds the history shows, with their labels.
var historyKinds = map[string]string{
	account.EventSignIn: "his.kind.sign_in", account.EventSignInFailed: "his.kind.sign_in_failed",
	account.EventLocked: "his.kind.locked", account.EventSignOut: "his.kind.sign_out",
	account.EventRecovered: "his.kind.recovered", account.EventPasswordChanged: "his.kind.password_changed",
	"new_device": "his.kind.new_device", "mfa_enabled": "his.kind.mfa_enabled", "mfa_disabled": "his.kind.mfa_disabled",
	"backup_codes_renewed": "his.kind.backup_codes_renewed", "reauthenticated": "his.kind.reauthenticated",
}

func (h *Handler) showHistory(w http.ResponseWriter, r *http.Request, s *session.Session) {
	v := historyView{Page: h.page(r, "his.title", "history"), DayChoices: []string{"7", "30", "90"},
		ShowChoices: []string{"all", "sign_ins", "failures", "suspicious"}}
	q := r.URL.Query()
	v.Days, v.Show = q.Get("days"), q.Get("show")
	days := map[string]int{"7": 7, "30": 30, "90": 90}[v.Days]
	if days == 0 {
		v.Days, days = "90", historyDays
	}
	if v.Show != "sign_ins" && v.Show != "failures" && v.Show != "suspicious" {
		v.Show = "all"
	}
	events, err := h.Events.Events(r.Context(), s.AccountID, h.Now().Add(-time.Duration(days)*24*time.Hour), historyLimit)
	if err != nil {
		h.Log.ErrorContext(r.Context(), "sign-in history", "err", err)
		v.Error = v.L.T("acc.err.internal")
	}
	v.Truncated = len(events) == historyLimit
	for _, e := range events {
		label, shown := historyKinds[e.Kind]
		if !shown {
			continue
		}
		v.TotalInRange++
		sus := e.Suspicious()
		if sus {
			v.SuspiciousN++
		}
		switch v.Show {
		case "sign_ins":
			if e.Kind != account.EventSignIn && e.Kind != account.EventSignInFailed {
				continue
			}
		case "failures":
			if e.Result == account.ResultOK {
				continue
			}
		case "suspicious":
			if !sus {
				continue
			}
		}
		browser, system := webui.DescribeUA(e.UserAgent)
		row := historyRow{At: h.localTime(e.At), What: v.L.T(label), Method: methodLabel(e.Method, v.L), IP: e.IP,
			Device: browser + ", " + system, Result: v.L.T("his.result." + e.Result), Suspicious: sus}
		if e.Kind == account.EventLocked {
			// The lock-out "succeeded" only for the system: say what it did.
			row.Result = v.L.T("his.result.locked")
		}
		v.Rows = append(v.Rows, row)
	}
	h.render.Render(w, r, http.StatusOK, "history", v)
}

// methodLabel turns amr values ("pwd otp mfa") into words.
func methodLabel(method string, l webui.Localizer) string {
	if method == "" {
		return "—"
	}
	out := ""
	for _, m := range strings.Fields(method) {
		if m == "mfa" {
			continue
		}
		label := l.T("his.method." + m)
		if label == "his.method."+m {
			label = m
		}
		if out != "" {
			out += " + "
		}
		out += label
	}
	if out == "" {
		return method
	}
	r, n := utf8.DecodeRuneInString(out)
	return string(unicode.ToUpper(r)) + out[n:]
}

type activityRow struct {
	At, What, Who, IP string
}

type activityView struct {
	webui.Page
	Rows []activityRow
}

const activityLimit = 500

func (h *Handler) showActivity(w http.ResponseWriter, r *http.Request, s *session.Session) {
	v := activityView{Page: h.page(r, "act.title", "activity")}
	entries, err := h.Activity.List(r.Context(), s.AccountID, time.Time{}, activityLimit)
	if err != nil {
		h.Log.ErrorContext(r.Context(), "activity log", "err", err)
		v.Error = v.L.T("acc.err.internal")
	}
	for _, e := range entries {
		v.Rows = append(v.Rows, activityRow{At: h.localTime(e.At), What: e.Label(v.L.Lang), Who: audit.ActorLabel(e.Actor.Kind, v.L.Lang), IP: e.IP})
	}
	h.render.Render(w, r, http.StatusOK, "activity", v)
}

func (h *Handler) downloadActivity(w http.ResponseWriter, r *http.Request, s *session.Session) {
	entries, err := h.Activity.List(r.Context(), s.AccountID, time.Time{}, 0)
	if err != nil {
		h.internal(w, r, "activity log", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="gosid-activity.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	if err := audit.WriteCSV(w, entries, webui.Lang(r)); err != nil {
		h.Log.ErrorContext(r.Context(), "activity csv", "err", err)
	}
}
