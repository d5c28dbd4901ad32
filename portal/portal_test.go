package portal

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
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

// TestFailOutage: a page whose database did not answer (an exhausted pool,
// a refused connection) answers 503 with Retry-After, which a browser and
// the soak's citizens wait out; any other failure stays a 500.
func TestFailOutage(t *testing.T) {
	h, err := New(Config{IdPURL: "http://idp.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("list applications: %w", sqldb.ErrPoolTimeout), http.StatusServiceUnavailable},
		{fmt.Errorf("list applications: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), http.StatusServiceUnavailable},
		{errors.New("service of application: not in the catalogue"), http.StatusInternalServerError},
		{fmt.Errorf("draft: %w", sqldb.ErrConflict), http.StatusInternalServerError},
	} {
		rec := httptest.NewRecorder()
		h.fail(rec, httptest.NewRequest("GET", "/applications", nil), tc.err)
		retry := rec.Header().Get("Retry-After")
		if rec.Code != tc.want || (tc.want == http.StatusServiceUnavailable) != (retry != "") {
			t.Errorf("%v: %d, Retry-After %q; want %d", tc.err, rec.Code, retry, tc.want)
		}
	}
}
