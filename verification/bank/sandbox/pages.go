package sandbox

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/gosid/gosid/idp/validate"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds the parsed pages, each with the layout.
type pages struct{ byName map[string]*template.Template }

var pageNames = []string{"authorize", "error"}

func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("sandbox: page %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// pickView is the authorization page.
type pickView struct {
	Token     string
	Customers []customerView
}

type customerView struct {
	Sub         string
	Name        string
	BirthDate   string // ДД.ММ.ГГГГ
	SNILS       string // masked
	HasPassport bool
}

// errorView is the 400 page.
type errorView struct{ Detail string }

func customerViews() []customerView {
	var out []customerView
	for _, c := range Customers() {
		name := strings.TrimSpace(c.FamilyName + " " + c.GivenName + " " + c.MiddleName)
		out = append(out, customerView{
			Sub: c.Sub, Name: name, BirthDate: c.BirthDate[8:10] + "." + c.BirthDate[5:7] + "." + c.BirthDate[0:4],
			SNILS: validate.MaskSNILS(c.SNILS), HasPassport: c.Passport != nil,
		})
	}
	return out
}

// render writes page name with view, into a buffer first so that a
// template error is a clean 500. formOrigin, when set, is where the form
// may be submitted besides this origin (the client's, after the redirect).
func (p *pages) render(w http.ResponseWriter, _ *http.Request, status int, name string, view any, formOrigin string) {
	var buf bytes.Buffer
	if err := p.byName[name].ExecuteTemplate(&buf, "layout", view); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; form-action 'self' "+formOrigin)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w) // the browser went away; nothing to do
}
