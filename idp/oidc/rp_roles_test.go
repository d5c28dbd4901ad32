package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestStaffRolesClaim: a first-party client registered for staff roles
// gets gosid_roles in the ID token (also refreshed) and userinfo, read at
// token time (a revoked role is gone from the next token); a client not
// registered for it never does, even asking through the claims
// parameter; an account without roles gets no claim.
func TestStaffRolesClaim(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := newRPOP(t, db, nil)
		ctx := context.Background()
		admin := audit.Actor{Kind: audit.ActorAdmin, ID: "root"}
		if err := o.Staff.AddOrg(ctx, staff.Org{Code: "agency-x", Kind: staff.KindAgency, NameRU: "Ведомство", Region: "77"}); err != nil {
			t.Fatal(err)
		}
		officer := o.citizen()
		if err := o.Accounts.SetLevel(ctx, officer.ID, officer.Level, assurance.Confirmed); err != nil {
			t.Fatal(err)
		}
		if err := o.Staff.Grant(ctx, officer.ID, staff.RoleOfficer, "agency-x", admin); err != nil {
			t.Fatal(err)
		}
		portal, portalSecret := o.client(func(c *client.Client) { c.StaffRoles = true })
		other, otherSecret := o.client(nil)
		want := `[{"org":"agency-x","role":"officer"}]`
		roles := func(v any) string {
			if v == nil {
				return ""
			}
			b, _ := json.Marshal(v)
			return string(b)
		}
		userinfoRoles := func(token string) string {
			t.Helper()
			p := o.userinfo(token)
			var info map[string]any
			if p.Status != 200 || json.Unmarshal([]byte(p.Body), &info) != nil {
				t.Fatalf("userinfo: %d %s", p.Status, p.Body)
			}
			return roles(info[claimRoles])
		}

		_, tok := o.signedInTokens(officer, portal, portalSecret, "openid fullname offline_access")
		if got := roles(jwtClaims(t, tok.IDToken)[claimRoles]); got != want {
			t.Errorf("portal ID token gosid_roles: %s, want %s", got, want)
		}
		if got := userinfoRoles(tok.AccessToken); got != want {
			t.Errorf("portal userinfo gosid_roles: %s, want %s", got, want)
		}

		// Another client, even asking by name in the claims parameter.
		b := o.browser()
		b.signIn(officer)
		q, verifier := codeRequest(other, "openid fullname")
		q.Set("claims", `{"id_token":{"gosid_roles":{"essential":true}},"userinfo":{"gosid_roles":null}}`)
		otherTok := o.exchange(other, otherSecret, o.callback(b.authorize(q)), verifier)
		if got := roles(jwtClaims(t, otherTok.IDToken)[claimRoles]); got != "" {
			t.Errorf("unregistered client's ID token has gosid_roles: %s", got)
		}
		if got := userinfoRoles(otherTok.AccessToken); got != "" {
			t.Errorf("unregistered client's userinfo has gosid_roles: %s", got)
		}

		// A citizen without roles: no claim at all.
		_, plain := o.signedInTokens(o.citizen(), portal, portalSecret, "openid fullname")
		if _, ok := jwtClaims(t, plain.IDToken)[claimRoles]; ok {
			t.Error("an account without roles has gosid_roles")
		}

		// Below confirmed (here lowered after a dispute), the grants stay
		// but reach no client: staff must be confirmed.
		if err := o.Accounts.SetLevel(ctx, officer.ID, assurance.Confirmed, assurance.Standard); err != nil {
			t.Fatal(err)
		}
		lowered := o.token(portal.ID, portalSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
		if lowered.Status != 200 || lowered.IDToken == "" {
			t.Fatalf("refresh: %+v", lowered)
		}
		if got := roles(jwtClaims(t, lowered.IDToken)[claimRoles]); got != "" {
			t.Errorf("refreshed ID token of a standard account: %s", got)
		}
		if got := userinfoRoles(lowered.AccessToken); got != "" {
			t.Errorf("userinfo of a standard account: %s", got)
		}
		if err := o.Accounts.SetLevel(ctx, officer.ID, assurance.Standard, assurance.Confirmed); err != nil {
			t.Fatal(err)
		}
		tok.RefreshToken = lowered.RefreshToken
		if got := userinfoRoles(lowered.AccessToken); got != want {
			t.Errorf("userinfo once confirmed again: %s, want %s", got, want)
		}

		// Revoked: the refreshed ID token and userinfo no longer carry it.
		if err := o.Staff.Revoke(ctx, officer.ID, staff.RoleOfficer, "agency-x", admin); err != nil {
			t.Fatal(err)
		}
		ref := o.token(portal.ID, portalSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
		if ref.Status != 200 || ref.IDToken == "" {
			t.Fatalf("refresh: %+v", ref)
		}
		if got := roles(jwtClaims(t, ref.IDToken)[claimRoles]); got != "" {
			t.Errorf("refreshed ID token after revocation: %s", got)
		}
		if got := userinfoRoles(ref.AccessToken); got != "" {
			t.Errorf("userinfo after revocation: %s", got)
		}

		// Only a first-party client may be registered for the claim.
		_, _, err := o.Clients.Create(ctx, client.Client{Name: "Чужой", AuthMethod: client.AuthSecretBasic, RedirectURIs: []string{rpRedirect},
			Scopes: []string{"openid"}, GrantTypes: []string{client.GrantAuthorizationCode}, StaffRoles: true})
		var ve *client.ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != client.FieldStaffRoles {
			t.Fatalf("a third-party client with staff roles: %v", err)
		}
	})
}

// TestCodeSpentOnlyWithItsIDToken: what the ID token needs from the
// database (here the staff roles) is read before the code is spent. With
// it unreadable the exchange answers 503 and the code stays good, so the
// client's retry gets the tokens, not invalid_grant (a full soak with an
// exhausted pool found codes spent by an exchange that then answered 503).
func TestCodeSpentOnlyWithItsIDToken(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := newRPOP(t, db, nil)
		ctx := context.Background()
		if err := o.Staff.AddOrg(ctx, staff.Org{Code: "agency-x", Kind: staff.KindAgency, NameRU: "Ведомство", Region: "77"}); err != nil {
			t.Fatal(err)
		}
		officer := o.citizen()
		if err := o.Accounts.SetLevel(ctx, officer.ID, officer.Level, assurance.Confirmed); err != nil {
			t.Fatal(err)
		}
		if err := o.Staff.Grant(ctx, officer.ID, staff.RoleOfficer, "agency-x", audit.Actor{Kind: audit.ActorAdmin, ID: "root"}); err != nil {
			t.Fatal(err)
		}
		portal, secret := o.client(func(c *client.Client) { c.StaffRoles = true })
		b := o.browser()
		b.signIn(officer)
		q, verifier := codeRequest(portal, "openid fullname")
		cb := o.callback(b.authorize(q))
		form := url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")}, "redirect_uri": {rpRedirect}, "code_verifier": {verifier}}
		sqldbtest.WithoutTable(t, db, "staff_roles", func() {
			if tr := o.token(portal.ID, secret, form); tr.Status != http.StatusServiceUnavailable || tr.AccessToken != "" {
				t.Fatalf("the exchange with the roles unreadable: %d %+v, want 503", tr.Status, tr)
			}
		})
		tr := o.token(portal.ID, secret, form)
		if tr.Status != 200 || tr.IDToken == "" {
			t.Fatalf("the retry: %d %+v, want the tokens", tr.Status, tr)
		}
		if roles, _ := json.Marshal(jwtClaims(t, tr.IDToken)[claimRoles]); string(roles) != `[{"org":"agency-x","role":"officer"}]` {
			t.Fatalf("the ID token's gosid_roles: %s", roles)
		}
	})
}
