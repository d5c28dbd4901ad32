package message

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
)

// gateway is a fake SMS gateway answering with the statuses in order (the
// last one repeats), or hanging until the client gives up when the status
// is 0.
type gateway struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	reqs     []gatewayRequest
}

type gatewayRequest struct {
	method, contentType, auth, url, key string
	body                                []byte
}

func newGateway(t *testing.T, statuses ...int) *gateway {
	g := &gateway{statuses: statuses}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.reqs = append(g.reqs, gatewayRequest{r.Method, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.URL.String(), r.Header.Get("Idempotency-Key"), body})
		status := g.statuses[min(len(g.reqs), len(g.statuses))-1]
		g.mu.Unlock()
		if status == 0 {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		if status == http.StatusFound {
			http.Redirect(w, r, "/elsewhere", status)
			return
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"error":"echo `+string(body)+`"}`)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *gateway) requests() []gatewayRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]gatewayRequest(nil), g.reqs...)
}

func newTestHTTPSMS(t *testing.T, cfg HTTPSMSConfig) (*HTTPSMS, *logBuffer) {
	t.Helper()
	log, logs := newLogger()
	if cfg.AuthHeader == "" {
		cfg.AuthHeader, cfg.AuthValue = "Authorization", "Bearer sms-secret"
	}
	g, err := NewHTTPSMS(cfg, log, nil)
	if err != nil {
		t.Fatalf("NewHTTPSMS: %v", err)
	}
	g.backoff = 10 * time.Millisecond
	return g, logs
}

func TestHTTPSMSBody(t *testing.T) {
	device := `Chrome "Тест" \ </script> {}`
	m := Message{Channel: SMS, To: "+79991234567", Kind: kindNewDevice,
		Text: "Gosid: новый вход 02.01.2026 15:04 с 203.0.113.7, " + device + "."}
	want := m
	for name, tc := range map[string]struct {
		tmpl       string
		toKey, val string
	}{
		"default": {"", "to", "+79991234567"},
		"custom":  {`{"phone":{{json .Phone}},"message":{{json .Text}},"kind":{{json .Kind}},"sender":"Gosid"}`, "phone", "79991234567"},
	} {
		t.Run(name, func(t *testing.T) {
			gw := newGateway(t, 200)
			g, logs := newTestHTTPSMS(t, HTTPSMSConfig{URL: gw.URL + "/send", BodyTemplate: tc.tmpl})
			if err := g.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			reqs := gw.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.method != "POST" || r.contentType != "application/json" || r.auth != "Bearer sms-secret" || r.url != "/send" {
				t.Errorf("request %+v", r)
			}
			var got map[string]string
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, r.body)
			}
			text := got["text"]
			if name == "custom" {
				text = got["message"]
				if got["kind"] != kindNewDevice || got["sender"] != "Gosid" {
					t.Errorf("body %v", got)
				}
			}
			if got[tc.toKey] != tc.val || text != want.Text || !strings.Contains(text, `"Тест"`) {
				t.Errorf("body %v, want text %q", got, want.Text)
			}
			if out := logs.String(); strings.Contains(out, "Тест") || strings.Contains(out, "9991234567") || strings.Contains(out, "sms-secret") {
				t.Errorf("log shows text, number or secret: %s", out)
			}
		})
	}
}

func TestHTTPSMSRetries(t *testing.T) {
	msg := codeMsg(SMS, "+79991234567", kindRegister, testCode)
	for _, tc := range []struct {
		name     string
		statuses []int
		wantReqs int
		wantOK   bool
	}{
		{"500 then 200", []int{500, 200}, 2, true},
		{"503 twice", []int{503}, 2, false},
		{"400", []int{400, 200}, 1, false},
		{"401", []int{401, 200}, 1, false},
		{"redirect", []int{302, 200}, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := newGateway(t, tc.statuses...)
			g, logs := newTestHTTPSMS(t, HTTPSMSConfig{URL: gw.URL + "/send?api_key=key-in-url"})
			err := g.Send(context.Background(), msg)
			if (err == nil) != tc.wantOK {
				t.Fatalf("Send = %v", err)
			}
			if n := len(gw.requests()); n != tc.wantReqs {
				t.Errorf("%d requests, want %d", n, tc.wantReqs)
			}
			if err != nil {
				if !errors.Is(err, ErrGateway) {
					t.Errorf("error not ErrGateway: %v", err)
				}
				for _, leak := range []string{testCode, "key-in-url", "sms-secret", "9991234567"} {
					if strings.Contains(err.Error(), leak) {
						t.Errorf("error shows %q: %v", leak, err)
					}
				}
			}
			if strings.Contains(logs.String(), testCode) {
				t.Errorf("log shows the code: %s", logs.String())
			}
		})
	}
}

func TestHTTPSMSTimeout(t *testing.T) {
	gw := newGateway(t, 0, 0)
	g, _ := newTestHTTPSMS(t, HTTPSMSConfig{URL: gw.URL, Timeout: 100 * time.Millisecond})
	start := time.Now()
	err := g.Send(context.Background(), codeMsg(SMS, "+79991234567", kindRegister, testCode))
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}
	if n := len(gw.requests()); n != 2 {
		t.Errorf("%d requests, want 2 (one retry after a timeout)", n)
	}

	// The caller's context bounds the whole send, retries included.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	g, _ = newTestHTTPSMS(t, HTTPSMSConfig{URL: gw.URL, Timeout: time.Minute})
	start = time.Now()
	if err := g.Send(ctx, codeMsg(SMS, "+79991234567", kindRegister, testCode)); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("Send = %v after %s", err, time.Since(start))
	}
}

func TestHTTPSMSUnreachableHidesURLKey(t *testing.T) {
	gw := newGateway(t, 200)
	url := gw.URL + "/send?api_key=key-in-url"
	gw.Close()
	g, _ := newTestHTTPSMS(t, HTTPSMSConfig{URL: url})
	err := g.Send(context.Background(), codeMsg(SMS, "+79991234567", kindRegister, testCode))
	if err == nil || strings.Contains(err.Error(), "key-in-url") {
		t.Errorf("Send = %v", err)
	}
}

func TestHTTPSMSConfig(t *testing.T) {
	for _, cfg := range []HTTPSMSConfig{
		{URL: "sms.example.ru/send"},
		{URL: "ftp://sms.example.ru/send"},
		{URL: "https://sms.example.ru/send", BodyTemplate: `{"to":{{json .To}`},
		{URL: "https://sms.example.ru/send", BodyTemplate: `{"to":{{json .Nope}}}`},
		{URL: "https://sms.example.ru/send", SuccessStatus: 404},
		{URL: "https://sms.example.ru/send", AuthHeader: "Authorization"},
	} {
		if _, err := NewHTTPSMS(cfg, discardLogger(), nil); err == nil {
			t.Errorf("accepted %v", cfg)
		}
	}
	g, _ := newTestHTTPSMS(t, HTTPSMSConfig{URL: "https://sms.example.ru/send"})
	if err := g.Send(context.Background(), codeMsg(Email, "a@example.ru", kindRegister, "1")); !errors.Is(err, ErrChannelUnavailable) {
		t.Errorf("gateway took an e-mail: %v", err)
	}
	if err := g.Send(context.Background(), codeMsg(SMS, "8 999 123-45-67", kindRegister, "1")); !errors.Is(err, ErrBadRecipient) {
		t.Errorf("gateway took a non-E.164 number: %v", err)
	}
}

func TestHTTPSMSSuccessStatus(t *testing.T) {
	gw := newGateway(t, 200)
	g, _ := newTestHTTPSMS(t, HTTPSMSConfig{URL: gw.URL, SuccessStatus: 201})
	if err := g.Send(context.Background(), codeMsg(SMS, "+79991234567", kindRegister, "1")); err == nil {
		t.Error("200 accepted where 201 is required")
	}
}

// A message's dedupe key reaches the gateway on every attempt, the same,
// so that the gateway drops the repeat of a call whose answer was lost.
func TestHTTPSMSIdempotencyKey(t *testing.T) {
	gw := newGateway(t, 500, 200)
	g, _ := newTestHTTPSMS(t, HTTPSMSConfig{URL: gw.URL + "/send", BodyTemplate: `{"to":{{json .Phone}},"text":{{json .Text}},"id":{{json .Key}}}`})
	msg := codeMsg(SMS, "+79991234567", kindRegister, testCode)
	msg.Key = "notice-42:sms"
	if err := g.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	reqs := gw.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		if r.key != msg.Key || !strings.Contains(string(r.body), `"id":"notice-42:sms"`) {
			t.Errorf("request without the key: header %q body %s", r.key, r.body)
		}
	}
	msg.Key = ""
	if err := g.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if r := gw.requests(); r[len(r)-1].key != "" {
		t.Errorf("a message without a key sent Idempotency-Key %q", r[len(r)-1].key)
	}
}
