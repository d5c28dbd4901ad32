package oidc

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseClaimsRequest(t *testing.T) {
	for _, tc := range []struct {
		in      string
		idToken []string
		ok      bool
	}{
		{``, nil, true},
		{`{}`, nil, true},
		{`{"id_token": {"family_name": null, "snils": {"essential": true}}}`, []string{"family_name", "snils"}, true},
		{` {"userinfo": {"email": {"value": "a@b.ru"}}, "other": 5} `, nil, true},
		{`{"id_token": {"acr": {"values": ["urn:gosid:loa:standard", 2]}, "x-unknown": {"future": 1}}}`, []string{"acr", "x-unknown"}, true},
		{`{"id_token": {"verified_claims": [{"verification": {"trust_framework": null}, "claims": {"snils": null}}]}}`, nil, true},
		{`{"id_token": {"verified_claims": [{"verification": {}, "claims": {"snils": null}}]}}`, nil, false},
		{`null`, nil, false},
		{`[]`, nil, false},
		{`{"id_token": null}`, nil, false},
		{`{"id_token": {"email": 1}}`, nil, false},
		{`{"id_token": {"email": {"essential": 1}}}`, nil, false},
		{`{"id_token": {"email": {"values": {}}}}`, nil, false},
		{`{"id_token": {"": null}}`, nil, false},
		{`{"id_token": {"verified_claims": "x"}}`, nil, false},
		{`{"id_token": {}}x`, nil, false},
		{"{\"id_token\": {\"\xff\": null}}", nil, false},
		{`{"id_token": {` + strings.Repeat(`"c": null, `, 10) + `"d": null}}`, []string{"c", "d"}, true},
	} {
		got, err := ParseClaimsRequest(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseClaimsRequest(%q) error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if err != nil && !errors.Is(err, errClaimsParam) {
			t.Errorf("ParseClaimsRequest(%q) error %v is not errClaimsParam", tc.in, err)
		}
		if tc.ok && !slices.Equal(got.IDTokenClaims(), tc.idToken) {
			t.Errorf("ParseClaimsRequest(%q) id_token claims %v, want %v", tc.in, got.IDTokenClaims(), tc.idToken)
		}
	}
	// Too many claims, and too long.
	many := `{"id_token": {`
	for i := range maxClaimsPerSet + 1 {
		many += `"c` + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + `": null,`
	}
	many = strings.TrimSuffix(many, ",") + `}}`
	if _, err := ParseClaimsRequest(many); err == nil {
		t.Error("more than maxClaimsPerSet claims accepted")
	}
	if _, err := ParseClaimsRequest(`{"x": "` + strings.Repeat("y", maxClaimsParam) + `"}`); err == nil {
		t.Error("an oversized claims parameter accepted")
	}

	// The parsed request survives storage with the auth request.
	in, err := ParseClaimsRequest(`{"id_token": {"birthdate": {"essential": true, "value": 12345678901234567890}, "verified_claims": {"verification": {"trust_framework": null}, "claims": {"snils": {"value": 1}}}}}`)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(Request{Claims: in})
	if err != nil {
		t.Fatal(err)
	}
	var back Request
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Claims.IDToken.Claims["birthdate"] == nil || !back.Claims.IDToken.Claims["birthdate"].Essential ||
		string(back.Claims.IDToken.VerifiedClaims) != `{"verification":{"trust_framework":null},"claims":{"snils":{"value":1}}}` || string(back.Claims.IDToken.Claims["birthdate"].Value) != "12345678901234567890" {
		t.Errorf("stored and read back: %s", raw)
	}

	// Essential claims add the narrowest scope that releases them, only
	// when the client may have it and no asked-for scope releases them.
	c, _ := ParseClaimsRequest(`{"id_token": {"family_name": {"essential": true}, "email": {"essential": true}, "inn": {"essential": true}, "phone_number": null},
		"userinfo": {"gender": {"essential": true}}}`)
	allowed := func(s string) bool { return s != "inn" }
	got := withEssentialScopes([]string{"openid", "profile"}, c, allowed)
	if want := []string{"openid", "profile", "email"}; !reflect.DeepEqual(got, want) {
		t.Errorf("withEssentialScopes = %v, want %v", got, want)
	}
	if got := withEssentialScopes([]string{"openid"}, c, allowed); !slices.Contains(got, "fullname") || !slices.Contains(got, "gender") || slices.Contains(got, "mobile") {
		t.Errorf("withEssentialScopes without profile = %v", got)
	}
	// Inside verified_claims too.
	vc, err := ParseClaimsRequest(`{"userinfo": {"verified_claims": {"verification": {"trust_framework": null},
		"claims": {"snils": {"essential": true}, "birthdate": null}}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := withEssentialScopes([]string{"openid"}, vc, allowed); !slices.Equal(got, []string{"openid", "snils"}) {
		t.Errorf("withEssentialScopes of verified_claims = %v, want snils added (essential), birthdate not (voluntary)", got)
	}
}

// FuzzParseClaimsRequest: the claims parameter comes from any site's
// authorization URL. The parser never panics, accepts only a JSON object
// within the limits, and what it accepts survives storage as JSON.
func FuzzParseClaimsRequest(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"id_token": {"email": null}}`, `{"userinfo": {"snils": {"essential": true, "values": [1, "a", null]}}}`,
		`{"id_token": {"verified_claims": {"verification": {"trust_framework": null}}}}`, `{"id_token": []}`, `[1]`, `{"a":`, "\xff",
		`{"id_token": {"email": {"essential": true}}} trailing`, `{"id_token": {"n": {"value": 1e999}}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseClaimsRequest(s)
		if err != nil {
			if c != nil {
				t.Fatalf("an error with a result: %v", err)
			}
			return
		}
		if s == "" {
			if c != nil {
				t.Fatal("no parameter gave a request")
			}
			return
		}
		if len(s) > maxClaimsParam || !utf8.ValidString(s) || !json.Valid([]byte(s)) {
			t.Fatalf("accepted %q", s)
		}
		for _, set := range []ClaimSet{c.IDToken, c.UserInfo} {
			if len(set.Claims) > maxClaimsPerSet {
				t.Fatalf("accepted %d claims", len(set.Claims))
			}
			if set.VerifiedClaims != nil && !json.Valid(set.VerifiedClaims) {
				t.Fatalf("verified_claims kept as invalid JSON: %q", set.VerifiedClaims)
			}
		}
		raw, err := json.Marshal(Request{Claims: c})
		if err != nil {
			t.Fatalf("an accepted request does not marshal: %v", err)
		}
		var back Request
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("a stored request does not read back: %v", err)
		}
		if !slices.Equal(back.Claims.IDTokenClaims(), c.IDTokenClaims()) {
			t.Fatalf("claims changed in storage: %v → %v", c.IDTokenClaims(), back.Claims.IDTokenClaims())
		}
		_ = withEssentialScopes([]string{"openid"}, c, func(string) bool { return true })
	})
}
