package notice

import (
	"github.com/gosid/gosid/internal/message"

	"errors"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

var allData = map[string]string{"remaining": "9",
	"code": "987654", "minutes": "5", "time": "02.01.2026 15:04 МСК",
	"ip": "203.0.113.7", "device": "Firefox, Windows", "field": "phone", "value": "+7 916 ***-**-33", "date": "22.12.2026",
	"days": "7", "link": "https://id.gosuslugi.example.ru/account/undo?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "bank": "Sberbank",
	"office": "MFC Khamovniki", "reason": "the data differ from the documents",
}

func isCodeKind(kind string) bool { return strings.HasPrefix(kind, "code.") }

func TestRenderEveryKindAndLanguage(t *testing.T) {
	tmpl := loadTemplates(t)
	sixDigits := regexp.MustCompile(`\d{6}`)
	tags := regexp.MustCompile(`<[^>]*>`)
	for kind := range kinds {
		for _, lang := range []string{"ru", "en", "", "en-GB"} {
			for _, ch := range []message.Channel{message.SMS, message.Email} {
				m := Message{Channel: ch, To: "x", Kind: kind, Lang: lang, Data: allData}
				r, err := tmpl.Render(m)
				if err != nil {
					t.Fatalf("%s %s %s: %v", kind, lang, ch, err)
				}
				all := []string{r.Subject, r.Text, tags.ReplaceAllString(r.HTML, " ")}
				joined := strings.Join(all, "\n")
				switch {
				case isCodeKind(kind):
					if !strings.Contains(r.Text, "987654") || (ch == message.Email && !strings.Contains(r.HTML, "987654")) {
						t.Errorf("%s %s %s: code missing:\n%s", kind, lang, ch, joined)
					}
					if strings.Contains(r.Subject, "987654") {
						t.Errorf("%s %s: the subject carries the code", kind, lang)
					}
				case sixDigits.MatchString(joined):
					t.Errorf("%s %s %s: a notice contains a six-digit run:\n%s", kind, lang, ch, joined)
				}
				if !strings.Contains(joined, "Gosid") {
					t.Errorf("%s %s %s: does not name Gosid", kind, lang, ch)
				}
				wantRu := normLang(lang) == "ru"
				if hasCyrillic(r.Text) != wantRu {
					t.Errorf("%s %s %s: wrong language: %q", kind, lang, ch, r.Text)
				}
				if ch == message.SMS && (r.Subject != "" || r.HTML != "" || strings.Contains(r.Text, "\n")) {
					t.Errorf("%s %s: SMS is not one line of text: %+v", kind, lang, r)
				}
				if ch == message.Email && (r.Subject == "" || !strings.HasPrefix(r.HTML, "<!DOCTYPE html>")) {
					t.Errorf("%s %s: e-mail lacks subject or HTML", kind, lang)
				}
				if strings.Contains(joined, "<no value>") {
					t.Errorf("%s %s %s: unfilled value", kind, lang, ch)
				}
			}
		}
	}
}

func hasCyrillic(s string) bool { return strings.ContainsAny(s, "аеиоуы") }

const gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// smsSegments counts SMS segments: GSM-7 (160, 153 per part) or UCS-2 (70,
// 67 per part).
func smsSegments(s string) (segments int, ucs2 bool) {
	for _, r := range s {
		if !strings.ContainsRune(gsm7, r) {
			ucs2 = true
		}
	}
	single, part, n := 160, 153, utf8.RuneCountInString(s)
	if ucs2 {
		single, part, n = 70, 67, len(utf16.Encode([]rune(s)))
	}
	if n <= single {
		return 1, ucs2
	}
	return int(math.Ceil(float64(n) / float64(part))), ucs2
}

func TestSMSLength(t *testing.T) {
	tmpl := loadTemplates(t)
	// English texts must stay in GSM-7, so their sample data does too.
	with := func(kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range allData {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	samples := map[string][]map[string]string{
		"ru": {allData, with("device", strings.Repeat("Очень длинное название браузера ", 10))},
		"en": {with("time", "02.01.2026 15:04 MSK"),
			with("time", "02.01.2026 15:04 MSK", "device", strings.Repeat("Very long browser name ", 10))},
	}
	for kind := range kinds {
		for _, lang := range langs {
			for _, data := range samples[lang] {
				r, err := tmpl.Render(Message{Channel: message.SMS, Kind: kind, Lang: lang, Data: data})
				if err != nil {
					t.Fatal(err)
				}
				segs, ucs2 := smsSegments(r.Text)
				t.Logf("%s %s: %d chars, %d segment(s): %s", lang, kind, utf8.RuneCountInString(r.Text), segs, r.Text)
				if lang == "en" && ucs2 {
					t.Errorf("%s %s: English SMS leaves GSM-7: %q", lang, kind, r.Text)
				}
				limit := 2
				if isCodeKind(kind) {
					limit = 1 // a code must arrive in one piece
				}
				if slices.Contains(kinds[kind], "link") {
					limit = 3 // a link (public URL and token) cannot be shortened
				}
				if segs > limit {
					t.Errorf("%s %s: %d segments > %d: %q", lang, kind, segs, limit, r.Text)
				}
			}
		}
	}
}

func TestRenderErrors(t *testing.T) {
	tmpl := loadTemplates(t)
	if _, err := tmpl.Render(Message{Channel: message.SMS, Kind: KindCodeRegister, Data: map[string]string{"minutes": "5"}}); err == nil {
		t.Error("code kind without a code rendered")
	}
	if _, err := tmpl.Render(Message{Channel: message.SMS, Kind: "code.nonsense", Data: allData}); err == nil {
		t.Error("unknown kind rendered")
	}
	if _, err := tmpl.Render(Message{Channel: "pigeon", Kind: KindCodeRegister, Data: allData}); !errors.Is(err, message.ErrChannelUnavailable) {
		t.Errorf("unknown channel: %v", err)
	}
}

func TestRenderCleansData(t *testing.T) {
	tmpl := loadTemplates(t)
	data := map[string]string{"time": "02.01.2026 15:04", "ip": "203.0.113.7",
		"device": "<script>alert(1)</script>\r\nВаш код 000000\u202e"}
	r, err := tmpl.Render(Message{Channel: message.Email, Kind: KindNoticeNewDevice, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<script>") || !strings.Contains(r.HTML, "&lt;script&gt;") {
		t.Error("device not escaped in the HTML part")
	}
	if strings.Contains(r.Text, "</script>\r\n") || strings.Contains(r.Text, "\u202e") {
		t.Errorf("control characters kept: %q", r.Text)
	}
	sms, err := tmpl.Render(Message{Channel: message.SMS, Kind: KindNoticeNewDevice, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sms.Text, "000000") {
		t.Errorf("SMS carries the whole client-supplied device name: %q", sms.Text)
	}
}

// TestLinkKeptWhole: a link is never cut like other values (a cut link
// does not work), yet its control characters go like theirs.
func TestLinkKeptWhole(t *testing.T) {
	tmpl := loadTemplates(t)
	link := "https://id.gosuslugi.example.ru/account/undo?token=" + strings.Repeat("A", 43)
	data := map[string]string{"field": "email", "value": "i***@mail.ru", "days": "7", "link": link + "\r\n"}
	for _, lang := range langs {
		for _, ch := range []message.Channel{message.SMS, message.Email} {
			r, err := tmpl.Render(Message{Channel: ch, Kind: KindNoticeContactChanged, Lang: lang, Data: data})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.Text, link) || strings.Contains(r.Text, link+"\r") {
				t.Errorf("%s %s: link not whole or not cleaned: %q", lang, ch, r.Text)
			}
			if ch == message.Email && !strings.Contains(r.HTML, `href="`+link+`"`) {
				t.Errorf("%s: the HTML part has no button to the link:\n%s", lang, r.HTML)
			}
		}
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[string]string{"1": "минуту", "21": "минуту", "11": "минут", "2": "минуты",
		"4": "минуты", "12": "минут", "5": "минут", "15": "минут", "22": "минуты", "x": "минут"} {
		if got := pluralRu(n, "минуту", "минуты", "минут"); got != want {
			t.Errorf("pluralRu(%s) = %s, want %s", n, got, want)
		}
	}
	if pluralEn("1", "minute", "minutes") != "minute" || pluralEn("21", "minute", "minutes") != "minutes" {
		t.Error("pluralEn")
	}
}
