package webpush

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// Limits of a subscription as a browser hands it over.
const (
	// MaxSubscriptionSize bounds the JSON accepted by ParseSubscription;
	// real ones are about 400 bytes.
	MaxSubscriptionSize = 4096
	// MaxEndpointLength bounds the endpoint URL; the longest real push
	// services' endpoints are about 500 bytes.
	MaxEndpointLength = 2048
	authSize          = 16
	pointSize         = 65
)

// ErrInvalidSubscription is wrapped by every error of ParseSubscription.
// The message names the field ("endpoint", "keys.p256dh", "keys.auth"),
// never its value.
var ErrInvalidSubscription = errors.New("webpush: invalid subscription")

// Subscription is what a browser's PushSubscription carries: where to
// send (Endpoint, a capability URL) and the keys to encrypt for.
type Subscription struct {
	Endpoint string
	// P256dh is the browser's public key: an uncompressed P-256 point,
	// 65 bytes.
	P256dh []byte
	// Auth is the browser's 16-byte authentication secret.
	Auth []byte
}

// subscriptionJSON is the shape of PushSubscription.toJSON().
type subscriptionJSON struct {
	Endpoint       *string  `json:"endpoint"`
	ExpirationTime *float64 `json:"expirationTime"` // ms since the epoch, or null
	Keys           *struct {
		P256dh *string `json:"p256dh"`
		Auth   *string `json:"auth"`
	} `json:"keys"`
}

// ParseSubscription parses and validates the JSON of a browser's
// PushSubscription.toJSON():
//
//	{"endpoint":"https://…","expirationTime":null,"keys":{"p256dh":"…","auth":"…"}}
//
// The endpoint must be an absolute https URL (http only for a loopback
// host, the stand-in of tests and development) without user information or
// fragment; p256dh a point on P-256 and auth 16 bytes, both base64url with
// or without padding. Unknown members are ignored, as browsers may add
// some; expirationTime is accepted and dropped (the push service reports
// expiry with 404/410 anyway).
func ParseSubscription(data []byte) (Subscription, error) {
	if len(data) > MaxSubscriptionSize {
		return Subscription{}, invalid("", "longer than %d bytes", MaxSubscriptionSize)
	}
	var raw subscriptionJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return Subscription{}, invalid("", "not a JSON object of the expected shape")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Subscription{}, invalid("", "trailing data after the JSON object")
	}
	if raw.Endpoint == nil {
		return Subscription{}, invalid("endpoint", "missing")
	}
	if err := checkEndpoint(*raw.Endpoint); err != nil {
		return Subscription{}, err
	}
	if raw.Keys == nil {
		return Subscription{}, invalid("keys", "missing")
	}
	if raw.Keys.P256dh == nil {
		return Subscription{}, invalid("keys.p256dh", "missing")
	}
	if raw.Keys.Auth == nil {
		return Subscription{}, invalid("keys.auth", "missing")
	}
	p256dh, err := decodeB64URL(*raw.Keys.P256dh)
	if err != nil {
		return Subscription{}, invalid("keys.p256dh", "not base64url")
	}
	if err := checkP256dh(p256dh); err != nil {
		return Subscription{}, err
	}
	auth, err := decodeB64URL(*raw.Keys.Auth)
	if err != nil {
		return Subscription{}, invalid("keys.auth", "not base64url")
	}
	if len(auth) != authSize {
		return Subscription{}, invalid("keys.auth", "must be %d bytes", authSize)
	}
	return Subscription{Endpoint: *raw.Endpoint, P256dh: p256dh, Auth: auth}, nil
}

// Validate checks a Subscription built by code (or read back from a
// database) with the rules of ParseSubscription.
func (s Subscription) Validate() error {
	if err := checkEndpoint(s.Endpoint); err != nil {
		return err
	}
	if err := checkP256dh(s.P256dh); err != nil {
		return err
	}
	if len(s.Auth) != authSize {
		return invalid("keys.auth", "must be %d bytes", authSize)
	}
	return nil
}

// MarshalJSON writes the subscription in the shape of
// PushSubscription.toJSON(), keys in unpadded base64url, so that
// ParseSubscription reads it back unchanged.
func (s Subscription) MarshalJSON() ([]byte, error) {
	type keys struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	}
	return json.Marshal(struct {
		Endpoint       string `json:"endpoint"`
		ExpirationTime *int64 `json:"expirationTime"`
		Keys           keys   `json:"keys"`
	}{
		Endpoint: s.Endpoint,
		Keys: keys{
			P256dh: base64.RawURLEncoding.EncodeToString(s.P256dh),
			Auth:   base64.RawURLEncoding.EncodeToString(s.Auth),
		},
	})
}

// String shows only the push service's origin: the endpoint is a
// capability, so a Subscription printed by mistake must not reveal it.
func (s Subscription) String() string {
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Host == "" {
		return "webpush.Subscription{}"
	}
	return "webpush.Subscription{" + u.Scheme + "://" + u.Host + "/…}"
}

// GoString keeps %#v from printing the endpoint and keys.
func (s Subscription) GoString() string { return s.String() }

func checkEndpoint(endpoint string) error {
	if endpoint == "" {
		return invalid("endpoint", "empty")
	}
	if len(endpoint) > MaxEndpointLength {
		return invalid("endpoint", "longer than %d bytes", MaxEndpointLength)
	}
	// Printable ASCII only: push services hand out plain URLs, and a
	// space or control byte would be re-encoded on the way out, so the
	// URL we store would not be the URL we call.
	for i := 0; i < len(endpoint); i++ {
		if c := endpoint[i]; c <= ' ' || c >= 0x7f {
			return invalid("endpoint", "contains a byte that is not printable ASCII")
		}
	}
	if strings.Contains(endpoint, "#") {
		return invalid("endpoint", "has a fragment")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return invalid("endpoint", "not a URL")
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return invalid("endpoint", "not an absolute URL with a host")
	}
	if u.User != nil {
		return invalid("endpoint", "has user information")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return invalid("endpoint", "must use https")
		}
	default:
		return invalid("endpoint", "must use https")
	}
	return nil
}

// isLoopback names the hosts where a plain-http push service is allowed:
// the stand-in in tests and on a development machine.
func isLoopback(host string) bool {
	switch strings.ToLower(host) {
	case "127.0.0.1", "::1", "localhost":
		return true
	}
	return false
}

func checkP256dh(p []byte) error {
	if len(p) != pointSize || p[0] != 4 {
		return invalid("keys.p256dh", "must be an uncompressed P-256 point of %d bytes", pointSize)
	}
	if _, err := ecdh.P256().NewPublicKey(p); err != nil {
		return invalid("keys.p256dh", "not a point on P-256")
	}
	return nil
}

// decodeB64URL accepts base64url with or without padding (browsers send
// it without; some libraries add it) and nothing else: Go's decoder would
// skip CR and LF, so the alphabet is checked first.
func decodeB64URL(s string) ([]byte, error) {
	body := strings.TrimRight(s, "=")
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, errors.New("not base64url")
		}
	}
	if len(body) != len(s) {
		return base64.URLEncoding.Strict().DecodeString(s)
	}
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

func invalid(field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	return fmt.Errorf("%w: %s", ErrInvalidSubscription, msg)
}
