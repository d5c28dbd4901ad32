package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"sync"
	"time"
)

// The slow-sms scenario: the replicas send SMS through --sms-gateway-url
// to the tool's edge (edge.go), which during the fault window answers
// each message only after smsSlow. Half of the citizens sign in with an
// SMS code as their second factor (enrolled at set-up through the
// security page): /login/2fa sends the code, the journey reads it from
// the gateway's inbox and types it. The verdict: no page waits for the
// slow gateway beyond smsPageBound (the product answers a page that sends
// a code within its send budget, idp/codestep.DefaultSendBudget, and
// finishes the send in the background); the codes sent during the window
// arrive and work; sign-ins by SMS after the window succeed; no SMS is
// sent twice.

const (
	// smsSlow is how long the slow gateway holds each message.
	smsSlow = 5 * time.Second
	// smsPageBound is the longest a page that sends a code may take: the
	// send budget (2 s) and the page's own work.
	smsPageBound = 4 * time.Second
	// smsCooldown is the wait between two codes to one number (the
	// server's is 60 s per purpose and number).
	smsCooldown = 61 * time.Second
	// smsWait is how long a citizen waits for a code to arrive.
	smsWait = 30 * time.Second
)

// smsSteps are the report's rows of the SMS side: "sms" is the page that
// sends the code (GET /login/2fa).
var smsSteps = []string{"sms"}

var codeRe = regexp.MustCompile(`\b(\d{6})\b`)

// smsRun is the SMS side of a soak.
type smsRun struct {
	edge     *edge
	citizens map[*citizen]*smsCitizen
	order    []*citizen
	// window is the fault's: [from, to) since the start, set by inject.
	mu         sync.Mutex
	from, to   time.Duration
	inWindow   int // SMS sign-ins whose code was sent in the window and that completed
	afterWin   int // … sent after the window
	completed  int
	maxArrival time.Duration // longest from a code's page to its SMS
}

func newSMSRun(e *edge, cs []*citizen) *smsRun {
	r := &smsRun{edge: e, citizens: map[*citizen]*smsCitizen{}, order: cs}
	for i, c := range cs {
		r.citizens[c] = &smsCitizen{ip: fmt.Sprintf("10.77.%d.%d", i/250, i%250+1)}
	}
	return r
}

// pace spreads the SMS citizens' first sign-ins over the run (each may
// have a code once a minute): some meet the slow gateway, some come
// after it.
func (r *smsRun) pace(start time.Time, d time.Duration) {
	for i, c := range r.order {
		sc := r.citizens[c]
		sc.mu.Lock()
		sc.next = start.Add(d * time.Duration(i) / time.Duration(len(r.order)))
		sc.mu.Unlock()
	}
}

// slow makes the gateway slow from at (since the start) for window.
func (r *smsRun) slow(at, window time.Duration) {
	r.mu.Lock()
	r.from, r.to = at, at+window
	r.mu.Unlock()
	r.edge.smsDelay.Store(int64(smsSlow))
}

// smsCitizen is a citizen who signs in with SMS codes: from an address of
// their own (X-Forwarded-For through the proxy, trusted by the replicas:
// the per-address daily cap of codes is the server's defence against
// SMS pumping, not a limit of the soak), no more often than the
// server's cool-down allows.
type smsCitizen struct {
	ip   string
	mu   sync.Mutex
	next time.Time
}

// forwardedFor sets X-Forwarded-For on every request.
type forwardedFor struct {
	base http.RoundTripper
	ip   string
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.ip)
	return f.base.RoundTrip(r)
}

// smsOf is the citizen's SMS side, nil for one who signs in otherwise.
func (s *soakRun) smsOf(c *citizen) *smsCitizen {
	if s.sms == nil {
		return nil
	}
	return s.sms.citizens[c]
}

// browserFor is a fresh browser for the citizen's journey: from the
// citizen's own address for an SMS citizen.
func (s *soakRun) browserFor(c *citizen) *http.Client {
	b := s.q.browser()
	if sc := s.smsOf(c); sc != nil {
		jar, _ := cookiejar.New(nil)
		b = &http.Client{Transport: forwardedFor{s.q.tr, sc.ip}, Jar: jar, Timeout: b.Timeout, CheckRedirect: noRedirect}
	}
	return b
}

// smsPace waits until the SMS citizen may be sent another code.
func (s *soakRun) smsPace(ctx context.Context, c *citizen) {
	if sc := s.smsOf(c); sc != nil {
		sc.mu.Lock()
		next := sc.next
		sc.mu.Unlock()
		sleepCtx(ctx, time.Until(next))
	}
}

// smsMFA is the second factor by SMS: the page sends the code, the
// citizen reads it from the gateway's inbox and types it.
func (s *soakRun) smsMFA(ctx context.Context, b *http.Client, c *citizen, timed func(string, func() (*response, error)) (*response, *journeyError)) (*response, *journeyError) {
	sc := s.smsOf(c)
	arrived := s.sms.edge.expectSMS(c.login)
	sentAt := time.Since(s.start)
	r, jerr := timed("sms", func() (*response, error) { return s.q.get(ctx, b, "/login/2fa") })
	sc.mu.Lock()
	sc.next = time.Now().Add(smsCooldown)
	sc.mu.Unlock()
	if jerr != nil {
		return nil, jerr
	}
	if r.status != http.StatusOK {
		return nil, s.fail("sms", failStatus, fmt.Sprintf("%d %s", r.status, snippet(r.body)))
	}
	wctx, cancel := context.WithTimeout(ctx, smsWait)
	defer cancel()
	var msg smsMessage
	select {
	case msg = <-arrived:
	case <-wctx.Done():
		if ctx.Err() != nil {
			return nil, &journeyError{"sms", "cancelled", "the run ended"}
		}
		return nil, s.fail("sms", failInvalid, "no SMS within "+smsWait.String())
	}
	m := codeRe.FindStringSubmatch(msg.Text)
	if m == nil {
		return nil, s.fail("sms", failInvalid, "no code in the SMS")
	}
	arrival := time.Since(s.start) - sentAt
	r, jerr = timed("mfa", func() (*response, error) {
		return s.q.post(ctx, b, "/login/2fa", url.Values{"code": {m[1]}}, "", "")
	})
	if jerr == nil && r.status == http.StatusUnauthorized {
		return nil, s.fail("mfa", failVerdict, "a right SMS code refused")
	}
	if jerr == nil {
		s.sms.mu.Lock()
		s.sms.completed++
		s.sms.maxArrival = max(s.sms.maxArrival, arrival)
		switch {
		case s.sms.to > 0 && sentAt >= s.sms.from && sentAt < s.sms.to:
			s.sms.inWindow++
		case s.sms.to > 0 && sentAt >= s.sms.to:
			s.sms.afterWin++
		}
		s.sms.mu.Unlock()
	}
	return r, jerr
}

var challengeRe = regexp.MustCompile(`name="challenge" value="([^"]+)"`)

// enrolSMS signs the citizen in and turns on SMS codes as the second
// factor from the security page, as a citizen would: the code read from
// the gateway's inbox.
func (s *soakRun) enrolSMS(ctx context.Context, c *citizen) error {
	b := s.browserFor(c)
	if err := s.setupSignIn(ctx, b, c, "/account"); err != nil {
		return fmt.Errorf("sign in to enrol: %w", err)
	}
	arrived := s.sms.edge.expectSMS(c.login)
	r, err := s.q.postFollow(ctx, b, "/account/security/sms")
	if err != nil {
		return err
	}
	ch := challengeRe.FindSubmatch(r.body)
	if r.status != http.StatusOK || ch == nil {
		return fmt.Errorf("the SMS step of the security page: %d, no challenge", r.status)
	}
	wctx, cancel := context.WithTimeout(ctx, smsWait)
	defer cancel()
	var msg smsMessage
	select {
	case msg = <-arrived:
	case <-wctx.Done():
		return fmt.Errorf("no enrolment SMS within %s", smsWait)
	}
	m := codeRe.FindStringSubmatch(msg.Text)
	if m == nil {
		return fmt.Errorf("no code in the enrolment SMS")
	}
	r, err = s.q.post(ctx, b, "/account/security/sms/confirm", url.Values{"challenge": {string(ch[1])}, "code": {m[1]}}, "", "")
	if err != nil || r.status/100 != 2 && r.status/100 != 3 {
		return fmt.Errorf("confirm SMS codes: %v %v", statusOf(r), err)
	}
	_, _ = s.q.post(ctx, b, "/logout", url.Values{}, "", "")
	return nil
}

// judgeSMS adds the slow-sms scenario's verdict.
func judgeSMS(rep *soakReport, run *soakRun, fail func(string, ...any)) {
	for _, st := range rep.Steps {
		if st.Step == "sms" && st.Maxms > float64(smsPageBound.Milliseconds()) {
			fail("a page that sends a code took %.0f ms with the gateway slow, want ≤ %d", st.Maxms, smsPageBound.Milliseconds())
		}
	}
	run.sms.mu.Lock()
	defer run.sms.mu.Unlock()
	rep.SMS = &smsFigures{Completed: run.sms.completed, InWindow: run.sms.inWindow, AfterWindow: run.sms.afterWin,
		MaxArrivalSeconds: run.sms.maxArrival.Seconds()}
	if run.sms.inWindow == 0 {
		fail("no sign-in by an SMS code sent while the gateway was slow completed")
	}
	if run.sms.afterWin == 0 {
		fail("no sign-in by SMS completed after the gateway's slowness ended")
	}
}

// smsFigures are the slow-sms scenario's figures.
type smsFigures struct {
	Completed   int `json:"sign_ins"`
	InWindow    int `json:"sign_ins_code_sent_while_slow"`
	AfterWindow int `json:"sign_ins_after"`
	// MaxArrivalSeconds is the longest from a code's page to its SMS.
	MaxArrivalSeconds float64 `json:"max_code_arrival_s"`
}
