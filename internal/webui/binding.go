package webui

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"time"
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

// bindingLen is the length of a binding cookie's value: 32 random bytes,
// unpadded base64url.
const bindingLen = 43

// Begin returns the hash a new flow keeps: of the browser's binding
// cookie, which is set (or its lifetime renewed) on w. A browser with
// several flows at once (two tabs) keeps one value for all of them.
func (b Binding) Begin(w http.ResponseWriter, r *http.Request) []byte {
	value := b.value(r)
	if value == "" {
		raw := make([]byte, 32)
		_, _ = rand.Read(raw) // crypto/rand.Read never fails (Go 1.24+)
		value = base64.RawURLEncoding.EncodeToString(raw)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName(b.Name, b.Secure), Value: value, Path: "/", MaxAge: int(b.TTL.Seconds()),
		HttpOnly: true, Secure: b.Secure, SameSite: http.SameSiteLaxMode})
	return bindingHash(value)
}

// Of returns the hash of r's binding cookie, nil without one.
func (b Binding) Of(r *http.Request) []byte {
	if v := b.value(r); v != "" {
		return bindingHash(v)
	}
	return nil
}

// value is r's well-formed binding cookie, "" without one.
func (b Binding) value(r *http.Request) string {
	c, err := r.Cookie(CookieName(b.Name, b.Secure))
	if err != nil || len(c.Value) != bindingLen {
		return ""
	}
	if _, err := base64.RawURLEncoding.DecodeString(c.Value); err != nil {
		return ""
	}
	return c.Value
}

func bindingHash(value string) []byte {
	sum := sha256.Sum256([]byte("gosid browser binding|" + value))
	return sum[:]
}

// SameBrowser reports whether a callback's hash (Of) is the one its flow
// kept (Begin), in constant time; never for a flow that kept none.
func SameBrowser(kept, got []byte) bool {
	return len(kept) == sha256.Size && subtle.ConstantTimeCompare(kept, got) == 1
}
