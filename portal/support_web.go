package portal

import (
	"bytes"
	"context"
	"errors"
	"mime/multipart"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/applications"
	"github.com/gosid/gosid/portal/auth"
	"github.com/gosid/gosid/portal/support"
	"github.com/gosid/gosid/portal/upload"
)

// «Обратная связь»: a signed-in citizen writes to Gosid's support
// (portal/support) and follows the answer in «Мои обращения»; support
// staff answer at the console (support_console.go). Every error page links
// here.

// supportNewPath is the form, which every error page links to.
const supportNewPath = "/support/new"

// maxSupportBody bounds a form with files: the files' total and the text.
const maxSupportBody = upload.MaxTotalSize + 64<<10

// mountSupport serves the citizen's requests and the console.
func (h *Handler) mountSupport(mux *http.ServeMux) {
	h.support = support.NewStore(h.db, h.cfg.Sealer, h.now)
	h.support.OnChange = func(ctx context.Context, tx *sqldb.Tx, c support.Change) error {
		return h.addNotice(ctx, tx, notice{Subject: c.Subject, Kind: noticeSupport, Ref: c.ID, Status: string(c.Event),
			Params: map[string]string{"number": c.Number}})
	}
	signedIn := func(f http.HandlerFunc) http.HandlerFunc { return h.require(auth.Need{}, f) }
	mux.HandleFunc("GET /support", signedIn(h.showSupportList))
	mux.HandleFunc("GET /support/new", signedIn(h.showSupportNew))
	mux.HandleFunc("POST /support/new", signedIn(h.createSupport))
	mux.HandleFunc("GET /support/{id}", signedIn(h.showSupportRequest))
	mux.HandleFunc("POST /support/{id}/reply", signedIn(h.replySupport))
	mux.HandleFunc("POST /support/{id}/reopen", signedIn(h.replySupport))
	mux.HandleFunc("GET /support/{id}/files/{file}", signedIn(h.supportFile))
	h.mountSupportConsole(mux)
}

// registerSupport declares the sweep that closes requests resolved more
// than 14 days ago.
func (h *Handler) registerSupport(q *jobs.Queue) error {
	return q.AddPeriodic(jobs.Periodic{Name: "portal.support_close", Every: time.Hour, Run: h.CloseExpiredSupport})
}

// CloseExpiredSupport closes the support requests resolved more than 14
// days ago (the periodic sweep; tests call it after moving the clock).
func (h *Handler) CloseExpiredSupport(ctx context.Context) (int, error) {
	return h.support.CloseExpired(ctx, h.now())
}

// supportItem is one request in a list.
type supportItem struct {
	ID, Number, Topic, Status, StatusKey, Created, Updated, Age string
	Assignee                                                    string
}

func (h *Handler) supportItem(l webui.Localizer, r *support.Request) supportItem {
	return supportItem{ID: r.ID, Number: r.Number, Topic: l.T("topic." + r.Topic), Status: l.T("supportst." + string(r.Status)),
		StatusKey: string(r.Status), Created: moscowTime(r.CreatedAt), Updated: moscowTime(r.UpdatedAt), Age: ageText(l, h.now().Sub(r.CreatedAt))}
}

// ageText is how long a request has waited: «15 мин», «3 ч», «2 дн.».
func ageText(l webui.Localizer, d time.Duration) string {
	switch {
	case d < time.Hour:
		return l.T("console.minutes", max(0, int(d/time.Minute)))
	case d < 24*time.Hour:
		return l.T("console.hours", int(d/time.Hour))
	}
	return l.T("console.days", int(d/(24*time.Hour)))
}

type supportListView struct {
	portalPage
	Items []supportItem
	// Staff: the reader works at the console (its link).
	Staff bool
}

func (h *Handler) showSupportList(w http.ResponseWriter, r *http.Request) {
	v := supportListView{portalPage: h.page(r, "support.title"), Staff: isSupport(session(r))}
	list, err := h.support.List(r.Context(), session(r).Subject, 100)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, it := range list {
		v.Items = append(v.Items, h.supportItem(v.L, it))
	}
	h.render.Render(w, r, http.StatusOK, "support_list", v)
}

// supportNewView is the «Обратная связь» form.
type supportNewView struct {
	portalPage
	Topics []option
	Values map[string]string
	Errs   map[string]string
}

func (h *Handler) renderSupportNew(w http.ResponseWriter, r *http.Request, status int, values, errs map[string]string) {
	v := supportNewView{portalPage: h.page(r, "support.new_title"), Values: values, Errs: errs}
	for _, t := range support.Topics {
		v.Topics = append(v.Topics, option{Value: t, Label: v.L.T("topic." + t), Selected: t == values["topic"]})
	}
	if len(errs) > 0 {
		v.Error = v.L.T("support.fix")
	}
	h.render.Render(w, r, status, "support_new", v)
}

// refRe is an application's number.
var refRe = regexp.MustCompile(`^[1-9]\d{9}$`)

// showSupportNew shows the form, the contact pre-filled from the profile;
// ?ref=NUMBER (the application page's link) pre-fills a question about
// that application.
func (h *Handler) showSupportNew(w http.ResponseWriter, r *http.Request) {
	p := session(r).Profile
	values := map[string]string{"contact": p.Email}
	if values["contact"] == "" {
		values["contact"] = p.Phone
	}
	if ref := r.URL.Query().Get("ref"); refRe.MatchString(ref) {
		l := h.render.Localizer(r)
		values["ref"], values["topic"], values["description"] = ref, "applications", l.T("support.about", ref)+". "
	}
	h.renderSupportNew(w, r, http.StatusOK, values, nil)
}

// supportForm reads a multipart form of text and up to five files: the
// values, and the files checked (by content, size and total) but not
// stored. A problem is an error by field, named in the reader's language.
func (h *Handler) supportForm(w http.ResponseWriter, r *http.Request, textField string) (map[string]string, []upload.File, [][]byte, map[string]string) {
	l := h.render.Localizer(r)
	errs := map[string]string{}
	values := map[string]string{}
	r.Body = http.MaxBytesReader(w, r.Body, maxSupportBody)
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			errs["files"] = l.T("support.files") + ": " + l.Pick("вместе больше 20 МБ. Уменьшите файлы.", "more than 20 MB in all. Make the files smaller.")
		} else {
			errs["files"] = l.T("support.files") + ": " + l.Pick("форма пришла повреждённой, отправьте её снова.", "the form arrived damaged, send it again.")
		}
		return values, nil, nil, errs
	}
	if r.MultipartForm != nil {
		defer func() { _ = r.MultipartForm.RemoveAll() }()
	}
	for _, f := range []string{"topic", "description", "contact", "ref", "message", "version"} {
		values[f] = strings.TrimSpace(r.FormValue(f))
	}
	text := values[textField]
	label := l.T("support.description")
	if textField == "message" {
		label = l.T("support.message")
	}
	switch n := utf8.RuneCountInString(text); {
	case !utf8.ValidString(text):
		errs[textField] = label + ": " + l.Pick("текст повреждён.", "the text is damaged.")
	case n == 0:
		errs[textField] = label + ": " + l.Pick("напишите, в чём проблема или вопрос.", "write what the problem or question is.")
	case n > support.MaxBody:
		errs[textField] = label + ": " + l.Pick("больше 5 000 знаков ("+strconv.Itoa(n)+"). Сократите текст.", "more than 5,000 characters ("+strconv.Itoa(n)+"). Please shorten it.")
		values[textField] = string([]rune(text)[:support.MaxBody])
	}
	var headers []*multipart.FileHeader
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["files"] {
			if fh.Filename != "" || fh.Size > 0 {
				headers = append(headers, fh)
			}
		}
	}
	if len(headers) > support.MaxFiles {
		errs["files"] = l.T("support.files") + ": " + l.Pick("не больше 5 файлов.", "at most 5 files.")
		return values, nil, nil, errs
	}
	var files []upload.File
	var datas [][]byte
	var total int64
	for _, fh := range headers {
		f, err := fh.Open()
		if err != nil {
			h.log.WarnContext(r.Context(), "support file unreadable", "err", err)
			errs["files"] = l.T("support.files") + ": " + l.Pick("файл не прочитан, выберите его снова.", "a file could not be read, choose it again.")
			break
		}
		data, err := upload.Read("files", f)
		f.Close()
		var checked upload.File
		if err == nil {
			checked, err = upload.Check("files", fh.Filename, data)
		}
		if err == nil {
			err = upload.CheckTotal("files", total, int64(len(data)))
		}
		var ue *upload.Error
		if errors.As(err, &ue) {
			errs["files"] = l.T("support.files") + ": " + l.Pick(ue.Text[0], ue.Text[1])
			break
		} else if err != nil {
			errs["files"] = l.T("support.files") + ": " + l.Pick("файл не прочитан, выберите его снова.", "a file could not be read, choose it again.")
			break
		}
		total += int64(len(data))
		files, datas = append(files, checked), append(datas, data)
	}
	return values, files, datas, errs
}

// storeSupportFiles writes checked files' bytes before the transaction
// that records them; drop removes them if that transaction fails.
func (h *Handler) storeSupportFiles(ctx context.Context, files []upload.File, datas [][]byte) (stored []support.File, drop func(), err error) {
	drop = func() {
		for _, f := range stored {
			if err := h.blobs.Delete(context.WithoutCancel(ctx), f.BlobKey); err != nil {
				h.log.WarnContext(ctx, "support file bytes left behind", "err", err)
			}
		}
	}
	for i, f := range files {
		id := support.NewID()
		key := "support/" + id
		if _, err := h.blobs.Put(ctx, key, bytes.NewReader(datas[i]), int64(len(datas[i]))); err != nil {
			drop()
			return nil, func() {}, err
		}
		stored = append(stored, support.File{ID: id, Name: f.Name, ContentType: string(f.Type), Size: int64(len(datas[i])), BlobKey: key})
	}
	return stored, drop, nil
}

// dropUnlessCommitted removes the files stored for a transaction that
// failed — but not when its commit's outcome is unknown: rows that may
// exist must not point to missing bytes (bytes without rows are only
// wasted space).
func dropUnlessCommitted(err error, drop func()) {
	if err != nil && !errors.Is(err, sqldb.ErrCommitUnknown) {
		drop()
	}
}

// createSupport registers a request (POST /support/new, multipart: topic,
// description, contact, ref, files): every field checked and named on a
// problem; files stored, then the request with its notice in one
// transaction; on its failure the files are removed.
func (h *Handler) createSupport(w http.ResponseWriter, r *http.Request) {
	sess := session(r)
	l := h.render.Localizer(r)
	values, files, datas, errs := h.supportForm(w, r, "description")
	if !slices.Contains(support.Topics, values["topic"]) {
		errs["topic"] = l.T("support.topic") + ": " + l.Pick("выберите тему из списка.", "choose one from the list.")
	}
	contact, err := support.ParseContact(values["contact"])
	if err != nil {
		errs["contact"] = l.T("support.contact") + ": " + l.Pick("укажите адрес электронной почты (name@example.ru) или номер мобильного телефона (+7 900 000-00-00).",
			"enter an e-mail address (name@example.ru) or a mobile phone number (+7 900 000-00-00).")
	}
	if ref := values["ref"]; ref != "" {
		if !refRe.MatchString(ref) {
			errs["ref"] = l.T("support.ref") + ": " + l.Pick("10 цифр, как в разделе «Мои заявления».", "10 digits, as under «My applications».")
		} else if a, err := h.apps.ByNumber(r.Context(), ref); errors.Is(err, applications.ErrNotFound) || (err == nil && a.Subject != sess.Subject) {
			errs["ref"] = l.T("support.ref") + ": " + l.Pick("среди ваших заявлений такого номера нет.", "none of your applications has this number.")
		} else if err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if len(errs) > 0 {
		if len(files) > 0 && errs["files"] == "" {
			errs["files"] = l.T("support.files") + ": " + l.T("support.files_again")
		}
		h.renderSupportNew(w, r, http.StatusUnprocessableEntity, values, errs)
		return
	}
	stored, drop, err := h.storeSupportFiles(r.Context(), files, datas)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := h.support.Create(r.Context(), support.Draft{Subject: sess.Subject, Topic: values["topic"], Ref: values["ref"], Contact: contact,
		Body: values["description"], Files: stored})
	if err != nil {
		dropUnlessCommitted(err, drop)
		h.fail(w, r, err)
		return
	}
	webui.Redirect(w, r, "/support/"+req.ID+"?created=1")
}

// messageView is one message of a conversation as a page shows it.
type messageView struct {
	At, Who, Body, Kind string
	Files               []fileView
}

func (h *Handler) messageViews(l webui.Localizer, thread []support.Message, staffView bool) []messageView {
	var out []messageView
	for _, m := range thread {
		mv := messageView{At: moscowTime(m.At), Body: m.Body, Kind: string(m.Author)}
		switch m.Author {
		case support.Citizen:
			mv.Who = l.T("support.you")
			if staffView {
				mv.Who = l.T("console.citizen")
			}
		case support.Staff:
			mv.Who = l.T("support.staff")
		default:
			mv.Who = l.T("support.system")
			if support.ClosedNote(m) {
				mv.Body = l.T("support.closed_note")
			}
		}
		for _, f := range m.Files {
			mv.Files = append(mv.Files, fileView{ID: f.ID, Name: f.Name, Size: sizeText(l, f.Size)})
		}
		out = append(out, mv)
	}
	return out
}

// supportRequestView is one request as its citizen sees it.
type supportRequestView struct {
	portalPage
	R        *support.Request
	Item     supportItem
	Thread   []messageView
	CanReply bool
	// CanReopen: resolved less than 14 days ago, until ReopenUntil.
	CanReopen   bool
	ReopenUntil string
	TooLate     bool
	Values      map[string]string
	Errs        map[string]string
	// FileBase prefixes the files' links; MessageValue is the message
	// typed before an error.
	FileBase, MessageValue string
}

func (h *Handler) mySupport(w http.ResponseWriter, r *http.Request) (*support.Request, bool) {
	req, err := h.support.Mine(r.Context(), session(r).Subject, r.PathValue("id"))
	if errors.Is(err, support.ErrNotFound) {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return nil, false
	} else if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return req, true
}

func (h *Handler) showSupportRequest(w http.ResponseWriter, r *http.Request) {
	if req, ok := h.mySupport(w, r); ok {
		h.renderSupportRequest(w, r, http.StatusOK, req, nil, nil)
	}
}

func (h *Handler) renderSupportRequest(w http.ResponseWriter, r *http.Request, status int, req *support.Request, values, errs map[string]string) {
	v := supportRequestView{portalPage: h.page(r, "support.title"), R: req, Values: values, Errs: errs, FileBase: "/support/" + req.ID,
		MessageValue: values["message"]}
	l := v.L
	v.Page.Title = l.T("support.number", req.Number)
	v.Item = h.supportItem(l, req)
	now := h.now()
	v.CanReply = req.Status.Open()
	v.CanReopen = req.CanReopen(now)
	v.TooLate = req.Status == support.Resolved && !v.CanReopen
	if v.CanReopen {
		v.ReopenUntil = moscowTime(req.ResolvedAt.Add(support.ReopenWindow))
	}
	if r.URL.Query().Get("created") == "1" && status == http.StatusOK {
		v.Notice = l.T("support.registered", req.Number)
	}
	if len(errs) > 0 && v.Error == "" {
		v.Error = l.T("support.fix")
	}
	thread, err := h.support.Thread(r.Context(), req.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Thread = h.messageViews(l, thread, false)
	h.render.Render(w, r, status, "support_request", v)
}

// replySupport adds the citizen's message (POST /support/{id}/reply) or
// reopens a resolved request with it (POST /support/{id}/reopen),
// multipart: message, version, files.
func (h *Handler) replySupport(w http.ResponseWriter, r *http.Request) {
	req, ok := h.mySupport(w, r)
	if !ok {
		return
	}
	l := h.render.Localizer(r)
	reopen := strings.HasSuffix(r.URL.Path, "/reopen")
	values, files, datas, errs := h.supportForm(w, r, "message")
	if len(errs) > 0 {
		if len(files) > 0 && errs["files"] == "" {
			errs["files"] = l.T("support.files") + ": " + l.T("support.files_again")
		}
		h.renderSupportRequest(w, r, http.StatusUnprocessableEntity, req, values, errs)
		return
	}
	version, _ := strconv.ParseInt(values["version"], 10, 64)
	stored, drop, err := h.storeSupportFiles(r.Context(), files, datas)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sub := session(r).Subject
	if reopen {
		_, err = h.support.Reopen(r.Context(), sub, req.ID, version, values["message"], stored)
	} else {
		_, err = h.support.Reply(r.Context(), sub, req.ID, version, values["message"], stored)
	}
	dropUnlessCommitted(err, drop)
	switch {
	case errors.Is(err, support.ErrConflict), errors.Is(err, support.ErrTransition):
		fresh, ferr := h.support.Mine(r.Context(), sub, req.ID)
		if ferr != nil {
			h.fail(w, r, ferr)
			return
		}
		msg := l.T("support.changed")
		if errors.Is(err, support.ErrTransition) {
			msg = l.T("support.not_allowed")
			if reopen && fresh.Status == support.Resolved {
				msg = l.T("support.reopen_late")
			}
		}
		h.renderSupportRequest(w, r, http.StatusConflict, fresh, values, map[string]string{"message": msg})
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	webui.Redirect(w, r, "/support/"+req.ID)
}

// supportFile sends a file of the citizen's own request.
func (h *Handler) supportFile(w http.ResponseWriter, r *http.Request) {
	if req, ok := h.mySupport(w, r); ok {
		h.sendSupportFile(w, r, req.ID, r.PathValue("file"))
	}
}

// sendSupportFile sends one file of a request, read whole before the
// first byte goes out.
func (h *Handler) sendSupportFile(w http.ResponseWriter, r *http.Request, id, fileID string) {
	f, err := h.support.File(r.Context(), id, fileID)
	if errors.Is(err, support.ErrNotFound) {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	data, err := h.blobBytes(r.Context(), f.BlobKey)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctype := f.ContentType
	switch upload.Type(ctype) {
	case upload.PDF, upload.JPEG, upload.PNG:
	default:
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+f.Name+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(data)
}
