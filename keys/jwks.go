package keys

import "net/http"

// JWKSHandler serves the public signing keys (the issuer's jwks_uri) from
// memory. Relying parties may cache them for a while: a new key is
// published a whole token lifetime before it signs. Browser apps checking
// ID tokens may read them too (CORS *: they are public).
func (m *Manager) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(m.JSON())
	})
}
