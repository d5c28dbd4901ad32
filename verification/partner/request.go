package partner

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/verification/bank"
)

// Methods of identification a bank reports.
const (
	MethodInBranch = "in_branch" // the customer came to a branch with the passport
	MethodRemote   = "remote"    // identified remotely (biometrics, a courier…)
)

// maxBody bounds a request body; a confirmation is well under 2 KiB.
const maxBody = 16 << 10

// maxReference bounds the bank's own reference.
const maxReference = 128

// Passport is the customer's passport as the bank saw it.
type Passport struct {
	Series    string `json:"series"`
	Number    string `json:"number"`
	IssueDate string `json:"issue_date"`
}

// Person is the customer as the bank identified them: what
// POST /confirmations and POST /registrations have in common.
type Person struct {
	SNILS       string   `json:"snils"`
	FamilyName  string   `json:"family_name"`
	GivenName   string   `json:"given_name"`
	MiddleName  string   `json:"middle_name,omitempty"`
	BirthDate   string   `json:"birthdate"`
	Passport    Passport `json:"passport"`
	Method      string   `json:"method"`
	ConfirmedAt string   `json:"confirmed_at"`
	Reference   string   `json:"reference"`
}

// ConfirmationRequest is the body of POST /partner/v1/confirmations.
type ConfirmationRequest struct {
	Person
}

// RegistrationRequest is the body of POST /partner/v1/registrations: the
// person and the mobile phone the bank holds for them.
type RegistrationRequest struct {
	Person
	Phone string `json:"phone"`
}

// FieldProblem names one invalid request field (a JSON path such as
// "passport.series") with what is wrong, in Russian and English.
type FieldProblem struct {
	Name     string `json:"name"`
	Detail   string `json:"detail"`
	DetailEN string `json:"detail_en"`
}

// InvalidError is a request that does not parse or validate: every field
// at fault.
type InvalidError struct{ Fields []FieldProblem }

func (e *InvalidError) Error() string {
	names := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		names[i] = f.Name
	}
	return "invalid request: " + strings.Join(names, ", ")
}

// decode reads one JSON object into v: unknown fields, trailing data and
// a body over maxBody are refused, naming what is wrong.
func decode(body io.Reader, v any) error {
	raw, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return err
	}
	if len(raw) > maxBody {
		return &InvalidError{Fields: []FieldProblem{{Name: "", Detail: "Тело запроса длиннее 16 КиБ.", DetailEN: "The request body is over 16 KiB."}}}
	}
	if !utf8.Valid(raw) {
		return &InvalidError{Fields: []FieldProblem{{Name: "", Detail: "Тело запроса не в UTF-8.", DetailEN: "The request body is not UTF-8."}}}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		name := ""
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			name = te.Field
		} else if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			name = strings.Trim(f, `"`)
			return &InvalidError{Fields: []FieldProblem{{Name: name, Detail: "Неизвестное поле.", DetailEN: "Unknown field."}}}
		}
		return &InvalidError{Fields: []FieldProblem{{Name: name, Detail: "Тело запроса — не объект JSON нужного вида.",
			DetailEN: "The body is not a JSON object of the expected shape."}}}
	}
	if dec.More() {
		return &InvalidError{Fields: []FieldProblem{{Name: "", Detail: "После объекта JSON есть лишние данные.", DetailEN: "Data after the JSON object."}}}
	}
	return nil
}

// ParseConfirmation parses and validates a confirmation request body; now
// bounds dates. Errors: *InvalidError naming each field, or a read error.
func ParseConfirmation(body io.Reader, now time.Time) (*ConfirmationRequest, map[string]string, error) {
	var req ConfirmationRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	var ps []FieldProblem
	v := req.Person.check(now, &ps)
	if len(ps) > 0 {
		return nil, nil, &InvalidError{Fields: ps}
	}
	return &req, v, nil
}

// ParseRegistration is ParseConfirmation for a registration, with the
// phone (E.164) returned normalised in the map under bank.Phone.
func ParseRegistration(body io.Reader, now time.Time) (*RegistrationRequest, map[string]string, error) {
	var req RegistrationRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	var ps []FieldProblem
	v := req.Person.check(now, &ps)
	phone, err := validate.Phone(req.Phone)
	addField(&ps, "phone", err)
	if len(ps) > 0 {
		return nil, nil, &InvalidError{Fields: ps}
	}
	v[bank.Phone] = phone
	return &req, v, nil
}

// check validates p and returns its values under verification/bank's
// field names (what a bank vouches for), normalised.
func (p *Person) check(now time.Time, ps *[]FieldProblem) map[string]string {
	v := map[string]string{}
	set := func(field, name string, val string, err error) {
		if addField(ps, name, err) {
			v[field] = val
		}
	}
	s, err := validate.SNILS(p.SNILS)
	set(bank.SNILS, "snils", s, err)
	f, err := validate.FamilyName(p.FamilyName)
	set(bank.FamilyName, "family_name", f, err)
	g, err := validate.GivenName(p.GivenName)
	set(bank.GivenName, "given_name", g, err)
	m, err := validate.MiddleName(p.MiddleName)
	set(bank.MiddleName, "middle_name", m, err)
	birth, err := validate.BirthDate(p.BirthDate, false, now)
	set(bank.BirthDate, "birthdate", birth.Format(time.DateOnly), err)
	ser, err := validate.PassportSeries(p.Passport.Series)
	set(bank.PassportSeries, "passport.series", ser, err)
	num, err := validate.PassportNumber(p.Passport.Number)
	set(bank.PassportNumber, "passport.number", num, err)
	issued, err := validate.PassportIssueDate(p.Passport.IssueDate, birth, now, false)
	set(bank.PassportIssueDate, "passport.issue_date", issued.Format(time.DateOnly), err)
	if m == "" {
		delete(v, bank.MiddleName)
	}
	switch p.Method {
	case MethodInBranch, MethodRemote:
	case "":
		*ps = append(*ps, FieldProblem{Name: "method", Detail: "Укажите способ идентификации: in_branch или remote.",
			DetailEN: "Give the identification method: in_branch or remote."})
	default:
		*ps = append(*ps, FieldProblem{Name: "method", Detail: "Способ идентификации — in_branch или remote.",
			DetailEN: "The identification method is in_branch or remote."})
	}
	at, err := time.Parse(time.RFC3339, p.ConfirmedAt)
	switch {
	case p.ConfirmedAt == "":
		*ps = append(*ps, FieldProblem{Name: "confirmed_at", Detail: "Укажите время идентификации (RFC 3339).",
			DetailEN: "Give the time of identification (RFC 3339)."})
	case err != nil:
		*ps = append(*ps, FieldProblem{Name: "confirmed_at", Detail: "Время идентификации — в формате RFC 3339, например 2026-03-12T14:05:00+03:00.",
			DetailEN: "The time of identification is RFC 3339, e.g. 2026-03-12T14:05:00+03:00."})
	case at.After(now.Add(5 * time.Minute)):
		*ps = append(*ps, FieldProblem{Name: "confirmed_at", Detail: "Время идентификации в будущем.",
			DetailEN: "The time of identification is in the future."})
	case at.Before(now.AddDate(0, 0, -30)):
		*ps = append(*ps, FieldProblem{Name: "confirmed_at", Detail: "Идентификация старше 30 дней.",
			DetailEN: "The identification is more than 30 days old."})
	}
	ref := strings.TrimSpace(p.Reference)
	switch {
	case ref == "":
		*ps = append(*ps, FieldProblem{Name: "reference", Detail: "Укажите номер операции в банке.", DetailEN: "Give the bank's reference."})
	case utf8.RuneCountInString(ref) > maxReference || strings.ContainsFunc(ref, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		*ps = append(*ps, FieldProblem{Name: "reference", Detail: "Номер операции — до 128 печатных знаков.",
			DetailEN: "The reference is up to 128 printable characters."})
	}
	return v
}

// addField adds err (a validate.FieldError) as a problem of the named
// request field; it reports whether err was nil.
func addField(ps *[]FieldProblem, name string, err error) bool {
	if err == nil {
		return true
	}
	var fe *validate.FieldError
	if errors.As(err, &fe) {
		*ps = append(*ps, FieldProblem{Name: name, Detail: fe.RU, DetailEN: fe.EN})
	} else {
		*ps = append(*ps, FieldProblem{Name: name, Detail: "Недопустимое значение.", DetailEN: "Invalid value."})
	}
	return false
}

// ConfirmedAt is the parsed time of identification (valid after Parse*).
func (p *Person) confirmedAt() time.Time {
	t, _ := time.Parse(time.RFC3339, p.ConfirmedAt)
	return t
}
