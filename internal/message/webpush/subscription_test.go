package webpush

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func subJSON(endpoint, p256dh, auth string) string {
	return `{"endpoint":"` + endpoint + `","expirationTime":null,"keys":{"p256dh":"` + p256dh + `","auth":"` + auth + `"}}`
}

func TestParseSubscription(t *testing.T) {
	const fcm = "https://fcm.googleapis.com/fcm/send/dpH5lCsTSSM:APA91bHqjZxM0VImWWqDRN7U0a3AycjUf4O-byuxb_wJsKRaKvV_iKw56s16ekq6FUqoCF7k2nICUpd8fHPxVTgqLunFeVeB9lLCQZyohyAztTH8ZQL9WCxKpA6dvTG_TUIhQUFq_n"
	p := rfcUAPublic
	a := rfcAuth
	sub, err := ParseSubscription([]byte(subJSON(fcm, p, a)))
	if err != nil {
		t.Fatal(err)
	}
	if sub.Endpoint != fcm || !bytes.Equal(sub.P256dh, b64(t, p)) || !bytes.Equal(sub.Auth, b64(t, a)) {
		t.Fatalf("parsed %#v wrongly", sub)
	}

	ok := []struct{ name, json string }{
		{"padded keys", subJSON(fcm, p+"=", a+"==")},
		{"loopback http", subJSON("http://127.0.0.1:8099/push/abc", p, a)},
		{"localhost http", subJSON("http://localhost/push/abc", p, a)},
		{"ipv6 loopback http", subJSON("http://[::1]:80/push/abc", p, a)},
		{"expiration time set", strings.Replace(subJSON(fcm, p, a), "null", "1700000000000", 1)},
		{"unknown member", strings.Replace(subJSON(fcm, p, a), `"keys"`, `"extra":1,"keys"`, 1)},
	}
	for _, c := range ok {
		if _, err := ParseSubscription([]byte(c.json)); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}

	offCurve := b64(t, p)
	offCurve[64] ^= 1
	compressed := append([]byte{2}, b64(t, p)[1:33]...)
	bad := []struct{ name, json, field string }{
		{"not JSON", "{", ""},
		{"trailing data", subJSON(fcm, p, a) + "{}", ""},
		{"array", "[]", ""},
		{"no endpoint", `{"keys":{"p256dh":"` + p + `","auth":"` + a + `"}}`, "endpoint"},
		{"endpoint not a string", `{"endpoint":1,"keys":{"p256dh":"` + p + `","auth":"` + a + `"}}`, ""},
		{"relative endpoint", subJSON("/push/abc", p, a), "endpoint"},
		{"http endpoint", subJSON("http://push.example.net/abc", p, a), "endpoint"},
		{"ftp endpoint", subJSON("ftp://push.example.net/abc", p, a), "endpoint"},
		{"userinfo", subJSON("https://u:p@push.example.net/abc", p, a), "endpoint"},
		{"fragment", subJSON("https://push.example.net/abc#x", p, a), "endpoint"},
		{"empty fragment", subJSON("https://push.example.net/abc#", p, a), "endpoint"},
		{"space", subJSON("https://push.example.net/a b", p, a), "endpoint"},
		{"no host", subJSON("https:///abc", p, a), "endpoint"},
		{"too long", subJSON("https://push.example.net/"+strings.Repeat("a", MaxEndpointLength), p, a), "endpoint"},
		{"no keys", `{"endpoint":"` + fcm + `"}`, "keys"},
		{"no p256dh", `{"endpoint":"` + fcm + `","keys":{"auth":"` + a + `"}}`, "keys.p256dh"},
		{"no auth", `{"endpoint":"` + fcm + `","keys":{"p256dh":"` + p + `"}}`, "keys.auth"},
		{"p256dh standard base64", subJSON(fcm, base64.StdEncoding.EncodeToString(b64(t, "_-_-"+p[4:])), a), "keys.p256dh"},
		{"p256dh with newline", subJSON(fcm, p[:10]+`\n`+p[10:], a), "keys.p256dh"},
		{"p256dh wrong padding", subJSON(fcm, p+"==", a), "keys.p256dh"},
		{"p256dh off the curve", subJSON(fcm, base64.RawURLEncoding.EncodeToString(offCurve), a), "keys.p256dh"},
		{"p256dh compressed", subJSON(fcm, base64.RawURLEncoding.EncodeToString(compressed), a), "keys.p256dh"},
		{"auth 15 bytes", subJSON(fcm, p, base64.RawURLEncoding.EncodeToString(make([]byte, 15))), "keys.auth"},
		{"auth 17 bytes", subJSON(fcm, p, base64.RawURLEncoding.EncodeToString(make([]byte, 17))), "keys.auth"},
		{"body over 4 KiB", subJSON(fcm, p, a) + strings.Repeat(" ", MaxSubscriptionSize), ""},
	}
	for _, c := range bad {
		_, err := ParseSubscription([]byte(c.json))
		if !errors.Is(err, ErrInvalidSubscription) {
			t.Errorf("%s: err = %v, want ErrInvalidSubscription", c.name, err)
			continue
		}
		if c.field != "" && !strings.Contains(err.Error(), c.field+":") {
			t.Errorf("%s: error %q does not name %s", c.name, err, c.field)
		}
		if strings.Contains(err.Error(), "push.example.net") || strings.Contains(err.Error(), "fcm.googleapis") {
			t.Errorf("%s: error %q shows the endpoint", c.name, err)
		}
	}
}

func TestSubscriptionRoundTripAndString(t *testing.T) {
	sub := rfcSubscription(t)
	data, err := sub.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseSubscription(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.Endpoint != sub.Endpoint || !bytes.Equal(back.P256dh, sub.P256dh) || !bytes.Equal(back.Auth, sub.Auth) {
		t.Fatal("round trip changed the subscription")
	}
	if !strings.Contains(string(data), `"expirationTime":null`) {
		t.Errorf("MarshalJSON = %s, want the browser's shape", data)
	}
	for _, s := range []string{sub.String(), sub.GoString()} {
		if strings.Contains(s, "JzLQ3raZ") || strings.Contains(s, rfcAuth) {
			t.Errorf("%q shows the capability or a key", s)
		}
	}
}

func FuzzParseSubscription(f *testing.F) {
	f.Add([]byte(subJSON("https://fcm.googleapis.com/fcm/send/abc", rfcUAPublic, rfcAuth)))
	f.Add([]byte(subJSON("http://127.0.0.1:1/push/x", rfcUAPublic+"=", rfcAuth+"==")))
	f.Add([]byte(subJSON("https://u@h/x#f", rfcUAPublic, rfcAuth)))
	f.Add([]byte(`{"endpoint":"https://a","keys":{}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		sub, err := ParseSubscription(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidSubscription) {
				t.Fatalf("error not wrapping ErrInvalidSubscription: %v", err)
			}
			return
		}
		if err := sub.Validate(); err != nil {
			t.Fatalf("accepted but Validate says %v", err)
		}
		out, err := sub.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSubscription(out)
		if err != nil {
			t.Fatalf("re-marshalled %s does not parse: %v", out, err)
		}
		if back.Endpoint != sub.Endpoint || !bytes.Equal(back.P256dh, sub.P256dh) || !bytes.Equal(back.Auth, sub.Auth) {
			t.Fatalf("round trip changed %s", out)
		}
	})
}
