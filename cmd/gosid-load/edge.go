package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The edge is what a soak's replicas talk to outside the cluster, faked by
// the tool so that what they send can be counted: the relying party's
// back-channel logout endpoint (one delivery per ended session, sent by a
// durable job: the count shows a job lost or run twice) and the SMS
// gateway (every one-time code sent by SMS, answered after the delay in
// force: the slow-sms scenario).

type edge struct {
	srv *http.Server
	url string
	// smsDelay is how long the gateway holds each message before it
	// answers (nanoseconds).
	smsDelay atomic.Int64

	mu sync.Mutex
	// logouts counts the logout tokens delivered per sid.
	logouts map[string]int
	// sms is every message the gateway received, in order.
	sms []smsMessage
	// smsWaiters are told of each message to a number.
	smsWaiters map[string][]chan smsMessage
}

// smsMessage is one SMS the fake gateway took.
type smsMessage struct {
	To   string
	Text string
	At   time.Time
}

func newEdge() (*edge, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &edge{url: "http://" + ln.Addr().String(), logouts: map[string]int{}, smsWaiters: map[string][]chan smsMessage{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /backchannel-logout", e.takeLogout)
	mux.HandleFunc("POST /sms", e.takeSMS)
	e.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}

func (e *edge) close() { _ = e.srv.Close() }

// takeLogout records the sid of a logout token. The token is Gosid's own,
// read without checking its signature: the count is what matters here.
func (e *edge) takeLogout(w http.ResponseWriter, r *http.Request) {
	sid, ok := jwtClaim(r.PostFormValue("logout_token"), "sid")
	if !ok {
		http.Error(w, "no sid", http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.logouts[sid]++
	e.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// takeSMS records a message (the gateway body's default form,
// {"to": …, "text": …}) and answers after the delay in force.
func (e *edge) takeSMS(w http.ResponseWriter, r *http.Request) {
	var m struct {
		To   string `json:"to"`
		Text string `json:"text"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&m); err != nil || m.To == "" {
		http.Error(w, "bad message", http.StatusBadRequest)
		return
	}
	if d := time.Duration(e.smsDelay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return // the sender gave up: not taken
		}
	}
	msg := smsMessage{To: m.To, Text: m.Text, At: time.Now()}
	e.mu.Lock()
	e.sms = append(e.sms, msg)
	waiters := e.smsWaiters[m.To]
	delete(e.smsWaiters, m.To)
	e.mu.Unlock()
	for _, c := range waiters {
		c <- msg
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{"status":"accepted"}`))
}

// expectSMS is told of the next message to the number taken from now on.
func (e *edge) expectSMS(to string) <-chan smsMessage {
	c := make(chan smsMessage, 1)
	e.mu.Lock()
	e.smsWaiters[to] = append(e.smsWaiters[to], c)
	e.mu.Unlock()
	return c
}

// logoutCounts is a copy of the deliveries per sid.
func (e *edge) logoutCounts() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.logouts))
	for k, v := range e.logouts {
		out[k] = v
	}
	return out
}

// smsCopy is a copy of the messages taken.
func (e *edge) smsCopy() []smsMessage {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]smsMessage(nil), e.sms...)
}

// jwtClaim reads a string claim of a JWT's payload, unverified.
func jwtClaim(token, name string) (string, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var claims map[string]any
	if json.Unmarshal(raw, &claims) != nil {
		return "", false
	}
	v, ok := claims[name].(string)
	return v, ok && v != ""
}
