package validate

import (
	"strings"
	"unicode"
)

// Kinds of sign-in identifier returned by Login.
const (
	LoginPhone = "phone"
	LoginEmail = "email"
	LoginSNILS = "snils"
)

// Login classifies a sign-in identifier and normalises it: a phone gives
// ("phone", "+79123456789"), an e-mail address ("email", EmailKey) and a
// SNILS ("snils", "123-456-789 64").
//
// Phones and SNILS are both strings of digits, so the shape decides:
//
//  1. Anything with "@" is an e-mail address.
//  2. Eleven digits with separators ("-" or a space) only after the 3rd, 6th
//     and 9th digit are a SNILS: 123-456-789 64, 123 456 789 64.
//  3. Anything else with a "+", parentheses or separators is a phone:
//     +7 912 …, 8 (912) …, 8-912-345-67-89, 912 345 67 89.
//  4. Bare digits: 10 digits are a phone; 11 digits beginning with 7 or 8
//     followed by 9 are a phone (8 912 …, 7 912 …) even if they happen to be
//     a valid SNILS; other 11 digits beginning with 7 or 8 are a SNILS if the
//     checksum matches and otherwise a phone (a landline, reported as such);
//     any other 11 digits are a SNILS.
//
// A citizen whose SNILS begins with 79 or 89 signs in with it written with
// separators. Errors carry Field "login" and the message of the kind that was
// recognised (phone, e-mail or SNILS), or a general one when none was.
func Login(s string) (kind, value string, err error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", "", fail(msgLoginRequired)
	}
	if strings.ContainsRune(t, '@') {
		v, err := EmailKey(t)
		return result(LoginEmail, v, err)
	}
	if len(t) > maxInput {
		return "", "", fail(msgLoginFormat)
	}
	if d, seps, ok := snilsDigits(t); ok && seps {
		v, err := SNILS(d)
		return result(LoginSNILS, v, err)
	}
	bare := true
	for _, r := range t {
		switch {
		case r >= '0' && r <= '9':
		case r == '+' || r == '(' || r == ')' || r == '-' || unicode.IsSpace(r):
			bare = false
		default:
			return "", "", fail(msgLoginFormat)
		}
	}
	if !bare {
		v, err := Phone(t)
		return result(LoginPhone, v, err)
	}
	switch {
	case len(t) == 10:
		v, err := Phone(t)
		return result(LoginPhone, v, err)
	case len(t) == 11 && (t[0] == '7' || t[0] == '8'):
		if t[1] != '9' {
			if v, err := SNILS(t); err == nil {
				return LoginSNILS, v, nil
			}
		}
		v, err := Phone(t)
		return result(LoginPhone, v, err)
	case len(t) == 11:
		v, err := SNILS(t)
		return result(LoginSNILS, v, err)
	}
	return "", "", fail(msgLoginFormat)
}

// result finishes Login, moving an error to the "login" field.
func result(kind, v string, err error) (string, string, error) {
	if err != nil {
		fe := *err.(*FieldError)
		fe.Field = "login"
		return "", "", &fe
	}
	return kind, v, nil
}
