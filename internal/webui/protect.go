package webui

import (
	"net/http"
)

// Protect refuses cross-origin state-changing requests (Go's
// http.CrossOriginProtection: Sec-Fetch-Site, then Origin against Host).
// Safe methods pass. Forms of our own pages are same-origin and pass.
// Requests matching a bypass pattern (http.ServeMux syntax) pass too: they
// are for endpoints that no cookie authenticates (an OAuth client's token
// requests from a browser app), where a cross-site request carries nothing
// a forger could abuse.
func Protect(next http.Handler, bypass ...string) http.Handler {
	cop := http.NewCrossOriginProtection()
	for _, p := range bypass {
		cop.AddInsecureBypassPattern(p)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ErrorPage(w, r, http.StatusForbidden)
	}))
	return cop.Handler(next)
}
