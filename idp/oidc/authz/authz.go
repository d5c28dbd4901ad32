package authz

import (
	"slices"
	"time"

	"github.com/gosid/gosid/idp/assurance"
)

// ACRMFA asks for (and, when satisfied, reports) a second factor.
const ACRMFA = "urn:gosid:ac:mfa"

// Request is what the authorization request asked for.
type Request struct {
	Prompt    []string
	MaxAge    *uint
	ACRValues []string
	// HintSubject is the sub of a valid id_token_hint.
	HintSubject string
	Scopes      []string
	// CreatedAt is when the request began.
	CreatedAt time.Time
}

// Session is the citizen's SSO session.
type Session struct {
	AccountID string
	AuthTime  time.Time
	AMR       []string
}

// Step is what a request needs next.
type Step int

const (
	Complete Step = iota
	SignIn
	RaiseLevel
	StepUp
	Consent
	// Refuse: answer the site with Decision.Error.
	Refuse
)

// Decision is the next step, and with Refuse the OAuth error for the
// site; with RaiseLevel, the level needed.
type Decision struct {
	Step        Step
	Error       string
	Description string
	Need        assurance.Level
}

func refuse(code, description string) Decision {
	return Decision{Step: Refuse, Error: code, Description: description}
}

func (r *Request) promptNone() bool { return slices.Contains(r.Prompt, "none") }

// Authenticate decides whether the session (nil: none) serves the request
// at now, or a sign-in is needed.
func Authenticate(r Request, s *Session, now time.Time) Decision {
	if !needsSignIn(r, s, now) {
		return Decision{Step: Complete}
	}
	if r.promptNone() {
		return refuse("login_required", "")
	}
	return Decision{Step: SignIn}
}

func needsSignIn(r Request, s *Session, now time.Time) bool {
	if s == nil {
		return true
	}
	if r.MaxAge != nil {
		maxAge := time.Duration(*r.MaxAge) * time.Second
		if maxAge == 0 {
			// prompt=login or max_age=0: a sign-in after this request began.
			return s.AuthTime.Before(r.CreatedAt)
		}
		if now.Sub(s.AuthTime) > maxAge {
			return true
		}
	}
	return r.HintSubject != "" && r.HintSubject != s.AccountID
}

// Subject is what the decisions after the sign-in know of the citizen and
// the site.
type Subject struct {
	// Level is the account's assurance level; HasMFA, whether it has a
	// second factor.
	Level  assurance.Level
	HasMFA bool
	// MinLevel is the client's minimum level; FirstParty clients are not
	// asked consent for.
	MinLevel   assurance.Level
	FirstParty bool
	// Granted is what the citizen allowed the client before (nil: no
	// grant). Only read for third-party clients.
	Granted []string
}

// Strong reports whether a sign-in's methods (amr) meet a request for a
// second factor (acr urn:gosid:ac:mfa): two factors ("mfa"), a qualified
// e-signature ("sc"), or a passkey that verified its user (a hardware or
// software key, "hwk"/"swk", with "user": possession and a PIN or a
// biometric in one step). The staff gate (idp/staff) uses the same rule.
func Strong(amr []string) bool {
	if slices.Contains(amr, "mfa") || slices.Contains(amr, "sc") {
		return true
	}
	return (slices.Contains(amr, "hwk") || slices.Contains(amr, "swk")) && slices.Contains(amr, "user")
}

// Authorize decides what an authenticated request (session s) needs
// before a code is issued.
func Authorize(r Request, s Session, sub Subject) Decision {
	if need := RequiredLevel(sub.MinLevel, r.ACRValues); !sub.Level.AtLeast(need) {
		if r.promptNone() {
			return refuse("interaction_required", "the account's level is below the level required")
		}
		return Decision{Step: RaiseLevel, Need: need}
	}
	if slices.Contains(r.ACRValues, ACRMFA) && !Strong(s.AMR) {
		switch {
		case r.promptNone():
			return refuse("interaction_required", "a second factor is required")
		case !sub.HasMFA:
			return refuse("unmet_authentication_requirements", "the account has no second factor")
		}
		return Decision{Step: StepUp}
	}
	if !sub.FirstParty && (slices.Contains(r.Prompt, "consent") || sub.Granted == nil || !Covers(sub.Granted, r.Scopes)) {
		if r.promptNone() {
			return refuse("consent_required", "the user has not consented to share the data")
		}
		return Decision{Step: Consent}
	}
	return Decision{Step: Complete}
}

// RequiredLevel is the higher of the client's minimum and the lowest
// level the request's acr_values accept.
func RequiredLevel(minLevel assurance.Level, acrValues []string) assurance.Level {
	need := minLevel
	lowest := assurance.Level("")
	for _, v := range acrValues {
		if l, ok := assurance.ParseACR(v); ok && (lowest == "" || l.Rank() < lowest.Rank()) {
			lowest = l
		}
	}
	if lowest.Rank() > need.Rank() {
		need = lowest
	}
	return need
}

// ACR is the acr a completed request reports: the account's level, or
// urn:gosid:ac:mfa when the site asked for a second factor and the
// session has one.
func ACR(level assurance.Level, acrValues, amr []string) string {
	if slices.Contains(acrValues, ACRMFA) && Strong(amr) {
		return ACRMFA
	}
	return level.ACR()
}

// Covers reports whether granted includes every requested scope
// (openid and offline_access are asked about too).
func Covers(granted, requested []string) bool {
	for _, s := range requested {
		if !slices.Contains(granted, s) {
			return false
		}
	}
	return true
}
