package profile

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/webui"
)

// The citizen's data: a JSON download of everything held about them, and
// account deletion.
//
//	GET  /account/data              what is held, the download, deletion
//	GET  /account/export.json       the download
//	POST /account/delete/start      confirmation: a code to the phone or e-mail (or the authenticator app)
//	POST /account/delete            with the code: deletion is scheduled DeletionGrace ahead,
//	                                every session ends; a sign-in before then cancels it
//	GET  /account/deleted           what happens next, for the signed-out browser
//
// When the grace period is over, the sweeper erases the person data
// (account.Store.Erase); the activity log keeps the account's random id.
// Both deletion steps need a fresh session (Deps.Reauth).

const dataPath = "/account/data"

// DataDeps are the data page's dependencies (on Deps).
type DataDeps struct {
	// Grace is how long a requested deletion waits (30 days).
	Grace time.Duration
	// EndAll ends every session of the account.
	EndAll func(ctx context.Context, accountID, exceptID string) (int, error)
	// Extra adds the other modules' data to the export (passkeys, second
	// factors), keyed by section name.
	Extra func(ctx context.Context, accountID string) (map[string]any, error)
}

const deletePurpose = "delete"

type dataView struct {
	webui.Page
	DeleteAfter string
	Step        string // "" or "confirm"
	Method      string // totp, phone, email
	Masked      string
	Challenge   string
}

func (h *Handler) dataPage(r *http.Request, a *account.Account) dataView {
	v := dataView{Page: h.page(r, "data.title", "data")}
	if !a.DeleteAfter.IsZero() {
		v.DeleteAfter = a.DeleteAfter.In(h.msk).Format("02.01.2006")
	}
	return v
}

func (h *Handler) showData(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	// Coming back here ends a deletion's confirmation in progress.
	h.endFlow(w, r, deleteFlow)
	v := h.dataPage(r, a)
	h.render.Render(w, r, http.StatusOK, "data", v)
}

// export is the downloaded document. Field names are stable: the format
// is documented by this type.
type export struct {
	Format     string            `json:"format"`
	ExportedAt time.Time         `json:"exported_at"`
	Account    exportAccount     `json:"account"`
	Sessions   []exportSession   `json:"sessions"`
	SignIns    []exportEvent     `json:"sign_in_history"`
	Sharing    []exportGrant     `json:"data_sharing"`
	Activity   []exportActivity  `json:"activity_log"`
	Other      map[string]any    `json:"other,omitempty"`
	Notes      map[string]string `json:"notes"`
}

type exportAccount struct {
	ID              string          `json:"id"`
	Status          account.Status  `json:"status"`
	Level           assurance.Level `json:"level"`
	CreatedAt       time.Time       `json:"created_at"`
	Name            exportName      `json:"name"`
	BirthDate       string          `json:"birth_date,omitempty"`
	Gender          string          `json:"gender,omitempty"`
	SNILS           string          `json:"snils,omitempty"`
	INN             string          `json:"inn,omitempty"`
	Passport        *exportPassport `json:"passport,omitempty"`
	Phone           *exportContact  `json:"phone,omitempty"`
	Email           *exportContact  `json:"email,omitempty"`
	SecondFactor    string          `json:"second_factor,omitempty"`
	NotifyNewDevice bool            `json:"notify_new_device"`
	IdleTimeoutMin  int             `json:"idle_timeout_minutes,omitempty"`
	PendingChange   *exportChange   `json:"pending_change,omitempty"`
	DeleteAfter     *time.Time      `json:"delete_after,omitempty"`
	PasswordSetAt   time.Time       `json:"password_changed_at"`
	ConsentVersion  string          `json:"consent_version,omitempty"`
	ConsentAt       time.Time       `json:"consent_at"`
}

// The account's own types carry no JSON names (or carry the stored
// format's): the export spells every key in snake_case with these.

type exportName struct {
	Family string `json:"family_name"`
	Given  string `json:"given_name"`
	Middle string `json:"middle_name,omitempty"`
}

func newExportName(n account.Name) exportName { return exportName{n.Family, n.Given, n.Middle} }

type exportPassport struct {
	Series       string `json:"series"`
	Number       string `json:"number"`
	IssueDate    string `json:"issue_date,omitempty"`
	Issuer       string `json:"issuer"`
	DivisionCode string `json:"division_code"`
}

func newExportPassport(p *account.Passport) *exportPassport {
	if p == nil {
		return nil
	}
	return &exportPassport{Series: p.Series, Number: p.Number, IssueDate: exportDate(p.IssueDate), Issuer: p.Issuer, DivisionCode: p.DivisionCode}
}

type exportContact struct {
	Value      string     `json:"value"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
}

func newExportContact(c account.Contact) *exportContact {
	if c.Value == "" {
		return nil
	}
	x := &exportContact{Value: c.Value}
	if c.Verified() {
		x.VerifiedAt = &c.VerifiedAt
	}
	return x
}

type exportChange struct {
	Name        *exportName     `json:"name,omitempty"`
	BirthDate   string          `json:"birth_date,omitempty"`
	SNILS       string          `json:"snils,omitempty"`
	Passport    *exportPassport `json:"passport,omitempty"`
	RequestedAt time.Time       `json:"requested_at"`
}

func newExportChange(p *account.PersonChange) *exportChange {
	if p == nil {
		return nil
	}
	x := &exportChange{BirthDate: exportDate(p.BirthDate), SNILS: p.SNILS, Passport: newExportPassport(p.Passport), RequestedAt: p.RequestedAt}
	if p.Name != nil {
		n := newExportName(*p.Name)
		x.Name = &n
	}
	return x
}

// exportDate is a date as ISO 8601 (2006-01-02), "" for none.
func exportDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}

type exportSession struct {
	Started  time.Time `json:"started"`
	LastSeen time.Time `json:"last_seen"`
	IP       string    `json:"ip"`
	Device   string    `json:"user_agent"`
	Methods  []string  `json:"methods"`
}

type exportEvent struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	Result string    `json:"result"`
	Method string    `json:"method,omitempty"`
	IP     string    `json:"ip,omitempty"`
	Device string    `json:"user_agent,omitempty"`
	Flags  string    `json:"flags,omitempty"`
}

type exportGrant struct {
	Site      string    `json:"site"`
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes"`
	GrantedAt time.Time `json:"granted_at"`
}

type exportActivity struct {
	At     time.Time         `json:"at"`
	Action string            `json:"action"`
	Actor  string            `json:"actor"`
	IP     string            `json:"ip,omitempty"`
	Detail map[string]string `json:"detail,omitempty"`
}

func (h *Handler) downloadExport(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	x := export{Format: "gosid-personal-data/1", ExportedAt: h.Now().UTC(), Notes: map[string]string{
		"ru": "Все данные, которые Gosid хранит о вас. Пароль, коды и ключи хранятся только в виде хешей или в зашифрованном виде и в выгрузку не входят.",
		"en": "Everything Gosid holds about you. Passwords, codes and keys are kept only as hashes or encrypted and are not included.",
	}}
	x.Account = exportAccount{ID: a.ID, Status: a.Status, Level: a.Level, CreatedAt: a.CreatedAt, Name: newExportName(a.Name), Gender: a.Gender,
		BirthDate: exportDate(a.BirthDate), SNILS: a.SNILS, INN: a.INN, Passport: newExportPassport(a.Passport), SecondFactor: a.MFA,
		NotifyNewDevice: a.NotifyNewDevice, IdleTimeoutMin: int(a.IdleTimeout / time.Minute), PendingChange: newExportChange(a.Pending),
		PasswordSetAt: a.PasswordChangedAt, ConsentVersion: a.ConsentVersion, ConsentAt: a.ConsentAt,
		Phone: newExportContact(a.Phone), Email: newExportContact(a.Email)}
	if !a.DeleteAfter.IsZero() {
		x.Account.DeleteAfter = &a.DeleteAfter
	}
	var errs []error
	sessions, err := h.Centre.Sessions.List(ctx, a.ID)
	errs = append(errs, err)
	for _, s := range sessions {
		x.Sessions = append(x.Sessions, exportSession{s.CreatedAt, s.LastSeenAt, s.IP, s.UserAgent, s.AMR})
	}
	events, err := h.Events.Events(ctx, a.ID, time.Time{}, 100000)
	errs = append(errs, err)
	for _, e := range events {
		x.SignIns = append(x.SignIns, exportEvent{e.At, e.Kind, e.Result, e.Method, e.IP, e.UserAgent, e.Flags})
	}
	grants, err := h.Centre.Grants.Grants(ctx, a.ID)
	errs = append(errs, err)
	for _, g := range grants {
		x.Sharing = append(x.Sharing, exportGrant{g.ClientName, g.ClientID, g.Scopes, g.GrantedAt})
	}
	entries, err := h.Activity.List(ctx, a.ID, time.Time{}, 0)
	errs = append(errs, err)
	for _, e := range entries {
		x.Activity = append(x.Activity, exportActivity{e.At, e.Action, e.Actor.Kind, e.IP, e.Detail})
	}
	if h.Data.Extra != nil {
		x.Other, err = h.Data.Extra(ctx, a.ID)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		// An incomplete export would mislead: refuse it.
		h.internal(w, r, "personal data export", err)
		return
	}
	body, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		h.internal(w, r, "personal data export", err)
		return
	}
	h.record(r, a.ID, audit.ActionExportDownloaded, nil)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="gosid-personal-data.json"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// deleteMethod is how the deletion is confirmed: the authenticator app if
// the account has one, else a code to the verified phone, else the e-mail.
func deleteMethod(a *account.Account) (method, to string) {
	switch {
	case a.MFA == account.MFATOTP:
		return "totp", ""
	case a.Phone.Verified():
		return account.Phone, a.Phone.Value
	case a.Email.Verified():
		return account.Email, a.Email.Value
	}
	return "", ""
}

func (h *Handler) startDelete(w http.ResponseWriter, r *http.Request) {
	a, ok := h.sensitive(w, r, dataPath)
	if !ok {
		return
	}
	v := h.dataPage(r, a)
	method, to := deleteMethod(a)
	v.Step, v.Method, v.Masked = "confirm", method, maskContact(method, to)
	switch method {
	case "":
		v.Step, v.Error = "", v.L.T("data.delete.no_method")
		h.render.Render(w, r, http.StatusConflict, "data", v)
		return
	case account.Phone, account.Email:
		ch := message.SMS
		if method == account.Email {
			ch = message.Email
		}
		id, err := h.Security.Codes.Issue(r.Context(), codestep.Send{Purpose: deletePurpose, Channel: ch, To: to,
			IP: httpx.ClientIP(r), Lang: webui.Lang(r), Kind: notice.KindCodeLogin})
		if err != nil {
			v.Step, v.Error = "", codestep.Explain(err, v.L)
			h.render.Render(w, r, h.Security.Codes.Refusal(r.Context(), w, err), "data", v)
			return
		}
		v.Challenge = id
	}
	h.goToDeleteStep(w, r, a, v.Challenge)
}

func (h *Handler) submitDelete(w http.ResponseWriter, r *http.Request) {
	a, ok := h.sensitive(w, r, dataPath)
	if !ok {
		return
	}
	ctx := r.Context()
	v := h.dataPage(r, a)
	v.Form = webui.NewForm(r)
	method, to := deleteMethod(a)
	v.Step, v.Method, v.Masked, v.Challenge = "confirm", method, maskContact(method, to), r.PostFormValue("challenge")
	var err error
	switch {
	case strings.TrimSpace(r.PostFormValue("backup_code")) != "" && a.MFA != "":
		err = h.Security.Backup.Use(ctx, a.ID, strings.TrimSpace(r.PostFormValue("backup_code")))
	case method == "totp":
		err = h.Security.TOTP.Verify(ctx, a.ID, strings.TrimSpace(r.PostFormValue("code")))
	case method != "":
		err = h.Security.Codes.CheckForm(r, v.Challenge, deletePurpose, to)
	default:
		err = errors.New("no confirmation method")
	}
	if err != nil && !codestep.Judged(err) {
		h.internal(w, r, "check the deletion's code", err)
		return
	}
	if err != nil {
		msg := codestep.Explain(err, v.L)
		if method == "totp" || msg == v.L.T("code.err.internal") {
			msg = v.L.T("sec.err.code")
		}
		v.Form.Fail("code", msg)
		h.render.Render(w, r, http.StatusUnprocessableEntity, "data", v)
		return
	}
	after := h.Now().Add(h.Data.Grace)
	err = h.Activity.Change(ctx, h.entry(r, a.ID, audit.ActionDeletionRequested, map[string]string{"erase_after": after.UTC().Format(time.DateOnly)}),
		func(s *account.Store) error { return s.RequestDeletion(ctx, a.ID, after) })
	if err != nil {
		h.internal(w, r, "request deletion", err)
		return
	}
	h.endFlow(w, r, deleteFlow)
	date := after.In(h.msk).Format("02.01.2006")
	h.Notifier.Account(ctx, a, notice.KindNoticeDeletionRequested, v.L.Lang, map[string]string{"date": date})
	// Every session ends, this one too, and the sites that got tokens in
	// them are told through their back-channel.
	sessions, err := h.Centre.Sessions.List(ctx, a.ID)
	if err != nil {
		h.Log.ErrorContext(ctx, "list sessions after deletion request", "err", err)
	}
	if _, err := h.Data.EndAll(ctx, a.ID, ""); err != nil {
		h.Log.ErrorContext(ctx, "end sessions after deletion request", "err", err)
	}
	for _, s := range sessions {
		if h.Centre.Ended != nil {
			if err := h.Centre.Ended(ctx, a.ID, s.ID); err != nil {
				h.Log.ErrorContext(ctx, "after ending a session", "err", err)
			}
		}
	}
	webui.Redirect(w, r, "/account/deleted?date="+date)
}

type deletedView struct {
	webui.Page
	Date string
}

func (h *Handler) showDeleted(w http.ResponseWriter, r *http.Request) {
	v := deletedView{Page: h.render.NewPage(r, "data.deleted.title")}
	if d, err := time.Parse("02.01.2006", r.URL.Query().Get("date")); err == nil {
		v.Date = d.Format("02.01.2006")
	}
	h.render.Render(w, r, http.StatusOK, "deleted", v)
}
