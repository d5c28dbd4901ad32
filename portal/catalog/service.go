package catalog

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
)

// Text is a user-facing text in Russian (required) and English.
type Text struct {
	RU string `yaml:"ru" json:"ru"`
	EN string `yaml:"en,omitempty" json:"en,omitempty"`
}

// In returns the text in lang ("en" or anything else for Russian); the
// Russian text when the English one is missing.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	return t.RU
}

// Kind is what a citizen gets from a service.
type Kind string

const (
	KindApplication Kind = "application" // an application the agency decides on
	KindCertificate Kind = "certificate" // a certificate or an extract
	KindAppointment Kind = "appointment" // a visit booked at an office
	KindPayment     Kind = "payment"     // a charge paid
)

// Kinds lists the kinds in display order.
var Kinds = []Kind{KindApplication, KindCertificate, KindAppointment, KindPayment}

// Level is an assurance level of the identity provider (acr
// urn:gosid:loa:LEVEL), in increasing order.
type Level string

const (
	LevelSimplified Level = "simplified"
	LevelStandard   Level = "standard"
	LevelConfirmed  Level = "confirmed"
)

// Levels lists the levels from the lowest.
var Levels = []Level{LevelSimplified, LevelStandard, LevelConfirmed}

// Rank orders levels: 0 for simplified, 2 for confirmed, -1 for an unknown
// one.
func (l Level) Rank() int { return slices.Index(Levels, l) }

// Allows reports whether a citizen at level have may use a service that
// needs level l.
func (l Level) Allows(have Level) bool { return have.Rank() >= 0 && have.Rank() >= l.Rank() }

// Categories are the catalogue's sections, by slug.
var Categories = map[string]Text{
	"passports":    {"Паспорта и документы", "Passports and documents"},
	"transport":    {"Транспорт и вождение", "Transport and driving"},
	"taxes":        {"Налоги и финансы", "Taxes and finance"},
	"property":     {"Недвижимость", "Property"},
	"family":       {"Семья и дети", "Family and children"},
	"pension":      {"Пенсии и пособия", "Pensions and benefits"},
	"health":       {"Здоровье", "Health"},
	"registration": {"Регистрация по месту жительства", "Residence registration"},
	"security":     {"Безопасность и правопорядок", "Security and law"},
	"work":         {"Работа и занятость", "Work and employment"},
	"education":    {"Образование", "Education"},
}

// Agency is the authority that provides a service.
type Agency struct {
	Code string `yaml:"code" json:"code"`
	Name Text   `yaml:"name" json:"name"`
	// OGRN is the agency's primary state registration number (13 digits):
	// a result signature the agency uploads counts only when its
	// certificate names this OGRN. Without it only development mode's
	// sandbox agency can sign the agency's results.
	OGRN string `yaml:"ogrn,omitempty" json:"ogrn,omitempty"`
}

// ValidOGRN reports whether s is a legal entity's OGRN: 13 digits whose
// last is the remainder of the first twelve, taken as a number, by 11
// (10 counts as 0).
func ValidOGRN(s string) bool {
	if len(s) != 13 {
		return false
	}
	n, err := strconv.ParseUint(s[:12], 10, 64)
	return err == nil && s[12] >= '0' && s[12] <= '9' && n%11%10 == uint64(s[12]-'0')
}

// Document is a document the citizen attaches to an application.
type Document struct {
	Kind     string   `yaml:"kind" json:"kind"`
	Title    Text     `yaml:"title" json:"title"`
	Formats  []string `yaml:"formats" json:"formats"`
	MaxSize  int64    `yaml:"max_size" json:"max_size"` // bytes
	Optional bool     `yaml:"optional,omitempty" json:"optional,omitempty"`
}

// Formats of attachments the portal accepts.
var Formats = []string{"pdf", "jpeg", "png"}

// MaxDocumentSize is the largest attachment the portal accepts (5 MB).
const MaxDocumentSize = 5 << 20

// Service is one service's definition.
type Service struct {
	ID          string `yaml:"id" json:"id"`
	Title       Text   `yaml:"title" json:"title"`
	Description Text   `yaml:"description" json:"description"`
	Agency      Agency `yaml:"agency" json:"agency"`
	Category    string `yaml:"category" json:"category"`
	Kind        Kind   `yaml:"kind" json:"kind"`
	// Regions are two-digit region codes; empty means all regions.
	Regions []string `yaml:"regions,omitempty" json:"regions,omitempty"`
	Level   Level    `yaml:"level" json:"level"`
	// SecondFactor: the citizen must have signed in with a second factor.
	SecondFactor bool `yaml:"second_factor,omitempty" json:"second_factor,omitempty"`
	// Signature: the application is signed with a qualified e-signature.
	Signature bool       `yaml:"signature,omitempty" json:"signature,omitempty"`
	Keywords  []string   `yaml:"keywords,omitempty" json:"keywords,omitempty"`
	Form      Form       `yaml:"form" json:"form"`
	Documents []Document `yaml:"documents,omitempty" json:"documents,omitempty"`
	// Days is the processing time in working days (0: at once).
	Days int `yaml:"processing_days" json:"processing_days"`
	// Fee is the state fee in kopecks; 0 means free.
	Fee int64 `yaml:"fee" json:"fee"`
}

// InRegion reports whether the service is offered in region (a two-digit
// code).
func (s *Service) InRegion(region string) bool {
	return len(s.Regions) == 0 || slices.Contains(s.Regions, region)
}

var (
	slugRE   = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$`)
	regionRE = regexp.MustCompile(`^(0[1-9]|[1-9][0-9])$`)
)

// problems collects the problems of one service, each prefixed by the
// field's path.
type problems []string

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, path+": "+fmt.Sprintf(format, args...))
}

func (p *problems) text(path string, t Text, max int) {
	switch {
	case t.RU == "":
		p.add(path+".ru", "required")
	case len([]rune(t.RU)) > max:
		p.add(path+".ru", "longer than %d characters", max)
	}
	if len([]rune(t.EN)) > max {
		p.add(path+".en", "longer than %d characters", max)
	}
}

// Check returns the problems of the definition, each "field.path: what is
// wrong"; none for a valid one.
func (s *Service) Check() []string {
	var p problems
	if !slugRE.MatchString(s.ID) {
		p.add("id", "%q is not a slug: a–z, 0–9 and '-', up to 64", s.ID)
	}
	p.text("title", s.Title, 200)
	p.text("description", s.Description, 4000)
	if !slugRE.MatchString(s.Agency.Code) {
		p.add("agency.code", "%q is not a slug: a–z, 0–9 and '-'", s.Agency.Code)
	}
	p.text("agency.name", s.Agency.Name, 200)
	if s.Agency.OGRN != "" && !ValidOGRN(s.Agency.OGRN) {
		p.add("agency.ogrn", "%q is not an OGRN: 13 digits with a valid check digit", s.Agency.OGRN)
	}
	if _, ok := Categories[s.Category]; !ok {
		p.add("category", "unknown category %q", s.Category)
	}
	if !slices.Contains(Kinds, s.Kind) {
		p.add("kind", "unknown kind %q: one of application, certificate, appointment, payment", s.Kind)
	}
	for i, r := range s.Regions {
		path := "regions[" + strconv.Itoa(i) + "]"
		if !regionRE.MatchString(r) {
			p.add(path, "%q is not a two-digit region code", r)
		} else if slices.Index(s.Regions, r) < i {
			p.add(path, "region %s given twice", r)
		}
	}
	if s.Level.Rank() < 0 {
		p.add("level", "unknown level %q: one of simplified, standard, confirmed", s.Level)
	}
	for i, k := range s.Keywords {
		if k == "" || len([]rune(k)) > 100 {
			p.add("keywords["+strconv.Itoa(i)+"]", "empty or longer than 100 characters")
		}
	}
	s.Form.check(&p)
	for i, d := range s.Documents {
		path := "documents[" + strconv.Itoa(i) + "]"
		if !slugRE.MatchString(d.Kind) {
			p.add(path+".kind", "%q is not a slug", d.Kind)
		} else if slices.IndexFunc(s.Documents, func(o Document) bool { return o.Kind == d.Kind }) < i {
			p.add(path+".kind", "document kind %q given twice", d.Kind)
		}
		p.text(path+".title", d.Title, 200)
		if len(d.Formats) == 0 {
			p.add(path+".formats", "required: some of pdf, jpeg, png")
		}
		for j, f := range d.Formats {
			if !slices.Contains(Formats, f) || slices.Index(d.Formats, f) < j {
				p.add(path+".formats["+strconv.Itoa(j)+"]", "%q is not one of pdf, jpeg, png (each once)", f)
			}
		}
		if d.MaxSize <= 0 || d.MaxSize > MaxDocumentSize {
			p.add(path+".max_size", "must be 1 to %d bytes (5 MB)", MaxDocumentSize)
		}
	}
	if s.Days < 0 || s.Days > 365 {
		p.add("processing_days", "must be 0 to 365 working days")
	}
	if s.Fee < 0 {
		p.add("fee", "must not be negative")
	}
	return p
}
