package portal

import (
	"testing"

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
