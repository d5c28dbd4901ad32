package validate

import (
	"errors"
	"strings"
	"testing"
)

// wantFieldErr checks that err is a *FieldError with the given field and
// code and a catalogued message.
func wantFieldErr(t *testing.T, in string, err error, field, code string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Errorf("%q: err = %v, want *FieldError %s/%s", in, err, field, code)
		return
	}
	if fe.Field != field || fe.Code != code {
		t.Errorf("%q: got %s/%s (%s), want %s/%s", in, fe.Field, fe.Code, fe.EN, field, code)
	}
	checkMessage(t, in, err)
}

// checkMessage checks that err is a *FieldError whose messages come from the
// catalogue, with a matching code, and so cannot contain the input.
func checkMessage(t *testing.T, in string, err error) {
	t.Helper()
	fe, ok := err.(*FieldError)
	if !ok {
		t.Fatalf("%q: error %T is not a *FieldError", in, err)
	}
	if fe.Error() != fe.EN || fe.Message("en") != fe.EN || fe.Message("ru") != fe.RU || fe.Message("") != fe.RU {
		t.Fatalf("%q: Error/Message disagree with EN/RU", in)
	}
	for _, m := range catalogue {
		if m.ru == fe.RU && m.en == fe.EN && m.code == fe.Code && (m.field == fe.Field || fe.Field == "login") {
			if d := strings.TrimSpace(in); len(d) >= 6 && !inCatalogue(d) &&
				(strings.Contains(fe.RU, d) || strings.Contains(fe.EN, d)) {
				t.Fatalf("%q: message contains the input", in)
			}
			return
		}
	}
	t.Fatalf("%q: message %q (%s/%s) is not in the catalogue", in, fe.EN, fe.Field, fe.Code)
}

func inCatalogue(s string) bool {
	for _, m := range catalogue {
		if strings.Contains(m.ru, s) || strings.Contains(m.en, s) {
			return true
		}
	}
	return false
}
