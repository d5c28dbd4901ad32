package auth

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestProfileOf(t *testing.T) {
	info := map[string]any{}
	raw := `{"sub":"a1","family_name":"Иванова","given_name":"Мария","middle_name":"Петровна","birthdate":"1990-05-01",
		"phone_number":"+79160000000","email":"m@example.ru","snils":"112-233-445 95","inn":"500100732259",
		"id_doc":{"type":"RF_PASSPORT","series":"4510","number":"123456"},
		"verified_claims":[
		  {"verification":{"trust_framework":"urn:gosid:tf:ru-esia","assurance_level":"standard"},"claims":{"family_name":"Иванова","snils":"112-233-445 95"}},
		  {"verification":{"trust_framework":"urn:gosid:tf:ru-esia","assurance_level":"confirmed"},"claims":{"id_doc":{"series":"4510"}}}],
		"gosid_roles":[{"role":"officer","org":"agency-x"},{"role":""}]}`
	if err := json.Unmarshal([]byte(raw), &info); err != nil {
		t.Fatal(err)
	}
	p := profileOf(info, "urn:gosid:loa:standard")
	if p.Level != "confirmed" || p.Passport != "4510 123456" || p.Name() != "Мария Петровна" || p.Phone != "+79160000000" {
		t.Fatalf("profile %+v", p)
	}
	slices.Sort(p.Verified)
	if !slices.Equal(p.Verified, []string{"family_name", "passport", "snils"}) || !p.IsVerified("snils") || p.IsVerified("inn") {
		t.Fatalf("verified %v", p.Verified)
	}
	if len(p.Roles) != 1 || !p.HasRole("officer", "agency-x") || p.HasRole("officer", "agency-y") {
		t.Fatalf("roles %+v", p.Roles)
	}
	// One verified_claims object, a level acr, nothing else.
	p = profileOf(map[string]any{"verified_claims": map[string]any{"verification": map[string]any{"assurance_level": "standard"},
		"claims": map[string]any{"birthdate": "1990-05-01"}}}, "urn:gosid:ac:mfa")
	if p.Level != "standard" || !p.IsVerified("birthdate") {
		t.Fatalf("profile %+v", p)
	}
	// An unknown level claims nothing.
	if p := profileOf(map[string]any{"verified_claims": map[string]any{"verification": map[string]any{"assurance_level": "godlike"}}}, "urn:gosid:loa:nope"); p.Level != "simplified" {
		t.Fatalf("level %q from unknown values", p.Level)
	}
}

func TestNeedAndMeets(t *testing.T) {
	s := &Session{Profile: Profile{Level: "standard"}}
	for _, tc := range []struct {
		need Need
		want bool
	}{{Need{}, true}, {Need{Level: "simplified"}, true}, {Need{Level: "standard"}, true}, {Need{Level: "confirmed"}, false}, {Need{MFA: true}, false}} {
		if got := s.Meets(tc.need); got != tc.want {
			t.Errorf("standard session meets %+v: %v", tc.need, got)
		}
	}
	s.MFA = true
	if !s.Meets(Need{Level: "standard", MFA: true}) {
		t.Error("standard session with a second factor does not meet standard+mfa")
	}
	if got := (Need{Level: "confirmed", MFA: true}).acrValues(); !slices.Equal(got, []string{"urn:gosid:loa:confirmed", "urn:gosid:ac:mfa"}) {
		t.Errorf("acr_values %v", got)
	}
}

// FuzzProfileOf: userinfo comes from the network; whatever its shape,
// reading it neither panics nor invents a level.
func FuzzProfileOf(f *testing.F) {
	f.Add(`{"verified_claims":[{"verification":{"assurance_level":"confirmed"},"claims":{"id_doc":1}}],"gosid_roles":[{"role":"x"}]}`, "urn:gosid:loa:standard")
	f.Add(`{"verified_claims":{"claims":null},"id_doc":"x","address":{"formatted":7}}`, "")
	f.Fuzz(func(t *testing.T, raw, acr string) {
		var info map[string]any
		if json.Unmarshal([]byte(raw), &info) != nil {
			return
		}
		p := profileOf(info, acr)
		if Rank(p.Level) == 0 {
			t.Fatalf("level %q", p.Level)
		}
	})
}
