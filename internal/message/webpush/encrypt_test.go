package webpush

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"testing"
)

// RFC 8291 Appendix A, base64url as printed there. These are the external
// ground truth: never regenerate them from this code.
const (
	rfcPlaintext = "When I grow up, I want to be a watermelon"
	rfcASPublic  = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
	rfcASPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
	rfcUAPublic  = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
	rfcUAPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
	rfcSalt      = "DGv6ra1nlYgDCS1FRnbzlw"
	rfcAuth      = "BTBZMqHH6r4Tts7J_aSIgg"
	rfcECDH      = "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs"
	rfcPRKKey    = "Snr3JMxaHVDXHWJn5wdC52WjpCtd2EIEGBykDcZW32k"
	rfcKeyInfo   = "V2ViUHVzaDogaW5mbwAEJXGyvs3942BVGq8e0PTNNmwRzr5VX4m8t7GGpTM5FzFo7OLr4BhZe9MEebhuPI-OztV3ylkYfpJGmQ22ggCLDgT-M_SrDepxkU21WCP3O1SUj0EwbZIHMtu5pZpTKGSCIA5Zent7wmC6HCJ5mFgJkuk5cwAvMBKiiujwa7t45ewP"
	rfcIKM       = "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg"
	rfcPRK       = "09_eUZGrsvxChDCGRCdkLiDXrReGOEVeSCdCcPBSJSc"
	rfcCEK       = "oIhVW04MRdy2XN9CiKLxTg"
	rfcNonce     = "4h_95klXJ5E_qnoN"
	rfcBody      = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)

func b64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("bad base64url in the test: %v", err)
	}
	return b
}

func rfcSubscription(t testing.TB) Subscription {
	return Subscription{Endpoint: "https://push.example.net/push/JzLQ3raZJfFBR0aqvOMsLrt54w4rJUsV", P256dh: b64(t, rfcUAPublic), Auth: b64(t, rfcAuth)}
}

func TestRFC8291Intermediates(t *testing.T) {
	asPriv, err := ecdh.P256().NewPrivateKey(b64(t, rfcASPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if got := asPriv.PublicKey().Bytes(); !bytes.Equal(got, b64(t, rfcASPublic)) {
		t.Fatalf("as_public = %x", got)
	}
	uaPub, err := ecdh.P256().NewPublicKey(b64(t, rfcUAPublic))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := asPriv.ECDH(uaPub)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(secret, b64(t, rfcECDH)) {
		t.Fatalf("ecdh_secret = %x", secret)
	}
	k, err := deriveKeys(secret, b64(t, rfcAuth), b64(t, rfcUAPublic), b64(t, rfcASPublic), b64(t, rfcSalt))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want []byte
	}{
		{"PRK_key", k.prkKey, b64(t, rfcPRKKey)},
		{"IKM", k.ikm, b64(t, rfcIKM)},
		{"PRK", k.prk, b64(t, rfcPRK)},
		{"CEK", k.cek, b64(t, rfcCEK)},
		{"NONCE", k.nonce, b64(t, rfcNonce)},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s = %s, RFC 8291 says %s", c.name,
				base64.RawURLEncoding.EncodeToString(c.got), base64.RawURLEncoding.EncodeToString(c.want))
		}
	}
	// key_info is built inside deriveKeys; check its layout separately.
	info := append(append([]byte("WebPush: info\x00"), b64(t, rfcUAPublic)...), b64(t, rfcASPublic)...)
	if !bytes.Equal(info, b64(t, rfcKeyInfo)) {
		t.Errorf("key_info layout differs from RFC 8291")
	}
}

func TestRFC8291Body(t *testing.T) {
	asPriv, err := ecdh.P256().NewPrivateKey(b64(t, rfcASPrivate))
	if err != nil {
		t.Fatal(err)
	}
	body, err := encrypt([]byte(rfcPlaintext), rfcSubscription(t), b64(t, rfcSalt), asPriv)
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(body); got != rfcBody {
		t.Fatalf("body\n got %s\nwant %s", got, rfcBody)
	}

	// The public Encrypt reads the salt, then the scalar, from rand: fed
	// the RFC's values it must give the RFC's body too.
	rnd := io.MultiReader(bytes.NewReader(b64(t, rfcSalt)), bytes.NewReader(b64(t, rfcASPrivate)))
	body2, err := Encrypt([]byte(rfcPlaintext), rfcSubscription(t), rnd)
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(body2); got != rfcBody {
		t.Fatalf("Encrypt with the RFC's randomness\n got %s\nwant %s", got, rfcBody)
	}

	uaPriv, err := ecdh.P256().NewPrivateKey(b64(t, rfcUAPrivate))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Decrypt(b64(t, rfcBody), uaPriv, b64(t, rfcAuth))
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != rfcPlaintext {
		t.Fatalf("Decrypt = %q", plain)
	}
}

type receiver struct {
	key  *ecdh.PrivateKey
	auth []byte
	sub  Subscription
}

func newReceiver(t testing.TB) receiver {
	t.Helper()
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	return receiver{key: key, auth: auth, sub: Subscription{Endpoint: "https://push.example.net/x", P256dh: key.PublicKey().Bytes(), Auth: auth}}
}

func TestRoundTrip(t *testing.T) {
	r := newReceiver(t)
	for _, n := range []int{0, 1, 41, 1000, MaxPayload} {
		plain := make([]byte, n)
		_, _ = rand.Read(plain)
		body, err := Encrypt(plain, r.sub, nil)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if len(body) != headerSize+n+1+tagSize {
			t.Errorf("%d bytes: body of %d bytes", n, len(body))
		}
		if n == MaxPayload && len(body) != 4096 {
			t.Errorf("the largest payload gives %d bytes, want 4096", len(body))
		}
		got, err := Decrypt(body, r.key, r.auth)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("%d bytes: round trip changed the payload", n)
		}
	}
	// Two encryptions of one payload differ (fresh salt and key).
	a, _ := Encrypt([]byte("x"), r.sub, nil)
	b, _ := Encrypt([]byte("x"), r.sub, nil)
	if bytes.Equal(a[:headerSize], b[:headerSize]) {
		t.Fatal("two encryptions share salt and key")
	}
}

func TestEncryptTooLarge(t *testing.T) {
	r := newReceiver(t)
	_, err := Encrypt(make([]byte, MaxPayload+1), r.sub, nil)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestDecryptRejects(t *testing.T) {
	r := newReceiver(t)
	body, err := Encrypt([]byte("Заявление одобрено"), r.sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := newReceiver(t)

	if _, err := Decrypt(body, r.key, other.auth); !errors.Is(err, ErrDecrypt) {
		t.Errorf("wrong auth: err = %v", err)
	}
	if _, err := Decrypt(body, other.key, r.auth); !errors.Is(err, ErrDecrypt) {
		t.Errorf("wrong key: err = %v", err)
	}
	for i := range body {
		mod := bytes.Clone(body)
		mod[i] ^= 0x01
		got, err := Decrypt(mod, r.key, r.auth)
		if i >= 16 && i < 20 {
			// rs is not authenticated (RFC 8188); any rs that still
			// holds the one record reads the same message.
			if err == nil && string(got) != "Заявление одобрено" {
				t.Fatalf("a changed rs gave %q", got)
			}
			continue
		}
		if !errors.Is(err, ErrDecrypt) {
			t.Fatalf("flipping a bit of byte %d: err = %v", i, err)
		}
	}
	for n := range len(body) {
		if _, err := Decrypt(body[:n], r.key, r.auth); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("truncated to %d bytes: err = %v", n, err)
		}
	}
	if _, err := Decrypt(append(bytes.Clone(body), 0), r.key, r.auth); !errors.Is(err, ErrDecrypt) {
		t.Errorf("trailing byte: err = %v", err)
	}
	if _, err := Decrypt(body, r.key, r.auth[:15]); !errors.Is(err, ErrDecrypt) {
		t.Errorf("short auth: err = %v", err)
	}
}

// sealWith builds a body with a chosen record (content, delimiter and
// padding) and rs, to check Decrypt's rules on what only a valid
// encryption could carry.
func sealWith(t *testing.T, r receiver, record []byte, rs uint32) []byte {
	t.Helper()
	asPriv, _ := ecdh.P256().GenerateKey(rand.Reader)
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	uaPub, _ := ecdh.P256().NewPublicKey(r.sub.P256dh)
	secret, _ := asPriv.ECDH(uaPub)
	k, err := deriveKeys(secret, r.auth, r.sub.P256dh, asPriv.PublicKey().Bytes(), salt)
	if err != nil {
		t.Fatal(err)
	}
	aead, _ := newGCM(k.cek)
	body := append([]byte{}, salt...)
	body = append(body, byte(rs>>24), byte(rs>>16), byte(rs>>8), byte(rs))
	body = append(body, 65)
	body = append(body, asPriv.PublicKey().Bytes()...)
	return aead.Seal(body, k.nonce, record, nil)
}

func TestDecryptRecordRules(t *testing.T) {
	r := newReceiver(t)
	cases := []struct {
		name   string
		record []byte
		rs     uint32
		want   string // "" for an error
	}{
		{"padded", []byte("hi\x02\x00\x00\x00"), 4096, "hi"},
		{"empty content", []byte("\x02"), 4096, ""},
		{"not the last record", []byte("hi\x01"), 4096, "error"},
		{"no delimiter", []byte("hi"), 4096, "error"},
		{"only padding", []byte("\x00\x00"), 4096, "error"},
		{"record over rs", []byte("hello\x02"), 18, "error"},
		{"rs below 18", []byte("\x02"), 17, "error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Decrypt(sealWith(t, r, c.record, c.rs), r.key, r.auth)
			if c.want == "error" {
				if !errors.Is(err, ErrDecrypt) {
					t.Fatalf("err = %v, want ErrDecrypt", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func FuzzDecrypt(f *testing.F) {
	uaPriv, err := ecdh.P256().NewPrivateKey(b64(f, rfcUAPrivate))
	if err != nil {
		f.Fatal(err)
	}
	auth := b64(f, rfcAuth)
	rfc := b64(f, rfcBody)
	f.Add(rfc)
	f.Add(rfc[:86])
	f.Add(rfc[:21])
	f.Add([]byte{})
	f.Add(append(bytes.Clone(rfc), 0))
	f.Fuzz(func(t *testing.T, body []byte) {
		plain, err := Decrypt(body, uaPriv, auth)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("error not wrapping ErrDecrypt: %v", err)
			}
			return
		}
		// Whatever decrypts is authentic, hence the RFC's own message
		// (nobody else encrypts to this key in the corpus) or one the
		// fuzzer cannot forge; it must fit the single record.
		if len(plain) > len(body)-headerSize-tagSize-1 {
			t.Fatalf("plaintext of %d bytes from a body of %d", len(plain), len(body))
		}
	})
}
