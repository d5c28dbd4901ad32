package webui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCookieName(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secure bool
		want   string
	}{
		{"gosid_session", false, "gosid_session"},
		{"gosid_session", true, "__Host-gosid_session"},
		{"gosid_flow_mfa", true, "__Host-gosid_flow_mfa"},
		{LangCookie, true, "__Host-gosid_lang"},
	} {
		if got := CookieName(tc.name, tc.secure); got != tc.want {
			t.Errorf("CookieName(%q, %v) = %q, want %q", tc.name, tc.secure, got, tc.want)
		}
	}
}

// TestLanguageCookieUnderTLS: served over HTTPS, ?lang=en sets
// __Host-gosid_lang (Secure, Path=/, no Domain) and the next page reads it;
// a plain gosid_lang cookie, which a sibling subdomain could plant, is not
// read. On plain HTTP the cookie keeps its plain name.
func TestLanguageCookieUnderTLS(t *testing.T) {
	for _, tc := range []struct {
		secure      bool
		name, other string
	}{{false, "gosid_lang", "__Host-gosid_lang"}, {true, "__Host-gosid_lang", "gosid_lang"}} {
		h := RememberLang(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, Lang(r))
		}), tc.secure)

		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/login?lang=en", nil))
		out := w.Result().Cookies()
		if len(out) != 1 || out[0].Name != tc.name || out[0].Value != "en" || out[0].Secure != tc.secure || out[0].Path != "/" || out[0].Domain != "" {
			t.Fatalf("secure=%v: Set-Cookie %q, want %s=en; Path=/; Secure=%v", tc.secure, w.Header().Get("Set-Cookie"), tc.name, tc.secure)
		}

		r := httptest.NewRequest("GET", "/login", nil)
		r.AddCookie(out[0])
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Body.String() != "en" {
			t.Errorf("secure=%v: %s=en read as %q", tc.secure, tc.name, w.Body.String())
		}

		r = httptest.NewRequest("GET", "/login", nil)
		r.AddCookie(&http.Cookie{Name: tc.other, Value: "en"})
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Body.String() != "ru" {
			t.Errorf("secure=%v: a cookie named %s was read (%q)", tc.secure, tc.other, w.Body.String())
		}
	}
}
