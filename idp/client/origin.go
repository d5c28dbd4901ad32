package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/gosid/gosid/internal/sqldb"
)

// Origins of redirect URIs are what CORS is allowed for: a browser app
// (a single-page app, a public client) runs on the origin it is sent back
// to, and calls the token, userinfo and revocation endpoints from there.

// RedirectOrigin returns the Web origin (RFC 6454) of a redirect URI as a
// browser sends it in Origin: scheme://host with the port only when it is
// not the scheme's default. URIs of other schemes (native apps' private-use
// schemes) have none.
func RedirectOrigin(uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" || u.User != nil {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		return scheme + "://" + host, true
	}
	return scheme + "://" + host + ":" + port, true
}

// RedirectOrigins lists the distinct origins of the client's redirect URIs.
func (c *Client) RedirectOrigins() []string {
	var out []string
	for _, uri := range c.RedirectURIs {
		if o, ok := RedirectOrigin(uri); ok && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// HasRedirectOrigin reports whether some client has a redirect URI at
// origin. A CORS preflight names no client (it carries neither a body nor
// credentials), so this is all it can be answered by.
func (s *Store) HasRedirectOrigin(ctx context.Context, origin string) (bool, error) {
	// LIKE narrows the scan to rows that mention the origin at the start of
	// a JSON string; the exact test is on the parsed URIs.
	esc := strings.NewReplacer(`!`, `!!`, `%`, `!%`, `_`, `!_`).Replace(strings.ToLower(origin))
	rows, err := s.db.Query(ctx, `SELECT redirect_uris FROM clients WHERE lower(redirect_uris) LIKE $1 ESCAPE '!'`, `%"`+esc+`%`)
	if err != nil {
		return false, fmt.Errorf("clients by redirect origin: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return false, sqldb.Classify(err)
		}
		c := Client{}
		if err := json.Unmarshal([]byte(raw), &c.RedirectURIs); err != nil {
			return false, fmt.Errorf("clients by redirect origin: stored list: %w", err)
		}
		if slices.Contains(c.RedirectOrigins(), origin) {
			return true, nil
		}
	}
	return false, sqldb.Classify(rows.Err())
}

// HasRedirectOrigin is Store.HasRedirectOrigin; it is not cached (the
// answer would have to be invalidated by every client's change).
func (c *Cache) HasRedirectOrigin(ctx context.Context, origin string) (bool, error) {
	return c.store.HasRedirectOrigin(ctx, origin)
}
