package oauthx

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

func TestTokenReason(t *testing.T) {
	err := fmt.Errorf("%w: nonce \"secret-nonce\" differs", oidc.ErrNonceInvalid)
	if got := TokenReason(err); got != oidc.ErrNonceInvalid.Error() || strings.Contains(got, "secret") {
		t.Fatalf("TokenReason = %q", got)
	}
	if got := TokenReason(errors.New("other")); got != "invalid" {
		t.Fatalf("TokenReason(other) = %q", got)
	}
}

func TestCode(t *testing.T) {
	if got := Code("invalid_grant\n\x00ы" + strings.Repeat("x", 50)); got != "invalid_grant"+strings.Repeat("x", 27) {
		t.Fatalf("Code = %q", got)
	}
}
