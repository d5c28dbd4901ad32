package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/validate"
)

var simNow = time.Date(2026, time.March, 12, 10, 0, 0, 0, time.UTC)

func newTestSimulator() *Simulator {
	return NewSimulator(SimulatorConfig{NoLatency: true, Now: func() time.Time { return simNow }})
}

// request builds the request a check would send to source about id.
func request(id Identity, source Source, reqID string) Request {
	p := id.Passport
	return Request{ID: reqID, Source: source, Person: id.Person, SNILS: id.SNILS, Passport: &p, INN: id.INN}
}

func identity(t *testing.T, key string) Identity {
	t.Helper()
	for _, id := range Identities() {
		if id.Key == key {
			return id
		}
	}
	t.Fatalf("no identity %q", key)
	return Identity{}
}

type want struct {
	status Status
	fields []string
	inn    string
	err    error // ErrUnavailable: no verdict
}

// TestSimulatorIdentities runs every named identity through every
// registry and compares with the documented answers, written out here
// independently of the simulator's table.
func TestSimulatorIdentities(t *testing.T) {
	ok := want{status: Confirmed}
	table := map[string]map[Source]want{
		"passes":                {SFR: ok, MVD: ok, FNS: {status: Confirmed, inn: "770412345664"}},
		"sfr-birthdate":         {SFR: {status: Mismatch, fields: []string{"birthdate"}}, MVD: ok, FNS: {status: Confirmed, inn: "780634567801"}},
		"mvd-issue-date":        {SFR: ok, MVD: {status: Mismatch, fields: []string{"passport_issue_date"}}, FNS: {status: Confirmed, inn: "500345678979"}},
		"mvd-family-name":       {SFR: ok, MVD: {status: Mismatch, fields: []string{"family_name"}}, FNS: {status: Confirmed, inn: "770756789080"}},
		"snils-not-found":       {SFR: {status: NotFound}, MVD: ok, FNS: {status: Confirmed, inn: "660167890122"}},
		"passport-not-found":    {SFR: ok, MVD: {status: NotFound}, FNS: {status: NotFound}},
		"passport-invalid":      {SFR: ok, MVD: {status: Invalid}, FNS: {status: Confirmed, inn: "540989012301"}},
		"mvd-timeout":           {SFR: ok, MVD: {err: ErrUnavailable}, FNS: {status: Confirmed, inn: "770990123459"}},
		"flaky":                 {SFR: {err: ErrUnavailable}, MVD: {err: ErrUnavailable}, FNS: {err: ErrUnavailable}},
		"becomes-invalid":       {SFR: ok, MVD: ok, FNS: {status: Confirmed, inn: "781112345647"}},
		"inn-mismatch":          {SFR: ok, MVD: ok, FNS: {status: Mismatch, fields: []string{"inn"}}},
		"passes-no-middle-name": {SFR: ok, MVD: ok, FNS: {status: Confirmed, inn: "770523456779"}},
	}
	sim := newTestSimulator()
	ids := Identities()
	if len(ids) != len(table) {
		t.Errorf("%d identities, %d expected", len(ids), len(table))
	}
	for _, id := range ids {
		for _, source := range Sources() {
			w, found := table[id.Key][source]
			if !found {
				t.Errorf("%s: no expectation for %s", id.Key, source)
				continue
			}
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			reqID := "req-" + id.Key + "-" + string(source)
			res, err := sim.Check(ctx, request(id, source, reqID))
			cancel()
			if w.err != nil {
				if !errors.Is(err, w.err) {
					t.Errorf("%s %s: err %v, want %v", id.Key, source, err, w.err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %s: %v", id.Key, source, err)
				continue
			}
			if res.Status != w.status || !slices.Equal(res.Fields, w.fields) || res.INN != w.inn {
				t.Errorf("%s %s: %s %v inn %q, want %s %v inn %q", id.Key, source, res.Status, res.Fields, res.INN, w.status, w.fields, w.inn)
			}
			if !strings.HasPrefix(res.RecordID, "sim-") || !res.CheckedAt.Equal(simNow) {
				t.Errorf("%s %s: record %q at %v", id.Key, source, res.RecordID, res.CheckedAt)
			}
		}
	}
}

// TestSimulatorIdentitiesValid: the table's documents pass Gosid's own
// validation, so that a citizen can type them, and none belongs to the
// generated family.
func TestSimulatorIdentitiesValid(t *testing.T) {
	seen := map[string]string{}
	for _, id := range Identities() {
		if c, err := validate.SNILS(id.SNILS); err != nil || c != id.SNILS {
			t.Errorf("%s: SNILS %q: %v (canonical %q)", id.Key, id.SNILS, err, c)
		}
		for _, inn := range []string{id.INN, heldINN(t, id.Key)} {
			if inn == "" {
				continue
			}
			if _, err := validate.PersonINN(inn); err != nil {
				t.Errorf("%s: INN %q: %v", id.Key, inn, err)
			}
		}
		if _, err := validate.PassportSeries(id.Passport.Series); err != nil {
			t.Errorf("%s: series: %v", id.Key, err)
		}
		if _, err := validate.PassportNumber(id.Passport.Number); err != nil {
			t.Errorf("%s: number: %v", id.Key, err)
		}
		if _, err := validate.DivisionCode(id.Passport.DivisionCode); err != nil {
			t.Errorf("%s: division code: %v", id.Key, err)
		}
		if _, err := validate.PassportIssuer(id.Passport.Issuer); err != nil {
			t.Errorf("%s: issuer: %v", id.Key, err)
		}
		if _, err := validate.BirthDate(isoDate(id.Person.BirthDate), false, simNow); err != nil {
			t.Errorf("%s: birth date: %v", id.Key, err)
		}
		if _, err := validate.PassportIssueDate(isoDate(id.Passport.IssueDate), id.Person.BirthDate, simNow, false); err != nil {
			t.Errorf("%s: issue date: %v", id.Key, err)
		}
		if strings.HasPrefix(id.SNILS, "100-") || id.Passport.Series == GeneratedPassportSeries {
			t.Errorf("%s: in the generated family", id.Key)
		}
		for _, doc := range []string{id.SNILS, id.Passport.Series + id.Passport.Number} {
			if other, dup := seen[doc]; dup {
				t.Errorf("%s and %s share a document", id.Key, other)
			}
			seen[doc] = id.Key
		}
	}
}

func heldINN(t *testing.T, key string) string {
	t.Helper()
	for _, id := range simIdentities() {
		if id.Key == key {
			return id.heldINN()
		}
	}
	return ""
}

// TestSimulatorNormalises: names compare as validate.SameName does, and
// documents written with spaces or without separators are the same.
func TestSimulatorNormalises(t *testing.T) {
	sim := newTestSimulator()
	id := identity(t, "sfr-birthdate") // Пётр
	id.Person.BirthDate = date(1990, time.January, 2)
	id.Person.GivenName = "ПЕТР"
	id.Person.FamilyName = " петров "
	id.SNILS = validate.SNILSDigits(id.SNILS)
	if res, err := sim.Check(t.Context(), request(id, SFR, "n1")); err != nil || res.Status != Confirmed {
		t.Errorf("SFR: %+v %v", res, err)
	}
	id = identity(t, "passes")
	id.Passport.Series = "45 05"
	id.Passport.Number = " 123 456"
	id.Person.MiddleName = "Иванович-"
	if res, err := sim.Check(t.Context(), request(id, MVD, "n2")); err != nil || res.Status != Confirmed {
		t.Errorf("MVD: %+v %v", res, err)
	}
	id.Person.MiddleName = ""
	id.Person.GivenName = "Иоанн"
	id.Passport.IssueDate = time.Date(2005, time.April, 2, 23, 0, 0, 0, time.FixedZone("MSK", 3*3600))
	if res, err := sim.Check(t.Context(), request(id, MVD, "n3")); err != nil || res.Status != Mismatch || !slices.Equal(res.Fields, []string{"given_name", "middle_name"}) {
		t.Errorf("MVD mismatch: %+v %v", res, err)
	}
	// A typed INN that ФНС holds is confirmed.
	id = identity(t, "passes")
	id.INN = "770412345664"
	if res, err := sim.Check(t.Context(), request(id, FNS, "n4")); err != nil || res.Status != Confirmed || res.INN != id.INN {
		t.Errorf("FNS: %+v %v", res, err)
	}
	// Unknown documents are not found.
	id.SNILS = validate.GenerateSNILS(200_000_001)
	id.Passport.Number = "999999"
	for _, source := range Sources() {
		if res, err := sim.Check(t.Context(), request(id, source, "n5")); err != nil || res.Status != NotFound {
			t.Errorf("%s unknown: %+v %v", source, res, err)
		}
	}
}

// TestSimulatorRecordID: one request ID is one record; another ID another.
func TestSimulatorRecordID(t *testing.T) {
	sim := newTestSimulator()
	id := identity(t, "passes")
	a, _ := sim.Check(t.Context(), request(id, SFR, "r1"))
	b, _ := sim.Check(t.Context(), request(id, SFR, "r1"))
	c, _ := sim.Check(t.Context(), request(id, SFR, "r2"))
	d, _ := sim.Check(t.Context(), request(id, MVD, "r1"))
	if a.RecordID != b.RecordID || a.RecordID == c.RecordID || a.RecordID == d.RecordID {
		t.Errorf("record ids %q %q %q %q", a.RecordID, b.RecordID, c.RecordID, d.RecordID)
	}
}

func TestSimulatorBadRequest(t *testing.T) {
	sim := newTestSimulator()
	id := identity(t, "passes")
	cases := map[string]Request{
		"no id":         {Source: SFR, Person: id.Person, SNILS: id.SNILS},
		"id with space": {ID: "a b", Source: SFR, Person: id.Person, SNILS: id.SNILS},
		"no source":     {ID: "x", Person: id.Person, SNILS: id.SNILS},
		"sfr no snils":  {ID: "x", Source: SFR, Person: id.Person, Passport: &id.Passport},
		"sfr no name":   {ID: "x", Source: SFR, Person: Person{BirthDate: id.Person.BirthDate}, SNILS: id.SNILS},
		"sfr no birth":  {ID: "x", Source: SFR, Person: Person{FamilyName: "Иванов", GivenName: "Иван"}, SNILS: id.SNILS},
		"mvd no pass":   {ID: "x", Source: MVD, Person: id.Person, SNILS: id.SNILS},
		"fns no pass":   {ID: "x", Source: FNS, Person: id.Person, INN: "770412345664"},
		"mvd no issued": {ID: "x", Source: MVD, Person: id.Person, Passport: &Passport{Series: "4505", Number: "123456"}},
	}
	for name, req := range cases {
		_, err := sim.Check(t.Context(), req)
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: %v", name, err)
		}
		if err != nil && (strings.Contains(err.Error(), id.SNILS) || strings.Contains(err.Error(), "Иван")) {
			t.Errorf("%s: the error shows the citizen's data: %v", name, err)
		}
	}
}

// TestSimulatorLatency: the configured latency is waited for, a cancelled
// context cuts it short with ErrUnavailable, and the default is one second.
func TestSimulatorLatency(t *testing.T) {
	id := identity(t, "passes")
	sim := NewSimulator(SimulatorConfig{Latency: 150 * time.Millisecond})
	start := time.Now()
	res, err := sim.Check(t.Context(), request(id, SFR, "l1"))
	if el := time.Since(start); err != nil || res.Status != Confirmed || el < 150*time.Millisecond {
		t.Errorf("answered %s after %v: %v", res.Status, el, err)
	}
	if res.CheckedAt.IsZero() || time.Since(res.CheckedAt) > time.Minute {
		t.Errorf("CheckedAt %v: not the real clock", res.CheckedAt)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = sim.Check(ctx, request(id, SFR, "l2"))
	if el := time.Since(start); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || el > 120*time.Millisecond {
		t.Errorf("cancelled after %v: %v", el, err)
	}
	if d := NewSimulator(SimulatorConfig{}).latency; d != DefaultLatency || DefaultLatency != time.Second {
		t.Errorf("default latency %v", d)
	}
	if d := NewSimulator(SimulatorConfig{Latency: time.Minute, NoLatency: true}).latency; d != 0 {
		t.Errorf("NoLatency: %v", d)
	}
}

// TestSimulatorTimeout: the МВД timeout identity hangs until the caller's
// deadline or the simulator's own timeout, whichever comes first, and then
// reports ErrUnavailable.
func TestSimulatorTimeout(t *testing.T) {
	sim := newTestSimulator()
	if sim.timeout != 10*time.Second {
		t.Errorf("default timeout %v", sim.timeout)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := sim.Check(ctx, request(identity(t, "mvd-timeout"), MVD, "t1"))
	if el := time.Since(start); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || el < 100*time.Millisecond || el > time.Second {
		t.Errorf("after %v: %v", el, err)
	}
	sim = NewSimulator(SimulatorConfig{NoLatency: true, Timeout: 150 * time.Millisecond})
	start = time.Now()
	_, err = sim.Check(t.Context(), request(identity(t, "mvd-timeout"), MVD, "t2"))
	if el := time.Since(start); !errors.Is(err, ErrUnavailable) || el < 150*time.Millisecond || el > time.Second {
		t.Errorf("no deadline: after %v: %v", el, err)
	}
}

// TestSimulatorFlaky: two failures per request ID, then the verdict, for
// each request ID on its own, also when retried concurrently.
func TestSimulatorFlaky(t *testing.T) {
	sim := newTestSimulator()
	id := identity(t, "flaky")
	for _, reqID := range []string{"f1", "f2"} {
		for _, source := range Sources() {
			for i := range 2 {
				if _, err := sim.Check(t.Context(), request(id, source, reqID)); !errors.Is(err, ErrUnavailable) {
					t.Errorf("%s %s call %d: %v", reqID, source, i+1, err)
				}
			}
			res, err := sim.Check(t.Context(), request(id, source, reqID))
			if err != nil || res.Status != Confirmed {
				t.Errorf("%s %s call 3: %+v %v", reqID, source, res, err)
			}
			if source == FNS && res.INN != "771001234511" {
				t.Errorf("FNS INN %q", res.INN)
			}
		}
	}
	// Ten callers race on one request ID: exactly two fail.
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for range 10 {
		wg.Go(func() {
			_, err := sim.Check(t.Context(), request(id, SFR, "race"))
			if err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if failed != 2 {
		t.Errorf("%d of 10 racing calls failed, want 2", failed)
	}
}

// TestSimulatorBecomesInvalid: the passport is confirmed for the first
// request ID (also when that request is repeated) and invalid for every
// later check, so that a recheck lowers the level.
func TestSimulatorBecomesInvalid(t *testing.T) {
	sim := newTestSimulator()
	id := identity(t, "becomes-invalid")
	for i, c := range []struct {
		reqID string
		want  Status
	}{{"b1", Confirmed}, {"b1", Confirmed}, {"b2", Invalid}, {"b3", Invalid}, {"b1", Confirmed}} {
		res, err := sim.Check(t.Context(), request(id, MVD, c.reqID))
		if err != nil || res.Status != c.want {
			t.Errorf("check %d (%s): %+v %v, want %s", i, c.reqID, res, err, c.want)
		}
	}
	// Another simulator (another process) starts afresh.
	if res, _ := newTestSimulator().Check(t.Context(), request(id, MVD, "b9")); res.Status != Confirmed {
		t.Errorf("a fresh simulator: %s", res.Status)
	}
	// СФР and ФНС are not affected.
	for _, source := range []Source{SFR, FNS} {
		if res, _ := sim.Check(t.Context(), request(id, source, "b4")); res.Status != Confirmed {
			t.Errorf("%s: %s", source, res.Status)
		}
	}
}

// TestSimulatorGeneratedFamily: thousands of distinct people, all
// confirmed by every registry, ФНС finding a valid INN that is theirs.
func TestSimulatorGeneratedFamily(t *testing.T) {
	sim := newTestSimulator()
	snils, inns := map[string]bool{}, map[string]bool{}
	for _, n := range []int{0, 1, 2, 3, 999_998, 999_999, -1} {
		id := GeneratedIdentity(n)
		if !strings.HasPrefix(id.SNILS, "100-") || id.Passport.Series != "4600" {
			t.Errorf("%d: %s %s", n, id.SNILS, id.Passport.Series)
		}
	}
	for n := range 3000 {
		id := GeneratedIdentity(n)
		if snils[id.SNILS] {
			t.Fatalf("%d: SNILS repeated", n)
		}
		snils[id.SNILS] = true
		if _, err := validate.SNILS(id.SNILS); err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		if _, err := validate.PassportIssueDate(isoDate(id.Passport.IssueDate), id.Person.BirthDate, simNow, false); err != nil {
			t.Fatalf("%d: issue date: %v", n, err)
		}
		for _, source := range Sources() {
			res, err := sim.Check(t.Context(), request(id, source, fmt.Sprint("g", n, source)))
			if err != nil || res.Status != Confirmed {
				t.Fatalf("%d %s: %+v %v", n, source, res, err)
			}
			if source != FNS {
				continue
			}
			if _, err := validate.PersonINN(res.INN); err != nil || inns[res.INN] || res.INN != GeneratedINN(id.Passport) {
				t.Fatalf("%d: INN %q: %v (repeated %v)", n, res.INN, err, inns[res.INN])
			}
			inns[res.INN] = true
		}
	}
	// Any name and birth date: the family is about the documents.
	id := GeneratedIdentity(7)
	id.Person = Person{FamilyName: "Другой", GivenName: "Человек", BirthDate: date(2000, 1, 1)}
	for _, source := range Sources() {
		if res, err := sim.Check(t.Context(), request(id, source, "any")); err != nil || res.Status != Confirmed {
			t.Errorf("%s: %+v %v", source, res, err)
		}
	}
	// A typed INN that is not the generated one is a mismatch.
	id.INN = "770412345664"
	if res, _ := sim.Check(t.Context(), request(id, FNS, "inn")); res.Status != Mismatch || !slices.Equal(res.Fields, []string{"inn"}) {
		t.Errorf("typed INN: %+v", res)
	}
	// Series 4600 is the family; a SNILS of group 101 is not.
	id.SNILS = validate.GenerateSNILS(101_000_007)
	if res, _ := sim.Check(t.Context(), request(id, SFR, "101")); res.Status != NotFound {
		t.Errorf("SNILS 101-…: %s", res.Status)
	}
}

// TestSimulatorIdentitiesDocumented: every identity's documents appear in
// the documentation's table in docs/verification.md.
func TestSimulatorIdentitiesDocumented(t *testing.T) {
	var doc string
	for _, p := range []string{"../../docs/verification.md"} {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), "The simulator's test identities") {
			doc = string(b)
			break
		}
	}
	if doc == "" {
		t.Fatal("no documentation of the simulator's test identities")
	}
	for _, id := range simIdentities() {
		for _, v := range []string{id.SNILS, id.Passport.Series + " " + id.Passport.Number, id.Person.FamilyName, id.Passport.IssueDate.Format("02.01.2006"), id.Person.BirthDate.Format("02.01.2006"), id.heldINN()} {
			if !strings.Contains(doc, v) {
				t.Errorf("%s: %q is not in the documentation", id.Key, v)
			}
		}
	}
}

// BenchmarkSimulator: the simulator at zero latency is far from the
// bottleneck of a check workflow (issue 14 asks ≥ 1,000 checks/s).
func BenchmarkSimulator(b *testing.B) {
	sim := NewSimulator(SimulatorConfig{NoLatency: true})
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			id := GeneratedIdentity(n)
			for _, source := range Sources() {
				if res, err := sim.Check(context.Background(), request(id, source, "bench")); err != nil || res.Status != Confirmed {
					b.Fatal(res, err)
				}
			}
			n++
		}
	})
}
