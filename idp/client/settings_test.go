package client_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestChange: only the settings given change; a list given replaces the
// list; a client moved to private_key_jwt and back loses its keys; one moved
// to a secret method gets a secret, once; an invalid change writes
// nothing.
func TestChange(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := client.NewStore(db, sqldbtest.NewClock(t0).Now)
		var created client.Client
		client.Settings{Name: " Банк ", AuthMethod: client.AuthNone, Scopes: "openid, fullname  email",
			GrantTypes: "authorization_code,device_code", RedirectURIs: []string{"https://bank.example.ru/cb"}}.Apply(&created)
		if created.Name != "Банк" || !slices.Equal(created.Scopes, []string{"openid", "fullname", "email"}) ||
			!slices.Equal(created.GrantTypes, []string{client.GrantAuthorizationCode, client.GrantDeviceCode}) {
			t.Fatalf("settings applied: %+v", created)
		}
		c, _, err := st.Create(ctx, created)
		if err != nil {
			t.Fatal(err)
		}
		only := func(fields ...string) func(string) bool {
			return func(f string) bool { return slices.Contains(fields, f) }
		}

		// Keys given: private_key_jwt with inline keys; nothing else changes.
		keyed, secret, err := st.Change(ctx, c.ID, client.Settings{AuthMethod: client.AuthPrivateKeyJWT, JWKS: publicJWKS(t),
			Name: "ignored", Given: only(client.FieldAuthMethod, client.FieldJWKS)})
		if err != nil || secret != "" || keyed.JWKS == "" || keyed.Name != "Банк" || !slices.Equal(keyed.Scopes, c.Scopes) {
			t.Fatalf("to private_key_jwt: %+v, secret %q, %v", keyed, secret, err)
		}
		// To a secret method: the keys go, a secret comes, once.
		withSecret, secret, err := st.Change(ctx, c.ID, client.Settings{AuthMethod: client.AuthSecretPost, Given: only(client.FieldAuthMethod)})
		if err != nil || secret == "" || withSecret.JWKS != "" || withSecret.JWKSURI != "" || withSecret.SecretHash == nil {
			t.Fatalf("to client_secret_post: %+v, secret given %v, %v", withSecret, secret != "", err)
		}
		if _, err := st.CheckSecret(ctx, c.ID, secret); err != nil {
			t.Fatalf("the new secret: %v", err)
		}
		if _, again, err := st.Change(ctx, c.ID, client.Settings{AuthMethod: client.AuthSecretBasic, Given: only(client.FieldAuthMethod)}); err != nil || again != "" {
			t.Fatalf("between secret methods: secret given %v, %v; the secret stays", again != "", err)
		}
		// A list given replaces the list; an empty one empties it.
		listed, _, err := st.Change(ctx, c.ID, client.Settings{PostLogoutRedirectURIs: []string{"https://bank.example.ru/bye"}, Given: only(client.FieldPostLogoutRedirectURIs)})
		if err != nil || !slices.Equal(listed.PostLogoutRedirectURIs, []string{"https://bank.example.ru/bye"}) {
			t.Fatalf("post-logout URIs: %+v, %v", listed.PostLogoutRedirectURIs, err)
		}
		// Invalid: nothing written.
		var ve *client.ValidationError
		if _, _, err := st.Change(ctx, c.ID, client.Settings{RedirectURIs: []string{"http://bank.example.ru/cb"}, Given: only(client.FieldRedirectURIs)}); !errors.As(err, &ve) || ve.Problems[0].Field != client.FieldRedirectURIs {
			t.Fatalf("an http redirect URI: %v", err)
		}
		if got, _ := st.Get(ctx, c.ID); !slices.Equal(got.RedirectURIs, c.RedirectURIs) || !got.UpdatedAt.Equal(listed.UpdatedAt) {
			t.Fatalf("an invalid change was written: %+v", got)
		}
		if _, _, err := st.Change(ctx, "gsd_nobody", client.Settings{Given: only()}); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("an unknown client: %v", err)
		}
	})
}
