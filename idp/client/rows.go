package client

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Rows are a client's settings for an operator's text listing (the CLI, a
// future admin page), labelled, empty ones left out; a list setting takes
// one row per value, the label on the first. secret is the newly issued
// secret, shown once, or "".
func (c *Client) Rows(secret string) [][2]string {
	var out [][2]string
	row := func(label string, values ...string) {
		for _, v := range values {
			if v != "" {
				out = append(out, [2]string{label, v})
				label = ""
			}
		}
	}
	row("client_id", c.ID)
	row("client_secret", secret)
	row("name", c.Name)
	row("auth method", c.AuthMethod)
	if c.UsesSecret() && secret == "" {
		if c.SecretHash != nil {
			row("secret", "set (only its hash is stored)")
		} else {
			row("secret", "none yet: run `gosid clients rotate-secret "+c.ID+"`")
		}
	}
	row("redirect URIs", c.RedirectURIs...)
	row("post-logout URIs", c.PostLogoutRedirectURIs...)
	row("back-channel logout", c.BackchannelLogoutURI)
	row("scopes", strings.Join(c.Scopes, " "))
	row("grant types", c.ShortGrantTypes())
	if c.JWKS != "" {
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal([]byte(c.JWKS), &set); err != nil {
			row("keys", "inline JWKS that does not parse")
		} else {
			row("keys", fmt.Sprintf("%d inline (JWKS)", len(set.Keys)))
		}
	}
	row("JWKS URI", c.JWKSURI)
	row("first party", map[bool]string{true: "yes (no consent screen)", false: "no"}[c.FirstParty])
	row("min level", string(c.Level()))
	row("ID token alg", c.Alg())
	row("access tokens", c.TokenFormat())
	row("PKCE", c.PKCEPolicy())
	row("ID token claims", map[bool]string{false: "protocol only (personal data from userinfo or the claims parameter)",
		true: "personal data of the consented scopes too"}[c.IDTokenClaims])
	row("bank partner", c.Partner)
	row("staff roles", map[bool]string{true: "gosid_roles claim", false: ""}[c.StaffRoles])
	row("created", listTime(c.CreatedAt))
	row("updated", listTime(c.UpdatedAt))
	return out
}

// ShortGrantTypes are the grant types, comma-separated, the device grant's
// URN shortened.
func (c *Client) ShortGrantTypes() string {
	out := make([]string, len(c.GrantTypes))
	for i, g := range c.GrantTypes {
		out[i] = ShortGrantType(g)
	}
	return strings.Join(out, ", ")
}

func listTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
