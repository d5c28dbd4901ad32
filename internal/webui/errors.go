package webui

import (
	"bytes"
	"embed"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/overload"
	"github.com/gosid/gosid/internal/sqldb"
)

// Branded error pages. Whatever goes wrong — an unknown address, a wrong
// method, a body too large, a form from another site, a failure of ours —
// the citizen gets a page of the site in their language that says what
// happened and what to do, with the request id to quote to support when
// the fault is ours. Never Go's plain text, never err.Error().

// errorPage is the page every Renderer parses for ErrorPage.
const errorPage = "error"

type errorView struct {
	Page
	Message   string
	RequestID string
	// Support is where to report a problem ("" on pages without one).
	Support string
}

var errorCatalog = Catalog{
	"error.home":       {"На главную", "Go to the home page"},
	"error.support":    {"Сообщить о проблеме", "Report a problem"},
	"error.request_id": {"Если обратитесь в поддержку, назовите код запроса:", "If you contact support, quote the request code:"},
	"error.400":        {"Неверный запрос", "Bad request"},
	"error.400.text":   {"Запрос не удалось разобрать. Вернитесь назад и попробуйте ещё раз.", "The request could not be understood. Go back and try again."},
	"error.403":        {"Запрос отклонён", "Request refused"},
	"error.403.text":   {"Форма отправлена с другого сайта или без нужных прав. Откройте страницу заново и повторите.", "The form was sent from another site or without the needed rights. Open the page again and retry."},
	"error.404":        {"Страница не найдена", "Page not found"},
	"error.404.text":   {"Такой страницы нет. Проверьте адрес или начните с главной.", "There is no such page. Check the address or start from the home page."},
	"error.405":        {"Действие недоступно", "Action not available"},
	"error.405.text":   {"Эта страница так не открывается. Вернитесь назад и воспользуйтесь кнопками на странице.", "This page cannot be opened this way. Go back and use the buttons on the page."},
	"error.413":        {"Слишком большой запрос", "Request too large"},
	"error.413.text":   {"Отправлено слишком много данных. Сократите текст или выберите файл меньше.", "Too much data was sent. Shorten the text or choose a smaller file."},
	"error.429":        {"Слишком много запросов", "Too many requests"},
	"error.429.text":   {"Подождите немного и попробуйте снова.", "Wait a little and try again."},
	"error.500":        {"Внутренняя ошибка", "Internal error"},
	"error.500.text":   {"Что-то пошло не так на нашей стороне. Попробуйте ещё раз через минуту.", "Something went wrong on our side. Please try again in a minute."},
	"error.503":        {"Сервис временно недоступен", "Service temporarily unavailable"},
	"error.503.text":   {"Сервис временно недоступен. Попробуйте ещё раз через минуту: введённые данные не потеряны.", "The service is temporarily unavailable. Please try again in a minute: nothing you entered was lost."},
	"error.busy":       {"Сейчас очень много обращений. Повторите через несколько секунд: введённые данные не проверялись и не потеряны.", "There are very many requests right now. Please try again in a few seconds: nothing you entered was checked or lost."},
}

// Overloaded reports whether err is a refusal for overload (it wraps
// overload.ErrOverloaded: the password-hashing pool, the database pool), and
// then sets Retry-After: the page answers 503 with the "error.busy" text,
// and nothing was judged.
func Overloaded(w http.ResponseWriter, err error) bool {
	return overload.SetRetryAfter(w, err)
}

// Fail logs what failed and renders template — view, whose Page is page —
// with page.Error set: 503 with Retry-After and the "error.busy" text when
// err is a refusal for overload (a warning); 503 with Retry-After and the
// "error.503.text" text when the database could not be reached
// (sqldb.Unavailable: nothing was judged, the citizen tries again); else
// 500 with the text of internalKey (an error).
func (r *Renderer) Fail(w http.ResponseWriter, req *http.Request, log *slog.Logger, template string, view any, page *Page, internalKey, what string, err error) {
	if Overloaded(w, err) {
		log.WarnContext(req.Context(), what, "err", err)
		page.Error = page.L.T("error.busy")
		r.Render(w, req, http.StatusServiceUnavailable, template, view)
		return
	}
	if sqldb.Unavailable(err) {
		log.ErrorContext(req.Context(), what, "err", err)
		w.Header().Set("Retry-After", "5")
		page.Error = page.L.T("error.503.text")
		r.Render(w, req, http.StatusServiceUnavailable, template, view)
		return
	}
	log.ErrorContext(req.Context(), what, "err", err)
	page.Error = page.L.T(internalKey)
	r.Render(w, req, http.StatusInternalServerError, template, view)
}

// SetSupportLink makes r's error pages offer «Сообщить о проблеме», a
// link to url (the portal's support form). Call it before serving; the
// identity provider's pages keep none.
func (r *Renderer) SetSupportLink(url string) { r.support = url }

// ErrorPage renders the branded page for status (400, 403, 404, 405, 413,
// 429, 500, 503; any other is shown as 500's). For 5xx it shows the
// request id, which the log lines of the failure carry too.
func (r *Renderer) ErrorPage(w http.ResponseWriter, req *http.Request, status int) {
	key := "error." + strconv.Itoa(status)
	if _, ok := r.cat[key]; !ok {
		key = "error.500"
	}
	v := errorView{Page: r.NewPage(req, key), Support: r.support}
	v.Message = v.L.T(key + ".text")
	if status >= 500 {
		v.RequestID = httpx.RequestID(req.Context())
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "5")
	}
	r.Render(w, req, status, errorPage, v)
}

//go:embed templates/error.html
var noPages embed.FS

// defaultErrors renders error pages with the shared layout, for middleware
// that runs before any module (cross-origin refusals, body limits,
// unmatched routes of the identity provider).
var defaultErrors = func() *Renderer {
	r, err := NewRenderer(noPages, nil, nil)
	if err != nil {
		panic("webui: error pages: " + err.Error())
	}
	return r
}()

// ErrorPage renders the branded error page with the shared layout.
func ErrorPage(w http.ResponseWriter, req *http.Request, status int) {
	defaultErrors.ErrorPage(w, req, status)
}

// WithErrorPages answers requests that match no route of mux — 404, or 405
// when the path exists for other methods (with its Allow header) — with r's
// branded page instead of the mux's plain text; r nil uses the shared
// layout. Matched requests reach mux unchanged, so httpx.Wrap still sees
// the pattern.
func WithErrorPages(mux *http.ServeMux, r *Renderer) Routes {
	if r == nil {
		r = defaultErrors
	}
	return errorPages{mux: mux, r: r}
}

type errorPages struct {
	mux *http.ServeMux
	r   *Renderer
}

// Handler is the mux's: LimitBodies looks routes up through it.
func (e errorPages) Handler(req *http.Request) (http.Handler, string) { return e.mux.Handler(req) }

func (e errorPages) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if _, pattern := e.mux.Handler(req); pattern != "" {
		e.mux.ServeHTTP(w, req)
		return
	}
	// Let the mux decide (404, 405 with Allow, or its own redirect to a
	// cleaned path) into a buffer, then brand its refusals.
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	e.mux.ServeHTTP(rec, req)
	if rec.status != http.StatusNotFound && rec.status != http.StatusMethodNotAllowed {
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = rec.body.WriteTo(w)
		return
	}
	if allow := rec.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	e.r.ErrorPage(w, req, rec.status)
}

// recorder keeps what the mux answers to an unmatched request.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (c *recorder) Header() http.Header { return c.header }
func (c *recorder) Write(b []byte) (int, error) {
	c.wrote = true
	return c.body.Write(b)
}
func (c *recorder) WriteHeader(status int) {
	if !c.wrote {
		c.status, c.wrote = status, true
	}
}
