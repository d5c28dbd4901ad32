package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/httpx/openapitest"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal"
)

var agencySpec = openapitest.New(filepath.Join("..", "..", "docs", "agency-api.yaml"))

type apiAnswer struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// agencyCall calls the agency API with a bearer token and checks the call
// and its answer against docs/agency-api.yaml.
func agencyCall(t *testing.T, token, method, u, contentType string, body []byte) apiAnswer {
	t.Helper()
	req, _ := http.NewRequest(method, u, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	agencySpec.Check(t, req, body, resp, raw)
	a := apiAnswer{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	_ = json.Unmarshal(raw, &a.JSON)
	return a
}

// TestAgencyAPI: an agency's system, with a client_credentials token of
// Gosid (the client set up as a newcomer would: client_secret_basic)
// whose scope names the agency, lists the new application, reads it and
// its file, takes it into work, loses a race with a stale version (409),
// uploads the result and approves it; the citizen sees it. Another
// agency's token, no token and a forged one get nothing. Every call and
// answer follows docs/agency-api.yaml.
func TestAgencyAPI(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		op, _, parts := startOPParts(t, db, c)
		portalURL, _ := startEmbeddedPortal(t, parts)
		citizen := newBrowser(t, op)
		citizen.register("phone", "+79161115501", "+79161115501", "Заявителев", "Иван")
		accounts := account.NewStore(db, parts.Keys, time.Now)
		a, err := accounts.FindByLogin(ctx, account.Phone, "+79161115501")
		if err != nil {
			t.Fatal(err)
		}
		if err := accounts.SetLevel(ctx, a.ID, a.Level, assurance.Confirmed); err != nil {
			t.Fatal(err)
		}
		citizen.portalGo(t, portalURL, citizen.abs("GET", portalURL+"/login", nil))
		app, number := submitApplication(t, citizen, portalURL, "+79161115501")
		id := strings.TrimPrefix(app, portalURL+"/applications/")

		clients := client.NewStore(db, time.Now)
		token := func(scope string) string {
			cl, secret, err := clients.Create(ctx, client.Client{Name: "Система " + scope, AuthMethod: client.AuthSecretBasic,
				GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{scope}})
			if err != nil {
				t.Fatal(err)
			}
			tr := tokenRequest(t, op.URL, cl.ID, secret, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}})
			if tr.AccessToken == "" {
				t.Fatalf("client_credentials token for %s: %d %s", scope, tr.Status, tr.Error)
			}
			return tr.AccessToken
		}
		mvd, fns := token("agency:mvd"), token("agency:fns")
		base := portalURL + "/agency/v1/applications"

		if r := agencyCall(t, "", "GET", base, "", nil); r.Status != 401 {
			t.Fatalf("no token: %d", r.Status)
		}
		forged := mvd[:len(mvd)-4] + "AAAA"
		if r := agencyCall(t, forged, "GET", base, "", nil); r.Status != 401 {
			t.Fatalf("a forged token: %d", r.Status)
		}
		list := agencyCall(t, mvd, "GET", base, "", nil)
		items, _ := list.JSON["items"].([]any)
		if list.Status != 200 || len(items) != 1 || items[0].(map[string]any)["number"] != number {
			t.Fatalf("list: %d %s", list.Status, list.Body)
		}
		if r := agencyCall(t, fns, "GET", base, "", nil); r.Status != 200 || len(r.JSON["items"].([]any)) != 0 {
			t.Fatalf("another agency's list: %d %s", r.Status, r.Body)
		}
		if r := agencyCall(t, fns, "GET", base+"/"+id, "", nil); r.Status != 404 {
			t.Fatalf("another agency's application: %d", r.Status)
		}
		if r := agencyCall(t, mvd, "GET", base+"?status=bogus", "", nil); r.Status != 400 {
			t.Fatalf("a bad status filter: %d", r.Status)
		}
		one := agencyCall(t, mvd, "GET", base+"/"+id, "", nil)
		atts, _ := one.JSON["attachments"].([]any)
		values, _ := one.JSON["values"].(map[string]any)
		if one.Status != 200 || len(atts) != 1 || values["snils"] != "112-233-445 95" {
			t.Fatalf("one application: %d %s", one.Status, one.Body)
		}
		file := agencyCall(t, mvd, "GET", base+"/"+id+"/attachments/"+atts[0].(map[string]any)["id"].(string), "", nil)
		if file.Status != 200 || !bytes.HasPrefix(file.Body, []byte("%PDF")) {
			t.Fatalf("the attachment: %d", file.Status)
		}
		move := func(status string, version float64, comment string) apiAnswer {
			b, _ := json.Marshal(map[string]any{"status": status, "version": version, "comment": comment})
			return agencyCall(t, mvd, "POST", base+"/"+id+"/status", "application/json", b)
		}
		v := one.JSON["version"].(float64)
		// Forged transitions at the current version: skipping the review
		// is a conflict; a citizen's own move, a status before this one or
		// one that does not exist are not the agency's to ask for.
		if r := move("approved", v, "Готово"); r.Status != 409 {
			t.Fatalf("received → approved by the agency: %d %s", r.Status, r.Body)
		}
		for _, to := range []string{"cancelled", "received", "draft", "lost"} {
			if r := move(to, v, "Комментарий"); r.Status != 422 || problemField(r) != "status" {
				t.Fatalf("received → %s by the agency: %d %s", to, r.Status, r.Body)
			}
		}
		if r := agencyCall(t, mvd, "GET", base+"/"+id, "", nil); r.JSON["status"] != "received" || r.JSON["version"] != v {
			t.Fatalf("after the refused moves: %s", r.Body)
		}
		taken := move("in_review", v, "")
		if taken.Status != 200 || taken.JSON["status"] != "in_review" {
			t.Fatalf("take: %d %s", taken.Status, taken.Body)
		}
		if r := move("info_requested", v, "Нужна справка"); r.Status != 409 {
			t.Fatalf("a stale version: %d %s", r.Status, r.Body)
		}
		v = taken.JSON["version"].(float64)
		if r := move("approved", v, ""); r.Status != 422 {
			t.Fatalf("approving before the result: %d %s", r.Status, r.Body)
		}
		if r := move("refused", v, ""); r.Status != 422 {
			t.Fatalf("refusing without a reason: %d %s", r.Status, r.Body)
		}
		if r := agencyCall(t, mvd, "PUT", base+"/"+id+"/result", "application/pdf", testPNG(t)); r.Status != 422 {
			t.Fatalf("a PNG as the result: %d %s", r.Status, r.Body)
		}
		if r := agencyCall(t, mvd, "PUT", base+"/"+id+"/result", "application/pdf", testPDF(t)); r.Status != 201 {
			t.Fatalf("the result: %d %s", r.Status, r.Body)
		}
		if r := move("approved", v, "Готово"); r.Status != 200 || r.JSON["status"] != "approved" {
			t.Fatalf("approve: %d %s", r.Status, r.Body)
		}
		if p := citizen.abs("GET", app, nil); !strings.Contains(p.Body, "Одобрено") || !strings.Contains(p.Body, "result.pdf") {
			t.Fatalf("the citizen's page after the agency approved:\n%.2000s", p.Body)
		}
		waitMessage(t, citizen, "+79161115501", "portal.status", "Одобрено")
	})
}

// TestAgencyWebhooks: an agency sets its webhook through the API; a
// citizen's submission and reply reach it signed (the receiver checks the
// HMAC the documentation describes); a failing receiver gets the delivery
// again later; the delivery log shows the attempts.
func TestAgencyWebhooks(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		op, _, parts := startOPParts(t, db, c)
		portalURL, _ := startEmbeddedPortal(t, parts)

		type got struct {
			event, app string
			valid      bool
		}
		var mu sync.Mutex
		var received []got
		var secret []byte
		failFirst := true
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			if failFirst {
				failFirst = false
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			sig := r.Header.Get("Gosid-Signature")
			ts, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
			sec, _ := strconv.ParseInt(ts, 10, 64)
			want := portal.Sign(secret, time.Unix(sec, 0), body)
			var ev struct {
				Event       string `json:"event"`
				Application struct {
					ID string `json:"id"`
				} `json:"application"`
			}
			_ = json.Unmarshal(body, &ev)
			received = append(received, got{ev.Event, ev.Application.ID, hmac.Equal([]byte(sig), []byte(want)) && sec != 0})
		}))
		t.Cleanup(hook.Close)

		clients := client.NewStore(db, time.Now)
		cl, cs, err := clients.Create(ctx, client.Client{Name: "Система МВД", AuthMethod: client.AuthSecretBasic,
			GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"agency:mvd"}})
		if err != nil {
			t.Fatal(err)
		}
		tok := tokenRequest(t, op.URL, cl.ID, cs, url.Values{"grant_type": {"client_credentials"}, "scope": {"agency:mvd"}}).AccessToken
		if r := agencyCall(t, tok, "PUT", portalURL+"/agency/v1/webhook", "application/json", []byte(`{"url":"ftp://x.example/"}`)); r.Status != 422 {
			t.Fatalf("a webhook URL that is not https: %d", r.Status)
		}
		set := agencyCall(t, tok, "PUT", portalURL+"/agency/v1/webhook", "application/json", []byte(`{"url":"`+hook.URL+`/hook"}`))
		s, _ := set.JSON["secret"].(string)
		if set.Status != 200 || len(s) < 40 {
			t.Fatalf("set the webhook: %d %s", set.Status, set.Body)
		}
		mu.Lock()
		secret = []byte(s)
		mu.Unlock()

		citizen := newBrowser(t, op)
		citizen.register("phone", "+79161115601", "+79161115601", "Заявителев", "Иван")
		accounts := account.NewStore(db, parts.Keys, time.Now)
		a, _ := accounts.FindByLogin(ctx, account.Phone, "+79161115601")
		if err := accounts.SetLevel(ctx, a.ID, a.Level, assurance.Confirmed); err != nil {
			t.Fatal(err)
		}
		citizen.portalGo(t, portalURL, citizen.abs("GET", portalURL+"/login", nil))
		app, _ := submitApplication(t, citizen, portalURL, "+79161115601")
		id := strings.TrimPrefix(app, portalURL+"/applications/")

		wait := func(n int) {
			t.Helper()
			for deadline, i := time.Now().Add(20*time.Second), 0; ; i++ {
				time.Sleep(50 * time.Millisecond)
				mu.Lock()
				k := len(received)
				mu.Unlock()
				if k >= n {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d deliveries within 20 s, want %d", k, n)
				}
				if i%20 == 0 {
					// The retry's back-off passes; once a second, so that the
					// sessions and tokens of the rest of the test do not age
					// by hours while the queue polls.
					c.Advance(2 * time.Minute)
				}
			}
		}
		wait(1)
		// The clock moved on: a fresh token.
		tok = tokenRequest(t, op.URL, cl.ID, cs, url.Values{"grant_type": {"client_credentials"}, "scope": {"agency:mvd"}}).AccessToken
		log := agencyCall(t, tok, "GET", portalURL+"/agency/v1/webhook/deliveries", "", nil)
		items, _ := log.JSON["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["attempts"].(float64) < 2 || items[0].(map[string]any)["delivered_at"] == nil {
			t.Fatalf("delivery log after a failure and a retry: %s", log.Body)
		}
		mu.Lock()
		first := received[0]
		mu.Unlock()
		if first.event != "application.received" || first.app != id || !first.valid {
			t.Fatalf("first delivery %+v", first)
		}

		// The agency asks for more (its own change: no delivery); the
		// citizen's reply reaches it as application.updated.
		base := portalURL + "/agency/v1/applications/" + id
		one := agencyCall(t, tok, "GET", base, "", nil)
		move := func(status string, version any, comment string) apiAnswer {
			b, _ := json.Marshal(map[string]any{"status": status, "version": version, "comment": comment})
			return agencyCall(t, tok, "POST", base+"/status", "application/json", b)
		}
		taken := move("in_review", one.JSON["version"], "")
		asked := move("info_requested", taken.JSON["version"], "Нужна справка с места работы")
		if asked.Status != 200 {
			t.Fatalf("ask for more: %d %s", asked.Status, asked.Body)
		}
		if p := citizen.abs("POST", app+"/respond", url.Values{"comment": {"Справку приложил"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("the citizen's reply: %d → %s", p.Status, p.Location)
		}
		wait(2)
		mu.Lock()
		all := append([]got(nil), received...)
		mu.Unlock()
		if len(all) != 2 || all[1].event != "application.updated" || all[1].app != id || !all[1].valid {
			t.Fatalf("deliveries after the agency's moves and the citizen's reply: %+v, want the reply's application.updated only", all)
		}
	})
}
