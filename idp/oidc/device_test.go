package oidc

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// startDevice starts a device authorization for a new kiosk client and
// returns its user code.
func startDevice(t *testing.T, op *testOP) string {
	t.Helper()
	kiosk, secret := op.client(t, client.Client{Name: "Терминал МФЦ", GrantTypes: []string{client.GrantDeviceCode}})
	r := op.post(t, pathDevice, url.Values{"scope": {"openid fullname"}}, basic(kiosk.ID, secret))
	if r.Status != http.StatusOK || r.Str("user_code") == "" {
		t.Fatalf("device authorization: %s", r)
	}
	return r.Str("user_code")
}

// TestDeviceCodeGuessingIsLimited: RFC 8628 section 5.1. Wrong user codes
// entered from one address are limited; past the limit even the right code
// is refused, with a message saying why, until the window has passed; and
// one user code can be tried only so often, from any address.
func TestDeviceCodeGuessingIsLimited(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		userCode := startDevice(t, op)
		b := op.signedIn(t, op.citizen(t).ID)
		enter := func(code string, lang ...string) reply {
			t.Helper()
			var mods []func(*http.Request)
			if len(lang) > 0 {
				mods = append(mods, header("Accept-Language", lang[0]))
			}
			return b.do(t, http.MethodPost, "/device", url.Values{"user_code": {code}}, mods...)
		}
		ip := "198.51.100.7"
		op.IP.Store(&ip)
		for i := range deviceIPRule.Limit {
			wrong := fmt.Sprintf("BCDF-GH%02d", i)
			if r := enter(wrong); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "код не найден") {
				t.Fatalf("wrong code %d: %d, want 422 with the field error", i, r.Status)
			}
		}
		r := enter(userCode)
		if r.Status != http.StatusTooManyRequests || !strings.Contains(r.Body, "Слишком много попыток") || r.Header.Get("Retry-After") == "" ||
			strings.Contains(r.Body, "Терминал МФЦ") {
			t.Fatalf("the right code after %d wrong ones: %d (Retry-After %q), want 429 with the message and nothing of the device\n%.600s",
				deviceIPRule.Limit, r.Status, r.Header.Get("Retry-After"), r.Body)
		}
		if r := enter(userCode, "en"); !strings.Contains(r.Body, "Too many attempts") {
			t.Errorf("the limit in English: %d\n%.600s", r.Status, r.Body)
		}
		// The decision step is the same guess and is refused too.
		if r := b.do(t, http.MethodPost, "/device", url.Values{"user_code": {userCode}, "decision": {"allow"}}); r.Status != http.StatusTooManyRequests {
			t.Errorf("allowing past the limit: %d, want 429", r.Status)
		}
		// Another address is not held back by this one's guesses.
		other := "198.51.100.8"
		op.IP.Store(&other)
		if r := enter(userCode); r.Status != http.StatusOK || !strings.Contains(r.Body, "Терминал МФЦ") {
			t.Fatalf("the right code from another address: %d", r.Status)
		}
		// When the window has passed, the first address may try again.
		op.IP.Store(&ip)
		op.Clock.Advance(deviceIPRule.Window)
		if r := enter(userCode); r.Status != http.StatusOK || !strings.Contains(r.Body, "Терминал МФЦ") {
			t.Fatalf("the right code after the window: %d\n%.600s", r.Status, r.Body)
		}
	})
}

// TestDeviceUserCodeTriesAreLimited: one user code, entered from ever new
// addresses, is refused after deviceCodeRule.Limit tries.
func TestDeviceUserCodeTriesAreLimited(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		userCode := startDevice(t, op)
		b := op.signedIn(t, op.citizen(t).ID)
		for i := range deviceCodeRule.Limit {
			ip := fmt.Sprintf("203.0.113.%d", i+1)
			op.IP.Store(&ip)
			if r := b.do(t, http.MethodPost, "/device", url.Values{"user_code": {strings.ToLower(userCode)}}); r.Status != http.StatusOK {
				t.Fatalf("try %d: %d", i, r.Status)
			}
		}
		ip := "203.0.113.200"
		op.IP.Store(&ip)
		r := b.do(t, http.MethodPost, "/device", url.Values{"user_code": {userCode}, "decision": {"allow"}})
		if r.Status != http.StatusTooManyRequests || !strings.Contains(r.Body, "Слишком много попыток") {
			t.Fatalf("try %d of one code: %d, want 429\n%.600s", deviceCodeRule.Limit+1, r.Status, r.Body)
		}
	})
}

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
				tok := op.call(t, pathToken, tc.c, tc.a, poll)
				if tok.Status != http.StatusOK || tok.Str("access_token") == "" {
					t.Fatalf("poll after approval: %s", tok)
				}
				// The token is the client's: userinfo answers for it (it
				// named no client, and userinfo took it for a deleted
				// client's).
				if u := b.do(t, http.MethodGet, pathUserinfo, nil, header("Authorization", "Bearer "+tok.Str("access_token"))); u.Status != http.StatusOK || u.Str("sub") == "" {
					t.Fatalf("userinfo with the device's token: %s", u)
				}
			})
		}
		wantError(t, "device authorization by a confidential client without credentials",
			op.post(t, pathDevice, url.Values{"client_id": {secretC.ID}, "scope": {"openid"}}), 401, "invalid_client")
	})
}

// TestDeviceCodeOutageIsNoVerdict: while the device codes cannot be read,
// an entered code is neither called wrong nor counted against the
// address's guesses: 503 with Retry-After, and after the outage the
// right code from the same address goes through.
func TestDeviceCodeOutageIsNoVerdict(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		userCode := startDevice(t, op)
		b := op.signedIn(t, op.citizen(t).ID)
		ip := "198.51.100.9"
		op.IP.Store(&ip)
		sqldbtest.WithoutTable(t, db, "oidc_device_codes", func() {
			for i := range deviceIPRule.Limit + 2 {
				r := b.do(t, http.MethodPost, "/device", url.Values{"user_code": {fmt.Sprintf("BCDF-GH%02d", i)}})
				if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || strings.Contains(r.Body, "код не найден") {
					t.Fatalf("a code during the outage: %d (Retry-After %q)\n%.600s", r.Status, r.Header.Get("Retry-After"), r.Body)
				}
			}
		})
		if r := b.do(t, http.MethodPost, "/device", url.Values{"user_code": {userCode}}); r.Status != http.StatusOK || !strings.Contains(r.Body, "Терминал МФЦ") {
			t.Fatalf("the right code after the outage: %d\n%.600s", r.Status, r.Body)
		}
	})
}

// TestDeviceSessionOutage: while the sessions cannot be read, the device
// page does not send a signed-in citizen to sign in again: 503 with
// Retry-After; afterwards the code goes through.
func TestDeviceSessionOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		userCode := startDevice(t, op)
		b := op.signedIn(t, op.citizen(t).ID)
		var r reply
		sqldbtest.WithoutTable(t, db, "sessions", func() { r = b.do(t, http.MethodPost, "/device", url.Values{"user_code": {userCode}}) })
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("the device page during the outage: %d\n%.600s", r.Status, r.Body)
		}
		if r := b.do(t, http.MethodPost, "/device", url.Values{"user_code": {userCode}}); r.Status != http.StatusOK || !strings.Contains(r.Body, "Терминал МФЦ") {
			t.Fatalf("after the outage: %d", r.Status)
		}
	})
}
