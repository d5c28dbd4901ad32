package search

import (
	"context"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal/catalog"
	"github.com/gosid/gosid/portal/catalog/store"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

type searchCase struct {
	name string
	q    Query
	// top are the ids the first len(top) results must be, in any order;
	// none are ids that must not be found.
	top, none []string
	empty     bool
}

var searchCases = []searchCase{
	{name: "genitive", q: Query{Text: "паспорта"}, top: []string{"foreign-passport", "foreign-passport-child", "passport-14", "passport-20", "passport-45", "passport-change"}},
	{name: "nominative", q: Query{Text: "Паспорт"}, top: []string{"foreign-passport", "foreign-passport-child", "passport-14", "passport-20", "passport-45", "passport-change"}},
	{name: "compound", q: Query{Text: "загранпаспорт"}, top: []string{"foreign-passport", "foreign-passport-child"}, none: []string{"passport-20"}},
	{name: "compound inflected", q: Query{Text: "загранпаспорта ребёнку"}, top: []string{"foreign-passport-child"}},
	{name: "typo", q: Query{Text: "пасморт"}, top: []string{"foreign-passport", "foreign-passport-child", "passport-14", "passport-20", "passport-45", "passport-change"}},
	{name: "typo swapped letters", q: Query{Text: "пасопрт 20"}, top: []string{"passport-20"}},
	{name: "typo in the second word", q: Query{Text: "водительские прова"}, top: []string{"driving-licence", "driving-licence-international"}},
	{name: "english two words", q: Query{Text: "driving licence"}, top: []string{"driving-licence", "driving-licence-international"}},
	{name: "two words", q: Query{Text: "замена паспорта 45"}, top: []string{"passport-45"}},
	{name: "form name", q: Query{Text: "2-НДФЛ"}, top: []string{"income-statement"}},
	{name: "phrase", q: Query{Text: "справка о доходах"}, top: []string{"income-statement"}},
	{name: "keyword", q: Query{Text: "водительские права"}, top: []string{"driving-licence"}},
	{name: "description", q: Query{Text: "прожиточного минимума"}, top: []string{"child-benefit"}},
	{name: "yo and e", q: Query{Text: "учет"}, top: []string{"deregistration", "inn-certificate", "snils-registration"}},
	{name: "english", q: Query{Text: "passports"}, top: []string{"foreign-passport", "foreign-passport-child", "passport-14", "passport-20", "passport-45", "passport-change"}},
	{name: "no such word", q: Query{Text: "космодром"}, empty: true},
	{name: "typo of four letters", q: Query{Text: "ЗАКС"}, top: []string{"birth-registration", "divorce-registration", "marriage-registration"}},
	{name: "shorter words get no typo", q: Query{Text: "ЗГС"}, empty: true},
	{name: "kind", q: Query{Text: "выписка", Kind: catalog.KindCertificate}, top: []string{"egrn-extract", "egrn-rights"}, none: []string{"deregistration"}},
	{name: "agency", q: Query{Agency: "fns"}, top: []string{"income-statement", "inn-certificate", "tax-debts", "tax-deduction"}},
	{name: "region", q: Query{Text: "детский сад", Region: "50"}, empty: true},
	{name: "region kept", q: Query{Text: "детский сад", Region: "77"}, top: []string{"kindergarten"}},
	{name: "level", q: Query{Text: "штрафы", Level: catalog.LevelSimplified, OnlyAvailable: true}, top: []string{"traffic-fines"}},
	{name: "level filtered", q: Query{Text: "паспорт", Level: catalog.LevelStandard, OnlyAvailable: true}, empty: true},
}

// seed imports the defaults, with the kindergarten in Moscow only.
func seed(t *testing.T, db *sqldb.DB) *store.Store {
	t.Helper()
	st := store.NewStore(db, time.Now)
	svcs, err := catalog.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	for i := range svcs {
		if svcs[i].ID == "kindergarten" {
			svcs[i].Regions = []string{"77"}
		}
	}
	if _, err := st.Import(context.Background(), svcs); err != nil {
		t.Fatal(err)
	}
	return st
}

func ids(rs []Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Service.ID)
	}
	return out
}

// The examples of the issue, on both dialects, with the same results.
func TestSearch(t *testing.T) {
	var mu sync.Mutex
	got := map[string][][]string{}
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := NewSearcher(seed(t, db), time.Now, slog.New(slog.DiscardHandler))
		for _, c := range searchCases {
			rs, err := s.Search(context.Background(), c.q)
			if err != nil {
				t.Fatal(err)
			}
			found := ids(rs)
			mu.Lock()
			got[c.name] = append(got[c.name], found)
			mu.Unlock()
			if c.empty != (len(rs) == 0) {
				t.Errorf("%s: %q found %v", c.name, c.q.Text, found)
				continue
			}
			if len(found) < len(c.top) {
				t.Errorf("%s: %q found %v, want first %v", c.name, c.q.Text, found, c.top)
				continue
			}
			first := slices.Clone(found[:len(c.top)])
			slices.Sort(first)
			if !slices.Equal(first, c.top) {
				t.Errorf("%s: %q found first %v, want %v (all: %v)", c.name, c.q.Text, first, c.top, found)
			}
			for _, id := range c.none {
				if slices.Contains(found, id) {
					t.Errorf("%s: %q found %s", c.name, c.q.Text, id)
				}
			}
		}
	})
	for name, runs := range got {
		if len(runs) == 2 && !reflect.DeepEqual(runs[0], runs[1]) {
			t.Errorf("%s: SQLite found %v, PostgreSQL %v", name, runs[0], runs[1])
		}
	}
}

// Title hits come first; services above the citizen's level are marked,
// not hidden, unless only available ones are asked for.
func TestRankingAndLevel(t *testing.T) {
	defs, err := catalog.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	ix := Build(1, defs)
	rs := ix.Search(Query{Text: "брака", Level: catalog.LevelStandard})
	if len(rs) == 0 {
		t.Fatal("nothing found")
	}
	seenOther := false
	for _, r := range rs {
		inTitle := strings.Contains(strings.ToLower(r.Service.Title.RU), "брак")
		if inTitle && seenOther {
			t.Fatalf("a title hit (%s) after another: %v", r.Service.ID, ids(rs))
		}
		seenOther = seenOther || !inTitle
		if r.NeedsLevel != (r.Service.Level == catalog.LevelConfirmed) {
			t.Errorf("%s (%s) NeedsLevel %v for a standard citizen", r.Service.ID, r.Service.Level, r.NeedsLevel)
		}
	}
	if !seenOther {
		t.Error("no description or keyword hit to rank below titles")
	}
	if rs := ix.Search(Query{Text: "паспорт"}); rs[0].NeedsLevel {
		t.Error("a visitor's results marked")
	}
	if rs := ix.Search(Query{Text: "паспорт", Limit: 2}); len(rs) != 2 {
		t.Errorf("limit 2 gave %d", len(rs))
	}
}

// An import reaches a replica's index at the next check, at most a second
// later, and the version is read at most once a second.
func TestRefresh(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := seed(t, db)
		now := time.Unix(1_800_000_000, 0)
		src := &countingSource{Source: st}
		s := NewSearcher(src, func() time.Time { return now }, slog.New(slog.DiscardHandler))
		q := Query{Text: "космодром"}
		if rs, _ := s.Search(ctx, q); len(rs) != 0 {
			t.Fatal("found before the import")
		}
		svc, err := st.Get(ctx, "traffic-fines")
		if err != nil {
			t.Fatal(err)
		}
		svc.ID, svc.Keywords = "cosmodrome-pass", []string{"космодром"}
		if _, err := store.NewStore(db, time.Now).Import(ctx, []catalog.Service{svc}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(CheckInterval - time.Millisecond)
		for range 100 {
			if rs, _ := s.Search(ctx, q); len(rs) != 0 {
				t.Fatal("the version was checked again within the interval")
			}
		}
		if src.versions != 0 {
			t.Fatalf("%d version reads within the interval", src.versions)
		}
		now = now.Add(time.Millisecond)
		rs, err := s.Search(ctx, q)
		if err != nil || len(rs) != 1 || rs[0].Service.ID != "cosmodrome-pass" {
			t.Fatalf("after the interval: %v %v", ids(rs), err)
		}
		if src.versions != 1 || src.snapshots != 2 {
			t.Fatalf("%d version reads, %d snapshots", src.versions, src.snapshots)
		}
		// An unchanged version costs one read, no rebuild.
		now = now.Add(CheckInterval)
		ix1, _ := s.Index(ctx)
		if src.snapshots != 2 || src.versions != 2 {
			t.Fatalf("unchanged: %d version reads, %d snapshots", src.versions, src.snapshots)
		}
		// A database that fails leaves the previous index answering.
		db.Close()
		now = now.Add(CheckInterval)
		ix2, err := s.Index(ctx)
		if err != nil || ix2 != ix1 {
			t.Fatalf("with the database gone: %v", err)
		}
	})
}

type countingSource struct {
	Source
	versions, snapshots int
}

func (c *countingSource) Version(ctx context.Context) (int64, error) {
	c.versions++
	return c.Source.Version(ctx)
}

func (c *countingSource) Snapshot(ctx context.Context) (int64, []catalog.Service, error) {
	c.snapshots++
	return c.Source.Snapshot(ctx)
}

// FuzzSearch: no query text panics the index or takes long, and whatever
// is found matches the filters.
func FuzzSearch(f *testing.F) {
	defs, err := catalog.Defaults()
	if err != nil {
		f.Fatal(err)
	}
	ix := Build(1, defs)
	for _, c := range searchCases {
		f.Add(c.q.Text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		start := time.Now()
		for _, r := range ix.Search(Query{Text: text, Kind: catalog.KindCertificate}) {
			if r.Service.Kind != catalog.KindCertificate {
				t.Fatalf("%q found %s of kind %s", text, r.Service.ID, r.Service.Kind)
			}
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("%q took %v", text, d)
		}
	})
}

// Requests racing an import: every search answers from a whole index, and
// the import is seen after the interval.
func TestConcurrentRefresh(t *testing.T) {
	db := sqldbtest.SQLite(t)
	st := seed(t, db)
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := NewSearcher(st, clock, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				rs, err := s.Search(ctx, Query{Text: "паспорт"})
				if err != nil || len(rs) < 6 {
					t.Errorf("search: %d results, %v", len(rs), err)
					return
				}
			}
		})
	}
	svc, err := st.Get(ctx, "traffic-fines")
	if err != nil {
		t.Fatal(err)
	}
	svc.ID, svc.Keywords = "cosmodrome-pass", []string{"космодром"}
	if _, err := st.Import(ctx, []catalog.Service{svc}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(CheckInterval)
	mu.Unlock()
	wg.Wait()
	if rs, err := s.Search(ctx, Query{Text: "космодром"}); err != nil || len(rs) != 1 {
		t.Fatalf("after the interval: %v %v", ids(rs), err)
	}
}
