package webpush

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
)

func TestVAPIDAuthorization(t *testing.T) {
	v, err := GenerateVAPID("mailto:push@gosid.example")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	h, err := v.Authorization("https://Push.Example.net:8443/wpush/v2/gAAAAABkZ?x=1", now)
	if err != nil {
		t.Fatal(err)
	}
	rest, ok := strings.CutPrefix(h, "vapid t=")
	if !ok {
		t.Fatalf("header %q", h)
	}
	token, k, ok := strings.Cut(rest, ", k=")
	if !ok {
		t.Fatalf("header %q", h)
	}
	if k != v.PublicKey() {
		t.Fatalf("k = %q, want the public key %q", k, v.PublicKey())
	}
	pubBytes, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil || len(pubBytes) != 65 || pubBytes[0] != 4 {
		t.Fatalf("k is not an unpadded uncompressed point: %v", err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pubBytes)
	if err != nil {
		t.Fatal(err)
	}
	// An independent verifier (jwx) checks the hand-built JWS.
	payload, err := jws.Verify([]byte(token), jws.WithKey(jwa.ES256(), pub))
	if err != nil {
		t.Fatalf("jwx does not verify the token: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["aud"] != "https://push.example.net:8443" {
		t.Errorf("aud = %v", claims["aud"])
	}
	if claims["exp"] != float64(now.Add(12*time.Hour).Unix()) {
		t.Errorf("exp = %v, want now+12h", claims["exp"])
	}
	if claims["sub"] != "mailto:push@gosid.example" {
		t.Errorf("sub = %v", claims["sub"])
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if string(hdr) != `{"typ":"JWT","alg":"ES256"}` {
		t.Errorf("header = %s", hdr)
	}
	// Another key does not verify it.
	other, _ := GenerateVAPID("mailto:x@y")
	if _, err := jws.Verify([]byte(token), jws.WithKey(jwa.ES256(), &other.Key.PublicKey)); err == nil {
		t.Fatal("the token verifies with another key")
	}

	if _, err := v.Authorization("/relative", now); err == nil {
		t.Error("a relative endpoint gave a token")
	}
	if _, err := (VAPID{Key: v.Key, Subject: "push@gosid.example"}).Authorization("https://a.example", now); err == nil {
		t.Error("a subject without mailto:/https: gave a token")
	}
	if _, err := (VAPID{Subject: "mailto:a@b"}).Authorization("https://a.example", now); err == nil {
		t.Error("no key gave a token")
	}
}

func TestVAPIDPEM(t *testing.T) {
	v, err := GenerateVAPID("https://gosid.example/contact")
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(p, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Fatalf("not PKCS#8 PEM:\n%s", p)
	}
	back, err := ParseVAPID(p, v.Subject)
	if err != nil {
		t.Fatal(err)
	}
	if back.PublicKey() != v.PublicKey() || !back.Key.Equal(v.Key) {
		t.Fatal("PEM round trip changed the key")
	}

	der, err := x509.MarshalECPrivateKey(v.Key)
	if err != nil {
		t.Fatal(err)
	}
	sec1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	back, err = ParseVAPID(sec1, v.Subject)
	if err != nil || back.PublicKey() != v.PublicKey() {
		t.Fatalf("SEC 1 key: %v", err)
	}

	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.MarshalPKCS8PrivateKey(p384)
	for name, in := range map[string][]byte{
		"P-384":       pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der384}),
		"not PEM":     []byte("hello"),
		"certificate": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"garbage":     pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
	} {
		if _, err := ParseVAPID(in, v.Subject); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ParseVAPID(p, "gosid.example"); err == nil {
		t.Error("a bad subject was accepted")
	}
	if _, err := GenerateVAPID("mailto:"); err == nil {
		t.Error("an empty mailto: was accepted")
	}
	if (VAPID{}).PublicKey() != "" {
		t.Error("no key has a public key")
	}
}
