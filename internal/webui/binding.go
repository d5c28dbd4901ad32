package webui

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/gosid/gosid/internal/bearer"
)

// Binding ties a flow that leaves for another site and comes back — an
// OpenID Connect relying party's state, sent to a provider and returned
// in the callback's address — to the browser that started it. Without it
// the address alone finishes the flow in whatever browser opens it: an
// attacker starts a sign-in, signs in at the provider as themselves, and
// sends the callback's address to a victim, whose browser is then signed
// in to the attacker's account (login CSRF, RFC 6749 §10.12), and what the
// victim types or uploads there is the attacker's to read.
//
// The browser keeps a random value in a cookie; the flow keeps its hash
// (Begin) and the callback compares it with the hash of the cookie it
// brought (Of, Same). The cookie is SameSite=Lax, which browsers send on
// the top-level GET that brings the callback back from the provider.
type Binding struct {
	// Name is the cookie's name (CookieName adds HostPrefix when Secure).
	Name   string
	Secure bool
	// TTL is how long the cookie lives; at least the flow's lifetime.
	TTL time.Duration
}

// Begin returns the hash a new flow keeps: of the browser's binding
// cookie, which is set (or its lifetime renewed) on w. A browser with
// several flows at once (two tabs) keeps one value for all of them.
func (b Binding) Begin(w http.ResponseWriter, r *http.Request) []byte {
	value, hash := b.value(r)
	if hash == nil {
		value, _ = bearer.New()
		hash = bindingHash(value)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName(b.Name, b.Secure), Value: value, Path: "/", MaxAge: int(b.TTL.Seconds()),
		HttpOnly: true, Secure: b.Secure, SameSite: http.SameSiteLaxMode})
	return hash
}

// Of returns the hash of r's binding cookie, nil without one.
func (b Binding) Of(r *http.Request) []byte {
	_, hash := b.value(r)
	return hash
}

// value is r's well-formed binding cookie and its hash, nil without one.
func (b Binding) value(r *http.Request) (string, []byte) {
	c, err := r.Cookie(CookieName(b.Name, b.Secure))
	if err != nil {
		return "", nil
	}
	if !bearer.Valid(c.Value) {
		return "", nil
	}
	return c.Value, bindingHash(c.Value)
}

// bindingHash is what a flow keeps of its browser's binding: apart from
// the stored hashes of tokens (bearer.Hash), so that the one can never
// stand for the other.
func bindingHash(value string) []byte {
	sum := sha256.Sum256([]byte("gosid browser binding|" + value))
	return sum[:]
}

// SameBrowser reports whether a callback's hash (Of) is the one its flow
// kept (Begin), in constant time; never for a flow that kept none.
func SameBrowser(kept, got []byte) bool {
	return len(kept) == sha256.Size && subtle.ConstantTimeCompare(kept, got) == 1
}
