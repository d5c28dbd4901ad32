package profile

import (
	"net/url"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/webui"
)

// The details form shows the account's current values, document numbers
// masked as on the overview. A masked value sent back unchanged keeps the
// stored number; a value equal to the shown one changes nothing. So saving
// the form changes exactly the fields the citizen edited, and the notice
// names them.

// shownDetails are the details form's values for a: what is stored, with
// SNILS, INN and the passport's series and number masked.
func (h *Handler) shownDetails(a *account.Account) map[string]string {
	v := map[string]string{
		"family_name": a.Name.Family, "given_name": a.Name.Given, "middle_name": a.Name.Middle,
		"gender": a.Gender,
	}
	if !a.BirthDate.IsZero() {
		v["birthdate"] = a.BirthDate.Format(dateLayout)
	}
	if a.SNILS != "" {
		v["snils"] = validate.MaskSNILS(a.SNILS)
	}
	if a.INN != "" {
		v["inn"] = validate.MaskINN(a.INN)
	}
	if p := a.Passport; p != nil && len(p.Series) == 4 && len(p.Number) == 6 {
		v["passport_series"] = validate.MaskPassportSeries(p.Series)
		v["passport_number"] = validate.MaskPassportNumber(p.Number)
		v["passport_issuer"] = p.Issuer
		v["division_code"] = p.DivisionCode
		if !p.IssueDate.IsZero() {
			v["passport_issue_date"] = p.IssueDate.Format(dateLayout)
		}
	}
	return v
}

// dateLayout is how the form writes dates (ДД.ММ.ГГГГ).
const dateLayout = "02.01.2006"

// typedDetails returns the form f as edits of a: a field still showing
// its shown value (shownDetails) is blank, which parseDetails leaves
// unchanged, and a masked passport series or number is the stored one.
// The name's three parts go together: once one is edited, all three are
// the new name (so a cleared patronymic is a removed one).
//
// A field the request did not send at all (a client posting only what it
// changes) counts as shown, so it changes nothing either.
func (h *Handler) typedDetails(f *webui.Form, sent url.Values, a *account.Account) *webui.Form {
	shown := h.shownDetails(a)
	t := &webui.Form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, k := range detailFields {
		t.Values[k] = f.Get(k)
		if _, ok := sent[k]; !ok {
			t.Values[k] = shown[k]
		}
	}
	same := func(k string) bool { return strings.TrimSpace(t.Values[k]) == shown[k] }
	if same("family_name") && same("given_name") && same("middle_name") {
		t.Values["family_name"], t.Values["given_name"], t.Values["middle_name"] = "", "", ""
	}
	for _, k := range []string{"birthdate", "gender", "snils", "inn"} {
		if same(k) {
			t.Values[k] = ""
		}
	}
	passport := []string{"passport_series", "passport_number", "passport_issue_date", "passport_issuer", "division_code"}
	if p := a.Passport; p != nil && shown["passport_series"] != "" {
		untouched := true
		for _, k := range passport {
			untouched = untouched && same(k)
		}
		if untouched {
			for _, k := range passport {
				t.Values[k] = ""
			}
		} else {
			if same("passport_series") {
				t.Values["passport_series"] = p.Series
			}
			if same("passport_number") {
				t.Values["passport_number"] = p.Number
			}
		}
	}
	return t
}

// dropUnchanged clears what d would set to the value a already has (a
// value retyped in another spelling), so that d holds only changes.
func dropUnchanged(d *account.Documents, a *account.Account) {
	if d.Name != nil && *d.Name == a.Name {
		d.Name = nil
	}
	if d.BirthDate.Equal(a.BirthDate) {
		d.BirthDate = time.Time{}
	}
	if d.Gender == a.Gender {
		d.Gender = ""
	}
	if d.SNILS == a.SNILS {
		d.SNILS = ""
	}
	if d.INN == a.INN {
		d.INN = ""
	}
	if p, q := d.Passport, a.Passport; p != nil && q != nil && p.Series == q.Series && p.Number == q.Number &&
		p.IssueDate.Equal(q.IssueDate) && p.Issuer == q.Issuer && p.DivisionCode == q.DivisionCode {
		d.Passport = nil
	}
}

// savedNotice is the notice key's text followed by the changed fields
// named in fields (a comma-separated list from the redirect; unknown
// names are ignored).
func savedNotice(l webui.Localizer, key, fields string) string {
	var names []string
	for _, f := range strings.Split(fields, ",") {
		switch f {
		case "name", "birthdate", "gender", "snils", "inn", "passport":
			names = append(names, l.T("acc.changed."+f))
		}
	}
	if len(names) == 0 {
		return l.T(key)
	}
	return l.T(key) + " " + l.T("acc.changed") + ": " + strings.Join(names, ", ") + "."
}
