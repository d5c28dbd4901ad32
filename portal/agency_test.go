package portal

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/portal/catalog"
	"github.com/gosid/gosid/portal/sandbox"
)

// TestSignerOGRN: a result signature is the agency's only by a
// certificate with the OGRN the catalogue gives the agency; outside
// development mode an agency without one has no valid signer at all, and
// a service that moved to another agency does not lend its OGRN.
func TestSignerOGRN(t *testing.T) {
	fns := &catalog.Service{Agency: catalog.Agency{Code: "fns", OGRN: "1047707030513"}}
	bare := &catalog.Service{Agency: catalog.Agency{Code: "fns"}}
	for _, c := range []struct {
		name    string
		s       *catalog.Service
		agency  string
		sandbox bool
		want    string
	}{
		{"catalogue", fns, "fns", false, "1047707030513"},
		{"catalogue beats sandbox", fns, "fns", true, "1047707030513"},
		{"none outside development", bare, "fns", false, ""},
		{"sandbox in development", bare, "fns", true, sandbox.OGRN},
		{"service of another agency now", fns, "mvd", false, ""},
		{"service gone", nil, "fns", false, ""},
	} {
		if got := signerOGRN(c.s, c.agency, c.sandbox); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if sandbox.OGRN != "1027700000000" {
		t.Errorf("the sandbox agency's OGRN is %q", sandbox.OGRN)
	}
}

// TestSignatureProblem: a result's signature that fails its check when the
// citizen's page is shown says why in the citizen's words: expired and
// revoked certificates (wrapped, as the verifier wraps them), another
// agency's certificate, anything else.
func TestSignatureProblem(t *testing.T) {
	ru, en := webui.Localizer{Lang: "ru"}, webui.Localizer{Lang: "en"}
	for _, c := range []struct {
		cause  error
		want   string
		wantEN string
	}{
		{fmt.Errorf("chain: %w: valid until 2026-01-01", cert.ErrExpired), "срок действия сертификата подписи истёк", "has expired"},
		{fmt.Errorf("leaf: %w", cert.ErrRevoked), "отозван", "revoked"},
		{errOtherOGRN, "выдан не ведомству", "not the agency's"},
		{errors.New("cms: message digest mismatch"), "не соответствует документу", "does not match the document"},
		{nil, "не соответствует документу", "does not match the document"},
	} {
		if got := signatureProblem(ru, c.cause); !strings.Contains(got, c.want) {
			t.Errorf("%v: %q, want %q", c.cause, got, c.want)
		}
		if got := signatureProblem(en, c.cause); !strings.Contains(got, c.wantEN) {
			t.Errorf("%v (en): %q, want %q", c.cause, got, c.wantEN)
		}
	}
}
