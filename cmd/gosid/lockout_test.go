package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestLockoutIsNoWeapon (issue 11, point 5): an attacker who types wrong
// passwords every half hour keeps password sign-in locked, but gets the
// owner at most three lock notices a day, and the owner still signs in
// with the password and a code sent to their phone.
func TestLockoutIsNoWeapon(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := sqldbtest.NewClock(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
		idp := startIdP(t, db, newMasterKey(t), c)
		owner := newBrowser(t, idp)
		owner.register("phone", "+79101110501", "+79101110501", "Осаждённый", "Иван")
		owner.post("/logout", nil).expectRedirect(t, "/login")

		attacker := newBrowser(t, idp)
		for round := 0; round < 5; round++ {
			for range 3 {
				attacker.post("/login", url.Values{"login": {"+79101110501"}, "password": {"Wrong#Pass9"}})
			}
			c.Advance(31 * time.Minute)
		}
		// Locked again, right now.
		for range 3 {
			attacker.post("/login", url.Values{"login": {"+79101110501"}, "password": {"Wrong#Pass9"}})
		}
		if p := owner.post("/login", url.Values{"login": {"+79101110501"}, "password": {goodPassword}}); p.Status != 401 {
			t.Fatalf("the right password during the lock: %d", p.Status)
		}
		if n := countKind(owner.messages("+79101110501"), "notice.locked"); n != 3 {
			t.Fatalf("%d lock notices after 6 locks in three hours, want 3", n)
		}

		// The owner's way in: a code to the phone, then the current password.
		owner.post("/recover", url.Values{"login": {"+79101110501"}}).expectRedirect(t, "/recover/code")
		owner.post("/recover/code", url.Values{"code": {owner.latestCode("+79101110501", "code.recover")}}).expectRedirect(t, "/recover/password")
		owner.post("/recover/signin", url.Values{"current_password": {goodPassword}}).expectRedirect(t, "/account")
		if p := owner.get("/account"); p.Status != 200 || !strings.Contains(p.Body, "Осаждённый") {
			t.Fatalf("the owner is not in: %d", p.Status)
		}
		// The lock is lifted: the password alone works again.
		owner.post("/logout", nil).expectRedirect(t, "/login")
		owner.post("/login", url.Values{"login": {"+79101110501"}, "password": {goodPassword}}).expectRedirect(t, "/account")
	})
}
