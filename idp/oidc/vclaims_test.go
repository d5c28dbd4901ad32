package oidc

import (
	"context"
	"encoding/json"
	"html"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/oidc/idaschema"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

// idaSchemas are the OpenID Identity Assurance schemas of testdata/oidc-ida
// (copied from the working group's specification repository).
var idaSchemas = sync.OnceValues(func() (*idaschema.Schemas, error) { return idaschema.Load(filepath.Join("testdata", "oidc-ida")) })

// validateIDA validates doc with one of the schemas (Response or Request).
func validateIDA(t testing.TB, what string, validate func(*idaschema.Schemas) func([]byte) error, doc []byte) {
	t.Helper()
	s, err := idaSchemas()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(s)(doc); err != nil {
		t.Errorf("%s does not validate: %v\n%s", what, err, doc)
	}
}

func responseSchema(s *idaschema.Schemas) func([]byte) error { return s.Response }
func requestSchema(s *idaschema.Schemas) func([]byte) error  { return s.Request }

// checkVerifiedClaims validates a userinfo answer's or an ID token's
// claims against verified_claims.json and returns its verified_claims
// (nil when it has none).
func checkVerifiedClaims(t testing.TB, what string, claims map[string]any) []any {
	t.Helper()
	raw, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	validateIDA(t, what, responseSchema, raw)
	vc, ok := claims["verified_claims"]
	if !ok {
		return nil
	}
	list, ok := vc.([]any)
	if !ok || len(list) == 0 {
		t.Fatalf("%s: verified_claims %v, want a non-empty array", what, vc)
	}
	return list
}

// vcOP is the harness's provider with the real assurance service as its
// evidence.
type vcOP struct {
	*testOP
	Verifier *assurance.Service
}

func startVCOP(t *testing.T, db *sqldb.DB) *vcOP {
	t.Helper()
	o := &vcOP{}
	o.testOP = startOP(t, db, func(_ *Config, d *Deps) {
		accounts, km := d.Accounts.(*account.Store), d.Signer.(*keys.Manager)
		acts := account.NewActivity(db, accounts, audit.New(db, km, d.Now))
		o.Verifier = assurance.New(db, func(q sqldb.Runner) assurance.Accounts { return accounts.With(q) }, acts.Log(), km, d.Now)
		d.Evidence = o.Verifier
	})
	return o
}

// person creates an account with documents the citizen typed: claims,
// none verified.
func (o *vcOP) person(t *testing.T) *account.Account {
	t.Helper()
	a := o.citizen(t)
	snils := validate.GenerateSNILS(5_000_000 + int(phoneSeq.Add(1)))
	err := o.Accounts.UpdateDocuments(context.Background(), a.ID, account.Documents{
		Name:      &account.Name{Family: "Иванов", Given: "Иван", Middle: "Петрович"},
		BirthDate: time.Date(1985, 3, 15, 0, 0, 0, 0, time.UTC), SNILS: snils, INN: "500100732259",
		Passport: &account.Passport{Series: "4510", Number: "123456", Issuer: "ОВД Тестовый", DivisionCode: "770-001",
			IssueDate: time.Date(2010, 5, 1, 0, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	if a, err = o.Accounts.Get(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	return a
}

// registryCheck records what the pension fund confirmed: SNILS, names and
// birth date, verified at.
func (o *vcOP) registryCheck(t *testing.T, a *account.Account, at time.Time) string {
	t.Helper()
	out, err := o.Verifier.Verify(context.Background(), assurance.Verification{SNILS: a.SNILS,
		Evidence: assurance.Evidence{AccountID: a.ID, Method: assurance.MethodRegistry, Verifier: assurance.Verifier{Kind: "registry", ID: "ru_sfr"},
			Claims: []string{"snils", "family_name", "given_name", "middle_name", "birthdate"},
			Values: map[string]string{"snils": a.SNILS, "family_name": a.Name.Family, "given_name": a.Name.Given,
				"middle_name": a.Name.Middle, "birthdate": a.BirthDate.Format("2006-01-02")},
			Document: assurance.Document{Type: "snils", Number: a.SNILS}, Level: assurance.Standard, VerifiedAt: at}})
	if err != nil {
		t.Fatal(err)
	}
	return out.EvidenceID
}

// signatureProof records what a qualified certificate proved: SNILS and
// names, as idp/esign does.
func (o *vcOP) signatureProof(t *testing.T, a *account.Account, at time.Time) string {
	t.Helper()
	out, err := o.Verifier.Verify(context.Background(), assurance.Verification{SNILS: a.SNILS,
		Evidence: assurance.Evidence{AccountID: a.ID, Method: assurance.MethodQualifiedESignature, Verifier: assurance.Verifier{Kind: "ca", ID: "УЦ Тест"},
			Claims: []string{"snils", "family_name", "given_name"},
			Values: map[string]string{"snils": a.SNILS, "family_name": a.Name.Family, "given_name": a.Name.Given},
			Document: assurance.Document{Type: "qualified_certificate", Number: "01AB", Issuer: "УЦ Тест",
				IssuedAt: at.Add(-24 * time.Hour), ValidUntil: at.Add(365 * 24 * time.Hour)},
			Level: assurance.Confirmed, VerifiedAt: at}})
	if err != nil {
		t.Fatal(err)
	}
	return out.EvidenceID
}

// vcGrant is what a code exchange with a claims parameter gave.
type vcGrant struct {
	Access, Refresh, IDToken string
}

// grant runs an authorization with scope and the claims parameter and
// redeems the code. The claims parameter is first validated against
// verified_claims_request.json: Gosid accepts what the schema allows.
func (o *vcOP) grant(t *testing.T, b *browser, c *client.Client, secret, scope, claims string) vcGrant {
	t.Helper()
	validateIDA(t, "claims parameter", requestSchema, []byte(claims))
	verifier, challenge := pkce()
	code := o.code(t, b, c, challenge, "scope", scope, "claims", claims)
	r := o.call(t, pathToken, c, auth{Method: client.AuthSecretBasic, Secret: secret}, codeExchange(code, verifier))
	if r.Status != http.StatusOK {
		t.Fatalf("code exchange: %s", r)
	}
	return vcGrant{Access: r.Str("access_token"), Refresh: r.Str("refresh_token"), IDToken: r.Str("id_token")}
}

func (o *vcOP) refresh(t *testing.T, c *client.Client, secret string, g vcGrant) vcGrant {
	t.Helper()
	r := o.call(t, pathToken, c, auth{Method: client.AuthSecretBasic, Secret: secret},
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {g.Refresh}})
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %s", r)
	}
	return vcGrant{Access: r.Str("access_token"), Refresh: r.Str("refresh_token"), IDToken: r.Str("id_token")}
}

func (o *vcOP) userinfo(t *testing.T, access string) map[string]any {
	t.Helper()
	r := do(t, plainClient, http.MethodGet, o.abs(pathUserinfo), nil, header("Authorization", "Bearer "+access))
	if r.Status != http.StatusOK {
		t.Fatalf("userinfo: %s", r)
	}
	return r.JSON()
}

// vcElement finds the element of verified_claims whose
// verification_process is id (nil if none).
func vcElement(list []any, id string) map[string]any {
	for _, e := range list {
		m, _ := e.(map[string]any)
		v, _ := m["verification"].(map[string]any)
		if v["verification_process"] == id {
			return m
		}
	}
	return nil
}

func vcClaimsOf(el map[string]any) map[string]any {
	c, _ := el["claims"].(map[string]any)
	return c
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

const vcScope = "openid fullname birthdate snils inn id_doc offline_access"

// TestVerifiedClaims: verified_claims in userinfo and the ID token, from
// the real assurance service's evidence, for JWT and opaque access tokens,
// on both dialects: only verified values still equal to the account's,
// only claims the consented scopes release, max_age and value/values
// honoured, the same after a refresh; every answer validates against
// verified_claims.json.
func TestVerifiedClaims(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := startVCOP(t, db)
		for _, format := range []string{client.FormatJWT, client.FormatOpaque} {
			t.Run(format, func(t *testing.T) {
				c, secret := o.client(t, client.Client{AccessTokenFormat: format, Scopes: strings.Fields(vcScope),
					GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}})
				a := o.person(t)
				b := o.signedIn(t, a.ID)
				allNames := `{"family_name":null,"given_name":null,"middle_name":null,"birthdate":null,"snils":null,"inn":null,"id_doc":null}`
				userinfoAll := `{"userinfo":{"verified_claims":{"verification":{"trust_framework":null},"claims":` + allNames + `}}}`

				// Nothing verified yet: the typed SNILS is a plain
				// claim, never a verified one.
				g := o.grant(t, b, c, secret, vcScope, userinfoAll)
				info := o.userinfo(t, g.Access)
				if info["snils"] != a.SNILS || checkVerifiedClaims(t, "userinfo before evidence", info) != nil {
					t.Fatalf("userinfo before any evidence: %v", info)
				}

				now := o.Clock.Now()
				sfr := o.registryCheck(t, a, now.Add(-2*time.Hour))
				qes := o.signatureProof(t, a, now.Add(-time.Minute))

				// The same access token now carries both records,
				// newest first; INN and passport have no evidence.
				info = o.userinfo(t, g.Access)
				list := checkVerifiedClaims(t, "userinfo", info)
				if len(list) != 2 || vcElement(list, qes) == nil || list[0].(map[string]any)["verification"].(map[string]any)["verification_process"] != qes {
					t.Fatalf("verified_claims %v, want the e-signature then the registry record", list)
				}
				el := vcElement(list, sfr)
				if got := sortedKeys(vcClaimsOf(el)); !slices.Equal(got, []string{"birthdate", "family_name", "given_name", "middle_name", "snils"}) {
					t.Errorf("registry element claims %v", got)
				}
				if vcClaimsOf(el)["snils"] != a.SNILS || vcClaimsOf(el)["birthdate"] != "1985-03-15" {
					t.Errorf("registry element values %v", vcClaimsOf(el))
				}
				ver := el["verification"].(map[string]any)
				ev := ver["evidence"].([]any)[0].(map[string]any)
				if ver["trust_framework"] != TrustFramework || ver["assurance_level"] != "standard" || ev["type"] != "electronic_record" ||
					ev["record"].(map[string]any)["type"] != "ru_snils_record" || ev["record"].(map[string]any)["source"].(map[string]any)["name"] != "ru_sfr" {
					t.Errorf("registry verification %v", ver)
				}
				qv := vcElement(list, qes)["verification"].(map[string]any)
				qev := qv["evidence"].([]any)[0].(map[string]any)
				if qv["assurance_level"] != "confirmed" || qev["type"] != "electronic_signature" || qev["signature_type"] != "ru_qes" ||
					qev["serial_number"] != "01AB" || qev["issuer"] != "УЦ Тест" {
					t.Errorf("e-signature verification %v", qv)
				}
				// userinfo asked; the ID token did not.
				if idt := jwtClaims(t, g.IDToken); idt["verified_claims"] != nil {
					t.Errorf("ID token carries verified_claims the id_token member did not ask for: %v", idt["verified_claims"])
				}

				// max_age: the registry check is two hours old.
				g2 := o.grant(t, b, c, secret, vcScope, `{"userinfo":{"verified_claims":{"verification":{"trust_framework":{"value":"`+TrustFramework+`"},"time":{"max_age":3600}},"claims":`+allNames+`}}}`)
				list = checkVerifiedClaims(t, "userinfo with max_age", o.userinfo(t, g2.Access))
				if len(list) != 1 || vcElement(list, qes) == nil {
					t.Errorf("max_age 3600: %v, want the e-signature record only", list)
				}
				// Another trust framework, an assurance level no evidence
				// has, an evidence type none is of: nothing at all.
				for _, v := range []string{`{"trust_framework":{"value":"eidas"}}`, `{"trust_framework":null,"assurance_level":{"values":["high"]}}`,
					`{"trust_framework":null,"evidence":[{"type":{"value":"vouch"}}]}`} {
					g3 := o.grant(t, b, c, secret, vcScope, `{"userinfo":{"verified_claims":{"verification":`+v+`,"claims":`+allNames+`}}}`)
					if info := o.userinfo(t, g3.Access); checkVerifiedClaims(t, "userinfo "+v, info) != nil {
						t.Errorf("verification %s: verified_claims %v, want none", v, info["verified_claims"])
					}
				}
				// value and values: a SNILS the site expected but that is
				// not the verified one is left out; one of values kept.
				g4 := o.grant(t, b, c, secret, vcScope, `{"userinfo":{"verified_claims":[`+
					`{"verification":{"trust_framework":null,"evidence":[{"type":{"value":"electronic_record"}}]},"claims":{"snils":{"value":"000-000-000 00"},"birthdate":{"values":["1990-01-01","1985-03-15"]}}}]}}`)
				list = checkVerifiedClaims(t, "userinfo with values", o.userinfo(t, g4.Access))
				if len(list) != 1 || !slices.Equal(sortedKeys(vcClaimsOf(vcElement(list, sfr))), []string{"birthdate"}) {
					t.Errorf("value/values: %v, want the registry record with birthdate only", list)
				}
				// Scopes: without the snils scope no SNILS, verified or not.
				g5 := o.grant(t, b, c, secret, "openid fullname", userinfoAll)
				list = checkVerifiedClaims(t, "userinfo fullname only", o.userinfo(t, g5.Access))
				for _, e := range list {
					if got := sortedKeys(vcClaimsOf(e.(map[string]any))); slices.Contains(got, "snils") || slices.Contains(got, "birthdate") {
						t.Errorf("a claim no consented scope releases: %v", got)
					}
				}

				// The ID token, when the id_token member asks; and
				// after a refresh, both the refreshed ID token and the
				// refreshed access token's userinfo.
				both := `{"id_token":{"verified_claims":{"verification":{"trust_framework":null},"claims":{"snils":null,"family_name":null}}},` +
					`"userinfo":{"verified_claims":{"verification":{"trust_framework":null},"claims":{"given_name":{"purpose":"Чтобы обращаться к вам по имени"}}}}}`
				g6 := o.grant(t, b, c, secret, vcScope, both)
				checkBoth := func(what string, g vcGrant) {
					t.Helper()
					idt := jwtClaims(t, g.IDToken)
					list := checkVerifiedClaims(t, what+" ID token", idt)
					if len(list) != 2 || !slices.Equal(sortedKeys(vcClaimsOf(vcElement(list, sfr))), []string{"family_name", "snils"}) {
						t.Errorf("%s: ID token verified_claims %v", what, idt["verified_claims"])
					}
					if idt["snils"] != nil {
						t.Errorf("%s: a plain snils in the ID token", what)
					}
					list = checkVerifiedClaims(t, what+" userinfo", o.userinfo(t, g.Access))
					if len(list) != 2 || !slices.Equal(sortedKeys(vcClaimsOf(vcElement(list, qes))), []string{"given_name"}) {
						t.Errorf("%s: userinfo verified_claims %v", what, list)
					}
				}
				checkBoth("code", g6)
				g7 := o.refresh(t, c, secret, g6)
				checkBoth("refresh", g7)
				g8 := o.refresh(t, c, secret, g7)
				checkBoth("second refresh", g8)

				// The citizen changes their given name: no evidence
				// verifies the new one, so it leaves verified_claims
				// (and with it the e-signature element of userinfo).
				if err := o.Accounts.UpdateDocuments(context.Background(), a.ID, account.Documents{
					Name: &account.Name{Family: "Иванов", Given: "Пётр", Middle: "Петрович"}}); err != nil {
					t.Fatal(err)
				}
				list = checkVerifiedClaims(t, "userinfo after a name change", o.userinfo(t, g.Access))
				for _, e := range list {
					if _, ok := vcClaimsOf(e.(map[string]any))["given_name"]; ok {
						t.Errorf("a changed given name is still verified: %v", e)
					}
				}
				if len(list) != 2 {
					t.Errorf("after a name change: %d elements, want 2 (surname and SNILS are still verified)", len(list))
				}
				if list := checkVerifiedClaims(t, "userinfo given name only", o.userinfo(t, o.refresh(t, c, secret, g8).Access)); list != nil {
					t.Errorf("the only requested claim changed: verified_claims %v, want none", list)
				}
			})
		}
	})
}

// TestVerifiedClaimsRequestRefused: a malformed verified_claims request
// is an invalid_request at the authorization endpoint.
func TestVerifiedClaimsRequestRefused(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := startVCOP(t, db)
		c, _ := o.client(t, client.Client{Scopes: strings.Fields(vcScope), GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}})
		a := o.person(t)
		b := o.signedIn(t, a.ID)
		schemas, err := idaSchemas()
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{
			`{"userinfo":{"verified_claims":{"claims":{"snils":null}}}}`,
			`{"userinfo":{"verified_claims":{"verification":{},"claims":{"snils":null}}}}`,
			`{"userinfo":{"verified_claims":{"verification":{"trust_framework":null},"claims":{}}}}`,
			`{"userinfo":{"verified_claims":{"verification":{"trust_framework":null},"claims":{"snils":null},"extra":1}}}`,
			`{"userinfo":{"verified_claims":{"verification":{"trust_framework":{"value":5}},"claims":{"snils":null}}}}`,
			`{"userinfo":{"verified_claims":{"verification":{"trust_framework":null,"time":{"max_age":-1}},"claims":{"snils":null}}}}`,
			`{"userinfo":{"verified_claims":{"verification":{"trust_framework":null,"evidence":[{"type":{"value":"dna"}}]},"claims":{"snils":null}}}}`,
			`{"userinfo":{"verified_claims":{"verification":{"trust_framework":null},"claims":{"snils":{"purpose":"x"}}}}}`,
			`{"id_token":{"verified_claims":[1]}}`,
		} {
			if schemas.Request([]byte(bad)) == nil && !strings.Contains(bad, "purpose") {
				// Each case breaks the schema, or the specification's
				// prose (purpose 3 to 300 characters).
				t.Errorf("case %s validates against the request schema", bad)
			}
			_, challenge := pkce()
			cb := o.authorize(t, b, c, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "scope": {vcScope}, "claims": {bad}})
			if cb.Get("error") != "invalid_request" || cb.Get("code") != "" {
				t.Errorf("claims %s: %v, want invalid_request", bad, cb)
			}
		}
	})
}

// TestVerifiedClaimsConsent: the consent page says which requested data
// are verified, by whom and when, in Russian and in English, and nothing
// of data nobody verified; a verified_claims purpose is shown.
func TestVerifiedClaimsConsent(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := startVCOP(t, db)
		c, _ := o.client(t, client.Client{Scopes: strings.Fields(vcScope), GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}})
		a := o.person(t)
		at := time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC)
		o.registryCheck(t, a, at)
		b := o.signedIn(t, a.ID)
		claims := `{"userinfo":{"verified_claims":{"verification":{"trust_framework":null},"claims":{"snils":{"purpose":"Для записи к врачу"}}}}}`
		_, challenge := pkce()
		q := url.Values{"client_id": {c.ID}, "redirect_uri": {testRedirect}, "response_type": {"code"}, "scope": {"openid snils inn"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "claims": {claims}}
		p := b.do(t, http.MethodGet, pathAuthorize+"?"+q.Encode(), nil)
		for range 5 {
			loc := p.Header.Get("Location")
			if strings.HasPrefix(loc, pathConsent) {
				break
			}
			p = b.do(t, http.MethodGet, loc, nil)
		}
		consent := p.Header.Get("Location")
		if !strings.HasPrefix(consent, pathConsent) {
			t.Fatalf("no consent page: %s", p)
		}
		for _, lang := range []struct{ code, verified, purpose string }{
			{"ru", "подтверждено в СФР 12.03.2026", "Зачем сайту эти данные: Для записи к врачу"},
			{"en", "verified by the Pension Fund on 12.03.2026", "Why the site needs this data: Для записи к врачу"},
		} {
			r := b.do(t, http.MethodGet, consent+"&lang="+lang.code, nil)
			body := html.UnescapeString(r.Body)
			if r.Status != http.StatusOK || strings.Count(body, lang.verified) != 1 || !strings.Contains(body, lang.purpose) {
				t.Errorf("%s: consent page without %q once or %q:\n%s", lang.code, lang.verified, lang.purpose, body)
			}
			// The INN is only typed: its line says nothing more.
			for _, line := range strings.Split(body, "<li>") {
				if strings.Contains(line, validate.MaskINN(a.INN)) && strings.Contains(line, "✓") {
					t.Errorf("%s: the unverified INN is marked verified: %s", lang.code, line)
				}
			}
		}
	})
}

// TestVerifiedClaimsEvidenceTypes: every method maps to its evidence type
// and the answer validates, banks and operators included (hand-made
// records: they arrive in later issues); a registered letter is
// document evidence numbered by its tracking number; evidence without
// values verifies nothing.
func TestVerifiedClaimsEvidenceTypes(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a := &account.Account{ID: "a", Name: account.Name{Family: "Петрова", Given: "Анна"}, BirthDate: time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC),
		SNILS: "112-233-445 95", Passport: &account.Passport{Series: "4510", Number: "123456", Issuer: "ОВД"}}
	vals := map[string]string{"family_name": "ПЕТРОВА", "given_name": "Анна", "birthdate": "1990-01-02", "id_doc": "4510 123456", "snils": "11223344595"}
	claims := []string{"family_name", "given_name", "birthdate", "id_doc", "snils"}
	withOffice := maps.Clone(vals)
	withOffice[EvidenceOrganization] = "МФЦ района Хамовники"
	evs := []assurance.Evidence{
		{ID: "bank1", Method: assurance.MethodBank, Verifier: assurance.Verifier{Kind: "bank", ID: "sandbox-bank"}, Claims: claims, Values: vals, Level: assurance.Confirmed, VerifiedAt: now},
		{ID: "op1", Method: assurance.MethodOperator, Verifier: assurance.Verifier{Kind: "operator", ID: "mfc-77-001/staff-account"}, Claims: claims,
			Values:   withOffice,
			Document: assurance.Document{Type: "passport", Number: "4510 123456", IssuedAt: now.AddDate(-5, 0, 0), ValidUntil: now.AddDate(15, 0, 0)}, VerifiedAt: now},
		{ID: "fns1", Method: assurance.MethodRegistry, Verifier: assurance.Verifier{Kind: "registry", ID: "ru_mvd"}, Claims: []string{"id_doc"}, Values: vals,
			Document: assurance.Document{Type: "passport"}, VerifiedAt: now},
		{ID: "letter1", Method: assurance.MethodLetter, Verifier: assurance.Verifier{Kind: "system", ID: "letter"}, Claims: claims, Values: vals,
			Document: assurance.Document{Type: "registered_letter", Number: "RA123456785RU", Issuer: "Почта России", IssuedAt: now.AddDate(0, 0, -7)},
			Level:    assurance.Confirmed, VerifiedAt: now},
		{ID: "old1", Method: assurance.MethodRegistry, Verifier: assurance.Verifier{Kind: "registry", ID: "ru_sfr"}, Claims: claims, VerifiedAt: now},
	}
	req := json.RawMessage(`{"verification":{"trust_framework":null},"claims":{"family_name":null,"given_name":null,"birthdate":null,"id_doc":null,"snils":null}}`)
	out := verifiedClaims(req, a, evs, []string{"openid", "profile", "id_doc", "snils"}, now)
	doc, err := json.Marshal(map[string]any{"sub": "a", "verified_claims": out})
	if err != nil {
		t.Fatal(err)
	}
	validateIDA(t, "hand-made evidence", responseSchema, doc)
	var got []string
	for _, e := range out {
		v := e["verification"].(map[string]any)
		got = append(got, v["verification_process"].(string)+":"+v["evidence"].([]any)[0].(map[string]any)["type"].(string))
		if n := len(e["claims"].(map[string]any)); v["verification_process"] != "fns1" && n != 5 {
			t.Errorf("%v: %d claims, want 5", v["verification_process"], n)
		}
	}
	if want := []string{"bank1:vouch", "op1:document", "fns1:electronic_record", "letter1:document"}; !slices.Equal(got, want) {
		t.Errorf("elements %v, want %v", got, want)
	}
	if len(out) == 4 {
		dd, _ := out[3]["verification"].(map[string]any)["evidence"].([]any)[0].(map[string]any)["document_details"].(map[string]any)
		if dd["type"] != "ru_registered_letter" || dd["document_number"] != "RA123456785RU" || dd["date_of_issuance"] != "2026-11-24" {
			t.Errorf("letter's document_details %v, want the registered letter by its tracking number", dd)
		}
	}
	if doc := out[2]["claims"].(map[string]any)["id_doc"].(map[string]any); doc["series"] != "4510" || doc["type"] != "RF_PASSPORT" {
		t.Errorf("id_doc %v, want the object setClaims emits", doc)
	}
	if s := string(docJSON(t, out)); strings.Contains(s, "staff-account") || strings.Contains(s, EvidenceOrganization) {
		t.Errorf("the operator's account id or the office's key is released: %s", s)
	}
	// The office names the in-person check, as IDA 1.0 and its drafts
	// have it.
	ev := out[1]["verification"].(map[string]any)["evidence"].([]any)[0].(map[string]any)
	cd := ev["check_details"].([]any)[0].(map[string]any)
	ver, _ := ev["verifier"].(map[string]any)
	if cd["organization"] != "МФЦ района Хамовники" || cd["check_id"] != "op1" || ev["method"] != "pipp" ||
		ver["organization"] != "МФЦ района Хамовники" || ver["txn"] != "op1" {
		t.Errorf("operator evidence %v: want the office as organization and the operation as check_id/txn", ev)
	}
}

func docJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTokenIDClaimsRef: the claims ref rides in the access-token id; ids
// issued before it existed still read, without one; a malformed ref is a
// malformed id.
func TestTokenIDClaimsRef(t *testing.T) {
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	ref := claimsRef([]byte(`{"userinfo":{}}`))
	id := newTokenID("fam", "site~x", []string{"openid", "snils"}, exp, ref)
	tid, err := parseTokenID(id)
	if err != nil || tid.ClaimsRef != ref || tid.Family != "fam" || tid.ClientID != "site~x" || !tid.Expires.Equal(exp) {
		t.Fatalf("parseTokenID(%q) = %+v, %v", id, tid, err)
	}
	if strings.ContainsAny(id, ": ") {
		t.Errorf("id %q holds a character an opaque token's id:subject cannot", id)
	}
	old := "AAAAAAAAAAAAAAAA~fam~" + scopeMask([]string{"openid"}) + "~" + "9999999999" + "~site"
	if tid, err := parseTokenID(old); err != nil || tid.ClaimsRef != "" {
		t.Errorf("an id issued before claims refs: %+v, %v", tid, err)
	}
	if _, err := parseTokenID("AAAAAAAAAAAAAAAA.short~fam~1~9999999999~site"); err == nil {
		t.Error("a malformed claims ref accepted")
	}
}

// TestStoreClaimsRequests: claims requests are stored once per content,
// kept as long as the longest grant using them, read back, and swept
// after; requests without verified_claims store nothing.
func TestStoreClaimsRequests(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clock, acc := newTestStore(t, db)
		plain, _ := ParseClaimsRequest(`{"id_token":{"snils":null}}`)
		if ref, err := s.saveClaimsRequest(ctx, db, plain, clock.Now().Add(time.Hour)); err != nil || ref != "" {
			t.Fatalf("a request without verified_claims: %q, %v", ref, err)
		}
		vc, err := ParseClaimsRequest(`{"userinfo":{"verified_claims":{"verification":{"trust_framework":null},"claims":{"snils":{"purpose":"для проверки"}}}}}`)
		must(t, "parse", err)
		ref, err := s.saveClaimsRequest(ctx, db, vc, clock.Now().Add(time.Hour))
		must(t, "save", err)
		again, err := s.saveClaimsRequest(ctx, db, vc, clock.Now().Add(time.Minute))
		must(t, "save again", err)
		if ref == "" || again != ref || !validClaimsRef(ref) {
			t.Fatalf("refs %q and %q", ref, again)
		}
		// A refresh token of the grant keeps it for its own lifetime.
		rt := RefreshToken{FamilyID: "fam", ClientID: "site", AccountID: acc[0], Scopes: []string{"openid"}, ClaimsRef: ref}
		token, err := addRefreshToken(ctx, db, clock.Now(), 3*time.Hour, rt)
		must(t, "refresh token", err)
		back, _, err := s.refreshToken(ctx, db, token)
		must(t, "read refresh token", err)
		if back.ClaimsRef != ref {
			t.Errorf("refresh row's ref %q, want %q", back.ClaimsRef, ref)
		}
		got, err := s.claimsRequest(ctx, ref)
		must(t, "read", err)
		if string(got.UserInfo.VerifiedClaims) != string(vc.UserInfo.VerifiedClaims) {
			t.Errorf("read back %s", got.UserInfo.VerifiedClaims)
		}
		clock.Advance(2 * time.Hour)
		_, err = s.sweep(ctx)
		must(t, "sweep", err)
		_, err = s.claimsRequest(ctx, ref)
		must(t, "read after 2h (the refresh token keeps it)", err)
		clock.Advance(2 * time.Hour)
		_, err = s.sweep(ctx)
		must(t, "sweep", err)
		_, err = s.claimsRequest(ctx, ref)
		wantIs(t, "read after every grant expired", err, sqldb.ErrNotFound)
	})
}

// FuzzVerifiedClaimsRequest: the verified_claims request comes from any
// site. The parser never panics; what it accepts is an object or a
// non-empty array of elements each with a trust_framework constraint, and
// answering it never panics either.
func FuzzVerifiedClaimsRequest(f *testing.F) {
	for _, s := range []string{
		`{"verification":{"trust_framework":null},"claims":{"snils":null}}`,
		`[{"verification":{"trust_framework":{"values":["a","b"]},"time":{"max_age":60},"evidence":[{"type":{"value":"document"}}]},"claims":{"given_name":{"essential":true,"purpose":"abc","values":["x"]}}}]`,
		`{"verification":{"trust_framework":null,"assurance_level":{"value":"confirmed"}},"claims":null}`,
		`[]`, `{}`, `null`, `{"verification":{"trust_framework":null,"time":{"max_age":1e30}},"claims":{"a":null}}`,
	} {
		f.Add(s)
	}
	now := time.Now()
	a := &account.Account{ID: "a", Name: account.Name{Family: "Ф", Given: "И"}, SNILS: "112-233-445 95"}
	evs := []assurance.Evidence{{ID: "e", Method: assurance.MethodRegistry, Claims: []string{"snils", "given_name"},
		Values: map[string]string{"snils": "112-233-445 95", "given_name": "И"}, VerifiedAt: now.Add(-time.Minute)}}
	f.Fuzz(func(t *testing.T, s string) {
		reqs, err := parseVerifiedClaimsRequest(json.RawMessage(s))
		if err != nil {
			if reqs != nil {
				t.Fatal("an error with a result")
			}
			return
		}
		if len(reqs) == 0 || len(reqs) > maxVCRequests || !json.Valid([]byte(s)) {
			t.Fatalf("accepted %q as %d elements", s, len(reqs))
		}
		for _, r := range reqs {
			for _, c := range r.Claims {
				if c != nil && c.Purpose != "" && (len([]rune(c.Purpose)) < minPurpose || len([]rune(c.Purpose)) > maxPurpose) {
					t.Fatalf("purpose %q accepted", c.Purpose)
				}
			}
		}
		for _, e := range verifiedClaims(json.RawMessage(s), a, evs, []string{"snils", "fullname"}, now) {
			if len(e["claims"].(map[string]any)) == 0 {
				t.Fatal("an element without claims")
			}
		}
	})
}

// TestVerifiedClaimsDiscovery: discovery advertises verified_claims (IDA
// section 8) when the provider has evidence to read, and not without.
func TestVerifiedClaimsDiscovery(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		// Without evidence: a database of its own (each provider has its
		// own master key).
		for _, tc := range []struct {
			name string
			op   *testOP
			want bool
		}{{"with evidence", startVCOP(t, db).testOP, true}, {"without", startOP(t, sqldbtest.SQLite(t)), false}} {
			r := do(t, plainClient, http.MethodGet, tc.op.abs("/.well-known/openid-configuration"), nil)
			d := r.JSON()
			if r.Status != http.StatusOK || d == nil || d["claims_parameter_supported"] != true {
				t.Fatalf("%s: discovery %s", tc.name, r)
			}
			if got := d["verified_claims_supported"] == true; got != tc.want {
				t.Errorf("%s: verified_claims_supported %v, want %v", tc.name, d["verified_claims_supported"], tc.want)
			}
			if !tc.want {
				continue
			}
			raw, _ := json.Marshal(map[string]any{"tf": d["trust_frameworks_supported"], "ev": d["evidence_supported"],
				"docs": d["documents_supported"], "claims": d["claims_in_verified_claims_supported"]})
			const want = `{"claims":["family_name","given_name","middle_name","birthdate","snils","inn","id_doc"],"docs":["ru_passport","ru_snils","ru_inn","ru_registered_letter"],` +
				`"ev":["electronic_record","electronic_signature","vouch","document"],"tf":["urn:gosid:tf:ru-esia"]}`
			if string(raw) != want {
				t.Errorf("discovery's IDA members %s, want %s", raw, want)
			}
		}
	})
}

// TestVerifiedClaimsSkipDisputedEvidence: evidence its citizen disputed (a
// bank's partner-API confirmation, «Это был не я») verifies nothing.
func TestVerifiedClaimsSkipDisputedEvidence(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a := &account.Account{ID: "a", Name: account.Name{Family: "Петрова", Given: "Анна"}, SNILS: "112-233-445 95"}
	vals := map[string]string{"family_name": "Петрова", "given_name": "Анна", "snils": "11223344595"}
	ev := assurance.Evidence{ID: "bank1", Method: assurance.MethodBank, Verifier: assurance.Verifier{Kind: "bank", ID: "sber"},
		Claims: []string{"family_name", "given_name", "snils"}, Values: vals, Level: assurance.Confirmed, VerifiedAt: now}
	req := json.RawMessage(`{"verification":{"trust_framework":null},"claims":{"family_name":null,"snils":null}}`)
	scopes := []string{"openid", "fullname", "snils"}
	if out := verifiedClaims(req, a, []assurance.Evidence{ev}, scopes, now); len(out) != 1 {
		t.Fatalf("standing evidence: %v", out)
	}
	ev.DisputedAt = now.Add(time.Hour)
	if out := verifiedClaims(req, a, []assurance.Evidence{ev}, scopes, now); len(out) != 0 {
		t.Errorf("disputed evidence still verifies: %v", out)
	}
	if e := verifiedBy(a, []string{"snils"}, []assurance.Evidence{ev}); e != nil {
		t.Errorf("consent shows disputed evidence: %+v", e)
	}
}
