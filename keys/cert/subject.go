package cert

import (
	"crypto/x509"
	"encoding/asn1"
	"strings"
)

// Russian subject attributes and extensions (Order of the FSB No. 795 and
// its successors).
var (
	OIDSNILS           = asn1.ObjectIdentifier{1, 2, 643, 100, 3}
	OIDINN             = asn1.ObjectIdentifier{1, 2, 643, 3, 131, 1, 1}
	OIDINNLE           = asn1.ObjectIdentifier{1, 2, 643, 100, 4}
	OIDOGRN            = asn1.ObjectIdentifier{1, 2, 643, 100, 1}
	OIDOGRNIP          = asn1.ObjectIdentifier{1, 2, 643, 100, 5}
	OIDSubjectSignTool = asn1.ObjectIdentifier{1, 2, 643, 100, 111}
	OIDIssuerSignTool  = asn1.ObjectIdentifier{1, 2, 643, 100, 112}
	// OIDQualifiedPolicies is the arc of the signing-tool class policies:
	// .1 КС1, .2 КС2, .3 КС3, .4 КВ1, .5 КВ2, .6 КА1.
	OIDQualifiedPolicies = asn1.ObjectIdentifier{1, 2, 643, 100, 113}

	oidSurname      = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidGivenName    = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidOrganization = asn1.ObjectIdentifier{2, 5, 4, 10}
)

// Subject holds the identifying attributes of a Russian qualified
// certificate. Numeric identifiers are set only when well formed (digits
// only, of the right length); anything else leaves them empty, so that a
// malformed value never matches an account.
type Subject struct {
	SNILS        string // 11 digits
	INN          string // personal INN: 12 digits (10 for old certificates of legal entities)
	INNLE        string // INN of a legal entity: 10 digits
	OGRN         string // 13 digits
	OGRNIP       string // 15 digits
	FamilyName   string // SN
	GivenName    string // G: given name and patronymic, as written in the certificate
	CommonName   string
	Organization string
	// Policies lists the certificate policy OIDs in dotted form.
	Policies []string
	// Qualified reports that the certificate claims to be qualified: it
	// names the signing tools (subjectSignTool or issuerSignTool) or a
	// signing-tool class policy. The claim means something only once the
	// chain to an accredited CA has been verified.
	Qualified bool
}

// SubjectOf extracts the Russian subject attributes of c.
func SubjectOf(c *x509.Certificate) Subject {
	var s Subject
	for _, n := range c.Subject.Names {
		v, ok := n.Value.(string)
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch {
		case n.Type.Equal(OIDSNILS):
			s.SNILS = digits(v, 11)
		case n.Type.Equal(OIDINN):
			s.INN = digits(v, 12, 10)
		case n.Type.Equal(OIDINNLE):
			s.INNLE = digits(v, 10)
		case n.Type.Equal(OIDOGRN):
			s.OGRN = digits(v, 13)
		case n.Type.Equal(OIDOGRNIP):
			s.OGRNIP = digits(v, 15)
		case n.Type.Equal(oidSurname):
			s.FamilyName = v
		case n.Type.Equal(oidGivenName):
			s.GivenName = v
		case n.Type.Equal(oidCommonName):
			s.CommonName = v
		case n.Type.Equal(oidOrganization):
			s.Organization = v
		}
	}
	for _, p := range c.Policies {
		s.Policies = append(s.Policies, p.String())
		if strings.HasPrefix(p.String(), OIDQualifiedPolicies.String()+".") {
			s.Qualified = true
		}
	}
	if len(c.Policies) == 0 {
		for _, p := range c.PolicyIdentifiers {
			s.Policies = append(s.Policies, p.String())
			if strings.HasPrefix(p.String(), OIDQualifiedPolicies.String()+".") {
				s.Qualified = true
			}
		}
	}
	for _, e := range c.Extensions {
		if e.Id.Equal(OIDSubjectSignTool) || e.Id.Equal(OIDIssuerSignTool) {
			s.Qualified = true
		}
	}
	return s
}

// digits returns v if it is all ASCII digits and has one of the lengths.
func digits(v string, lengths ...int) string {
	for _, r := range v {
		if r < '0' || r > '9' {
			return ""
		}
	}
	for _, n := range lengths {
		if len(v) == n {
			return v
		}
	}
	return ""
}

// ValidSNILS reports whether s is 11 digits with a correct check number.
func ValidSNILS(s string) bool {
	if digits(s, 11) == "" {
		return false
	}
	sum := 0
	for i := range 9 {
		sum += int(s[i]-'0') * (9 - i)
	}
	for sum > 101 {
		sum %= 101
	}
	if sum == 100 || sum == 101 {
		sum = 0
	}
	return int(s[9]-'0')*10+int(s[10]-'0') == sum
}
