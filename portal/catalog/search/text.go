package search

import (
	"slices"
	"strings"
	"unicode"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/russian"
)

// Where a term occurs, and how much a hit there weighs. A hit in a title
// outranks any number of hits elsewhere (Text.Find).
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
	// titleBonus is what each query word found in a title adds to a score,
	// more than the weights of all the words together can reach.
	titleBonus = 100
)

// Doc is one document to index, its texts by field: the catalogue's
// services and the help's articles are both indexed as Docs. Each field
// may hold texts in several languages.
type Doc struct {
	Titles   []string
	Keywords []string
	Texts    []string // descriptions, bodies: the lightest hits
}

type posting struct {
	doc    int32
	weight float32
}

// Text is an immutable full-text index over documents: the stems of their
// words, with tolerance of one typo. It is safe for concurrent use.
type Text struct {
	terms map[string][]posting // stem → postings ordered by doc
	// deletes maps each term with one letter deleted to the terms it came
	// from, to find the terms one typo away from a query's term.
	deletes map[string][]string
}

// NewText indexes docs; a Match names a document by its position in docs.
func NewText(docs []Doc) *Text {
	ix := &Text{terms: map[string][]posting{}, deletes: map[string][]string{}}
	st := stemmer{cache: map[string]string{}}
	best := map[string]float32{}
	for i, d := range docs {
		clear(best)
		add := func(texts []string, w float32) {
			for _, text := range texts {
				for _, t := range st.terms(text) {
					best[t] = max(best[t], w)
				}
			}
		}
		add(d.Titles, weightTitle)
		add(d.Keywords, weightKeyword)
		add(d.Texts, weightDescription)
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

// Match is a document that holds every word of a query.
type Match struct {
	Doc int // its position in the docs given to NewText
	// Score ranks matches: each word found in a title adds titleBonus, so
	// that documents with more words in their title come first, then the
	// sum of the words' best weights (a word found only through a typo
	// weighs half).
	Score float64
}

// Find returns the documents in which every word of text occurs (as its
// stem, in either language) in a title, a keyword or a text, exactly or —
// for a word of four letters or more that occurs nowhere — one typo away,
// in no particular order; and how many words text has. Without words
// (words == 0) nothing is found: what that means is the caller's choice.
func (ix *Text) Find(text string) (matches []Match, words int) {
	st := stemmer{}
	ws := st.terms(text)
	if len(ws) > maxQueryWords {
		ws = ws[:maxQueryWords]
	}
	scores := map[int32]*score{}
	for n, w := range ws {
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
			return nil, len(ws)
		}
	}
	if len(scores) == 0 {
		return nil, len(ws)
	}
	matches = make([]Match, 0, len(scores))
	for doc, sc := range scores {
		matches = append(matches, Match{Doc: int(doc), Score: float64(sc.titles)*titleBonus + float64(sc.sum)})
	}
	return matches, len(ws)
}

type score struct {
	titles int
	sum    float32
}

// hit is a query term's best occurrence in one document.
type hit struct {
	weight float32
	title  bool
}

// lookup returns each document's best weight for the query term w: exact,
// or else through the terms one typo away. A title hit's weight is
// weightTitle, the highest, so a posting's field is known from its weight.
func (ix *Text) lookup(w string) map[int32]hit {
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
func (ix *Text) typos(w string) []string {
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
