package portal

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/auth"
	"github.com/gosid/gosid/portal/support"
)

// The support console /support/console: Gosid's support staff (the
// identity provider's role "support" in the gosid_roles claim) work the
// citizens' requests, oldest first. Every page needs a sign-in with a
// second factor; anyone else gets 403. Staff see the citizen's contact
// only masked: the answer reaches the citizen through the request and
// the portal's notices.

// consoleNeed is what the console asks of the sign-in (the level: see
// officeNeed).
var consoleNeed = auth.Need{MFA: true}

// isSupport reports whether the signed-in account holds the role
// "support" (of any organisation).
func isSupport(sess *auth.Session) bool {
	return sess != nil && slices.ContainsFunc(sess.Profile.Roles, func(r auth.Role) bool { return r.Role == "support" })
}

func (h *Handler) mountSupportConsole(mux *http.ServeMux) {
	// A signed-in account without the role is refused at once (403), not
	// sent to add a second factor it would not need; staff meet the
	// second factor first.
	staff := func(f http.HandlerFunc) http.HandlerFunc {
		need := h.require(consoleNeed, func(w http.ResponseWriter, r *http.Request) {
			if !isSupport(session(r)) {
				h.render.ErrorPage(w, r, http.StatusForbidden)
				return
			}
			f(w, r)
		})
		return func(w http.ResponseWriter, r *http.Request) {
			if sess := session(r); sess != nil && !isSupport(sess) {
				h.render.ErrorPage(w, r, http.StatusForbidden)
				return
			}
			need(w, r)
		}
	}
	mux.HandleFunc("GET /support/console", staff(h.showConsole))
	mux.HandleFunc("GET /support/console/{id}", staff(h.showConsoleRequest))
	mux.HandleFunc("GET /support/console/{id}/files/{file}", staff(h.consoleFile))
	mux.HandleFunc("POST /support/console/{id}/take", staff(h.consoleTake))
	mux.HandleFunc("POST /support/console/{id}/answer", staff(h.consoleAnswer))
	mux.HandleFunc("POST /support/console/{id}/resolve", staff(h.consoleAnswer))
}

// consoleView is the queue.
type consoleView struct {
	portalPage
	Statuses, Topics, Whose []option
	Items                   []supportItem
}

func (h *Handler) showConsole(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := consoleView{portalPage: h.page(r, "console.title")}
	l := v.L
	f := support.Filter{Limit: 200}
	status := q.Get("status")
	v.Statuses = append(v.Statuses, option{Value: "", Label: l.T("console.open"), Selected: status == ""})
	for _, st := range support.Statuses() {
		v.Statuses = append(v.Statuses, option{Value: string(st), Label: l.T("supportst." + string(st)), Selected: string(st) == status})
		if string(st) == status {
			f.Statuses = []support.Status{st}
		}
	}
	topic := q.Get("topic")
	v.Topics = append(v.Topics, option{Value: "", Label: l.T("console.any"), Selected: topic == ""})
	for _, t := range support.Topics {
		v.Topics = append(v.Topics, option{Value: t, Label: l.T("topic." + t), Selected: t == topic})
		if t == topic {
			f.Topic = t
		}
	}
	whose := q.Get("whose")
	for _, o := range []string{"", "mine", "unassigned"} {
		key := "console.all"
		if o != "" {
			key = "console." + o
		}
		v.Whose = append(v.Whose, option{Value: o, Label: l.T(key), Selected: o == whose})
	}
	me := session(r).Subject
	switch whose {
	case "mine":
		f.Assignee = me
	case "unassigned":
		f.Unassigned = true
	}
	list, err := h.support.Queue(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, req := range list {
		it := h.supportItem(l, req)
		switch req.Assignee {
		case "":
			it.Assignee = l.T("console.nobody")
		case me:
			it.Assignee = l.T("console.you")
		default:
			it.Assignee = "…" + req.Assignee[max(0, len(req.Assignee)-4):]
		}
		v.Items = append(v.Items, it)
	}
	h.render.Render(w, r, http.StatusOK, "support_console", v)
}

// consoleRequestView is one request as support staff see it.
type consoleRequestView struct {
	portalPage
	R       *support.Request
	Item    supportItem
	Contact string
	Thread  []messageView
	// What staff may do now.
	Take, Answer bool
	Templates    []option
	TemplateLang []option
	Errs         map[string]string
	// FileBase prefixes the files' links; MessageValue pre-fills the
	// answer (a template, or what was typed before an error).
	FileBase, MessageValue string
}

func (h *Handler) consoleRequest(w http.ResponseWriter, r *http.Request) (*support.Request, bool) {
	req, err := h.support.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, support.ErrNotFound) {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return nil, false
	} else if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return req, true
}

func (h *Handler) showConsoleRequest(w http.ResponseWriter, r *http.Request) {
	if req, ok := h.consoleRequest(w, r); ok {
		h.renderConsoleRequest(w, r, http.StatusOK, req, "", nil)
	}
}

// renderConsoleRequest shows a request to staff; ?template=KEY&tlang=ru|en
// pre-fills the answer with a canned one (no script needed).
func (h *Handler) renderConsoleRequest(w http.ResponseWriter, r *http.Request, status int, req *support.Request, answer string, errs map[string]string) {
	v := consoleRequestView{portalPage: h.page(r, "console.title"), R: req, Contact: req.Contact.Masked(), Errs: errs,
		Take: req.Status == support.New, Answer: req.Status == support.InProgress || req.Status == support.AwaitingReply, MessageValue: answer,
		FileBase: "/support/console/" + req.ID}
	l := v.L
	v.Page.Title = l.T("console.request", req.Number)
	v.Item = h.supportItem(l, req)
	q := r.URL.Query()
	tlang := q.Get("tlang")
	if tlang != "en" {
		tlang = "ru"
	}
	for _, t := range supportTemplates {
		v.Templates = append(v.Templates, option{Value: t.Key, Label: l.T("tpl." + t.Key), Selected: t.Key == q.Get("template")})
		if t.Key == q.Get("template") && answer == "" {
			v.MessageValue = t.Text[0]
			if tlang == "en" {
				v.MessageValue = t.Text[1]
			}
		}
	}
	v.TemplateLang = []option{{Value: "ru", Label: "Русский", Selected: tlang == "ru"}, {Value: "en", Label: "English", Selected: tlang == "en"}}
	if len(errs) > 0 && v.Error == "" {
		v.Error = l.T("support.fix")
	}
	thread, err := h.support.Thread(r.Context(), req.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Thread = h.messageViews(l, thread, true)
	h.render.Render(w, r, status, "support_console_request", v)
}

func (h *Handler) consoleFile(w http.ResponseWriter, r *http.Request) {
	if req, ok := h.consoleRequest(w, r); ok {
		h.sendSupportFile(w, r, req.ID, r.PathValue("file"))
	}
}

// consoleTake takes a new request (POST /support/console/{id}/take:
// version). Of two staff taking it at once one wins; the other sees the
// request as it is now, with a 409.
func (h *Handler) consoleTake(w http.ResponseWriter, r *http.Request) {
	req, ok := h.consoleRequest(w, r)
	if !ok {
		return
	}
	version, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	_, err := h.support.Take(r.Context(), req.ID, version, session(r).Subject)
	h.consoleDone(w, r, req, "", err)
}

// consoleDone ends a console action: back to the request, or, when
// another specialist acted first, the request as it is now with a 409.
func (h *Handler) consoleDone(w http.ResponseWriter, r *http.Request, req *support.Request, answer string, err error) {
	switch {
	case errors.Is(err, support.ErrConflict), errors.Is(err, support.ErrTransition):
		fresh, ferr := h.support.Get(r.Context(), req.ID)
		if ferr != nil {
			h.fail(w, r, ferr)
			return
		}
		l := h.render.Localizer(r)
		h.renderConsoleRequest(w, r, http.StatusConflict, fresh, answer, map[string]string{"action": l.T("console.taken")})
	case err != nil:
		h.fail(w, r, err)
	default:
		webui.Redirect(w, r, "/support/console/"+req.ID)
	}
}

// consoleAnswer answers (POST /support/console/{id}/answer, multipart:
// message, version, await=1 to wait for the citizen, files) or resolves
// (POST /support/console/{id}/resolve, the message optional).
func (h *Handler) consoleAnswer(w http.ResponseWriter, r *http.Request) {
	req, ok := h.consoleRequest(w, r)
	if !ok {
		return
	}
	resolve := r.URL.Path == "/support/console/"+req.ID+"/resolve"
	values, files, datas, errs := h.supportForm(w, r, "message")
	if resolve && values["message"] == "" && len(errs) == 1 && errs["message"] != "" {
		delete(errs, "message") // closing words are optional
	}
	if len(errs) > 0 {
		h.renderConsoleRequest(w, r, http.StatusUnprocessableEntity, req, values["message"], errs)
		return
	}
	version, _ := strconv.ParseInt(values["version"], 10, 64)
	stored, drop, err := h.storeSupportFiles(r.Context(), files, datas)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	me := session(r).Subject
	if resolve {
		_, err = h.support.Resolve(r.Context(), req.ID, version, me, values["message"], stored)
	} else {
		_, err = h.support.Answer(r.Context(), req.ID, version, me, values["message"], stored, r.FormValue("await") == "1")
	}
	dropUnlessCommitted(err, drop)
	h.consoleDone(w, r, req, values["message"], err)
}
