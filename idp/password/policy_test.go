package password

import (
	"slices"
	"strings"
	"testing"
)

var testCtx = PolicyContext{
	Phone:      "+7 (912) 345-67-89",
	Email:      "Ivan.Petrov+gov@example.ru",
	SNILS:      "112-233-445 95",
	FamilyName: "Петров",
	GivenName:  "Иван",
}

func codes(vs []Violation) []string {
	var cs []string
	for _, v := range vs {
		cs = append(cs, v.Code)
	}
	return cs
}

func TestPolicyCheck(t *testing.T) {
	p := DefaultPolicy()
	cases := []struct {
		pw   string
		ctx  PolicyContext
		want []string
	}{
		{"Vt9#kqzmRw", testCtx, nil},
		{"Vt9#kqzmRw", PolicyContext{}, nil},
		{"Zk8(pLmq", testCtx, nil},                                            // exactly 8, special from the product's set
		{"Zk8-pLmq" + strings.Repeat("x", 56), testCtx, []string{CodeRepeat}}, // 64 chars
		{"", testCtx, []string{CodeMinLength, CodeUpper, CodeLower, CodeDigit, CodeSpecial}},
		{"Vt9#kqz", testCtx, []string{CodeMinLength}},
		{"Vt9#kqzmRw" + strings.Repeat("ab", 28), testCtx, []string{CodeMaxLength}},
		{"vt9#kqzmrw", testCtx, []string{CodeUpper}},
		{"VT9#KQZMRW", testCtx, []string{CodeLower}},
		{"Vtx#kqzmRw", testCtx, []string{CodeDigit}},
		{"Vt9wkqzmRw", testCtx, []string{CodeSpecial}},
		{"Vt9#kqzmRwЖ", testCtx, []string{CodeCharset}},
		{"Пароль12!", testCtx, []string{CodeUpper, CodeLower, CodeCharset}},
		{"Vt9# kqzmRw", testCtx, []string{CodeCharset}},
		{"Vt9#kq\x00zmRw", testCtx, []string{CodeCharset}},
		{"Vt9#kq\xffzmRw", testCtx, []string{CodeCharset}},
		{"Vt9#kqéRwmz", testCtx, []string{CodeCharset}},
		{"Aaa12345!", testCtx, []string{CodeRepeat, CodeBreached}}, // "aaa12345" is listed too
		{"Vt9#kqzmRwww", testCtx, []string{CodeRepeat}},
		{"Vt9#kqzmRwW", testCtx, nil},                    // two in a row is fine
		{"Vt9#kqzmRwWw", testCtx, []string{CodeRepeat}},  // case-insensitive
		{"Vt9#kq!!!zmRw", testCtx, []string{CodeRepeat}}, // specials count too
		{"Password1!", testCtx, []string{CodeBreached}},
		{"Qwerty123!", testCtx, []string{CodeBreached}},
		{"P@ssw0rd!", testCtx, []string{CodeBreached}},
		{"Sunshine2024!", testCtx, []string{CodeBreached}},
		{"Dragon_2024", testCtx, []string{CodeBreached}},
		{"Vt#9123456789", testCtx, []string{CodeLogin}},                  // national phone number
		{"Vt#+79123456789", testCtx, []string{CodeLogin}},                // full phone number
		{"Vt#8(912)345-67-89", testCtx, []string{CodeLogin}},             // formatted
		{"Vt#912345678", testCtx, nil},                                   // 9 digits of it: allowed
		{"Vt#112-233-445 95", testCtx, []string{CodeCharset, CodeLogin}}, // the space breaks the charset rule
		{"Vt#11223344595", testCtx, []string{CodeLogin}},                 // SNILS
		{"Vt#112233445x", testCtx, []string{CodeLogin}},                  // SNILS without checksum
		{"Xq#7ivan.petrov", testCtx, []string{CodeLogin, CodeName}},
		{"Xq#7IvanPetrov", testCtx, []string{CodeLogin, CodeName}}, // e-mail without the dot
		{"Petrov#1985x", testCtx, []string{CodeName}},              // transliterated family name
		{"Xq#7Gtnhjd", testCtx, []string{CodeName}},                // "Петров" typed in Latin layout
		{"Xq#7Ivan9m", testCtx, []string{CodeName}},
		{"Xq#7Iv@n9m", testCtx, []string{CodeName}}, // leet undone
		{"Xq#7Ivam9m", testCtx, nil},
	}
	for _, c := range cases {
		got := codes(p.Check(c.pw, c.ctx))
		if !slices.Equal(got, c.want) {
			t.Errorf("Check(%q) = %v, want %v", c.pw, got, c.want)
		}
	}
}

func TestPolicyMessages(t *testing.T) {
	p := DefaultPolicy()
	vs := p.Check("", PolicyContext{})
	if vs[0].RU != "Пароль: не менее 8 символов" || vs[0].EN != "Password: at least 8 characters" {
		t.Errorf("min length message = %q / %q", vs[0].RU, vs[0].EN)
	}
	all := append(vs, p.Check("Пароль ааа Password1! "+strings.Repeat("x", 60), testCtx)...)
	for _, v := range all {
		if !strings.HasPrefix(v.RU, "Пароль: ") || !strings.HasPrefix(v.EN, "Password: ") {
			t.Errorf("%s: message does not name the field: %q / %q", v.Code, v.RU, v.EN)
		}
		if v.Text("en-GB") != v.EN || v.Text("ru") != v.RU || v.Text("") != v.RU {
			t.Errorf("%s: Text(lang) picks the wrong language", v.Code)
		}
	}
	p.MinLen = 21
	if got := p.Check("", PolicyContext{})[0].RU; got != "Пароль: не менее 21 символа" {
		t.Errorf("plural: %q", got)
	}
	if got := p.Check("Vt9#kqzmRwЖ", PolicyContext{}); got[len(got)-1].RU != "Пароль: русские буквы не допускаются — переключите раскладку клавиатуры на латиницу" {
		t.Errorf("cyrillic hint: %q", got[len(got)-1].RU)
	}
}

// Every code Check can report is listed by Rules, in the same order, so a
// page can render the list and tick rules off by code.
func TestRulesMatchCheck(t *testing.T) {
	p := DefaultPolicy()
	for _, lang := range []string{"ru", "en"} {
		rules := p.Rules(lang)
		var rc []string
		for _, r := range rules {
			rc = append(rc, r.Code)
			if r.Text == "" || r.Text == r.Code {
				t.Errorf("%s: rule %s has no text", lang, r.Code)
			}
		}
		want := []string{CodeMinLength, CodeMaxLength, CodeUpper, CodeLower, CodeDigit, CodeSpecial,
			CodeCharset, CodeRepeat, CodeLogin, CodeName, CodeBreached}
		if !slices.Equal(rc, want) {
			t.Errorf("Rules(%s) codes = %v, want %v", lang, rc, want)
		}
	}
	if r := p.Rules("ru")[0].Text; r != "Не менее 8 символов" {
		t.Errorf("ru rule = %q", r)
	}
	if r := p.Rules("en")[0].Text; r != "At least 8 characters" {
		t.Errorf("en rule = %q", r)
	}
	if got := (Policy{MinLen: 8}).Rules("ru"); len(got) != 2 { // min length + charset
		t.Errorf("disabled rules listed: %v", got)
	}
}

func TestPolicyNonLatin(t *testing.T) {
	p := DefaultPolicy()
	p.LatinOnly = false
	if got := codes(p.Check("Пароль9#кщз", PolicyContext{})); got != nil {
		t.Errorf("Cyrillic password with LatinOnly=false: %v", got)
	}
	if got := codes(p.Check("пароль9#кщз", PolicyContext{})); !slices.Equal(got, []string{CodeUpper}) {
		t.Errorf("got %v", got)
	}
	if got := codes(p.Check("Пароль9#кщзПетров", testCtx)); !slices.Equal(got, []string{CodeName}) {
		t.Errorf("Cyrillic name: %v", got)
	}
}

func TestZeroPolicy(t *testing.T) {
	if vs := (Policy{}).Check("", PolicyContext{}); vs != nil {
		t.Errorf("zero policy: %v", vs)
	}
}
