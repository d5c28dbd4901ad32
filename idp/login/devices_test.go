package login

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestDevices is the remembered devices' conformance suite, on both
// dialects: a remembered device is trusted for its account and IP until
// it expires, the cookie says so and the database holds only its hash;
// Sweep deletes only expired rows; Forget drops every device of one
// account and none of another's; erasing an account erases its devices.
func TestDevices(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db, nil)
		const ip = "203.0.113.7"
		rememberOn := func(t *testing.T, d *Devices, id, ua string) (*http.Request, *http.Cookie) {
			t.Helper()
			w := httptest.NewRecorder()
			if err := d.Remember(ctx, w, id, ip, ua); err != nil {
				t.Fatal(err)
			}
			cs := w.Result().Cookies()
			if len(cs) != 1 {
				t.Fatalf("%d cookies set", len(cs))
			}
			r := httptest.NewRequest("GET", "/login", nil)
			r.AddCookie(cs[0])
			return r, cs[0]
		}
		remember := func(t *testing.T, id string) *http.Request {
			t.Helper()
			r, _ := rememberOn(t, e.devices, id, "Firefox")
			return r
		}
		count := func(t *testing.T) int {
			t.Helper()
			return e.Count(t, `SELECT count(*) FROM trusted_devices`)
		}
		withCookie := func(name, value string) *http.Request {
			r := httptest.NewRequest("GET", "/login", nil)
			r.AddCookie(&http.Cookie{Name: name, Value: value})
			return r
		}

		t.Run("cookie and hash", func(t *testing.T) {
			a := e.newAccount(t, "")
			_, c := rememberOn(t, e.devices, a.ID, "Firefox")
			if c.Name != "gosid_device" || !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 30*24*3600 {
				t.Fatalf("cookie: %+v", c)
			}
			if n := e.Count(t, `SELECT count(*) FROM trusted_devices WHERE token_hash = $1`, []byte(c.Value)); n != 0 {
				t.Fatal("the token is stored as it is")
			}
			sd := &Devices{DB: db, Now: e.Clock.Now, Secure: true}
			sr, sc := rememberOn(t, sd, a.ID, "Firefox")
			if sc.Name != "__Host-gosid_device" || !sc.Secure {
				t.Fatalf("cookie over HTTPS: %+v", sc)
			}
			if !sd.Trusted(ctx, sr, a.ID, ip) || e.devices.Trusted(ctx, sr, a.ID, ip) || sd.Trusted(ctx, withCookie("gosid_device", c.Value), a.ID, ip) {
				t.Fatal("the Secure and plain cookie names are mixed up")
			}
			// A long user agent is cut, not refused, and bytes that are no
			// text are dropped: PostgreSQL stores only valid UTF-8.
			if _, err := e.devices.DB.Exec(ctx, `DELETE FROM trusted_devices`); err != nil {
				t.Fatal(err)
			}
			rememberOn(t, e.devices, a.ID, "x"+strings.Repeat("я", 400))
			rememberOn(t, e.devices, a.ID, "Mozilla\xff/5.0")
			if n := e.Count(t, `SELECT count(*) FROM trusted_devices WHERE account_id = $1 AND length(user_agent) <= 300`, a.ID); n != 2 {
				t.Fatal("a long user agent was not cut")
			}
		})

		t.Run("trust bound to account, IP and token", func(t *testing.T) {
			a, other := e.newAccount(t, ""), e.newAccount(t, "")
			r := remember(t, a.ID)
			if !e.devices.Trusted(ctx, r, a.ID, ip) || e.devices.Trusted(ctx, r, a.ID, "198.51.100.1") || e.devices.Trusted(ctx, r, other.ID, ip) {
				t.Fatal("trust is not bound to the account and the IP")
			}
			unknown, _ := bearer.New()
			for _, req := range []*http.Request{httptest.NewRequest("GET", "/login", nil), withCookie("gosid_device", "junk"), withCookie("gosid_device", unknown)} {
				if e.devices.Trusted(ctx, req, a.ID, ip) {
					t.Fatalf("trusted with cookie %v", req.Cookies())
				}
			}
			// Twice from one browser profile: two devices, both trusted.
			again := remember(t, a.ID)
			if !e.devices.Trusted(ctx, r, a.ID, ip) || !e.devices.Trusted(ctx, again, a.ID, ip) {
				t.Fatal("a second remembered device replaced the first")
			}
		})

		t.Run("expiry and sweep", func(t *testing.T) {
			if _, err := db.Exec(ctx, `DELETE FROM trusted_devices`); err != nil {
				t.Fatal(err)
			}
			a, other := e.newAccount(t, ""), e.newAccount(t, "")
			old := remember(t, a.ID)
			e.Clock.Advance(20 * 24 * time.Hour)
			young, others := remember(t, a.ID), remember(t, other.ID)
			if n, err := e.devices.Sweep(ctx); err != nil || n != 0 || count(t) != 3 {
				t.Fatalf("sweep before any expiry: %d %v, %d rows", n, err, count(t))
			}
			e.Clock.Advance(10*24*time.Hour - time.Microsecond)
			if !e.devices.Trusted(ctx, old, a.ID, ip) {
				t.Fatal("a device is not trusted just before its 30 days end")
			}
			e.Clock.Advance(time.Microsecond)
			if e.devices.Trusted(ctx, old, a.ID, ip) {
				t.Fatal("a device is trusted after 30 days")
			}
			if n, err := e.devices.Sweep(ctx); err != nil || n != 1 || count(t) != 2 {
				t.Fatalf("sweep after 30 days: %d %v, %d rows", n, err, count(t))
			}
			if n, err := e.devices.Sweep(ctx); err != nil || n != 0 {
				t.Fatalf("second sweep: %d %v", n, err)
			}
			if !e.devices.Trusted(ctx, young, a.ID, ip) || !e.devices.Trusted(ctx, others, other.ID, ip) {
				t.Fatal("the sweep took a live device")
			}
		})

		t.Run("forget", func(t *testing.T) {
			a, other := e.newAccount(t, ""), e.newAccount(t, "")
			mine, others := remember(t, a.ID), remember(t, other.ID)
			if err := e.devices.Forget(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
			if e.devices.Trusted(ctx, mine, a.ID, ip) || !e.devices.Trusted(ctx, others, other.ID, ip) {
				t.Fatal("Forget dropped the wrong devices")
			}
			if err := e.devices.Forget(ctx, a.ID); err != nil {
				t.Fatalf("forgetting an account without devices: %v", err)
			}
		})

		t.Run("erase", func(t *testing.T) {
			a, other := e.newAccount(t, ""), e.newAccount(t, "")
			remember(t, a.ID)
			others := remember(t, other.ID)
			if err := e.Accounts.Erase(ctx, a.ID, time.Time{}); err != nil {
				t.Fatal(err)
			}
			if n := e.Count(t, `SELECT count(*) FROM trusted_devices WHERE account_id = $1`, a.ID); n != 0 {
				t.Fatalf("%d devices of an erased account remain", n)
			}
			if !e.devices.Trusted(ctx, others, other.ID, ip) {
				t.Fatal("erasing one account forgot another's device")
			}
		})

		t.Run("default clock", func(t *testing.T) {
			// Devices built without a clock read the wall clock instead of
			// failing.
			a := e.newAccount(t, "")
			d := &Devices{DB: db}
			r, _ := rememberOn(t, d, a.ID, "Firefox")
			if !d.Trusted(ctx, r, a.ID, ip) {
				t.Fatal("not trusted with the default clock")
			}
			if _, err := d.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestPasswordSignInArrives: a password sign-in (which hands Arrivals the
// account it has read instead of having it read again) still does what
// every arrival must: the account takes the language of the request,
// each time it changes; the browser is remembered as a device, seen again
// on the next sign-in without a second "new device" entry; a second
// browser is a new device and its owner is told.
func TestPasswordSignInArrives(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db, nil)
		a := e.newAccount(t, goodPassword)
		lang := func() string {
			t.Helper()
			got, err := e.Accounts.Get(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.Lang
		}
		count := func(query string) int {
			t.Helper()
			var n int
			if err := db.QueryRow(ctx, query, a.ID).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		devices := func() int { return count(`SELECT COUNT(*) FROM account_devices WHERE account_id = $1`) }
		newDevices := func() int {
			return count(`SELECT COUNT(*) FROM account_events WHERE account_id = $1 AND kind = '` + EventNewDevice + `'`)
		}
		form := url.Values{"login": {a.Phone.Value}, "password": {goodPassword}}

		b := e.browser()
		b.Lang = "en"
		b.Post(t, "/login", form).Expect(t, 303, "/account")
		if got := lang(); got != "en" {
			t.Fatalf("after an English sign-in the account's language is %q", got)
		}
		if devices() != 1 || newDevices() != 0 {
			t.Fatalf("first browser: %d devices, %d new-device entries; want 1, 0 (the first is no news)", devices(), newDevices())
		}
		e.Clock.Advance(time.Hour)
		b.Lang = "ru"
		b.Post(t, "/login", form).Expect(t, 303, "/account")
		if got := lang(); got != "ru" {
			t.Fatalf("after a Russian sign-in the account's language is %q", got)
		}
		var seen int64
		if err := db.QueryRow(ctx, `SELECT last_seen FROM account_devices WHERE account_id = $1`, a.ID).Scan(&seen); err != nil {
			t.Fatal(err)
		}
		if got := sqldb.Time(seen); !got.Equal(e.Clock.Now()) {
			t.Errorf("the device was last seen %v, want %v", got, e.Clock.Now())
		}
		if devices() != 1 || newDevices() != 0 {
			t.Fatalf("same browser again: %d devices, %d new-device entries; want 1, 0", devices(), newDevices())
		}
		before := e.Messages.NoticeCount(a.ID, notice.KindNoticeNewDevice)
		e.browser().Post(t, "/login", form).Expect(t, 303, "/account")
		if devices() != 2 || newDevices() != 1 {
			t.Fatalf("second browser: %d devices, %d new-device entries; want 2, 1", devices(), newDevices())
		}
		if got := e.Messages.NoticeCount(a.ID, notice.KindNoticeNewDevice); got != before+1 {
			t.Errorf("second browser: %d new-device notices, want %d", got, before+1)
		}
	})
}
