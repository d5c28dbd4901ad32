package bank

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gosid/gosid/idp/validate"
)

// maxName bounds a mapped name (validate's longest name is 100).
const maxName = 100

// mapClaims maps a bank's claims to Gosid fields: for each field of
// claims (field → claim name or dotted path) the value is read from
// userinfo, or, where userinfo lacks it, from the ID token's claims, and
// normalised. Values that are missing, not a string or number, or that do
// not normalise are left out; dropped names the fields whose value was
// present but unusable (for the log: never the values).
func mapClaims(claims map[string]string, idToken, userinfo map[string]any) (values map[string]string, dropped []string) {
	values = map[string]string{}
	for _, field := range fields {
		path, ok := claims[field]
		if !ok {
			continue
		}
		raw, found := lookup(userinfo, path)
		if !found {
			raw, found = lookup(idToken, path)
		}
		if !found || raw == nil {
			continue
		}
		s, ok := scalar(raw)
		if !ok {
			dropped = append(dropped, field)
			continue
		}
		v, ok := normalise(field, s)
		switch {
		case !ok:
			dropped = append(dropped, field)
		case v != "":
			values[field] = v
		}
	}
	return values, dropped
}

// lookup follows a dotted path into nested objects. A claim whose name
// itself holds the dots (a flat "document.series") is found as well.
func lookup(m map[string]any, path string) (any, bool) {
	if m == nil {
		return nil, false
	}
	if v, ok := m[path]; ok {
		return v, true
	}
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		return nil, false
	}
	inner, ok := m[head].(map[string]any)
	if !ok {
		return nil, false
	}
	return lookup(inner, rest)
}

// scalar turns a JSON string or number into a string. Numbers come as
// float64 (encoding/json) or json.Number; only integral ones make sense
// for the fields (a SNILS or INN sent as a number).
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1e15 {
			return "", false
		}
		return strconv.FormatInt(int64(x), 10), true
	}
	return "", false
}

// normalise brings a value to Gosid's form for field; "" with ok true
// means blank (left out quietly).
func normalise(field, s string) (string, bool) {
	if !utf8.ValidString(s) {
		return "", false
	}
	if strings.TrimSpace(s) == "" {
		return "", true
	}
	var (
		v   string
		err error
	)
	switch field {
	case FamilyName, GivenName, MiddleName:
		return name(s)
	case BirthDate, PassportIssueDate:
		d, err := validate.Date(s, true) // YYYY-MM-DD or DD.MM.YYYY
		if err != nil {
			return "", false
		}
		return d.Format("2006-01-02"), true
	case SNILS:
		v, err = validate.SNILS(s)
	case PassportSeries:
		v, err = validate.PassportSeries(s)
	case PassportNumber:
		v, err = validate.PassportNumber(s)
	case INN:
		v, err = validate.PersonINN(s)
	case Phone:
		v, err = validate.Phone(s)
	case Email:
		v, err = validate.Email(s)
	default:
		return "", false
	}
	return v, err == nil
}

// name trims a name and collapses inner runs of spaces; names with control
// characters or longer than maxName are refused. The script is not
// checked: matching against the account (the caller's) compares them.
func name(s string) (string, bool) {
	for _, r := range s {
		if unicode.IsControl(r) && !unicode.IsSpace(r) {
			return "", false
		}
	}
	n := strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(n) > maxName {
		return "", false
	}
	return n, true
}
