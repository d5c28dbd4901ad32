package notice

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strconv"
	"strings"
	texttemplate "text/template"
	"unicode"
	"unicode/utf8"

	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/webui"
)

//go:embed templates
var templateFS embed.FS

// langs are the languages every kind has texts in; the first is the default.
var langs = []string{"ru", "en"}

// Templates holds every message text, parsed at start-up. It is safe for
// concurrent use.
type Templates struct {
	byKey map[string]*kindTemplates // "ru/code.register"
}

type kindTemplates struct {
	text *texttemplate.Template // blocks "sms", "subject", "text"
	html *htmltemplate.Template // the e-mail layout with block "content"
}

// view is what message templates see.
type view struct {
	Lang    string
	Subject string            // e-mail only, for the HTML <title>
	Data    map[string]string // cleaned Message.Data
}

// LoadTemplates parses the embedded templates of every kind in every
// language and renders each once with sample data, so that a missing or
// broken template fails start-up rather than a sign-in.
//
// Each language directory holds, per kind, KIND.txt (text/template with the
// blocks "sms", "subject" and "text") and KIND.html (html/template with the
// block "content", placed into layout.html), plus common.txt and common.html
// with shared blocks.
func LoadTemplates() (*Templates, error) {
	t := &Templates{byKey: map[string]*kindTemplates{}}
	funcs := map[string]any{
		"pluralRu": pluralRu,
		"pluralEn": pluralEn,
		"short":    short,
	}
	for _, lang := range langs {
		for kind := range kinds {
			txt, err := texttemplate.New(kind).Funcs(funcs).Option("missingkey=error").
				ParseFS(templateFS, "templates/"+lang+"/common.txt", "templates/"+lang+"/"+kind+".txt")
			if err != nil {
				return nil, fmt.Errorf("message templates: %s/%s: %w", lang, kind, err)
			}
			html, err := htmltemplate.New("layout.html").Funcs(funcs).Option("missingkey=error").
				ParseFS(templateFS, "templates/layout.html", "templates/"+lang+"/common.html", "templates/"+lang+"/"+kind+".html")
			if err != nil {
				return nil, fmt.Errorf("message templates: %s/%s: %w", lang, kind, err)
			}
			for _, block := range []string{"sms", "subject", "text"} {
				if txt.Lookup(block) == nil {
					return nil, fmt.Errorf("message templates: %s/%s.txt lacks block %q", lang, kind, block)
				}
			}
			if html.Lookup("content") == nil {
				return nil, fmt.Errorf("message templates: %s/%s.html lacks block \"content\"", lang, kind)
			}
			t.byKey[lang+"/"+kind] = &kindTemplates{text: txt, html: html}
		}
	}
	// Every file in a language directory must belong to a known kind, so
	// that a misspelt file name is not silently ignored.
	for _, lang := range langs {
		entries, err := fs.ReadDir(templateFS, "templates/"+lang)
		if err != nil {
			return nil, fmt.Errorf("message templates: %w", err)
		}
		for _, e := range entries {
			name := strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".txt"), ".html")
			if _, ok := kinds[name]; !ok && name != "common" {
				return nil, fmt.Errorf("message templates: %s/%s belongs to no kind", lang, e.Name())
			}
		}
	}
	sample := map[string]string{"code": "123456", "minutes": "5", "time": "02.01.2026 15:04", "ip": "203.0.113.7", "device": "Firefox, Windows", "remaining": "9",
		"field": "phone", "value": "+7 916 ***-**-33", "date": "22.12.2026", "days": "7", "bank": "СберБанк",
		"office": "МФЦ района Хамовники", "reason": "данные не совпадают с документами",
		"link": "https://id.gosuslugi.example.ru/account/undo?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
	for kind := range kinds {
		for _, lang := range langs {
			for _, ch := range []message.Channel{message.SMS, message.Email} {
				r, err := t.Render(Message{Channel: ch, Kind: kind, Lang: lang, Data: sample})
				if err != nil {
					return nil, fmt.Errorf("message templates: %s/%s: %w", lang, kind, err)
				}
				if r.Text == "" || (ch == message.Email && (r.Subject == "" || r.HTML == "")) {
					return nil, fmt.Errorf("message templates: %s/%s renders empty for %s", lang, kind, ch)
				}
			}
		}
	}
	return t, nil
}

// Render produces m's text for m.Channel in m.Lang. It fails when the kind
// is unknown or Data lacks a value the kind needs. Data values are cleaned
// first: control characters become spaces and each value is cut to 100
// characters, because some (the device name) come from the client. A
// "link" is the caller's own address of a page and is not cut (a cut link
// does not work), only bounded.
// Render does not check the recipient; senders do.
func (t *Templates) Render(m Message) (message.Message, error) {
	need, ok := kinds[m.Kind]
	if !ok {
		return message.Message{}, fmt.Errorf("unknown message kind %q", m.Kind)
	}
	for _, k := range need {
		if strings.TrimSpace(m.Data[k]) == "" {
			return message.Message{}, fmt.Errorf("message kind %s needs data %q", m.Kind, k)
		}
	}
	lang := normLang(m.Lang)
	kt := t.byKey[lang+"/"+m.Kind]
	v := view{Lang: lang, Data: cleanData(m.Data)}
	out := message.Message{Channel: m.Channel, To: m.To, Kind: m.Kind, Lang: lang}
	switch m.Channel {
	case message.SMS:
		text, err := execText(kt.text, "sms", v)
		if err != nil {
			return message.Message{}, err
		}
		out.Text = text
		return out, nil
	case message.Email:
		subject, err := execText(kt.text, "subject", v)
		if err != nil {
			return message.Message{}, err
		}
		v.Subject = subject
		text, err := execText(kt.text, "text", v)
		if err != nil {
			return message.Message{}, err
		}
		var buf bytes.Buffer
		if err := kt.html.Execute(&buf, v); err != nil {
			return message.Message{}, fmt.Errorf("render %s/%s HTML: %w", lang, m.Kind, err)
		}
		out.Subject, out.Text, out.HTML = subject, text, buf.String()
		return out, nil
	default:
		return message.Message{}, fmt.Errorf("%w: %q", message.ErrChannelUnavailable, m.Channel)
	}
}

func execText(t *texttemplate.Template, block string, v view) (string, error) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, v); err != nil {
		return "", fmt.Errorf("render %s/%s %s: %w", v.Lang, t.Name(), block, err)
	}
	out := strings.TrimSpace(buf.String())
	if block != "text" {
		// SMS and subjects are one line.
		out = strings.Join(strings.Fields(out), " ")
	}
	return out, nil
}

func normLang(lang string) string {
	if strings.HasPrefix(strings.ToLower(lang), "en") {
		return "en"
	}
	return "ru"
}

const (
	maxValue = 100
	// maxLink bounds a link: the public URL, a path and a token.
	maxLink = 1024
)

func cleanData(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		v = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Bidi_Control, r) {
				return ' '
			}
			return r
		}, v)
		n := maxValue
		if k == "link" {
			n = maxLink
		}
		out[k] = short(n, strings.Join(strings.Fields(v), " "))
	}
	return out
}

// short cuts s to at most n characters, marking a cut with "..." (not
// "…", which is not in the GSM-7 alphabet and would turn an English SMS into
// UCS-2).
func short(n int, s string) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-3])) + "..."
}

// pluralEn picks the English form for count n.
func pluralEn(n string, one, many string) string {
	if n == "1" {
		return one
	}
	return many
}

// pluralRu picks the Russian form for count n (webui.PluralRu).
func pluralRu(n string, one, few, many string) string {
	i, err := strconv.Atoi(n)
	if err != nil {
		return many
	}
	return webui.PluralRu(i, one, few, many)
}
