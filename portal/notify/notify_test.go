package notify_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal/notify"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// The defaults: everything to the inbox, e-mail and push; SMS only for
// what needs action or is bound to a time; news never by SMS.
func TestDefaults(t *testing.T) {
	d := notify.Defaults()
	for _, e := range notify.Events {
		if !d.On(e, notify.Inbox) || !d.On(e, notify.Email) || !d.On(e, notify.Push) {
			t.Errorf("%s: inbox/e-mail/push off by default", e)
		}
	}
	for e, want := range map[notify.Event]bool{notify.AppNeedInfo: true, notify.AppResult: true, notify.BookingReminder: true,
		notify.BookingCancelled: true, notify.ChargeNew: true, notify.AppStatus: false, notify.AppReceived: false,
		notify.ChargePaid: false, notify.News: false, notify.SupportAnswer: false} {
		if got := d.On(e, notify.SMS); got != want {
			t.Errorf("%s by SMS: %v, want %v", e, got, want)
		}
	}
	if notify.Offered(notify.News, notify.SMS) || notify.Offered(notify.AppStatus, notify.Inbox) {
		t.Error("news by SMS or the inbox offered as a choice")
	}
	// The inbox cannot be turned off, nor news texted, whatever a matrix says.
	m := notify.Matrix{notify.AppStatus: {notify.Inbox: false}, notify.News: {notify.SMS: true}}
	if !m.On(notify.AppStatus, notify.Inbox) || m.On(notify.News, notify.SMS) {
		t.Error("a matrix overrode what is not a choice")
	}
}

func TestQuiet(t *testing.T) {
	vlad := notify.Zone("Asia/Vladivostok") // UTC+10
	for _, tc := range []struct {
		utc   string
		quiet bool
		until string
	}{
		{"2026-12-04T11:59:00Z", false, ""},                         // 21:59 local
		{"2026-12-04T12:00:00Z", true, "2026-12-05T08:00:00+10:00"}, // 22:00 local
		{"2026-12-04T21:59:00Z", true, "2026-12-05T08:00:00+10:00"}, // 07:59 local next day
		{"2026-12-04T22:00:00Z", false, ""},                         // 08:00 local
		{"2026-12-04T01:00:00Z", false, ""},                         // 11:00 local
		{"2026-12-04T15:30:00Z", true, "2026-12-05T08:00:00+10:00"}, // 01:30 local on the 5th
	} {
		now, _ := time.Parse(time.RFC3339, tc.utc)
		until, quiet := notify.Quiet(now, vlad)
		if quiet != tc.quiet {
			t.Errorf("%s: quiet %v, want %v", tc.utc, quiet, tc.quiet)
			continue
		}
		if quiet {
			want, _ := time.Parse(time.RFC3339, tc.until)
			if !until.Equal(want) {
				t.Errorf("%s: until %s, want %s", tc.utc, until, want)
			}
		}
	}
	if notify.Zone("Mars/Olympus").String() != notify.DefaultZone {
		t.Error("an unknown zone is not Moscow")
	}
	if notify.Waits(notify.Email) || !notify.Waits(notify.SMS) || !notify.Waits(notify.Push) {
		t.Error("quiet hours hold the wrong channels")
	}
}

func TestTokens(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	for _, u := range []notify.Unsubscribe{
		{Subject: "sub-1", Category: notify.Law},
		{Subject: "sub-2", Event: notify.AppStatus, Channel: notify.Email},
	} {
		tok := notify.Token(key, u)
		got, err := notify.ParseToken(key, tok)
		if err != nil || got != u {
			t.Fatalf("round trip of %+v: %+v, %v", u, got, err)
		}
		if _, err := notify.ParseToken([]byte("another key, 32 bytes long......"), tok); !errors.Is(err, notify.ErrBadToken) {
			t.Errorf("a token of another key accepted: %v", err)
		}
		// Any change of one character is refused.
		for i := range tok {
			b := []byte(tok)
			b[i] ^= 0x01
			if got, err := notify.ParseToken(key, string(b)); err == nil && got != u {
				t.Fatalf("a changed token (%d) parsed as %+v", i, got)
			}
		}
	}
	// A token for what is not a choice is not made valid by signing it.
	if _, err := notify.ParseToken(key, notify.Token(key, notify.Unsubscribe{Subject: "s", Event: notify.AppStatus, Channel: notify.Inbox})); err == nil {
		t.Error("a token turning the inbox off parsed")
	}
}

func FuzzParseToken(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	f.Add(notify.Token(key, notify.Unsubscribe{Subject: "sub", Category: notify.RegionNews}))
	f.Add(notify.Token(key, notify.Unsubscribe{Subject: "sub", Event: notify.News, Channel: notify.Push}))
	f.Add("")
	f.Add(strings.Repeat("A", 600))
	f.Fuzz(func(t *testing.T, tok string) {
		u, err := notify.ParseToken(key, tok)
		if err != nil {
			return
		}
		// Whatever parses is something Token makes, and names a choice.
		if notify.Token(key, u) != tok {
			t.Fatalf("%q parsed as %+v, which signs to another token", tok, u)
		}
		if u.Subject == "" || (u.Category == "" && !notify.Offered(u.Event, u.Channel)) {
			t.Fatalf("%q parsed as %+v", tok, u)
		}
	})
}

// The store on both dialects: the matrix keeps only differences, a
// delivery is begun once and never leaves a final status.
func TestStore(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := notify.NewStore(db, nil)
		m := notify.Defaults()
		m[notify.AppStatus][notify.Email] = false
		m[notify.AppStatus][notify.SMS] = true
		if err := s.SetMatrix(ctx, "sub", m); err != nil {
			t.Fatal(err)
		}
		var rows int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM portal_notify_prefs WHERE subject = 'sub'`).Scan(&rows); err != nil || rows != 2 {
			t.Fatalf("%d rows stored, want the 2 differences (%v)", rows, err)
		}
		got, err := s.Matrix(ctx, db, "sub")
		if err != nil || got.On(notify.AppStatus, notify.Email) || !got.On(notify.AppStatus, notify.SMS) || !got.On(notify.AppResult, notify.SMS) {
			t.Fatalf("matrix read back wrong: %v", err)
		}
		if err := s.Apply(ctx, notify.Unsubscribe{Subject: "sub", Event: notify.AppResult, Channel: notify.SMS}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Matrix(ctx, db, "sub"); got.On(notify.AppResult, notify.SMS) {
			t.Error("unsubscribing an event did not turn it off")
		}
		for range 2 {
			if err := s.Subscribe(ctx, "sub", notify.Law, true); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Apply(ctx, notify.Unsubscribe{Subject: "sub", Category: notify.Law}); err != nil {
			t.Fatal(err)
		}
		if subs, _ := s.Subscriptions(ctx, "sub"); subs[notify.Law] {
			t.Error("unsubscribed category still subscribed")
		}

		// A delivery: ten goroutines begin it at once; one gets attempt 1.
		if _, err := db.Exec(ctx, `INSERT INTO portal_notices (id, subject, status, created_at) VALUES ('n1', 'sub', 'x', 1)`); err != nil {
			t.Fatal(err)
		}
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error { return s.Queue(ctx, tx, "n1", "sub", notify.SMS, notify.Pending) }); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		began := 0
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := s.Begin(ctx, "n1", notify.SMS)
				if err == nil {
					mu.Lock()
					began++
					mu.Unlock()
					if n != 1 {
						t.Errorf("attempt %d", n)
					}
				} else if busy := (*notify.BusyError)(nil); !errors.As(err, &busy) && !errors.Is(err, notify.ErrDone) && !errors.Is(err, sqldb.ErrConflict) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if began != 1 {
			t.Fatalf("%d goroutines began one delivery", began)
		}
		if err := s.Finish(ctx, "n1", notify.SMS, notify.SentOK, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Begin(ctx, "n1", notify.SMS); !errors.Is(err, notify.ErrDone) {
			t.Errorf("a sent delivery began again: %v", err)
		}
		if err := s.Finish(ctx, "n1", notify.SMS, notify.Pending, time.Time{}); err != nil {
			t.Fatal(err)
		}
		ds, err := s.Deliveries(ctx, "n1")
		if err != nil || len(ds) != 1 || ds[0].Status != notify.SentOK || ds[0].Attempts != 1 {
			t.Fatalf("deliveries %+v, %v", ds, err)
		}
		if n, err := s.SentSince(ctx, "sub", notify.SMS, time.Now().Add(-time.Hour)); err != nil || n != 1 {
			t.Errorf("sent since: %d, %v", n, err)
		}

		// A run that died while "sending": after the lease, a rerun may
		// send again (with the same dedupe key); before it, not.
		now := time.Now()
		clocked := notify.NewStore(db, func() time.Time { return now })
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error { return clocked.Queue(ctx, tx, "n1", "sub", notify.Email, notify.Pending) }); err != nil {
			t.Fatal(err)
		}
		if n, err := clocked.Begin(ctx, "n1", notify.Email); err != nil || n != 1 {
			t.Fatalf("begin: %d, %v", n, err)
		}
		now = now.Add(notify.SendingLease - time.Second)
		var busy *notify.BusyError
		if _, err := clocked.Begin(ctx, "n1", notify.Email); !errors.As(err, &busy) || !busy.Until.Equal(now.Add(time.Second).Truncate(time.Microsecond)) {
			t.Fatalf("begun again within the lease: %v", err)
		}
		now = now.Add(2 * time.Second)
		if n, err := clocked.Begin(ctx, "n1", notify.Email); err != nil || n != 2 {
			t.Fatalf("after the lease: attempt %d, %v", n, err)
		}
	})
}
