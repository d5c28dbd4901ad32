package portal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/applications"
	"github.com/gosid/gosid/portal/auth"
	"github.com/gosid/gosid/portal/catalog/search"
	"github.com/gosid/gosid/portal/upload"
)

// The agencies' back-office /office: officers (the identity provider's
// staff role "officer" of an agency, in the gosid_roles claim) work their
// agency's queue. Every page needs a sign-in with a second factor.

// officeNeed is what the back-office asks of the sign-in. That staff are
// confirmed is the identity provider's rule: below confirmed it reports
// no roles (gosid_roles), and the back-office lets in no one without.
var officeNeed = auth.Need{MFA: true}

// agencies are the codes of the agencies the signed-in citizen is an
// officer of.
func agencies(sess *auth.Session) []string {
	var out []string
	for _, r := range sess.Profile.Roles {
		if r.Role == "officer" && !slices.Contains(out, r.Org) {
			out = append(out, r.Org)
		}
	}
	slices.Sort(out)
	return out
}

// officeView is an agency's queue.
type officeView struct {
	portalPage
	Agency   string
	Agencies []option
	Status   string
	Statuses []option
	Items    []officeItem
	Next     string
}

type officeItem struct {
	ID, Number, Title, Status, StatusKey, Submitted, Due string
	Overdue                                              bool
}

// officePage is how many applications a queue page lists.
const officePage = 50

func (h *Handler) showOffice(w http.ResponseWriter, r *http.Request) {
	mine := agencies(session(r))
	if len(mine) == 0 {
		h.render.ErrorPage(w, r, http.StatusForbidden)
		return
	}
	q := r.URL.Query()
	v := officeView{portalPage: h.page(r, "office.title"), Agency: q.Get("agency"), Status: q.Get("status")}
	if !slices.Contains(mine, v.Agency) {
		v.Agency = mine[0]
	}
	names := map[string]string{}
	if ix, err := h.searcher.Index(r.Context()); err == nil {
		for _, res := range ix.Search(search.Query{}) {
			names[res.Service.Agency.Code] = res.Service.Agency.Name.In(v.L.Lang)
		}
	}
	for _, a := range mine {
		label := a
		if n := names[a]; n != "" {
			label = n
		}
		v.Agencies = append(v.Agencies, option{Value: a, Label: label, Selected: a == v.Agency})
	}
	statuses := map[string][]applications.Status{"": nil, "received": {applications.Received}, "in_review": {applications.InReview},
		"info_requested": {applications.InfoRequested}, "approved": {applications.Approved}, "refused": {applications.Refused},
		"cancelled": {applications.Cancelled}}
	want, ok := statuses[v.Status]
	if !ok {
		v.Status, want = "", nil
	}
	l := v.L
	v.Statuses = append(v.Statuses, option{Value: "", Label: l.T("office.open"), Selected: v.Status == ""})
	for _, st := range []string{"received", "in_review", "info_requested", "approved", "refused", "cancelled"} {
		v.Statuses = append(v.Statuses, option{Value: st, Label: l.T("status." + st), Selected: st == v.Status})
	}
	var after *applications.Application
	if id := q.Get("after"); id != "" {
		a, err := h.apps.Get(r.Context(), id)
		if err == nil && a.Agency == v.Agency {
			after = a
		}
	}
	list, err := h.apps.Queue(r.Context(), v.Agency, want, after, officePage+1)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(list) > officePage {
		list = list[:officePage]
		v.Next = "/office?" + url.Values{"agency": {v.Agency}, "status": {v.Status}, "after": {list[len(list)-1].ID}}.Encode()
	}
	now := h.now()
	for _, it := range h.appItems(r, list) {
		a := list[len(v.Items)]
		v.Items = append(v.Items, officeItem{ID: it.ID, Number: it.Number, Title: it.Title, Status: it.Status, StatusKey: it.StatusKey,
			Submitted: moscowTime(a.SubmittedAt), Due: a.DueAt.In(moscow).Format("02.01.2006"), Overdue: a.Overdue(now)})
	}
	h.render.Render(w, r, http.StatusOK, "office", v)
}

// theirs loads an application of the officer's agencies: another
// agency's, or none, is 404.
func (h *Handler) theirs(w http.ResponseWriter, r *http.Request) (*applications.Application, bool) {
	a, err := h.apps.Get(r.Context(), r.PathValue("id"))
	if err == nil && slices.Contains(agencies(session(r)), a.Agency) && a.Status != applications.Draft {
		return a, true
	}
	if err != nil && !errors.Is(err, applications.ErrNotFound) {
		h.fail(w, r, err)
		return nil, false
	}
	h.render.ErrorPage(w, r, http.StatusNotFound)
	return nil, false
}

// officeAppView is an application as its officer sees it.
type officeAppView struct {
	portalPage
	A *applications.Application
	// Service is the service's title; the page's is the application's
	// number.
	Service string
	Status  string
	Fields  []formField
	Files   []fileView
	History []eventView
	Overdue bool
	Due     string
	// What the officer may do now.
	Take, Ask, Decide bool
	// SignResult: an approval brings the result's signature file too
	// (outside development mode, where the sandbox agency does not sign).
	SignResult bool
	Err        map[string]string
	// Comment is what the officer typed, shown again with a refused
	// decision.
	Comment string
}

func (h *Handler) showOfficeApp(w http.ResponseWriter, r *http.Request) {
	a, ok := h.theirs(w, r)
	if ok {
		h.renderOfficeApp(w, r, http.StatusOK, a, nil)
	}
}

func (h *Handler) renderOfficeApp(w http.ResponseWriter, r *http.Request, status int, a *applications.Application, errs map[string]string) {
	s, err := h.service(r, a.ServiceID)
	if err != nil || s == nil {
		h.fail(w, r, errors.New("service of an application missing"))
		return
	}
	l := h.render.Localizer(r)
	v := officeAppView{portalPage: h.page(r, "office.title"), A: a, Service: s.Title.In(l.Lang), Status: l.T("status." + string(a.Status)),
		Fields: h.formFields(l, s, a.Values, nil), Overdue: a.Overdue(h.now()), Due: a.DueAt.In(moscow).Format("02.01.2006"),
		Take: a.Status == applications.Received, Ask: a.Status == applications.InReview,
		Decide: a.Status == applications.InReview || a.Status == applications.InfoRequested, SignResult: !h.cfg.Sandbox, Err: errs}
	v.Page.Title = l.T("office.app", a.Number)
	if len(errs) > 0 {
		v.Error = l.T("apps.fix")
		v.Comment = r.PostFormValue("comment")
	}
	if v.Files, err = h.files(r.Context(), l, a.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	hist, err := h.apps.History(r.Context(), a.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, e := range hist {
		who := l.T("actor." + string(e.Actor.Kind))
		if e.Actor.Kind == applications.Citizen {
			who = l.T("office.citizen")
		}
		v.History = append(v.History, eventView{At: moscowTime(e.At), Status: l.T("status." + string(e.Status)), Who: who, Comment: e.Comment})
	}
	h.render.Render(w, r, status, "office_app", v)
}

// dropStored removes what an approval stored (its result and signature)
// when the approval did not happen.
func (h *Handler) dropStored(ctx context.Context, appID string, ids []string) {
	for _, id := range ids {
		if id == "" {
			continue
		}
		if err := h.dropFile(context.WithoutCancel(ctx), appID, id); err != nil {
			h.log.WarnContext(ctx, "result of an approval that did not happen left", "err", err)
		}
	}
}

// formFile reads the multipart form's file field name, at most limit
// bytes; a missing, empty or longer file is an error.
func formFile(r *http.Request, name string, limit int64) ([]byte, error) {
	f, _, err := r.FormFile(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	switch {
	case err != nil:
		return nil, err
	case len(data) == 0 || int64(len(data)) > limit:
		return nil, fmt.Errorf("%s: %d bytes", name, len(data))
	}
	return data, nil
}

func (h *Handler) officeFile(w http.ResponseWriter, r *http.Request) {
	if a, ok := h.theirs(w, r); ok {
		h.sendFile(w, r, a.ID, r.PathValue("file"))
	}
}

// officeMove changes an application's status (POST
// /office/applications/{id}/move: to, version, comment, and for approval
// the result document): take into work, ask for more information,
// approve with a result, refuse with a reason. Of two officers acting on
// the version they saw, one wins; the other is told (409).
func (h *Handler) officeMove(w http.ResponseWriter, r *http.Request) {
	a, ok := h.theirs(w, r)
	if !ok {
		return
	}
	l := h.render.Localizer(r)
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBody)
	to := applications.Status(r.FormValue("to"))
	comment := strings.TrimSpace(r.FormValue("comment"))
	errs := map[string]string{}
	if len([]rune(comment)) > 2000 {
		errs["comment"] = l.Pick("Комментарий длиннее 2000 знаков.", "The comment is longer than 2000 characters.")
	}
	if (to == applications.InfoRequested || to == applications.Refused) && comment == "" {
		errs["comment"] = l.Pick("Напишите, что нужно от заявителя или почему отказано: он увидит этот текст.",
			"Write what the applicant must provide or why the application is refused: they will see it.")
	}
	var result *upload.File
	var data []byte
	if to == applications.Approved {
		file, hdr, err := r.FormFile("result")
		if err != nil {
			errs["result"] = l.Pick("Приложите результат — документ PDF.", "Attach the result, a PDF document.")
		} else {
			defer file.Close()
			data, err = upload.Read("result", file)
			var f upload.File
			if err == nil {
				f, err = upload.Check("result", hdr.Filename, data)
			}
			var ue *upload.Error
			switch {
			case errors.As(err, &ue):
				errs["result"] = l.Pick(ue.Text[0], ue.Text[1])
			case err != nil:
				h.fail(w, r, err)
				return
			case f.Type != upload.PDF:
				errs["result"] = l.Pick("Результат — только PDF.", "The result must be a PDF.")
			default:
				result = &f
			}
		}
	}
	var sig []byte
	if to == applications.Approved && !h.cfg.Sandbox {
		// The agency's detached signature of the result, made by its own
		// signing software: judged before anything is stored.
		var err error
		if sig, err = formFile(r, "signature", maxResultSignature); err != nil {
			errs["signature"] = l.Pick("Приложите файл открепленной подписи результата (.sig) — не больше 128 КБ.",
				"Attach the result's detached signature file (.sig), at most 128 KB.")
		} else if result != nil {
			_, refused, err := h.judgeResultSignature(r, a, data, sig)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			if refused != nil {
				errs["signature"] = l.Pick(refused.text[0], refused.text[1]+".")
			}
		}
	}
	if len(errs) > 0 {
		h.renderOfficeApp(w, r, http.StatusUnprocessableEntity, a, errs)
		return
	}
	version, _ := strconv.ParseInt(r.FormValue("version"), 10, 64)
	var stored []string
	if result != nil {
		// The result first: an approval never lacks its document.
		var err error
		stored, err = h.storeResult(r.Context(), a.ID, result.Name, data)
		if err == nil && sig != nil {
			var id string
			id, err = h.storeFile(r.Context(), a.ID, kindSignature, result.Name+".sig", signatureType, sig)
			stored = append(stored, id)
		}
		if err != nil {
			h.dropStored(r.Context(), a.ID, stored)
			h.fail(w, r, err)
			return
		}
	}
	_, err := h.apps.Move(r.Context(), a.ID, "", version, a.Status, to, applications.Actor{Kind: applications.Officer, ID: session(r).Subject}, comment)
	switch {
	case errors.Is(err, applications.ErrTransition), errors.Is(err, applications.ErrConflict):
		h.dropStored(r.Context(), a.ID, stored)
		v := l.Pick("Заявление уже изменил другой сотрудник или система ведомства. Обновите страницу.",
			"Another officer or the agency's system changed the application meanwhile. Reload the page.")
		fresh, _ := h.apps.Get(r.Context(), a.ID)
		if fresh == nil {
			fresh = a
		}
		h.renderOfficeApp(w, r, http.StatusConflict, fresh, map[string]string{"to": v})
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	if len(stored) > 0 {
		h.supersede(r.Context(), a.ID, stored, kindResult, kindSignature)
	}
	webui.Redirect(w, r, "/office/applications/"+a.ID)
}
