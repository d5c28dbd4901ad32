package webui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strings"
)

//go:embed templates/*.html static/*
var files embed.FS

// Static serves the shared stylesheet and script under /static/.
func Static() http.Handler {
	sub, _ := fs.Sub(files, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// Text is one message in both languages: Russian first, English second.
// (An array, so that catalogues can be written as {"…", "…"} literals.)
type Text [2]string

// Catalog maps message keys to texts.
type Catalog map[string]Text

// Merge returns a catalog with the entries of all given catalogs. A key
// defined twice panics: one catalogue silently replacing another's text
// shows a citizen the wrong words (a table header where a status sentence
// was meant), and every Merge runs at start-up, where a panic is a failed
// start, not a failed request.
func Merge(cs ...Catalog) Catalog {
	out := Catalog{}
	for _, c := range cs {
		for k, v := range c {
			if _, dup := out[k]; dup {
				panic("webui: text " + k + " defined twice")
			}
			out[k] = v
		}
	}
	return out
}

// Localizer looks texts up in one language.
type Localizer struct {
	Lang string // "ru" or "en"
	cat  Catalog
}

// T returns the text for key, formatted with args like fmt.Sprintf when
// there are any. A missing key shows itself, so it is noticed in tests.
func (l Localizer) T(key string, args ...any) string {
	t, ok := l.cat[key]
	if !ok {
		return key
	}
	s := t[0]
	if l.Lang == "en" && t[1] != "" {
		s = t[1]
	}
	if len(args) > 0 {
		s = fmt.Sprintf(s, args...)
	}
	return s
}

// Pick returns ru or en by the language: for texts that come with their
// translation (validation messages).
func (l Localizer) Pick(ru, en string) string {
	if l.Lang == "en" {
		return en
	}
	return ru
}

// Page is embedded in every view: the language, the title and the form.
type Page struct {
	L     Localizer
	Title string
	// Form holds submitted values and field errors; nil on a fresh page.
	Form *Form
	// Notice is an informational message shown above the content.
	Notice string
	// Error is a message about the whole form.
	Error string
	// OtherLangURL switches the page to the other language.
	OtherLangURL string
	OtherLang    string
	// SignedIn shows the sign-out button in the header.
	SignedIn bool
	// Tab, on the account centre's pages, names the current section of
	// the centre's navigation (see CentreTabs); the page is then wide.
	Tab string
}

// CentreTab is one section of the account centre.
type CentreTab struct{ ID, Path, Label string }

// CentreTabs are the account centre's sections, in the order shown.
var CentreTabs = []CentreTab{
	{"profile", "/account", "centre.profile"},
	{"security", "/account/security", "centre.security"},
	{"sessions", "/account/sessions", "centre.sessions"},
	{"history", "/account/history", "centre.history"},
	{"apps", "/account/apps", "centre.apps"},
	{"activity", "/account/activity", "centre.activity"},
	{"data", "/account/data", "centre.data"},
}

// Form is a submitted form: its values (never passwords or codes: those
// are not echoed back) and the errors by field name.
type Form struct {
	Values map[string]string
	Errors map[string]string
}

// MaxFieldBytes is the longest value NewForm keeps. No field of ours
// (names, addresses, contacts, codes) comes near it.
const MaxFieldBytes = 1024

// NewForm starts a form from the request's values for the given fields. A
// value longer than MaxFieldBytes is dropped, not kept, and its field gets
// the error that it is too long: a re-rendered form never echoes a
// kilobytes-long value back (which would make every page a reflector of
// whatever a client posts), and validation sees an empty value.
func NewForm(r *http.Request, fields ...string) *Form {
	f := &Form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, name := range fields {
		v := r.PostFormValue(name)
		if len(v) > MaxFieldBytes {
			f.Fail(name, Localizer{Lang: Lang(r), cat: layoutCatalog}.T("form.too_long"))
			continue
		}
		f.Values[name] = v
	}
	return f
}

// Get returns a submitted value.
func (f *Form) Get(name string) string {
	if f == nil {
		return ""
	}
	return f.Values[name]
}

// Err returns the error of a field.
func (f *Form) Err(name string) string {
	if f == nil {
		return ""
	}
	return f.Errors[name]
}

// Fail records an error for a field (the first one wins).
func (f *Form) Fail(name, msg string) {
	if _, ok := f.Errors[name]; !ok {
		f.Errors[name] = msg
	}
}

// OK reports whether no field has an error.
func (f *Form) OK() bool { return f == nil || len(f.Errors) == 0 }

// Renderer renders one package's pages with the shared layout.
type Renderer struct {
	pages map[string]*template.Template
	cat   Catalog
	log   *slog.Logger
	// support is the error pages' «Сообщить о проблеме» link (SetSupportLink).
	support string
}

// NewRenderer parses every named page of pageFS ("name" → "templates/name.html")
// together with the layout.
func NewRenderer(pageFS fs.FS, cat Catalog, log *slog.Logger, names ...string) (*Renderer, error) {
	r := &Renderer{pages: map[string]*template.Template{}, cat: Merge(layoutCatalog, errorCatalog, cat), log: log}
	// A module may bring its own layout (the portal's brand and menu);
	// the shared one is the identity provider's.
	layoutFS := fs.FS(files)
	if _, err := fs.Stat(pageFS, "templates/layout.html"); err == nil {
		layoutFS = pageFS
	}
	for _, name := range append(slices.Clone(names), errorPage) {
		t := template.New(name).Funcs(funcs)
		t, err := t.ParseFS(layoutFS, "templates/layout.html")
		if err != nil {
			return nil, fmt.Errorf("layout: %w", err)
		}
		// The shared blocks (the "input" field), whatever the layout.
		if t, err = t.ParseFS(files, "templates/blocks.html"); err != nil {
			return nil, fmt.Errorf("shared blocks: %w", err)
		}
		src := pageFS
		if name == errorPage {
			src = files
		}
		if t, err = t.ParseFS(src, "templates/"+name+".html"); err != nil {
			return nil, fmt.Errorf("page %s: %w", name, err)
		}
		// A module's pages may share blocks kept in templates/partials.html.
		if _, err := fs.Stat(pageFS, "templates/partials.html"); err == nil {
			if t, err = t.ParseFS(pageFS, "templates/partials.html"); err != nil {
				return nil, fmt.Errorf("partials: %w", err)
			}
		}
		if t.Lookup("content") == nil {
			return nil, fmt.Errorf("page %s: no content block", name)
		}
		r.pages[name] = t
	}
	return r, nil
}

// ParseStandalone parses a page of pageFS that is a whole document of its
// own, without the layout's header, navigation and footer (a page that
// must offer no way elsewhere, such as a form that posts itself), with
// the shared blocks: its head is {{template "head" .Title}}.
func ParseStandalone(pageFS fs.FS, name string) (*template.Template, error) {
	t, err := template.New(path.Base(name)).Funcs(funcs).ParseFS(files, "templates/blocks.html")
	if err != nil {
		return nil, fmt.Errorf("shared blocks: %w", err)
	}
	if t, err = t.ParseFS(pageFS, name); err != nil {
		return nil, fmt.Errorf("page %s: %w", name, err)
	}
	return t, nil
}

var funcs = template.FuncMap{
	"centreTabs": func() []CentreTab { return CentreTabs },
	"join":       strings.Join,
	"field":      newField,
}

// P returns the page itself; views embedding Page get it promoted, which
// lets the field template function reach the page of any view.
func (p Page) P() Page { return p }

// FieldView is what the shared "input" template renders: one labelled
// text input with its hint and error.
type FieldView struct {
	L                       Localizer
	Name, Label, Auto, Hint string
	Value, Err              string
}

// newField builds a FieldView from a view, for
// {{template "input" (field . "snils" "label.key" "autocomplete" "hint.key")}}.
func newField(view any, name, labelKey, auto, hintKey string) (FieldView, error) {
	pv, ok := view.(interface{ P() Page })
	if !ok {
		return FieldView{}, fmt.Errorf("field: %T does not embed web.Page", view)
	}
	p := pv.P()
	return FieldView{L: p.L, Name: name, Label: labelKey, Auto: auto, Hint: hintKey, Value: p.Form.Get(name), Err: p.Form.Err(name)}, nil
}

// Localizer returns the request's localizer.
func (r *Renderer) Localizer(req *http.Request) Localizer {
	return Localizer{Lang: Lang(req), cat: r.cat}
}

// LocalizerFor returns the localizer of a language ("en", or Russian for
// anything else): for texts sent outside a request (notices, in the
// language of the citizen's latest sign-in).
func (r *Renderer) LocalizerFor(lang string) Localizer {
	if lang != "en" {
		lang = "ru"
	}
	return Localizer{Lang: lang, cat: r.cat}
}

// NewPage fills the common parts of a view.
func (r *Renderer) NewPage(req *http.Request, titleKey string) Page {
	l := r.Localizer(req)
	p := Page{L: l, Title: l.T(titleKey)}
	other := "en"
	p.OtherLang = "English"
	if l.Lang == "en" {
		other, p.OtherLang = "ru", "Русский"
	}
	// The same address in the other language: the query (a sign-in's
	// next, a filter) is kept, only lang changes.
	q := req.URL.Query()
	q.Set("lang", other)
	// next only as the page itself would use it: a hostile one is
	// dropped, not carried into a link.
	if next := SafeNext(q.Get("next")); next != "" {
		q.Set("next", next)
	} else {
		q.Del("next")
	}
	p.OtherLangURL = req.URL.Path + "?" + q.Encode()
	return p
}

// Render writes the page with status; data is the page's typed view.
func (r *Renderer) Render(w http.ResponseWriter, req *http.Request, status int, name string, data any) {
	t := r.pages[name]
	var buf bytes.Buffer
	if t == nil {
		r.fail(w, req, fmt.Errorf("unknown page %q", name))
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		r.fail(w, req, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (r *Renderer) fail(w http.ResponseWriter, req *http.Request, err error) {
	if r.log != nil {
		r.log.ErrorContext(req.Context(), "render page", "path", req.URL.Path, "err", err)
	}
	if r != defaultErrors {
		// The shared layout's page, not r's: r's templates may be what
		// failed.
		defaultErrors.ErrorPage(w, req, http.StatusInternalServerError)
		return
	}
	http.Error(w, "Внутренняя ошибка. Попробуйте ещё раз. / Internal error. Please try again.", http.StatusInternalServerError)
}

// Redirect sends the browser on with 303 See Other (after a POST).
func Redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// layoutCatalog holds the layout's own texts.
var layoutCatalog = Catalog{
	"layout.brand":    {"Gosid", "Gosid"},
	"layout.signout":  {"Выйти", "Sign out"},
	"layout.skip":     {"Перейти к содержимому", "Skip to content"},
	"layout.footer":   {"Gosid — единая система идентификации и аутентификации", "Gosid — unified identification and authentication"},
	"layout.terms":    {"Пользовательское соглашение", "User agreement"},
	"layout.privacy":  {"Политика обработки персональных данных", "Personal data processing policy"},
	"layout.required": {"обязательное поле", "required"},
	"form.too_long":   {"Слишком длинное значение.", "The value is too long."},
	"centre.nav":      {"Разделы личного кабинета", "Account sections"},
	"centre.profile":  {"Профиль", "Profile"},
	"centre.security": {"Безопасность", "Security"},
	"centre.sessions": {"Сеансы", "Sessions"},
	"centre.history":  {"История входов", "Sign-in history"},
	"centre.apps":     {"Доступ сайтов", "Site access"},
	"centre.activity": {"Действия", "Activity"},
	"centre.data":     {"Мои данные", "My data"},
}

// PluralRu picks the Russian form for count n: one ("1 минуту"), few
// ("3 минуты") or many ("5 минут").
func PluralRu(n int, one, few, many string) string {
	if n < 0 {
		n = -n
	}
	switch {
	case n%10 == 1 && n%100 != 11:
		return one
	case n%10 >= 2 && n%10 <= 4 && (n%100 < 12 || n%100 > 14):
		return few
	}
	return many
}

// Minutes words a number of minutes in the localizer's language, as after
// «на» or «через»: "30 минут", "1 минуту"; "30 minutes", "1 minute".
func (l Localizer) Minutes(n int) string {
	if l.Lang == "en" {
		if n == 1 {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", n)
	}
	return fmt.Sprintf("%d %s", n, PluralRu(n, "минуту", "минуты", "минут"))
}
