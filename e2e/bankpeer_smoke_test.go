package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"
)

// TestBankPeerSmoke checks the stand-in bank and the tampering proxy that
// the bank connector's e2e tests use: zitadel/oidc's relying party
// completes a code flow with PKCE through the proxy, and each tampering is
// refused: a bad iss in the authorization response (RFC 9207, checked as
// Gosid's connector must), a bad ID-token signature, a wrong nonce.
func TestBankPeerSmoke(t *testing.T) {
	const (
		clientID     = "gosid"
		clientSecret = "stand-in-bank-secret"
		redirectURI  = "http://127.0.0.1:9/bank/callback" // never served: the browser stops there
	)
	accounts := sandboxAccounts(t)
	bank := startNodeBank(t, nodeBankConfig{
		Clients: []nodeBankClient{{
			ClientID: clientID, ClientSecret: clientSecret, RedirectURIs: []string{redirectURI},
		}},
		Accounts: accounts,
	})
	customer := accounts[0] // Иванов, with a passport
	for _, mode := range []tamper{tamperNone, tamperBadIss, tamperBadSignature, tamperWrongNonce} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			proxy := newBankProxy(t, bank.Issuer, mode)
			meta := bankDiscovery(t, strings.TrimSuffix(proxy.DiscoveryURL, "/.well-known/openid-configuration"))
			if meta["issuer"] != bank.Issuer || !strings.HasPrefix(meta["authorization_endpoint"].(string), proxy.URL+"/") ||
				!strings.HasPrefix(meta["token_endpoint"].(string), proxy.URL+"/") || meta["authorization_response_iss_parameter_supported"] != true {
				t.Fatalf("proxy discovery: %v", meta)
			}
			nonce := rand.Text()
			party, err := rp.NewRelyingPartyOIDC(ctx, bank.Issuer, clientID, clientSecret, redirectURI,
				[]string{"openid"}, rp.WithCustomDiscoveryUrl(proxy.DiscoveryURL),
				rp.WithVerifierOpts(rp.WithNonce(func(context.Context) string { return nonce })))
			if err != nil {
				t.Fatal(err)
			}
			verifier, state := oauth2.GenerateVerifier(), rand.Text()
			authURL := rp.AuthURL(state, party, rp.WithCodeChallenge(oauth2.S256ChallengeFromVerifier(verifier)),
				rp.AuthURLOpt(rp.WithURLParam("nonce", nonce)))
			callback := bankSignIn(ctx, t, bankBrowser(t), authURL, customer.Sub, redirectURI)
			q := callback.Query()
			if q.Get("state") != state || q.Get("code") == "" {
				t.Fatalf("authorization response %v", q)
			}
			issErr := checkResponseIssuer(callback, party.Issuer())
			tokens, exErr := rp.CodeExchange[*oidc.IDTokenClaims](ctx, q.Get("code"), party, rp.WithCodeVerifier(verifier))
			switch mode {
			case tamperNone:
				if issErr != nil || exErr != nil {
					t.Fatalf("iss: %v; code exchange: %v", issErr, exErr)
				}
				checkBankClaims(t, "ID token", customer, tokens.IDTokenClaims.Claims)
				info, err := rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, "Bearer", customer.Sub, party)
				if err != nil {
					t.Fatalf("userinfo: %v", err)
				}
				checkBankClaims(t, "userinfo", customer, info.Claims)
			case tamperBadIss:
				// Only iss differs: the rest of the response is sound.
				if !errors.Is(issErr, errIssMismatch) || exErr != nil {
					t.Fatalf("iss: %v, want a mismatch; code exchange: %v", issErr, exErr)
				}
			case tamperBadSignature:
				if issErr != nil || !errors.Is(exErr, oidc.ErrSignatureInvalid) {
					t.Fatalf("iss: %v; code exchange: %v, want %v", issErr, exErr, oidc.ErrSignatureInvalid)
				}
			case tamperWrongNonce:
				if issErr != nil || !errors.Is(exErr, oidc.ErrNonceInvalid) || !strings.Contains(exErr.Error(), tamperedNonce) {
					t.Fatalf("iss: %v; code exchange: %v, want %v", issErr, exErr, oidc.ErrNonceInvalid)
				}
			}
		})
	}
}

// checkBankClaims compares claims with the account's, as JSON.
func checkBankClaims(t *testing.T, what string, a nodeBankAccount, got map[string]any) {
	t.Helper()
	if got["sub"] != a.Sub {
		t.Errorf("%s: sub = %v, want %s", what, got["sub"], a.Sub)
	}
	for k, want := range a.Claims {
		w, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		g, err := json.Marshal(got[k])
		if err != nil {
			t.Fatal(err)
		}
		if string(g) != string(w) {
			t.Errorf("%s: %s = %s, want %s", what, k, g, w)
		}
	}
}
