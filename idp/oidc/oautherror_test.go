package oidc

import (
	"encoding/json"
	"testing"
)

// TestOAuthError: an error code op has no constructor for reaches the
// client as that code, with the description.
func TestOAuthError(t *testing.T) {
	e := oauthError("consent_required", "the user has not consented")
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m["error"] != "consent_required" || m["error_description"] != "the user has not consented" {
		t.Errorf("oauthError = %s", raw)
	}
}
