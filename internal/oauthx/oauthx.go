package oauthx

import (
	"errors"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// TokenReason names why an ID token failed without quoting it (zitadel's
// messages may quote the nonce or the audience).
func TokenReason(err error) string {
	for _, e := range []error{oidc.ErrNonceInvalid, oidc.ErrAudience, oidc.ErrAzpMissing, oidc.ErrAzpInvalid,
		oidc.ErrIssuerInvalid, oidc.ErrSignatureInvalid, oidc.ErrSignatureInvalidPayload, oidc.ErrSignatureMissing,
		oidc.ErrSignatureMultiple, oidc.ErrSignatureUnsupportedAlg, oidc.ErrExpired, oidc.ErrIatMissing,
		oidc.ErrIatInFuture, oidc.ErrIatToOld, oidc.ErrSubjectMissing, oidc.ErrAtHash, oidc.ErrParse} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "invalid"
}

// Code keeps an OAuth error code (a peer's words) printable and short for
// a log line.
func Code(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}
