package portal

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/applications"
	"github.com/gosid/gosid/portal/auth"
	"github.com/gosid/gosid/portal/catalog"
	"github.com/gosid/gosid/portal/sandbox"
	"github.com/gosid/gosid/portal/upload"
)

// needOfService is what a service asks of the sign-in.
func needOfService(s *catalog.Service) auth.Need {
	n := auth.Need{MFA: s.SecondFactor}
	if s.Level != catalog.LevelSimplified {
		n.Level = string(s.Level)
	}
	return n
}

// profileValues are the profile's fields as a form pre-fills them
// (catalog.ProfileFields), dates as the forms write them.
func profileValues(p auth.Profile) map[string]string {
	birth := p.Birthdate
	if t, err := time.Parse(time.DateOnly, birth); err == nil {
		birth = t.Format("02.01.2006")
	}
	return map[string]string{"family_name": p.FamilyName, "given_name": p.GivenName, "middle_name": p.MiddleName,
		"birthdate": birth, "snils": p.SNILS, "inn": p.INN, "passport": p.Passport, "phone": p.Phone, "email": p.Email,
		"address": p.Address}
}

func (h *Handler) service(r *http.Request, id string) (*catalog.Service, error) {
	ix, err := h.searcher.Index(r.Context())
	if err != nil {
		return nil, err
	}
	return ix.Get(id), nil
}

// apply starts a draft of a service's application, pre-filled from the
// profile (POST /services/{id}/apply). A citizen below the service's level
// or without its second factor steps up first and comes back to the
// service's page.
func (h *Handler) apply(w http.ResponseWriter, r *http.Request) {
	sess := session(r)
	s, err := h.service(r, r.PathValue("id"))
	switch {
	case err != nil:
		h.fail(w, r, err)
		return
	case s == nil || s.Kind != catalog.KindApplication && s.Kind != catalog.KindCertificate:
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return
	case sess == nil || !sess.Meets(needOfService(s)):
		webui.Redirect(w, r, loginPath("/services/"+s.ID, needOfService(s)))
		return
	}
	a, err := h.apps.CreateDraft(r.Context(), sess.Subject, s.ID, s.Agency.Code, catalog.Prefill(s.Form, profileValues(sess.Profile)))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	webui.Redirect(w, r, "/applications/"+a.ID)
}

// fail answers a page whose work failed: 503 with Retry-After when the
// database did not answer (a restart, a lost connection, an exhausted
// pool: the same request works a moment later, and nothing the citizen
// typed was judged), else 500.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if sqldb.Unavailable(err) {
		h.log.WarnContext(r.Context(), "portal page: database unavailable", "path", r.URL.Path, "err", err)
		webui.Overloaded(w, err) // an overload's own Retry-After
		h.render.ErrorPage(w, r, http.StatusServiceUnavailable)
		return
	}
	h.log.ErrorContext(r.Context(), "portal page", "path", r.URL.Path, "err", err)
	h.render.ErrorPage(w, r, http.StatusInternalServerError)
}

// mine loads the signed-in citizen's application of the path, answering
// 404 for another's (its existence is not confirmed) and for none.
func (h *Handler) mine(w http.ResponseWriter, r *http.Request) (*applications.Application, *catalog.Service, bool) {
	return h.mineOr(w, r, "")
}

// mineOr is mine sending the browser to gone, when set, instead of
// answering 404 for an application that is not (or no longer) the
// citizen's.
func (h *Handler) mineOr(w http.ResponseWriter, r *http.Request, gone string) (*applications.Application, *catalog.Service, bool) {
	a, err := h.apps.Mine(r.Context(), session(r).Subject, r.PathValue("id"))
	if errors.Is(err, applications.ErrNotFound) {
		if gone != "" {
			webui.Redirect(w, r, gone)
		} else {
			h.render.ErrorPage(w, r, http.StatusNotFound)
		}
		return nil, nil, false
	}
	if err != nil {
		h.fail(w, r, err)
		return nil, nil, false
	}
	s, err := h.service(r, a.ServiceID)
	if err != nil || s == nil {
		if err == nil {
			err = errors.New("not in the catalogue")
		}
		h.fail(w, r, fmt.Errorf("service %q of application %s: %w", a.ServiceID, a.ID, err))
		return nil, nil, false
	}
	return a, s, true
}

// applicationsView is «Мои заявления».
type applicationsView struct {
	portalPage
	Items []appItem
}

type appItem struct {
	ID, Number, Title, Status, StatusKey, Updated string
	NeedsAction                                   bool
}

func (h *Handler) appItems(r *http.Request, list []*applications.Application) []appItem {
	l := h.render.Localizer(r)
	ix, _ := h.searcher.Index(r.Context())
	var out []appItem
	for _, a := range list {
		title := a.ServiceID
		if ix != nil {
			if s := ix.Get(a.ServiceID); s != nil {
				title = s.Title.In(l.Lang)
			}
		}
		out = append(out, appItem{ID: a.ID, Number: a.Number, Title: title, Status: l.T("status." + string(a.Status)),
			StatusKey: string(a.Status), Updated: moscowTime(a.UpdatedAt), NeedsAction: a.Status == applications.InfoRequested || a.Status == applications.Draft})
	}
	return out
}

func (h *Handler) showApplications(w http.ResponseWriter, r *http.Request) {
	list, err := h.apps.List(r.Context(), session(r).Subject, 100)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render.Render(w, r, http.StatusOK, "applications", applicationsView{portalPage: h.page(r, "apps.title"), Items: h.appItems(r, list)})
}

// moscow is the time zone of the portal's dates (a fixed UTC+3).
var moscow = time.FixedZone("MSK", 3*60*60)

func moscowTime(t time.Time) string { return t.In(moscow).Format("02.01.2006 15:04") }

// applicationView is one application: its form while a draft, its status,
// history and files after.
type applicationView struct {
	portalPage
	A        *applications.Application
	S        *catalog.Service
	Title    string
	Status   string
	Fields   []formField
	Docs     []docSlot
	History  []eventView
	Results  []fileView
	Editable bool
	// CanUpload: files may be added now (a draft, or more information asked).
	CanUpload bool
	CanCancel bool
	Asked     string
	Submitted string
	Due       string
	Code      bool
	// Signed: the result has the agency's signature; Sandbox: the sandbox
	// agency's, whose CA and CRL the page offers for the check.
	Signed, Sandbox bool
	// Check is the result's signature checked now (resultcheck.go).
	Check *resultCheckView
}

type formField struct {
	Name, Label, Hint, Kind, Value, Err string
	// Shown is the value as a person reads it: a chosen option's label,
	// «Да» for a ticked box, else Value.
	Shown    string
	Required bool
	Options  []option
}

type docSlot struct {
	Kind, Title, Formats, MaxSize string
	Optional                      bool
	Files                         []fileView
	Err                           string
}

type fileView struct {
	ID, Name, Size, Kind string
}

type eventView struct {
	At, Status, Who, Comment string
}

func (h *Handler) formFields(l webui.Localizer, s *catalog.Service, values, errs map[string]string) []formField {
	var out []formField
	for _, f := range s.Form.Fields {
		ff := formField{Name: f.Name, Label: f.Label.In(l.Lang), Hint: f.Hint.In(l.Lang), Kind: string(f.Kind), Value: values[f.Name],
			Err: errs[f.Name], Required: f.Rules.Required}
		ff.Shown = ff.Value
		for _, o := range f.Options {
			ff.Options = append(ff.Options, option{Value: o.Value, Label: o.Label.In(l.Lang), Selected: o.Value == ff.Value})
			if o.Value == ff.Value {
				ff.Shown = o.Label.In(l.Lang)
			}
		}
		if f.Kind == catalog.FieldCheckbox && ff.Value != "" {
			ff.Shown = l.Pick("Да", "Yes")
			if catalog.IsFalse(ff.Value) {
				ff.Shown = l.Pick("Нет", "No")
			}
		}
		out = append(out, ff)
	}
	return out
}

func (h *Handler) showApplication(w http.ResponseWriter, r *http.Request) {
	a, s, ok := h.mine(w, r)
	if !ok {
		return
	}
	h.renderApplication(w, r, http.StatusOK, a, s, nil, nil)
}

// renderApplication renders an application's page with field errors
// (errs) and errors of files by document kind (fileErrs).
func (h *Handler) renderApplication(w http.ResponseWriter, r *http.Request, status int, a *applications.Application, s *catalog.Service,
	errs, fileErrs map[string]string) {
	l := h.render.Localizer(r)
	v := applicationView{portalPage: h.page(r, "apps.title"), A: a, S: s, Title: s.Title.In(l.Lang), Status: l.T("status." + string(a.Status)),
		Editable: a.Status == applications.Draft, CanUpload: a.Status == applications.Draft || a.Status == applications.InfoRequested,
		CanCancel: a.Status == applications.Received}
	v.Page.Title = v.Title
	if !a.SubmittedAt.IsZero() {
		v.Submitted, v.Due = moscowTime(a.SubmittedAt), a.DueAt.In(moscow).Format("02.01.2006")
	}
	if r.URL.Query().Get("saved") == "1" {
		v.Notice = l.T("apps.saved")
	}
	if r.URL.Query().Get("submitted") == "1" && a.Number != "" {
		v.Notice = l.T("apps.submitted", a.Number)
	}
	if len(errs) > 0 || len(fileErrs) > 0 {
		v.Error = l.T("apps.fix")
	}
	v.Fields = h.formFields(l, s, a.Values, errs)
	files, err := h.files(r.Context(), l, a.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, d := range s.Documents {
		slot := docSlot{Kind: d.Kind, Title: d.Title.In(l.Lang), Formats: strings.ToUpper(strings.Join(d.Formats, ", ")),
			MaxSize: megabytes(l, d.MaxSize), Optional: d.Optional, Err: fileErrs[d.Kind]}
		for _, f := range files {
			if f.Kind == docKind(d.Kind) {
				slot.Files = append(slot.Files, f)
			}
		}
		v.Docs = append(v.Docs, slot)
	}
	// The result first, then its signature; the page checks the
	// signature as it is shown.
	var results, signatures []fileView
	for _, f := range files {
		switch f.Kind {
		case kindResult:
			results = append(results, f)
		case kindSignature:
			signatures = append(signatures, f)
		}
	}
	v.Results = append(results, signatures...)
	v.Signed = len(signatures) > 0
	v.Sandbox = v.Signed && h.cfg.Sandbox
	if len(results) > 0 && v.Signed && h.cfg.Signatures != nil {
		// Without a trust list (the embedded default's sandbox) nothing
		// can be checked here: the page tells how to check it instead.
		v.Check = h.checkResult(r, a, results[len(results)-1].ID, signatures[len(signatures)-1].ID)
	}
	hist, err := h.apps.History(r.Context(), a.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, e := range hist {
		who := l.T("actor." + string(e.Actor.Kind))
		v.History = append(v.History, eventView{At: moscowTime(e.At), Status: l.T("status." + string(e.Status)), Who: who, Comment: e.Comment})
		if e.Status == applications.InfoRequested {
			v.Asked = e.Comment
		}
	}
	h.render.Render(w, r, status, "application", v)
}

// draftForm reads the posted values of the draft's form fields.
func draftForm(r *http.Request, s *catalog.Service) map[string]string {
	values := map[string]string{}
	for _, f := range s.Form.Fields {
		v := strings.TrimSpace(r.PostFormValue(f.Name))
		if len(v) > 2000 {
			v = v[:2000]
		}
		if v != "" {
			values[f.Name] = v
		}
	}
	return values
}

// saveApplication saves a draft (POST /applications/{id}): action "save"
// keeps it, "review" checks it and goes to the review page, "delete"
// removes it with its files.
func (h *Handler) saveApplication(w http.ResponseWriter, r *http.Request) {
	// A draft to delete that is gone was deleted already (the same press
	// sent again after its answer was lost, another tab): what it asks is
	// done. Not the citizen's draft looks the same: nothing is said of it.
	gone := ""
	if r.PostFormValue("action") == "delete" {
		gone = "/applications"
	}
	a, s, ok := h.mineOr(w, r, gone)
	if !ok {
		return
	}
	if a.Status != applications.Draft {
		h.render.ErrorPage(w, r, http.StatusConflict)
		return
	}
	ctx, subject := r.Context(), session(r).Subject
	if r.PostFormValue("action") == "delete" {
		if err := h.blobs.DeletePrefix(ctx, "applications/"+a.ID); err != nil {
			h.fail(w, r, err)
			return
		}
		if err := h.apps.DeleteDraft(ctx, subject, a.ID); err != nil {
			h.fail(w, r, err)
			return
		}
		webui.Redirect(w, r, "/applications")
		return
	}
	values := draftForm(r, s)
	version, err := h.apps.SaveDraft(ctx, subject, a.ID, a.Version, values)
	if errors.Is(err, applications.ErrConflict) {
		// Another tab saved meanwhile: save over its version (the latest
		// typing wins, as in one tab).
		if a, err = h.apps.Mine(ctx, subject, a.ID); err == nil {
			version, err = h.apps.SaveDraft(ctx, subject, a.ID, a.Version, values)
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a.Values, a.Version = values, version
	if r.PostFormValue("action") != "review" {
		webui.Redirect(w, r, "/applications/"+a.ID+"?saved=1")
		return
	}
	errs := catalog.ValidateAt(s.Form, values, webui.Lang(r), h.now())
	fileErrs, err := h.missingDocs(ctx, a.ID, s, webui.Lang(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(errs) > 0 || len(fileErrs) > 0 {
		h.renderApplication(w, r, http.StatusUnprocessableEntity, a, s, errs, fileErrs)
		return
	}
	webui.Redirect(w, r, "/applications/"+a.ID+"/review")
}

// autosave keeps what the citizen types, field by field, while they type
// (portal.js posts the form; POST /applications/{id}/autosave): 204, or
// 409 when the application is no longer a draft.
func (h *Handler) autosave(w http.ResponseWriter, r *http.Request) {
	a, s, ok := h.mine(w, r)
	if !ok {
		return
	}
	values := draftForm(r, s)
	_, err := h.apps.SaveDraft(r.Context(), session(r).Subject, a.ID, a.Version, values)
	switch {
	case errors.Is(err, applications.ErrConflict):
		// The version read a moment ago changed: another save raced this
		// one; the next keystroke saves again.
		w.WriteHeader(http.StatusConflict)
	case errors.Is(err, applications.ErrTransition):
		w.WriteHeader(http.StatusConflict)
	case err != nil:
		h.log.ErrorContext(r.Context(), "autosave", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// The kinds of an application's files, and the type of a detached
// signature.
const (
	kindResult    = "result"
	kindSignature = "signature"
	signatureType = "application/pkcs7-signature"
)

func docKind(kind string) string { return "doc:" + kind }

func (h *Handler) files(ctx context.Context, l webui.Localizer, appID string) ([]fileView, error) {
	rows, err := h.db.Query(ctx, `SELECT id, kind, name, size FROM portal_attachments WHERE application_id = $1 ORDER BY created_at, id`, appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fileView
	for rows.Next() {
		var f fileView
		var size int64
		if err := rows.Scan(&f.ID, &f.Kind, &f.Name, &size); err != nil {
			return nil, err
		}
		f.Size = sizeText(l, size)
		out = append(out, f)
	}
	return out, rows.Err()
}

func sizeText(l webui.Localizer, n int64) string {
	if n < 1<<20 {
		return strconv.FormatInt((n+1023)/1024, 10) + l.Pick("\u00a0КБ", "\u00a0KB")
	}
	return decimal(l, strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64)) + l.Pick("\u00a0МБ", "\u00a0MB")
}

// decimal writes a number's decimal point as l's language does: a comma
// in Russian.
func decimal(l webui.Localizer, n string) string {
	return l.Pick(strings.Replace(n, ".", ",", 1), n)
}

// missingDocs names the required documents without a file.
func (h *Handler) missingDocs(ctx context.Context, appID string, s *catalog.Service, lang string) (map[string]string, error) {
	files, err := h.files(ctx, webui.Localizer{Lang: lang}, appID)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, d := range s.Documents {
		if d.Optional {
			continue
		}
		found := false
		for _, f := range files {
			found = found || f.Kind == docKind(d.Kind)
		}
		if !found {
			out[d.Kind] = webui.Localizer{Lang: lang}.Pick("Приложите документ «"+d.Title.In("ru")+"».", "Attach the document «"+d.Title.In("en")+"».")
		}
	}
	return out, nil
}

// maxUploadBody bounds an upload request: one file and the form around it.
const maxUploadBody = upload.MaxFileSize + 64<<10

// uploadFile adds a file to a document of the application (POST
// /applications/{id}/files, multipart: doc, file): checked by content and
// size, stored encrypted; on any problem nothing is stored and the page
// says what is wrong, naming the limit.
func (h *Handler) uploadFile(w http.ResponseWriter, r *http.Request) {
	a, s, ok := h.mine(w, r)
	if !ok {
		return
	}
	if a.Status != applications.Draft && a.Status != applications.InfoRequested {
		h.render.ErrorPage(w, r, http.StatusConflict)
		return
	}
	l := h.render.Localizer(r)
	kind := r.URL.Query().Get("doc")
	var doc *catalog.Document
	for i := range s.Documents {
		if s.Documents[i].Kind == kind {
			doc = &s.Documents[i]
		}
	}
	if doc == nil {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	refuse := func(msg string) {
		h.renderApplication(w, r, http.StatusUnprocessableEntity, a, s, nil, map[string]string{kind: msg})
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBody)
	file, hdr, err := r.FormFile("file")
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			refuse(l.Pick("Файл больше 5 МБ. Уменьшите его и загрузите снова.", "The file is larger than 5 MB. Make it smaller and upload it again."))
		} else {
			refuse(l.Pick("Выберите файл.", "Choose a file."))
		}
		return
	}
	defer file.Close()
	data, err := upload.Read("file", file)
	if err == nil && doc.MaxSize > 0 && int64(len(data)) > doc.MaxSize {
		refuse(l.Pick("Файл больше "+megabytes(webui.Localizer{Lang: "ru"}, doc.MaxSize)+" — наибольшего размера для этого документа.",
			"The file is larger than "+megabytes(webui.Localizer{Lang: "en"}, doc.MaxSize)+", the largest for this document."))
		return
	}
	var checked upload.File
	if err == nil {
		checked, err = upload.Check("file", hdr.Filename, data)
	}
	if err == nil && !formatAllowed(doc.Formats, checked.Type) {
		refuse(l.Pick("Для этого документа подходят только "+strings.ToUpper(strings.Join(doc.Formats, ", "))+".",
			"Only "+strings.ToUpper(strings.Join(doc.Formats, ", "))+" suit this document."))
		return
	}
	if err == nil {
		_, err = h.storeFileWithin(r.Context(), a.ID, docKind(kind), checked.Name, string(checked.Type), data, true)
	}
	var ue *upload.Error
	if errors.As(err, &ue) {
		refuse(l.Pick(ue.Text[0], ue.Text[1]))
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	webui.Redirect(w, r, "/applications/"+a.ID+"#doc-"+kind)
}

// formatAllowed: the catalogue names formats pdf, jpeg, png.
func formatAllowed(formats []string, t upload.Type) bool {
	for _, f := range formats {
		if map[string]upload.Type{"pdf": upload.PDF, "jpeg": upload.JPEG, "png": upload.PNG}[f] == t {
			return true
		}
	}
	return false
}

// storeFile writes a file's bytes and then its row: a row never points to
// missing bytes; bytes whose row failed are removed.
func (h *Handler) storeFile(ctx context.Context, appID, kind, name, contentType string, data []byte) (string, error) {
	return h.storeFileWithin(ctx, appID, kind, name, contentType, data, false)
}

// storeFileWithin is storeFile that, bounded, keeps the application's
// files within upload.MaxTotalSize, or returns upload.CheckTotal's error. The
// sum and the row are one transaction that first writes the
// application's row, so that uploads racing to one application take
// turns: each sees the others' files, and none passes the bound.
func (h *Handler) storeFileWithin(ctx context.Context, appID, kind, name, contentType string, data []byte, bounded bool) (string, error) {
	id := newFileID()
	key := "applications/" + appID + "/" + id
	if _, err := h.blobs.Put(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
		return "", err
	}
	err := h.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if bounded {
			if _, err := tx.Exec(ctx, `UPDATE portal_applications SET version = version WHERE id = $1`, appID); err != nil {
				return err
			}
			var stored int64
			if err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(size), 0) FROM portal_attachments WHERE application_id = $1`, appID).Scan(&stored); err != nil {
				return err
			}
			if err := upload.CheckTotal("file", stored, int64(len(data))); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO portal_attachments (id, application_id, kind, name, content_type, size, blob_key, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, appID, kind, name, contentType, len(data), key, sqldb.Micros(h.now()))
		return err
	})
	if err != nil {
		_ = h.blobs.Delete(context.WithoutCancel(ctx), key)
	}
	return id, err
}

// storeResult stores an agency's result document and, in the sandbox,
// its detached signature by the sandbox agency; it returns the ids of
// what it stored.
func (h *Handler) storeResult(ctx context.Context, appID, name string, pdf []byte) ([]string, error) {
	id, err := h.storeFile(ctx, appID, kindResult, name, string(upload.PDF), pdf)
	if err != nil || !h.cfg.Sandbox {
		return []string{id}, err
	}
	sig, err := sandbox.Sign(pdf, h.now())
	if err != nil {
		return []string{id}, fmt.Errorf("sign the result: %w", err)
	}
	sid, err := h.storeFile(ctx, appID, kindSignature, name+".sig", signatureType, sig)
	return []string{id, sid}, err
}

// dropFile removes one file of an application, its row and its bytes.
func (h *Handler) dropFile(ctx context.Context, appID, fileID string) error {
	var key string
	err := h.db.QueryRow(ctx, `DELETE FROM portal_attachments WHERE id = $1 AND application_id = $2 RETURNING blob_key`, fileID, appID).Scan(&key)
	if err != nil {
		return err
	}
	return h.blobs.Delete(ctx, key)
}

// supersede removes the application's files of the given kinds other than
// keep: a result uploaded again replaces the one before and its
// signatures, a signature the one before. What it fails to remove stays
// listed (logged), which loses nothing.
func (h *Handler) supersede(ctx context.Context, appID string, keep []string, kinds ...string) {
	ctx = context.WithoutCancel(ctx)
	var err error
	for _, kind := range kinds {
		var ids []string
		ids, err = sqldb.Strings(ctx, h.db, `SELECT id FROM portal_attachments WHERE application_id = $1 AND kind = $2`, appID, kind)
		for _, id := range ids {
			if err == nil && !slices.Contains(keep, id) {
				err = h.dropFile(ctx, appID, id)
			}
		}
		if err != nil {
			h.log.WarnContext(ctx, "superseded files of an application left", "application", appID, "err", err)
			return
		}
	}
}

func newFileID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// deleteFile removes a citizen's file while they may still change files
// (POST /applications/{id}/files/{file}/delete).
func (h *Handler) deleteFile(w http.ResponseWriter, r *http.Request) {
	a, _, ok := h.mine(w, r)
	if !ok {
		return
	}
	if a.Status != applications.Draft && a.Status != applications.InfoRequested {
		h.render.ErrorPage(w, r, http.StatusConflict)
		return
	}
	var key string
	err := h.db.QueryRow(r.Context(), `DELETE FROM portal_attachments WHERE id = $1 AND application_id = $2 AND kind LIKE 'doc:%'
		RETURNING blob_key`, r.PathValue("file"), a.ID).Scan(&key)
	if errors.Is(err, sqldb.ErrNotFound) {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.blobs.Delete(r.Context(), key); err != nil {
		h.log.WarnContext(r.Context(), "file bytes left behind", "err", err)
	}
	webui.Redirect(w, r, "/applications/"+a.ID)
}

// downloadFile sends one of the citizen's files (GET
// /applications/{id}/files/{file}).
func (h *Handler) downloadFile(w http.ResponseWriter, r *http.Request) {
	if a, _, ok := h.mine(w, r); ok {
		h.sendFile(w, r, a.ID, r.PathValue("file"))
	}
}

// sendFile sends a file of an application, read whole and checked before
// the first byte goes out.
func (h *Handler) sendFile(w http.ResponseWriter, r *http.Request, appID, fileID string) {
	name, ctype, data, err := h.attachmentFile(r.Context(), appID, fileID)
	if errors.Is(err, sqldb.ErrNotFound) {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	switch upload.Type(ctype) {
	case upload.PDF, upload.JPEG, upload.PNG, signatureType, "application/json":
	default:
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(data)
}

// reviewView is the page before submission: everything the citizen
// entered, and the confirmation by a code.
type reviewView struct {
	portalPage
	A       *applications.Application
	Title   string
	Fields  []formField
	Docs    []docSlot
	Phone   string
	CodeErr string
	Sent    bool
	// Sign: the service needs an e-signature instead of a code.
	Sign bool
}

func (h *Handler) showReview(w http.ResponseWriter, r *http.Request) {
	h.review(w, r, http.StatusOK, "")
}

func (h *Handler) review(w http.ResponseWriter, r *http.Request, status int, codeErr string) {
	a, s, ok := h.mine(w, r)
	if !ok {
		return
	}
	if a.Status != applications.Draft {
		webui.Redirect(w, r, "/applications/"+a.ID)
		return
	}
	l := h.render.Localizer(r)
	v := reviewView{portalPage: h.page(r, "apps.review"), A: a, Title: s.Title.In(l.Lang), Fields: h.formFields(l, s, a.Values, nil),
		Phone: message.Mask(session(r).Profile.Phone), CodeErr: codeErr, Sent: r.URL.Query().Get("sent") == "1" || codeErr != "", Sign: s.Signature}
	files, err := h.files(r.Context(), l, a.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, d := range s.Documents {
		slot := docSlot{Kind: d.Kind, Title: d.Title.In(l.Lang)}
		for _, f := range files {
			if f.Kind == docKind(d.Kind) {
				slot.Files = append(slot.Files, f)
			}
		}
		v.Docs = append(v.Docs, slot)
	}
	if v.Phone == "" && !v.Sign {
		v.Error = l.T("apps.no_phone")
	}
	h.render.Render(w, r, status, "review", v)
}

// Confirmation codes: six digits by SMS, valid ten minutes, five tries,
// a new one at most once a minute and five an hour per application.
const (
	codeTTL      = 10 * time.Minute
	codeTries    = 5
	codeEvery    = time.Minute
	codesPerHour = 5
)

func (h *Handler) codeHash(appID, code string) []byte {
	m := hmac.New(sha256.New, h.cfg.CodeKey)
	m.Write([]byte(appID + "|" + code))
	return m.Sum(nil)
}

// sendCode sends the submission code to the citizen's phone (POST
// /applications/{id}/code).
func (h *Handler) sendCode(w http.ResponseWriter, r *http.Request) {
	a, s, ok := h.mine(w, r)
	if !ok {
		return
	}
	l := h.render.Localizer(r)
	phone := session(r).Profile.Phone
	if a.Status != applications.Draft || phone == "" {
		h.review(w, r, http.StatusConflict, l.T("apps.no_phone"))
		return
	}
	if errs := catalog.ValidateAt(s.Form, a.Values, l.Lang, h.now()); len(errs) > 0 || s.Signature {
		webui.Redirect(w, r, "/applications/"+a.ID)
		return
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	code := fmt.Sprintf("%06d", n.Int64())
	now := h.now()
	// One row per application: a new code replaces the old, within the
	// sending limits, decided by the database (every replica sees them).
	res, err := h.db.Exec(r.Context(), `INSERT INTO portal_codes (application_id, code_hash, expires_at, tries, sent_at, window_start, sends)
		VALUES ($1, $2, $3, 0, $4, $4, 1)
		ON CONFLICT (application_id) DO UPDATE SET code_hash = $2, expires_at = $3, tries = 0, sent_at = $4,
			window_start = CASE WHEN portal_codes.window_start <= $5 THEN $4 ELSE portal_codes.window_start END,
			sends = CASE WHEN portal_codes.window_start <= $5 THEN 1 ELSE portal_codes.sends + 1 END
		WHERE portal_codes.sent_at <= $6 AND (portal_codes.window_start <= $5 OR portal_codes.sends < $7)`,
		a.ID, h.codeHash(a.ID, code), sqldb.Micros(now.Add(codeTTL)), sqldb.Micros(now), sqldb.Micros(now.Add(-time.Hour)),
		sqldb.Micros(now.Add(-codeEvery)), codesPerHour)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if n, _ := res.RowsAffected(); n != 1 {
		h.review(w, r, http.StatusTooManyRequests, l.T("apps.code_wait"))
		return
	}
	err = h.messages.Send(r.Context(), message.Message{Channel: message.SMS, To: phone, Kind: "portal.submit_code", Lang: l.Lang,
		Text: l.T("apps.code_sms", code, s.Title.In(l.Lang))})
	if err != nil {
		h.log.WarnContext(r.Context(), "submission code not sent", "err", err)
		h.review(w, r, http.StatusServiceUnavailable, l.T("apps.code_unsent"))
		return
	}
	webui.Redirect(w, r, "/applications/"+a.ID+"/review?sent=1")
}

// submit checks the code and submits the draft (POST
// /applications/{id}/submit): the application gets its number, and the
// citizen is told by SMS and e-mail.
func (h *Handler) submit(w http.ResponseWriter, r *http.Request) {
	a, s, ok := h.mine(w, r)
	if !ok {
		return
	}
	l := h.render.Localizer(r)
	ctx := r.Context()
	code := strings.TrimSpace(r.PostFormValue("code"))
	// A try is counted before the code is compared, so that racing tries
	// cannot exceed the limit.
	var hash []byte
	var expires int64
	err := h.db.QueryRow(ctx, `UPDATE portal_codes SET tries = tries + 1 WHERE application_id = $1 AND tries < $2
		RETURNING code_hash, expires_at`, a.ID, codeTries).Scan(&hash, &expires)
	switch {
	case errors.Is(err, sqldb.ErrNotFound):
		h.review(w, r, http.StatusUnprocessableEntity, l.T("apps.code_again"))
		return
	case err != nil:
		h.fail(w, r, err)
		return
	case !h.now().Before(sqldb.Time(expires)):
		h.review(w, r, http.StatusUnprocessableEntity, l.T("apps.code_expired"))
		return
	case len(code) != 6 || !hmac.Equal(hash, h.codeHash(a.ID, code)):
		h.review(w, r, http.StatusUnprocessableEntity, l.T("apps.code_wrong"))
		return
	}
	_, err = h.apps.Submit(ctx, session(r).Subject, a.ID, a.Version, s.Days)
	if errors.Is(err, applications.ErrTransition) {
		webui.Redirect(w, r, "/applications/"+a.ID)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.db.Exec(ctx, `DELETE FROM portal_codes WHERE application_id = $1`, a.ID); err != nil {
		h.log.WarnContext(ctx, "submission code left", "err", err)
	}
	webui.Redirect(w, r, "/applications/"+a.ID+"?submitted=1")
}

// cancelApplication withdraws a submitted application before review
// (POST /applications/{id}/cancel).
func (h *Handler) cancelApplication(w http.ResponseWriter, r *http.Request) {
	a, _, ok := h.mine(w, r)
	if !ok {
		return
	}
	sub := session(r).Subject
	_, err := h.apps.Move(r.Context(), a.ID, sub, a.Version, applications.Received, applications.Cancelled,
		applications.Actor{Kind: applications.Citizen, ID: sub}, "")
	if errors.Is(err, applications.ErrTransition) || errors.Is(err, applications.ErrConflict) {
		h.render.ErrorPage(w, r, http.StatusConflict)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	webui.Redirect(w, r, "/applications/"+a.ID)
}

// respond sends the application back to the agency after more
// information was asked, with the citizen's comment (POST
// /applications/{id}/respond).
func (h *Handler) respond(w http.ResponseWriter, r *http.Request) {
	a, _, ok := h.mine(w, r)
	if !ok {
		return
	}
	comment := strings.TrimSpace(r.PostFormValue("comment"))
	if len([]rune(comment)) > 1000 {
		comment = string([]rune(comment)[:1000])
	}
	sub := session(r).Subject
	_, err := h.apps.Move(r.Context(), a.ID, sub, a.Version, applications.InfoRequested, applications.InReview,
		applications.Actor{Kind: applications.Citizen, ID: sub}, comment)
	if errors.Is(err, applications.ErrTransition) || errors.Is(err, applications.ErrConflict) {
		h.render.ErrorPage(w, r, http.StatusConflict)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	webui.Redirect(w, r, "/applications/"+a.ID)
}
