package check_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/check"
)

// TestPages: the citizen's pages of a check, through HTTP — «Подтвердить
// данные» on /account/confirm starts one; its page says where it stands
// in the citizen's words: confirmed, the registry that did not find the
// passport, the field that differs, the registries unavailable (and the
// automatic retry), a SNILS verified in another account (with the way to
// recover that one); and the eleventh check of a day is refused with the
// reason.
func TestPages(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db, check.Config{})
		sessions := session.NewStore(db, session.Config{})
		h, err := check.NewHandler(r.svc, sessions, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		h.Routes(mux)
		mux.HandleFunc("POST /test/signin", func(w http.ResponseWriter, req *http.Request) {
			if _, err := sessions.Start(w, req, req.PostFormValue("id"), []string{"pwd"}, "127.0.0.1"); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		})
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		browse := func(accountID string) func(method, path string) (int, string, string) {
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			do := func(method, path string, form url.Values) (int, string, string) {
				t.Helper()
				var resp *http.Response
				var err error
				if method == http.MethodGet {
					resp, err = c.Get(srv.URL + path)
				} else {
					resp, err = c.PostForm(srv.URL+path, form)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, resp.Header.Get("Location"), string(b)
			}
			do(http.MethodPost, "/test/signin", url.Values{"id": {accountID}})
			return func(method, path string) (int, string, string) { t.Helper(); return do(method, path, nil) }
		}
		// run works the account's newest check as the queue would.
		run := func(accountID string) {
			t.Helper()
			c, err := r.svc.Latest(ctx, accountID)
			if err != nil {
				t.Fatal(err)
			}
			_ = r.svc.Run(ctx, c.ID) // an unavailable registry is an error: the queue retries
		}
		for i, tc := range []struct {
			key  string
			down bool
			want []string
		}{
			{key: "passes", want: []string{"Данные подтверждены в государственных реестрах."}},
			{key: "passport-not-found", want: []string{"Проверка не пройдена.", "Паспорт не найден в реестре МВД: проверьте серию и номер."}},
			{key: "sfr-birthdate", want: []string{"Проверка не пройдена.", "Данные в Социальном фонде не совпадают с указанными: дата рождения."}},
			{key: "passes-no-middle-name", down: true, want: []string{"Сервис временно недоступен, проверка повторится автоматически."}},
		} {
			a := r.person(t, identity(t, tc.key), "+7916200000"+string(rune('0'+i)))
			get := browse(a.ID)
			if st, _, body := get(http.MethodGet, "/account/confirm"); st != 200 || !strings.Contains(body, "Подтвердить данные") {
				t.Fatalf("%s: the confirmation page: %d", tc.key, st)
			}
			if st, loc, _ := get(http.MethodPost, "/account/confirm/check"); st != 303 || loc != "/account/confirm/check" {
				t.Fatalf("%s: «Подтвердить данные»: %d → %q", tc.key, st, loc)
			}
			r.reg.mu.Lock()
			r.reg.down = tc.down
			r.reg.mu.Unlock()
			run(a.ID)
			r.reg.mu.Lock()
			r.reg.down = false
			r.reg.mu.Unlock()
			st, _, body := get(http.MethodGet, "/account/confirm/check")
			for _, w := range tc.want {
				if st != 200 || !strings.Contains(body, w) {
					t.Errorf("%s: the check's page (%d) lacks %q", tc.key, st, w)
				}
			}
		}

		// The same SNILS, already verified in the account of the first
		// case: refused, with the way to recover that account.
		twin := r.person(t, identity(t, "passes"), "+79162000009")
		get := browse(twin.ID)
		get(http.MethodPost, "/account/confirm/check")
		run(twin.ID)
		if st, _, body := get(http.MethodGet, "/account/confirm/check"); st != 200 || !strings.Contains(body, "Этот СНИЛС уже подтверждён в другой учётной записи") ||
			!strings.Contains(body, `href="/recover"`) {
			t.Errorf("a SNILS verified elsewhere: %d\n%s", st, body)
		}

		// At most MaxPerDay checks a day.
		many := r.person(t, identity(t, "passport-not-found"), "+79162000010")
		get = browse(many.ID)
		for i := range check.MaxPerDay {
			if st, loc, _ := get(http.MethodPost, "/account/confirm/check"); st != 303 || loc != "/account/confirm/check" {
				t.Fatalf("check %d of the day: %d → %q", i+1, st, loc)
			}
		}
		if st, loc, _ := get(http.MethodPost, "/account/confirm/check"); st != 303 || loc != "/account/confirm?error=limit" {
			t.Fatalf("check %d of the day: %d → %q, want the limit", check.MaxPerDay+1, st, loc)
		}
		if st, _, body := get(http.MethodGet, "/account/confirm?error=limit"); st != 200 || !strings.Contains(body, "Сегодня данные уже отправлялись на проверку слишком много раз") {
			t.Errorf("the limit's message: %d", st)
		}
	})
}
