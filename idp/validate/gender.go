package validate

import "strings"

// Values returned by Gender, as in the OpenID Connect "gender" claim.
const (
	Male   = "male"
	Female = "female"
)

// Gender accepts the usual ways of writing the sex in a Russian or English
// form — м, муж, мужской, m, male; ж, жен, женский, f, female — in any case,
// and returns "male" or "female".
func Gender(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", fail(msgGenderRequired)
	case "м", "муж", "муж.", "мужской", "m", "male":
		return Male, nil
	case "ж", "жен", "жен.", "женский", "f", "female":
		return Female, nil
	}
	return "", fail(msgGenderFormat)
}
