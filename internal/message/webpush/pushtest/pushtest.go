package pushtest

import (
	"cmp"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gosid/gosid/internal/message/webpush"
)

// maxBody is the body size every push service must accept (RFC 8030
// §7.2) and the most this one does.
const maxBody = 4096

// maxJWTLifetime is RFC 8292 §2's limit on a VAPID token's exp.
const maxJWTLifetime = 24 * time.Hour

// Received is one message that reached the stand-in and decrypted.
type Received struct {
	ID      string // the subscription's id
	Payload []byte // the decrypted plaintext
	TTL     int    // seconds, from the TTL header
	Urgency string
	Topic   string
	At      time.Time
}

// Service is the stand-in push service. The zero value is not usable; call
// New.
type Service struct {
	mu       sync.Mutex
	base     string
	subs     map[string]*subscription
	seq      int64
	failN    int
	failCode int
	// hangNext: the next push that passes the checks is kept and never
	// answered (the service took it, the answer was lost); hung tells of
	// it.
	hangNext bool
	hung     chan string
	now      func() time.Time
}

type subscription struct {
	key  *ecdh.PrivateKey
	auth []byte
	gone bool
	msgs []message
	// posts counts the pushes taken, those a later one of the same
	// Topic replaced included.
	posts int
}

type message struct {
	Received
	seq int64
}

// New returns an empty service.
func New() *Service {
	return &Service{subs: map[string]*subscription{}, now: time.Now, hung: make(chan string, 16)}
}

// HangNext makes the next push that passes every check be taken (kept,
// as delivered) and then never answered, as when the sender's process
// dies or the connection breaks after the service took the message. The
// returned channel gets the subscription's id when that happens.
func (s *Service) HangNext() <-chan string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangNext = true
	return s.hung
}

// Posts is how many pushes the subscription took, those a later push of
// the same Topic replaced included.
func (s *Service) Posts(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub, ok := s.subs[id]; ok {
		return sub.posts
	}
	return 0
}

// SetBase tells the service its public URL: where Handler is mounted,
// without a trailing slash ("http://127.0.0.1:4321/push-service").
// Endpoints are {base}/push/{id} and VAPID tokens must name the base's
// origin as aud. Unset, both come from the request's Host.
func (s *Service) SetBase(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = strings.TrimRight(base, "/")
}

// NewSubscription creates a subscription as a browser would and returns
// it with its id. SetBase must have been called.
func (s *Service) NewSubscription() (webpush.Subscription, string, error) {
	s.mu.Lock()
	base := s.base
	s.mu.Unlock()
	if base == "" {
		return webpush.Subscription{}, "", errors.New("pushtest: SetBase was not called")
	}
	return s.newSubscription(base)
}

func (s *Service) newSubscription(base string) (webpush.Subscription, string, error) {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return webpush.Subscription{}, "", err
	}
	auth := make([]byte, 16)
	idBytes := make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		return webpush.Subscription{}, "", err
	}
	if _, err := rand.Read(idBytes); err != nil {
		return webpush.Subscription{}, "", err
	}
	id := base64.RawURLEncoding.EncodeToString(idBytes)
	s.mu.Lock()
	s.subs[id] = &subscription{key: key, auth: auth}
	s.mu.Unlock()
	return webpush.Subscription{
		Endpoint: base + "/push/" + id,
		P256dh:   key.PublicKey().Bytes(),
		Auth:     auth,
	}, id, nil
}

// Expire makes the subscription gone: pushes to it get 410.
func (s *Service) Expire(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub, ok := s.subs[id]; ok {
		sub.gone = true
	}
}

// FailNext makes the next n pushes (to any subscription) answer status,
// before any other check, as an overloaded or broken service would. A 429
// or 503 carries "Retry-After: 7", so that a test can see the sender read
// it.
func (s *Service) FailNext(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode = n, status
}

// Received returns the messages kept for a subscription, oldest first.
func (s *Service) Received(id string) []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[id]
	if !ok {
		return nil
	}
	out := make([]Received, 0, len(sub.msgs))
	for _, m := range sub.msgs {
		out = append(out, clone(m.Received))
	}
	return out
}

// All returns the messages kept for every subscription, in arrival order.
func (s *Service) All() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []message
	for _, sub := range s.subs {
		all = append(all, sub.msgs...)
	}
	slices.SortFunc(all, func(a, b message) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Received, 0, len(all))
	for _, m := range all {
		out = append(out, clone(m.Received))
	}
	return out
}

func clone(r Received) Received {
	r.Payload = slices.Clone(r.Payload)
	return r
}

// Handler serves the routes listed in the package documentation.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /new", s.createSubscription)
	mux.HandleFunc("POST /push/{id}", s.receivePush)
	mux.HandleFunc("GET /messages/{id}", s.listMessages)
	return mux
}

// baseFor is the configured base, or one made from the request.
func (s *Service) baseFor(r *http.Request) string {
	s.mu.Lock()
	base := s.base
	s.mu.Unlock()
	if base != "" {
		return base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Service) createSubscription(w http.ResponseWriter, r *http.Request) {
	sub, _, err := s.newSubscription(s.baseFor(r))
	if err != nil {
		http.Error(w, "cannot create a subscription", http.StatusInternalServerError)
		return
	}
	body, err := json.Marshal(sub)
	if err != nil {
		http.Error(w, "cannot encode the subscription", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

func (s *Service) receivePush(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	if s.failN > 0 {
		s.failN--
		code := s.failCode
		s.mu.Unlock()
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "7")
		}
		http.Error(w, "failing as told by FailNext", code)
		return
	}
	sub, ok := s.subs[id]
	var gone bool
	var key *ecdh.PrivateKey
	var auth []byte
	if ok {
		gone, key, auth = sub.gone, sub.key, sub.auth
	}
	s.mu.Unlock()
	switch {
	case !ok:
		http.Error(w, "no such subscription", http.StatusNotFound)
		return
	case gone:
		http.Error(w, "subscription expired", http.StatusGone)
		return
	}
	if status, reason := s.checkVAPID(r); status != 0 {
		http.Error(w, reason, status)
		return
	}
	if r.Header.Get("Content-Encoding") != "aes128gcm" {
		http.Error(w, "Content-Encoding must be aes128gcm", http.StatusBadRequest)
		return
	}
	ttl, err := strconv.ParseUint(r.Header.Get("TTL"), 10, 31)
	if err != nil {
		http.Error(w, "TTL must be a non-negative integer", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	if len(body) > maxBody {
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return
	}
	payload, err := webpush.Decrypt(body, key, auth)
	if err != nil {
		http.Error(w, "cannot decrypt the payload", http.StatusBadRequest)
		return
	}
	msg := Received{
		ID: id, Payload: payload, TTL: int(ttl),
		Urgency: r.Header.Get("Urgency"), Topic: r.Header.Get("Topic"),
		At: s.now(),
	}
	s.mu.Lock()
	s.seq++
	m := message{Received: msg, seq: s.seq}
	if msg.Topic != "" {
		sub.msgs = slices.DeleteFunc(sub.msgs, func(old message) bool { return old.Topic == msg.Topic })
	}
	sub.msgs = append(sub.msgs, m)
	sub.posts++
	seq := s.seq
	hang := s.hangNext
	s.hangNext = false
	s.mu.Unlock()
	if hang {
		s.hung <- id
		<-r.Context().Done()
		return
	}
	// RFC 8030 §5: the Location names the message resource. Nothing here
	// serves it; senders only check that it is there.
	w.Header().Set("Location", s.baseFor(r)+"/m/"+strconv.FormatInt(seq, 10))
	w.WriteHeader(http.StatusCreated)
}

// checkVAPID verifies "Authorization: vapid t=<JWT>, k=<key>" as RFC 8292
// says; it returns 0 when the token is good, or the status and a short
// reason a real service would give.
func (s *Service) checkVAPID(r *http.Request) (int, string) {
	h := r.Header.Get("Authorization")
	scheme, params, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "vapid") {
		return http.StatusUnauthorized, "missing vapid authorization"
	}
	var token, k string
	for p := range strings.SplitSeq(params, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(name) {
		case "t":
			token = value
		case "k":
			k = value
		}
	}
	if token == "" || k == "" {
		return http.StatusUnauthorized, "vapid authorization needs t and k"
	}
	keyBytes, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil {
		return http.StatusUnauthorized, "k is not base64url"
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), keyBytes)
	if err != nil {
		return http.StatusUnauthorized, "k is not a P-256 public key"
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return http.StatusUnauthorized, "t is not a compact JWS"
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := decodePart(parts[0], &header); err != nil || header.Alg != "ES256" {
		return http.StatusUnauthorized, "the token's alg must be ES256"
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return http.StatusUnauthorized, "the token's signature is not 64 bytes"
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	rr, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], rr, ss) {
		return http.StatusUnauthorized, "bad token signature"
	}
	var claims struct {
		Aud *string `json:"aud"`
		Exp *int64  `json:"exp"`
		Sub string  `json:"sub"`
	}
	if err := decodePart(parts[1], &claims); err != nil {
		return http.StatusUnauthorized, "the token's claims are not JSON"
	}
	now := s.now()
	switch {
	case claims.Exp == nil:
		return http.StatusUnauthorized, "the token has no exp"
	case *claims.Exp <= now.Unix():
		return http.StatusUnauthorized, "the token has expired"
	case *claims.Exp > now.Add(maxJWTLifetime).Unix():
		return http.StatusForbidden, "the token's exp is more than 24 hours ahead"
	case claims.Aud == nil || *claims.Aud != originOf(s.baseFor(r)):
		return http.StatusForbidden, "the token's aud is not this push service"
	case !strings.HasPrefix(claims.Sub, "mailto:") && !strings.HasPrefix(claims.Sub, "https:"):
		return http.StatusForbidden, "the token's sub must be a mailto: or https: URI"
	}
	return 0, ""
}

func decodePart(part string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func originOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

// messageJSON is a Received for browser tests: the payload as text.
type messageJSON struct {
	Payload string    `json:"payload"`
	TTL     int       `json:"ttl"`
	Urgency string    `json:"urgency,omitempty"`
	Topic   string    `json:"topic,omitempty"`
	At      time.Time `json:"at"`
}

func (s *Service) listMessages(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	_, ok := s.subs[id]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "no such subscription", http.StatusNotFound)
		return
	}
	out := []messageJSON{}
	for _, m := range s.Received(id) {
		out = append(out, messageJSON{Payload: string(m.Payload), TTL: m.TTL, Urgency: m.Urgency, Topic: m.Topic, At: m.At})
	}
	body, err := json.Marshal(out)
	if err != nil {
		http.Error(w, "cannot encode the messages", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}
