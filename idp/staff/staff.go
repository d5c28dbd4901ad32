package staff

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gosid/gosid/idp/audit"
)

// Kind is what an organisation is.
type Kind string

// Kinds of organisation.
const (
	KindServiceCentre Kind = "service_centre" // МФЦ
	KindPostOffice    Kind = "post_office"    // Почта России
	KindPensionOffice Kind = "pension_office" // СФР
	KindAgency        Kind = "agency"         // an agency processing applications
	KindSupport       Kind = "support"        // Gosid's support and administration
)

// Kinds are the kinds of organisation, in the order lists show them.
var Kinds = []Kind{KindServiceCentre, KindPostOffice, KindPensionOffice, KindAgency, KindSupport}

// Office reports whether k is an office where citizens confirm their
// identity in person.
func (k Kind) Office() bool {
	return k == KindServiceCentre || k == KindPostOffice || k == KindPensionOffice
}

// Role is what a staff member may do.
type Role string

// Roles.
const (
	RoleOperator   Role = "operator"   // confirms identities at an office's desk
	RoleSupervisor Role = "supervisor" // an office's operations and reports
	RoleOfficer    Role = "officer"    // processes an agency's applications
	RoleSupport    Role = "support"    // answers citizens' requests
	RoleAdmin      Role = "admin"      // administers Gosid
)

// Roles are the roles, in the order lists show them.
var Roles = []Role{RoleOperator, RoleSupervisor, RoleOfficer, RoleSupport, RoleAdmin}

// Fits reports whether an organisation of kind k has role r: operators
// and supervisors work at offices, officers at agencies, support and
// admins at a support organisation.
func (r Role) Fits(k Kind) bool {
	switch r {
	case RoleOperator, RoleSupervisor:
		return k.Office()
	case RoleOfficer:
		return k == KindAgency
	case RoleSupport, RoleAdmin:
		return k == KindSupport
	}
	return false
}

// Org is an organisation.
type Org struct {
	// Code identifies it: [a-z0-9-]{2,40}, e.g. "mfc-77-001".
	Code string
	Kind Kind
	// NameRU is required; NameEN falls back to it.
	NameRU, NameEN string
	// Region is the two-digit code of the subject of the federation
	// ("77" Moscow), as on car plates and in tax codes.
	Region string
	// Address and Hours are shown to citizens who choose an office.
	Address, Hours string

	CreatedAt, UpdatedAt time.Time
}

// Name is the organisation's name in lang ("ru", "en").
func (o Org) Name(lang string) string {
	if lang == "en" && o.NameEN != "" {
		return o.NameEN
	}
	return o.NameRU
}

var (
	codeRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,39}$`)
	regionRE = regexp.MustCompile(`^[0-9]{2}$`)
)

// Limits of an organisation's texts, in characters.
const (
	maxName    = 200
	maxAddress = 300
	maxHours   = 300
)

// Validate returns what is wrong with o, each problem naming its field
// ("code", "kind", "name_ru", "name_en", "region", "address", "hours").
func (o Org) Validate() []string {
	var p []string
	if !codeRE.MatchString(o.Code) {
		p = append(p, fmt.Sprintf("code: %q is not 2–40 of a–z, 0–9 and '-'", o.Code))
	}
	if !slices.Contains(Kinds, o.Kind) {
		p = append(p, fmt.Sprintf("kind: %q is not one of %s", o.Kind, kindList()))
	}
	if !regionRE.MatchString(o.Region) || o.Region == "00" {
		p = append(p, fmt.Sprintf("region: %q is not a two-digit region code such as 77", o.Region))
	}
	for _, f := range []struct {
		name, v  string
		max      int
		required bool
	}{{"name_ru", o.NameRU, maxName, true}, {"name_en", o.NameEN, maxName, false},
		{"address", o.Address, maxAddress, false}, {"hours", o.Hours, maxHours, false}} {
		switch {
		case f.required && strings.TrimSpace(f.v) == "":
			p = append(p, f.name+": required")
		case !utf8.ValidString(f.v) || utf8.RuneCountInString(f.v) > f.max || strings.ContainsAny(f.v, "\x00\r\n"):
			p = append(p, fmt.Sprintf("%s: at most %d characters on one line", f.name, f.max))
		}
	}
	return p
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Grant is a role an account holds in an organisation.
type Grant struct {
	AccountID string
	Role      Role
	Org       Org
	// GrantedBy is who granted it (an administrator's name).
	GrantedBy string
	GrantedAt time.Time
}

// Member is a staff member on a request that passed the Gate: the account
// and the grants it holds now.
type Member struct {
	AccountID string
	SessionID string
	Grants    []Grant
}

// Has reports whether m holds role r (in any organisation).
func (m Member) Has(r Role) bool { return len(m.In(r)) > 0 }

// In returns the organisations in which m holds role r.
func (m Member) In(r Role) []Org {
	var out []Org
	for _, g := range m.Grants {
		if g.Role == r {
			out = append(out, g.Org)
		}
	}
	return out
}

// Actor is the staff member acting for org in the activity log: kind
// operator for an office's staff, staff otherwise; the id names the
// organisation and the account ("mfc-77-001/2b1c…").
func (m Member) Actor(org Org) audit.Actor {
	kind := audit.ActorStaff
	if org.Kind.Office() {
		kind = audit.ActorOperator
	}
	return audit.Actor{Kind: kind, ID: org.Code + "/" + m.AccountID}
}
