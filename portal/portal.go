package portal

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
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
	cfg   Config
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// New parses every page with the layout at start-up, so a broken template
// stops the process instead of failing a citizen's request.
func New(cfg Config) (*Handler, error) {
	h := &Handler{cfg: cfg, pages: map[string]*template.Template{}}
	for _, page := range []string{"home"} {
		t, err := template.ParseFS(webFS, "web/templates/layout.html", "web/templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("portal template %s: %w", page, err)
		}
		h.pages[page] = t
	}
	static, err := fs.Sub(webFS, "web/static")
	if err != nil {
		return nil, err
	}
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET /{$}", h.showHome)
	h.mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(static)))
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func staticFiles(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// homeView is the landing page's data.
type homeView struct {
	Lang     string
	T        text
	LoginURL string
}

type text struct {
	Title, Lead, SignIn, Soon, Other, OtherLang string
}

var texts = map[string]text{
	"ru": {
		Title:     "Gosid — портал госуслуг",
		Lead:      "Единая учётная запись для государственных услуг и сайтов-партнёров.",
		SignIn:    "Войти через Gosid",
		Soon:      "Каталог услуг, заявления, запись на приём и платежи скоро появятся здесь.",
		Other:     "?lang=en",
		OtherLang: "English",
	},
	"en": {
		Title:     "Gosid — public services portal",
		Lead:      "One account for public services and partner sites.",
		SignIn:    "Sign in with Gosid",
		Soon:      "The service catalogue, applications, appointments and payments will appear here soon.",
		Other:     "?lang=ru",
		OtherLang: "Русский",
	},
}

func (h *Handler) showHome(w http.ResponseWriter, r *http.Request) {
	lang := language(r)
	h.render(w, r, "home", homeView{Lang: lang, T: texts[lang], LoginURL: h.cfg.IdPURL})
}

// language picks Russian unless the citizen asked for English by ?lang=en or
// prefers it in Accept-Language.
func language(r *http.Request) string {
	switch r.URL.Query().Get("lang") {
	case "en":
		return "en"
	case "ru":
		return "ru"
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "ru"):
			return "ru"
		case strings.HasPrefix(tag, "en"):
			return "en"
		}
	}
	return "ru"
}

// render executes into a buffer first so that a template error becomes a
// clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, page string, data any) {
	var buf bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		if h.cfg.Logger != nil {
			h.cfg.Logger.ErrorContext(r.Context(), "render page", "page", page, "err", err)
		}
		http.Error(w, "Внутренняя ошибка / Internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}
