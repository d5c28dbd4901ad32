package portal

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/auth"
)

//go:embed web/templates/*.html web/static/*
var webFS embed.FS

// Config is what the portal needs to know.
type Config struct {
	// IdPURL is the identity provider's public URL (its issuer).
	IdPURL string
	// Auth signs citizens in; nil serves the public pages only.
	Auth *auth.Service
	// Secure: the portal is served over HTTPS (cookie names and flags).
	Secure bool
	Logger *slog.Logger
}

// Handler serves the portal's pages.
type Handler struct {
	cfg    Config
	auth   *auth.Service
	log    *slog.Logger
	render *webui.Renderer
	mux    *http.ServeMux
	routes http.Handler
}

// New parses every page with the portal's layout at start-up (a broken
// template stops the process instead of failing a citizen's request).
func New(cfg Config) (*Handler, error) {
	pages, err := fs.Sub(webFS, "web")
	if err != nil {
		return nil, err
	}
	r, err := webui.NewRenderer(pages, catalog, cfg.Logger, "home", "signin_failed", "need_more", "profile")
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(webFS, "web/static")
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, auth: cfg.Auth, log: cfg.Logger, render: r}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	h.mux = mux
	mux.HandleFunc("GET /{$}", h.showHome)
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(static)))
	mux.Handle("GET /static/gosid.css", webui.Static())
	if h.auth != nil {
		mux.HandleFunc("GET /login", h.login)
		mux.HandleFunc("GET "+auth.CallbackPath, h.callback)
		mux.HandleFunc("POST /logout", h.logout)
		mux.HandleFunc("POST "+auth.BackchannelPath, h.auth.BackchannelLogout)
		mux.HandleFunc("GET "+auth.JWKSPath, h.jwks)
		mux.HandleFunc("GET /profile", h.require(auth.Need{}, h.showProfile))
	}
	// The identity provider posts back-channel logouts from its own
	// origin: no cookie authenticates them, the signed token does.
	h.routes = webui.Protect(h.withSession(webui.WithErrorPages(mux, r)), "POST "+auth.BackchannelPath)
	return h, nil
}

// Page adds a page for signed-in citizens whose sign-in meets need (a
// service's level, a second factor): the portal's modules register theirs
// before serving.
func (h *Handler) Page(pattern string, need auth.Need, page http.HandlerFunc) {
	h.mux.HandleFunc(pattern, h.require(need, page))
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.routes.ServeHTTP(w, r) }

// Server is the portal as its listener serves it: the pages, liveness at
// GET /healthz, and the platform's middleware (request ids, logs, metrics).
func (h *Handler) Server(opts httpx.Options) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.Handle("GET /healthz", httpx.Healthz())
	return httpx.Wrap("portal", mux, opts)
}

func staticFiles(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

var catalog = webui.Catalog{
	"portal.title":        {"Gosid — портал госуслуг", "Gosid — public services portal"},
	"portal.lead":         {"Единая учётная запись для государственных услуг и сайтов-партнёров.", "One account for public services and partner sites."},
	"portal.signin":       {"Войти через Gosid", "Sign in with Gosid"},
	"portal.soon":         {"Каталог услуг, заявления, запись на приём и платежи скоро появятся здесь.", "The service catalogue, applications, appointments and payments will appear here soon."},
	"portal.footer":       {"Gosid — портал государственных услуг", "Gosid — public services portal"},
	"portal.nav":          {"Меню", "Menu"},
	"home.hello":          {"Здравствуйте, %s!", "Hello, %s!"},
	"home.hello_anon":     {"Здравствуйте!", "Hello!"},
	"home.level":          {"Уровень учётной записи: %s.", "Account level: %s."},
	"home.raise":          {"Подтвердите личность, чтобы получить доступ ко всем услугам", "Confirm your identity to use every service"},
	"home.profile":        {"Мои данные", "My data"},
	"home.empty":          {"Заявлений, записей и уведомлений пока нет.", "No applications, appointments or notifications yet."},
	"level.simplified":    {"упрощённая", "simplified"},
	"level.standard":      {"стандартная", "standard"},
	"level.confirmed":     {"подтверждённая", "confirmed"},
	"signin.failed":       {"Не удалось войти", "Sign-in failed"},
	"signin.cancelled":    {"Вход отменён.", "The sign-in was cancelled."},
	"signin.no_mfa":       {"Для этой услуги нужен вход со вторым фактором, а он не настроен. Включите его в разделе «Безопасность» учётной записи Gosid.", "This service needs a sign-in with a second factor, and your account has none. Turn one on under «Security» in your Gosid account."},
	"signin.expired":      {"Ссылка для входа устарела или уже использована. Войдите ещё раз.", "The sign-in link has expired or was already used. Please sign in again."},
	"signin.refused":      {"Gosid прислал ответ, который портал не может принять. Попробуйте войти ещё раз.", "Gosid sent an answer the portal cannot accept. Please sign in again."},
	"signin.unavailable":  {"Сервис входа временно недоступен. Попробуйте через несколько минут.", "The sign-in service is temporarily unavailable. Please try again in a few minutes."},
	"signin.retry":        {"Войти ещё раз", "Sign in again"},
	"need.title":          {"Нужен более высокий уровень", "A higher level is needed"},
	"need.level":          {"Эта услуга доступна с уровнем учётной записи «%s». Сейчас у вашей учётной записи уровень «%s».", "This service needs the «%s» account level. Your account is «%s» now."},
	"need.mfa":            {"Для этой услуги нужно войти со вторым фактором (кодом из приложения или ключом доступа).", "This service needs a sign-in with a second factor (an app code or a passkey)."},
	"need.raise":          {"Подтвердить личность в Gosid", "Confirm your identity at Gosid"},
	"need.retry":          {"Войти ещё раз", "Sign in again"},
	"profile.title":       {"Мои данные", "My data"},
	"profile.lead":        {"Сведения из вашей учётной записи Gosid. Изменить их можно в Gosid.", "The data of your Gosid account. Change them at Gosid."},
	"profile.verified":    {"проверено", "verified"},
	"profile.claimed":     {"не проверено", "not verified"},
	"profile.edit":        {"Изменить в Gosid", "Change at Gosid"},
	"profile.family_name": {"Фамилия", "Family name"},
	"profile.given_name":  {"Имя", "Given name"},
	"profile.middle_name": {"Отчество", "Patronymic"},
	"profile.birthdate":   {"Дата рождения", "Date of birth"},
	"profile.snils":       {"СНИЛС", "SNILS"},
	"profile.inn":         {"ИНН", "INN"},
	"profile.passport":    {"Паспорт", "Passport"},
	"profile.phone":       {"Телефон", "Phone"},
	"profile.email":       {"Электронная почта", "E-mail"},
}

// homeView is the home page's data: the landing page, or the citizen's
// dashboard.
type homeView struct {
	webui.Page
	LoginURL string
	IdP      string
	Session  *auth.Session
}

func (h *Handler) showHome(w http.ResponseWriter, r *http.Request) {
	v := homeView{Page: h.page(r, "portal.title"), LoginURL: h.cfg.IdPURL, IdP: h.cfg.IdPURL, Session: session(r)}
	if h.auth != nil {
		v.LoginURL = "/login"
	}
	h.render.Render(w, r, http.StatusOK, "home", v)
}

// profileView is «Мои данные»: what the portal knows of the citizen from
// Gosid, and which of it is verified.
type profileView struct {
	webui.Page
	P      auth.Profile
	IdP    string
	Fields []profileField
}

type profileField struct {
	Label, Value string
	Verified     bool
}

func (h *Handler) showProfile(w http.ResponseWriter, r *http.Request) {
	p := session(r).Profile
	v := profileView{Page: h.page(r, "profile.title"), P: p, IdP: h.cfg.IdPURL}
	l := v.L
	for _, f := range []struct{ key, field, value string }{
		{"profile.family_name", "family_name", p.FamilyName}, {"profile.given_name", "given_name", p.GivenName},
		{"profile.middle_name", "middle_name", p.MiddleName}, {"profile.birthdate", "birthdate", p.Birthdate},
		{"profile.snils", "snils", p.SNILS}, {"profile.inn", "inn", p.INN}, {"profile.passport", "passport", p.Passport},
		{"profile.phone", "phone", p.Phone}, {"profile.email", "email", p.Email},
	} {
		if f.value != "" {
			v.Fields = append(v.Fields, profileField{Label: l.T(f.key), Value: f.value, Verified: p.IsVerified(f.field)})
		}
	}
	h.render.Render(w, r, http.StatusOK, "profile", v)
}
