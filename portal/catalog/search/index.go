package search

import (
	"cmp"
	"slices"
	"strings"
	"unicode"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/russian"

	"github.com/gosid/gosid/portal/catalog"
)

// Query is one search: the text a citizen typed and the filters chosen.
// Empty fields do not filter.
type Query struct {
	Text   string
	Kind   catalog.Kind
	Agency string // agency code
	Region string // two-digit region code: services of all regions or of this one
	// Level is the citizen's assurance level; "" for a visitor who has not
	// signed in, for whom nothing is marked.
	Level catalog.Level
	// OnlyAvailable leaves out the services that need a higher level than
	// Level; otherwise they are kept and marked NeedsLevel.
	OnlyAvailable bool
	// Limit bounds the results; 0 means all.
	Limit int
}

// Result is one service found, best first.
type Result struct {
	Service *catalog.Service
	Score   float64
	// NeedsLevel: the citizen must raise their level (to Service.Level)
	// before applying.
	NeedsLevel bool
}

// Where a term occurs, and how much a hit there weighs. A hit in a title
// outranks any number of hits elsewhere (Search).
const (
	weightTitle       = 8
	weightKeyword     = 4
	weightDescription = 1
	// A term found only through a typo weighs half.
	typoFactor = 0.5
	// Terms shorter than this (in letters) get no typo tolerance: too many
	// short words are one letter apart.
	minTypoLen = 4
	// Words of a query beyond this many are ignored, so that a pasted
	// page costs no more than a query.
	maxQueryWords = 10
	// Words longer than this (in bytes) are not words; they are cut.
	maxWordLen = 64
)

type posting struct {
	doc    int32
	weight float32
}

// Index is an immutable search index over a catalogue snapshot. It is safe
// for concurrent use.
type Index struct {
	version  int64
	services []catalog.Service // ordered by id
	byID     map[string]int
	terms    map[string][]posting // stem → postings ordered by doc
	// deletes maps each term with one letter deleted to the terms it came
	// from, to find the terms one typo away from a query's term.
	deletes map[string][]string
}

// Build indexes services (as Store.Snapshot returns them) at version.
func Build(version int64, services []catalog.Service) *Index {
	ix := &Index{
		version:  version,
		services: slices.Clone(services),
		byID:     make(map[string]int, len(services)),
		terms:    map[string][]posting{},
		deletes:  map[string][]string{},
	}
	slices.SortFunc(ix.services, func(a, b catalog.Service) int { return cmp.Compare(a.ID, b.ID) })
	st := stemmer{cache: map[string]string{}}
	for i := range ix.services {
		s := &ix.services[i]
		ix.byID[s.ID] = i
		best := map[string]float32{}
		add := func(text string, w float32) {
			for _, t := range st.terms(text) {
				best[t] = max(best[t], w)
			}
		}
		add(s.Title.RU, weightTitle)
		add(s.Title.EN, weightTitle)
		for _, k := range s.Keywords {
			add(k, weightKeyword)
		}
		add(s.Description.RU, weightDescription)
		add(s.Description.EN, weightDescription)
		for t, w := range best {
			ix.terms[t] = append(ix.terms[t], posting{doc: int32(i), weight: w})
		}
	}
	for t := range ix.terms {
		if len([]rune(t)) < minTypoLen {
			continue
		}
		for _, d := range deletions(t) {
			ix.deletes[d] = append(ix.deletes[d], t)
		}
	}
	return ix
}

// Version is the catalogue version the index was built from.
func (ix *Index) Version() int64 { return ix.version }

// Len is the number of services indexed.
func (ix *Index) Len() int { return len(ix.services) }

// Get returns the indexed service id, or nil.
func (ix *Index) Get(id string) *catalog.Service {
	if i, ok := ix.byID[id]; ok {
		return &ix.services[i]
	}
	return nil
}

// Search returns the services matching q, best first: every word of the
// text must occur (as its stem, in either language) in the title, the
// keywords or the description, exactly or — for a word of four letters or
// more that occurs nowhere — one typo away. Services with more words in
// their title come first, then by the sum of the words' best weights,
// then by title and id, so that the order is the same on every replica.
// An empty text lists every service the filters keep, by title.
func (ix *Index) Search(q Query) []Result {
	st := stemmer{}
	words := st.terms(q.Text)
	if len(words) > maxQueryWords {
		words = words[:maxQueryWords]
	}
	scores := map[int32]*score{}
	for n, w := range words {
		hits := ix.lookup(w)
		next := map[int32]*score{}
		for doc, h := range hits {
			prev := scores[doc]
			if n > 0 && prev == nil {
				continue // every word must match
			}
			sc := &score{}
			if prev != nil {
				*sc = *prev
			}
			sc.sum += h.weight
			if h.title {
				sc.titles++
			}
			next[doc] = sc
		}
		scores = next
		if len(scores) == 0 {
			return nil
		}
	}
	var out []Result
	consider := func(doc int32, sc score) {
		s := &ix.services[doc]
		if q.Kind != "" && s.Kind != q.Kind || q.Agency != "" && s.Agency.Code != q.Agency || q.Region != "" && !s.InRegion(q.Region) {
			return
		}
		needs := q.Level != "" && !s.Level.Allows(q.Level)
		if needs && q.OnlyAvailable {
			return
		}
		out = append(out, Result{Service: s, Score: float64(sc.titles)*100 + float64(sc.sum), NeedsLevel: needs})
	}
	if len(words) == 0 {
		for i := range ix.services {
			consider(int32(i), score{})
		}
	} else {
		for doc, sc := range scores {
			consider(doc, *sc)
		}
	}
	slices.SortFunc(out, func(a, b Result) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Service.Title.RU, b.Service.Title.RU); c != 0 {
			return c
		}
		return cmp.Compare(a.Service.ID, b.Service.ID)
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

type score struct {
	titles int
	sum    float32
}

// hit is a query term's best occurrence in one service.
type hit struct {
	weight float32
	title  bool
}

// lookup returns each service's best weight for the query term w: exact,
// or else through the terms one typo away. A title hit's weight is
// weightTitle, the highest, so a posting's field is known from its weight.
func (ix *Index) lookup(w string) map[int32]hit {
	hits := map[int32]hit{}
	if ps, ok := ix.terms[w]; ok {
		for _, p := range ps {
			hits[p.doc] = hit{p.weight, p.weight == weightTitle}
		}
		return hits
	}
	if len([]rune(w)) < minTypoLen {
		return hits
	}
	for _, t := range ix.typos(w) {
		for _, p := range ix.terms[t] {
			if h := (hit{p.weight * typoFactor, p.weight == weightTitle}); h.weight > hits[p.doc].weight {
				hits[p.doc] = h
			}
		}
	}
	return hits
}

// typos returns the indexed terms one edit (a letter inserted, deleted,
// replaced, or two neighbours swapped) away from w.
func (ix *Index) typos(w string) []string {
	var cands []string
	cands = append(cands, ix.deletes[w]...) // w lacks a letter
	for _, d := range deletions(w) {
		if _, ok := ix.terms[d]; ok {
			cands = append(cands, d) // w has a letter too many
		}
		cands = append(cands, ix.deletes[d]...) // a letter replaced or swapped
	}
	slices.Sort(cands)
	cands = slices.Compact(cands)
	return slices.DeleteFunc(cands, func(t string) bool { return !oneEdit(w, t) })
}

// deletions returns w with each of its letters deleted in turn.
func deletions(w string) []string {
	r := []rune(w)
	out := make([]string, 0, len(r))
	for i := range r {
		out = append(out, string(r[:i])+string(r[i+1:]))
	}
	return out
}

// oneEdit reports whether a and b differ by exactly one insertion,
// deletion, substitution or swap of neighbours.
func oneEdit(a, b string) bool {
	x, y := []rune(a), []rune(b)
	if len(x) < len(y) {
		x, y = y, x
	}
	switch len(x) - len(y) {
	case 1:
		i := 0
		for i < len(y) && x[i] == y[i] {
			i++
		}
		return slices.Equal(x[i+1:], y[i:])
	case 0:
		i := 0
		for i < len(x) && x[i] == y[i] {
			i++
		}
		if i == len(x) {
			return false
		}
		if slices.Equal(x[i+1:], y[i+1:]) {
			return true
		}
		return i+1 < len(x) && x[i] == y[i+1] && x[i+1] == y[i] && slices.Equal(x[i+2:], y[i+2:])
	}
	return false
}

// stemmer splits text into words and stems them: Cyrillic words with the
// Russian Snowball stemmer, Latin ones with the English one, others (digits)
// as they are. Stop words («для», «о», "the") are dropped; ё counts as е.
type stemmer struct {
	cache map[string]string // nil: no caching
}

func (st stemmer) terms(text string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		w = strings.ReplaceAll(w, "ё", "е")
		if len(w) > maxWordLen {
			w = strings.ToValidUTF8(w[:maxWordLen], "")
		}
		if t := st.stem(w); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func (st stemmer) stem(w string) string {
	if s, ok := st.cache[w]; ok {
		return s
	}
	var s string
	switch script(w) {
	case unicode.Cyrillic:
		if !russian.IsStopWord(w) {
			s = russian.Stem(w, true)
		}
	case unicode.Latin:
		if !english.IsStopWord(w) {
			s = english.Stem(w, true)
		}
	default:
		s = w
	}
	if st.cache != nil {
		st.cache[w] = s
	}
	return s
}

// script is the script of w's letters when they are all Cyrillic or all
// Latin, else nil.
func script(w string) *unicode.RangeTable {
	var sc *unicode.RangeTable
	for _, r := range w {
		var this *unicode.RangeTable
		switch {
		case unicode.Is(unicode.Cyrillic, r):
			this = unicode.Cyrillic
		case unicode.Is(unicode.Latin, r):
			this = unicode.Latin
		default:
			return nil
		}
		if sc != nil && sc != this {
			return nil
		}
		sc = this
	}
	return sc
}
