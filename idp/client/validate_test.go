package client_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/gosid/gosid/idp/assurance"

	"github.com/gosid/gosid/idp/client"
)

var b64 = base64.RawURLEncoding.EncodeToString

var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
)

func testKeys(t testing.TB) (*rsa.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
	return rsaKey, ecKey
}

func rsaJWK(k *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": "rsa1", "use": "sig", "alg": "RS256", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(k *ecdsa.PublicKey) map[string]any {
	raw, _ := k.Bytes() // 0x04 || x || y
	return map[string]any{"kty": "EC", "kid": "ec1", "crv": "P-256", "alg": "ES256", "x": b64(raw[1:33]), "y": b64(raw[33:])}
}

func jwks(keys ...map[string]any) string {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return string(b)
}

// publicJWKS is a valid JWKS with one RSA and one EC key.
func publicJWKS(t testing.TB) string {
	r, e := testKeys(t)
	return jwks(rsaJWK(&r.PublicKey), ecJWK(&e.PublicKey))
}

// webClient is a valid confidential web client.
func webClient() client.Client {
	return client.Client{
		Name:                   "Госуслуги Портал",
		AuthMethod:             client.AuthSecretBasic,
		RedirectURIs:           []string{"https://portal.example.ru/callback", "http://localhost:8081/callback"},
		PostLogoutRedirectURIs: []string{"https://portal.example.ru/"},
		BackchannelLogoutURI:   "https://portal.example.ru/backchannel-logout",
		Scopes:                 []string{"openid", "fullname", "snils", "offline_access"},
		GrantTypes:             []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
	}
}

func TestValidate(t *testing.T) {
	r, e := testKeys(t)
	withD := rsaJWK(&r.PublicKey)
	withD["d"] = b64(r.D.Bytes())
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	offCurve := ecJWK(&e.PublicKey)
	offCurve["y"] = b64(make([]byte, 32))

	pkjwt := func(f func(*client.Client)) func(*client.Client) {
		return func(c *client.Client) {
			c.AuthMethod = client.AuthPrivateKeyJWT
			c.JWKS = publicJWKS(t)
			f(c)
		}
	}
	for _, tc := range []struct {
		name   string
		change func(*client.Client)
		field  string // "" means valid
	}{
		{"valid web client", func(*client.Client) {}, ""},
		{"valid operator id", func(c *client.Client) { c.ID = "portal_test-1" }, ""},
		{"valid generated id", func(c *client.Client) { c.ID = client.NewID() }, ""},
		{"valid native app", func(c *client.Client) {
			c.AuthMethod = client.AuthNone
			c.RedirectURIs = []string{"ru.gosid.app:/oauth2redirect", "http://127.0.0.1:53123/cb", "http://[::1]/cb"}
		}, ""},
		{"valid private_key_jwt inline", pkjwt(func(*client.Client) {}), ""},
		{"valid private_key_jwt by URL", func(c *client.Client) {
			c.AuthMethod = client.AuthPrivateKeyJWT
			c.JWKSURI = "https://bank.example.ru/jwks.json"
		}, ""},
		{"valid partner API", func(c *client.Client) {
			c.RedirectURIs, c.PostLogoutRedirectURIs, c.Scopes = nil, nil, nil
			c.GrantTypes = []string{client.GrantClientCredentials}
		}, ""},
		{"valid kiosk", func(c *client.Client) {
			c.AuthMethod = client.AuthNone
			c.RedirectURIs = nil
			c.GrantTypes = []string{client.GrantDeviceCode, client.GrantRefreshToken}
		}, ""},
		{"valid explicit settings", func(c *client.Client) {
			c.MinLevel, c.IDTokenAlg, c.AccessTokenFormat, c.FirstParty = string(assurance.Confirmed), client.AlgES256, client.FormatOpaque, true
		}, ""},
		{"valid legacy confidential client without PKCE", func(c *client.Client) { c.PKCE, c.IDTokenClaims = client.PKCEOptional, true }, ""},
		{"valid public client with PKCE spelled out", func(c *client.Client) {
			c.AuthMethod, c.PKCE = client.AuthNone, client.PKCERequired
		}, ""},
		{"public client without PKCE", func(c *client.Client) { c.AuthMethod, c.PKCE = client.AuthNone, client.PKCEOptional }, client.FieldPKCE},
		{"unknown PKCE policy", func(c *client.Client) { c.PKCE = "plain" }, client.FieldPKCE},

		{"bad id", func(c *client.Client) { c.ID = "Portal!" }, client.FieldID},
		{"short id", func(c *client.Client) { c.ID = "ab" }, client.FieldID},
		{"no name", func(c *client.Client) { c.Name = "  " }, client.FieldName},
		{"long name", func(c *client.Client) { c.Name = strings.Repeat("б", 101) }, client.FieldName},
		{"control in name", func(c *client.Client) { c.Name = "Банк\n" + "Б" }, client.FieldName},
		{"no auth method", func(c *client.Client) { c.AuthMethod = "" }, client.FieldAuthMethod},
		{"unknown auth method", func(c *client.Client) { c.AuthMethod = "client_secret_jwt" }, client.FieldAuthMethod},
		{"public client with secret", func(c *client.Client) {
			c.AuthMethod, c.SecretHash = client.AuthNone, make([]byte, 32)
		}, client.FieldAuthMethod},
		{"relative redirect", func(c *client.Client) { c.RedirectURIs = []string{"/callback"} }, client.FieldRedirectURIs},
		{"redirect with fragment", func(c *client.Client) { c.RedirectURIs = []string{"https://rp.example.ru/cb#x"} }, client.FieldRedirectURIs},
		{"redirect with wildcard", func(c *client.Client) { c.RedirectURIs = []string{"https://*.example.ru/cb"} }, client.FieldRedirectURIs},
		{"http redirect off loopback", func(c *client.Client) { c.RedirectURIs = []string{"http://rp.example.ru/cb"} }, client.FieldRedirectURIs},
		{"https without host", func(c *client.Client) { c.RedirectURIs = []string{"https:///cb"} }, client.FieldRedirectURIs},
		{"javascript redirect", func(c *client.Client) { c.RedirectURIs = []string{"javascript:alert(1)"} }, client.FieldRedirectURIs},
		{"opaque native redirect", func(c *client.Client) { c.RedirectURIs = []string{"com.example.app:cb"} }, client.FieldRedirectURIs},
		{"redirect with user info", func(c *client.Client) { c.RedirectURIs = []string{"https://u:p@rp.example.ru/cb"} }, client.FieldRedirectURIs},
		{"redirect with space", func(c *client.Client) { c.RedirectURIs = []string{"https://rp.example.ru/c b"} }, client.FieldRedirectURIs},
		{"duplicate redirect", func(c *client.Client) {
			c.RedirectURIs = []string{"https://rp.example.ru/cb", "https://rp.example.ru/cb"}
		}, client.FieldRedirectURIs},
		{"code grant without redirect", func(c *client.Client) { c.RedirectURIs = nil }, client.FieldRedirectURIs},
		{"bad post-logout redirect", func(c *client.Client) { c.PostLogoutRedirectURIs = []string{"http://rp.example.ru/"} }, client.FieldPostLogoutRedirectURIs},
		{"backchannel with private scheme", func(c *client.Client) { c.BackchannelLogoutURI = "com.example.app:/logout" }, client.FieldBackchannelLogoutURI},
		{"backchannel with fragment", func(c *client.Client) { c.BackchannelLogoutURI = "https://rp.example.ru/logout#f" }, client.FieldBackchannelLogoutURI},
		{"unknown scope", func(c *client.Client) { c.Scopes = append(c.Scopes, "passport_scan") }, client.FieldScopes},
		{"duplicate scope", func(c *client.Client) { c.Scopes = append(c.Scopes, "snils") }, client.FieldScopes},
		{"code grant without openid", func(c *client.Client) { c.Scopes = []string{"fullname"} }, client.FieldScopes},
		{"offline_access without refresh grant", func(c *client.Client) {
			c.GrantTypes = []string{client.GrantAuthorizationCode}
		}, client.FieldScopes},
		{"no grant types", func(c *client.Client) {
			c.GrantTypes = nil
			c.Scopes = []string{"openid"}
		}, client.FieldGrantTypes},
		{"unknown grant type", func(c *client.Client) { c.GrantTypes = append(c.GrantTypes, "implicit") }, client.FieldGrantTypes},
		{"duplicate grant type", func(c *client.Client) { c.GrantTypes = append(c.GrantTypes, client.GrantRefreshToken) }, client.FieldGrantTypes},
		{"refresh without a citizen grant", func(c *client.Client) {
			c.GrantTypes = []string{client.GrantClientCredentials, client.GrantRefreshToken}
			c.RedirectURIs = nil
		}, client.FieldGrantTypes},
		{"client_credentials for a public client", func(c *client.Client) {
			c.AuthMethod = client.AuthNone
			c.GrantTypes = append(c.GrantTypes, client.GrantClientCredentials)
		}, client.FieldGrantTypes},
		{"private_key_jwt without keys", func(c *client.Client) { c.AuthMethod = client.AuthPrivateKeyJWT }, client.FieldJWKS},
		{"private_key_jwt with both", pkjwt(func(c *client.Client) { c.JWKSURI = "https://rp.example.ru/jwks" }), client.FieldJWKS},
		{"jwks without private_key_jwt", func(c *client.Client) { c.JWKS = publicJWKS(t) }, client.FieldJWKS},
		{"jwks_uri without private_key_jwt", func(c *client.Client) { c.JWKSURI = "https://rp.example.ru/jwks" }, client.FieldJWKSURI},
		{"http jwks_uri", func(c *client.Client) {
			c.AuthMethod, c.JWKSURI = client.AuthPrivateKeyJWT, "http://rp.example.ru/jwks"
		}, client.FieldJWKSURI},
		{"jwks not JSON", pkjwt(func(c *client.Client) { c.JWKS = "{keys" }), client.FieldJWKS},
		{"jwks without keys", pkjwt(func(c *client.Client) { c.JWKS = `{"keys": []}` }), client.FieldJWKS},
		{"jwks private RSA key", pkjwt(func(c *client.Client) { c.JWKS = jwks(withD) }), client.FieldJWKS},
		{"jwks symmetric key", pkjwt(func(c *client.Client) { c.JWKS = jwks(map[string]any{"kty": "oct", "k": "c2VjcmV0"}) }), client.FieldJWKS},
		{"jwks OKP key", pkjwt(func(c *client.Client) {
			c.JWKS = jwks(map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(make([]byte, 32))})
		}), client.FieldJWKS},
		{"jwks short RSA key", pkjwt(func(c *client.Client) { c.JWKS = jwks(rsaJWK(&small.PublicKey)) }), client.FieldJWKS},
		{"jwks point off curve", pkjwt(func(c *client.Client) { c.JWKS = jwks(offCurve) }), client.FieldJWKS},
		{"jwks encryption key", pkjwt(func(c *client.Client) {
			k := ecJWK(&e.PublicKey)
			k["use"] = "enc"
			c.JWKS = jwks(k)
		}), client.FieldJWKS},
		{"jwks wrong alg", pkjwt(func(c *client.Client) {
			k := ecJWK(&e.PublicKey)
			k["alg"] = "RS256"
			c.JWKS = jwks(k)
		}), client.FieldJWKS},
		{"jwks duplicate kid", pkjwt(func(c *client.Client) { c.JWKS = jwks(rsaJWK(&r.PublicKey), rsaJWK(&r.PublicKey)) }), client.FieldJWKS},
		{"bad min level", func(c *client.Client) { c.MinLevel = "gold" }, client.FieldMinLevel},
		{"bad id token alg", func(c *client.Client) { c.IDTokenAlg = "HS256" }, client.FieldIDTokenAlg},
		{"bad token format", func(c *client.Client) { c.AccessTokenFormat = "paseto" }, client.FieldAccessTokenFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := webClient()
			tc.change(&c)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid client refused: %v", err)
				}
				return
			}
			var ve *client.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, client.ErrInvalid) {
				t.Fatalf("Validate = %v, want a *ValidationError about %s", err, tc.field)
			}
			for _, p := range ve.Problems {
				if p.Field != tc.field {
					t.Errorf("unexpected problem %s (want only %s)", p, tc.field)
				}
			}
			if !strings.Contains(err.Error(), tc.field+": ") {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

// TestValidatePrivateKeyNotEchoed: a private key pasted by mistake is named
// as such, without its material in the message.
func TestValidatePrivateKeyNotEchoed(t *testing.T) {
	r, _ := testKeys(t)
	k := rsaJWK(&r.PublicKey)
	k["d"] = b64(r.D.Bytes())
	c := webClient()
	c.AuthMethod, c.JWKS = client.AuthPrivateKeyJWT, jwks(k)
	err := c.Validate()
	if err == nil || strings.Contains(err.Error(), k["d"].(string)) || !strings.Contains(err.Error(), `private member "d"`) {
		t.Fatalf("Validate = %v", err)
	}
}

// TestValidateReportsAll: every problem at once.
func TestValidateReportsAll(t *testing.T) {
	c := client.Client{AuthMethod: "magic", GrantTypes: []string{"implicit"}, RedirectURIs: []string{"http://rp.example.ru/cb"}, MinLevel: "x"}
	var ve *client.ValidationError
	if !errors.As(c.Validate(), &ve) {
		t.Fatal("no validation error")
	}
	fields := map[string]bool{}
	for _, p := range ve.Problems {
		fields[p.Field] = true
	}
	for _, f := range []string{client.FieldName, client.FieldAuthMethod, client.FieldRedirectURIs, client.FieldGrantTypes, client.FieldMinLevel} {
		if !fields[f] {
			t.Errorf("no problem about %s in %v", f, ve)
		}
	}
}

func TestKnownScopes(t *testing.T) {
	want := strings.Fields("openid profile fullname birthdate gender snils inn id_doc email mobile addresses offline_access partner:confirmations partner:registrations")
	got := client.KnownScopes()
	if len(got) != len(want) {
		t.Fatalf("%d scopes, want %d", len(got), len(want))
	}
	for i, s := range got {
		if s.Name != want[i] || s.RU == "" || s.EN == "" {
			t.Errorf("scope %d = %+v", i, s)
		}
	}
	if s, ok := client.LookupScope("snils"); !ok || s.RU != "СНИЛС" {
		t.Errorf("LookupScope(snils) = %+v, %v", s, ok)
	}
	if _, ok := client.LookupScope("passport_scan"); ok {
		t.Error("unknown scope found")
	}
}

func TestNewID(t *testing.T) {
	id := client.NewID()
	if !strings.HasPrefix(id, "gsd_") || len(id) != 26 || !client.ValidID(id) || id == client.NewID() {
		t.Fatalf("NewID = %q", id)
	}
}

// FuzzValidate: no JWKS or URI, however malformed, makes Validate panic,
// and a private key member never passes.
func FuzzValidate(f *testing.F) {
	f.Add(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`, "https://rp.example.ru/cb")
	f.Add(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB"}]}`, "com.example.app:/cb")
	f.Add(`{"keys":null}`, "http://[::1]:80/cb")
	f.Add(`[]`, "http://%zz")
	f.Fuzz(func(t *testing.T, jwksJSON, uri string) {
		c := webClient()
		c.AuthMethod = client.AuthPrivateKeyJWT
		c.JWKS = jwksJSON
		c.RedirectURIs = []string{uri}
		err := c.Validate()
		if err == nil && strings.Contains(jwksJSON, `"d"`) {
			var set struct{ Keys []map[string]any }
			if json.Unmarshal([]byte(jwksJSON), &set) == nil {
				for _, k := range set.Keys {
					if _, ok := k["d"]; ok {
						t.Fatalf("private key accepted: %s", jwksJSON)
					}
				}
			}
		}
	})
}
