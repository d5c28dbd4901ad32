package oidc

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/bearer"
)

// setClaims fills userinfo with what the scopes release of the account,
// and only values that exist.
func setClaims(info *zoidc.UserInfo, a *account.Account, scopes []string) {
	info.Subject = a.ID
	has := func(s string) bool { return slices.Contains(scopes, s) }
	if has("profile") || has("fullname") {
		info.FamilyName = a.Name.Family
		info.GivenName = a.Name.Given
		info.Name = a.Name.Full()
		if a.Name.Middle != "" {
			info.MiddleName = a.Name.Middle
		}
	}
	if has("birthdate") || has("profile") {
		if !a.BirthDate.IsZero() {
			info.Birthdate = a.BirthDate.Format("2006-01-02")
		}
	}
	if has("gender") || has("profile") {
		if a.Gender != "" {
			info.Gender = zoidc.Gender(a.Gender)
		}
	}
	if has("email") && a.Email.Value != "" {
		info.Email = a.Email.Value
		info.EmailVerified = zoidc.Bool(a.Email.Verified())
	}
	if has("mobile") && a.Phone.Value != "" {
		info.PhoneNumber = a.Phone.Value
		info.PhoneNumberVerified = zoidc.Bool(a.Phone.Verified())
	}
	if has("snils") && a.SNILS != "" {
		info.AppendClaims("snils", a.SNILS)
	}
	if has("inn") && a.INN != "" {
		info.AppendClaims("inn", a.INN)
	}
	if has("id_doc") && a.Passport != nil {
		info.AppendClaims("id_doc", idDoc(a.Passport))
	}
}

// idDoc is the id_doc claim of a passport.
func idDoc(p *account.Passport) map[string]any {
	doc := map[string]any{"type": "RF_PASSPORT", "series": p.Series, "number": p.Number,
		"issued_by": p.Issuer, "division_code": p.DivisionCode}
	if !p.IssueDate.IsZero() {
		doc["issue_date"] = p.IssueDate.Format("2006-01-02")
	}
	return doc
}

// Access-token ids carry what userinfo and introspection need without a
// database row per token (the token is signed or sealed, so the id cannot
// be altered): random[.claims-ref]~family~scope-mask~expiry~client. The
// family is "-" for tokens without a refresh token; the expiry (Unix
// seconds) is there because an opaque token is only the sealed id and
// subject: nothing else would tell that it has expired. The claims ref,
// when the grant's claims parameter is stored (store_claims.go), follows
// the random part after a dot: ids issued before have none and read as
// tokens without a claims request.
func newTokenID(family, clientID string, scopes []string, expires time.Time, claimsRef string) string {
	t, _ := bearer.New()
	if family == "" {
		family = "-"
	}
	random := t[:16]
	if claimsRef != "" {
		random += "." + claimsRef
	}
	return random + "~" + family + "~" + scopeMask(scopes) + "~" + strconv.FormatInt(expires.Unix(), 10) + "~" + clientID
}

type tokenID struct {
	ID, Family, ClientID string
	Scopes               []string
	Expires              time.Time
	// ClaimsRef names the grant's stored claims request ("" none).
	ClaimsRef string
}

func parseTokenID(s string) (tokenID, error) {
	parts := strings.SplitN(s, "~", 5)
	if len(parts) != 5 {
		// Ids of tokens issued before they carried an expiry are
		// refused like any malformed one: such a token may be opaque,
		// and then nothing says when it expires.
		return tokenID{}, fmt.Errorf("malformed token id")
	}
	scopes, err := maskScopes(parts[2])
	if err != nil {
		return tokenID{}, err
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || exp <= 0 {
		return tokenID{}, fmt.Errorf("malformed token id")
	}
	fam := parts[1]
	if fam == "-" {
		fam = ""
	}
	_, ref, hasRef := strings.Cut(parts[0], ".")
	if hasRef && !validClaimsRef(ref) {
		return tokenID{}, fmt.Errorf("malformed token id")
	}
	return tokenID{ID: s, Family: fam, Scopes: scopes, ClientID: parts[4], Expires: time.Unix(exp, 0), ClaimsRef: ref}, nil
}

// scopeNames are the known scopes in client.KnownScopes order; a scope's
// position is its bit in access-token ids, so new scopes are only ever
// appended there.
func scopeNames() []string {
	ks := client.KnownScopes()
	out := make([]string, len(ks))
	for i, s := range ks {
		out[i] = s.Name
	}
	return out
}

func scopeMask(scopes []string) string {
	var m big.Int
	for i, s := range scopeNames() {
		if slices.Contains(scopes, s) {
			m.SetBit(&m, i, 1)
		}
	}
	return m.Text(16)
}

func maskScopes(hexMask string) ([]string, error) {
	var m big.Int
	if _, ok := m.SetString(hexMask, 16); !ok {
		return nil, fmt.Errorf("malformed scope mask")
	}
	var out []string
	for i, s := range scopeNames() {
		if m.Bit(i) == 1 {
			out = append(out, s)
		}
	}
	return out, nil
}

func sha256Sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// sessionSID is the sid claim: derived from the session's public id, so
// that back-channel logout can name the session without revealing it.
func sessionSID(sessionID string) string {
	if sessionID == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(sha256Sum("sid\x00" + sessionID)[:16])
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func jsonEncode(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }
