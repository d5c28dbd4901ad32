package support

import (
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Contact is where the citizen wants the answer: an e-mail address or a
// mobile phone (E.164).
type Contact struct {
	Kind  string `json:"kind"` // "email" or "phone"
	Value string `json:"value"`
}

// Contact kinds.
const (
	Email = "email"
	Phone = "phone"
)

// ErrContact is ParseContact's refusal.
var ErrContact = errors.New("support: not an e-mail address or a phone number")

// ParseContact reads what the citizen typed as a contact: an e-mail
// address (one @, a dot in the domain, no display name, at most 254
// bytes), or a phone number — Russian written as +7…, 8… or 7… with
// 10 more digits, or any E.164 number +[1-9] with 8 to 15 digits;
// spaces, hyphens, dots and parentheses are ignored.
func ParseContact(s string) (Contact, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 || !utf8.ValidString(s) {
		return Contact{}, ErrContact
	}
	if strings.Contains(s, "@") {
		a, err := mail.ParseAddress(s)
		if err != nil || a.Name != "" || a.Address != s || strings.ContainsAny(s, " <>\"\t") {
			return Contact{}, ErrContact
		}
		at := strings.LastIndexByte(s, '@')
		domain := s[at+1:]
		if at == 0 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
			return Contact{}, ErrContact
		}
		return Contact{Kind: Email, Value: s}, nil
	}
	var digits strings.Builder
	plus := false
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return Contact{}, ErrContact
		}
	}
	d := digits.String()
	switch {
	case !plus && len(d) == 11 && (d[0] == '8' || d[0] == '7'):
		d = "7" + d[1:]
	case !plus && len(d) == 10 && d[0] == '9':
		d = "7" + d
	case plus && len(d) >= 8 && len(d) <= 15 && d[0] != '0':
	default:
		return Contact{}, ErrContact
	}
	if d[0] == '7' && len(d) != 11 {
		return Contact{}, ErrContact
	}
	return Contact{Kind: Phone, Value: "+" + d}, nil
}

// Masked is the contact as support staff see it: enough to recognise,
// not to use — "iv***@mail.ru", "+7 *** ***-**-67".
func (c Contact) Masked() string {
	switch c.Kind {
	case Email:
		at := strings.LastIndexByte(c.Value, '@')
		if at < 0 {
			return "***"
		}
		local := []rune(c.Value[:at])
		keep := min(2, len(local)-1)
		if keep < 0 {
			keep = 0
		}
		return string(local[:keep]) + "***" + c.Value[at:]
	case Phone:
		if len(c.Value) < 4 {
			return "***"
		}
		if strings.HasPrefix(c.Value, "+7") && len(c.Value) == 12 {
			return "+7 *** ***-**-" + c.Value[10:]
		}
		return c.Value[:2] + " *** " + c.Value[len(c.Value)-2:]
	}
	return "***"
}
