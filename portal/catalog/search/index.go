package search

import (
	"cmp"
	"slices"

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

// Index is an immutable search index over a catalogue snapshot. It is safe
// for concurrent use.
type Index struct {
	version  int64
	services []catalog.Service // ordered by id
	byID     map[string]int
	text     *Text // documents are services, in the order above
}

// Build indexes services (as Store.Snapshot returns them) at version.
func Build(version int64, services []catalog.Service) *Index {
	ix := &Index{
		version:  version,
		services: slices.Clone(services),
		byID:     make(map[string]int, len(services)),
	}
	slices.SortFunc(ix.services, func(a, b catalog.Service) int { return cmp.Compare(a.ID, b.ID) })
	docs := make([]Doc, len(ix.services))
	for i := range ix.services {
		s := &ix.services[i]
		ix.byID[s.ID] = i
		docs[i] = Doc{
			Titles:   []string{s.Title.RU, s.Title.EN},
			Keywords: s.Keywords,
			Texts:    []string{s.Description.RU, s.Description.EN},
		}
	}
	ix.text = NewText(docs)
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
// more that occurs nowhere — one typo away (Text.Find). Services with more
// words in their title come first, then by the sum of the words' best
// weights, then by title and id, so that the order is the same on every
// replica. An empty text lists every service the filters keep, by title.
func (ix *Index) Search(q Query) []Result {
	matches, words := ix.text.Find(q.Text)
	var out []Result
	consider := func(doc int, score float64) {
		s := &ix.services[doc]
		if q.Kind != "" && s.Kind != q.Kind || q.Agency != "" && s.Agency.Code != q.Agency || q.Region != "" && !s.InRegion(q.Region) {
			return
		}
		needs := q.Level != "" && !s.Level.Allows(q.Level)
		if needs && q.OnlyAvailable {
			return
		}
		out = append(out, Result{Service: s, Score: score, NeedsLevel: needs})
	}
	if words == 0 {
		for i := range ix.services {
			consider(i, 0)
		}
	} else {
		for _, m := range matches {
			consider(m.Doc, m.Score)
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
