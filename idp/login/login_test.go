package login_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestLockNoticesBounded: whoever locks an account again and again (three
// wrong passwords, wait out the lock, again) gets the owner one notice per
// lock and at most three a day, not an SMS and an e-mail every 30 minutes.
func TestLockNoticesBounded(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		a := r.newAccount("+79000000201")
		for lock := 1; lock <= 6; lock++ {
			for range 3 {
				if p := r.signIn("+79000000201", "Wrong#Pass1"); p.status != 401 {
					t.Fatalf("lock %d: wrong password answered %d", lock, p.status)
				}
			}
			// A try during the lock is not a new lock.
			r.signIn("+79000000201", "Wrong#Pass1")
			want := min(lock, 3)
			if got := r.notified.NoticeCount(a.ID, notice.KindNoticeLocked); got != want {
				t.Fatalf("after %d locks: %d notices, want %d", lock, got, want)
			}
			r.clock.Advance(31 * time.Minute)
		}
		// A day later the owner is told again.
		r.clock.Advance(24 * time.Hour)
		for range 3 {
			r.signIn("+79000000201", "Wrong#Pass1")
		}
		if got := r.notified.NoticeCount(a.ID, notice.KindNoticeLocked); got != 4 {
			t.Fatalf("the next day: %d notices, want 4", got)
		}
	})
}

// TestStoreFailureIsNoVerdict: while the database cannot be reached a
// right password is not called wrong, and the attempt counts toward no
// lock-out: the answer is 503 with Retry-After.
func TestStoreFailureIsNoVerdict(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		a := r.newAccount("+79000000202")
		r.faults.set(true)
		for range 5 {
			p := r.signIn("+79000000202", goodPassword)
			if p.status != 503 || p.header.Get("Retry-After") == "" || strings.Contains(p.body, "Неверный логин или пароль") {
				t.Fatalf("right password during an outage: %d Retry-After %q", p.status, p.header.Get("Retry-After"))
			}
			if p := r.signIn("+79000000202", "Wrong#Pass1"); p.status != 503 {
				t.Fatalf("wrong password during an outage: %d, want 503 (not judged)", p.status)
			}
		}
		r.faults.set(false)
		got, err := r.accounts.Get(ctx, a.ID)
		if err != nil || got.FailedLogins != 0 || got.Locked(r.clock.Now()) {
			t.Fatalf("after the outage: %d failures counted, locked %v (%v)", got.FailedLogins, got.Locked(r.clock.Now()), err)
		}
		if p := r.signIn("+79000000202", goodPassword); p.status != 303 {
			t.Fatalf("right password after the outage: %d", p.status)
		}
	})
}

// TestEachStoreFailureIsNoVerdict: each statement of the password check
// that fails alone — the lock-out read, the account's lookup, counting a
// wrong password against the account or against the login — is a 503 with
// Retry-After, never «Неверный логин или пароль» for a known or unknown
// login; what was not counted is not counted later, and the right password
// works once the database answers.
func TestEachStoreFailureIsNoVerdict(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		a := r.newAccount("+79000000204")
		for _, tc := range []struct {
			call string
			// tries that reach the failing statement
			tries []struct{ login, pw string }
		}{
			{"LoginLocked", []struct{ login, pw string }{{"+79000000204", goodPassword}, {"+79000000294", goodPassword}}},
			{"FindByLogin", []struct{ login, pw string }{{"+79000000204", goodPassword}, {"+79000000294", goodPassword}}},
			{"RecordFailure", []struct{ login, pw string }{{"+79000000204", "Wrong#Pass1"}}},
			{"RecordLoginFailure", []struct{ login, pw string }{{"+79000000294", goodPassword}}},
		} {
			r.faults.failOnly(tc.call)
			for _, try := range tc.tries {
				for range 4 {
					p := r.signIn(try.login, try.pw)
					if p.status != 503 || p.header.Get("Retry-After") == "" || strings.Contains(p.body, "Неверный логин или пароль") {
						t.Fatalf("%s failing, %s: %d Retry-After %q", tc.call, try.login, p.status, p.header.Get("Retry-After"))
					}
				}
			}
		}
		r.faults.set(false)
		got, err := r.accounts.Get(ctx, a.ID)
		if err != nil || got.FailedLogins != 0 || got.Locked(r.clock.Now()) {
			t.Fatalf("after the failures: %d counted, locked %v (%v)", got.FailedLogins, got.Locked(r.clock.Now()), err)
		}
		if p := r.signIn("+79000000204", goodPassword); p.status != 303 {
			t.Fatalf("right password after the failures: %d", p.status)
		}
		// The unknown login was not counted either: three wrong tries
		// now lock it, not fewer.
		for i := range 3 {
			p := r.signIn("+79000000294", goodPassword)
			locked := strings.Contains(p.body, "временно заблокирован")
			if locked != (i == 2) {
				t.Fatalf("unknown login, try %d after the failures: %d locked %v", i+1, p.status, locked)
			}
		}
	})
}

// TestOverloadIsNoVerdict: while the password-hashing pool refuses for
// overload, a right password, a wrong one and an unknown login all get
// the same quick 503 with the pool's Retry-After and the "try again in a
// few seconds" text — an unknown login answered otherwise would be told
// apart — and nothing counts toward a lock-out.
func TestOverloadIsNoVerdict(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		a := r.newAccount("+79000000203")
		r.faults.setBusy(true)
		for _, try := range []struct{ login, pw string }{
			{"+79000000203", goodPassword}, {"+79000000203", "Wrong#Pass1"}, {"+79000000299", goodPassword},
			{"+79000000203", "Wrong#Pass1"}, {"+79000000203", "Wrong#Pass1"}, {"+79000000203", "Wrong#Pass1"},
		} {
			p := r.signIn(try.login, try.pw)
			if p.status != 503 || p.header.Get("Retry-After") != "2" || !strings.Contains(p.body, "Сейчас входят очень многие") {
				t.Fatalf("%s during overload: %d Retry-After %q\n%s", try.login, p.status, p.header.Get("Retry-After"), p.body)
			}
		}
		// In English too.
		if a := r.srv.Browser().Post(t, "/login?lang=en", url.Values{"login": {"+79000000203"}, "password": {goodPassword}}); a.Status != 503 ||
			!strings.Contains(a.Body, "Very many people are signing in right now") || !strings.Contains(a.Body, `lang="en"`) {
			t.Fatalf("overload in English: %d\n%s", a.Status, a.Body)
		}
		// The refusal comes before any statement: with the database
		// down as well, the answer is still the overload's.
		r.faults.set(true)
		if p := r.signIn("+79000000203", goodPassword); p.status != 503 || !strings.Contains(p.body, "Сейчас входят очень многие") {
			t.Fatalf("overloaded with the database down: %d\n%s", p.status, p.body)
		}
		r.faults.set(false)
		r.faults.setBusy(false)
		got, err := r.accounts.Get(context.Background(), a.ID)
		if err != nil || got.FailedLogins != 0 || got.Locked(r.clock.Now()) {
			t.Fatalf("after the overload: %d failures counted, locked %v (%v)", got.FailedLogins, got.Locked(r.clock.Now()), err)
		}
		if p := r.signIn("+79000000203", goodPassword); p.status != 303 {
			t.Fatalf("right password after the overload: %d", p.status)
		}
	})
}

// TestLockThroughAnotherIdentifier pins a deliberate answer: once an
// account is locked through one of its identifiers (three wrong passwords
// by phone), its other identifiers answer even the right password as any
// wrong one — «Неверный логин или пароль», counted against that identifier
// — not with the lock's message. Saying «заблокирован» there would tell
// anyone who locked the phone that the e-mail is the same person's, and
// checking the password there would give the locked account more guesses;
// the owner gets in by recovery or by a code to a verified contact (the
// lock message on the phone offers both).
func TestLockThroughAnotherIdentifier(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db)
		const phone, email = "+79000000205", "locked.twice@example.ru"
		a := r.env.NewAccount(t, account.New{Phone: account.Contact{Value: phone, VerifiedAt: r.clock.Now()},
			Email: account.Contact{Value: email, VerifiedAt: r.clock.Now()}, PasswordHash: r.env.Hash(t, goodPassword)})
		for range 3 {
			r.signIn(phone, "Wrong#Pass1")
		}
		if p := r.signIn(phone, goodPassword); p.status != 401 || !strings.Contains(p.body, "временно заблокирован") {
			t.Fatalf("the locked phone with the right password: %d", p.status)
		}
		right := r.signIn(email, goodPassword)
		wrong := r.signIn("never.locked@example.ru", "Wrong#Pass1")
		for _, p := range []reply{right, wrong} {
			if p.status != 401 || !strings.Contains(p.body, "Неверный логин или пароль") || strings.Contains(p.body, "заблокирован") {
				t.Fatalf("the e-mail of an account locked by phone: %d, want the wrong password's answer", p.status)
			}
		}
		if got, err := r.accounts.Get(t.Context(), a.ID); err != nil || !got.Locked(r.clock.Now()) {
			t.Fatalf("the account after the e-mail's try: %v", err)
		}
	})
}

// TestOverloadTicket: a sign-in refused for overload gets a ticket (a
// cookie under a keyed hash) dated at its first refusal; its retries
// bring it to the hasher (overload.WithQueued), which serves them before
// later sign-ins; another refusal keeps the date, an admitted sign-in
// drops the ticket. An altered ticket, or one older than five minutes,
// counts for nothing.
func TestOverloadTicket(t *testing.T) {
	db := sqldbtest.SQLite(t)
	r := newRig(t, db)
	r.newAccount("+79000000207")
	queued := func() time.Time {
		r.faults.mu.Lock()
		defer r.faults.mu.Unlock()
		return r.faults.queued
	}
	form := url.Values{"login": {"+79000000207"}, "password": {goodPassword}}
	b := r.srv.Browser()
	r.faults.setBusy(true)
	first := r.clock.Now()
	if a := b.Post(t, "/login", form); a.Status != 503 || b.Cookie("gosid_queue") == "" {
		t.Fatalf("refused for overload: %d, ticket %q", a.Status, b.Cookie("gosid_queue"))
	}
	if !queued().IsZero() {
		t.Fatalf("the first try came with a ticket: %s", queued())
	}
	r.clock.Advance(20 * time.Second)
	if a := b.Post(t, "/login", form); a.Status != 503 {
		t.Fatalf("the retry while overloaded: %d", a.Status)
	}
	if got := queued(); !got.Equal(first.Truncate(time.Millisecond)) {
		t.Fatalf("the retry's ticket dates from %s, want the first refusal %s", got, first)
	}
	ticket := b.Cookie("gosid_queue")
	r.faults.setBusy(false)
	r.clock.Advance(20 * time.Second)
	if a := b.Post(t, "/login", form); a.Status != 303 || b.Cookie("gosid_queue") != "" {
		t.Fatalf("the retry after the overload: %d, ticket left %q", a.Status, b.Cookie("gosid_queue"))
	}
	if got := queued(); !got.Equal(first.Truncate(time.Millisecond)) {
		t.Fatalf("the admitted retry's ticket dates from %s, want %s", got, first)
	}

	// Altered: an earlier date under the same hash, or another hash.
	ms, mac, _ := strings.Cut(ticket, ".")
	n, _ := strconv.ParseInt(ms, 10, 64)
	earlier := strconv.FormatInt(n-60_000, 10)
	for _, forged := range []string{earlier + "." + mac, ms + "." + strings.Repeat("0", len(mac)), ms, "x"} {
		o := r.srv.Browser()
		o.SetCookie("gosid_queue", forged)
		o.Post(t, "/login", form)
		if !queued().IsZero() {
			t.Fatalf("the forged ticket %q counted: %s", forged, queued())
		}
	}
	// Another login's: a ticket kept and replayed moves up only the
	// retries of the login it was given for.
	r.newAccount("+79000000208")
	o := r.srv.Browser()
	o.SetCookie("gosid_queue", ticket)
	o.Post(t, "/login", url.Values{"login": {"+79000000208"}, "password": {goodPassword}})
	if !queued().IsZero() {
		t.Fatalf("another login's ticket counted: %s", queued())
	}
	o = r.srv.Browser()
	o.SetCookie("gosid_queue", ticket)
	o.Post(t, "/login", form)
	if queued().IsZero() {
		t.Fatal("the login's own ticket did not count in another browser")
	}
	// Too old.
	o = r.srv.Browser()
	o.SetCookie("gosid_queue", ticket)
	r.clock.Advance(5 * time.Minute)
	o.Post(t, "/login", form)
	if !queued().IsZero() {
		t.Fatalf("a ticket over five minutes old counted: %s", queued())
	}
}
