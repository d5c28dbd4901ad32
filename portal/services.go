package portal

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/appointments"
	"github.com/gosid/gosid/portal/catalog"
	"github.com/gosid/gosid/portal/catalog/search"
)

// servicesView is the catalogue: the search box, the filters and what they
// found, or the categories when nothing is asked.
type servicesView struct {
	portalPage
	Query      string
	Kind       string
	Agency     string
	Region     string
	OnlyMine   bool
	Kinds      []option
	Agencies   []option
	Results    []resultView
	Categories []categoryView
	Searched   bool
	// HelpAnswers are the help's best answers to the text searched.
	HelpAnswers []helpItem
}

type option struct {
	Value, Label string
	Selected     bool
}

type resultView struct {
	ID, Title, Summary, Agency, Kind string
	// Needs says the level the citizen lacks, or is empty.
	Needs string
}

type categoryView struct {
	Slug, Title string
	Services    []resultView
}

// maxResults bounds a results page: a citizen reads the first ones.
const maxResults = 50

func (h *Handler) showServices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := servicesView{portalPage: h.page(r, "services.title"), Query: strings.TrimSpace(q.Get("q")), Kind: q.Get("kind"),
		Agency: q.Get("agency"), Region: q.Get("region"), OnlyMine: q.Get("mine") == "1"}
	if len(v.Query) > 200 {
		v.Query = v.Query[:200]
	}
	l := v.L
	ix, err := h.searcher.Index(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	query := search.Query{Text: v.Query, Kind: catalog.Kind(v.Kind), Agency: v.Agency, Region: v.Region, OnlyAvailable: v.OnlyMine}
	if sess := session(r); sess != nil {
		query.Level = catalog.Level(sess.Profile.Level)
	}
	if !slices.Contains(catalog.Kinds, query.Kind) {
		query.Kind, v.Kind = "", ""
	}
	for _, k := range catalog.Kinds {
		v.Kinds = append(v.Kinds, option{Value: string(k), Label: l.T("kind." + string(k)), Selected: string(k) == v.Kind})
	}
	agencies := map[string]string{}
	all := ix.Search(search.Query{Level: query.Level})
	for _, res := range all {
		agencies[res.Service.Agency.Code] = res.Service.Agency.Name.In(l.Lang)
	}
	for _, code := range sortedKeys(agencies) {
		v.Agencies = append(v.Agencies, option{Value: code, Label: agencies[code], Selected: code == v.Agency})
	}
	if _, ok := agencies[v.Agency]; !ok {
		query.Agency, v.Agency = "", ""
	}
	v.Searched = v.Query != "" || query.Kind != "" || query.Agency != "" || v.Region != "" || v.OnlyMine
	if v.Searched {
		query.Limit = maxResults
		v.HelpAnswers = h.helpAnswers(l, v.Query)
		for _, res := range ix.Search(query) {
			v.Results = append(v.Results, h.resultOf(l, res))
		}
	} else {
		bySlug := map[string]*categoryView{}
		for _, res := range all {
			c := bySlug[res.Service.Category]
			if c == nil {
				c = &categoryView{Slug: res.Service.Category, Title: catalog.Categories[res.Service.Category].In(l.Lang)}
				bySlug[c.Slug] = c
			}
			c.Services = append(c.Services, h.resultOf(l, res))
		}
		for _, slug := range sortedKeys(bySlug) {
			v.Categories = append(v.Categories, *bySlug[slug])
		}
		slices.SortFunc(v.Categories, func(a, b categoryView) int { return strings.Compare(a.Title, b.Title) })
		for i := range v.Categories {
			slices.SortFunc(v.Categories[i].Services, func(a, b resultView) int { return strings.Compare(a.Title, b.Title) })
		}
	}
	h.render.Render(w, r, http.StatusOK, "services", v)
}

func (h *Handler) resultOf(l webui.Localizer, res search.Result) resultView {
	s := res.Service
	summary := s.Description.In(l.Lang)
	if rs := []rune(summary); len(rs) > 180 {
		summary = strings.TrimSpace(string(rs[:180])) + "…"
	}
	v := resultView{ID: s.ID, Title: s.Title.In(l.Lang), Summary: summary, Agency: s.Agency.Name.In(l.Lang), Kind: l.T("kind." + string(s.Kind))}
	if res.NeedsLevel {
		v.Needs = l.T("services.needs", l.T("level."+string(s.Level)))
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// serviceView is one service's page.
type serviceView struct {
	portalPage
	S          *catalog.Service
	Title      string
	Desc       string
	Agency     string
	Kind       string
	LevelLabel string
	Fee        string
	Days       int
	Docs       []docView
	SignedIn   bool
	CanApply   bool
	NeedsLevel bool
	// CanBook: a place offers the service in person (appointments);
	// Payment: the service is paying charges.
	CanBook, Payment bool
}

type docView struct {
	Title, Formats, MaxSize string
	Optional                bool
}

func (h *Handler) showService(w http.ResponseWriter, r *http.Request) {
	ix, err := h.searcher.Index(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s := ix.Get(r.PathValue("id"))
	if s == nil {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	l := h.render.Localizer(r)
	v := serviceView{portalPage: h.page(r, "services.title"), S: s, Title: s.Title.In(l.Lang), Desc: s.Description.In(l.Lang),
		Agency: s.Agency.Name.In(l.Lang), Kind: l.T("kind." + string(s.Kind)), LevelLabel: l.T("level." + string(s.Level)),
		Fee: feeText(l, s.Fee), Days: s.Days}
	v.Title, v.Page.Title = s.Title.In(l.Lang), s.Title.In(l.Lang)
	for _, d := range s.Documents {
		v.Docs = append(v.Docs, docView{Title: d.Title.In(l.Lang), Formats: strings.ToUpper(strings.Join(d.Formats, ", ")),
			MaxSize: megabytes(l, d.MaxSize), Optional: d.Optional})
	}
	if sess := session(r); sess != nil {
		v.SignedIn = true
		v.NeedsLevel = !s.Level.Allows(catalog.Level(sess.Profile.Level))
	}
	v.CanApply = s.Kind == catalog.KindApplication || s.Kind == catalog.KindCertificate
	v.Payment = s.Kind == catalog.KindPayment
	if h.appts != nil {
		places, err := h.appts.Places(r.Context(), appointments.Filter{ServiceID: s.ID})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		v.CanBook = len(places) > 0
	}
	h.render.Render(w, r, http.StatusOK, "service", v)
}

// feeText is a fee in roubles, or «бесплатно».
func feeText(l webui.Localizer, kopecks int64) string {
	if kopecks == 0 {
		return l.T("service.free")
	}
	rub, kop := kopecks/100, kopecks%100
	if kop == 0 {
		return l.T("service.fee", group(rub))
	}
	return l.T("service.fee_kop", group(rub), kop)
}

// group writes n with a no-break space between thousands, as Russian does.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, "\u00a0"...)
		}
		out = append(out, c)
	}
	return string(out)
}

// megabytes is a size in MB for people in l's language: "5 МБ",
// "2,5 МБ", "2.5 MB".
func megabytes(l webui.Localizer, n int64) string {
	return decimal(l, strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64)) + l.Pick("\u00a0МБ", "\u00a0MB")
}
