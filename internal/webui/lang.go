package webui

import (
	"net/http"
	"strings"
)

// LangCookie remembers the chosen language; its name is
// CookieName(LangCookie, secure).
const LangCookie = "gosid_lang"

// Lang picks the page language: ?lang=, then ui_locales (OpenID Connect),
// then the language cookie (named as RememberLang names it), then
// Accept-Language; Russian by default.
func Lang(r *http.Request) string {
	q := r.URL.Query()
	if l := supported(q.Get("lang")); l != "" {
		return l
	}
	for _, tag := range strings.Fields(q.Get("ui_locales")) {
		if l := supported(tag); l != "" {
			return l
		}
	}
	if c, err := r.Cookie(CookieName(LangCookie, secureRequest(r))); err == nil {
		if l := supported(c.Value); l != "" {
			return l
		}
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(part, ";")
		if l := supported(tag); l != "" {
			return l
		}
	}
	return "ru"
}

func supported(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	switch {
	case tag == "ru" || strings.HasPrefix(tag, "ru-"):
		return "ru"
	case tag == "en" || strings.HasPrefix(tag, "en-"):
		return "en"
	}
	return ""
}

// RememberLang stores an explicit ?lang= choice in a cookie so that the
// next pages (and the POST after a form) keep it. secure says the IdP is
// served over HTTPS: the cookie is then Secure and named with HostPrefix.
// Lang, which sees only the request, learns the flag from the request's
// context, which RememberLang sets: so it passes a copy of the request on,
// and must therefore wrap httpx.Wrap rather than sit between it and
// the ServeMux (Wrap reads the route from the very request the mux saw).
func RememberLang(next http.Handler, secure bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l := supported(r.URL.Query().Get("lang")); l != "" {
			http.SetCookie(w, &http.Cookie{Name: CookieName(LangCookie, secure), Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
		}
		next.ServeHTTP(w, r.WithContext(withSecure(r.Context(), secure)))
	})
}
