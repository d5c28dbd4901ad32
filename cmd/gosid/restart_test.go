package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestSignInAcrossDatabaseRestart (issue 11, point 22): while PostgreSQL
// is down a right password is not called wrong and nothing is counted
// toward a lock-out; once it is back the same password signs in.
func TestSignInAcrossDatabaseRestart(t *testing.T) {
	ctx := context.Background()
	cluster := sqldbtest.Restartable(t)
	db, err := sqldb.Open(ctx, sqldb.Config{URL: cluster.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := sqldbtest.NewClock(time.Now())
	idp := startIdP(t, db, newMasterKey(t), c)
	b := newBrowser(t, idp)
	b.register("phone", "+79101110901", "+79101110901", "Перезапусков", "Иван")
	b.post("/logout", nil).expectRedirect(t, "/login")

	cluster.Stop()
	for range 4 {
		p := b.post("/login", url.Values{"login": {"+79101110901"}, "password": {goodPassword}})
		if p.Status != 503 || strings.Contains(p.Body, "Неверный логин или пароль") {
			t.Fatalf("the right password with the database down: %d %q, want 503", p.Status, firstError(p.Body))
		}
	}
	cluster.Start()
	deadline := time.Now().Add(15 * time.Second)
	for db.Ping(ctx) != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	b.post("/login", url.Values{"login": {"+79101110901"}, "password": {goodPassword}}).expectRedirect(t, "/account")
}
