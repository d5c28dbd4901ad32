package keys_test

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestJWKSHandler: the issuer's jwks_uri serves the published keys as
// JSON, cacheable and readable by browser apps.
func TestJWKSHandler(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		m := mustOpen(t, db, newMaster(t), options(newClock()))
		rec := httptest.NewRecorder()
		m.JWKSHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/keys", nil))
		h := rec.Header()
		if rec.Code != 200 || h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "public, max-age=300" ||
			h.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("GET /keys: %d %v", rec.Code, h)
		}
		if !bytes.Equal(rec.Body.Bytes(), m.JSON()) || !bytes.Contains(rec.Body.Bytes(), []byte(`"keys"`)) {
			t.Fatalf("GET /keys body %s, want the manager's JWKS", rec.Body)
		}
	})
}
