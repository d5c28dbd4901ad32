package pushtest_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/message/webpush"
	"github.com/gosid/gosid/internal/message/webpush/pushtest"
)

// FuzzReceive: whatever a sender puts in the Authorization and TTL
// headers and the body, the stand-in answers one of the statuses a real
// service gives and never panics; only an authentic push is kept.
func FuzzReceive(f *testing.F) {
	svc := pushtest.New()
	svc.SetBase("http://127.0.0.1:9")
	sub, id, err := svc.NewSubscription()
	if err != nil {
		f.Fatal(err)
	}
	v, err := webpush.GenerateVAPID("mailto:push@gosid.example")
	if err != nil {
		f.Fatal(err)
	}
	auth, _ := v.Authorization(sub.Endpoint, time.Now())
	body, _ := webpush.Encrypt([]byte("seed"), sub, nil)
	f.Add(auth, "60", body)
	f.Add(auth, "60", body[:90])
	f.Add("vapid t=a.b.c, k=BBBB", "0", []byte{})
	f.Add("vapid t=eyJhbGciOiJFUzI1NiJ9.e30.AAAA,k=", "x", []byte("x"))
	f.Add("", "", []byte(nil))
	h := svc.Handler()
	f.Fuzz(func(t *testing.T, authorization, ttl string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/push/"+id, bytes.NewReader(body))
		req.Header.Set("Authorization", authorization)
		req.Header.Set("TTL", ttl)
		req.Header.Set("Content-Encoding", "aes128gcm")
		before := len(svc.Received(id))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusCreated:
			if len(svc.Received(id)) != before+1 {
				t.Fatal("201 without keeping the message")
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge:
			if len(svc.Received(id)) != before {
				t.Fatal("a refused push was kept")
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}
