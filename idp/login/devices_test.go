package login

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestDevicesSweepAndForget: a remembered device is trusted for its
// account and IP until it expires; Sweep deletes only expired rows; Forget
// drops every device of one account and none of another's.
func TestDevicesSweepAndForget(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db, nil)
		a, other := e.newAccount(t, goodPassword), e.newAccount(t, goodPassword)
		remember := func(id string) *http.Request {
			t.Helper()
			w := httptest.NewRecorder()
			if err := e.devices.Remember(ctx, w, id, "203.0.113.7", "Firefox"); err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/login", nil)
			for _, c := range w.Result().Cookies() {
				r.AddCookie(c)
			}
			return r
		}
		count := func() int {
			t.Helper()
			var n int
			if err := db.QueryRow(ctx, `SELECT count(*) FROM trusted_devices`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		old := remember(a.ID)
		e.Clock.Advance(20 * 24 * time.Hour)
		young, others := remember(a.ID), remember(other.ID)
		if !e.devices.Trusted(ctx, old, a.ID, "203.0.113.7") || e.devices.Trusted(ctx, old, a.ID, "198.51.100.1") || e.devices.Trusted(ctx, old, other.ID, "203.0.113.7") {
			t.Fatal("trust is not bound to the account and the IP")
		}
		if n, err := e.devices.Sweep(ctx); err != nil || n != 0 || count() != 3 {
			t.Fatalf("sweep before any expiry: %d %v, %d rows", n, err, count())
		}
		e.Clock.Advance(10 * 24 * time.Hour)
		if e.devices.Trusted(ctx, old, a.ID, "203.0.113.7") {
			t.Fatal("an expired device is trusted")
		}
		if n, err := e.devices.Sweep(ctx); err != nil || n != 1 || count() != 2 {
			t.Fatalf("sweep after 30 days: %d %v, %d rows", n, err, count())
		}
		if err := e.devices.Forget(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if e.devices.Trusted(ctx, young, a.ID, "203.0.113.7") || !e.devices.Trusted(ctx, others, other.ID, "203.0.113.7") {
			t.Fatal("Forget dropped the wrong devices")
		}
	})
}
