package support_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/gosid/gosid/portal/support"
)

func TestParseContact(t *testing.T) {
	for in, want := range map[string]support.Contact{
		"ivanov@example.ru":   {Kind: support.Email, Value: "ivanov@example.ru"},
		" a.b@mail.example ":  {Kind: support.Email, Value: "a.b@mail.example"},
		"+7 (916) 111-22-33":  {Kind: support.Phone, Value: "+79161112233"},
		"89161112233":         {Kind: support.Phone, Value: "+79161112233"},
		"9161112233":          {Kind: support.Phone, Value: "+79161112233"},
		"+375 29 123-45-67":   {Kind: support.Phone, Value: "+375291234567"},
		"":                    {},
		"ivanov":              {},
		"ivanov@localhost":    {},
		"Иван <a@example.ru>": {},
		"a@@example.ru":       {},
		"@example.ru":         {},
		"+7 916 111":          {},
		"+0123456789":         {},
		"8916111223x":         {},
		"12345":               {},
	} {
		got, err := support.ParseContact(in)
		if (want == support.Contact{}) {
			if err == nil {
				t.Errorf("%q accepted as %+v", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v; want %+v", in, got, err, want)
		}
	}
}

func TestMasked(t *testing.T) {
	for c, want := range map[support.Contact]string{
		{Kind: support.Email, Value: "ivanov@example.ru"}: "iv***@example.ru",
		{Kind: support.Email, Value: "a@example.ru"}:      "***@example.ru",
		{Kind: support.Phone, Value: "+79161112233"}:      "+7 *** ***-**-33",
		{Kind: support.Phone, Value: "+375291234567"}:     "+3 *** 67",
	} {
		if got := c.Masked(); got != want {
			t.Errorf("%+v masked %q, want %q", c, got, want)
		}
	}
}

// FuzzParseContact: whatever a citizen types, ParseContact does not
// panic, and what it accepts is a plain address or an E.164 number that
// parses again to itself and whose mask hides most of it.
func FuzzParseContact(f *testing.F) {
	for _, s := range []string{"ivanov@example.ru", "+7 (916) 111-22-33", "89161112233", "a@b", "<a@b.ru>", "+", "@", "8(", "ё@ё.рф", "\xff@a.ru"} {
		f.Add(s)
	}
	e164 := regexp.MustCompile(`^\+[1-9]\d{7,14}$`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := support.ParseContact(s)
		if err != nil {
			return
		}
		switch c.Kind {
		case support.Phone:
			if !e164.MatchString(c.Value) {
				t.Fatalf("%q → phone %q", s, c.Value)
			}
		case support.Email:
			if strings.Count(c.Value, "@") < 1 || strings.ContainsAny(c.Value, " <>\"") {
				t.Fatalf("%q → e-mail %q", s, c.Value)
			}
		default:
			t.Fatalf("%q → kind %q", s, c.Kind)
		}
		if again, err := support.ParseContact(c.Value); err != nil || again != c {
			t.Fatalf("%q → %+v, which parses to %+v, %v", s, c, again, err)
		}
		if m := c.Masked(); m == c.Value || !strings.Contains(m, "***") {
			t.Fatalf("%+v masked as %q", c, m)
		}
	})
}
