package sandbox

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/verification/registry"
)

// TestCustomers: every identifier passes Gosid's own validation, and each
// customer is what docs/verification.md («The sandbox bank») says it is.
func TestCustomers(t *testing.T) {
	cs := Customers()
	if len(cs) < 4 {
		t.Fatalf("%d customers", len(cs))
	}
	// The e2e stand-in bank reads the same file and sends its claims
	// as they are: no field the sandbox would drop.
	d := json.NewDecoder(bytes.NewReader(customersJSON))
	d.DisallowUnknownFields()
	var strict []Customer
	if err := d.Decode(&strict); err != nil {
		t.Fatalf("customers.json: %v", err)
	}
	subs := map[string]bool{}
	noPassport := 0
	for _, c := range cs {
		if subs[c.Sub] {
			t.Errorf("sub %s twice", c.Sub)
		}
		subs[c.Sub] = true
		if !c.PhoneVerified || !c.EmailVerified {
			t.Errorf("%s: phone or e-mail not verified", c.Sub)
		}
		if s, err := validate.SNILS(c.SNILS); err != nil || s != c.SNILS {
			t.Errorf("%s: SNILS %s: %v (canonical %s)", c.Sub, c.SNILS, err, s)
		}
		if _, err := validate.PersonINN(c.INN); err != nil {
			t.Errorf("%s: INN %s: %v", c.Sub, c.INN, err)
		}
		if p, err := validate.Phone(c.Phone); err != nil || p != c.Phone {
			t.Errorf("%s: phone %s: %v", c.Sub, c.Phone, err)
		}
		if _, err := validate.Email(c.Email); err != nil {
			t.Errorf("%s: e-mail: %v", c.Sub, err)
		}
		birth, err := validate.BirthDate(c.BirthDate, false, time.Now())
		if err != nil {
			t.Errorf("%s: birth date: %v", c.Sub, err)
		}
		for _, n := range []struct {
			check func(string) (string, error)
			v     string
		}{{validate.FamilyName, c.FamilyName}, {validate.GivenName, c.GivenName}, {validate.MiddleName, c.MiddleName}} {
			if _, err := n.check(n.v); err != nil {
				t.Errorf("%s: name %q: %v", c.Sub, n.v, err)
			}
		}
		if c.Passport == nil {
			noPassport++
			continue
		}
		if _, err := validate.PassportSeries(c.Passport.Series); err != nil {
			t.Errorf("%s: passport series: %v", c.Sub, err)
		}
		if _, err := validate.PassportNumber(c.Passport.Number); err != nil {
			t.Errorf("%s: passport number: %v", c.Sub, err)
		}
		if _, err := validate.PassportIssueDate(c.Passport.IssueDate, birth, time.Now(), false); err != nil {
			t.Errorf("%s: passport issue date: %v", c.Sub, err)
		}
	}
	if noPassport == 0 {
		t.Error("no customer without a passport")
	}

	sim := map[string]registry.Identity{}
	for _, id := range registry.Identities() {
		sim[id.SNILS] = id
	}
	// The first customer is the simulator's passing identity.
	ivanov, passes := cs[0], sim[cs[0].SNILS]
	if passes.Key != "passes" || !sameAs(ivanov, passes) || ivanov.Passport.Series != passes.Passport.Series ||
		ivanov.Passport.Number != passes.Passport.Number || ivanov.Passport.IssueDate != passes.Passport.IssueDate.Format(time.DateOnly) {
		t.Errorf("customer %s differs from the simulator's passing identity %+v", ivanov.Sub, passes)
	}
	// «ё» and a hyphen, matched by Gosid's normaliser.
	semina := cs[1]
	if !validate.SameName(semina.FamilyName, "Семина-Петрова") || !validate.SameName(semina.GivenName, "Алена") || semina.FamilyName == "Семина-Петрова" {
		t.Errorf("customer %s: %s %s is not the ё/hyphen case", semina.Sub, semina.FamilyName, semina.GivenName)
	}
	if cs[2].Passport != nil {
		t.Errorf("customer %s has a passport", cs[2].Sub)
	}
	// The mismatch customer: the simulator's identity with this SNILS
	// has the same names and another birth date.
	mismatch, id := cs[3], sim[cs[3].SNILS]
	if id.Key == "" || !validate.SameName(mismatch.FamilyName, id.Person.FamilyName) || mismatch.BirthDate == id.Person.BirthDate.Format(time.DateOnly) {
		t.Errorf("customer %s is not a birth-date mismatch of a simulator identity (%+v)", mismatch.Sub, id)
	}
}

func sameAs(c Customer, id registry.Identity) bool {
	p := id.Person
	return c.FamilyName == p.FamilyName && c.GivenName == p.GivenName && c.MiddleName == p.MiddleName &&
		c.BirthDate == p.BirthDate.Format(time.DateOnly) && c.SNILS == id.SNILS
}
