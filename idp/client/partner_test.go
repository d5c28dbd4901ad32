package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// partnerClient is a bank's partner-API client: client_credentials with
// private_key_jwt and the partner scopes.
func partnerClient(t testing.TB) client.Client {
	return client.Client{Name: "Сбер — партнёрский API", AuthMethod: client.AuthPrivateKeyJWT, JWKS: publicJWKS(t),
		GrantTypes: []string{client.GrantClientCredentials},
		Scopes:     []string{client.ScopePartnerConfirmations, client.ScopePartnerRegistrations}, Partner: "sber"}
}

func TestPartnerScopesOnlyForPartners(t *testing.T) {
	c := partnerClient(t)
	if err := c.Validate(); err != nil {
		t.Fatalf("partner client: %v", err)
	}
	c.Partner = ""
	err := c.Validate()
	if !errors.Is(err, client.ErrInvalid) || !strings.Contains(err.Error(), "partner") {
		t.Fatalf("partner scopes without --partner: %v", err)
	}
	c = partnerClient(t)
	c.Partner = "Not a bank!"
	if err := c.Validate(); err == nil {
		t.Fatal("a malformed bank id was accepted")
	}
	c = partnerClient(t)
	c.GrantTypes = []string{client.GrantAuthorizationCode}
	c.RedirectURIs = []string{"https://bank.example/cb"}
	c.Scopes = append(c.Scopes, "openid")
	if err := c.Validate(); err == nil {
		t.Fatal("a partner without client_credentials was accepted")
	}
}

func TestPartnerRoundTrip(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := client.NewStore(db, sqldbtest.NewClock(t0).Now)
		created, _, err := st.Create(ctx, partnerClient(t))
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx, created.ID)
		if err != nil || got.Partner != "sber" || !got.AllowsScope(client.ScopePartnerConfirmations) {
			t.Fatalf("stored partner client: %+v, %v", got, err)
		}
		// Leaving the partnership while holding the scopes is refused;
		// dropping both is fine.
		_, _, err = st.Change(ctx, created.ID, client.Settings{Partner: "", Given: func(f string) bool { return f == client.FieldPartner }})
		if !errors.Is(err, client.ErrInvalid) {
			t.Fatalf("partner removed while holding partner scopes: %v", err)
		}
		changed, _, err := st.Change(ctx, created.ID, client.Settings{Partner: "", Scopes: "",
			Given: func(f string) bool { return f == client.FieldPartner || f == client.FieldScopes }})
		if err != nil || changed.Partner != "" {
			t.Fatalf("partner removed: %+v, %v", changed, err)
		}
	})
}
