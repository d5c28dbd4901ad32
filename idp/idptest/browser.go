package idptest

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/session"
)

// Browser is a cookie-keeping client of a Server that does not follow
// redirects. Its state-changing requests carry what a browser sends with a
// form of the site's own page: Origin and Sec-Fetch-Site: same-origin.
type Browser struct {
	srv    *Server
	Client *http.Client
	// origin is the site the browser's forms come from ("" for the
	// server's own).
	origin string
	// Lang, when set, is sent as Accept-Language.
	Lang string
	// Token is the session cookie set by SignIn.
	Token string
}

// Browser returns a fresh browser with an empty cookie jar.
func (s *Server) Browser() *Browser {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &Browser{srv: s, Client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// CrossSite is the same browser (cookies shared) posting a form that a
// page of origin (another site) holds.
func (b *Browser) CrossSite(origin string) *Browser {
	c := *b
	c.origin = origin
	return &c
}

// SignIn gives the browser a session of the account authenticated with amr
// ("pwd" when none) at the clock's time, as the sign-in page would.
func (b *Browser) SignIn(t testing.TB, accountID string, amr ...string) {
	t.Helper()
	if len(amr) == 0 {
		amr = []string{"pwd"}
	}
	token, _, err := b.srv.Env.Sessions.Create(context.Background(), accountID, amr, time.Time{}, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	b.SetCookie(session.DefaultCookieName, token)
	b.Token = token
}

// Session is the browser's session (after SignIn).
func (b *Browser) Session(t testing.TB) *session.Session {
	t.Helper()
	s, err := b.srv.Env.Sessions.Lookup(context.Background(), b.Token)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// SetCookie stores a cookie for the server's site.
func (b *Browser) SetCookie(name, value string) {
	u, _ := url.Parse(b.srv.URL) // httptest's URL parses
	b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// Cookie returns the value of the browser's cookie name for the site, or "".
func (b *Browser) Cookie(name string) string {
	u, _ := url.Parse(b.srv.URL)
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// Answer is a response, read.
type Answer struct {
	Status   int
	Location string
	Header   http.Header
	Body     string
}

// Do sends a request; body with its content type when contentType is set.
func (b *Browser) Do(t testing.TB, method, path, contentType, body string) Answer {
	t.Helper()
	var rd io.Reader
	if body != "" || contentType != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if b.Lang != "" {
		req.Header.Set("Accept-Language", b.Lang)
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		req.Header.Set("Sec-Fetch-Site", "none")
	default:
		if b.origin == "" {
			req.Header.Set("Origin", b.srv.URL)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		} else {
			req.Header.Set("Origin", b.origin)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Answer{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Header: resp.Header, Body: string(raw)}
}

// Get loads a page.
func (b *Browser) Get(t testing.TB, path string) Answer {
	t.Helper()
	return b.Do(t, http.MethodGet, path, "", "")
}

// Post submits a form (an empty one when form is nil).
func (b *Browser) Post(t testing.TB, path string, form url.Values) Answer {
	t.Helper()
	return b.Do(t, http.MethodPost, path, "application/x-www-form-urlencoded", form.Encode())
}

// PostJSON sends a JSON body, as the pages' scripts do.
func (b *Browser) PostJSON(t testing.TB, path, body string) Answer {
	t.Helper()
	return b.Do(t, http.MethodPost, path, "application/json", body)
}

// Form sends form with method (a nil form sends no body).
func (b *Browser) Form(t testing.TB, method, path string, form url.Values) Answer {
	t.Helper()
	if form == nil {
		return b.Do(t, method, path, "", "")
	}
	return b.Do(t, method, path, "application/x-www-form-urlencoded", form.Encode())
}

// Expect fails the test unless the answer has status and location ("" for
// none).
func (a Answer) Expect(t testing.TB, status int, location string) {
	t.Helper()
	if a.Status != status || a.Location != location {
		t.Fatalf("got %d → %q, want %d → %q\n%.1500s", a.Status, a.Location, status, location, a.Body)
	}
}

var (
	fieldErrRe = regexp.MustCompile(`<p class="ferr" id="([^"]+)-err">([^<]*)</p>`)
	alertRe    = regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`)
	noticeRe   = regexp.MustCompile(`<p class="notice"[^>]*>([^<]*)</p>`)
)

// FieldErrors maps each field the page marks invalid to its message.
func (a Answer) FieldErrors() map[string]string {
	out := map[string]string{}
	for _, m := range fieldErrRe.FindAllStringSubmatch(a.Body, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

// FieldError is the message under the field name, or "".
func (a Answer) FieldError(name string) string { return a.FieldErrors()[name] }

// Alert is the page's error (the alert above the form), or "".
func (a Answer) Alert() string {
	if m := alertRe.FindStringSubmatch(a.Body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// Notice is the page's notice, or "".
func (a Answer) Notice() string {
	if m := noticeRe.FindStringSubmatch(a.Body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// Has reports whether the page's text (HTML entities decoded) contains s.
func (a Answer) Has(s string) bool { return strings.Contains(html.UnescapeString(a.Body), s) }

// Find returns re's first group in the page, or fails the test.
func (a Answer) Find(t testing.TB, re *regexp.Regexp) string {
	t.Helper()
	m := re.FindStringSubmatch(a.Body)
	if m == nil {
		t.Fatalf("%v not in the page (%d):\n%.2000s", re, a.Status, a.Body)
	}
	return m[1]
}
