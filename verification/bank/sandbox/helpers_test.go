package sandbox

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

const (
	testClientID     = "gosid-dev"
	testClientSecret = "sandbox-secret-for-tests"
	testRedirect     = "http://127.0.0.1:9/bank/callback"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rig is a sandbox on 127.0.0.1 and a browser-like client that does not
// follow redirects.
type rig struct {
	issuer string
	clock  *clock
	client *http.Client
}

func newRig(t *testing.T) *rig {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	c := &clock{t: time.Now()}
	sb, err := New(Config{
		Issuer: issuer, ClientID: testClientID, ClientSecret: testClientSecret,
		RedirectURIs: []string{testRedirect, "http://127.0.0.1:9/other"},
		Now:          c.now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = sb.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return &rig{issuer: issuer, clock: c, client: newBrowser(t)}
}

func newBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// authParams is a valid authorization request's parameters.
func authParams() (url.Values, string) {
	verifier := oauth2.GenerateVerifier()
	return url.Values{
		"client_id": {testClientID}, "redirect_uri": {testRedirect}, "response_type": {"code"},
		"scope": {"openid profile"}, "state": {"st-123"}, "nonce": {"n-456"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}, verifier
}

// response is a read HTTP answer.
type response struct {
	status   int
	header   http.Header
	body     string
	location *url.URL
}

func (r *rig) do(t *testing.T, c *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if loc := resp.Header.Get("Location"); loc != "" {
		if out.location, err = url.Parse(loc); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func (r *rig) get(t *testing.T, c *http.Client, path string, q url.Values) response {
	t.Helper()
	req, err := http.NewRequest("GET", r.issuer+path+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r.do(t, c, req)
}

func (r *rig) post(t *testing.T, c *http.Client, path string, form url.Values, setup ...func(*http.Request)) response {
	t.Helper()
	req, err := http.NewRequest("POST", r.issuer+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, f := range setup {
		f(req)
	}
	return r.do(t, c, req)
}

// page is the parsed authorization page.
type page struct {
	token     string   // the hidden anti-forgery field
	customers []string // the customer buttons' values
	cancel    bool
	text      string // the visible text
	// external lists any attribute that loads something (src, href,
	// link, script): the page must have none.
	external []string
}

// parsePage reads the HTML with encoding/xml in its HTML mode.
func parsePage(t *testing.T, body string) page {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(body))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	var p page
	var text strings.Builder
	inStyle := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("page does not parse: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			a := map[string]string{}
			for _, at := range tok.Attr {
				a[at.Name.Local] = at.Value
				if at.Name.Local == "src" || at.Name.Local == "href" {
					p.external = append(p.external, tok.Name.Local+" "+at.Name.Local+"="+at.Value)
				}
			}
			switch tok.Name.Local {
			case "script", "link", "img", "iframe":
				p.external = append(p.external, tok.Name.Local)
			case "style":
				inStyle = true
			case "input":
				if a["type"] == "hidden" && a["name"] == "request" {
					p.token = a["value"]
				}
			case "button":
				switch a["name"] {
				case "customer":
					p.customers = append(p.customers, a["value"])
				case "cancel":
					p.cancel = true
				}
			}
		case xml.EndElement:
			if tok.Name.Local == "style" {
				inStyle = false
			}
		case xml.CharData:
			if !inStyle {
				text.WriteString(string(tok))
				text.WriteByte(' ')
			}
		}
	}
	p.text = strings.Join(strings.Fields(text.String()), " ")
	return p
}

// showPage opens the authorization page with params in browser c.
func (r *rig) showPage(t *testing.T, c *http.Client, params url.Values) page {
	t.Helper()
	resp := r.get(t, c, "/authorize", params)
	if resp.status != http.StatusOK {
		t.Fatalf("GET /authorize: %d %s", resp.status, resp.body)
	}
	return parsePage(t, resp.body)
}

// pick chooses customer sub on the page and returns the redirect.
func (r *rig) pick(t *testing.T, c *http.Client, p page, sub string) response {
	t.Helper()
	return r.post(t, c, "/authorize", url.Values{"request": {p.token}, "customer": {sub}})
}

// code runs the authorization request up to the code.
func (r *rig) code(t *testing.T, params url.Values, sub string) string {
	t.Helper()
	resp := r.pick(t, r.client, r.showPage(t, r.client, params), sub)
	if resp.status != http.StatusSeeOther || resp.location == nil || resp.location.Query().Get("code") == "" {
		t.Fatalf("choosing a customer: %d %v %s", resp.status, resp.location, resp.body)
	}
	return resp.location.Query().Get("code")
}

// tokenForm is a valid token request for code with client_secret_post.
func tokenForm(code, verifier string) url.Values {
	return url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect},
		"code_verifier": {verifier}, "client_id": {testClientID}, "client_secret": {testClientSecret},
	}
}

type nonceKey struct{}

func withNonce(ctx context.Context, nonce string) context.Context {
	return context.WithValue(ctx, nonceKey{}, nonce)
}

func nonceFrom(ctx context.Context) string {
	n, _ := ctx.Value(nonceKey{}).(string)
	return n
}
