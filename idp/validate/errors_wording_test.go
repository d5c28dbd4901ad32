package validate

import (
	"errors"
	"strings"
	"testing"
)

// TestINNMessageSaysFieldOnce: a message names its field once («ИНН: …»),
// not «ИНН: ИНН …».
func TestINNMessageSaysFieldOnce(t *testing.T) {
	for _, s := range []string{"7707083893", "12345"} {
		_, err := PersonINN(s)
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("PersonINN(%q): %v", s, err)
		}
		for _, lang := range []string{"ru", "en"} {
			m := fe.Message(lang)
			if strings.Count(strings.ToUpper(m), "INN") > 1 || strings.Count(m, "ИНН") > 1 {
				t.Errorf("PersonINN(%q) in %s: %q names the INN twice", s, lang, m)
			}
		}
	}
}
