package notice

import (
	"github.com/gosid/gosid/internal/message"

	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzContactNoticeData: whatever the values of the contact-change notice
// (the masked contact comes from the citizen's input, the link from our
// public URL), rendering either refuses a missing value or gives one-line
// SMS text without control characters, values cut to their bounds (the link
// to maxLink, never to maxValue), and an HTML part whose button cannot run
// script.
func FuzzContactNoticeData(f *testing.F) {
	tmpl := loadTemplates(f)
	f.Add("phone", "+7 916 ***-**-33", "https://id.gosuslugi.example.ru/account/undo?token="+strings.Repeat("A", 43), "7")
	f.Add("email", "i***@mail.ru", "javascript:alert(1)", "1")
	f.Add("email", "<b>\r\n\u202e", "https://x/\x00\n?token=1", "21")
	f.Fuzz(func(t *testing.T, field, value, link, days string) {
		data := map[string]string{"field": field, "value": value, "link": link, "days": days}
		clean := cleanData(data)
		for k, v := range clean {
			limit := maxValue
			if k == "link" {
				limit = maxLink
			}
			if utf8.RuneCountInString(v) > limit {
				t.Fatalf("%s cleaned to %d runes, over %d", k, utf8.RuneCountInString(v), limit)
			}
			if strings.ContainsFunc(v, unicode.IsControl) {
				t.Fatalf("%s keeps a control character: %q", k, v)
			}
		}
		if l := strings.Join(strings.Fields(strings.Map(func(r rune) rune {
			if unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Bidi_Control, r) {
				return ' '
			}
			return r
		}, link)), " "); utf8.RuneCountInString(l) <= maxLink && clean["link"] != l {
			t.Fatalf("a link of %d runes was cut: %q → %q", utf8.RuneCountInString(l), l, clean["link"])
		}
		for _, lang := range langs {
			for _, ch := range []message.Channel{message.SMS, message.Email} {
				r, err := tmpl.Render(Message{Channel: ch, Kind: KindNoticeContactChanged, Lang: lang, Data: data})
				blank := false
				for _, v := range data {
					blank = blank || strings.TrimSpace(v) == ""
				}
				if blank {
					if err == nil {
						t.Fatalf("rendered with a blank value: %+v", data)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s %s: %v", lang, ch, err)
				}
				if ch == message.SMS && strings.ContainsFunc(r.Text, unicode.IsControl) {
					t.Fatalf("SMS with a control character: %q", r.Text)
				}
				if strings.Contains(strings.ToLower(r.HTML), `href="javascript`) {
					t.Fatalf("a script link in the HTML part: %s", r.HTML)
				}
			}
		}
	})
}
