package portal

import (
	"net/http"
	"strings"

	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/help"
)

// The help section (portal/help): public pages, no sign-in needed, served
// from the articles embedded in the binary, so every replica shows the
// same help without reading the database.

// helpView is GET /help: the search box and what it found, or the
// sections with their articles' titles.
type helpView struct {
	portalPage
	Query    string
	Searched bool
	Results  []helpItem
	Sections []helpSectionView
}

type helpSectionView struct {
	ID, Title string
	Articles  []helpItem
}

// helpItem is an article in a list: its page, title, section and the
// beginning of its body.
type helpItem struct {
	ID, Title, Section, Summary string
}

// helpArticleView is GET /help/{id}.
type helpArticleView struct {
	portalPage
	Section string
	Blocks  []help.Block
	Links   []helpLinkView
	// More are the other articles of the section.
	More []helpItem
}

type helpLinkView struct{ Href, Title string }

// maxHelpQuery bounds the search text (bytes); maxHelpResults the results
// shown; catalogueHelpAnswers the answers shown above the catalogue's.
const (
	maxHelpQuery         = 200
	maxHelpResults       = 20
	catalogueHelpAnswers = 3
)

// mountHelp loads the articles (a broken one stops the start) and serves
// the help pages.
func (h *Handler) mountHelp(mux *http.ServeMux) error {
	hp, err := help.Load()
	if err != nil {
		return err
	}
	h.help = hp
	mux.HandleFunc("GET /help", h.showHelp)
	mux.HandleFunc("GET /help/{id}", h.showHelpArticle)
	return nil
}

func (h *Handler) showHelp(w http.ResponseWriter, r *http.Request) {
	v := helpView{portalPage: h.page(r, "help.title"), Query: helpQuery(r)}
	l := v.L
	if v.Query != "" {
		v.Searched = true
		for _, res := range h.help.Search(v.Query, maxHelpResults) {
			v.Results = append(v.Results, h.helpItemOf(l, res.Article))
		}
	}
	if len(v.Results) == 0 { // the topics, also when nothing was found
		for _, s := range h.help.Sections() {
			sv := helpSectionView{ID: s.ID, Title: s.Title.In(l.Lang)}
			for _, a := range s.Articles {
				sv.Articles = append(sv.Articles, helpItem{ID: a.ID, Title: a.Title.In(l.Lang)})
			}
			v.Sections = append(v.Sections, sv)
		}
	}
	h.render.Render(w, r, http.StatusOK, "help", v)
}

func (h *Handler) showHelpArticle(w http.ResponseWriter, r *http.Request) {
	a := h.help.Get(r.PathValue("id"))
	if a == nil {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	v := helpArticleView{portalPage: h.page(r, "help.title")}
	l := v.L
	v.Page.Title = a.Title.In(l.Lang)
	v.Blocks = help.Blocks(a.Body.In(l.Lang))
	for _, s := range h.help.Sections() {
		if s.ID != a.Section {
			continue
		}
		v.Section = s.Title.In(l.Lang)
		for _, o := range s.Articles {
			if o != a {
				v.More = append(v.More, helpItem{ID: o.ID, Title: o.Title.In(l.Lang)})
			}
		}
	}
	for _, link := range a.Links {
		v.Links = append(v.Links, helpLinkView{Href: h.helpHref(link), Title: link.Title.In(l.Lang)})
	}
	h.render.Render(w, r, http.StatusOK, "help_article", v)
}

// helpHref is a link's address: the portal's own path as it is, the
// identity provider's made absolute with its URL (the data holds paths
// only, checked by help.Parse).
func (h *Handler) helpHref(link help.Link) string {
	if link.IdP {
		return strings.TrimSuffix(h.cfg.IdPURL, "/") + link.Href
	}
	return link.Href
}

// helpAnswers are the best help articles for a catalogue search, shown
// with the services found («Ответы из справки»).
func (h *Handler) helpAnswers(l webui.Localizer, query string) []helpItem {
	if h.help == nil || query == "" {
		return nil
	}
	var out []helpItem
	for _, res := range h.help.Search(query, catalogueHelpAnswers) {
		out = append(out, h.helpItemOf(l, res.Article))
	}
	return out
}

func (h *Handler) helpItemOf(l webui.Localizer, a *help.Article) helpItem {
	it := helpItem{ID: a.ID, Title: a.Title.In(l.Lang)}
	for _, s := range h.help.Sections() {
		if s.ID == a.Section {
			it.Section = s.Title.In(l.Lang)
		}
	}
	if bs := help.Blocks(a.Body.In(l.Lang)); len(bs) > 0 && bs[0].Text != "" {
		it.Summary = bs[0].Text
		if rs := []rune(it.Summary); len(rs) > 180 {
			it.Summary = strings.TrimSpace(string(rs[:180])) + "…"
		}
	}
	return it
}

// helpQuery is the search text of the request, trimmed and bounded.
func helpQuery(r *http.Request) string {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > maxHelpQuery {
		q = strings.ToValidUTF8(q[:maxHelpQuery], "")
	}
	return q
}
