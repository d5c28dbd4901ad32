package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestSessionEndRevokesTokens: every way a session ends at Gosid — the
// sign-out button, RP-initiated logout, ending it in the account centre,
// a password change (the other sessions) and a recovery (all of them) —
// revokes the tokens issued in it: its access tokens stop working at
// userinfo and introspection and its refresh tokens are refused, while the
// tokens of the account's other sessions keep working.
func TestSessionEndRevokesTokens(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		idp, _ := startOP(t, db, sqldbtest.NewClock(time.Now()))
		const redirect = "http://127.0.0.1:9/cb"
		cl, secret, err := client.NewStore(db, time.Now).Create(ctx, client.Client{Name: "Сайт", AuthMethod: "client_secret_basic",
			RedirectURIs: []string{redirect}, PostLogoutRedirectURIs: []string{"http://127.0.0.1:9/bye"}, FirstParty: true,
			Scopes: []string{"openid", "fullname", "offline_access"}, GrantTypes: []string{"authorization_code", "refresh_token"}})
		if err != nil {
			t.Fatal(err)
		}
		const phone = "+79121110077"
		password := goodPassword
		first := newBrowser(t, idp)
		first.register("phone", phone, phone, "Токенов", "Иван")
		signIn := func() *browser {
			b := newBrowser(t, idp)
			b.post("/login", url.Values{"login": {phone}, "password": {password}}).expectRedirect(t, "/account")
			return b
		}
		tokens := func(b *browser) tokenResponse {
			t.Helper()
			verifier, challenge := pkce()
			cb := authorize(t, b, url.Values{"client_id": {cl.ID}, "redirect_uri": {redirect}, "response_type": {"code"},
				"scope": {"openid fullname offline_access"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}})
			tr := tokenRequest(t, idp.URL, cl.ID, secret, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")},
				"redirect_uri": {redirect}, "code_verifier": {verifier}})
			if tr.Status != 200 || tr.RefreshToken == "" {
				t.Fatalf("tokens: %+v", tr)
			}
			return tr
		}
		// works reports whether the access token works at userinfo and
		// introspection and the refresh token still refreshes; a refresh
		// rotates it, so tr is updated.
		works := func(tr *tokenResponse) (access, refresh bool) {
			t.Helper()
			req, _ := http.NewRequest("GET", idp.URL+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			req, _ = http.NewRequest("POST", idp.URL+"/oauth/introspect", strings.NewReader(url.Values{"token": {tr.AccessToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(cl.ID, secret)
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			_ = json.NewDecoder(r.Body).Decode(&m)
			r.Body.Close()
			ui, in := resp.StatusCode == 200, m["active"] == true
			if ui != in {
				t.Errorf("userinfo %d but introspection active=%v", resp.StatusCode, in)
			}
			next := tokenRequest(t, idp.URL, cl.ID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}})
			if next.Status == 200 {
				tr.RefreshToken = next.RefreshToken
			}
			return ui && in, next.Status == 200
		}
		wantRevoked := func(what string, tr tokenResponse) {
			t.Helper()
			if access, refresh := works(&tr); access || refresh {
				t.Errorf("%s: access token works %v, refresh token works %v; want both revoked", what, access, refresh)
			}
		}
		wantWorking := func(what string, tr *tokenResponse) {
			t.Helper()
			if access, refresh := works(tr); !access || !refresh {
				t.Errorf("%s: access token works %v, refresh token works %v; want both working", what, access, refresh)
			}
		}

		keep := tokens(first)
		wantWorking("fresh tokens", &keep)

		// The sign-out button.
		b := signIn()
		tr := tokens(b)
		b.post("/logout", nil).expectRedirect(t, "/login")
		wantRevoked("after signing out at Gosid", tr)
		wantWorking("the other session's, after signing out at Gosid", &keep)

		// RP-initiated logout with the session's ID token.
		b = signIn()
		tr = tokens(b)
		if p := b.get("/oauth/logout?" + url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {"http://127.0.0.1:9/bye"}}.Encode()); p.Status != 302 {
			t.Fatalf("RP-initiated logout: %d %q", p.Status, p.Location)
		}
		wantRevoked("after RP-initiated logout", tr)
		wantWorking("the other session's, after RP-initiated logout", &keep)

		// Ended from another device in the account centre.
		b = signIn()
		tr = tokens(b)
		page := first.get("/account/sessions")
		ids := regexp.MustCompile(`name="id" value="([^"]+)"><button type="submit" class="link">`).FindAllStringSubmatch(page.Body, -1)
		if len(ids) != 1 {
			t.Fatalf("sessions page: %d end buttons, want 1", len(ids))
		}
		first.post("/account/sessions/end", url.Values{"id": {ids[0][1]}}).expectRedirect(t, "/account/sessions")
		wantRevoked("after the account centre ended the session", tr)
		wantWorking("the current session's, after ending another in the account centre", &keep)

		// A password change ends the other sessions.
		b = signIn()
		tr = tokens(b)
		const changed = "Hq8&tRe5!nWb"
		if p := first.post("/account/password", url.Values{"current_password": {password}, "password": {changed}, "password_confirm": {changed}}); p.Status != 200 {
			t.Fatalf("password change: %d", p.Status)
		}
		password = changed
		wantRevoked("a session ended by a password change", tr)
		wantWorking("the session that changed the password", &keep)

		// A recovery ends them all.
		anon := newBrowser(t, idp)
		anon.post("/recover", url.Values{"login": {phone}}).expectRedirect(t, "/recover/code")
		anon.post("/recover/code", url.Values{"code": {anon.latestCode(phone, "code.recover")}}).expectRedirect(t, "/recover/password")
		const recovered = "Nq4$wErt9!Zx"
		anon.post("/recover/password", url.Values{"password": {recovered}, "password_confirm": {recovered}}).expectRedirect(t, "/login")
		wantRevoked("after a recovery", keep)
	})
}
