package webpush

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// VAPIDLifetime is how long an Authorization header stays valid. RFC 8292
// §2 allows at most 24 hours; 12 leaves room for clock skew.
const VAPIDLifetime = 12 * time.Hour

// VAPID identifies the application server to push services (RFC 8292): a
// P-256 key, whose public half browsers bind subscriptions to, and a
// contact the push service's operator can write to.
type VAPID struct {
	Key *ecdsa.PrivateKey
	// Subject is "mailto:…" or "https://…".
	Subject string
}

// GenerateVAPID makes a new key. Subscriptions are bound to the public
// key, so it is generated once, kept (MarshalPEM) and reused: a new key
// makes every existing subscription reject our pushes.
func GenerateVAPID(subject string) (VAPID, error) {
	if err := checkSubject(subject); err != nil {
		return VAPID{}, err
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return VAPID{}, fmt.Errorf("webpush: generating the VAPID key: %w", err)
	}
	return VAPID{Key: k, Subject: subject}, nil
}

// MarshalPEM writes the private key as a PKCS#8 "PRIVATE KEY" block.
func (v VAPID) MarshalPEM() ([]byte, error) {
	if v.Key == nil {
		return nil, errors.New("webpush: no VAPID key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(v.Key)
	if err != nil {
		return nil, fmt.Errorf("webpush: encoding the VAPID key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseVAPID reads a P-256 private key from a PEM "PRIVATE KEY" (PKCS#8,
// as MarshalPEM and `openssl genpkey` write) or "EC PRIVATE KEY" (SEC 1,
// as `openssl ecparam -genkey` writes) block.
func ParseVAPID(pemBytes []byte, subject string) (VAPID, error) {
	if err := checkSubject(subject); err != nil {
		return VAPID{}, err
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return VAPID{}, errors.New("webpush: the VAPID key is not PEM")
	}
	var key *ecdsa.PrivateKey
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return VAPID{}, errors.New("webpush: the VAPID key is not a valid PKCS#8 key")
		}
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return VAPID{}, errors.New("webpush: the VAPID key is not an EC key")
		}
		key = ek
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return VAPID{}, errors.New("webpush: the VAPID key is not a valid SEC 1 EC key")
		}
		key = k
	default:
		return VAPID{}, fmt.Errorf("webpush: the VAPID key is a PEM %q block, want PRIVATE KEY or EC PRIVATE KEY", block.Type)
	}
	if key.Curve != elliptic.P256() {
		return VAPID{}, errors.New("webpush: the VAPID key is not on P-256")
	}
	return VAPID{Key: key, Subject: subject}, nil
}

// PublicKey is the unpadded base64url of the uncompressed public point:
// the applicationServerKey the browser subscribes with, and the k= of the
// Authorization header. It is "" when there is no valid key.
func (v VAPID) PublicKey() string {
	b := v.publicBytes()
	if b == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (v VAPID) publicBytes() []byte {
	if v.Key == nil {
		return nil
	}
	b, err := v.Key.PublicKey.Bytes()
	if err != nil {
		return nil
	}
	return b
}

// jwtHeader is fixed: RFC 8292 §2 requires ES256.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`))

// Authorization returns the value of the Authorization header for a push
// to endpoint: "vapid t=<JWT>, k=<PublicKey>" (RFC 8292 §3), the JWT
// claiming aud = the endpoint's origin, exp = now + VAPIDLifetime and
// sub = Subject, signed with ES256.
func (v VAPID) Authorization(endpoint string, now time.Time) (string, error) {
	if err := checkSubject(v.Subject); err != nil {
		return "", err
	}
	pub := v.publicBytes()
	if pub == nil {
		return "", errors.New("webpush: no valid VAPID key")
	}
	aud, err := origin(endpoint)
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}{aud, now.Add(VAPIDLifetime).Unix(), v.Subject})
	if err != nil {
		return "", fmt.Errorf("webpush: encoding the VAPID claims: %w", err)
	}
	signingInput := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signingInput))
	r, s, err := ecdsa.Sign(rand.Reader, v.Key, digest[:])
	if err != nil {
		return "", fmt.Errorf("webpush: signing the VAPID token: %w", err)
	}
	// JWS (RFC 7518 §3.4) wants r||s, each 32 bytes, not ASN.1.
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	jwt := signingInput + "." + base64.RawURLEncoding.EncodeToString(sig)
	return "vapid t=" + jwt + ", k=" + base64.RawURLEncoding.EncodeToString(pub), nil
}

// origin is the audience RFC 8292 §2 asks for: scheme://host[:port].
func origin(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", invalid("endpoint", "not an absolute http(s) URL")
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host), nil
}

func checkSubject(subject string) error {
	switch {
	case strings.HasPrefix(subject, "mailto:") && len(subject) > len("mailto:"):
	case strings.HasPrefix(subject, "https://") && len(subject) > len("https://"):
	default:
		return errors.New(`webpush: the VAPID subject must be "mailto:…" or "https://…"`)
	}
	if strings.ContainsAny(subject, "\"\\\x00\r\n") {
		return errors.New("webpush: the VAPID subject contains a forbidden character")
	}
	return nil
}
