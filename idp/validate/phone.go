package validate

import (
	"strings"
	"unicode"
)

// Phone validates a Russian mobile phone number written in any common way
// (+7 (912) 345-67-89, 8 (912) 345-67-89, 89123456789, 79123456789,
// 9123456789, +7 912 345 67 89, 8-912-345-67-89) and returns it in E.164
// form, +79123456789.
//
// Only digits, spaces, hyphens, one pair of parentheses and a leading "+"
// are allowed. Numbers with another country code get the code "country";
// Russian numbers whose first digit after +7 is not 9 (landlines) get
// "not_mobile", because codes are sent by SMS.
func Phone(s string) (string, error) {
	national, err := phoneNational(s)
	if err != nil {
		return "", err
	}
	return "+7" + national, nil
}

// phoneNational returns the ten digits after +7.
func phoneNational(s string) (string, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", fail(msgPhoneRequired)
	}
	if len(t) > maxInput {
		return "", fail(msgPhoneFormat)
	}
	plus := false
	open := -1 // digits before "(", or -1
	closed := false
	d := make([]byte, 0, 11)
	for i, r := range t {
		switch {
		case r >= '0' && r <= '9':
			if len(d) == 15 {
				return "", fail(msgPhoneFormat)
			}
			d = append(d, byte(r))
		case r == '+' && i == 0:
			plus = true
		case r == '(' && open < 0 && (len(d) == 1 || len(d) == 0 && !plus):
			// The area code in parentheses: "+7 (912)", "8 (912)", "(912)".
			open = len(d)
		case r == ')' && open >= 0 && !closed && len(d) == open+3:
			closed = true
		case r == '-' || unicode.IsSpace(r):
		default:
			return "", fail(msgPhoneFormat)
		}
	}
	if open >= 0 && !closed {
		return "", fail(msgPhoneFormat)
	}
	var national []byte
	switch {
	case plus && len(d) > 0 && d[0] != '7':
		return "", fail(msgPhoneCountry)
	case plus && len(d) == 11:
		national = d[1:]
	case plus:
		return "", fail(msgPhoneFormat)
	case len(d) == 11 && (d[0] == '8' || d[0] == '7'):
		national = d[1:]
	case len(d) == 10:
		national = d
	default:
		return "", fail(msgPhoneFormat)
	}
	if national[0] != '9' {
		return "", fail(msgPhoneNotMobile)
	}
	return string(national), nil
}

// FormatPhone writes a valid phone number for people: +7 (912) 345-67-89.
// It returns s unchanged when it is not a valid mobile number.
func FormatPhone(s string) string {
	n, err := phoneNational(s)
	if err != nil {
		return s
	}
	return "+7 (" + n[0:3] + ") " + n[3:6] + "-" + n[6:8] + "-" + n[8:10]
}

// MaskPhone writes a valid phone number with its middle digits hidden,
// +7 (912) ***-**-89, for messages such as "we sent a code to …". It returns
// "" when s is not a valid mobile number.
func MaskPhone(s string) string {
	n, err := phoneNational(s)
	if err != nil {
		return ""
	}
	return "+7 (" + n[0:3] + ") ***-**-" + n[8:10]
}
