package pushtest_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/message/webpush"
	"github.com/gosid/gosid/internal/message/webpush/pushtest"
)

type fixture struct {
	svc   *pushtest.Service
	srv   *httptest.Server
	sub   webpush.Subscription
	id    string
	vapid webpush.VAPID
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	svc := pushtest.New()
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	svc.SetBase(srv.URL)
	sub, id, err := svc.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	v, err := webpush.GenerateVAPID("mailto:push@gosid.example")
	if err != nil {
		t.Fatal(err)
	}
	return fixture{svc, srv, sub, id, v}
}

// request is a well-formed push; each case spoils one part of it.
func (f fixture) request(t *testing.T, payload string) *http.Request {
	t.Helper()
	body, err := webpush.Encrypt([]byte(payload), f.sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := f.vapid.Authorization(f.sub.Endpoint, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, f.sub.Endpoint, bytes.NewReader(body))
	req.Header.Set("TTL", "60")
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("Authorization", auth)
	return req
}

func do(t *testing.T, req *http.Request) (int, string, http.Header) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// signed builds a VAPID header with chosen claims and header, signed by
// key: what a broken or hostile sender might send.
func signed(t *testing.T, key *ecdsa.PrivateKey, header string, claims map[string]any) string {
	t.Helper()
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString(c)
	d := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	pub, _ := key.PublicKey.Bytes()
	return "vapid t=" + in + "." + base64.RawURLEncoding.EncodeToString(sig) + ", k=" + base64.RawURLEncoding.EncodeToString(pub)
}

func TestPushAccepted(t *testing.T) {
	f := newFixture(t)
	req := f.request(t, "Запись к врачу завтра в 10:00")
	req.Header.Set("Urgency", "low")
	status, _, h := do(t, req)
	if status != http.StatusCreated {
		t.Fatalf("status %d", status)
	}
	if !strings.HasPrefix(h.Get("Location"), f.srv.URL+"/") {
		t.Errorf("Location %q", h.Get("Location"))
	}
	got := f.svc.Received(f.id)
	if len(got) != 1 || string(got[0].Payload) != "Запись к врачу завтра в 10:00" || got[0].TTL != 60 || got[0].Urgency != "low" {
		t.Fatalf("received %+v", got)
	}
	// Received hands out copies.
	got[0].Payload[0] = 'X'
	if f.svc.Received(f.id)[0].Payload[0] == 'X' {
		t.Fatal("Received exposes the stored payload")
	}
}

func TestPushChecks(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	aud := f.srv.URL
	good := map[string]any{"aud": aud, "exp": now.Add(time.Hour).Unix(), "sub": "mailto:a@b"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	hdr := `{"typ":"JWT","alg":"ES256"}`
	key := f.vapid.Key
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherPub, _ := other.PublicKey.Bytes()

	cases := []struct {
		name   string
		spoil  func(*http.Request)
		status int
	}{
		{"sanity: our own signer", func(r *http.Request) { r.Header.Set("Authorization", signed(t, key, hdr, good)) }, 201},
		{"https sub", func(r *http.Request) {
			r.Header.Set("Authorization", signed(t, key, hdr, with("sub", "https://gosid.example")))
		}, 201},
		{"no authorization", func(r *http.Request) { r.Header.Del("Authorization") }, 401},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }, 401},
		{"no k", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", k=")])
		}, 401},
		{"k of another key", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", k=")]+", k="+base64.RawURLEncoding.EncodeToString(otherPub))
		}, 401},
		{"alg HS256", func(r *http.Request) {
			r.Header.Set("Authorization", signed(t, key, `{"typ":"JWT","alg":"HS256"}`, good))
		}, 401},
		{"expired", func(r *http.Request) {
			r.Header.Set("Authorization", signed(t, key, hdr, with("exp", now.Add(-time.Minute).Unix())))
		}, 401},
		{"no exp", func(r *http.Request) { r.Header.Set("Authorization", signed(t, key, hdr, with("exp", nil))) }, 401},
		{"exp beyond 24h", func(r *http.Request) {
			r.Header.Set("Authorization", signed(t, key, hdr, with("exp", now.Add(25*time.Hour).Unix())))
		}, 403},
		{"wrong aud", func(r *http.Request) {
			r.Header.Set("Authorization", signed(t, key, hdr, with("aud", "https://fcm.googleapis.com")))
		}, 403},
		{"aud with path", func(r *http.Request) {
			r.Header.Set("Authorization", signed(t, key, hdr, with("aud", aud+"/push")))
		}, 403},
		{"sub without scheme", func(r *http.Request) {
			r.Header.Set("Authorization", signed(t, key, hdr, with("sub", "a@b")))
		}, 403},
		{"content encoding aesgcm", func(r *http.Request) { r.Header.Set("Content-Encoding", "aesgcm") }, 400},
		{"no TTL", func(r *http.Request) { r.Header.Del("TTL") }, 400},
		{"negative TTL", func(r *http.Request) { r.Header.Set("TTL", "-1") }, 400},
		{"TTL not a number", func(r *http.Request) { r.Header.Set("TTL", "1h") }, 400},
		{"garbage body", func(r *http.Request) { setBody(r, bytes.Repeat([]byte{1}, 200)) }, 400},
		{"body over 4096", func(r *http.Request) { setBody(r, make([]byte, 4097)) }, 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := f.request(t, "x")
			c.spoil(req)
			status, reason, _ := do(t, req)
			if status != c.status {
				t.Fatalf("status %d (%s), want %d", status, strings.TrimSpace(reason), c.status)
			}
		})
	}
	if n := len(f.svc.Received(f.id)); n != 2 {
		t.Fatalf("%d messages kept, want only the 2 good ones", n)
	}
}

func setBody(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
}

func TestPushSubscriptionStates(t *testing.T) {
	f := newFixture(t)
	req := f.request(t, "x")
	req.URL.Path = "/push/unknown"
	if status, _, _ := do(t, req); status != http.StatusNotFound {
		t.Fatalf("unknown: %d", status)
	}

	f.svc.FailNext(2, http.StatusInternalServerError)
	for i := range 2 {
		if status, _, _ := do(t, f.request(t, "x")); status != http.StatusInternalServerError {
			t.Fatalf("failure %d: %d", i, status)
		}
	}
	if status, _, _ := do(t, f.request(t, "x")); status != http.StatusCreated {
		t.Fatalf("after FailNext: %d", status)
	}

	f.svc.Expire(f.id)
	if status, _, _ := do(t, f.request(t, "x")); status != http.StatusGone {
		t.Fatalf("expired: %d", status)
	}

	resp, err := http.Get(f.srv.URL + "/messages/unknown")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("messages of an unknown id: %d", resp.StatusCode)
	}
}

func TestNewOverHTTP(t *testing.T) {
	svc := pushtest.New()
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	// No SetBase: the endpoint comes from the request's Host.
	if _, _, err := svc.NewSubscription(); err == nil {
		t.Fatal("NewSubscription without a base worked")
	}
	resp, err := http.Post(srv.URL+"/new", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var shape struct {
		Endpoint       string `json:"endpoint"`
		ExpirationTime *int64 `json:"expirationTime"`
		Keys           struct{ P256dh, Auth string }
	}
	if err := json.Unmarshal(raw, &shape); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(shape.Endpoint, srv.URL+"/push/") || shape.Keys.P256dh == "" || shape.Keys.Auth == "" {
		t.Fatalf("subscription %s", raw)
	}
	sub, err := webpush.ParseSubscription(raw)
	if err != nil {
		t.Fatal(err)
	}
	// Two subscriptions never share an id or keys.
	resp2, _ := http.Post(srv.URL+"/new", "", nil)
	raw2, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	sub2, err := webpush.ParseSubscription(raw2)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Endpoint == sub2.Endpoint || bytes.Equal(sub.P256dh, sub2.P256dh) || bytes.Equal(sub.Auth, sub2.Auth) {
		t.Fatal("two subscriptions share an endpoint or keys")
	}
}
