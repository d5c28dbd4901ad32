package webui

import (
	"context"
	"net/http"
)

// HostPrefix is the cookie-name prefix with which browsers accept a cookie
// only when it is Secure, has Path=/ and no Domain, and was set by this
// very host over HTTPS (RFC 6265bis §4.1.3.2). A sibling subdomain or a
// man in the middle on plain HTTP can then neither plant nor overwrite it
// (cookie tossing: session fixation, a flow swapped for the attacker's).
const HostPrefix = "__Host-"

// CookieName is the name under which a cookie of the IdP is set and read:
// name itself on plain HTTP (development), HostPrefix + name when the IdP is
// served over HTTPS (secure: the public URL is https). Every reader and
// writer of a cookie takes its name from here with the same flag it uses
// for the Secure attribute, so that they agree; the cookie must be set with
// Path=/, no Domain and Secure when secure.
func CookieName(name string, secure bool) string {
	if secure {
		return HostPrefix + name
	}
	return name
}

type secureKey struct{}

// withSecure marks ctx as a request to an IdP served over HTTPS, for the
// readers that see only the request (Lang).
func withSecure(ctx context.Context, secure bool) context.Context {
	return context.WithValue(ctx, secureKey{}, secure)
}

// secureRequest reports what RememberLang recorded about r; false outside it.
func secureRequest(r *http.Request) bool {
	s, _ := r.Context().Value(secureKey{}).(bool)
	return s
}
