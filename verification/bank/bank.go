package bank

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Gosid fields a bank's claims map to.
const (
	FamilyName        = "family_name"
	GivenName         = "given_name"
	MiddleName        = "middle_name"
	BirthDate         = "birthdate"           // "YYYY-MM-DD"
	SNILS             = "snils"               // "XXX-XXX-XXX YY"
	PassportSeries    = "passport_series"     // four digits
	PassportNumber    = "passport_number"     // six digits
	PassportIssueDate = "passport_issue_date" // "YYYY-MM-DD"
	INN               = "inn"
	Phone             = "phone" // E.164
	Email             = "email"
)

var fields = []string{FamilyName, GivenName, MiddleName, BirthDate, SNILS, PassportSeries, PassportNumber,
	PassportIssueDate, INN, Phone, Email}

// Fields returns every Gosid field a claim may map to, in a fixed order.
func Fields() []string { return slices.Clone(fields) }

// Purpose says why a flow was started; Finish hands it back.
type Purpose string

const (
	Confirm  Purpose = "confirm"  // a signed-in citizen confirms their identity
	Register Purpose = "register" // a new account from the bank's data
	SignIn   Purpose = "signin"   // sign in with a linked bank identity
	LinkBank Purpose = "link"     // link a bank identity to a signed-in account
)

func (p Purpose) valid() bool { return p == Confirm || p == Register || p == SignIn || p == LinkBank }

// needsAccount: Confirm and LinkBank are started by a signed-in citizen.
func (p Purpose) needsAccount() bool { return p == Confirm || p == LinkBank }

var (
	// ErrUnknownBank: no such bank, or it is disabled.
	ErrUnknownBank = errors.New("bank: unknown or disabled bank")
	// ErrUnknownFlow: the state is unknown, expired or already used.
	ErrUnknownFlow = errors.New("bank: unknown, expired or used flow")
	// ErrOtherBrowser: the callback came to a browser other than the one
	// that started the flow (Connector.Finish).
	ErrOtherBrowser = errors.New("bank: the flow came back to another browser")
	// ErrCancelled: the citizen cancelled at the bank (error=access_denied).
	ErrCancelled = errors.New("bank: cancelled at the bank")
	// ErrUnavailable: the bank could not be reached or answered 5xx or
	// with a bad discovery document; the citizen may try later.
	ErrUnavailable = errors.New("bank: unavailable")
	// ErrRefused: the bank's answer failed a protocol check (iss,
	// signature, nonce, audience, subject…).
	ErrRefused = errors.New("bank: answer refused")
	// ErrExists: a bank with this id exists.
	ErrExists = errors.New("bank: id already taken")
	// ErrLinkedElsewhere: the bank identity is linked to another account.
	ErrLinkedElsewhere = errors.New("bank: identity linked to another account")
)

// Bank is one upstream OpenID provider.
type Bank struct {
	ID             string // [a-z0-9][a-z0-9-]{1,31}
	NameRU, NameEN string
	Issuer         string // https URL (http only for loopback hosts)
	// DiscoveryURL is where the bank's metadata are, when not at
	// Issuer/.well-known/openid-configuration.
	DiscoveryURL     string
	ClientID         string
	ClientSecretFile string // exactly one of this and PrivateKeyFile
	PrivateKeyFile   string // PEM (RSA or EC) for private_key_jwt
	KeyID            string // kid of that key, optional
	Scopes           []string
	// Claims maps a Gosid field to the bank's claim; a dotted path reaches
	// into an object ("document.series").
	Claims map[string]string
	// Vouches lists the Gosid fields whose values the bank vouches for.
	Vouches              []string
	MayRegister          bool
	Sandbox              bool
	Disabled             bool
	CreatedAt, UpdatedAt time.Time
}

// Name is the bank's display name in lang ("ru" or "en").
func (b *Bank) Name(lang string) string {
	if lang == "en" && b.NameEN != "" {
		return b.NameEN
	}
	return b.NameRU
}

// scopes returns Scopes, or the default ["openid"].
func (b *Bank) scopes() []string {
	if len(b.Scopes) == 0 {
		return []string{"openid"}
	}
	return b.Scopes
}

var (
	idPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,31}$`)
	claimPattern = regexp.MustCompile(`^[A-Za-z0-9_:$-]+(\.[A-Za-z0-9_:$-]+)*$`)
	scopePattern = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)
)

// Validate returns one problem per bad field, each naming the field.
func (b *Bank) Validate() []string {
	var p []string
	add := func(field, format string, args ...any) { p = append(p, field+": "+fmt.Sprintf(format, args...)) }
	if !idPattern.MatchString(b.ID) {
		add("id", "%q is not 2–32 lower-case letters, digits and hyphens starting with a letter or digit", b.ID)
	}
	if strings.TrimSpace(b.NameRU) == "" {
		add("name-ru", "required")
	}
	if strings.TrimSpace(b.NameEN) == "" {
		add("name-en", "required")
	}
	if msg := checkIssuer(b.Issuer); msg != "" {
		add("issuer", "%s", msg)
	}
	if b.DiscoveryURL != "" {
		if msg := checkIssuer(b.DiscoveryURL); msg != "" {
			add("discovery-url", "%s", msg)
		}
	}
	if strings.TrimSpace(b.ClientID) == "" {
		add("client-id", "required")
	}
	switch {
	case b.ClientSecretFile == "" && b.PrivateKeyFile == "":
		add("client-secret-file", "one of client-secret-file and private-key-file is required")
	case b.ClientSecretFile != "" && b.PrivateKeyFile != "":
		add("client-secret-file", "only one of client-secret-file and private-key-file may be given")
	}
	if b.KeyID != "" && b.PrivateKeyFile == "" {
		add("key-id", "only with private-key-file")
	}
	if len(b.Scopes) > 0 && !slices.Contains(b.Scopes, "openid") {
		add("scopes", "must contain openid")
	}
	for _, s := range b.Scopes {
		if !scopePattern.MatchString(s) {
			add("scopes", "%q is not a scope", s)
		}
	}
	for _, f := range slices.Sorted(maps.Keys(b.Claims)) {
		if !slices.Contains(fields, f) {
			add("claim", "%q is not a Gosid field (%s)", f, strings.Join(fields, ", "))
		} else if !claimPattern.MatchString(b.Claims[f]) {
			add("claim", "%s: %q is not a claim name or dotted path", f, b.Claims[f])
		}
	}
	for _, f := range b.Vouches {
		if _, ok := b.Claims[f]; !ok {
			add("vouches", "%q is not mapped by a claim", f)
		}
	}
	return p
}

// checkIssuer: an https URL without query or fragment; http only for a
// loopback host (the sandbox bank, tests).
func checkIssuer(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Sprintf("%q is not an absolute URL without query, fragment or user", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return fmt.Sprintf("%q: http only for loopback hosts; use https", raw)
		}
	default:
		return fmt.Sprintf("%q is not an https URL", raw)
	}
	return ""
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
