package authz

import (
	"testing"
	"time"

	"github.com/gosid/gosid/idp/assurance"
)

func TestAuthenticate(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	began := now.Add(-time.Minute)
	u := func(n uint) *uint { return &n }
	fresh := &Session{AccountID: "a", AuthTime: now.Add(-30 * time.Second)}
	old := &Session{AccountID: "a", AuthTime: now.Add(-time.Hour)}
	for _, c := range []struct {
		name string
		r    Request
		s    *Session
		want Step
		err  string
	}{
		{"no session", Request{}, nil, SignIn, ""},
		{"no session, prompt=none", Request{Prompt: []string{"none"}}, nil, Refuse, "login_required"},
		{"session", Request{}, old, Complete, ""},
		{"max_age satisfied", Request{MaxAge: u(120)}, fresh, Complete, ""},
		{"max_age exceeded", Request{MaxAge: u(120)}, old, SignIn, ""},
		{"max_age exceeded, prompt=none", Request{MaxAge: u(120), Prompt: []string{"none"}}, old, Refuse, "login_required"},
		{"prompt=login: signed in before the request", Request{MaxAge: u(0), CreatedAt: began}, old, SignIn, ""},
		{"prompt=login: signed in after the request", Request{MaxAge: u(0), CreatedAt: began}, fresh, Complete, ""},
		{"id_token_hint of the session's account", Request{HintSubject: "a"}, old, Complete, ""},
		{"id_token_hint of someone else", Request{HintSubject: "b"}, old, SignIn, ""},
	} {
		d := Authenticate(c.r, c.s, now)
		if d.Step != c.want || d.Error != c.err {
			t.Errorf("%s: %+v, want step %d error %q", c.name, d, c.want, c.err)
		}
	}
}

func TestAuthorize(t *testing.T) {
	std := assurance.Standard
	conf := assurance.Confirmed
	for _, c := range []struct {
		name string
		r    Request
		s    Session
		sub  Subject
		want Decision
	}{
		{"first party, level enough", Request{Scopes: []string{"openid"}}, Session{}, Subject{Level: std, MinLevel: assurance.Simplified, FirstParty: true},
			Decision{Step: Complete}},
		{"client's minimum above the account's level", Request{}, Session{}, Subject{Level: std, MinLevel: conf, FirstParty: true},
			Decision{Step: RaiseLevel, Need: conf}},
		{"acr_values above the account's level", Request{ACRValues: []string{conf.ACR()}}, Session{}, Subject{Level: std, FirstParty: true},
			Decision{Step: RaiseLevel, Need: conf}},
		{"acr_values: the lowest accepted counts", Request{ACRValues: []string{conf.ACR(), std.ACR()}}, Session{}, Subject{Level: std, FirstParty: true},
			Decision{Step: Complete}},
		{"level too low, prompt=none", Request{Prompt: []string{"none"}}, Session{}, Subject{Level: std, MinLevel: conf, FirstParty: true},
			Decision{Step: Refuse, Error: "interaction_required", Description: "the account's level is below the level required"}},
		{"step-up", Request{ACRValues: []string{ACRMFA}}, Session{AMR: []string{"pwd"}}, Subject{Level: std, HasMFA: true, FirstParty: true},
			Decision{Step: StepUp}},
		{"step-up done", Request{ACRValues: []string{ACRMFA}}, Session{AMR: []string{"pwd", "otp", "mfa"}}, Subject{Level: std, HasMFA: true, FirstParty: true},
			Decision{Step: Complete}},
		{"a passkey that verified its user is a second factor", Request{ACRValues: []string{ACRMFA}}, Session{AMR: []string{"hwk", "user"}}, Subject{Level: std, FirstParty: true},
			Decision{Step: Complete}},
		{"a passkey without user verification is not", Request{ACRValues: []string{ACRMFA}}, Session{AMR: []string{"swk"}}, Subject{Level: std, FirstParty: true},
			Decision{Step: Refuse, Error: "unmet_authentication_requirements", Description: "the account has no second factor"}},
		{"step-up without a second factor", Request{ACRValues: []string{ACRMFA}}, Session{}, Subject{Level: std, FirstParty: true},
			Decision{Step: Refuse, Error: "unmet_authentication_requirements", Description: "the account has no second factor"}},
		{"step-up, prompt=none", Request{ACRValues: []string{ACRMFA}, Prompt: []string{"none"}}, Session{}, Subject{Level: std, HasMFA: true, FirstParty: true},
			Decision{Step: Refuse, Error: "interaction_required", Description: "a second factor is required"}},
		{"third party without a grant", Request{Scopes: []string{"openid"}}, Session{}, Subject{Level: std},
			Decision{Step: Consent}},
		{"third party, grant covers", Request{Scopes: []string{"openid", "email"}}, Session{}, Subject{Level: std, Granted: []string{"email", "openid", "fullname"}},
			Decision{Step: Complete}},
		{"third party, grant does not cover", Request{Scopes: []string{"openid", "snils"}}, Session{}, Subject{Level: std, Granted: []string{"openid"}},
			Decision{Step: Consent}},
		{"third party, empty grant", Request{Scopes: []string{"openid"}}, Session{}, Subject{Level: std, Granted: []string{}},
			Decision{Step: Consent}},
		{"third party, prompt=consent", Request{Scopes: []string{"openid"}, Prompt: []string{"consent"}}, Session{}, Subject{Level: std, Granted: []string{"openid"}},
			Decision{Step: Consent}},
		{"third party without a grant, prompt=none", Request{Scopes: []string{"openid"}, Prompt: []string{"none"}}, Session{}, Subject{Level: std},
			Decision{Step: Refuse, Error: "consent_required", Description: "the user has not consented to share the data"}},
		{"first party, prompt=consent: no consent page", Request{Prompt: []string{"consent"}}, Session{}, Subject{Level: std, FirstParty: true},
			Decision{Step: Complete}},
		{"the level comes before consent", Request{}, Session{}, Subject{Level: std, MinLevel: conf},
			Decision{Step: RaiseLevel, Need: conf}},
	} {
		if got := Authorize(c.r, c.s, c.sub); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestACR(t *testing.T) {
	std := assurance.Standard
	for _, c := range []struct {
		acrValues, amr []string
		want           string
	}{
		{nil, []string{"pwd", "mfa"}, std.ACR()},
		{[]string{ACRMFA}, []string{"pwd", "mfa"}, ACRMFA},
		{[]string{ACRMFA}, []string{"pwd"}, std.ACR()},
		{[]string{ACRMFA}, []string{"swk", "user"}, ACRMFA},
		{[]string{ACRMFA}, []string{"sc", "mfa"}, ACRMFA},
	} {
		if got := ACR(std, c.acrValues, c.amr); got != c.want {
			t.Errorf("ACR(%v, %v) = %s, want %s", c.acrValues, c.amr, got, c.want)
		}
	}
}
