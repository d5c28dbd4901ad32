package catalog

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Form is what a citizen fills in to use a service.
type Form struct {
	Fields []Field `yaml:"fields,omitempty" json:"fields,omitempty"`
}

// FieldKind is how a field is entered.
type FieldKind string

const (
	FieldText     FieldKind = "text"
	FieldNumber   FieldKind = "number"
	FieldDate     FieldKind = "date" // ДД.ММ.ГГГГ
	FieldSelect   FieldKind = "select"
	FieldCheckbox FieldKind = "checkbox"
	FieldAddress  FieldKind = "address"
	FieldFile     FieldKind = "file" // the value is an attachment's reference
)

// FieldKinds lists the field kinds.
var FieldKinds = []FieldKind{FieldText, FieldNumber, FieldDate, FieldSelect, FieldCheckbox, FieldAddress, FieldFile}

// Field is one input of a form. Name is stable: pages, scripts and
// applications' stored values use it.
type Field struct {
	Name    string    `yaml:"name" json:"name"`
	Label   Text      `yaml:"label" json:"label"`
	Kind    FieldKind `yaml:"kind" json:"kind"`
	Hint    Text      `yaml:"hint,omitempty" json:"hint,omitzero"`
	Options []Option  `yaml:"options,omitempty" json:"options,omitempty"`
	// Prefill names the profile field whose value fills the field in
	// (ProfileFields).
	Prefill string `yaml:"prefill,omitempty" json:"prefill,omitempty"`
	Rules   Rules  `yaml:"rules,omitempty" json:"rules,omitzero"`
}

// Option is one choice of a select field.
type Option struct {
	Value string `yaml:"value" json:"value"`
	Label Text   `yaml:"label" json:"label"`
}

// Rules constrain a field's value. An empty value of a field that is not
// required passes every rule.
type Rules struct {
	Required bool `yaml:"required,omitempty" json:"required,omitempty"`
	// Pattern is an RE2 expression the whole value must match.
	Pattern   string `yaml:"pattern,omitempty" json:"pattern,omitempty"`
	MinLength int    `yaml:"min_length,omitempty" json:"min_length,omitempty"`
	MaxLength int    `yaml:"max_length,omitempty" json:"max_length,omitempty"`
	// Min and Max bound a number field's value.
	Min *float64 `yaml:"min,omitempty" json:"min,omitempty"`
	Max *float64 `yaml:"max,omitempty" json:"max,omitempty"`
	// Check is one of our validators (Checks) for a text field.
	Check string `yaml:"check,omitempty" json:"check,omitempty"`
	// Date bounds, relative to today: not after today, not before today,
	// and the age in full years a birth date gives today.
	NotFuture bool `yaml:"not_future,omitempty" json:"not_future,omitempty"`
	NotPast   bool `yaml:"not_past,omitempty" json:"not_past,omitempty"`
	MinAge    int  `yaml:"min_age,omitempty" json:"min_age,omitempty"`
	MaxAge    int  `yaml:"max_age,omitempty" json:"max_age,omitempty"`
}

// Checks are the validators a text field may name in rules.check.
var Checks = []string{"snils", "inn", "passport", "phone", "email", "date"}

// ProfileFields are the profile fields a form may pre-fill from: the
// portal knows them from the identity provider's userinfo.
var ProfileFields = []string{"family_name", "given_name", "middle_name", "birthdate", "snils", "inn", "passport", "phone", "email", "address"}

// maxValue bounds every value's length (characters) whatever the rules say.
const maxValue = 2000

var (
	fieldNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	patterns    sync.Map // pattern → *regexp.Regexp, compiled once
)

// compiled returns the compiled pattern; definitions are checked at
// import, so a failure here means an unchecked form and the value fails.
func compiled(pattern string) (*regexp.Regexp, error) {
	if re, ok := patterns.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		return nil, err
	}
	patterns.Store(pattern, re)
	return re, nil
}

func (f *Form) check(p *problems) {
	for i, fd := range f.Fields {
		path := "form.fields[" + strconv.Itoa(i) + "]"
		if !fieldNameRE.MatchString(fd.Name) {
			p.add(path+".name", "%q is not a field name: a–z, 0–9 and '_', starting with a letter", fd.Name)
		} else if slices.IndexFunc(f.Fields, func(o Field) bool { return o.Name == fd.Name }) < i {
			p.add(path+".name", "field %q given twice", fd.Name)
		}
		p.text(path+".label", fd.Label, 200)
		if fd.Hint != (Text{}) {
			p.text(path+".hint", fd.Hint, 500)
		}
		if !slices.Contains(FieldKinds, fd.Kind) {
			p.add(path+".kind", "unknown kind %q: one of text, number, date, select, checkbox, address, file", fd.Kind)
		}
		switch {
		case fd.Kind == FieldSelect && len(fd.Options) == 0:
			p.add(path+".options", "a select field needs options")
		case fd.Kind != FieldSelect && len(fd.Options) > 0:
			p.add(path+".options", "only a select field has options")
		}
		for j, o := range fd.Options {
			op := path + ".options[" + strconv.Itoa(j) + "]"
			if o.Value == "" || len(o.Value) > 100 {
				p.add(op+".value", "required, up to 100 characters")
			} else if slices.IndexFunc(fd.Options, func(x Option) bool { return x.Value == o.Value }) < j {
				p.add(op+".value", "value %q given twice", o.Value)
			}
			p.text(op+".label", o.Label, 200)
		}
		if fd.Prefill != "" && !slices.Contains(ProfileFields, fd.Prefill) {
			p.add(path+".prefill", "unknown profile field %q: one of %s", fd.Prefill, strings.Join(ProfileFields, ", "))
		}
		fd.Rules.check(p, path+".rules", fd.Kind)
	}
}

func (r *Rules) check(p *problems, path string, kind FieldKind) {
	textual := kind == FieldText || kind == FieldAddress
	if r.Pattern != "" {
		if !textual {
			p.add(path+".pattern", "only text and address fields have a pattern")
		} else if _, err := compiled(r.Pattern); err != nil {
			p.add(path+".pattern", "invalid regexp")
		}
	}
	if (r.MinLength != 0 || r.MaxLength != 0) && !textual {
		p.add(path, "only text and address fields have min_length and max_length")
	}
	if r.MinLength < 0 || r.MaxLength < 0 || r.MaxLength > maxValue || (r.MaxLength > 0 && r.MinLength > r.MaxLength) {
		p.add(path+".max_length", "lengths must satisfy 0 ≤ min_length ≤ max_length ≤ %d", maxValue)
	}
	if (r.Min != nil || r.Max != nil) && kind != FieldNumber {
		p.add(path, "only number fields have min and max")
	}
	if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
		p.add(path+".max", "smaller than min")
	}
	for _, b := range []*float64{r.Min, r.Max} {
		if b != nil && (math.IsNaN(*b) || math.IsInf(*b, 0)) {
			p.add(path, "min and max must be finite numbers")
		}
	}
	if r.Check != "" {
		if !slices.Contains(Checks, r.Check) {
			p.add(path+".check", "unknown check %q: one of %s", r.Check, strings.Join(Checks, ", "))
		} else if kind != FieldText {
			p.add(path+".check", "only text fields have a check (a date field is always checked as a date)")
		}
	}
	dated := kind == FieldDate || r.Check == "date"
	if (r.NotFuture || r.NotPast || r.MinAge != 0 || r.MaxAge != 0) && !dated {
		p.add(path, "not_future, not_past, min_age and max_age are for dates")
	}
	if r.NotFuture && r.NotPast {
		p.add(path+".not_past", "a date cannot be both not in the future and not in the past")
	}
	if r.MinAge < 0 || r.MaxAge < 0 || r.MinAge > 150 || r.MaxAge > 150 || (r.MaxAge > 0 && r.MinAge > r.MaxAge) {
		p.add(path+".max_age", "ages must satisfy 0 ≤ min_age ≤ max_age ≤ 150")
	}
}

// Prefill returns the values of the form's fields that pre-fill from the
// citizen's profile (keyed by ProfileFields' names); fields whose profile
// value is empty are left out.
func Prefill(f Form, profile map[string]string) map[string]string {
	out := map[string]string{}
	for _, fd := range f.Fields {
		if v := profile[fd.Prefill]; fd.Prefill != "" && v != "" {
			out[fd.Name] = v
		}
	}
	return out
}

// Validate checks values (field name → what the citizen typed) against the
// form today and returns a message in lang ("ru" or "en") for each field
// that fails, naming the field. Values of names the form lacks are ignored.
func Validate(f Form, values map[string]string, lang string) map[string]string {
	return ValidateAt(f, values, lang, time.Now())
}

// ValidateAt is Validate on the day of now (date bounds and ages).
func ValidateAt(f Form, values map[string]string, lang string, now time.Time) map[string]string {
	errs := map[string]string{}
	for _, fd := range f.Fields {
		if m := fd.validate(values[fd.Name], now); m != nil {
			errs[fd.Name] = m.say(lang, fd.Label.In(lang))
		}
	}
	return errs
}

func (fd *Field) validate(raw string, now time.Time) *message {
	v := strings.TrimSpace(raw)
	if !utf8.ValidString(v) {
		return &msgEncoding
	}
	if v == "" || (fd.Kind == FieldCheckbox && IsFalse(v)) {
		if fd.Rules.Required {
			switch fd.Kind {
			case FieldCheckbox:
				return &msgTick
			case FieldSelect:
				return &msgChoose
			case FieldFile:
				return &msgAttach
			}
			return &msgRequired
		}
		return nil
	}
	n := utf8.RuneCountInString(v)
	if n > maxValue {
		return msgTooLong.with(maxValue)
	}
	r := &fd.Rules
	switch fd.Kind {
	case FieldCheckbox:
		if !isTrue(v) {
			return &msgCheckbox
		}
		return nil
	case FieldSelect:
		if !slices.ContainsFunc(fd.Options, func(o Option) bool { return o.Value == v }) {
			return &msgOption
		}
		return nil
	case FieldNumber:
		x, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return &msgNumber
		}
		if r.Min != nil && x < *r.Min {
			return msgMin.with(formatNumber(*r.Min))
		}
		if r.Max != nil && x > *r.Max {
			return msgMax.with(formatNumber(*r.Max))
		}
		return nil
	case FieldDate:
		return checkDate(v, r, now)
	}
	if r.MinLength > 0 && n < r.MinLength {
		return msgMinLength.with(r.MinLength)
	}
	if r.MaxLength > 0 && n > r.MaxLength {
		return msgTooLong.with(r.MaxLength)
	}
	if r.Pattern != "" {
		re, err := compiled(r.Pattern)
		if err != nil || !re.MatchString(v) {
			if fd.Hint.RU != "" {
				return msgPatternHint.with(fd.Hint)
			}
			return &msgPattern
		}
	}
	switch r.Check {
	case "date":
		return checkDate(v, r, now)
	case "":
		return nil
	}
	return checks[r.Check](v)
}

func isTrue(v string) bool { return v == "on" || v == "true" || v == "1" || v == "yes" }

// IsFalse reports whether a checkbox's value says it is not ticked.
func IsFalse(v string) bool { return v == "off" || v == "false" || v == "0" || v == "no" }

func formatNumber(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// message is a validation message in both languages; %[1]s is the field's
// label, %[2]v a bound.
type message struct {
	ru, en string
	arg    any
}

func (m message) with(arg any) *message { m.arg = arg; return &m }

func (m *message) say(lang, label string) string {
	format := m.ru
	if lang == "en" {
		format = m.en
	}
	if t, ok := m.arg.(Text); ok {
		return fmt.Sprintf(format, label, t.In(lang))
	}
	if m.arg != nil {
		return fmt.Sprintf(format, label, m.arg)
	}
	return fmt.Sprintf(format, label)
}

var (
	msgRequired    = message{ru: "Заполните поле «%s»", en: "Fill in “%s”"}
	msgTick        = message{ru: "Отметьте «%s»", en: "Tick “%s”"}
	msgChoose      = message{ru: "Выберите значение в поле «%s»", en: "Choose a value for “%s”"}
	msgAttach      = message{ru: "Приложите файл «%s»", en: "Attach “%s”"}
	msgEncoding    = message{ru: "Поле «%s» содержит недопустимые символы", en: "“%s” contains characters that are not allowed"}
	msgCheckbox    = message{ru: "Поле «%s»: отметьте его или оставьте пустым", en: "“%s”: tick it or leave it empty"}
	msgOption      = message{ru: "В поле «%s» выберите один из предложенных вариантов", en: "Choose one of the offered values for “%s”"}
	msgNumber      = message{ru: "В поле «%s» укажите число", en: "“%s” must be a number"}
	msgMin         = message{ru: "В поле «%s» укажите число не меньше %v", en: "“%s” must be at least %v"}
	msgMax         = message{ru: "В поле «%s» укажите число не больше %v", en: "“%s” must be at most %v"}
	msgMinLength   = message{ru: "В поле «%s» должно быть не меньше %v символов", en: "“%s” must be at least %v characters long"}
	msgTooLong     = message{ru: "В поле «%s» должно быть не больше %v символов", en: "“%s” must be at most %v characters long"}
	msgPattern     = message{ru: "Поле «%s» заполнено в неверном формате", en: "“%s” is not in the expected format"}
	msgPatternHint = message{ru: "Поле «%s» заполнено в неверном формате. %v", en: "“%s” is not in the expected format. %v"}
)
