package legal

import (
	"embed"
	"log/slog"
	"net/http"

	"github.com/gosid/gosid/internal/webui"
)

// Version is the edition of the user agreement and the privacy policy.
const Version = "2026-12-01"

//go:embed templates/*.html
var templates embed.FS

// Handler serves the documents.
type Handler struct{ render *webui.Renderer }

// New parses the pages.
func New(log *slog.Logger) (*Handler, error) {
	r, err := webui.NewRenderer(templates, catalog, log, "terms", "privacy")
	if err != nil {
		return nil, err
	}
	return &Handler{render: r}, nil
}

// Routes registers the documents' pages.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /terms", h.showTerms)
	mux.HandleFunc("GET /privacy", h.showPrivacy)
}

// view is a document's page.
type view struct {
	webui.Page
	Version string
}

func (h *Handler) showTerms(w http.ResponseWriter, r *http.Request) {
	h.render.Render(w, r, http.StatusOK, "terms", view{Page: h.render.NewPage(r, "legal.terms"), Version: Version})
}

func (h *Handler) showPrivacy(w http.ResponseWriter, r *http.Request) {
	h.render.Render(w, r, http.StatusOK, "privacy", view{Page: h.render.NewPage(r, "legal.privacy"), Version: Version})
}

var catalog = webui.Catalog{
	"legal.terms":   {"Пользовательское соглашение", "User agreement"},
	"legal.privacy": {"Политика обработки персональных данных", "Personal data processing policy"},
	"legal.edition": {"Редакция от %s.", "Edition of %s."},
}
