package partner_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gosid/gosid/verification/bank"
	"github.com/gosid/gosid/verification/partner"
)

// FuzzConfirmationRequest: the request parser never panics; it accepts a
// body only with every field valid (then the values are normalised and
// complete), and otherwise names at least one field or says the body is
// malformed.
func FuzzConfirmationRequest(f *testing.F) {
	good, _ := json.Marshal(person("112-233-445 95"))
	f.Add(string(good))
	f.Add(`{}`)
	f.Add(`{"snils":1}`)
	f.Add(`{"passport":{"series":"4505","number":"123456","issue_date":"2005-04-02","x":1}}`)
	f.Add(strings.Replace(string(good), "in_branch", "remote", 1) + " {}")
	f.Add(`[` + string(good) + `]`)
	now := t0
	f.Fuzz(func(t *testing.T, body string) {
		req, v, err := partner.ParseConfirmation(strings.NewReader(body), now)
		var inv *partner.InvalidError
		switch {
		case errors.As(err, &inv):
			if len(inv.Fields) == 0 {
				t.Fatal("an invalid request with no problem listed")
			}
			for _, f := range inv.Fields {
				if f.Detail == "" || f.DetailEN == "" {
					t.Fatalf("a problem without a message: %+v", f)
				}
			}
		case err != nil:
			t.Fatalf("unexpected error kind: %v", err)
		default:
			for _, k := range []string{bank.SNILS, bank.FamilyName, bank.GivenName, bank.BirthDate, bank.PassportSeries, bank.PassportNumber, bank.PassportIssueDate} {
				if v[k] == "" {
					t.Fatalf("accepted without %s: %q", k, body)
				}
			}
			if req.Method != partner.MethodInBranch && req.Method != partner.MethodRemote || strings.TrimSpace(req.Reference) == "" {
				t.Fatalf("accepted %+v", req)
			}
		}
	})
}
