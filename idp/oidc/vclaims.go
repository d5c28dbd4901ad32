package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
)

// verified_claims (OpenID Connect for Identity Assurance 1.0) in userinfo
// and the ID token. Claims are not evidence: a claim appears inside
// verified_claims only when
//
//  1. a scope the citizen consented to releases it (claimScopes, the rule
//     of plain claims),
//  2. the request's verified_claims asks for it (vcrequest.go), its
//     value/values admit the value, and the evidence meets the request's
//     verification constraints (trust framework, assurance level,
//     evidence type, max_age), and
//  3. an evidence record lists it AND the account's current value equals
//     the value that evidence verified (names compared as
//     validate.SameName does, SNILS and INN by their digits, dates ISO).
//
// What the citizen typed and nobody checked never appears there, nor does
// a value the citizen changed after it was verified. The answer holds one
// element per evidence record that still verifies a requested claim,
// newest first; with none, there is no verified_claims member at all.

// Evidence reads an account's evidence (assurance.Service).
type Evidence interface {
	// Evidence lists the account's evidence records, newest first.
	Evidence(ctx context.Context, accountID string) ([]assurance.Evidence, error)
}

// TrustFramework is Gosid's trust framework in verified_claims: the
// levels of the unified identification system (ESIA), as Gosid keeps
// them.
const TrustFramework = "urn:gosid:tf:ru-esia"

// vcClaimNames are the claims verified_claims can carry
// (claims_in_verified_claims_supported).
var vcClaimNames = []string{"family_name", "given_name", "middle_name", "birthdate", "snils", "inn", "id_doc"}

// evidenceSupported is discovery's evidence_supported, and
// documentsSupported its documents_supported.
var (
	evidenceSupported  = []string{"electronic_record", "electronic_signature", "vouch", "document"}
	documentsSupported = []string{"ru_passport", "ru_snils", "ru_inn", "ru_registered_letter"}
)

// accountValue is the account's current value of a claim, written as
// evidence writes verified values (dates ISO, SNILS canonical, id_doc as
// "SERIES NUMBER"); "" when the account has none.
func accountValue(a *account.Account, claim string) string {
	switch claim {
	case "family_name":
		return a.Name.Family
	case "given_name":
		return a.Name.Given
	case "middle_name":
		return a.Name.Middle
	case "birthdate":
		if !a.BirthDate.IsZero() {
			return a.BirthDate.Format("2006-01-02")
		}
	case "snils":
		return a.SNILS
	case "inn":
		return a.INN
	case "id_doc":
		if a.Passport != nil && a.Passport.Number != "" {
			return strings.TrimSpace(a.Passport.Series + " " + a.Passport.Number)
		}
	}
	return ""
}

// sameValue reports whether an account's value and a verified one are the
// same for claim.
func sameValue(claim, current, verified string) bool {
	if current == "" || verified == "" {
		return false
	}
	switch claim {
	case "family_name", "given_name", "middle_name":
		return validate.SameName(current, verified)
	case "snils":
		return validate.SNILSDigits(current) == validate.SNILSDigits(verified) && validate.SNILSDigits(current) != ""
	case "inn", "id_doc":
		return digitsOf(current) == digitsOf(verified)
	}
	return current == verified
}

// digitsOf keeps the digits of s.
func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// released reports whether a scope of scopes releases claim.
func released(claim string, scopes []string) bool {
	return slices.ContainsFunc(claimScopes[claim], func(s string) bool { return slices.Contains(scopes, s) })
}

// claimValue is the value of claim as verified_claims carries it.
func claimValue(a *account.Account, claim string) any {
	if claim == "id_doc" {
		return idDoc(a.Passport)
	}
	return accountValue(a, claim)
}

// verifiedClaims answers the verified_claims request raw (as stored with
// the claims parameter) for account a with its evidence evs (newest
// first) and the consented scopes, at now; nil when nothing qualifies.
func verifiedClaims(raw json.RawMessage, a *account.Account, evs []assurance.Evidence, scopes []string, now time.Time) []map[string]any {
	// Evidence its citizen disputed no longer verifies anything.
	evs = assurance.Standing(evs)
	if len(raw) == 0 || len(evs) == 0 {
		return nil
	}
	reqs, err := parseVerifiedClaimsRequest(raw)
	if err != nil {
		return nil // checked at the authorization endpoint; never here
	}
	var out []map[string]any
	for _, e := range evs {
		ev, ok := evidenceObject(e)
		if !ok {
			continue
		}
		claims := map[string]any{}
		for _, r := range reqs {
			if !meets(r.Verification, e, ev["type"].(string), now) {
				continue
			}
			for _, name := range r.names {
				if _, done := claims[name]; done || !released(name, scopes) || !slices.Contains(e.Claims, name) {
					continue
				}
				cur := accountValue(a, name)
				if !sameValue(name, cur, e.Values[name]) || !r.Claims[name].allows(cur) {
					continue
				}
				claims[name] = claimValue(a, name)
			}
		}
		if len(claims) == 0 {
			continue
		}
		v := map[string]any{"trust_framework": TrustFramework, "time": e.VerifiedAt.UTC().Format(time.RFC3339),
			"verification_process": e.ID, "evidence": []any{ev}}
		if e.Level != "" {
			v["assurance_level"] = string(e.Level)
		}
		out = append(out, map[string]any{"verification": v, "claims": claims})
	}
	return out
}

// meets reports whether evidence e, of evidence type typ, meets the
// verification constraints of a request at now.
func meets(v vcVerification, e assurance.Evidence, typ string, now time.Time) bool {
	switch {
	case !v.TrustFramework.allows(TrustFramework):
		return false
	case v.AssuranceLevel != nil && len(v.AssuranceLevel.Values) > 0 && (e.Level == "" || !v.AssuranceLevel.allows(string(e.Level))):
		return false
	case len(v.EvidenceTypes) > 0 && !slices.Contains(v.EvidenceTypes, typ):
		return false
	case v.MaxAge != nil && now.Sub(e.VerifiedAt) > time.Duration(*v.MaxAge)*time.Second:
		return false
	}
	return true
}

// evidenceObject is the evidence element of a record, by method; false
// for a method verified_claims has no evidence type for.
func evidenceObject(e assurance.Evidence) (map[string]any, bool) {
	at := e.VerifiedAt.UTC().Format(time.RFC3339)
	switch e.Method {
	case assurance.MethodRegistry:
		record := map[string]any{"type": "ru_" + docType(e) + "_record", "source": map[string]any{"name": e.Verifier.ID}}
		return map[string]any{"type": "electronic_record", "record": record, "time": at}, true
	case assurance.MethodQualifiedESignature:
		issuer := e.Document.Issuer
		if issuer == "" {
			issuer = e.Verifier.ID
		}
		return map[string]any{"type": "electronic_signature", "signature_type": "ru_qes", "issuer": issuer,
			"serial_number": e.Document.Number, "created_at": at}, true
	case assurance.MethodBank:
		// The bank by the name it goes by (its id when none was kept).
		org := e.Document.Issuer
		if org == "" {
			org = e.Verifier.ID
		}
		att := map[string]any{"type": "digital_attestation", "voucher": map[string]any{"organization": org}}
		return map[string]any{"type": "vouch", "attestation": att, "time": at}, true
	case assurance.MethodOperator:
		// The operator's identity stays Gosid's: the check says what was
		// done (a physical document inspected in person) and at which
		// office, not by whom. The office and the operation id appear as
		// IDA 1.0 has them (check_details: organization, check_id) and as
		// the earlier drafts that relying parties still read had them
		// (method "pipp", verifier: organization, txn).
		check := map[string]any{"check_method": "vpip", "time": at}
		ev := map[string]any{"type": "document", "method": "pipp", "check_details": []any{check}, "time": at}
		if org := e.Values[EvidenceOrganization]; org != "" {
			check["organization"], check["check_id"] = org, e.ID
			ev["verifier"] = map[string]any{"organization": org, "txn": e.ID}
		}
		if e.Document.Type != "" {
			dd := map[string]any{"type": "ru_" + docType(e)}
			if !e.Document.IssuedAt.IsZero() {
				dd["date_of_issuance"] = e.Document.IssuedAt.Format("2006-01-02")
			}
			if !e.Document.ValidUntil.IsZero() {
				dd["date_of_expiry"] = e.Document.ValidUntil.Format("2006-01-02")
			}
			ev["document_details"] = dd
		}
		return ev, true
	case assurance.MethodLetter:
		// A code by registered letter (verification/letter): the post
		// office hands the letter over only to its addressee, on their
		// passport (check vpip, by the post); the letter itself, by its
		// tracking number, is the document.
		post := e.Document.Issuer
		if post == "" {
			post = "Почта России"
		}
		dd := map[string]any{"type": "ru_" + docType(e), "document_number": e.Document.Number,
			"issuer": map[string]any{"name": post, "country_code": "RUS"}}
		if !e.Document.IssuedAt.IsZero() {
			dd["date_of_issuance"] = e.Document.IssuedAt.Format("2006-01-02")
		}
		if !e.Document.ValidUntil.IsZero() {
			dd["date_of_expiry"] = e.Document.ValidUntil.Format("2006-01-02")
		}
		check := map[string]any{"check_method": "vpip", "organization": post, "time": at}
		return map[string]any{"type": "document", "document_details": dd, "check_details": []any{check}, "time": at}, true
	}
	return nil, false
}

// EvidenceOrganization is the key under which evidence of an operator
// keeps the name of the office where the document was seen, among its
// values (never a claim: it is not in Claims), for verifier.organization.
const EvidenceOrganization = "_verifier_organization"

// docType is the evidence's document type, or what its first claim says.
func docType(e assurance.Evidence) string {
	if e.Document.Type != "" {
		return e.Document.Type
	}
	if len(e.Claims) > 0 {
		return e.Claims[0]
	}
	return "data"
}

// verifiedClaimsOf answers set's verified_claims request for account a and
// the consented scopes: nil when the set has none or nothing qualifies.
func (ad *adapter) verifiedClaimsOf(ctx context.Context, set ClaimSet, a *account.Account, scopes []string) ([]map[string]any, error) {
	if len(set.VerifiedClaims) == 0 || ad.evidence == nil {
		return nil, nil
	}
	evs, err := ad.evidence.Evidence(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	return ad.verifiedClaimsFrom(set, a, evs, scopes), nil
}

// verifiedClaimsFrom is verifiedClaimsOf with the evidence read already.
func (ad *adapter) verifiedClaimsFrom(set ClaimSet, a *account.Account, evs []assurance.Evidence, scopes []string) []map[string]any {
	if len(set.VerifiedClaims) == 0 || ad.evidence == nil {
		return nil
	}
	return verifiedClaims(set.VerifiedClaims, a, evs, scopes, ad.store.now())
}

// userinfoVerifiedClaims adds to a userinfo answer the verified_claims
// that the userinfo member of the token's claims request asked for. A
// claims request swept away (every grant using it expired) asks nothing.
func (ad *adapter) userinfoVerifiedClaims(ctx context.Context, info *zoidc.UserInfo, tid tokenID, a *account.Account) error {
	cr, err := ad.store.claimsRequest(ctx, tid.ClaimsRef)
	if errors.Is(err, sqldb.ErrNotFound) || cr == nil && err == nil {
		return nil
	}
	if err != nil {
		return err
	}
	vc, err := ad.verifiedClaimsOf(ctx, cr.UserInfo, a, tid.Scopes)
	if err != nil {
		return err
	}
	if len(vc) > 0 {
		info.AppendClaims("verified_claims", vc)
	}
	return nil
}
