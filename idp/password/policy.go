package password

import (
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Violation codes. They are stable: forms, templates and the page's script
// use them to show and tick off hints.
const (
	CodeMinLength = "min_length" // fewer than MinLen characters
	CodeMaxLength = "max_length" // more than MaxLen characters
	CodeUpper     = "upper"      // no upper-case (Latin) letter
	CodeLower     = "lower"      // no lower-case (Latin) letter
	CodeDigit     = "digit"      // no digit
	CodeSpecial   = "special"    // no special character
	CodeCharset   = "charset"    // a character outside the allowed set (Cyrillic, space, control)
	CodeRepeat    = "repeat"     // more than MaxRepeat identical characters in a row
	CodeLogin     = "login"      // equals or contains the phone, e-mail or SNILS
	CodeName      = "name"       // contains the family or given name
	CodeBreached  = "breached"   // a known-breached password or a light variation of one
)

// Specials is the set of special characters the product's instructions name
// ("! @ # $ % ^ & * ( )"). Any other printable ASCII punctuation counts too.
const Specials = "!@#$%^&*()"

// Matcher reports whether a password is known to be breached. *List
// implements it; a network-backed checker could too.
type Matcher interface {
	Match(pw string) bool
}

// Policy is the set of rules a new password must satisfy. Lengths count
// characters (runes), not bytes. The zero value checks nothing.
type Policy struct {
	MinLen, MaxLen int

	RequireUpper, RequireLower, RequireDigit, RequireSpecial bool

	// LatinOnly restricts passwords to printable ASCII without spaces:
	// Latin letters, digits and punctuation; upper/lower then mean A–Z/a–z.
	// Without it, any letters count and only control characters are refused.
	LatinOnly bool

	// MaxRepeat is the longest allowed run of one character, compared
	// case-insensitively (2 forbids "aaa" and "aAa"); 0 means no limit.
	MaxRepeat int

	// ForbidLogin refuses passwords equal to or containing the login:
	// the phone number's last 10 digits, the e-mail address's local part
	// (if at least 4 characters) and the SNILS number's 9 digits.
	ForbidLogin bool

	// ForbidName refuses passwords containing the family or given name (each
	// part of at least 4 letters), as written, transliterated to Latin
	// (passport ICAO and common spellings) or typed in the Latin keyboard
	// layout ("Иванов" → "ivanov", "bdfyjd").
	ForbidName bool

	// Breached, if not nil, refuses known-breached passwords.
	Breached Matcher
}

// DefaultPolicy returns the product's rules: 8–64 characters, at least one
// upper-case and one lower-case Latin letter, a digit and a special
// character, Latin letters only, no three identical characters in a row, not
// the login, not the name, and not in the embedded breached list.
func DefaultPolicy() Policy {
	return Policy{
		MinLen: 8, MaxLen: 64,
		RequireUpper: true, RequireLower: true, RequireDigit: true, RequireSpecial: true,
		LatinOnly:   true,
		MaxRepeat:   2,
		ForbidLogin: true,
		ForbidName:  true,
		Breached:    BreachedList(),
	}
}

// PolicyContext carries the account's identifiers that a password must not
// contain. Empty fields are skipped. It holds personal data: String and
// LogValue redact it.
type PolicyContext struct {
	Phone, Email, SNILS   string
	FamilyName, GivenName string
}

// String redacts the identifiers.
func (PolicyContext) String() string { return "password.PolicyContext{[redacted]}" }

// LogValue implements slog.LogValuer with the identifiers redacted.
func (PolicyContext) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Violation is one unmet rule, with messages for the person in Russian and
// English that name the field ("Пароль: …").
type Violation struct {
	Code string
	RU   string
	EN   string
}

// Text returns the message in lang ("en…" is English, anything else Russian).
func (v Violation) Text(lang string) string {
	if isEnglish(lang) {
		return v.EN
	}
	return v.RU
}

// Rule is one line of the list of rules shown next to the password field.
type Rule struct {
	Code string
	Text string
	// Unmet marks a rule the submitted password breaks (Checklist), with
	// Note saying so in words ("не выполнено"), not by colour alone.
	Unmet bool
	Note  string
}

// Check returns every rule pw breaks, in the order of Rules, or nil if it
// satisfies the policy. It never returns or logs the password.
func (p Policy) Check(pw string, pc PolicyContext) []Violation {
	var vs []Violation
	add := func(code string) { vs = append(vs, p.violation(code, pw)) }

	n := utf8.RuneCountInString(pw)
	if p.MinLen > 0 && n < p.MinLen {
		add(CodeMinLength)
	}
	if p.MaxLen > 0 && n > p.MaxLen {
		add(CodeMaxLength)
	}
	cls := classify(pw, p.LatinOnly)
	if p.RequireUpper && !cls.upper {
		add(CodeUpper)
	}
	if p.RequireLower && !cls.lower {
		add(CodeLower)
	}
	if p.RequireDigit && !cls.digit {
		add(CodeDigit)
	}
	if p.RequireSpecial && !cls.special {
		add(CodeSpecial)
	}
	if cls.cyrillic || cls.space || cls.other {
		add(CodeCharset)
	}
	if p.MaxRepeat > 0 && longestRun(pw) > p.MaxRepeat {
		add(CodeRepeat)
	}
	if p.ForbidLogin || p.ForbidName {
		lower := strings.ToLower(pw)
		variants := [3]string{lower, leetI.Replace(lower), leetL.Replace(lower)}
		if p.ForbidLogin && containsLogin(pw, variants, pc) {
			add(CodeLogin)
		}
		if p.ForbidName && containsName(variants, pc) {
			add(CodeName)
		}
	}
	if p.Breached != nil && p.Breached.Match(pw) {
		add(CodeBreached)
	}
	return vs
}

// Rules returns the policy's enabled rules in lang ("en…" is English,
// anything else Russian), in the order Check reports violations.
func (p Policy) Rules(lang string) []Rule {
	en := isEnglish(lang)
	var rules []Rule
	for _, code := range p.codes() {
		m := p.messages(code, "")
		text := m.ruleRU
		if en {
			text = m.ruleEN
		}
		rules = append(rules, Rule{Code: code, Text: text})
	}
	return rules
}

func (p Policy) codes() []string {
	var cs []string
	add := func(on bool, code string) {
		if on {
			cs = append(cs, code)
		}
	}
	add(p.MinLen > 0, CodeMinLength)
	add(p.MaxLen > 0, CodeMaxLength)
	add(p.RequireUpper, CodeUpper)
	add(p.RequireLower, CodeLower)
	add(p.RequireDigit, CodeDigit)
	add(p.RequireSpecial, CodeSpecial)
	add(true, CodeCharset)
	add(p.MaxRepeat > 0, CodeRepeat)
	add(p.ForbidLogin, CodeLogin)
	add(p.ForbidName, CodeName)
	add(p.Breached != nil, CodeBreached)
	return cs
}

type messages struct{ ruleRU, ruleEN, violRU, violEN string }

func (p Policy) violation(code, pw string) Violation {
	m := p.messages(code, pw)
	return Violation{Code: code, RU: m.violRU, EN: m.violEN}
}

// messages returns the rule and violation texts for code; pw only selects
// the most helpful charset message and is never quoted.
func (p Policy) messages(code, pw string) messages {
	latinRU, latinEN := "", ""
	if p.LatinOnly {
		latinRU, latinEN = " латинская", " Latin"
	}
	switch code {
	case CodeMinLength:
		return lengthMessages("не менее", "at least", p.MinLen)
	case CodeMaxLength:
		return lengthMessages("не более", "at most", p.MaxLen)
	case CodeUpper:
		return needMessages("нужна", "хотя бы одна заглавная"+latinRU+" буква", "at least one upper-case"+latinEN+" letter")
	case CodeLower:
		return needMessages("нужна", "хотя бы одна строчная"+latinRU+" буква", "at least one lower-case"+latinEN+" letter")
	case CodeDigit:
		return needMessages("нужна", "хотя бы одна цифра", "at least one digit")
	case CodeSpecial:
		return needMessages("нужен", "хотя бы один специальный символ, например ! @ # $ % ^ & * ( )", "at least one special character, such as ! @ # $ % ^ & * ( )")
	case CodeCharset:
		m := messages{
			ruleRU: "Только латинские буквы, цифры и специальные символы, без пробелов",
			ruleEN: "Only Latin letters, digits and special characters, no spaces",
			violRU: "Пароль: используйте только латинские буквы, цифры и специальные символы",
			violEN: "Password: use only Latin letters, digits and special characters",
		}
		if !p.LatinOnly {
			m = messages{
				ruleRU: "Без управляющих символов",
				ruleEN: "No control characters",
				violRU: "Пароль: содержит недопустимый символ",
				violEN: "Password: contains a character that is not allowed",
			}
		}
		switch cls := classify(pw, p.LatinOnly); {
		case cls.cyrillic:
			m.violRU = "Пароль: русские буквы не допускаются — переключите раскладку клавиатуры на латиницу"
			m.violEN = "Password: Cyrillic letters are not allowed — switch the keyboard layout to Latin"
		case cls.space && !cls.other:
			m.violRU = "Пароль: пробелы не допускаются"
			m.violEN = "Password: spaces are not allowed"
		}
		return m
	case CodeRepeat:
		return messages{
			fmt.Sprintf("Не более %s одинаковых символов подряд", countRU(p.MaxRepeat)),
			fmt.Sprintf("No more than %d identical characters in a row", p.MaxRepeat),
			fmt.Sprintf("Пароль: не более %s одинаковых символов подряд", countRU(p.MaxRepeat)),
			fmt.Sprintf("Password: no more than %d identical characters in a row", p.MaxRepeat),
		}
	case CodeLogin:
		return messages{
			"Не совпадает с логином и не содержит его: номер телефона, почту или СНИЛС",
			"Not your login and does not contain it: phone number, e-mail or SNILS",
			"Пароль: не должен содержать логин — номер телефона, почту или СНИЛС",
			"Password: must not contain your login — phone number, e-mail or SNILS",
		}
	case CodeName:
		return messages{
			"Не содержит ваши имя и фамилию",
			"Does not contain your given or family name",
			"Пароль: не должен содержать ваши имя или фамилию",
			"Password: must not contain your given or family name",
		}
	case CodeBreached:
		return messages{
			"Не из списка распространённых и утёкших паролей",
			"Not a common or leaked password",
			"Пароль: слишком распространённый — он есть в списках утёкших паролей",
			"Password: too common — it appears in lists of leaked passwords",
		}
	}
	return messages{code, code, "Пароль: " + code, "Password: " + code}
}

// lengthMessages are the texts of a length bound: bound ("не менее", "at
// least") n characters.
func lengthMessages(boundRU, boundEN string, n int) messages {
	ru := fmt.Sprintf("%s %d %s", boundRU, n, symbolsRU(n))
	en := fmt.Sprintf("%s %d characters", boundEN, n)
	return messages{upperFirst(ru), upperFirst(en), "Пароль: " + ru, "Password: " + en}
}

// needMessages are the texts of what the password must have: what ("хотя
// бы одна цифра", "at least one digit"), with the Russian verb that agrees
// with it ("нужна", "нужен").
func needMessages(needRU, whatRU, whatEN string) messages {
	return messages{upperFirst(whatRU), upperFirst(whatEN), "Пароль: " + needRU + " " + whatRU, "Password: add " + whatEN}
}

// upperFirst capitalises the first letter of s.
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// symbolsRU agrees "символ" with n after "не менее/не более" (genitive).
func symbolsRU(n int) string {
	if n%10 == 1 && n%100 != 11 {
		return "символа"
	}
	return "символов"
}

// countRU spells small counts after "не более" in the genitive.
func countRU(n int) string {
	switch n {
	case 1:
		return "одного"
	case 2:
		return "двух"
	case 3:
		return "трёх"
	case 4:
		return "четырёх"
	}
	return fmt.Sprint(n)
}

func isEnglish(lang string) bool {
	return len(lang) >= 2 && strings.EqualFold(lang[:2], "en")
}

type classes struct {
	upper, lower, digit, special bool
	cyrillic, space, other       bool // charset problems
}

func classify(pw string, latinOnly bool) classes {
	var c classes
	for i, r := range pw {
		switch {
		case r == utf8.RuneError && isInvalidAt(pw, i):
			c.other = true
		case 'A' <= r && r <= 'Z':
			c.upper = true
		case 'a' <= r && r <= 'z':
			c.lower = true
		case '0' <= r && r <= '9':
			c.digit = true
		case r < utf8.RuneSelf && isASCIISpecial(byte(r)):
			c.special = true
		case r == ' ':
			c.space = latinOnly
		case unicode.IsControl(r):
			c.other = true
		case latinOnly:
			if unicode.Is(unicode.Cyrillic, r) {
				c.cyrillic = true
			} else {
				c.other = true
			}
		case unicode.IsUpper(r):
			c.upper = true
		case unicode.IsLower(r):
			c.lower = true
		case unicode.IsDigit(r):
			c.digit = true
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
			c.special = true
		case unicode.IsSpace(r):
			// allowed, counts as nothing
		}
	}
	return c
}

func isInvalidAt(s string, i int) bool {
	r, size := utf8.DecodeRuneInString(s[i:])
	return r == utf8.RuneError && size <= 1
}

// longestRun returns the longest run of one character, case-insensitively.
func longestRun(pw string) int {
	best, run := 0, 0
	prev := rune(-1)
	for _, r := range pw {
		r = unicode.ToLower(r)
		if r == prev {
			run++
		} else {
			prev, run = r, 1
		}
		best = max(best, run)
	}
	return best
}

func digitsOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func alnumOf(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

// minLoginPart is the shortest e-mail local part or name part checked for
// containment; shorter ones would refuse too many good passwords.
const minLoginPart = 4

func containsLogin(pw string, variants [3]string, pc PolicyContext) bool {
	pwDigits := digitsOf(pw)
	if d := digitsOf(pc.Phone); len(d) >= 10 {
		// The national number: +7 912 345-67-89 and 8 912 345 67 89 alike.
		if strings.Contains(pwDigits, d[len(d)-10:]) {
			return true
		}
	} else if len(d) >= 6 && strings.Contains(pwDigits, d) {
		return true
	}
	if d := digitsOf(pc.SNILS); len(d) >= 9 && strings.Contains(pwDigits, d[:9]) {
		return true
	}
	if email := strings.ToLower(strings.TrimSpace(pc.Email)); email != "" {
		if variants[0] == email {
			return true
		}
		local := email
		if at := strings.LastIndexByte(email, '@'); at >= 0 {
			local = email[:at]
		}
		if variants[0] == local && local != "" {
			return true
		}
		parts := []string{local, alnumOf(local)}
		if plus := strings.IndexByte(local, '+'); plus > 0 {
			parts = append(parts, local[:plus], alnumOf(local[:plus]))
		}
		pwAlnum := alnumOf(variants[0])
		for _, part := range parts {
			if utf8.RuneCountInString(part) < minLoginPart {
				continue
			}
			if strings.Contains(pwAlnum, part) {
				return true
			}
			for _, v := range variants {
				if strings.Contains(v, part) {
					return true
				}
			}
		}
	}
	return false
}

func containsName(variants [3]string, pc PolicyContext) bool {
	for _, name := range [2]string{pc.FamilyName, pc.GivenName} {
		for part := range strings.FieldsFuncSeq(strings.ToLower(name), func(r rune) bool { return !unicode.IsLetter(r) }) {
			if utf8.RuneCountInString(part) < minLoginPart {
				continue
			}
			for _, form := range nameForms(part) {
				for _, v := range variants {
					if strings.Contains(v, form) {
						return true
					}
				}
			}
		}
	}
	return false
}

// nameForms returns the lower-case name part as written and, for Cyrillic,
// its ICAO (passport) and common Latin transliterations and the letters the
// same keys give in the Latin keyboard layout.
func nameForms(part string) []string {
	forms := []string{part}
	if !strings.ContainsFunc(part, func(r rune) bool { return unicode.Is(unicode.Cyrillic, r) }) {
		return forms
	}
	for _, table := range [...]map[rune]string{translitICAO, translitCommon, keyboardLatin} {
		var b strings.Builder
		for _, r := range part {
			if s, ok := table[r]; ok {
				b.WriteString(s)
			} else {
				b.WriteRune(r)
			}
		}
		if f := b.String(); f != forms[len(forms)-1] {
			forms = append(forms, f)
		}
	}
	return forms
}

// translitICAO is the transliteration used in Russian passports (ICAO Doc 9303).
var translitICAO = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh",
	'з': "z", 'и': "i", 'й': "i", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o",
	'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts",
	'ч': "ch", 'ш': "sh", 'щ': "shch", 'ъ': "ie", 'ы': "y", 'ь': "", 'э': "e", 'ю': "iu",
	'я': "ia",
}

// translitCommon is the spelling people usually type ("Mihail",
// "Natalya"): ICAO's but for these letters.
var translitCommon = overlay(translitICAO, map[rune]string{
	'ё': "yo", 'й': "y", 'х': "h", 'ц': "c", 'щ': "sch", 'ъ': "", 'ю': "yu", 'я': "ya",
})

// overlay is base with the letters of diff spelt diff's way.
func overlay(base, diff map[rune]string) map[rune]string {
	m := maps.Clone(base)
	maps.Copy(m, diff)
	return m
}

// keyboardLatin maps the Russian ЙЦУКЕН layout to the keys' Latin letters.
var keyboardLatin = map[rune]string{
	'й': "q", 'ц': "w", 'у': "e", 'к': "r", 'е': "t", 'н': "y", 'г': "u", 'ш': "i",
	'щ': "o", 'з': "p", 'х': "[", 'ъ': "]", 'ф': "a", 'ы': "s", 'в': "d", 'а': "f",
	'п': "g", 'р': "h", 'о': "j", 'л': "k", 'д': "l", 'ж': ";", 'э': "'", 'я': "z",
	'ч': "x", 'с': "c", 'м': "v", 'и': "b", 'т': "n", 'ь': "m", 'б': ",", 'ю': ".",
	'ё': "`",
}

// Explain checks pw and returns every unmet rule as one message in lang
// ("" when the password satisfies the policy), for a form's password field.
func (p Policy) Explain(pw string, pc PolicyContext, lang string) string {
	vs := p.Check(pw, pc)
	msgs := make([]string, len(vs))
	for i, v := range vs {
		msgs[i] = v.Text(lang)
	}
	return strings.Join(msgs, "; ")
}

// Checklist returns Rules(lang) with the rules that vs (Check's answer)
// break marked Unmet, for the list shown again beside a refused password.
func (p Policy) Checklist(vs []Violation, lang string) []Rule {
	rules := p.Rules(lang)
	for i := range rules {
		for _, v := range vs {
			if v.Code == rules[i].Code {
				rules[i].Unmet, rules[i].Note = true, "не выполнено"
				if isEnglish(lang) {
					rules[i].Note = "not met"
				}
			}
		}
	}
	return rules
}

// Summary is the one message for a password field that vs (Check's
// answer, not empty) refuse: the rule's own message when one rule is
// broken, else a pointer to the rules marked in the list (Checklist), so
// that the list is not repeated above itself.
func Summary(vs []Violation, lang string) string {
	if len(vs) == 1 {
		return vs[0].Text(lang)
	}
	if isEnglish(lang) {
		return "Password: meet the rules marked in the list below"
	}
	return "Пароль: выполните требования, отмеченные в списке ниже"
}

// FieldFailer takes a message for a form's field (webui.Form).
type FieldFailer interface {
	Fail(field, msg string)
}

// ExplainNew checks a new password typed twice (pw, confirm): one message
// (Summary) goes under the form's "password" field if rules are broken,
// else a mismatch — the message mismatch — under "password_confirm". It
// returns the list of rules for the page, the broken ones marked.
func (p Policy) ExplainNew(f FieldFailer, pw, confirm string, pc PolicyContext, lang, mismatch string) []Rule {
	vs := p.Check(pw, pc)
	if len(vs) > 0 {
		f.Fail("password", Summary(vs, lang))
	} else if pw != confirm {
		f.Fail("password_confirm", mismatch)
	}
	return p.Checklist(vs, lang)
}
