package portal

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHomeLanguages(t *testing.T) {
	h, err := New(Config{IdPURL: "http://idp.example"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tc := range []struct {
		query, acceptLang, want string
	}{
		{"", "", "Войти через Gosid"},
		{"", "en-GB,en;q=0.9", "Sign in with Gosid"},
		{"?lang=en", "ru", "Sign in with Gosid"},
		{"?lang=ru", "en", "Войти через Gosid"},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/"+tc.query, nil)
		if tc.acceptLang != "" {
			req.Header.Set("Accept-Language", tc.acceptLang)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(b.String(), tc.want) || !strings.Contains(b.String(), `href="http://idp.example"`) {
			t.Errorf("GET /%s (Accept-Language %q): status %d, body lacks %q or the IdP link", tc.query, tc.acceptLang, resp.StatusCode, tc.want)
		}
	}
	resp, err := http.Get(srv.URL + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	resp.Body.Close()
	// The portal's own branded page, not Go's plain text.
	if resp.StatusCode != 404 || !strings.Contains(b.String(), "Страница не найдена") || !strings.Contains(b.String(), "/static/portal.css") {
		t.Errorf("GET /nope: %d, want the portal's 404 page\n%s", resp.StatusCode, b.String())
	}
}
