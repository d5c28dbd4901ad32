package assurance

import (
	"fmt"
	"strings"
)

// Level is an account's assurance level.
type Level string

const (
	Simplified Level = "simplified"
	Standard   Level = "standard"
	Confirmed  Level = "confirmed"
)

// Levels lists the levels from lowest to highest.
func Levels() []Level { return []Level{Simplified, Standard, Confirmed} }

// acrPrefix is the namespace of the levels' acr values.
const acrPrefix = "urn:gosid:loa:"

// Rank orders the levels: 1, 2, 3; 0 for an unknown one.
func (l Level) Rank() int {
	switch l {
	case Simplified:
		return 1
	case Standard:
		return 2
	case Confirmed:
		return 3
	}
	return 0
}

// Valid reports whether l is one of the levels.
func (l Level) Valid() bool { return l.Rank() > 0 }

// AtLeast reports whether l reaches need.
func (l Level) AtLeast(need Level) bool { return l.Rank() >= need.Rank() }

// ACR is the level's acr value, "urn:gosid:loa:standard".
func (l Level) ACR() string { return acrPrefix + string(l) }

// ParseACR reads an acr value; ok is false for anything that is not a
// level's (another acr, such as urn:gosid:ac:mfa).
func ParseACR(acr string) (Level, bool) {
	l := Level(strings.TrimPrefix(acr, acrPrefix))
	if !strings.HasPrefix(acr, acrPrefix) || !l.Valid() {
		return "", false
	}
	return l, true
}

// Parse reads a level's name ("standard").
func Parse(s string) (Level, error) {
	l := Level(s)
	if !l.Valid() {
		return "", fmt.Errorf("assurance: unknown level %q (want simplified, standard or confirmed)", s)
	}
	return l, nil
}

// ACRValues are the acr values of every level, lowest first (discovery's
// acr_values_supported).
func ACRValues() []string {
	out := make([]string, 0, 3)
	for _, l := range Levels() {
		out = append(out, l.ACR())
	}
	return out
}
