package portal

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cms"
	"github.com/gosid/gosid/portal/applications"
	"github.com/gosid/gosid/portal/auth"
	"github.com/gosid/gosid/portal/catalog"
	"github.com/gosid/gosid/portal/sandbox"
	"github.com/gosid/gosid/portal/upload"
)

// The agency API /agency/v1 (docs/agency-api.yaml): an agency's own system
// lists its new applications, fetches one with its files, moves its
// status through the same state machine as the back-office, and uploads
// the result. It authenticates with an access token Gosid issued by
// client_credentials, whose scope agency:CODE names the agency.

const agencyPrefix = "/agency/v1"

// agencyCall is an authenticated call: the client and its agencies.
type agencyCall struct {
	client   string
	agencies []string
}

func (h *Handler) agencyProblem(w http.ResponseWriter, kind string, status int, detail string, fields ...httpx.FieldProblem) {
	httpx.WriteProblem(w, &httpx.Problem{Type: h.cfg.PortalURL + agencyPrefix + "/problems/" + kind, Title: agencyTitles[kind], Status: status,
		Detail: detail, Fields: fields})
}

var agencyTitles = map[string]string{
	"unauthorized":            "Нужен действующий токен доступа / A valid access token is required",
	"not_found":               "Не найдено / Not found",
	"invalid_request":         "Запрос не прошёл проверку / Invalid request",
	"validation":              "Данные не прошли проверку / Validation failed",
	"conflict":                "Заявление изменено или переход недопустим / Changed meanwhile or not allowed now",
	"temporarily_unavailable": "Сервис временно недоступен / Service temporarily unavailable",
}

// agencyAPI authenticates an agency call and runs fn.
func (h *Handler) agencyAPI(fn func(w http.ResponseWriter, r *http.Request, c agencyCall)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || raw == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="agency"`)
			h.agencyProblem(w, "unauthorized", http.StatusUnauthorized, "no bearer token")
			return
		}
		tok, err := h.auth.VerifyAccessToken(r.Context(), raw)
		if errors.Is(err, auth.ErrUnavailable) {
			h.agencyProblem(w, "temporarily_unavailable", http.StatusServiceUnavailable, "")
			return
		}
		var c agencyCall
		if err == nil {
			c.client = tok.ClientID
			for _, s := range tok.Scopes {
				if code, ok := strings.CutPrefix(s, "agency:"); ok {
					c.agencies = append(c.agencies, code)
				}
			}
		}
		if err != nil || len(c.agencies) == 0 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="agency", error="invalid_token"`)
			h.agencyProblem(w, "unauthorized", http.StatusUnauthorized, "the token is not valid for the agency API")
			return
		}
		fn(w, r, c)
	}
}

// apiApplication is an application as the API shows it.
type apiApplication struct {
	ID          string            `json:"id"`
	Number      string            `json:"number"`
	ServiceID   string            `json:"service_id"`
	Agency      string            `json:"agency"`
	Status      string            `json:"status"`
	Version     int64             `json:"version"`
	SubmittedAt time.Time         `json:"submitted_at"`
	DueAt       time.Time         `json:"due_at"`
	Values      map[string]string `json:"values,omitempty"`
	Attachments []apiAttachment   `json:"attachments,omitempty"`
	History     []apiEvent        `json:"history,omitempty"`
}

type apiAttachment struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

type apiEvent struct {
	At      time.Time `json:"at"`
	Status  string    `json:"status"`
	Actor   string    `json:"actor"`
	Comment string    `json:"comment,omitempty"`
}

func toAPI(a *applications.Application) apiApplication {
	return apiApplication{ID: a.ID, Number: a.Number, ServiceID: a.ServiceID, Agency: a.Agency, Status: string(a.Status), Version: a.Version,
		SubmittedAt: a.SubmittedAt.UTC(), DueAt: a.DueAt.UTC()}
}

// apiList lists the agency's applications (GET /agency/v1/applications).
func (h *Handler) apiList(w http.ResponseWriter, r *http.Request, c agencyCall) {
	q := r.URL.Query()
	agency := q.Get("agency")
	if agency == "" && len(c.agencies) == 1 {
		agency = c.agencies[0]
	}
	if !slices.Contains(c.agencies, agency) {
		h.agencyProblem(w, "invalid_request", http.StatusBadRequest, "", httpx.FieldProblem{Name: "agency",
			Detail: "одно из ведомств токена: " + strings.Join(c.agencies, ", "), DetailEN: "one of the token's agencies: " + strings.Join(c.agencies, ", ")})
		return
	}
	var statuses []applications.Status
	if st := q.Get("status"); st != "" {
		if !slices.Contains(applications.Statuses(), applications.Status(st)) || st == string(applications.Draft) {
			h.agencyProblem(w, "invalid_request", http.StatusBadRequest, "", httpx.FieldProblem{Name: "status", Detail: "неизвестный статус", DetailEN: "unknown status"})
			return
		}
		statuses = []applications.Status{applications.Status(st)}
	}
	limit := 50
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			h.agencyProblem(w, "invalid_request", http.StatusBadRequest, "", httpx.FieldProblem{Name: "limit", Detail: "от 1 до 200", DetailEN: "1 to 200"})
			return
		}
		limit = n
	}
	var after *applications.Application
	if id := q.Get("after"); id != "" {
		a, err := h.apps.Get(r.Context(), id)
		if err != nil || a.Agency != agency {
			h.agencyProblem(w, "invalid_request", http.StatusBadRequest, "", httpx.FieldProblem{Name: "after", Detail: "неизвестный курсор", DetailEN: "unknown cursor"})
			return
		}
		after = a
	}
	list, err := h.apps.Queue(r.Context(), agency, statuses, after, limit+1)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := struct {
		Items []apiApplication `json:"items"`
		Next  *string          `json:"next"`
	}{Items: []apiApplication{}}
	if len(list) > limit {
		list = list[:limit]
		next := list[limit-1].ID
		out.Next = &next
	}
	for _, a := range list {
		out.Items = append(out.Items, toAPI(a))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	h.log.ErrorContext(r.Context(), "agency API", "path", r.URL.Path, "err", err)
	h.agencyProblem(w, "temporarily_unavailable", http.StatusServiceUnavailable, "")
}

// agencyApp loads an application of the call's agencies: another
// agency's, a draft, or none is 404.
func (h *Handler) agencyApp(w http.ResponseWriter, r *http.Request, c agencyCall) (*applications.Application, bool) {
	a, err := h.apps.Get(r.Context(), r.PathValue("id"))
	if err == nil && slices.Contains(c.agencies, a.Agency) && a.Status != applications.Draft {
		return a, true
	}
	if err != nil && !errors.Is(err, applications.ErrNotFound) {
		h.apiFail(w, r, err)
		return nil, false
	}
	h.agencyProblem(w, "not_found", http.StatusNotFound, "no such application of your agency")
	return nil, false
}

func (h *Handler) fullAPI(ctx context.Context, a *applications.Application) (apiApplication, error) {
	out := toAPI(a)
	out.Values = a.Values
	rows, err := h.db.Query(ctx, `SELECT id, kind, name, content_type, size FROM portal_attachments WHERE application_id = $1 ORDER BY created_at, id`, a.ID)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var at apiAttachment
		if err := rows.Scan(&at.ID, &at.Kind, &at.Name, &at.ContentType, &at.Size); err != nil {
			return out, err
		}
		at.Kind = strings.TrimPrefix(at.Kind, "doc:")
		out.Attachments = append(out.Attachments, at)
	}
	if err := rows.Err(); err != nil {
		return out, err
	}
	hist, err := h.apps.History(ctx, a.ID)
	for _, e := range hist {
		out.History = append(out.History, apiEvent{At: e.At.UTC(), Status: string(e.Status), Actor: string(e.Actor.Kind), Comment: e.Comment})
	}
	return out, err
}

// apiGet is one application with its values, files and history (GET
// /agency/v1/applications/{id}).
func (h *Handler) apiGet(w http.ResponseWriter, r *http.Request, c agencyCall) {
	a, ok := h.agencyApp(w, r, c)
	if !ok {
		return
	}
	out, err := h.fullAPI(r.Context(), a)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// apiFile sends a file of an application (GET
// /agency/v1/applications/{id}/attachments/{file}).
func (h *Handler) apiFile(w http.ResponseWriter, r *http.Request, c agencyCall) {
	if a, ok := h.agencyApp(w, r, c); ok {
		h.sendFile(w, r, a.ID, r.PathValue("file"))
	}
}

// apiStatus moves an application (POST
// /agency/v1/applications/{id}/status {status, version, comment}).
func (h *Handler) apiStatus(w http.ResponseWriter, r *http.Request, c agencyCall) {
	a, ok := h.agencyApp(w, r, c)
	if !ok {
		return
	}
	var body struct {
		Status  string `json:"status"`
		Version int64  `json:"version"`
		Comment string `json:"comment"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		h.agencyProblem(w, "invalid_request", http.StatusBadRequest, "the body is not the JSON object the API describes")
		return
	}
	to := applications.Status(body.Status)
	var fields []httpx.FieldProblem
	if !slices.Contains([]applications.Status{applications.InReview, applications.InfoRequested, applications.Approved, applications.Refused}, to) {
		fields = append(fields, httpx.FieldProblem{Name: "status", Detail: "in_review, info_requested, approved или refused", DetailEN: "in_review, info_requested, approved or refused"})
	}
	if body.Version < 1 {
		fields = append(fields, httpx.FieldProblem{Name: "version", Detail: "версия заявления из ответа API", DetailEN: "the application's version from the API"})
	}
	body.Comment = strings.TrimSpace(body.Comment)
	if len([]rune(body.Comment)) > 2000 {
		fields = append(fields, httpx.FieldProblem{Name: "comment", Detail: "не длиннее 2000 знаков", DetailEN: "at most 2000 characters"})
	}
	if (to == applications.InfoRequested || to == applications.Refused) && body.Comment == "" {
		fields = append(fields, httpx.FieldProblem{Name: "comment", Detail: "заявитель должен знать, что нужно или почему отказано", DetailEN: "the applicant must be told why"})
	}
	if to == applications.Approved && applications.Allowed(a.Status, to, applications.Agency) {
		// Only where approving is a move at all: from elsewhere it is a
		// conflict (409), not a missing result.
		var results, signatures int
		if err := h.db.QueryRow(r.Context(), `SELECT COALESCE(SUM(CASE WHEN kind = $2 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN kind = $3 THEN 1 ELSE 0 END), 0)
			FROM portal_attachments WHERE application_id = $1`, a.ID, kindResult, kindSignature).Scan(&results, &signatures); err != nil {
			h.apiFail(w, r, err)
			return
		}
		switch {
		case results == 0:
			fields = append(fields, httpx.FieldProblem{Name: "status", Detail: "сначала загрузите результат (PUT …/result)", DetailEN: "upload the result first"})
		case signatures == 0:
			// The citizen is given a result only with the agency's
			// signature (development mode's sandbox signs on upload).
			fields = append(fields, httpx.FieldProblem{Name: "status", Detail: "сначала загрузите подпись результата (PUT …/result/signature)",
				DetailEN: "upload the result's signature first (PUT …/result/signature)"})
		}
	}
	if len(fields) > 0 {
		h.agencyProblem(w, "invalid_request", http.StatusUnprocessableEntity, "", fields...)
		return
	}
	done, err := h.apps.Move(r.Context(), a.ID, "", body.Version, a.Status, to, applications.Actor{Kind: applications.Agency, ID: c.client}, body.Comment)
	switch {
	case errors.Is(err, applications.ErrTransition), errors.Is(err, applications.ErrConflict):
		h.agencyProblem(w, "conflict", http.StatusConflict, "the application is "+string(a.Status)+" at version "+strconv.FormatInt(a.Version, 10))
		return
	case err != nil:
		h.apiFail(w, r, err)
		return
	}
	out, err := h.fullAPI(r.Context(), done)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// apiResult stores the result document, a PDF (PUT
// /agency/v1/applications/{id}/result), while the application is in
// review; approving it then needs it.
func (h *Handler) apiResult(w http.ResponseWriter, r *http.Request, c agencyCall) {
	a, ok := h.agencyApp(w, r, c)
	if !ok {
		return
	}
	if a.Status != applications.InReview {
		h.agencyProblem(w, "conflict", http.StatusConflict, "a result is uploaded while the application is in_review")
		return
	}
	data, err := upload.Read("result", r.Body)
	var f upload.File
	if err == nil {
		f, err = upload.Check("result", "result.pdf", data)
	}
	var ue *upload.Error
	switch {
	case errors.As(err, &ue):
		h.agencyProblem(w, "invalid_request", http.StatusUnprocessableEntity, "", httpx.FieldProblem{Name: "body", Detail: ue.Text[0], DetailEN: ue.Text[1]})
		return
	case err != nil:
		h.agencyProblem(w, "invalid_request", http.StatusBadRequest, "the body could not be read")
		return
	case f.Type != upload.PDF:
		h.agencyProblem(w, "invalid_request", http.StatusUnprocessableEntity, "", httpx.FieldProblem{Name: "body", Detail: "только PDF", DetailEN: "PDF only"})
		return
	}
	ids, err := h.storeResult(r.Context(), a.ID, "result.pdf", data)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	h.supersede(r.Context(), a.ID, ids, kindResult, kindSignature)
	httpx.WriteJSON(w, http.StatusCreated, apiAttachment{ID: ids[0], Kind: kindResult, Name: "result.pdf", ContentType: string(f.Type), Size: int64(len(data))})
}

// apiResultSignature stores the agency's detached CMS signature of the
// result it uploaded (PUT /agency/v1/applications/{id}/result/signature),
// checked against the trust list as citizens' signatures are and made by
// a certificate of the agency (its OGRN); the citizen downloads it with
// the result.
func (h *Handler) apiResultSignature(w http.ResponseWriter, r *http.Request, c agencyCall) {
	a, ok := h.agencyApp(w, r, c)
	if !ok {
		return
	}
	var key, name string
	err := h.db.QueryRow(r.Context(), `SELECT blob_key, name FROM portal_attachments WHERE application_id = $1 AND kind = $2
		ORDER BY created_at DESC, id LIMIT 1`, a.ID, kindResult).Scan(&key, &name)
	if errors.Is(err, sqldb.ErrNotFound) {
		h.agencyProblem(w, "conflict", http.StatusConflict, "upload the result first")
		return
	} else if err != nil {
		h.apiFail(w, r, err)
		return
	}
	sig, err := io.ReadAll(io.LimitReader(r.Body, maxResultSignature+1))
	if err != nil {
		h.agencyProblem(w, "invalid_request", http.StatusBadRequest, "the body could not be read")
		return
	}
	pdf, err := h.blobBytes(r.Context(), key)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	_, refused, err := h.judgeResultSignature(r, a, pdf, sig)
	switch {
	case err != nil:
		h.apiFail(w, r, err)
		return
	case refused == nil:
	case refused.status == http.StatusUnprocessableEntity:
		h.agencyProblem(w, "invalid_request", refused.status, "", httpx.FieldProblem{Name: "body", Detail: refused.text[0], DetailEN: refused.text[1]})
		return
	case refused.status == http.StatusConflict:
		h.agencyProblem(w, "conflict", refused.status, refused.text[1])
		return
	default:
		w.Header().Set("Retry-After", "30")
		h.agencyProblem(w, "temporarily_unavailable", refused.status, refused.text[1])
		return
	}
	id, err := h.storeFile(r.Context(), a.ID, kindSignature, name+".sig", signatureType, sig)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	h.supersede(r.Context(), a.ID, []string{id}, kindSignature)
	httpx.WriteJSON(w, http.StatusCreated, apiAttachment{ID: id, Kind: kindSignature, Name: name + ".sig", ContentType: signatureType, Size: int64(len(sig))})
}

// maxResultSignature is the largest detached signature of a result taken
// (a CMS SignedData with its certificate chain is a few kilobytes).
const maxResultSignature = 128 << 10

// signatureRefusal is why a result's signature is not the agency's: the
// answer's status (422 the signature, 409 the agency has no OGRN, 503 no
// trust list here), the text, in Russian and English, and for a signature
// that failed the check, the check's error.
type signatureRefusal struct {
	status int
	text   [2]string
	cause  error
}

// judgeResultSignature checks sig as the agency's detached CMS signature
// of pdf, the result of a: against the trust list as citizens' signatures
// are, and made by a certificate that names the agency's OGRN. It is the
// one check for the agency API and the back-office alike; nil is a
// signature to keep, with what the check found.
func (h *Handler) judgeResultSignature(r *http.Request, a *applications.Application, pdf, sig []byte) (*cms.Result, *signatureRefusal, error) {
	if h.cfg.Signatures == nil {
		return nil, &signatureRefusal{status: http.StatusServiceUnavailable, text: [2]string{
			"Подписи здесь не проверяются: оператор портала не настроил список доверенных удостоверяющих центров.",
			"signatures cannot be checked here (no trust list)"}}, nil
	}
	ogrn, err := h.agencyOGRN(r, a)
	if err != nil {
		return nil, nil, err
	}
	if ogrn == "" {
		return nil, &signatureRefusal{status: http.StatusConflict, text: [2]string{
			"В каталоге услуг у ведомства " + a.Agency + " нет ОГРН, поэтому подпись нельзя связать с ним: его указывает оператор портала.",
			"the catalogue names no OGRN for agency " + a.Agency + ", so no signature can be tied to it: the portal's operator sets agency.ogrn in its services"}}, nil
	}
	if len(sig) == 0 || len(sig) > maxResultSignature {
		return nil, &signatureRefusal{status: http.StatusUnprocessableEntity, text: [2]string{
			"Приложите файл открепленной подписи результата (.sig) — не больше 128 КБ.",
			"attach the result's detached signature (.sig), at most 128 KB"}}, nil
	}
	res, err := h.cfg.Signatures(r.Context(), sig, pdf)
	if errors.Is(err, cert.ErrRevocationUnknown) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// No verdict: whether the certificate is revoked could not be
		// learnt now (its authority's revocation list unreachable or
		// stale). The signature is neither taken nor called forged.
		return nil, &signatureRefusal{status: http.StatusServiceUnavailable, cause: err, text: [2]string{
			"Не удалось проверить, не отозван ли сертификат подписи: список отзыва удостоверяющего центра сейчас недоступен. Попробуйте позже.",
			"whether the signing certificate is revoked could not be checked: its authority's revocation list is unavailable now; try again later"}}, nil
	}
	if err != nil {
		return nil, &signatureRefusal{status: http.StatusUnprocessableEntity, cause: err, text: [2]string{
			"Подпись не подписывает результат или сертификат не прошёл проверку.",
			"the signature does not sign the result, or its certificate failed the check"}}, nil
	}
	if res.Subject.OGRN != ogrn {
		return res, &signatureRefusal{status: http.StatusUnprocessableEntity, cause: errOtherOGRN, text: [2]string{
			"Сертификат подписи выдан не ведомству: в нём нет ОГРН " + ogrn + ".",
			"the signing certificate is not the agency's: it does not name OGRN " + ogrn}}, nil
	}
	return res, nil, nil
}

// errOtherOGRN: a signature whose certificate names another OGRN than the
// agency's.
var errOtherOGRN = errors.New("portal: the certificate names another OGRN")

// agencyOGRN is the OGRN a's agency signs with (signerOGRN).
func (h *Handler) agencyOGRN(r *http.Request, a *applications.Application) (string, error) {
	s, err := h.service(r, a.ServiceID)
	if err != nil {
		return "", err
	}
	return signerOGRN(s, a.Agency, h.cfg.Sandbox), nil
}

// signerOGRN is the OGRN whose certificate may sign results of agency for
// service s: the catalogue's, or in development mode (sandbox), for an
// agency the catalogue gives none, the sandbox agency's; "" when no
// signature can be the agency's.
func signerOGRN(s *catalog.Service, agency string, sandboxed bool) string {
	switch {
	case s != nil && s.Agency.Code == agency && s.Agency.OGRN != "":
		return s.Agency.OGRN
	case sandboxed:
		return sandbox.OGRN
	}
	return ""
}

// mountAgencyAPI serves /agency/v1.
func (h *Handler) mountAgencyAPI(mux *http.ServeMux) {
	mux.HandleFunc("GET /agency/v1/applications", h.agencyAPI(h.apiList))
	mux.HandleFunc("GET /agency/v1/applications/{id}", h.agencyAPI(h.apiGet))
	mux.HandleFunc("GET /agency/v1/applications/{id}/attachments/{file}", h.agencyAPI(h.apiFile))
	mux.HandleFunc("POST /agency/v1/applications/{id}/status", h.agencyAPI(h.apiStatus))
	mux.HandleFunc("PUT /agency/v1/applications/{id}/result", h.agencyAPI(h.apiResult))
	mux.HandleFunc("PUT /agency/v1/applications/{id}/result/signature", h.agencyAPI(h.apiResultSignature))
}
