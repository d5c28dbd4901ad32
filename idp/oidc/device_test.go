package oidc

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/migrations/sqldb"
	"github.com/gosid/gosid/migrations/sqldb/sqldbtest"
)

// TestDeviceFlowWithEveryClientAuthentication: a kiosk authenticates at
// device authorization and when polling with any method a client may use.
// op authenticated no one at device authorization, and answered a
// client_secret_post kiosk's poll with invalid_client after spending its
// approval.
func TestDeviceFlowWithEveryClientAuthentication(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		device := client.Client{GrantTypes: []string{client.GrantDeviceCode}}
		secretC, secret := op.client(t, device)
		keyed, key := op.keyedClient(t, device)
		publicDevice := device
		publicDevice.AuthMethod = client.AuthNone
		public, _ := op.client(t, publicDevice)
		b := op.signedIn(t, op.citizen(t).ID)
		for _, tc := range []struct {
			c *client.Client
			a auth
		}{
			{secretC, auth{Method: client.AuthSecretBasic, Secret: secret}},
			{secretC, auth{Method: client.AuthSecretPost, Secret: secret}},
			{keyed, auth{Method: client.AuthPrivateKeyJWT, Key: key}},
			{public, auth{Method: client.AuthNone}},
		} {
			t.Run(tc.c.AuthMethod+" as "+tc.a.Method, func(t *testing.T) {
				r := op.call(t, pathDevice, tc.c, tc.a, url.Values{"scope": {"openid"}})
				if r.Status != http.StatusOK || r.Str("device_code") == "" {
					t.Fatalf("device authorization: %s", r)
				}
				poll := url.Values{"grant_type": {client.GrantDeviceCode}, "device_code": {r.Str("device_code")}}
				wantError(t, "poll before approval", op.call(t, pathToken, tc.c, tc.a, poll), 400, "authorization_pending")
				if tc.a.Method != client.AuthNone {
					wantError(t, "poll without credentials", op.post(t, pathToken, with(poll, "client_id", tc.c.ID)), 401, "invalid_client")
				}
				if p := b.do(t, http.MethodPost, "/device", url.Values{"user_code": {r.Str("user_code")}, "decision": {"allow"}}); p.Status != http.StatusSeeOther {
					t.Fatalf("approval: %d", p.Status)
				}
				if tok := op.call(t, pathToken, tc.c, tc.a, poll); tok.Status != http.StatusOK || tok.Str("access_token") == "" {
					t.Fatalf("poll after approval: %s", tok)
				}
			})
		}
		wantError(t, "device authorization by a confidential client without credentials",
			op.post(t, pathDevice, url.Values{"client_id": {secretC.ID}, "scope": {"openid"}}), 401, "invalid_client")
	})
}
