package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal/notify"
)

// broadcastSize is how many subscribers TestBroadcast sends to: 100,000 by
// default, GOSID_BROADCAST_SUBSCRIBERS for the large run (1,000,000).
func broadcastSize(t *testing.T) int {
	if s := os.Getenv("GOSID_BROADCAST_SUBSCRIBERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 10 {
			t.Fatalf("GOSID_BROADCAST_SUBSCRIBERS=%q", s)
		}
		return n
	}
	if testing.Short() {
		return 2000
	}
	return 100_000
}

// seedSubscribers writes n citizens with an e-mail address subscribed to
// category, a thousand rows a statement.
func (e *deliveryEnv) seedSubscribers(t *testing.T, n int, category notify.Category) {
	t.Helper()
	ctx := context.Background()
	const batch = 500
	for start := 0; start < n; start += batch {
		var cit, sub strings.Builder
		var cargs, sargs []any
		for i := start; i < min(start+batch, n); i++ {
			subject := fmt.Sprintf("s%07d", i)
			plain, _ := json.Marshal(citizen{Email: fmt.Sprintf("s%07d@example.ru", i), Lang: "ru"})
			sealed, _ := e.h.cfg.Sealer.Seal(plain, citizenAAD(subject))
			if len(cargs) > 0 {
				cit.WriteString(", ")
				sub.WriteString(", ")
			}
			fmt.Fprintf(&cit, "($%d, $%d, 1)", len(cargs)+1, len(cargs)+2)
			cargs = append(cargs, subject, sealed)
			fmt.Fprintf(&sub, "($%d, $%d, 1)", len(sargs)+1, len(sargs)+2)
			sargs = append(sargs, string(category), subject)
		}
		err := e.db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO portal_citizens (subject, data_enc, updated_at) VALUES `+cit.String(), cargs...); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO portal_subscriptions (category, subject, created_at) VALUES `+sub.String(), sargs...)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// transactional sends k charge notices, each to another citizen (a
// citizen's own SMS limit aside), one every gap, and returns how long each
// took from its commit to the gateway.
func (e *deliveryEnv) transactional(t *testing.T, prefix string, k int, gap time.Duration) []time.Duration {
	t.Helper()
	var out []time.Duration
	for i := range k {
		subject, phone := fmt.Sprintf("%s%02d", prefix, i), fmt.Sprintf("+7999%07d", len(prefix)*1000+i)
		e.citizen(t, subject, phone, "")
		before, _ := e.sms.counts(phone)
		start := time.Now()
		e.notice(t, subject, "new", false)
		for {
			if posts, _ := e.sms.counts(phone); posts > before {
				break
			}
			if time.Since(start) > time.Minute {
				t.Fatal("a transactional SMS took over a minute")
			}
			time.Sleep(2 * time.Millisecond)
		}
		out = append(out, time.Since(start))
		time.Sleep(gap)
	}
	return out
}

func p99(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*99/100)]
}

// TestBroadcast: news to 100,000 subscribers reaches each exactly once,
// with an inbox notice each, honouring a subscriber's "no news by
// e-mail", while a citizen's transactional SMS keep their latency (the
// broadcast runs on the bulk queue).
func TestBroadcast(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		n := broadcastSize(t)
		e := newDeliveryEnv(t, db, next(12, 0, moscow))
		t0 := time.Now()
		e.seedSubscribers(t, n, notify.Law)
		if err := e.h.notify.Turn(ctx, "s0000007", notify.News, notify.Email, false); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d subscribers seeded in %s", n, time.Since(t0).Round(time.Millisecond))
		idle := e.transactional(t, "idle", 30, 20*time.Millisecond)

		id, total, err := StartBroadcast(ctx, db, e.queue, Broadcast{Category: notify.Law, Title: "Изменения в законе",
			Body: "С 1 января меняется порядок.\n\nПодробности на портале."}, e.clock.Now())
		if err != nil || total != int64(n) {
			t.Fatalf("start: %d subscribers, %v", total, err)
		}
		started := time.Now()
		time.Sleep(500 * time.Millisecond) // the fan-out is under way
		during := e.transactional(t, "during", 30, 50*time.Millisecond)
		var p BroadcastProgress
		for {
			if p, err = Progress(ctx, db, id); err != nil {
				t.Fatal(err)
			}
			if p.Status == "done" {
				break
			}
			if time.Since(started) > 30*time.Minute {
				t.Fatalf("broadcast: %+v after 30 minutes", p)
			}
			time.Sleep(200 * time.Millisecond)
		}
		took := time.Since(started)
		if p.Done != int64(n) {
			t.Errorf("progress %d of %d", p.Done, n)
		}
		mails := e.mail.all()
		seen := map[string]bool{}
		for _, m := range mails {
			if seen[m.To] {
				t.Fatalf("%s got the news twice", m.To)
			}
			seen[m.To] = true
			if m.Subject != "Изменения в законе" || m.Text != "body" || !strings.Contains(m.Unsubscribe, "/unsubscribe?t=") {
				t.Fatalf("news e-mail: %+v", m)
			}
		}
		if len(mails) != n-1 || seen["s0000007@example.ru"] {
			t.Errorf("%d e-mails for %d subscribers, one of whom turned news e-mail off", len(mails), n)
		}
		var inbox int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM portal_notices WHERE kind = 'news' AND ref = $1`, id).Scan(&inbox); err != nil || inbox != n {
			t.Errorf("%d inbox notices, want %d (%v)", inbox, n, err)
		}
		ratio := float64(p99(during)) / float64(p99(idle))
		t.Logf("broadcast of %d e-mails in %s (%.0f/s); transactional SMS p99 %s idle, %s during (ratio %.2f)",
			n, took.Round(time.Millisecond), float64(n)/took.Seconds(), p99(idle), p99(during), ratio)
		if p99(during) > 2*time.Second && ratio > 10 {
			t.Errorf("transactional SMS p99 %s during the broadcast vs %s idle", p99(during), p99(idle))
		}
	})
}
