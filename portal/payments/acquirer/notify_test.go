package acquirer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	testSecret = []byte("whsec-test-secret")
	testNow    = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
)

const goodPayment = `{"id":"ntf_1","event":"payment.succeeded","payment":{"id":"pay_1","order_id":"ord-1","status":"succeeded","amount":123456,"currency":"RUB","captured_at":"2026-12-04T11:59:00Z","card":"411111******1111","extra":"ignored"}}`

const goodRefund = `{"id":"ntf_2","event":"refund.succeeded","refund":{"id":"rfn_1","refund_id":"ref-1","payment_id":"pay_1","amount":500,"status":"succeeded"}}`

func TestParseNotificationGood(t *testing.T) {
	n, err := ParseNotification(testSecret, Sign(testSecret, testNow, []byte(goodPayment)), []byte(goodPayment), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if n.ID != "ntf_1" || n.Event != EventPaymentSucceeded || n.Refund != nil || n.Payment == nil {
		t.Fatalf("notification %+v", n)
	}
	p := n.Payment
	if p.ID != "pay_1" || p.OrderID != "ord-1" || p.Amount != 123456 || p.Currency != "RUB" || p.Status != Succeeded ||
		p.Card != "411111******1111" || !p.CapturedAt.Equal(time.Date(2026, 12, 4, 11, 59, 0, 0, time.UTC)) {
		t.Fatalf("payment %+v", p)
	}

	n, err = ParseNotification(testSecret, Sign(testSecret, testNow, []byte(goodRefund)), []byte(goodRefund), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if n.Refund == nil || n.Payment != nil || n.Refund.Amount != 500 || n.Refund.PaymentID != "pay_1" || n.Refund.RefundID != "ref-1" {
		t.Fatalf("refund notification %+v", n)
	}
}

func TestSignFormat(t *testing.T) {
	h := Sign([]byte("k"), time.Unix(1700000000, 0), []byte("{}"))
	m := hmac.New(sha256.New, []byte("k"))
	m.Write([]byte("1700000000.{}"))
	if want := "t=1700000000,v1=" + hex.EncodeToString(m.Sum(nil)); h != want {
		t.Fatalf("Sign = %q, want %q", h, want)
	}
}

func TestParseNotificationSignature(t *testing.T) {
	body := []byte(goodPayment)
	good := Sign(testSecret, testNow, body)
	oldSecret := []byte("the-previous-secret")
	_, goodV1, _ := strings.Cut(good, ",")
	ts := strconv.FormatInt(testNow.Unix(), 10)
	cases := []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"missing header", "", body, testNow, ErrSignature},
		{"forged body", good, []byte(strings.Replace(goodPayment, "123456", "123457", 1)), testNow, ErrSignature},
		{"forged signature", "t=" + ts + ",v1=" + strings.Repeat("ab", 32), body, testNow, ErrSignature},
		{"other secret", Sign(oldSecret, testNow, body), body, testNow, ErrSignature},
		{"replay outside window", Sign(testSecret, testNow.Add(-5*time.Minute-time.Second), body), body, testNow, ErrSignature},
		{"future timestamp", Sign(testSecret, testNow.Add(5*time.Minute+time.Second), body), body, testNow, ErrSignature},
		{"timestamp changed", "t=" + strconv.FormatInt(testNow.Unix()+1, 10) + "," + goodV1, body, testNow, ErrSignature},
		{"no timestamp", goodV1, body, testNow, ErrSignature},
		{"two timestamps", "t=" + ts + "," + good, body, testNow, ErrSignature},
		{"no v1", "t=" + ts, body, testNow, ErrSignature},
		{"v0 only", "t=" + ts + ",v0=" + strings.TrimPrefix(goodV1, "v1="), body, testNow, ErrSignature},
		{"signed timestamp with sign", "t=+" + ts + "," + goodV1, body, testNow, ErrSignature},
		{"edge of window in the past", Sign(testSecret, testNow.Add(-5*time.Minute), body), body, testNow, nil},
		{"edge of window in the future", Sign(testSecret, testNow.Add(5*time.Minute), body), body, testNow, nil},
		{"rotation: old then new", Sign(oldSecret, testNow, body) + "," + goodV1, body, testNow, nil},
		{"rotation: new then old", good + ",v1=" + strings.TrimPrefix(Sign(oldSecret, testNow, body), "t="+ts+",v1="), body, testNow, nil},
		{"unknown scheme and spaces skipped", "t=" + ts + ", v2=zz, " + goodV1, body, testNow, nil},
		{"malformed v1 next to a good one", "t=" + ts + ",v1=xyz," + goodV1, body, testNow, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := ParseNotification(testSecret, c.header, c.body, c.now)
			if c.want == nil {
				if err != nil || n == nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) || n != nil {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if strings.Contains(err.Error(), string(testSecret)) || strings.Contains(err.Error(), "123456") {
				t.Fatalf("error text leaks: %v", err)
			}
		})
	}
	if _, err := ParseNotification(nil, Sign(nil, testNow, body), body, testNow); !errors.Is(err, ErrSignature) {
		t.Fatalf("empty secret accepted: %v", err)
	}
}

func TestParseNotificationMalformed(t *testing.T) {
	pay := func(event, fields string) string {
		return `{"id":"ntf_1","event":"` + event + `","payment":{"id":"pay_1","order_id":"o","currency":"RUB",` + fields + `}}`
	}
	const ok = `"status":"succeeded","captured_at":"2026-12-04T11:59:00Z"`
	cases := map[string]string{
		"not json":                 `not json`,
		"trailing data":            goodPayment + `{}`,
		"trailing bracket":         goodPayment + `]`,
		"unknown event":            strings.Replace(goodPayment, "payment.succeeded", "payment.captured", 1),
		"payment event, no object": `{"id":"ntf_1","event":"payment.succeeded"}`,
		"payment event, refund":    `{"id":"ntf_1","event":"payment.succeeded","refund":{"id":"r","refund_id":"r","payment_id":"p","amount":1,"status":"succeeded"}}`,
		"refund event, payment":    strings.Replace(goodPayment, "payment.succeeded", "refund.succeeded", 1),
		"both objects":             strings.TrimSuffix(goodPayment, "}") + `,"refund":{"id":"r","refund_id":"r","payment_id":"p","amount":1,"status":"succeeded"}}`,
		"no notification id":       strings.Replace(goodPayment, `"id":"ntf_1",`, "", 1),
		"fractional amount":        pay("payment.succeeded", ok+`,"amount":100.5`),
		"exponent amount":          pay("payment.succeeded", ok+`,"amount":1e3`),
		"string amount":            pay("payment.succeeded", ok+`,"amount":"100"`),
		"null amount":              pay("payment.succeeded", ok+`,"amount":null`),
		"negative amount":          pay("payment.succeeded", ok+`,"amount":-1`),
		"huge amount":              pay("payment.succeeded", ok+`,"amount":99999999999999999999`),
		"lower-case currency":      strings.Replace(goodPayment, `"RUB"`, `"rub"`, 1),
		"long currency":            strings.Replace(goodPayment, `"RUB"`, `"RUBL"`, 1),
		"unknown status":           strings.Replace(goodPayment, `"status":"succeeded"`, `"status":"captured"`, 1),
		"status disagrees":         strings.Replace(goodPayment, "payment.succeeded", "payment.declined", 1),
		"succeeded, no capture":    pay("payment.succeeded", `"status":"succeeded","amount":1`),
		"bad captured_at":          pay("payment.succeeded", `"status":"succeeded","captured_at":"yesterday","amount":1`),
		"no payment id":            strings.Replace(goodPayment, `"id":"pay_1",`, "", 1),
		"refund declined event":    strings.Replace(goodRefund, `"status":"succeeded"`, `"status":"declined"`, 1),
		"refund negative":          strings.Replace(goodRefund, `"amount":500`, `"amount":-500`, 1),
		"array":                    `[]`,
		"too large":                `{"id":"ntf_1","event":"payment.succeeded","pad":"` + strings.Repeat("x", MaxNotificationBytes) + `"}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			n, err := ParseNotification(testSecret, Sign(testSecret, testNow, []byte(body)), []byte(body), testNow)
			if !errors.Is(err, ErrMalformed) || n != nil {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
	// The same body with an integer amount and a known status is accepted:
	// the cases above fail for the reason they name.
	body := pay("payment.succeeded", ok+`,"amount":100`)
	if _, err := ParseNotification(testSecret, Sign(testSecret, testNow, []byte(body)), []byte(body), testNow); err != nil {
		t.Fatalf("control refused: %v", err)
	}
}

func TestMarshalNotificationRoundTrip(t *testing.T) {
	p := Payment{ID: "pay_1", OrderID: "o-1", Status: Declined, Amount: 99, Currency: "RUB", Reason: "cancelled"}
	body, err := MarshalNotification(Notification{ID: "ntf_9", Event: EventPaymentDeclined, Payment: &p})
	if err != nil {
		t.Fatal(err)
	}
	n, err := ParseNotification(testSecret, Sign(testSecret, testNow, body), body, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if *n.Payment != p || n.ID != "ntf_9" {
		t.Fatalf("round trip: %+v", n.Payment)
	}
}

// FuzzParseNotification: never panics, and whatever it accepts was signed
// with the secret within the window (checked here independently) and is a
// well-formed notification. With sign set, the fuzzer's body is signed
// properly (at a skew it chooses) so that the JSON checks are reached too.
func FuzzParseNotification(f *testing.F) {
	for _, b := range []string{goodPayment, goodRefund, `{}`, `{"id":"x","event":"payment.declined","payment":{"id":"p","order_id":"o","status":"declined","amount":0,"currency":"RUB"}}`} {
		f.Add([]byte(b), "", true, int64(0))
		f.Add([]byte(b), ",v1=00", true, int64(-301))
		f.Add([]byte(b), Sign(testSecret, testNow, []byte(b)), false, int64(0))
	}
	f.Add([]byte(goodPayment), "t=1,v1=zz", false, int64(0))
	f.Fuzz(func(t *testing.T, body []byte, header string, sign bool, skew int64) {
		if sign {
			header = Sign(testSecret, testNow.Add(time.Duration(skew%100000)*time.Second), body) + header
		}
		n, err := ParseNotification(testSecret, header, body, testNow)
		if err != nil {
			if n != nil {
				t.Fatal("notification with an error")
			}
			if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error of no kind: %v", err)
			}
			return
		}
		// Independently: some v1 is the HMAC of "t." + body, t in the window.
		var ts string
		var macs []string
		for _, part := range strings.Split(header, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "t":
				ts = v
			case "v1":
				macs = append(macs, v)
			}
		}
		m := hmac.New(sha256.New, testSecret)
		m.Write([]byte(ts + "."))
		m.Write(body)
		want := hex.EncodeToString(m.Sum(nil))
		found := false
		for _, v := range macs {
			found = found || strings.EqualFold(v, want)
		}
		sec, perr := strconv.ParseInt(ts, 10, 64)
		if !found || perr != nil || sec < testNow.Unix()-300 || sec > testNow.Unix()+300 {
			t.Fatalf("accepted a header that is not a valid signature: %q", header)
		}
		if n.ID == "" || (n.Payment == nil) == (n.Refund == nil) {
			t.Fatalf("accepted a malformed notification: %+v", n)
		}
		switch {
		case n.Payment != nil:
			p := n.Payment
			if p.ID == "" || p.OrderID == "" || p.Amount < 0 || len(p.Currency) != 3 || strings.ToUpper(p.Currency) != p.Currency ||
				(n.Event == EventPaymentSucceeded) != (p.Status == Succeeded) || (n.Event == EventPaymentDeclined) != (p.Status == Declined) {
				t.Fatalf("accepted a malformed payment: %+v %+v", n, p)
			}
		default:
			if n.Event != EventRefundSucceeded || n.Refund.Amount < 0 || n.Refund.ID == "" || n.Refund.Status != Succeeded {
				t.Fatalf("accepted a malformed refund: %+v", n.Refund)
			}
		}
	})
}

// FuzzSignatureHeader: the header parser never panics, what it accepts has
// a numeric timestamp and 32-byte MACs, and Sign's own output always
// parses back to its timestamp.
func FuzzSignatureHeader(f *testing.F) {
	f.Add("t=1700000000,v1=" + strings.Repeat("ab", 32))
	f.Add("t=1700000000,v1=" + strings.Repeat("ab", 32) + ",v1=" + strings.Repeat("cd", 32))
	f.Add("t=,v1=")
	f.Add("v1=00,t=1")
	f.Add(",,,=")
	f.Add("t=99999999999999999999,v1=" + strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, h string) {
		s, err := parseSignatureHeader(h)
		if err != nil {
			if !errors.Is(err, ErrSignature) {
				t.Fatalf("error of no kind: %v", err)
			}
		} else {
			if s.ts == "" || strings.Trim(s.ts, "0123456789") != "" || len(s.v1) == 0 {
				t.Fatalf("accepted %q as %+v", h, s)
			}
			for _, v := range s.v1 {
				if len(v) != sha256.Size {
					t.Fatalf("accepted a MAC of %d bytes", len(v))
				}
			}
		}
		sec := int64(len(h)) * 1000003
		back, err := parseSignatureHeader(Sign([]byte(h), time.Unix(sec, 0), []byte(h)))
		if err != nil || back.unix != sec || len(back.v1) != 1 {
			t.Fatalf("Sign's header does not parse back: %v", err)
		}
	})
}

// BenchmarkParseNotification against BenchmarkHMAC (the HMAC-SHA256 of the
// same body alone, the floor): the rest is header parsing and JSON.
func BenchmarkParseNotification(b *testing.B) {
	body := []byte(goodPayment)
	h := Sign(testSecret, testNow, body)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseNotification(testSecret, h, body, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHMAC(b *testing.B) {
	body := []byte(goodPayment)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		mac(testSecret, "1796385600", body)
	}
}
