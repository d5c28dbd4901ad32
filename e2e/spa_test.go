package e2e

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSinglePageApp: a single-page app (a public client, PKCE) on
// its own origin, 127.0.0.1, signs a citizen in at Gosid on localhost and
// then, from the page, reads discovery, redeems the code at the token
// endpoint, calls userinfo and revokes the token with fetch(): real
// cross-origin requests, checked by Chromium's CORS. The same requests from
// a page on an origin no client registered are blocked by the browser.
// Before, the cross-site filter answered the app's token request 403
// without CORS headers.
func TestBrowserSinglePageApp(t *testing.T) {
	dir := t.TempDir()
	data := []string{"--data-dir", dir}
	_, issuer := startLocalhost(t, data...)
	const phone, password = "+79123450011", "Zk7#vLq2!mWp"
	if code, out, errOut := gosidEnv(t, []string{"GOSID_PASSWORD=" + password}, append([]string{"accounts", "create", "--phone", phone,
		"--family-name", "Браузерова", "--given-name", "Ольга", "--json"}, data...)...); code != 0 {
		t.Fatalf("gosid accounts create: exit %d\n%s%s", code, out, errOut)
	}

	var clientID string
	app := httptest.NewServer(spaHandler(&clientID, issuer, spaStart, spaCallback))
	t.Cleanup(app.Close)
	stranger := httptest.NewServer(spaHandler(&clientID, issuer, spaStranger, ""))
	t.Cleanup(stranger.Close)
	redirect := app.URL + "/cb"
	clientID = new(oidcRig).createClient(t, data, "Одностраничное приложение", "--auth-method", "none", "--redirect-uri", redirect,
		"--scopes", "openid fullname", "--grant-types", "authorization_code").ID

	b := newBrowser(t, issuer)
	b.do("open the app", chromedp.Navigate(app.URL+"/"))
	// The app sent the browser to Gosid's sign-in page.
	b.do("wait for the sign-in page", chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)))
	b.fill("login", phone)
	b.fill("password", password)
	b.submit("/login", "/authorize/consent")
	b.expectText("Одностраничное приложение")
	b.click(`form[action="/authorize/consent"] button[value="allow"]`, "/cb", 200)
	got := spaResult(b)
	ui, _ := got["userinfo"].(map[string]any)
	if got["error"] != nil || got["token_status"] != float64(200) || got["has_id_token"] != true || got["userinfo_status"] != float64(200) ||
		ui["family_name"] != "Браузерова" || ui["sub"] == nil || got["revoke_status"] != float64(200) || got["after_revoke_status"] == float64(200) {
		b.fatalf("the app's requests to Gosid: %v", got)
	}

	b.do("open the stranger's page", chromedp.Navigate(stranger.URL+"/"))
	got = spaResult(b)
	for _, k := range []string{"token", "userinfo", "revoke"} {
		if v, _ := got[k].(string); !strings.HasPrefix(v, "blocked") {
			b.fatalf("%s from an unregistered origin: %v, want the browser to block it (%v)", k, got[k], got)
		}
	}
}

// spaResult waits for the page's script to finish and returns what it
// found.
func spaResult(b *browser) map[string]any {
	b.t.Helper()
	b.do("wait for the page's script", chromedp.WaitReady(chromedp.CSS(`#result[data-done]`)))
	raw := evalIn[string](b, "read the result", `document.getElementById('result').textContent`)
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		b.fatalf("the page's result %q: %v", raw, err)
	}
	return m
}

// spaHandler serves an app's pages: / runs start, /cb runs callback.
func spaHandler(clientID *string, issuer, start, callback string) http.Handler {
	page := template.Must(template.New("").Parse(`<!doctype html><html><head><meta charset="utf-8"><title>SPA</title></head>
<body><pre id="result"></pre><script>
const ISSUER = {{.Issuer}}, CLIENT_ID = {{.ClientID}}, REDIRECT = location.origin + "/cb";
const form = (o) => ({method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: new URLSearchParams(o)});
function done(out) {
  const el = document.getElementById("result");
  el.textContent = JSON.stringify(out);
  el.dataset.done = "1";
}
{{.Script}}
</script></body></html>`))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		script := start
		switch r.URL.Path {
		case "/":
		case "/cb":
			script = callback
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := page.Execute(w, map[string]any{"Issuer": issuer, "ClientID": *clientID, "Script": template.JS(script)}); err != nil {
			fmt.Fprint(w, err)
		}
	})
}

// spaStart begins the code flow with PKCE, as a browser app does.
const spaStart = `(async () => {
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const verifier = b64(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const state = b64(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("flow", JSON.stringify({verifier, state}));
  const meta = await (await fetch(ISSUER + "/.well-known/openid-configuration")).json();
  location.assign(meta.authorization_endpoint + "?" + new URLSearchParams({client_id: CLIENT_ID, redirect_uri: REDIRECT,
    response_type: "code", scope: "openid fullname", state, code_challenge: challenge, code_challenge_method: "S256"}));
})().catch((e) => done({error: String(e)}));`

// spaCallback redeems the code, calls userinfo, revokes the access token
// and calls userinfo again.
const spaCallback = `(async () => {
  const out = {};
  const q = new URLSearchParams(location.search);
  const flow = JSON.parse(sessionStorage.getItem("flow"));
  if (q.get("state") !== flow.state) throw new Error("state mismatch");
  const meta = await (await fetch(ISSUER + "/.well-known/openid-configuration")).json();
  const tr = await fetch(meta.token_endpoint, form({grant_type: "authorization_code", code: q.get("code"), redirect_uri: REDIRECT,
    client_id: CLIENT_ID, code_verifier: flow.verifier}));
  out.token_status = tr.status;
  const tok = await tr.json();
  out.has_id_token = !!tok.id_token;
  const bearer = {headers: {Authorization: "Bearer " + tok.access_token}};
  const ur = await fetch(meta.userinfo_endpoint, bearer);
  out.userinfo_status = ur.status;
  out.userinfo = await ur.json();
  out.revoke_status = (await fetch(meta.revocation_endpoint, form({token: tok.access_token, client_id: CLIENT_ID}))).status;
  out.after_revoke_status = (await fetch(meta.userinfo_endpoint, bearer)).status;
  done(out);
})().catch((e) => done({error: String(e)}));`

// spaStranger tries the app's requests from another origin.
const spaStranger = `(async () => {
  const out = {};
  const attempt = async (name, url, init) => {
    try {
      const r = await fetch(url, init);
      out[name] = "readable: " + r.status;
    } catch (e) {
      out[name] = "blocked: " + e.name;
    }
  };
  await attempt("token", ISSUER + "/oauth/token", form({grant_type: "authorization_code", code: "x", redirect_uri: REDIRECT,
    client_id: CLIENT_ID, code_verifier: "v".repeat(43)}));
  await attempt("userinfo", ISSUER + "/userinfo", {headers: {Authorization: "Bearer x"}});
  await attempt("revoke", ISSUER + "/oauth/revoke", form({token: "x", client_id: CLIENT_ID}));
  done(out);
})().catch((e) => done({error: String(e)}));`
