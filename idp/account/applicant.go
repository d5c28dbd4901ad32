package account

import (
	"strings"
	"time"

	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/validate"
)

// Applicant is a new account as typed: by a citizen registering, or by an
// operator at the command line (and a future admin API). Check validates
// it with the same rules and the same password policy whoever types it.
type Applicant struct {
	// Phone and Email: at least one.
	Phone, Email                      string
	FamilyName, GivenName, MiddleName string
	// BirthDate (YYYY-MM-DD) and SNILS are optional; a SNILS is the
	// citizen's claim until evidence verifies it.
	BirthDate, SNILS string
	Password         string
}

// Check validates every field and the password against policy, and
// returns the account to create — contacts not yet verified, the password
// not yet hashed — or every field's error, each naming its field (phone,
// email, family_name, given_name, middle_name, birthdate, snils,
// password). The password's violations are one error, their texts joined.
func (ap Applicant) Check(policy password.Policy, now time.Time) (New, validate.Errors) {
	var n New
	var errs validate.Errors
	var err error
	if strings.TrimSpace(ap.Phone) == "" && strings.TrimSpace(ap.Email) == "" {
		errs = append(errs, &validate.FieldError{Field: "phone", Code: "required",
			RU: "Телефон или электронная почта: укажите хотя бы одно", EN: "Phone or e-mail: give at least one"})
	}
	if strings.TrimSpace(ap.Phone) != "" {
		n.Phone.Value, err = validate.Phone(ap.Phone)
		errs.Add(err)
	}
	if strings.TrimSpace(ap.Email) != "" {
		n.Email.Value, err = validate.Email(ap.Email)
		errs.Add(err)
	}
	n.Name.Family, err = validate.FamilyName(ap.FamilyName)
	errs.Add(err)
	n.Name.Given, err = validate.GivenName(ap.GivenName)
	errs.Add(err)
	n.Name.Middle, err = validate.MiddleName(ap.MiddleName)
	errs.Add(err)
	if strings.TrimSpace(ap.BirthDate) != "" {
		n.BirthDate, err = validate.BirthDate(ap.BirthDate, false, now)
		errs.Add(err)
	}
	if strings.TrimSpace(ap.SNILS) != "" {
		n.SNILS, err = validate.SNILS(ap.SNILS)
		errs.Add(err)
	}
	// Every broken rule, for the operators' commands; a form shows one
	// message and marks the rules in its list instead (registration).
	if vs := policy.Check(ap.Password, n.PolicyContext()); len(vs) > 0 {
		ru, en := make([]string, len(vs)), make([]string, len(vs))
		for i, v := range vs {
			ru[i], en[i] = v.Text("ru"), v.Text("en")
		}
		errs = append(errs, &validate.FieldError{Field: "password", Code: "policy", RU: strings.Join(ru, "; "), EN: strings.Join(en, "; ")})
	}
	return n, errs
}

// PolicyContext is what the new account's password must not contain.
func (n *New) PolicyContext() password.PolicyContext {
	return password.PolicyContext{Phone: n.Phone.Value, Email: n.Email.Value, SNILS: n.SNILS, FamilyName: n.Name.Family, GivenName: n.Name.Given}
}

// PolicyContext is what a's password must not contain (password.Policy).
func (a *Account) PolicyContext() password.PolicyContext {
	return password.PolicyContext{Phone: a.Phone.Value, Email: a.Email.Value, SNILS: a.SNILS, FamilyName: a.Name.Family, GivenName: a.Name.Given}
}
