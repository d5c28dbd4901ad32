package client_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestRedirectOrigin(t *testing.T) {
	for uri, want := range map[string]string{
		"https://spa.example/cb":            "https://spa.example",
		"https://SPA.Example:443/cb?x=1":    "https://spa.example",
		"https://spa.example:8443/a/b":      "https://spa.example:8443",
		"http://127.0.0.1:9/cb":             "http://127.0.0.1:9",
		"http://localhost:80/cb":            "http://localhost",
		"http://[::1]:8080/cb":              "http://[::1]:8080",
		"ru.gosid.app:/oauth2redirect":      "",
		"com.example.app://callback":        "",
		"https://user@spa.example/cb":       "",
		"not a url":                         "",
		"https:///nohost":                   "",
		"javascript://spa.example/%0aalert": "",
	} {
		got, ok := client.RedirectOrigin(uri)
		if got != want || ok != (want != "") {
			t.Errorf("RedirectOrigin(%q) = %q, %v; want %q", uri, got, ok, want)
		}
	}
	c := client.Client{RedirectURIs: []string{"https://a.example/1", "https://a.example/2", "https://b.example:8443/cb", "ru.app:/cb"}}
	if got := c.RedirectOrigins(); !slices.Equal(got, []string{"https://a.example", "https://b.example:8443"}) {
		t.Errorf("RedirectOrigins = %v", got)
	}
}

func TestHasRedirectOrigin(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := client.NewStore(db, nil)
		cache := client.NewCache(st, 0)
		spa := client.Client{Name: "SPA", AuthMethod: client.AuthNone, RedirectURIs: []string{"https://SPA.example/cb", "https://spa_x.example:8443/cb"},
			Scopes: []string{"openid"}, GrantTypes: []string{client.GrantAuthorizationCode}}
		if _, _, err := st.Create(ctx, spa); err != nil {
			t.Fatal(err)
		}
		for origin, want := range map[string]bool{
			"https://spa.example":           true,
			"https://spa_x.example:8443":    true,
			"https://spa.example:8443":      false,
			"https://spa.example.evil":      false,
			"https://spaxx.example:8443":    false, // _ is not a LIKE wildcard here
			"http://spa.example":            false,
			"https://evil.example":          false,
			"null":                          false,
			"%":                             false,
			"https://spa.example/cb":        false,
			"https://spa.example/cb\"":      false,
			"https://spa.example\"]":        false,
			"https://spa_x.example:8443/cb": false,
		} {
			for name, has := range map[string]func(context.Context, string) (bool, error){"store": st.HasRedirectOrigin, "cache": cache.HasRedirectOrigin} {
				got, err := has(ctx, origin)
				if err != nil || got != want {
					t.Errorf("%s HasRedirectOrigin(%q) = %v, %v; want %v", name, origin, got, err, want)
				}
			}
		}
	})
}
