package client

import (
	"slices"
	"testing"
)

// TestRows: an operator's listing labels the first value of a list only,
// shows a new secret once and never a stored one, and counts inline keys.
func TestRows(t *testing.T) {
	c := &Client{ID: "portal", Name: "Портал", AuthMethod: AuthSecretBasic, SecretHash: []byte{1},
		RedirectURIs: []string{"https://a.example.ru/cb", "https://b.example.ru/cb"},
		GrantTypes:   []string{GrantAuthorizationCode, GrantDeviceCode}, JWKS: `{"keys":[{},{}]}`}
	rows := c.Rows("")
	if i := slices.Index(rows, [2]string{"redirect URIs", "https://a.example.ru/cb"}); i < 0 || rows[i+1] != [2]string{"", "https://b.example.ru/cb"} {
		t.Errorf("redirect URIs listed as %v", rows)
	}
	if !slices.Contains(rows, [2]string{"secret", "set (only its hash is stored)"}) {
		t.Errorf("a stored secret's row is missing: %v", rows)
	}
	if !slices.Contains(rows, [2]string{"keys", "2 inline (JWKS)"}) || !slices.Contains(rows, [2]string{"grant types", "authorization_code, device_code"}) {
		t.Errorf("keys or grants wrong: %v", rows)
	}
	rows = c.Rows("s3cret")
	if !slices.Contains(rows, [2]string{"client_secret", "s3cret"}) || slices.ContainsFunc(rows, func(r [2]string) bool { return r[0] == "secret" }) {
		t.Errorf("a new secret is shown once, instead of the stored one's row: %v", rows)
	}
}
