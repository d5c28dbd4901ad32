package partner_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/partner"
)

// TestWalkthroughAssertion: the make-assertion.sh of docs/partners.md,
// run as the walkthrough runs it (openssl, jq, basenc, xxd), signs a
// client assertion that Gosid's token endpoint accepts for a bank
// registered with the matching JWKS.
func TestWalkthroughAssertion(t *testing.T) {
	for _, tool := range []string{"sh", "openssl", "jq", "basenc", "xxd"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing (.ci/run installs it)", tool)
			}
			t.Skipf("%s is missing", tool)
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "partners.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "`make-assertion.sh` signs")
	_, rest, ok2 := strings.Cut(rest, "```sh\n")
	script, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 || !strings.Contains(script, "openssl dgst") {
		t.Fatal("docs/partners.md has no make-assertion.sh")
	}
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile, scriptFile := filepath.Join(dir, "sber-partner.key"), filepath.Join(dir, "make-assertion.sh")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(scriptFile, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db, partner.Config{})
		r.Clock.Set(time.Now()) // the script dates its assertion by the real clock
		set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "sber-1", Algorithm: "ES256", Use: "sig"}}})
		c, _, err := r.Clients.Create(t.Context(), client.Client{Name: "Банк sber", AuthMethod: client.AuthPrivateKeyJWT,
			JWKS: string(set), GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{client.ScopePartnerConfirmations}, Partner: "sber"})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 { // three signatures, each with its own random nonce
			out, err := exec.Command("sh", scriptFile, c.ID, keyFile, r.URL).Output()
			if err != nil {
				t.Fatalf("make-assertion.sh: %v", err)
			}
			resp, err := http.PostForm(r.URL+"/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {client.ScopePartnerConfirmations},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {strings.TrimSpace(string(out))}})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"access_token"`) {
				t.Fatalf("the token endpoint with the walkthrough's assertion: %d %s", resp.StatusCode, body)
			}
		}
	})
}
