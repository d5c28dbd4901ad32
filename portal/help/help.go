package help

import (
	"bytes"
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gosid/gosid/portal/catalog/search"
)

// Text is a text in Russian and English.
type Text struct {
	RU string `yaml:"ru"`
	EN string `yaml:"en"`
}

// In returns the text in lang ("en", or Russian for anything else).
func (t Text) In(lang string) string {
	if lang == "en" {
		return t.EN
	}
	return t.RU
}

// Section groups articles; sections are listed in the order of the file.
type Section struct {
	ID       string     `yaml:"id"`
	Title    Text       `yaml:"title"`
	Articles []*Article `yaml:"-"` // in the order of the file
}

// Article is one answer.
type Article struct {
	ID       string   `yaml:"id"` // a slug: the page is /help/{id}
	Section  string   `yaml:"section"`
	Title    Text     `yaml:"title"`
	Body     Text     `yaml:"body"` // markup of Blocks
	Keywords []string `yaml:"keywords"`
	Links    []Link   `yaml:"links"`
}

// Link is a related page: a path of the portal, or with IdP a path of the
// identity provider, which the portal makes absolute with the IdP's URL.
type Link struct {
	Href  string `yaml:"href"`
	IdP   bool   `yaml:"idp"`
	Title Text   `yaml:"title"`
}

// Help is the loaded articles and their search index; safe for concurrent
// use (it never changes).
type Help struct {
	sections []*Section
	articles []*Article // as indexed: a search.Match's Doc is a position here
	byID     map[string]*Article
	text     *search.Text
}

//go:embed articles.yaml
var articlesYAML []byte

// Load parses and checks the embedded articles.
func Load() (*Help, error) { return Parse(articlesYAML) }

type file struct {
	Sections []*Section `yaml:"sections"`
	Articles []*Article `yaml:"articles"`
}

// MaxSize bounds a help file: the embedded one is a few dozen kilobytes.
const MaxSize = 1 << 20

var (
	slug = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	// path: an absolute path without a scheme, host, query tricks or
	// characters that need escaping; "//" would be another host.
	path = regexp.MustCompile(`^/([a-z0-9._~-]+(/[a-z0-9._~-]+)*)?$`)
)

// Parse decodes and checks a help file, and indexes its articles. Every
// problem is reported (errors.Join), naming the article and the field.
func Parse(data []byte) (*Help, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("help: the file is larger than %d bytes", MaxSize)
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("help: %w", err)
	}
	var probs []error
	fail := func(format string, args ...any) { probs = append(probs, fmt.Errorf("help: "+format, args...)) }
	h := &Help{byID: map[string]*Article{}}
	sections := map[string]*Section{}
	for i, s := range f.Sections {
		switch {
		case s == nil || !slug.MatchString(s.ID):
			fail("section %d: the id must be a slug (a-z, 0-9, -)", i+1)
			continue
		case sections[s.ID] != nil:
			fail("section %s: given twice", s.ID)
			continue
		}
		checkText(fail, "section "+s.ID+": title", s.Title)
		sections[s.ID] = s
		h.sections = append(h.sections, s)
	}
	for i, a := range f.Articles {
		if a == nil || !slug.MatchString(a.ID) {
			fail("article %d: the id must be a slug (a-z, 0-9, -)", i+1)
			continue
		}
		if h.byID[a.ID] != nil {
			fail("article %s: given twice", a.ID)
			continue
		}
		at := "article " + a.ID
		sec := sections[a.Section]
		if sec == nil {
			fail("%s: section %q is not listed under sections", at, a.Section)
		}
		checkText(fail, at+": title", a.Title)
		checkText(fail, at+": body", a.Body)
		if len(a.Keywords) == 0 || slices.ContainsFunc(a.Keywords, func(k string) bool { return strings.TrimSpace(k) == "" }) {
			fail("%s: keywords: at least one, none empty", at)
		}
		for j, l := range a.Links {
			if !path.MatchString(l.Href) {
				fail("%s: link %d: href must be a path such as /charges, not %q", at, j+1, l.Href)
			}
			checkText(fail, fmt.Sprintf("%s: link %d: title", at, j+1), l.Title)
		}
		h.byID[a.ID] = a
		h.articles = append(h.articles, a)
		if sec != nil {
			sec.Articles = append(sec.Articles, a)
		}
	}
	for _, s := range h.sections {
		if len(s.Articles) == 0 {
			fail("section %s: no articles", s.ID)
		}
	}
	if len(h.articles) == 0 {
		fail("no articles")
	}
	if len(probs) > 0 {
		return nil, errors.Join(probs...)
	}
	docs := make([]search.Doc, len(h.articles))
	for i, a := range h.articles {
		docs[i] = search.Doc{
			Titles:   []string{a.Title.RU, a.Title.EN},
			Keywords: a.Keywords,
			Texts:    []string{a.Body.RU, a.Body.EN},
		}
	}
	h.text = search.NewText(docs)
	return h, nil
}

func checkText(fail func(string, ...any), what string, t Text) {
	if strings.TrimSpace(t.RU) == "" {
		fail("%s: the Russian text is missing", what)
	}
	if strings.TrimSpace(t.EN) == "" {
		fail("%s: the English text is missing", what)
	}
}

// Sections returns the sections, each with its articles, in the file's
// order. The caller must not change them.
func (h *Help) Sections() []*Section { return h.sections }

// Len is the number of articles.
func (h *Help) Len() int { return len(h.articles) }

// Get returns the article id, or nil.
func (h *Help) Get(id string) *Article { return h.byID[id] }

// Result is one article found.
type Result struct {
	Article *Article
	Score   float64
}

// Search returns the articles holding every word of text (search.Text:
// stems in either language, one typo), best first, then by Russian title
// and id so that every replica answers alike; at most limit (0: all). An
// empty text finds nothing.
func (h *Help) Search(text string, limit int) []Result {
	matches, _ := h.text.Find(text)
	out := make([]Result, 0, len(matches))
	for _, m := range matches {
		out = append(out, Result{Article: h.articles[m.Doc], Score: m.Score})
	}
	slices.SortFunc(out, func(a, b Result) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Article.Title.RU, b.Article.Title.RU); c != 0 {
			return c
		}
		return cmp.Compare(a.Article.ID, b.Article.ID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}
