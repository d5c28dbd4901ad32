package webui

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/sqldb"
)

// TestErrorPages: an unknown address and a wrong method get the branded
// page in the citizen's language (405 keeps its Allow header), as do
// refusals of the middleware; matched routes are untouched.
func TestErrorPages(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "account") })
	mux.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "posted") })
	srv := httptest.NewServer(Protect(WithErrorPages(mux, nil)))
	defer srv.Close()
	get := func(method, path, lang string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		if method == http.MethodPost {
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	for _, tc := range []struct {
		method, path, lang string
		status             int
		want               string
	}{
		{"GET", "/nowhere", "", 404, "Страница не найдена"},
		{"GET", "/nowhere", "en", 404, "Page not found"},
		{"DELETE", "/account", "", 405, "Действие недоступно"},
		{"PUT", "/account", "en-GB", 405, "Action not available"},
		{"POST", "/form", "", 403, "Запрос отклонён"},
		{"POST", "/form", "en", 403, "Request refused"},
	} {
		status, h, body := get(tc.method, tc.path, tc.lang)
		if status != tc.status || !strings.Contains(body, tc.want) || !strings.HasPrefix(h.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, "<!doctype html>") {
			t.Errorf("%s %s (%s): %d %q, want %d with %q", tc.method, tc.path, tc.lang, status, body, tc.status, tc.want)
		}
		if status == 405 && !strings.Contains(h.Get("Allow"), "GET") {
			t.Errorf("405 without Allow: %v", h)
		}
	}
	if status, _, body := get("GET", "/account", ""); status != 200 || body != "account" {
		t.Errorf("matched route: %d %q", status, body)
	}
}

// TestErrorPageRequestID: a 500 shows the request id to quote to support.
func TestErrorPageRequestID(t *testing.T) {
	rec := httptest.NewRecorder()
	h := httpx.Wrap("test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ErrorPage(w, r, http.StatusInternalServerError) }), httpx.Options{})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set(httpx.RequestIDHeader, "req-500-abc")
	h.ServeHTTP(rec, req)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "Внутренняя ошибка") || !strings.Contains(rec.Body.String(), "req-500-abc") {
		t.Fatalf("500 page: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	ErrorPage(rec, httptest.NewRequest("GET", "/", nil), http.StatusServiceUnavailable)
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("503 page: %d %v", rec.Code, rec.Header())
	}
}

// TestErrorPageSupportLink: a renderer whose owner set a support link
// offers «Сообщить о проблеме» on its error pages; the shared pages (the
// identity provider's) offer none.
func TestErrorPageSupportLink(t *testing.T) {
	r, err := NewRenderer(noPages, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.SetSupportLink("/support/new")
	rec := httptest.NewRecorder()
	r.ErrorPage(rec, httptest.NewRequest("GET", "/nowhere", nil), http.StatusNotFound)
	if !strings.Contains(rec.Body.String(), `<a href="/support/new">Сообщить о проблеме</a>`) {
		t.Fatalf("404 page without the support link:\n%s", rec.Body)
	}
	rec = httptest.NewRecorder()
	ErrorPage(rec, httptest.NewRequest("GET", "/nowhere", nil), http.StatusNotFound)
	if strings.Contains(rec.Body.String(), "Сообщить о проблеме") {
		t.Fatal("the shared error page links to a support form")
	}
}

// TestFailUnavailable: a page whose store could not be reached answers
// 503 with Retry-After and says nothing was lost; another failure stays
// a 500 with the page's own text.
func TestFailUnavailable(t *testing.T) {
	r, err := NewRenderer(noPages, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		err    error
		status int
		text   string
	}{
		{fmt.Errorf("load the flow: %w", sqldb.ErrPoolTimeout), http.StatusServiceUnavailable, "введённые данные не потеряны"},
		{fmt.Errorf("read: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), http.StatusServiceUnavailable, "введённые данные не потеряны"},
		{errors.New("a template broke"), http.StatusInternalServerError, "Что-то пошло не так"},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/x", nil)
		v := errorView{Page: r.NewPage(req, "error.500")}
		r.Fail(rec, req, log, errorPage, &v, &v.Page, "error.500.text", "test", tc.err)
		if rec.Code != tc.status || (tc.status == http.StatusServiceUnavailable) != (rec.Header().Get("Retry-After") != "") ||
			!strings.Contains(v.Error, tc.text) {
			t.Errorf("%v: %d Retry-After %q, error %q", tc.err, rec.Code, rec.Header().Get("Retry-After"), v.Error)
		}
	}
}

// TestPanicAndRenderFailurePages: a handler that panics, and a page whose
// template fails as it runs, answer the branded 500 in the citizen's
// language with the request id to quote — not Go's plain text.
func TestPanicAndRenderFailurePages(t *testing.T) {
	broken, err := NewRenderer(fstest.MapFS{"templates/broken.html": {Data: []byte(`{{define "content"}}{{.Missing.Field}}{{end}}`)}},
		nil, slog.New(slog.DiscardHandler), "broken")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "half=written")
		panic("a bug")
	})
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		broken.Render(w, r, http.StatusOK, "broken", struct{ Missing *struct{ Field string } }{})
	})
	h := httpx.Wrap("test", mux, httpx.Options{Logger: slog.New(slog.DiscardHandler), ErrorPage: ErrorPage})
	for _, tc := range []struct{ path, lang, want string }{
		{"/panic", "", "Внутренняя ошибка"}, {"/panic", "en", "Internal error"},
		{"/broken", "", "Внутренняя ошибка"}, {"/broken", "en", "Internal error"},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", tc.path, nil)
		req.Header.Set(httpx.RequestIDHeader, "req-panic-1")
		if tc.lang != "" {
			req.Header.Set("Accept-Language", tc.lang)
		}
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != 500 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(body, "<!doctype html>") ||
			!strings.Contains(body, tc.want) || !strings.Contains(body, "req-panic-1") || rec.Header().Get("Set-Cookie") != "" {
			t.Errorf("%s (%s): %d %v\n%s", tc.path, tc.lang, rec.Code, rec.Header(), body)
		}
	}
	// Without the option, httpx stays plain.
	rec := httptest.NewRecorder()
	httpx.Wrap("test", mux, httpx.Options{Logger: slog.New(slog.DiscardHandler)}).ServeHTTP(rec, httptest.NewRequest("GET", "/panic", nil))
	if rec.Code != 500 || rec.Body.String() != "Internal Server Error\n" {
		t.Errorf("plain 500: %d %q", rec.Code, rec.Body)
	}
}
