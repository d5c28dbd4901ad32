package oidc

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzBearerToken: whatever a client sends to userinfo, taking the token
// never panics, never takes it from the query string, and returns a token
// exactly when the request carries one in the Authorization header or in
// a form body, not both.
func FuzzBearerToken(f *testing.F) {
	f.Add("GET", "Bearer abc", "", "")
	f.Add("POST", "", "access_token=abc", "")
	f.Add("POST", "Bearer abc", "access_token=abc", "")
	f.Add("GET", "", "", "access_token=abc")
	f.Add("POST", "bearer  x y", "access_token=&access_token=b", "a=%zz")
	f.Add("GET", "Basic eDp5", "", "")
	f.Fuzz(func(t *testing.T, method, header, body, query string) {
		if method != "GET" && method != "POST" {
			method = "POST"
		}
		if strings.ContainsAny(header, "\r\n\x00") {
			return // not a header a client can send
		}
		r := httptest.NewRequest(method, "/userinfo", strings.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		token, err := bearerToken(r)
		if err != nil {
			if token != "" {
				t.Fatalf("an error with a token: %v", err)
			}
			return
		}
		if token == "" {
			t.Fatal("no error and no token")
		}
		if q, _ := url.ParseQuery(query); q.Has("access_token") {
			t.Fatalf("a token taken while the query string has one: %q", query)
		}
		if scheme, rest, _ := strings.Cut(header, " "); strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(rest) != token {
			t.Fatalf("a Bearer header %q but the token %q (from the body?)", header, token)
		}
	})
}
