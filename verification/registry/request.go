package registry

import (
	"fmt"
	"strings"
	"time"
)

// maxRequestID bounds Request.ID, which travels as the Idempotency-Key
// header and into record ids.
const maxRequestID = 128

// Validate reports, wrapping ErrBadRequest, what req lacks for its source:
// every request needs an ID (1–128 visible ASCII characters: it is the
// Idempotency-Key header) and the person's family name, given name and
// birth date; SFR needs a SNILS, MVD and FNS a passport with series,
// number and issue date. It checks presence, not formats: the citizen's
// input was validated where it was typed. The error names fields, never
// their values.
func (r Request) Validate() error {
	var missing []string
	if !validID(r.ID) {
		missing = append(missing, "request_id")
	}
	if strings.TrimSpace(r.Person.FamilyName) == "" {
		missing = append(missing, "family_name")
	}
	if strings.TrimSpace(r.Person.GivenName) == "" {
		missing = append(missing, "given_name")
	}
	if r.Person.BirthDate.IsZero() {
		missing = append(missing, "birthdate")
	}
	switch r.Source {
	case SFR:
		if strings.TrimSpace(r.SNILS) == "" {
			missing = append(missing, "snils")
		}
	case MVD, FNS:
		p := r.Passport
		if p == nil || strings.TrimSpace(p.Series) == "" || strings.TrimSpace(p.Number) == "" {
			missing = append(missing, "passport")
		} else if p.IssueDate.IsZero() {
			missing = append(missing, "passport_issue_date")
		}
	default:
		return fmt.Errorf("%w: unknown source", ErrBadRequest)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s needs %s", ErrBadRequest, r.Source, strings.Join(missing, ", "))
	}
	return nil
}

func validID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// sameDay reports whether two dates are the same calendar day, each read
// in its own location (the citizen's dates are midnight UTC; a gateway's
// may carry another zone).
func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// isoDate formats a date as the wire protocol and the documents write it.
func isoDate(t time.Time) string { return t.Format(time.DateOnly) }
