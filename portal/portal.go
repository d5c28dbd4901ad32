package portal

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/webui"
)

//go:embed web/templates/*.html web/static/*
var webFS embed.FS

// Config is what the portal needs to know.
type Config struct {
	// IdPURL is the identity provider's public URL (its issuer).
	IdPURL string
	Logger *slog.Logger
}

// Handler serves the portal's pages.
type Handler struct {
	cfg    Config
	render *webui.Renderer
	routes webui.Routes
}

// New parses every page with the portal's layout at start-up (a broken
// template stops the process instead of failing a citizen's request).
func New(cfg Config) (*Handler, error) {
	pages, err := fs.Sub(webFS, "web")
	if err != nil {
		return nil, err
	}
	r, err := webui.NewRenderer(pages, catalog, cfg.Logger, "home")
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(webFS, "web/static")
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, render: r}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.showHome)
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(static)))
	h.routes = webui.WithErrorPages(mux, r)
	return h, nil
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
	"portal.title":  {"Gosid — портал госуслуг", "Gosid — public services portal"},
	"portal.lead":   {"Единая учётная запись для государственных услуг и сайтов-партнёров.", "One account for public services and partner sites."},
	"portal.signin": {"Войти через Gosid", "Sign in with Gosid"},
	"portal.soon":   {"Каталог услуг, заявления, запись на приём и платежи скоро появятся здесь.", "The service catalogue, applications, appointments and payments will appear here soon."},
	"portal.footer": {"Gosid — портал государственных услуг", "Gosid — public services portal"},
}

// homeView is the landing page's data.
type homeView struct {
	webui.Page
	LoginURL string
}

func (h *Handler) showHome(w http.ResponseWriter, r *http.Request) {
	h.render.Render(w, r, http.StatusOK, "home", homeView{Page: h.render.NewPage(r, "portal.title"), LoginURL: h.cfg.IdPURL})
}
