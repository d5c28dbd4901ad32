package portal

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The help pages are public: a portal without sign-in serves them, in both
// languages, with the identity provider's links made absolute and what a
// visitor types escaped.
func TestHelpPages(t *testing.T) {
	h, err := New(Config{IdPURL: "http://idp.example/"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		path   string
		status int
		want   []string
		not    []string
	}{
		{"/help", 200, []string{"Вход и безопасность", `href="/help/forgot-password"`, `href="/support/new"`, `action="/help"`}, nil},
		{"/help?lang=en", 200, []string{"Signing in and security", "Forgot your password"}, []string{"Забыли пароль"}},
		{"/help?q=%D0%BF%D0%B0%D1%80%D0%BE%D0%BB%D1%8F", 200, []string{"Найдено ответов", `href="/help/forgot-password"`}, nil}, // «пароля»
		{"/help?q=%D0%BA%D0%BE%D1%81%D0%BC%D0%BE%D0%B4%D1%80%D0%BE%D0%BC", 200, []string{"Ничего не нашлось", "Вход и безопасность"}, nil},
		{"/help?q=%3Cscript%3Ealert(1)%3C/script%3E", 200, []string{"&lt;script&gt;"}, []string{"<script>alert"}},
		{"/help/forgot-password", 200, []string{"Забыли пароль", "<li>На странице входа", `href="http://idp.example/recover"`, `href="/support/new"`, "Вход заблокирован"}, []string{"idp.example//"}},
		{"/help/forgot-password?lang=en", 200, []string{"Forgot your password", "Write to support"}, nil},
		{"/help/charges", 200, []string{`href="/charges"`, `href="/documents"`}, nil},
		{"/help/no-such-answer", 404, []string{"Страница не найдена", "/static/portal.css"}, nil},
		{"/", 200, []string{`href="/help"`}, nil},
	} {
		status, body := get(c.path)
		if status != c.status {
			t.Errorf("GET %s: %d, want %d", c.path, status, c.status)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s lacks %q", c.path, w)
			}
		}
		for _, n := range c.not {
			if strings.Contains(body, n) {
				t.Errorf("GET %s has %q", c.path, n)
			}
		}
	}
}
