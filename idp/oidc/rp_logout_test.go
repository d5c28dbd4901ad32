package oidc

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// sessionAlive reports whether the browser's Gosid session still signs it
// in silently (prompt=none).
func (o *rpOP) sessionAlive(b *rpBrowser, c *client.Client) bool {
	o.t.Helper()
	q, _ := codeRequest(c, "openid")
	q.Set("prompt", "none")
	cb := o.callback(b.authorize(q))
	return cb.Get("code") != ""
}

// tokensWork reports whether the access token works at userinfo and
// introspection and the refresh token can be refreshed (which rotates it:
// the new one is returned).
func (o *rpOP) tokensWork(c *client.Client, secret string, tok rpTokens) (access, refresh bool, next rpTokens) {
	o.t.Helper()
	ui := o.userinfo(tok.AccessToken).Status == 200
	in := o.introspect(c.ID, secret, tok.AccessToken)["active"] == true
	if ui != in {
		o.t.Errorf("userinfo says %v, introspection %v: they must agree", ui, in)
	}
	next = o.token(c.ID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	return ui && in, next.Status == 200, next
}

// TestLogout: RP-initiated logout asks the citizen unless the site proves
// who it signs out (an id_token_hint of the session's account); a hint
// alone, from a browser without the session, revokes nothing; every way a
// session ends revokes its tokens; a logout without a redirect lands on a
// page of Gosid's.
func TestLogout(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		o := newRPOP(t, db, nil)
		a := o.citizen()
		c, secret := o.client(nil)
		const scope = "openid fullname offline_access"
		wantRevoked := func(t *testing.T, what string, tok rpTokens) {
			t.Helper()
			if access, refresh, _ := o.in(t).tokensWork(c, secret, tok); access || refresh {
				t.Errorf("%s: access token works %v, refresh token works %v; want both revoked", what, access, refresh)
			}
		}
		wantWorking := func(t *testing.T, what string, tok rpTokens) {
			t.Helper()
			if access, refresh, _ := o.in(t).tokensWork(c, secret, tok); !access || !refresh {
				t.Errorf("%s: access token works %v, refresh token works %v; want both working", what, access, refresh)
			}
		}
		noHint := "/oauth/logout?" + url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"s-1"}}.Encode()
		confirm := url.Values{"confirm": {"yes"}, "client_id": {c.ID}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"s-1"}}

		t.Run("without a hint the citizen is asked", func(t *testing.T) {
			o := o.in(t)
			b, tok := o.signedInTokens(a, c, secret, scope)
			p := b.get(noHint)
			if p.Status != 200 || !strings.Contains(p.Body, "Выйти из учётной записи Gosid") || !strings.Contains(p.Body, `action="/oauth/logout"`) ||
				!strings.Contains(p.Body, `name="confirm" value="yes"`) || !strings.Contains(p.Body, c.Name) {
				t.Errorf("logout without id_token_hint: %d %q, want the confirmation page\n%.600s", p.Status, p.Location, p.Body)
			}
			if !o.sessionAlive(b, c) {
				t.Error("a logout link without id_token_hint ended the session without asking")
			}
			wantWorking(t, "tokens after an unconfirmed logout", tok)
		})

		t.Run("a confirmation from another site is refused", func(t *testing.T) {
			o := o.in(t)
			b, _ := o.signedInTokens(a, c, secret, scope)
			if p := b.do("POST", "/oauth/logout", confirm, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}); p.Status != 403 {
				t.Errorf("cross-site confirmation: %d, want 403", p.Status)
			}
			if !o.sessionAlive(b, c) {
				t.Error("a cross-site confirmation ended the session")
			}
		})

		t.Run("the citizen confirms", func(t *testing.T) {
			o := o.in(t)
			b, tok := o.signedInTokens(a, c, secret, scope)
			p := b.post("/oauth/logout", confirm)
			if p.Status/100 != 3 || p.Location != rpLoggedOut+"?state=s-1" {
				t.Errorf("confirmed logout: %d %q, want a redirect to %s?state=s-1", p.Status, p.Location, rpLoggedOut)
			}
			if o.sessionAlive(b, c) {
				t.Error("the session survived a confirmed logout")
			}
			wantRevoked(t, "tokens of the session ended by a confirmed logout", tok)
		})

		t.Run("a stranger's replayed hint revokes nothing", func(t *testing.T) {
			o := o.in(t)
			b, tok := o.signedInTokens(a, c, secret, scope)
			hinted := "/oauth/logout?" + url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {rpLoggedOut}}.Encode()
			if p := o.browser().get(hinted); p.Status/100 != 3 {
				t.Errorf("logout with a hint and no session: %d %q, want the redirect", p.Status, p.Location)
			}
			if !o.sessionAlive(b, c) {
				t.Error("a replayed id_token_hint ended the citizen's session")
			}
			wantWorking(t, "tokens after a replayed id_token_hint", tok)
		})

		t.Run("another account's session is not ended by a hint", func(t *testing.T) {
			o := o.in(t)
			_, tok := o.signedInTokens(a, c, secret, scope)
			other := o.browser()
			other.signIn(o.citizen())
			if p := other.get("/oauth/logout?" + url.Values{"id_token_hint": {tok.IDToken}}.Encode()); p.Status != 200 || !strings.Contains(p.Body, `name="confirm"`) {
				t.Errorf("a hint of another account: %d %q, want the confirmation page", p.Status, p.Location)
			}
			if !o.sessionAlive(other, c) {
				t.Error("a hint of another account ended the browser's session")
			}
		})

		t.Run("an unregistered post-logout URI", func(t *testing.T) {
			o := o.in(t)
			b, tok := o.signedInTokens(a, c, secret, scope)
			p := b.get("/oauth/logout?" + url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {rpLoggedOut + "x"}}.Encode())
			if p.Status != 400 || p.Location != "" || !strings.Contains(p.Body, "не зарегистрирован") {
				t.Errorf("unregistered post_logout_redirect_uri: %d %q, want Gosid's error page", p.Status, p.Location)
			}
			if !o.sessionAlive(b, c) {
				t.Error("a refused logout ended the session")
			}
		})

		t.Run("the session's own hint ends it and its tokens", func(t *testing.T) {
			o := o.in(t)
			_, keep := o.signedInTokens(a, c, secret, scope) // another device
			b, tok := o.signedInTokens(a, c, secret, scope)
			p := b.get("/oauth/logout?" + url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"s-2"}}.Encode())
			if p.Status != http.StatusFound || p.Location != rpLoggedOut+"?state=s-2" {
				t.Errorf("logout with the session's hint: %d %q", p.Status, p.Location)
			}
			if o.sessionAlive(b, c) {
				t.Error("the session survived a logout with its own hint")
			}
			wantRevoked(t, "tokens after RP-initiated logout", tok)
			wantWorking(t, "the other device's tokens after RP-initiated logout", keep)
		})

		t.Run("without a redirect the citizen lands on «Вы вышли»", func(t *testing.T) {
			o := o.in(t)
			b, tok := o.signedInTokens(a, c, secret, scope)
			p := b.get("/oauth/logout?" + url.Values{"id_token_hint": {tok.IDToken}}.Encode())
			const loggedOut = "/oauth/logged-out"
			if p.Status/100 != 3 || p.Location != loggedOut {
				t.Fatalf("logout without a redirect URI: %d %q, want %s", p.Status, p.Location, loggedOut)
			}
			if p := b.get(p.Location); p.Status != 200 || !strings.Contains(p.Body, "Вы вышли") || strings.Contains(p.Body, `action="/logout"`) {
				t.Errorf("%s: %d\n%.400s", loggedOut, p.Status, p.Body)
			}
		})

		t.Run("any end of a session revokes its tokens", func(t *testing.T) {
			o := o.in(t)
			// Sign-out at Gosid, the account centre, a password change:
			// they end the session and call SessionEnded.
			b1, tok1 := o.signedInTokens(a, c, secret, scope)
			_, tok2 := o.signedInTokens(a, c, secret, scope)
			s1 := sessionOf(t, o, b1)
			if err := o.Sessions.End(ctx, s1); err != nil {
				t.Fatal(err)
			}
			if err := o.P.SessionEnded(ctx, a.ID, s1); err != nil {
				t.Fatal(err)
			}
			wantRevoked(t, "tokens of a session ended elsewhere", tok1)
			wantWorking(t, "tokens of the account's other session", tok2)
		})
	})
}

// sessionOf returns the id of the browser's session.
func sessionOf(t *testing.T, o *rpOP, b *rpBrowser) string {
	t.Helper()
	u, _ := url.Parse(o.URL)
	for _, ck := range b.c.Jar.Cookies(u) {
		if s, err := o.Sessions.Lookup(context.Background(), ck.Value); err == nil {
			return s.ID
		}
	}
	t.Fatal("the browser has no session")
	return ""
}
