package webui

import (
	"net/http"
	"net/url"
	"strings"
)

// maxNext bounds a return address: ours are short paths with a query.
const maxNext = 2048

// SafeNext returns next when it is a path on this site, and "" otherwise,
// so that no page taking a return address (?next=, a hidden form field, a
// flow's stored target) can be used as an open redirect.
//
// Browsers do not read a Location the way Go's url package does: they drop
// tabs and line breaks anywhere, strip leading control characters and
// spaces, and treat a backslash as a slash, so "/\t/evil.example/" is
// "//evil.example/" to Chromium, another host. SafeNext therefore accepts
// only printable ASCII without backslashes, requires exactly one leading
// slash, and checks the parsed URL has neither scheme nor host. Every
// caller uses this one function (and RedirectNext), never its own check.
func SafeNext(next string) string {
	if next == "" || len(next) > maxNext || next[0] != '/' {
		return ""
	}
	for i := 0; i < len(next); i++ {
		c := next[i]
		if c <= ' ' || c >= 0x7f || c == '\\' {
			return ""
		}
	}
	if len(next) > 1 && next[1] == '/' {
		return "" // scheme-relative: //host/path
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	return next
}

// RedirectNext sends the browser to next when it is safe (SafeNext), else
// to home, with 303 See Other.
func RedirectNext(w http.ResponseWriter, r *http.Request, next, home string) {
	if next = SafeNext(next); next == "" {
		next = home
	}
	Redirect(w, r, next)
}
