package legal

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDocuments: both documents answer in Russian by default and in
// English on request, link to each other, name their edition, and carry
// the shared layout's footer links.
func TestDocuments(t *testing.T) {
	h, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tc := range []struct{ path, want, other string }{
		{"/terms", "<h1>Пользовательское соглашение</h1>", `href="/privacy"`},
		{"/terms?lang=en", "<h1>User agreement</h1>", `href="/privacy"`},
		{"/privacy", "<h1>Политика обработки персональных данных</h1>", `href="/terms"`},
		{"/privacy?lang=en", "<h1>Personal data processing policy</h1>", `href="/terms"`},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		if resp.StatusCode != 200 || !strings.Contains(body, tc.want) || !strings.Contains(body, tc.other) || !strings.Contains(body, Version) {
			t.Errorf("GET %s: %d\n%.600s", tc.path, resp.StatusCode, body)
		}
		en := strings.HasSuffix(tc.path, "lang=en")
		if strings.Contains(body, "152-ФЗ") == en && strings.HasPrefix(tc.path, "/privacy") {
			t.Errorf("GET %s: the other language's text", tc.path)
		}
		if strings.Count(body, `href="/terms"`) < 1 || strings.Count(body, `href="/privacy"`) < 1 {
			t.Errorf("GET %s: footer links missing", tc.path)
		}
	}
}
