package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestSessionsPage: two devices signed in; the first sees both and ends
// the other, which is signed out at its next request.
func TestSessionsPage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		idp, _ := startOP(t, db, sqldbtest.NewClock(time.Now()))
		a := newBrowser(t, idp)
		a.register("phone", "+79121110001", "+79121110001", "Сеансов", "Иван")
		b := newBrowser(t, idp)
		b.post("/login", url.Values{"login": {"+79121110001"}, "password": {goodPassword}}).expectRedirect(t, "/account")
		p := a.get("/account/sessions")
		if p.Status != 200 || strings.Count(p.Body, "<tr>")-1 != 2 || !strings.Contains(p.Body, "это устройство") {
			t.Fatalf("sessions page: %d, %d rows", p.Status, strings.Count(p.Body, "<tr>")-1)
		}
		m := regexp.MustCompile(`name="id" value="([^"]+)"><button type="submit" class="link">`).FindStringSubmatch(p.Body)
		if m == nil {
			t.Fatal("no end button for the other session")
		}
		a.post("/account/sessions/end", url.Values{"id": {m[1]}}).expectRedirect(t, "/account/sessions")
		b.get("/account").expectRedirect(t, "/login")
		if p := a.get("/account"); p.Status != 200 {
			t.Fatalf("the current session ended too: %d", p.Status)
		}
	})
}

// TestRevokeGrant: revoking a site's access refuses its refresh token at
// once, sends it a back-channel logout, and the next sign-in asks again.
func TestRevokeGrant(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		idp, _, parts := startOPParts(t, db, c)
		var mu sync.Mutex
		var got []string
		rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got = append(got, r.PostFormValue("logout_token"))
			mu.Unlock()
		}))
		defer rp.Close()
		cl, secret, err := client.NewStore(db, time.Now).Create(ctx, client.Client{Name: "Магазин «Пример»", AuthMethod: "client_secret_basic",
			RedirectURIs: []string{"http://127.0.0.1:9/cb"}, BackchannelLogoutURI: rp.URL + "/bcl",
			Scopes: []string{"openid", "fullname", "offline_access"}, GrantTypes: []string{"authorization_code", "refresh_token"}})
		if err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t, idp)
		b.register("phone", "+79121110002", "+79121110002", "Грантов", "Пётр")
		verifier, challenge := pkce()
		q := url.Values{"client_id": {cl.ID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "response_type": {"code"}, "scope": {"openid fullname offline_access"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		cb := authorize(t, b, q)
		tr := tokenRequest(t, idp.URL, cl.ID, secret, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")},
			"redirect_uri": {"http://127.0.0.1:9/cb"}, "code_verifier": {verifier}})
		if tr.RefreshToken == "" {
			t.Fatalf("no refresh token: %+v", tr)
		}
		apps := b.get("/account/apps")
		if apps.Status != 200 || !strings.Contains(apps.Body, "Магазин «Пример»") || !strings.Contains(apps.Body, "Фамилия, имя и отчество") {
			t.Fatalf("apps page: %d", apps.Status)
		}
		b.post("/account/apps/revoke", url.Values{"client_id": {cl.ID}, "confirm": {"yes"}}).expectRedirect(t, "/account/apps?done=1")
		if again := tokenRequest(t, idp.URL, cl.ID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}}); again.Status == 200 {
			t.Fatal("the refresh token survived the revoked grant")
		}
		deliverLogouts(t, parts, 1, func() int { mu.Lock(); defer mu.Unlock(); return len(got) })
		mu.Lock()
		if len(got) != 1 || got[0] == "" {
			t.Fatalf("the site received %d logout tokens", len(got))
		}
		mu.Unlock()
		// Consent is asked again.
		p := b.get("/authorize?" + q.Encode())
		p = b.get(p.Location)
		if !strings.HasPrefix(p.Location, "/authorize/consent") {
			t.Fatalf("after revocation the next sign-in went to %q, want the consent page", p.Location)
		}
	})
}

// TestChangePassword: the current password is required, the policy
// applies, other sessions end, the owner is told, and only the new
// password signs in.
func TestChangePassword(t *testing.T) {
	db := sqldbtest.SQLite(t)
	idp, _ := startOP(t, db, sqldbtest.NewClock(time.Now()))
	a := newBrowser(t, idp)
	a.register("phone", "+79121110003", "+79121110003", "Паролев", "Иван")
	other := newBrowser(t, idp)
	other.post("/login", url.Values{"login": {"+79121110003"}, "password": {goodPassword}}).expectRedirect(t, "/account")
	const newPassword = "Hq8&tRe5!nWb"
	for _, tc := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"current_password": {"Wrong#Pass1"}, "password": {newPassword}, "password_confirm": {newPassword}}, "current_password-err"},
		{url.Values{"current_password": {goodPassword}, "password": {"short"}, "password_confirm": {"short"}}, "password-err"},
		{url.Values{"current_password": {goodPassword}, "password": {newPassword}, "password_confirm": {newPassword + "x"}}, "password_confirm-err"},
	} {
		if p := a.post("/account/password", tc.form); p.Status != 422 || !strings.Contains(p.Body, `id="`+tc.field+`"`) {
			t.Fatalf("bad change: %d, want an error for %s", p.Status, tc.field)
		}
	}
	p := a.post("/account/password", url.Values{"current_password": {goodPassword}, "password": {newPassword}, "password_confirm": {newPassword}})
	if p.Status != 200 || !strings.Contains(p.Body, "Пароль изменён") {
		t.Fatalf("change: %d", p.Status)
	}
	if p := a.get("/account"); p.Status != 200 {
		t.Fatalf("this session ended: %d", p.Status)
	}
	other.get("/account").expectRedirect(t, "/login")
	if msgs := a.messages("+79121110003"); len(msgs) == 0 || msgs[0].Kind != "notice.password_changed" {
		t.Fatalf("owner not notified: %+v", msgs)
	}
	fresh := newBrowser(t, idp)
	if p := fresh.post("/login", url.Values{"login": {"+79121110003"}, "password": {goodPassword}}); p.Status != 401 {
		t.Fatalf("the old password still works: %d", p.Status)
	}
	fresh.post("/login", url.Values{"login": {"+79121110003"}, "password": {newPassword}}).expectRedirect(t, "/account")
}
