package webpush_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/message/webpush"
	"github.com/gosid/gosid/internal/message/webpush/pushtest"
)

// standIn starts the push-service stand-in mounted under /ps/ of a real
// server on 127.0.0.1, as the development server mounts it.
func standIn(t *testing.T) (*pushtest.Service, *httptest.Server) {
	t.Helper()
	svc := pushtest.New()
	mux := http.NewServeMux()
	mux.Handle("/ps/", http.StripPrefix("/ps", svc.Handler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	svc.SetBase(srv.URL + "/ps")
	return svc, srv
}

func newClient(t *testing.T) *webpush.Client {
	t.Helper()
	v, err := webpush.GenerateVAPID("mailto:push@gosid.example")
	if err != nil {
		t.Fatal(err)
	}
	return &webpush.Client{VAPID: v}
}

// checkQuiet asserts that an error does not reveal the capability URL.
func checkQuiet(t *testing.T, err error, sub webpush.Subscription) {
	t.Helper()
	if err == nil {
		return
	}
	id := sub.Endpoint[strings.LastIndex(sub.Endpoint, "/")+1:]
	if strings.Contains(err.Error(), id) || strings.Contains(err.Error(), "/push/") {
		t.Fatalf("the error %q shows the endpoint", err)
	}
}

func TestSendDelivers(t *testing.T) {
	svc, _ := standIn(t)
	c := newClient(t)
	sub, id, err := svc.NewSubscription()
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"title":"Заявление № 1234 одобрено","url":"/applications/1234"}`)
	if err := c.Send(context.Background(), sub, payload, webpush.Options{TTL: 90 * time.Minute, Urgency: "high", Topic: "app-1234"}); err != nil {
		t.Fatal(err)
	}
	got := svc.Received(id)
	if len(got) != 1 {
		t.Fatalf("received %d messages", len(got))
	}
	m := got[0]
	if string(m.Payload) != string(payload) || m.TTL != 5400 || m.Urgency != "high" || m.Topic != "app-1234" || m.ID != id {
		t.Fatalf("received %+v", m)
	}
	if m.At.IsZero() {
		t.Error("no arrival time")
	}

	// No Urgency or Topic: the headers are absent; TTL 0 is sent as 0.
	if err := c.Send(context.Background(), sub, []byte("второе"), webpush.Options{}); err != nil {
		t.Fatal(err)
	}
	got = svc.Received(id)
	if len(got) != 2 || string(got[1].Payload) != "второе" || got[1].TTL != 0 || got[1].Urgency != "" || got[1].Topic != "" {
		t.Fatalf("second message %+v", got[len(got)-1])
	}
	if all := svc.All(); len(all) != 2 {
		t.Fatalf("All = %d messages", len(all))
	}
}

func TestSendTopicReplaces(t *testing.T) {
	svc, _ := standIn(t)
	c := newClient(t)
	sub, id, _ := svc.NewSubscription()
	ctx := context.Background()
	for _, p := range []string{"1", "2", "3"} {
		topic := "status"
		if p == "2" {
			topic = ""
		}
		if err := c.Send(ctx, sub, []byte(p), webpush.Options{TTL: time.Hour, Topic: topic}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, m := range svc.Received(id) {
		got = append(got, string(m.Payload))
	}
	if strings.Join(got, ",") != "2,3" {
		t.Fatalf("messages %v, want the topic's second to replace its first", got)
	}
}

func TestSendGone(t *testing.T) {
	svc, srv := standIn(t)
	c := newClient(t)
	sub, id, _ := svc.NewSubscription()
	svc.Expire(id)
	err := c.Send(context.Background(), sub, []byte("x"), webpush.Options{})
	if !errors.Is(err, webpush.ErrGone) {
		t.Fatalf("err = %v, want ErrGone", err)
	}
	var se *webpush.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusGone {
		t.Fatalf("err = %#v, want a 410 StatusError", err)
	}
	checkQuiet(t, err, sub)

	unknown := sub
	unknown.Endpoint = srv.URL + "/ps/push/nobody"
	if err := c.Send(context.Background(), unknown, []byte("x"), webpush.Options{}); !errors.Is(err, webpush.ErrGone) {
		t.Fatalf("unknown subscription: err = %v, want ErrGone", err)
	}
	if len(svc.All()) != 0 {
		t.Fatal("something was delivered")
	}
}

func TestSendRetryable(t *testing.T) {
	svc, _ := standIn(t)
	c := newClient(t)
	sub, id, _ := svc.NewSubscription()
	ctx := context.Background()

	svc.FailNext(1, http.StatusServiceUnavailable)
	err := c.Send(ctx, sub, []byte("x"), webpush.Options{})
	if !errors.Is(err, webpush.ErrUnavailable) {
		t.Fatalf("503: err = %v, want ErrUnavailable", err)
	}
	if d, ok := webpush.RetryAfter(err); !ok || d != 7*time.Second {
		t.Fatalf("RetryAfter = %v, %v; want the stand-in's 7s", d, ok)
	}
	checkQuiet(t, err, sub)
	if err := c.Send(ctx, sub, []byte("x"), webpush.Options{}); err != nil {
		t.Fatalf("the retry failed: %v", err)
	}
	if len(svc.Received(id)) != 1 {
		t.Fatal("the retry was not delivered")
	}

	for status, want := range map[int]error{
		http.StatusTooManyRequests:       webpush.ErrUnavailable,
		http.StatusBadGateway:            webpush.ErrUnavailable,
		http.StatusRequestEntityTooLarge: webpush.ErrTooLarge,
		http.StatusBadRequest:            webpush.ErrRejected,
		http.StatusUnauthorized:          webpush.ErrRejected,
		http.StatusForbidden:             webpush.ErrRejected,
		http.StatusNotFound:              webpush.ErrGone,
	} {
		svc.FailNext(1, status)
		err := c.Send(ctx, sub, []byte("x"), webpush.Options{})
		if !errors.Is(err, want) {
			t.Errorf("%d: err = %v, want %v", status, err, want)
		}
		for _, other := range []error{webpush.ErrGone, webpush.ErrTooLarge, webpush.ErrRejected, webpush.ErrUnavailable} {
			if other != want && errors.Is(err, other) {
				t.Errorf("%d: err = %v is also %v", status, err, other)
			}
		}
		if _, ok := webpush.RetryAfter(err); ok != (status == http.StatusTooManyRequests) {
			t.Errorf("%d: RetryAfter present = %v", status, ok)
		}
	}
}

func TestSendNetworkError(t *testing.T) {
	svc, srv := standIn(t)
	c := newClient(t)
	sub, _, _ := svc.NewSubscription()
	srv.Close()
	err := c.Send(context.Background(), sub, []byte("x"), webpush.Options{})
	if !errors.Is(err, webpush.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	checkQuiet(t, err, sub)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Send(ctx, sub, []byte("x"), webpush.Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
}

func TestSendVAPIDRejected(t *testing.T) {
	svc, srv := standIn(t)
	c := newClient(t)
	sub, id, _ := svc.NewSubscription()
	ctx := context.Background()

	// Expired: our clock 13 hours behind gives exp = real now - 1h.
	c.Now = func() time.Time { return time.Now().Add(-13 * time.Hour) }
	err := c.Send(ctx, sub, []byte("x"), webpush.Options{})
	var se *webpush.StatusError
	if !errors.Is(err, webpush.ErrRejected) || !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		t.Fatalf("expired token: err = %v, want a 401 ErrRejected", err)
	}
	// 13 hours ahead: exp is 25 h away, beyond RFC 8292's 24 h.
	c.Now = func() time.Time { return time.Now().Add(13 * time.Hour) }
	err = c.Send(ctx, sub, []byte("x"), webpush.Options{})
	if !errors.Is(err, webpush.ErrRejected) || !errors.As(err, &se) || se.Status != http.StatusForbidden {
		t.Fatalf("far exp: err = %v, want a 403 ErrRejected", err)
	}
	c.Now = nil

	// Wrong aud: the service now answers as localhost, the endpoint (and so
	// the token's aud) still names 127.0.0.1.
	svc.SetBase(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/ps")
	err = c.Send(ctx, sub, []byte("x"), webpush.Options{})
	if !errors.Is(err, webpush.ErrRejected) || !errors.As(err, &se) || se.Status != http.StatusForbidden {
		t.Fatalf("wrong aud: err = %v, want a 403 ErrRejected", err)
	}
	if len(svc.Received(id)) != 0 {
		t.Fatal("a rejected push was delivered")
	}
}

func TestSendLocalChecks(t *testing.T) {
	svc, _ := standIn(t)
	c := newClient(t)
	sub, _, _ := svc.NewSubscription()
	ctx := context.Background()
	if err := c.Send(ctx, sub, make([]byte, webpush.MaxPayload+1), webpush.Options{}); !errors.Is(err, webpush.ErrTooLarge) {
		t.Errorf("large payload: err = %v", err)
	}
	if err := c.Send(ctx, sub, make([]byte, webpush.MaxPayload), webpush.Options{}); err != nil {
		t.Errorf("the largest payload: %v", err)
	}
	for name, o := range map[string]webpush.Options{
		"urgency":    {Urgency: "urgent"},
		"long topic": {Topic: strings.Repeat("a", 33)},
		"bad topic":  {Topic: "a b"},
		"negative":   {TTL: -time.Second},
	} {
		if err := c.Send(ctx, sub, []byte("x"), o); !errors.Is(err, webpush.ErrRejected) {
			t.Errorf("%s: err = %v, want ErrRejected", name, err)
		}
	}
	noKey := &webpush.Client{VAPID: webpush.VAPID{Subject: "mailto:a@b"}}
	if err := noKey.Send(ctx, sub, []byte("x"), webpush.Options{}); !errors.Is(err, webpush.ErrRejected) {
		t.Errorf("no VAPID key: err = %v", err)
	}
	if len(svc.All()) != 1 {
		t.Fatalf("%d messages delivered, want only the largest payload", len(svc.All()))
	}
}

// TestBrowserShapedFlow goes through HTTP only, as the portal's browser
// test does: POST /new, the portal parses the JSON, sends, and the test
// reads GET /messages/{id}.
func TestBrowserShapedFlow(t *testing.T) {
	_, srv := standIn(t)
	c := newClient(t)
	resp, err := http.Post(srv.URL+"/ps/new", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/new: %d", resp.StatusCode)
	}
	sub, err := webpush.ParseSubscription(raw)
	if err != nil {
		t.Fatalf("the stand-in's subscription does not parse: %v\n%s", err, raw)
	}
	if !strings.HasPrefix(sub.Endpoint, srv.URL+"/ps/push/") {
		t.Fatalf("endpoint %q", sub.Endpoint)
	}
	if err := c.Send(context.Background(), sub, []byte("Привет"), webpush.Options{TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	id := sub.Endpoint[strings.LastIndex(sub.Endpoint, "/")+1:]
	resp, err = http.Get(srv.URL + "/ps/messages/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var msgs []struct {
		Payload string `json:"payload"`
		TTL     int    `json:"ttl"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Payload != "Привет" || msgs[0].TTL != 60 {
		t.Fatalf("messages %+v", msgs)
	}
}

// TestSendConcurrent: many goroutines push through one Client to several
// subscriptions at once; every message arrives exactly once, intact.
func TestSendConcurrent(t *testing.T) {
	svc, _ := standIn(t)
	c := newClient(t)
	const subs, each = 4, 10
	var wg sync.WaitGroup
	ids := make([]string, subs)
	errs := make(chan error, subs*each)
	for i := range subs {
		sub, id, err := svc.NewSubscription()
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
		for j := range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- c.Send(context.Background(), sub, []byte{byte('a' + i), byte('0' + j)}, webpush.Options{TTL: time.Minute})
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range ids {
		seen := map[string]bool{}
		for _, m := range svc.Received(id) {
			if m.Payload[0] != byte('a'+i) || seen[string(m.Payload)] {
				t.Fatalf("subscription %d got %q", i, m.Payload)
			}
			seen[string(m.Payload)] = true
		}
		if len(seen) != each {
			t.Fatalf("subscription %d got %d of %d", i, len(seen), each)
		}
	}
	if len(svc.All()) != subs*each {
		t.Fatalf("All = %d", len(svc.All()))
	}
}
