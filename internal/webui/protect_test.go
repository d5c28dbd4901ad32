package webui

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestProtectBypass: a cross-site POST is refused unless its path is one
// the caller exempted (endpoints that take no cookie).
func TestProtectBypass(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := Protect(ok, "/oauth/token", "/userinfo")
	for path, want := range map[string]int{"/oauth/token": 204, "/userinfo": 204, "/oauth/token/x": 403, "/authorize/consent": 403, "/login": 403} {
		r := httptest.NewRequest(http.MethodPost, "http://id.example"+path, nil)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Origin", "https://evil.example")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("cross-site POST %s: %d, want %d", path, w.Code, want)
		}
	}
}
