package password

import (
	"strings"
	"testing"
)

// TestChecklistAndSummary: a refused password gets one message — the
// rule's own when one rule is broken, else a pointer to the list — and the
// list marks exactly the broken rules, in words too, in both languages;
// ExplainNew returns that list.
func TestChecklistAndSummary(t *testing.T) {
	p := DefaultPolicy()
	pc := PolicyContext{FamilyName: "Петрова", GivenName: "Анна"}
	for _, tc := range []struct {
		pw         string
		unmet      []string
		ru, en     string
		confirmErr bool
	}{
		{"zqxwvu", []string{CodeMinLength, CodeUpper, CodeDigit, CodeSpecial}, "Пароль: выполните требования, отмеченные в списке ниже", "Password: meet the rules marked in the list below", false},
		{"Zqxwvu7#", nil, "", "", true},
		{"Zqxwvu7", []string{CodeMinLength, CodeSpecial}, "Пароль: выполните требования, отмеченные в списке ниже", "Password: meet the rules marked in the list below", false},
		{"Zqxwvuk7", []string{CodeSpecial}, "Пароль: нужен хотя бы один специальный символ", "Password: add at least one special character", false},
		{"Petrovakz#29", []string{CodeName}, "Пароль: не должен содержать ваши имя или фамилию", "Password: must not contain your given or family name", false},
	} {
		for _, lang := range []string{"ru", "en"} {
			f := fails{}
			rules := p.ExplainNew(f, tc.pw, tc.pw+"-", pc, lang, "mismatch")
			want := tc.ru
			note := "не выполнено"
			if lang == "en" {
				want, note = tc.en, "not met"
			}
			if tc.confirmErr {
				if f["password"] != "" || f["password_confirm"] != "mismatch" {
					t.Errorf("%q %s: %v, want only the mismatch", tc.pw, lang, f)
				}
			} else if !strings.HasPrefix(f["password"], want) || strings.Contains(f["password"], ";") {
				t.Errorf("%q %s: message %q, want one message starting %q", tc.pw, lang, f["password"], want)
			}
			var got []string
			for _, r := range rules {
				if r.Unmet {
					got = append(got, r.Code)
					if r.Note != note {
						t.Errorf("%q %s: rule %s note %q", tc.pw, lang, r.Code, r.Note)
					}
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.unmet, ",") {
				t.Errorf("%q %s: unmet %v, want %v", tc.pw, lang, got, tc.unmet)
			}
			if len(rules) != len(p.Rules(lang)) {
				t.Errorf("%q %s: %d rules, want all %d", tc.pw, lang, len(rules), len(p.Rules(lang)))
			}
		}
	}
}

type fails map[string]string

func (f fails) Fail(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}
