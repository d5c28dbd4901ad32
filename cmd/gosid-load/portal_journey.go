package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/verification/registry"
)

// The journey's part in the citizen portal, after the relying party's
// tokens and before the identity provider's sign-out. The portal is a
// relying party of the identity provider (portal/auth), running inside
// every replica behind the soak's second proxy, so that each portal
// request, and each of the portal's own calls to the provider, may land
// on another replica:
//
//	portal_signin  the portal's «Войти» (GET /login) → the provider's
//	               /authorize, answered from the session the citizen
//	               already holds there (no password) → the portal's
//	               callback, which redeems the code and opens a portal
//	               session → back to the portal's home address
//	portal_home    GET /: the signed-in dashboard greeting the citizen by
//	               the name the registries confirmed, at level standard
//	draft          an application service that needs level standard
//	               (draftService): apply, open the form (pre-filled from
//	               the verified profile), save a draft with valid values,
//	               read it back saved, and delete it (so that drafts do not
//	               pile up over a long soak and slow every later home page)
//	portal_logout  POST /logout: the portal session ends and the browser
//	               goes to the provider's end_session_endpoint and back to
//	               the portal, which then shows its landing page
//
// Applications need level standard, so the set-up (raise) brings every
// citizen there through the product's own path: the imported account
// claims a person of the registry simulator's generated family
// (claimIdentity), and the citizen asks for the check from the account
// centre («Подтвердить данные»), as a citizen would.

// draftService is the application service of the draft step: its level
// is standard, its form has the fields draftForm fills.
const draftService = "inn-certificate"

// Texts the portal's pages are recognised by (portal/portal.go's
// catalogue, Russian: the journeys ask for no other language).
const (
	portalHello   = "Здравствуйте, %s!"
	portalLevel   = "Уровень учётной записи: стандартная."
	portalSignIn  = "Войти через Gosid"
	portalSaved   = "Черновик сохранён."
	callbackPath  = "/auth/callback"
	maxPortalHops = 12
)

// claimIdentity makes the import record rec (account n's) claim person n
// of the generated family: name, birth date, SNILS and passport, which
// the simulator's registries all confirm.
func claimIdentity(rec map[string]string, n int) *registry.Identity {
	id := registry.GeneratedIdentity(n)
	p := id.Person
	rec["family_name"], rec["given_name"], rec["middle_name"] = p.FamilyName, p.GivenName, p.MiddleName
	rec["birthdate"] = p.BirthDate.Format(time.DateOnly)
	rec["snils"] = id.SNILS
	rec["passport_series"], rec["passport_number"] = id.Passport.Series, id.Passport.Number
	rec["passport_issue_date"] = id.Passport.IssueDate.Format(time.DateOnly)
	rec["passport_issuer"], rec["division_code"] = id.Passport.Issuer, id.Passport.DivisionCode
	return &id
}

// raiseWait bounds the wait for every citizen's check.
const raiseWait = 2 * time.Minute

// raise brings the citizens to level standard: each signs in to the
// account centre and asks for the registry check of the data the account
// claims; then every check is polled (check.json) until confirmed.
func (s *soakRun) raise(ctx context.Context, citizens []*citizen, log io.Writer) error {
	start := time.Now()
	browsers := make([]*http.Client, len(citizens))
	err := parallel(ctx, 4, len(citizens), func(i int) error {
		// Set-up is not measured: a try that met the fault in force from
		// the start (an exhausted pool) is made again.
		var err error
		for try := 0; try < 5; try++ {
			if browsers[i], err = s.startCheck(ctx, citizens[i]); err == nil {
				return nil
			}
			sleepCtx(ctx, 500*time.Millisecond)
		}
		return err
	})
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, raiseWait)
	defer cancel()
	var pending atomic.Int64
	pending.Store(int64(len(citizens)))
	err = parallel(wctx, 8, len(citizens), func(i int) error {
		if err := s.awaitCheck(wctx, browsers[i]); err != nil {
			return err
		}
		pending.Add(-1)
		return nil
	})
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return fmt.Errorf("%d of %d registry checks not finished within %s (is a replica working the jobs?)", pending.Load(), len(citizens), raiseWait)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "soak: %d citizens at level standard in %.1f s\n", len(citizens), time.Since(start).Seconds())
	return nil
}

// startCheck signs the citizen in at the identity provider and presses
// «Подтвердить данные»; it returns the signed-in browser.
func (s *soakRun) startCheck(ctx context.Context, c *citizen) (*http.Client, error) {
	b := s.q.browser()
	if err := s.setupSignIn(ctx, b, c, "/account/confirm"); err != nil {
		return nil, fmt.Errorf("sign in to confirm the data: %w", err)
	}
	r, err := s.q.post(ctx, b, "/account/confirm/check", url.Values{}, "", "")
	switch {
	case err != nil:
		return nil, fmt.Errorf("start a registry check: %v", err)
	case r.status != http.StatusSeeOther || !strings.HasSuffix(r.location, "/account/confirm/check"):
		// ?error=incomplete: the import did not keep the claims.
		return nil, fmt.Errorf("start a registry check: %d to %q", r.status, r.location)
	}
	return b, nil
}

// awaitCheck polls the citizen's newest check until it is confirmed.
func (s *soakRun) awaitCheck(ctx context.Context, b *http.Client) error {
	for {
		r, err := s.q.get(ctx, b, "/account/confirm/check.json")
		if err != nil {
			return err
		}
		var st struct {
			Status string `json:"status"`
		}
		switch {
		case r.status == http.StatusServiceUnavailable || r.status == http.StatusUnauthorized:
			// The store did not answer (the account centre reads a
			// session it cannot look up as none): asked again below,
			// within raiseWait.
		case r.status != http.StatusOK:
			return fmt.Errorf("registry check status: %d %s", r.status, snippet(r.body))
		case json.Unmarshal(r.body, &st) != nil:
			return fmt.Errorf("registry check status: %s", snippet(r.body))
		case st.Status == "confirmed":
			return nil
		case st.Status != "pending":
			return fmt.Errorf("a generated person's registry check ended %q, want confirmed", st.Status)
		}
		sleepCtx(ctx, 200*time.Millisecond)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// portalStep times one step of the portal part: the step's figure is the
// sum of its requests' answer times (and, with the retries, the whole
// step), one sample per journey.
type portalStep struct {
	s      *soakRun
	ctx    context.Context
	b      *http.Client
	name   string
	start  time.Time
	served time.Duration
	// at is the address of the last request, to resolve its redirect;
	// tries how many times it was sent (more than one: an answer was lost
	// or refused with 503).
	at    *url.URL
	tries int
	// trail is the step's answers so far, for a failure's message.
	trail []string
	// answers are the step's answers' times.
	answers []time.Duration
}

func (s *soakRun) step(ctx context.Context, b *http.Client, name string) *portalStep {
	return &portalStep{s: s, ctx: ctx, b: b, name: name, start: time.Now()}
}

// send sends one request of the step to the absolute address u (at the
// portal or the identity provider), through call: a 503 is waited out.
func (p *portalStep) send(method string, u *url.URL, form url.Values) (*response, *journeyError) {
	p.at, p.tries = u, 0
	r, jerr := p.s.call(p.ctx, p.name, func() (*response, error) {
		p.tries++
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(p.ctx, method, u.String(), body)
		if err != nil {
			return nil, invalid("%v", err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		return p.s.q.do(p.b, req)
	})
	if jerr != nil {
		p.s.note(p.name, 0, nil, jerr)
		return nil, jerr
	}
	p.served += r.dur
	p.answers = append(p.answers, r.dur)
	p.trail = append(p.trail, fmt.Sprintf("%s %s%s %d [%s]", method, u.Host, u.Path, r.status, r.header.Get(httpx.RequestIDHeader)))
	return r, nil
}

// fail records the step's failure, with the answers that led to it: the
// replicas' logs tell the rest by their request ids.
func (p *portalStep) fail(kind, format string, a ...any) *journeyError {
	msg := fmt.Sprintf(format, a...)
	if len(p.trail) > 0 {
		msg += "; " + strings.Join(p.trail, ", ")
	}
	return p.s.fail(p.name, kind, msg)
}

func (p *portalStep) done() {
	p.s.note(p.name, time.Since(p.start), &response{dur: p.served, answers: p.answers}, nil)
}

// redirect wants r to be a redirect and resolves its Location against
// the request's address; one that leaves the portal and the identity
// provider is not followed.
func (p *portalStep) redirect(r *response) (*url.URL, *journeyError) {
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		return nil, p.fail(failStatus, "%s: %d, want a redirect: %s", p.at.Path, r.status, snippet(r.body))
	}
	u, err := p.at.Parse(r.location)
	if err != nil {
		return nil, p.fail(failInvalid, "redirect %q: %v", r.location, err)
	}
	if u.Scheme != "http" || u.Host != p.s.portal.Host && u.Host != p.s.q.cfg.Issuer.Host {
		return nil, p.fail(failInvalid, "redirect to %s, outside the portal and the identity provider", u.Redacted())
	}
	return u, nil
}

func (s *soakRun) atPortal(u *url.URL) bool { return u.Host == s.portal.Host }

// portalURL is the portal's address of path (with a query, if any).
func (s *soakRun) portalURL(path string) *url.URL {
	u, _ := s.portal.Parse(path)
	return u
}

// portalJourney runs the portal steps in b, the browser that holds the
// citizen's session at the identity provider.
func (s *soakRun) portalJourney(ctx context.Context, b *http.Client, c *citizen) *journeyError {
	if c.person == nil {
		return s.fail("portal_signin", failInvalid, "the citizen has no confirmed identity (set-up)")
	}
	for _, step := range []func(context.Context, *http.Client, *citizen) *journeyError{s.portalSignin, s.portalHome, s.draft, s.portalLogout} {
		if jerr := step(ctx, b, c); jerr != nil {
			return jerr
		}
	}
	return nil
}

// portalSignin: «Войти» at the portal, through the provider's authorize
// answered from its session, to the portal's callback and back home.
func (s *soakRun) portalSignin(ctx context.Context, b *http.Client, _ *citizen) *journeyError {
	p := s.step(ctx, b, "portal_signin")
	start := s.portalURL("/login?return=%2F")
	r, jerr := p.send("GET", start, nil)
	calledBack, lost := false, false
	for hop := 0; ; hop++ {
		if jerr != nil {
			return jerr
		}
		if hop >= maxPortalHops {
			return p.fail(failInvalid, "more than %d redirects", maxPortalHops)
		}
		// Not `:=`: the next hop's failure must reach the check above.
		var u *url.URL
		if u, jerr = p.redirect(r); jerr != nil {
			return jerr
		}
		switch {
		case s.atPortal(u) && u.Path == "/":
			if !calledBack {
				return p.fail(failInvalid, "back at the portal without its callback")
			}
			p.done()
			return nil
		case s.atPortal(u) && u.Path == callbackPath:
			if u.Query().Get("error") != "" {
				return p.fail(failInvalid, "the provider answered the portal error=%s", u.Query().Get("error"))
			}
			calledBack = true
		case s.atPortal(u) && u.Path == "/login" && calledBack && u.Query().Get("again") == "1":
			// A callback whose code an interrupted attempt spent starts
			// the sign-in again, once (portal/auth.RestartError).
			calledBack = false
			s.retried("portal_signin_again")
		case s.atPortal(u):
			return p.fail(failInvalid, "redirected to the portal's %s", u.Path)
		case u.Path == "/login":
			return p.fail(failInvalid, "the provider asked for the password again: its session was lost")
		case u.Path == "/authorize/consent":
			return p.fail(failInvalid, "the provider asked the citizen's consent for the portal, a first-party client")
		}
		r, jerr = p.send("GET", u, nil)
		if jerr == nil && r.status == http.StatusBadRequest && p.tries > 1 && !lost {
			// A hop (the portal's callback, the provider's
			// /authorize/continue) was sent again after its answer was
			// lost (a replica killed while answering): the first attempt
			// may have used its one-time state up, and the page says the
			// sign-in is stale. The citizen starts again, once.
			lost, calledBack = true, false
			s.retried("portal_signin_lost_answer")
			r, jerr = p.send("GET", start, nil)
		}
	}
}

// portalHome: the signed-in dashboard, greeting the citizen by the
// confirmed name, at level standard.
func (s *soakRun) portalHome(ctx context.Context, b *http.Client, c *citizen) *journeyError {
	p := s.step(ctx, b, "portal_home")
	r, jerr := p.send("GET", s.portalURL("/"), nil)
	if jerr != nil {
		return jerr
	}
	body := html.UnescapeString(string(r.body))
	hello := fmt.Sprintf(portalHello, strings.TrimSpace(c.person.Person.GivenName+" "+c.person.Person.MiddleName))
	switch {
	case r.status != http.StatusOK:
		return p.fail(failStatus, "%d %s", r.status, snippet(r.body))
	case !strings.Contains(body, hello) && strings.Contains(body, portalSignIn):
		return p.fail(failInvalid, "the landing page, not the signed-in home: the portal session was lost")
	case !strings.Contains(body, hello):
		return p.fail(failInvalid, "the home page does not greet the citizen by the confirmed name")
	case !strings.Contains(body, portalLevel):
		return p.fail(failInvalid, "the home page does not say the account is at level standard")
	}
	p.done()
	return nil
}

// draftForm is what the citizen types into draftService's form: the
// confirmed person's data and an address, valid by the form's rules;
// flat makes this journey's draft its own.
func draftForm(id *registry.Identity, flat int) url.Values {
	pp := id.Passport
	return url.Values{
		"family_name": {id.Person.FamilyName}, "given_name": {id.Person.GivenName}, "middle_name": {id.Person.MiddleName},
		"birthdate": {id.Person.BirthDate.Format("02.01.2006")},
		"passport":  {pp.Series[:2] + " " + pp.Series[2:] + " " + pp.Number},
		"address":   {fmt.Sprintf("г. Москва, ул. Тверская, д. 7, кв. %d", flat)},
	}
}

// draft: apply for draftService, open the form, save a draft, read it
// back saved, delete it.
func (s *soakRun) draft(ctx context.Context, b *http.Client, c *citizen) *journeyError {
	p := s.step(ctx, b, "draft")
	r, jerr := p.send("POST", s.portalURL("/services/"+draftService+"/apply"), url.Values{})
	if jerr != nil {
		return jerr
	}
	u, jerr := p.redirect(r)
	if jerr != nil {
		return jerr
	}
	id, ok := strings.CutPrefix(u.Path, "/applications/")
	switch {
	case s.atPortal(u) && u.Path == "/login":
		return p.fail(failInvalid, "the service sent the citizen to sign in (level %s): the portal session is not at level standard", u.Query().Get("level"))
	case !s.atPortal(u) || !ok || id == "" || strings.Contains(id, "/"):
		return p.fail(failInvalid, "applying answered a redirect to %s, not to the new draft", u.Path)
	}
	app := s.portalURL("/applications/" + url.PathEscape(id))
	if r, jerr = p.send("GET", app, nil); jerr != nil {
		return jerr
	}
	body := html.UnescapeString(string(r.body))
	switch {
	case r.status != http.StatusOK:
		return p.fail(failStatus, "the new draft: %d %s", r.status, snippet(r.body))
	case !strings.Contains(body, `action="/applications/`+id+`"`):
		return p.fail(failInvalid, "the new draft's page has no form to fill")
	case !strings.Contains(body, `value="`+c.person.Person.FamilyName+`"`):
		return p.fail(failInvalid, "the form is not pre-filled with the confirmed family name")
	}
	form := draftForm(c.person, 1+rand.IntN(999))
	form.Set("action", "save")
	if r, jerr = p.send("POST", app, form); jerr != nil {
		return jerr
	}
	if u, jerr = p.redirect(r); jerr != nil {
		return jerr
	}
	if u.Path != app.Path || u.Query().Get("saved") != "1" {
		return p.fail(failInvalid, "saving answered a redirect to %s, not the saved draft", u.Path)
	}
	if r, jerr = p.send("GET", u, nil); jerr != nil {
		return jerr
	}
	body = html.UnescapeString(string(r.body))
	switch {
	case r.status != http.StatusOK:
		return p.fail(failStatus, "the saved draft: %d %s", r.status, snippet(r.body))
	case !strings.Contains(body, portalSaved):
		return p.fail(failInvalid, "the saved draft's page does not say it is saved")
	case !strings.Contains(body, form.Get("address")):
		return p.fail(failInvalid, "the saved draft does not hold the address typed")
	}
	if r, jerr = p.send("POST", app, url.Values{"action": {"delete"}}); jerr != nil {
		return jerr
	}
	if u, jerr = p.redirect(r); jerr != nil {
		return jerr
	}
	if u.Path != "/applications" {
		return p.fail(failInvalid, "deleting the draft answered a redirect to %s", u.Path)
	}
	p.done()
	return nil
}

// portalLogout: the portal's «Выйти» ends its session and sends the
// browser to the provider's end_session_endpoint, which comes back to
// the portal, now signed out.
func (s *soakRun) portalLogout(ctx context.Context, b *http.Client, _ *citizen) *journeyError {
	p := s.step(ctx, b, "portal_logout")
	r, jerr := p.send("POST", s.portalURL("/logout"), url.Values{})
	if jerr != nil {
		return jerr
	}
	u, jerr := p.redirect(r)
	if jerr != nil {
		return jerr
	}
	if s.atPortal(u) {
		return p.fail(failInvalid, "the portal did not send the citizen to the provider's end_session_endpoint (provider unreachable?)")
	}
	for hop := 0; !s.atPortal(u); hop++ {
		if hop >= maxPortalHops {
			return p.fail(failInvalid, "more than %d redirects", maxPortalHops)
		}
		if r, jerr = p.send("GET", u, nil); jerr != nil {
			return jerr
		}
		if u, jerr = p.redirect(r); jerr != nil {
			return jerr
		}
	}
	if u.Path != "/" {
		return p.fail(failInvalid, "the provider's sign-out came back to the portal's %s", u.Path)
	}
	if r, jerr = p.send("GET", u, nil); jerr != nil {
		return jerr
	}
	body := html.UnescapeString(string(r.body))
	switch {
	case r.status != http.StatusOK:
		return p.fail(failStatus, "the portal after signing out: %d %s", r.status, snippet(r.body))
	case !strings.Contains(body, portalSignIn) || strings.Contains(body, "Здравствуйте, "):
		return p.fail(failInvalid, "the portal still shows the citizen signed in after signing out")
	}
	p.done()
	return nil
}
