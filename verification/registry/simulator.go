package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gosid/gosid/idp/validate"
)

// DefaultLatency is how long the simulator takes to answer unless told
// otherwise: about what a real registry takes, and long enough that the
// asynchronous path (the pending page, the job) is always exercised.
const DefaultLatency = time.Second

// flakyFailures is how many calls of one request ID the flaky identity
// fails before it answers.
const flakyFailures = 2

// SimulatorConfig configures NewSimulator. The zero value is the embedded
// default: DefaultLatency and the real clock.
type SimulatorConfig struct {
	// Latency is how long every Check takes before it answers; zero means
	// DefaultLatency (unless NoLatency). A cancelled ctx cuts it short.
	Latency time.Duration
	// NoLatency makes every Check answer at once, whatever Latency says
	// (tests, benchmarks).
	NoLatency bool
	// Timeout ends a hanging answer (the МВД timeout identity) with
	// ErrUnavailable, as the gateway's per-call timeout would, when the
	// caller's ctx has not ended it first; zero means 10 s.
	Timeout time.Duration
	// Now is the clock for Result.CheckedAt; nil means time.Now.
	Now func() time.Time
}

// Simulator is a deterministic Registry: the embedded default and the
// tests' registry. It answers from a table of named test identities
// (Identities) and from a generated family of passing people
// (GeneratedIdentity):
//
//   - СФР confirms every SNILS whose first group is 100 for any name and
//     birth date; МВД confirms every passport of series 4600 for any person;
//     ФНС finds for such a passport the valid 12-digit INN whose first ten
//     digits are its series and number (GeneratedINN).
//   - The named identities pass, mismatch on one field, are not found, are
//     invalid, hang until the caller gives up, fail twice per request ID
//     before answering (flaky), or become invalid after their first check.
//   - Everything else is not found.
//
// Names compare as validate.SameName does (case, ё/е, hyphens, spaces),
// dates by calendar day. Answers depend only on the request, except for
// the flaky identity (a count per request ID, kept for every request ID
// it was asked with) and the one that becomes
// invalid (the first request ID it answered): that state lives in the
// process's memory, which is acceptable for a simulator at the edge of the
// world but means two replicas each keep their own.
type Simulator struct {
	latency time.Duration
	timeout time.Duration
	now     func() time.Time
	bySNILS map[string]*simIdentity
	byDoc   map[string]*simIdentity // by passport series+number

	mu      sync.Mutex
	calls   map[string]int    // flaky: failed calls per source and request ID
	firstID map[string]string // becomes invalid: passport → the request ID confirmed
}

var _ Registry = (*Simulator)(nil)

// NewSimulator returns a simulator configured by cfg.
func NewSimulator(cfg SimulatorConfig) *Simulator {
	s := &Simulator{
		latency: cfg.Latency,
		timeout: cfg.Timeout,
		now:     cfg.Now,
		bySNILS: make(map[string]*simIdentity),
		byDoc:   make(map[string]*simIdentity),
		calls:   make(map[string]int),
		firstID: make(map[string]string),
	}
	switch {
	case cfg.NoLatency:
		s.latency = 0
	case s.latency <= 0:
		s.latency = DefaultLatency
	}
	if s.timeout <= 0 {
		s.timeout = DefaultGatewayTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, id := range simIdentities() {
		s.bySNILS[id.SNILS] = id
		s.byDoc[id.Passport.Series+id.Passport.Number] = id
	}
	return s
}

// Check answers req after the configured latency; see Simulator.
func (s *Simulator) Check(ctx context.Context, req Request) (Result, error) {
	if err := req.Validate(); err != nil {
		return Result{}, err
	}
	if s.latency > 0 {
		t := time.NewTimer(s.latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return Result{}, unavailable(ctx)
		}
	}
	id, generated, found := s.find(req)
	switch {
	case !found:
		return s.result(req, NotFound, nil, ""), nil
	case generated && req.Source == FNS:
		return s.innAnswer(req, nil, GeneratedINN(*req.Passport)), nil
	case generated:
		return s.result(req, Confirmed, nil, ""), nil
	}
	if res, done, err := s.behave(ctx, req, id); done {
		return res, err
	}
	fields := diffPerson(req.Person, id.held(req.Source))
	switch req.Source {
	case FNS:
		return s.innAnswer(req, fields, id.heldINN()), nil
	case MVD:
		if !sameDay(req.Passport.IssueDate, id.issued()) {
			fields = append(fields, "passport_issue_date")
		}
	}
	if len(fields) > 0 {
		return s.result(req, Mismatch, fields, ""), nil
	}
	return s.result(req, Confirmed, nil, ""), nil
}

// find looks up the document req is about: СФР by SNILS, МВД and ФНС by
// passport. generated reports one of the generated family (id is nil);
// found is false for a document the registry does not hold.
func (s *Simulator) find(req Request) (id *simIdentity, generated, found bool) {
	if req.Source == SFR {
		snils, err := validate.SNILS(req.SNILS)
		if err != nil {
			return nil, false, false
		}
		if strings.HasPrefix(snils, generatedSNILSGroup+"-") {
			return nil, true, true
		}
		id = s.bySNILS[snils]
		return id, false, id != nil
	}
	doc, ok := passportKey(req.Passport)
	if !ok {
		return nil, false, false
	}
	if strings.HasPrefix(doc, GeneratedPassportSeries) {
		return nil, true, true
	}
	id = s.byDoc[doc]
	return id, false, id != nil
}

// innAnswer is ФНС's verdict: the person's differing fields, then the INN
// the citizen typed (if any) against the one held. A mismatch does not
// tell the INN held.
func (s *Simulator) innAnswer(req Request, fields []string, held string) Result {
	if typed := strings.TrimSpace(req.INN); typed != "" && typed != held {
		fields = append(fields, "inn")
	}
	if len(fields) > 0 {
		return s.result(req, Mismatch, fields, "")
	}
	return s.result(req, Confirmed, nil, held)
}

// behave applies the identity's behaviour for req's source; done reports
// that it decided the answer.
func (s *Simulator) behave(ctx context.Context, req Request, id *simIdentity) (res Result, done bool, err error) {
	switch id.behaviour(req.Source) {
	case notFound:
		return s.result(req, NotFound, nil, ""), true, nil
	case invalid:
		return s.result(req, Invalid, nil, ""), true, nil
	case hang:
		t := time.NewTimer(s.timeout)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return Result{}, true, unavailable(ctx)
		case <-t.C:
			return Result{}, true, fmt.Errorf("%w: no answer within %v", ErrUnavailable, s.timeout)
		}
	case flaky:
		key := string(req.Source) + "\x00" + req.ID
		s.mu.Lock()
		n := s.calls[key]
		if n < flakyFailures {
			s.calls[key] = n + 1
		}
		s.mu.Unlock()
		if n < flakyFailures {
			return Result{}, true, fmt.Errorf("%w: simulated failure %d of %d", ErrUnavailable, n+1, flakyFailures)
		}
	case becomesInvalid:
		if !s.firstAnswer(id.Passport.Series+id.Passport.Number, req.ID) {
			return s.result(req, Invalid, nil, ""), true, nil
		}
	}
	return Result{}, false, nil
}

// firstAnswer records id as the first request answered about the passport
// doc unless another came first, and reports whether id is that one (a
// repeated request is the same question and gets the same answer).
func (s *Simulator) firstAnswer(doc, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	first, ok := s.firstID[doc]
	if !ok {
		s.firstID[doc] = id
		return true
	}
	return first == id
}

func (s *Simulator) result(req Request, status Status, fields []string, inn string) Result {
	sum := sha256.Sum256([]byte(string(req.Source) + "\x00" + req.ID))
	return Result{
		Status:    status,
		Fields:    fields,
		INN:       inn,
		RecordID:  "sim-" + hex.EncodeToString(sum[:10]),
		CheckedAt: s.now(),
	}
}

func unavailable(ctx context.Context) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
}

// diffPerson lists the claim names of what differs between the person as
// given and as a registry holds it.
func diffPerson(given, held Person) []string {
	var fields []string
	if !validate.SameName(given.FamilyName, held.FamilyName) {
		fields = append(fields, "family_name")
	}
	if !validate.SameName(given.GivenName, held.GivenName) {
		fields = append(fields, "given_name")
	}
	if !sameMiddleName(given.MiddleName, held.MiddleName) {
		fields = append(fields, "middle_name")
	}
	if !sameDay(given.BirthDate, held.BirthDate) {
		fields = append(fields, "birthdate")
	}
	return fields
}

// sameMiddleName is validate.SameName, except that two absent middle names
// are the same (not everyone has one).
func sameMiddleName(a, b string) bool {
	if strings.TrimSpace(a) == "" && strings.TrimSpace(b) == "" {
		return true
	}
	return validate.SameName(a, b)
}

// passportKey is a passport's series and number as digits, the key the
// simulator's МВД and ФНС hold it by.
func passportKey(p *Passport) (string, bool) {
	series, err1 := validate.PassportSeries(p.Series)
	number, err2 := validate.PassportNumber(p.Number)
	return series + number, err1 == nil && err2 == nil
}

// The generated family of passing people.
const (
	generatedSNILSGroup = "100"
	// GeneratedPassportSeries is the passport series МВД confirms for
	// anyone, and for which ФНС finds GeneratedINN.
	GeneratedPassportSeries = "4600"
	generatedSNILSBase      = 100_000_000
	generatedFamilySize     = 999_999
)

// GeneratedINN is the INN the simulator's ФНС holds for a passport of
// series 4600: the valid 12-digit INN whose first ten digits are the
// passport's series and number.
func GeneratedINN(p Passport) string {
	doc, ok := passportKey(&p)
	n, err := strconv.ParseInt(doc, 10, 64)
	if !ok || err != nil || !strings.HasPrefix(doc, GeneratedPassportSeries) {
		return ""
	}
	return validate.GenerateINN12(n)
}

var generatedNames = [...]Person{
	{FamilyName: "Тестов", GivenName: "Пётр", MiddleName: "Сергеевич"},
	{FamilyName: "Проверкина", GivenName: "Анна", MiddleName: "Ивановна"},
	{FamilyName: "Нагрузкин", GivenName: "Илья"},
	{FamilyName: "Образцова-Пример", GivenName: "Алёна", MiddleName: "Олеговна"},
}

// GeneratedIdentity returns person n (0 ≤ n < 999,999; other n wrap) of
// the generated family: SNILS 100-xxx-xxx yy with xxxxxx = n, passport
// 4600 n+1 (000000 is no passport number), distinct for every n, that
// СФР, МВД and ФНС all confirm. For tests and benchmarks that need many
// distinct passing people.
func GeneratedIdentity(n int) Identity {
	n = (n%generatedFamilySize + generatedFamilySize) % generatedFamilySize
	p := generatedNames[n%len(generatedNames)]
	p.BirthDate = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n%15000)
	// The passport of 20 (or, born before 1978, of 45: the current
	// passports date from October 1997), issued within 300 days.
	age := 20
	if p.BirthDate.Year() < 1978 {
		age = 45
	}
	passport := Passport{
		Series:       GeneratedPassportSeries,
		Number:       fmt.Sprintf("%06d", n+1),
		IssueDate:    p.BirthDate.AddDate(age, 0, n%300),
		Issuer:       "ГУ МВД России по г. Москве",
		DivisionCode: "770-001",
	}
	return Identity{
		Key:      "generated-" + strconv.Itoa(n),
		Person:   p,
		SNILS:    validate.GenerateSNILS(generatedSNILSBase + n),
		Passport: passport,
	}
}
