package help

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// The embedded articles load, cover the topics and render in both
// languages.
func TestLoad(t *testing.T) {
	h, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if h.Len() < 20 {
		t.Errorf("%d articles, want about 20", h.Len())
	}
	n := 0
	for _, s := range h.Sections() {
		if len(s.Articles) == 0 {
			t.Errorf("section %s is empty", s.ID)
		}
		for _, a := range s.Articles {
			n++
			if h.Get(a.ID) != a {
				t.Errorf("Get(%q) is not the section's article", a.ID)
			}
			for _, lang := range []string{"ru", "en"} {
				if len(Blocks(a.Body.In(lang))) < 2 {
					t.Errorf("%s (%s): fewer than two paragraphs", a.ID, lang)
				}
				if strings.ContainsAny(a.Body.In(lang), "<>") {
					t.Errorf("%s (%s): markup in the body", a.ID, lang)
				}
			}
		}
	}
	if n != h.Len() {
		t.Errorf("sections hold %d articles of %d", n, h.Len())
	}
	if h.Get("no-such-article") != nil {
		t.Error("an unknown id found")
	}
	// Every topic of the help has an answer.
	for _, id := range []string{"register", "account-levels", "standard-level", "confirm-bank", "confirm-in-person", "confirm-esign",
		"confirm-letter", "sign-in", "forgot-password", "locked-out", "lost-phone", "apply", "application-statuses", "more-information",
		"charges", "fine-discount", "receipts", "payment-failed", "book-appointment", "reschedule-appointment", "notifications", "support"} {
		if h.Get(id) == nil {
			t.Errorf("no article %s", id)
		}
	}
}

const good = `
sections:
  - id: s
    title: {ru: Раздел, en: Section}
articles:
  - id: a
    section: s
    title: {ru: Статья, en: Article}
    keywords: [слово]
    body: {ru: Текст., en: Text.}
    links:
      - {href: /charges, title: {ru: Начисления, en: Charges}}
      - {href: /account/confirm, idp: true, title: {ru: Подтвердить, en: Confirm}}
`

// The loader refuses every kind of broken article, naming it and the field.
func TestParseRejects(t *testing.T) {
	if _, err := Parse([]byte(good)); err != nil {
		t.Fatalf("the good file: %v", err)
	}
	for _, c := range []struct{ name, from, to, want string }{
		{"duplicate id", "articles:\n", "articles:\n  - {id: a, section: s, title: {ru: Т, en: T}, keywords: [к], body: {ru: Т, en: T}}\n", "article a: given twice"},
		{"no English title", "en: Article}", "en: \"\"}", "article a: title: the English text is missing"},
		{"no Russian body", "ru: Текст.", "ru: \" \"", "article a: body: the Russian text is missing"},
		{"unknown section", "section: s", "section: x", `section "x" is not listed`},
		{"no keywords", "keywords: [слово]", "keywords: []", "article a: keywords"},
		{"empty keyword", "keywords: [слово]", "keywords: [слово, \"\"]", "article a: keywords"},
		{"absolute URL", "href: /charges", "href: https://evil.example/", "article a: link 1: href"},
		{"another host", "href: /charges", "href: //evil.example", "article a: link 1: href"},
		{"script", "href: /charges", "href: \"javascript:alert(1)\"", "article a: link 1: href"},
		{"link title", "title: {ru: Подтвердить, en: Confirm}", "title: {ru: Подтвердить}", "article a: link 2: title: the English text is missing"},
		{"bad id", "id: a\n", "id: A b\n", "article 1: the id must be a slug"},
		{"unknown field", "keywords:", "tags: [x]\n    keywords:", "field tags not found"},
		{"empty section", "articles:\n", "  - {id: t, title: {ru: Т, en: T}}\narticles:\n", "section t: no articles"},
	} {
		_, err := Parse([]byte(strings.Replace(good, c.from, c.to, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := Parse([]byte("sections: []\narticles: []\n")); err == nil {
		t.Error("an empty help accepted")
	}
}

// What citizens type finds the right answer first: inflected forms, a
// typo, a transliteration, and English.
func TestSearch(t *testing.T) {
	h, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ q, want string }{
		{"забыл пароль", "forgot-password"},
		{"восстановление пароля", "forgot-password"}, // inflected
		{"пасворд", "forgot-password"},               // a typo of «пассворд»
		{"вход заблокирован", "locked-out"},          // word order
		{"как зарегистрироватся", "register"},        // a typo in a long word
		{"подтвердить личность через банк", "confirm-bank"},
		{"подтверждение личности в МФЦ", "confirm-in-person"},
		{"заказным письмом", "confirm-letter"},
		{"стандартную учётную запись", "standard-level"},
		{"скидка на штраф", "fine-discount"},
		{"квитанцию об оплате", "receipts"},
		{"оплата не прошла", "payment-failed"},
		{"перенести запись", "reschedule-appointment"},
		{"потерял телефон", "lost-phone"},
		{"ведомство запросило дополнительные сведения", "more-information"},
		{"двухфакторная аутентификация", "two-step"}, // the other name, a keyword
		{"forgot password", "forgot-password"},
		{"book a visit", "book-appointment"},
	} {
		rs := h.Search(c.q, 3)
		if len(rs) == 0 || rs[0].Article.ID != c.want {
			var got []string
			for _, r := range rs {
				got = append(got, r.Article.ID)
			}
			t.Errorf("%q found %v, want %s first", c.q, got, c.want)
		}
	}
	if rs := h.Search("космодром", 0); len(rs) != 0 {
		t.Errorf("a word no article has found %d", len(rs))
	}
	if rs := h.Search("", 0); len(rs) != 0 {
		t.Errorf("an empty query found %d", len(rs))
	}
	if rs := h.Search("уведомления", 2); len(rs) != 2 {
		t.Errorf("limit 2 gave %d", len(rs))
	}
	// The order is total: the same query, the same order.
	a, b := h.Search("заявление", 0), h.Search("заявление", 0)
	if !slices.Equal(a, b) || len(a) < 3 {
		t.Errorf("%d results, or the order changed", len(a))
	}
}

func TestBlocks(t *testing.T) {
	got := Blocks("Первый абзац,\nпродолжение.\n\n- один\n-  два\n\n\n- три\nне пункт\n\n<b>нет</b>\n")
	want := []Block{
		{Text: "Первый абзац, продолжение."},
		{Items: []string{"один", "два"}},
		{Text: "- три не пункт"},
		{Text: "<b>нет</b>"}, // plain text: the template escapes it
	}
	if !slices.EqualFunc(got, want, func(a, b Block) bool { return a.Text == b.Text && slices.Equal(a.Items, b.Items) }) {
		t.Errorf("Blocks: %q, want %q", got, want)
	}
	if len(Blocks(" \n\n \r\n")) != 0 {
		t.Error("blank text gave blocks")
	}
}

// FuzzSearch: a query of any text neither panics nor takes long, and
// every article found holds an article.
func FuzzSearch(f *testing.F) {
	h, err := Load()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"забыл пароль", "пасворд", "book a visit", "", "ё-моё 2-НДФЛ", strings.Repeat("а", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		start := time.Now()
		for _, r := range h.Search(q, 3) {
			if r.Article == nil || h.Get(r.Article.ID) != r.Article {
				t.Fatalf("%q found a stray article", q)
			}
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("%q took %v", q, d)
		}
	})
}

// FuzzBlocks: any body splits into blocks without empty ones.
func FuzzBlocks(f *testing.F) {
	f.Add("a\n\n- b\n- c")
	f.Add("- \n-\n\n\r\n")
	f.Fuzz(func(t *testing.T, body string) {
		for _, b := range Blocks(body) {
			if b.Text == "" && len(b.Items) == 0 {
				t.Fatalf("%q: an empty block", body)
			}
			for _, it := range b.Items {
				if it == "" {
					t.Fatalf("%q: an empty item", body)
				}
			}
		}
	})
}
