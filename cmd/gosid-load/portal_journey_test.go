package main

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/portal/catalog"
	"github.com/gosid/gosid/verification/registry"
)

// TestDraftFormValid: the draft step's service needs level standard, and
// what the step types is valid by the service's own form rules, for
// people with and without a middle name.
func TestDraftFormValid(t *testing.T) {
	services, err := catalog.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(services, func(s catalog.Service) bool { return s.ID == draftService })
	if i < 0 {
		t.Fatalf("no service %q in the catalogue", draftService)
	}
	s := services[i]
	if s.Level != catalog.Level("standard") || s.Kind != catalog.KindCertificate && s.Kind != catalog.KindApplication {
		t.Fatalf("%s: level %s, kind %s; want an application at level standard", s.ID, s.Level, s.Kind)
	}
	for _, n := range []int{0, 1, 2, 3, 4711, 999_998} {
		id := registry.GeneratedIdentity(n)
		form := draftForm(&id, 12)
		values := map[string]string{}
		for k := range form {
			values[k] = form.Get(k)
		}
		if errs := catalog.ValidateAt(s.Form, values, "ru", time.Now()); len(errs) > 0 {
			t.Errorf("person %d: the draft's values are refused: %v", n, errs)
		}
		for _, f := range s.Form.Fields {
			if _, ok := form[f.Name]; !ok {
				t.Errorf("the draft leaves the form's field %s empty", f.Name)
			}
		}
	}
}

// TestClaimIdentity: the import record names only fields the import
// knows (an unknown one fails the import) and claims the whole identity
// the registry check needs.
func TestClaimIdentity(t *testing.T) {
	rec := map[string]string{"phone": soakPhone(7)}
	id := claimIdentity(rec, 7)
	for k := range rec {
		if !slices.Contains(account.ImportFields, k) {
			t.Errorf("field %q is not an import field", k)
		}
	}
	want := registry.GeneratedIdentity(7)
	if id.SNILS != want.SNILS || rec["snils"] != want.SNILS || rec["passport_number"] != want.Passport.Number ||
		rec["birthdate"] != want.Person.BirthDate.Format(time.DateOnly) || rec["family_name"] != want.Person.FamilyName {
		t.Errorf("record %v does not claim person 7", rec)
	}
}

// fakePortal plays the portal and the identity provider just enough for
// the portal steps; broken names what it gets wrong.
type fakePortal struct {
	broken   string
	idp, web *httptest.Server
	name     string
	mu       sync.Mutex
	address  string
}

func newFakePortal(t *testing.T, broken string, person *registry.Identity) *fakePortal {
	f := &fakePortal{broken: broken, name: strings.TrimSpace(person.Person.GivenName + " " + person.Person.MiddleName)}
	idp := http.NewServeMux()
	idp.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		if broken == "idp-session-lost" {
			http.Redirect(w, r, "/login?next=x", http.StatusFound)
			return
		}
		http.Redirect(w, r, f.web.URL+"/auth/callback?code=c&state=s", http.StatusFound)
	})
	idp.HandleFunc("GET /oauth/logout", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, f.web.URL+"/", http.StatusFound)
	})
	web := http.NewServeMux()
	signedIn := func(r *http.Request) bool { c, err := r.Cookie("gosid_portal"); return err == nil && c.Value == "s" }
	web.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, f.idp.URL+"/authorize?client_id=gosid-portal", http.StatusFound)
	})
	web.HandleFunc("GET /auth/callback", func(w http.ResponseWriter, r *http.Request) {
		if broken == "callback-500" {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "gosid_portal", Value: "s", Path: "/"})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	web.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		name, level := f.name, "стандартная"
		switch broken {
		case "home-other-name":
			name = "Иван"
		case "home-simplified":
			level = "упрощённая"
		}
		if !signedIn(r) || broken == "home-landing" {
			fmt.Fprint(w, `<p class="lead">Портал</p><a class="button" href="/login">Войти через Gosid</a>`)
			return
		}
		fmt.Fprintf(w, `<p class="lead">Здравствуйте, %s!</p><p>Уровень учётной записи: %s.</p>`, html.EscapeString(name), level)
	})
	web.HandleFunc("POST /services/inn-certificate/apply", func(w http.ResponseWriter, r *http.Request) {
		if broken == "apply-needs-level" {
			http.Redirect(w, r, "/login?level=standard&return=%2Fservices%2Finn-certificate", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/applications/a1", http.StatusSeeOther)
	})
	web.HandleFunc("GET /applications/a1", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		family := person.Person.FamilyName
		if broken == "form-not-prefilled" {
			family = ""
		}
		saved := ""
		if r.URL.Query().Get("saved") == "1" && broken != "save-not-said" {
			saved = `<p class="notice">Черновик сохранён.</p>`
		}
		fmt.Fprintf(w, `%s<form method="post" action="/applications/a1"><input name="family_name" value="%s"><textarea name="address">%s</textarea></form>`,
			saved, html.EscapeString(family), html.EscapeString(f.address))
	})
	web.HandleFunc("POST /applications/a1", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("action") == "delete" {
			http.Redirect(w, r, "/applications", http.StatusSeeOther)
			return
		}
		f.mu.Lock()
		if broken != "save-lost" {
			f.address = r.PostFormValue("address")
		}
		f.mu.Unlock()
		http.Redirect(w, r, "/applications/a1?saved=1", http.StatusSeeOther)
	})
	web.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if broken != "logout-keeps-session" {
			http.SetCookie(w, &http.Cookie{Name: "gosid_portal", Value: "", Path: "/", MaxAge: -1})
		}
		if broken == "logout-not-at-idp" {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, f.idp.URL+"/oauth/logout?client_id=gosid-portal", http.StatusSeeOther)
	})
	f.idp, f.web = httptest.NewServer(idp), httptest.NewServer(web)
	t.Cleanup(func() { f.idp.Close(); f.web.Close() })
	return f
}

// TestPortalSteps: the portal steps pass against a portal that works and
// fail, at the right step and with the right kind, against one that gets
// one thing wrong.
func TestPortalSteps(t *testing.T) {
	person := registry.GeneratedIdentity(0)
	for _, tc := range []struct {
		broken, step, kind string
	}{
		{"", "", ""},
		{"idp-session-lost", "portal_signin", failInvalid},
		{"callback-500", "portal_signin", failServer},
		{"home-landing", "portal_home", failInvalid},
		{"home-other-name", "portal_home", failInvalid},
		{"home-simplified", "portal_home", failInvalid},
		{"apply-needs-level", "draft", failInvalid},
		{"form-not-prefilled", "draft", failInvalid},
		{"save-not-said", "draft", failInvalid},
		{"save-lost", "draft", failInvalid},
		{"logout-not-at-idp", "portal_logout", failInvalid},
		{"logout-keeps-session", "portal_logout", failInvalid},
	} {
		t.Run(cmp.Or(tc.broken, "works"), func(t *testing.T) {
			f := newFakePortal(t, tc.broken, &person)
			issuer, _ := url.Parse(f.idp.URL)
			s := &soakRun{q: newRequester(&config{Issuer: issuer, Concurrency: 2, Timeout: 5 * time.Second}), steps: map[string]*stepStats{},
				retries: map[string]int64{}, okPerSec: map[int]int64{}, start: time.Now()}
			s.portal, _ = url.Parse(f.web.URL)
			c := &citizen{person: &person}
			jerr := s.portalJourney(context.Background(), s.q.browser(), c)
			if tc.step == "" {
				if jerr != nil {
					t.Fatalf("a working portal failed: %v", jerr)
				}
				for _, step := range []string{"portal_signin", "portal_home", "draft", "portal_logout"} {
					st := s.steps[step]
					if st == nil || st.ok != 1 || len(st.durs) != 1 || st.durs[0] <= 0 {
						t.Errorf("%s: %+v, want one timed success", step, st)
						continue
					}
					// Each answer timed, and the step is their sum.
					var sum time.Duration
					for _, d := range st.answers {
						sum += d
					}
					if len(st.answers) < 2 && step != "portal_home" || sum != st.durs[0] {
						t.Errorf("%s: answers %v, sum %v, step %v", step, st.answers, sum, st.durs[0])
					}
				}
				return
			}
			if jerr == nil || jerr.step != tc.step || jerr.kind != tc.kind {
				t.Fatalf("got %v, want a %s failure of %s", jerr, tc.kind, tc.step)
			}
			if st := s.steps[tc.step]; st == nil || st.fails[tc.kind] != 1 {
				t.Errorf("the failure is not counted: %+v", st)
			}
		})
	}
}
