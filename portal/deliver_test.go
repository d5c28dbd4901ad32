package portal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/message/webpush/pushtest"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal/notify"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// testSealer is AES-GCM with a random key: the portal's sealer in
// production is the identity provider's key manager, which the portal may
// not import.
type testSealer struct{ aead cipher.AEAD }

func newTestSealer(t *testing.T) *testSealer {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	return &testSealer{a}
}

func (s *testSealer) Seal(plain, aad []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, aad), nil
}

func (s *testSealer) Open(_ context.Context, blob, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(blob) < n {
		return nil, errors.New("short")
	}
	return s.aead.Open(nil, blob[:n], blob[n:], aad)
}

// smsGateway is an SMS provider that honours Idempotency-Key, as real
// ones do: a repeated key is answered 200 and not delivered again. Per
// phone it can fail (status) or accept and then hang (the answer lost).
type smsGateway struct {
	*httptest.Server
	mu        sync.Mutex
	posts     map[string]int      // phone → requests
	delivered map[string][]string // phone → texts delivered
	keys      map[string]bool
	fail      map[string][]int // phone → statuses to answer first (0: record, then hang)
	hung      chan string
}

func newSMSGateway(t *testing.T) *smsGateway {
	g := &smsGateway{posts: map[string]int{}, delivered: map[string][]string{}, keys: map[string]bool{}, fail: map[string][]int{},
		hung: make(chan string, 10)}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ To, Text string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		key := r.Header.Get("Idempotency-Key")
		g.mu.Lock()
		g.posts[body.To]++
		status := http.StatusOK
		if f := g.fail[body.To]; len(f) > 0 {
			status, g.fail[body.To] = f[0], f[1:]
		}
		if (status == http.StatusOK || status == 0) && !g.keys[key] {
			g.keys[key] = true
			g.delivered[body.To] = append(g.delivered[body.To], body.Text)
		}
		g.mu.Unlock()
		if status == 0 {
			g.hung <- body.To
			<-r.Context().Done() // accepted, but the answer never comes
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *smsGateway) counts(phone string) (posts int, texts []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.posts[phone], append([]string(nil), g.delivered[phone]...)
}

// mailbox records e-mails (the edge: an SMTP server); news only as their
// headers and whether the body arrived, so that a million fit in memory.
type mailbox struct {
	mu   sync.Mutex
	mail []message.Message
	// hang: the next e-mail to an address is taken and never answered
	// (the server accepted it, the answer was lost); hung tells of it.
	hang map[string]bool
	hung chan string
}

func (m *mailbox) Send(ctx context.Context, msg message.Message) error {
	m.mu.Lock()
	if m.hang[msg.To] {
		delete(m.hang, msg.To)
		m.mail = append(m.mail, msg)
		m.mu.Unlock()
		m.hung <- msg.To
		<-ctx.Done()
		return ctx.Err()
	}
	defer m.mu.Unlock()
	if msg.Kind == "portal.news" {
		body := strings.Contains(msg.HTML, "Подробности на портале.") && strings.Contains(msg.Text, "Подробности на портале.")
		msg = message.Message{To: msg.To, Kind: msg.Kind, Subject: msg.Subject, Unsubscribe: msg.Unsubscribe, Key: msg.Key}
		if body {
			msg.Text = "body"
		}
	}
	m.mail = append(m.mail, msg)
	return nil
}

func (m *mailbox) all() []message.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]message.Message(nil), m.mail...)
}

func (m *mailbox) to(addr string) []message.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []message.Message
	for _, x := range m.mail {
		if x.To == addr {
			out = append(out, x)
		}
	}
	return out
}

func keysOf(ms []message.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Key)
	}
	return out
}

// testClock runs with real time and jumps on request, so that River's
// retries (real-time waits) and quiet hours (a jump) both work.
type testClock struct {
	mu     sync.Mutex
	base   time.Time
	start  time.Time
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Since(c.start) + c.offset)
}

func (c *testClock) jump(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

type deliveryEnv struct {
	h     *Handler
	db    *sqldb.DB
	sms   *smsGateway
	mail  *mailbox
	push  *pushtest.Service
	clock *testClock
	queue *jobs.Queue
}

// newDeliveryEnv is a portal handler with what delivery needs: the
// database, a job queue on the test clock, the real SMS adapter to a
// gateway, a mailbox, and the push-service stand-in.
func newDeliveryEnv(t *testing.T, db *sqldb.DB, at time.Time) *deliveryEnv {
	t.Helper()
	e := &deliveryEnv{db: db, sms: newSMSGateway(t), mail: &mailbox{hang: map[string]bool{}, hung: make(chan string, 10)}, push: pushtest.New(),
		clock: &testClock{base: at, start: time.Now()}}
	ps := httptest.NewServer(e.push.Handler())
	t.Cleanup(ps.Close)
	e.push.SetBase(ps.URL)
	sms, err := message.NewHTTPSMS(message.HTTPSMSConfig{URL: e.sms.URL + "/send", Timeout: 2 * time.Second}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{IdPURL: "http://idp.example", PortalURL: "https://portal.example", DB: db, Sealer: newTestSealer(t),
		IndexKey: []byte("0123456789abcdef0123456789abcdef"), Now: e.clock.Now, QuietHours: true,
		NoticeBackoff: func(int) time.Duration { return 20 * time.Millisecond }, Messages: message.Route{SMS: sms, Email: e.mail}}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// What New sets up only with sign-in (Auth): the push key.
	if h.push, err = loadPush(context.Background(), cfg, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	// The push service checks a VAPID token's expiry by its own, real,
	// clock (at most 24 h ahead): the portal signs by the real one too.
	h.push.Now = time.Now
	e.h = h
	e.queue = e.newQueue(t, "a")
	return e
}

func (e *deliveryEnv) newQueue(t *testing.T, id string) *jobs.Queue {
	q, err := jobs.New(e.db, jobs.Config{Now: e.clock.Now, PollInterval: 20 * time.Millisecond, Workers: 4, ID: id,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.h.registerNotices(q); err != nil {
		t.Fatal(err)
	}
	if err := e.h.registerBroadcasts(q); err != nil {
		t.Fatal(err)
	}
	e.h.jobs = q
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
	return q
}

func (e *deliveryEnv) citizen(t *testing.T, subject, phone, email string) {
	t.Helper()
	plain, _ := json.Marshal(citizen{Phone: phone, Email: email, Lang: "ru"})
	sealed, _ := e.h.cfg.Sealer.Seal(plain, citizenAAD(subject))
	if _, err := e.db.Exec(context.Background(), `INSERT INTO portal_citizens (subject, data_enc, updated_at) VALUES ($1, $2, 1)`, subject, sealed); err != nil {
		t.Fatal(err)
	}
}

// notice adds a charge notice (its text needs no catalogue) and returns its id.
func (e *deliveryEnv) notice(t *testing.T, subject, status string, urgent bool) string {
	t.Helper()
	n := notice{Subject: subject, Kind: noticeCharge, Ref: "18810771260000000134", Status: status, Urgent: urgent,
		Params: map[string]string{"purpose": "Штраф", "amount": "1 500,00", "uin": "18810771260000000134"}}
	err := e.db.InTx(context.Background(), func(tx *sqldb.Tx) error { return e.h.addNotice(context.Background(), tx, n) })
	if err != nil {
		t.Fatal(err)
	}
	var id string
	if err := e.db.QueryRow(context.Background(), `SELECT id FROM portal_notices WHERE subject = $1 ORDER BY created_at DESC, id LIMIT 1`, subject).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// wait waits until the notice's channel has one of the statuses.
func (e *deliveryEnv) wait(t *testing.T, id string, c notify.Channel, statuses ...string) notify.Delivery {
	t.Helper()
	// River promotes a retry when its scheduler runs (every few seconds):
	// a delivery that fails five times takes that long five times.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ds, err := e.h.notify.Deliveries(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Channel == c && strings.Contains(" "+strings.Join(statuses, " ")+" ", " "+d.Status+" ") {
				return d
			}
		}
		if time.Now().After(deadline) {
			jobs, _ := sqldb.Strings(context.Background(), e.db, `SELECT kind || ' ' || state || ' ' || CAST(attempt AS TEXT) || ' ' || CAST(scheduled_at AS TEXT) FROM river_job ORDER BY id`)
			t.Fatalf("notice %s on %s: %+v, want %v\njobs: %q\nnow %s", id, c, ds, statuses, jobs, e.clock.Now())
		}
	}
}

// next is the first time after now at hh:mm in loc. Test clocks start
// there, never behind the real one: River's rescue of stuck jobs compares
// with the database's clock, and a job begun "hours ago" by a test clock
// in the past would be rescued, and run twice, at once.
func next(hh, mm int, loc *time.Location) time.Time {
	now := time.Now().In(loc)
	t := time.Date(now.Year(), now.Month(), now.Day(), hh, mm, 0, 0, loc)
	if !t.After(now) {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// TestDeliveryMatrix: each event × channel goes where the citizen's
// settings say, the e-mail has both parts and a working one-click
// unsubscribe, and push reaches the browser, encrypted, until it is gone.
func TestDeliveryMatrix(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newDeliveryEnv(t, db, next(12, 0, moscow))
		e.citizen(t, "c1", "+79990000001", "c1@example.ru")
		m := notify.Defaults()
		m[notify.ChargeNew][notify.SMS] = false // on by default
		m[notify.ChargePaid][notify.SMS] = true // off by default
		m[notify.ChargePaid][notify.Push] = false
		if err := e.h.notify.SetMatrix(ctx, "c1", m); err != nil {
			t.Fatal(err)
		}
		sub, pushID, err := e.push.NewSubscription()
		if err != nil {
			t.Fatal(err)
		}
		if err := e.h.savePush(ctx, "c1", sub, "test"); err != nil {
			t.Fatal(err)
		}

		posted := e.notice(t, "c1", "new", false)        // charge.new: e-mail, push; SMS turned off
		refunded := e.notice(t, "c1", "refunded", false) // charge.paid: e-mail, SMS turned on; push off
		for _, c := range []struct {
			id     string
			ch     notify.Channel
			status string
		}{{posted, notify.SMS, notify.Off}, {posted, notify.Email, notify.SentOK}, {posted, notify.Push, notify.SentOK},
			{refunded, notify.SMS, notify.SentOK}, {refunded, notify.Email, notify.SentOK}, {refunded, notify.Push, notify.Off}} {
			e.wait(t, c.id, c.ch, c.status)
		}
		if _, texts := e.sms.counts("+79990000001"); len(texts) != 1 || !strings.Contains(texts[0], "Возврат") {
			t.Errorf("SMS delivered: %q, want the refund's only", texts)
		}
		got := e.push.Received(pushID)
		if len(got) != 1 {
			t.Fatalf("%d pushes received, want 1", len(got))
		}
		var p pushPayload
		if err := json.Unmarshal(got[0].Payload, &p); err != nil || !strings.Contains(p.Body, "Новое начисление") ||
			p.URL != "https://portal.example/charges/18810771260000000134" || got[0].Topic != pushTopic(posted) {
			t.Errorf("push payload %s (%v), topic %q", got[0].Payload, err, got[0].Topic)
		}

		mails := e.mail.to("c1@example.ru")
		if len(mails) != 2 {
			t.Fatalf("%d e-mails, want 2", len(mails))
		}
		if !strings.Contains(mails[0].Text, "Новое начисление") {
			mails[0], mails[1] = mails[1], mails[0] // jobs run in any order
		}
		for _, mail := range mails {
			if !strings.Contains(mail.HTML, "<html") || !strings.Contains(mail.HTML, "Открыть на портале") || !strings.Contains(mail.Text, "1 500,00") ||
				!strings.Contains(mail.Text, mail.Unsubscribe) || !strings.HasPrefix(mail.Unsubscribe, "https://portal.example/unsubscribe?t=") ||
				mail.Key == "" {
				t.Fatalf("e-mail lacks a part, the key or the unsubscribe link: %+v", mail)
			}
		}
		// RFC 8058: the mail provider POSTs "List-Unsubscribe=One-Click" to
		// the header's URL; no session, no Origin.
		u, _ := url.Parse(mails[0].Unsubscribe)
		srv := httptest.NewServer(e.h)
		defer srv.Close()
		resp, err := http.Post(srv.URL+u.RequestURI(), "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "больше не будем присылать") {
			t.Fatalf("one-click unsubscribe: %d %s", resp.StatusCode, body)
		}
		if m, _ := e.h.notify.Matrix(ctx, db, "c1"); m.On(notify.ChargeNew, notify.Email) {
			t.Fatal("one-click unsubscribe did not turn the event's e-mail off")
		}
		// A tampered token changes nothing and says so.
		q := u.Query()
		q.Set("t", q.Get("t")+"x")
		resp, err = http.Post(srv.URL+"/unsubscribe?"+q.Encode(), "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a tampered token: %d, want 400", resp.StatusCode)
		}
		next := e.notice(t, "c1", "new", false)
		e.wait(t, next, notify.Email, notify.Off)

		// The browser's subscription expires: the push service answers 410,
		// the subscription is deleted, the delivery has no one to go to.
		e.push.Expire(pushID)
		gone := e.notice(t, "c1", "cancelled", false)
		e.wait(t, gone, notify.Push, notify.NoContact)
		if n, _ := e.h.pushCount(ctx, "c1"); n != 0 {
			t.Errorf("%d push subscriptions after a 410, want 0", n)
		}
	})
}

// TestDeliveryExactlyOnce: a gateway that fails, and a replica stopped
// while the gateway holds its call, still give the citizen one SMS; the
// e-mail held likewise is sent again with the same dedupe key (the SMTP
// adapter's Message-ID, by which receivers drop the repeat:
// internal/message TestSMTPKeyAndUnsubscribe), and the push with the same
// Topic (RFC 8030 §5.4: the push service replaces the undelivered one; the
// service worker's notification tag is the same, so a browser that got
// both shows one); a gateway that always fails marks the SMS failed
// without holding up anyone else's.
func TestDeliveryExactlyOnce(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newDeliveryEnv(t, db, next(12, 0, moscow))
		for _, c := range []struct{ sub, phone string }{{"retry", "+79990000002"}, {"broken", "+79990000004"}, {"fine", "+79990000005"}} {
			e.citizen(t, c.sub, c.phone, "")
		}
		e.citizen(t, "crash", "+79990000003", "crash@example.ru")
		sub, pushID, err := e.push.NewSubscription()
		if err != nil {
			t.Fatal(err)
		}
		if err := e.h.savePush(context.Background(), "crash", sub, "test"); err != nil {
			t.Fatal(err)
		}
		// Three 503s: the adapter's own retry, then the job's retry, each
		// reaching the gateway, which recorded the first.
		e.sms.mu.Lock()
		e.sms.fail["+79990000002"] = []int{503, 503, 503}
		e.sms.fail["+79990000004"] = []int{500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500}
		e.sms.mu.Unlock()
		retried := e.notice(t, "retry", "new", false)
		broken := e.notice(t, "broken", "new", false)
		fine := e.notice(t, "fine", "new", false)
		d := e.wait(t, fine, notify.SMS, notify.SentOK)
		if b := e.wait(t, broken, notify.SMS, notify.Pending, notify.Sending, notify.Failed); b.Status == notify.Failed {
			t.Logf("the broken gateway's SMS failed before the fine one was sent: %+v vs %+v", b, d)
		}
		d = e.wait(t, retried, notify.SMS, notify.SentOK)
		if posts, texts := e.sms.counts("+79990000002"); len(texts) != 1 || posts < 3 || d.Attempts < 2 {
			t.Errorf("retried: %d posts, %d delivered, %d attempts; want ≥3, 1, ≥2", posts, len(texts), d.Attempts)
		}
		b := e.wait(t, broken, notify.SMS, notify.Failed)
		if b.Attempts != policies[notify.SMS].attempts {
			t.Errorf("the failing gateway's SMS: %d attempts, want %d", b.Attempts, policies[notify.SMS].attempts)
		}

		// A replica is stopped while the gateway has accepted the SMS and
		// not answered; another replica ("gosid serve" restarted) takes the
		// job over once the first run's lease is over, sends with the same
		// key, and the gateway drops the repeat.
		e.sms.mu.Lock()
		e.sms.fail["+79990000003"] = []int{0}
		e.sms.mu.Unlock()
		e.mail.mu.Lock()
		e.mail.hang["crash@example.ru"] = true
		e.mail.mu.Unlock()
		pushHung := e.push.HangNext()
		crash := e.notice(t, "crash", "new", false)
		for _, hung := range []<-chan string{e.sms.hung, e.mail.hung, pushHung} {
			select {
			case <-hung:
			case <-time.After(10 * time.Second):
				t.Fatal("the gateways never got the SMS, the e-mail and the push")
			}
		}
		stop, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_ = e.queue.Stop(stop)
		cancel()
		if d := e.wait(t, crash, notify.SMS, notify.Sending, notify.Pending); d.Status == notify.SentOK {
			t.Fatal("sent while the gateway hung")
		}
		// The clock first: a replica started before it moved could take
		// the cancelled job at once, find the SMS still under its lease
		// and put it off until the lease ends, past the jump.
		e.clock.jump(notify.SendingLease + jobs.DefaultRescueAfter + time.Minute)
		e.newQueue(t, "b")
		d = e.wait(t, crash, notify.SMS, notify.SentOK)
		if posts, texts := e.sms.counts("+79990000003"); len(texts) != 1 || posts != 2 {
			t.Errorf("after the restart: %d posts, %d delivered (attempt %d); want 2 posts, 1 delivered", posts, len(texts), d.Attempts)
		}
		e.wait(t, crash, notify.Email, notify.SentOK)
		if sent := e.mail.to("crash@example.ru"); len(sent) != 2 || sent[0].Key == "" || sent[0].Key != sent[1].Key {
			t.Errorf("the e-mail held over the restart: %d sends, keys %q; want 2 with one key", len(sent), keysOf(sent))
		}
		e.wait(t, crash, notify.Push, notify.SentOK)
		var p pushPayload
		if got, posts := e.push.Received(pushID), e.push.Posts(pushID); posts != 2 || len(got) != 1 || got[0].Topic != pushTopic(crash) ||
			json.Unmarshal(got[0].Payload, &p) != nil || p.Tag != got[0].Topic {
			t.Errorf("the push held over the restart: %d posts, %d kept (%+v); want 2 posts of one Topic, 1 kept, tagged with it", posts, len(got), got)
		}
	})
}

// TestDeliveryQuietHours: at 23:30 in the citizen's zone SMS and push wait
// for 08:00 there, e-mail does not, an urgent notice does not; per-citizen
// limits hold what is over.
func TestDeliveryQuietHours(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		vlad := notify.Zone("Asia/Vladivostok")
		start := next(23, 30, vlad)
		e := newDeliveryEnv(t, db, start)
		e.citizen(t, "q", "+79990000006", "q@example.ru")
		if err := e.h.notify.SetZone(ctx, "q", "Asia/Vladivostok"); err != nil {
			t.Fatal(err)
		}
		held := e.notice(t, "q", "new", false)
		d := e.wait(t, held, notify.SMS, notify.Deferred)
		if want := time.Date(start.Year(), start.Month(), start.Day()+1, 8, 0, 0, 0, vlad); !d.Until.Equal(want) {
			t.Errorf("held until %s, want %s", d.Until, want)
		}
		e.wait(t, held, notify.Email, notify.SentOK)
		urgent := e.notice(t, "q", "new", true)
		e.wait(t, urgent, notify.SMS, notify.SentOK)
		if _, texts := e.sms.counts("+79990000006"); len(texts) != 1 {
			t.Fatalf("%d SMS at 23:30, want the urgent one", len(texts))
		}
		// The morning comes: the held SMS goes.
		e.clock.jump(8*time.Hour + 31*time.Minute)
		e.wait(t, held, notify.SMS, notify.SentOK)
		if _, texts := e.sms.counts("+79990000006"); len(texts) != 2 {
			t.Fatalf("%d SMS after 08:00, want 2", len(texts))
		}
		// Ten SMS an hour to one citizen: with the held one sent at 08:00,
		// nine more go and the tenth is limited (the inbox keeps it); the
		// urgent one of 23:30 is more than an hour old.
		limit := policies[notify.SMS].perHour
		var last string
		for range limit {
			last = e.notice(t, "q", "new", false)
			e.wait(t, last, notify.SMS, notify.SentOK, notify.Limited)
		}
		var limited int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM portal_deliveries WHERE subject = 'q' AND channel = 'sms' AND status = 'limited'`).Scan(&limited); err != nil {
			t.Fatal(err)
		}
		if _, texts := e.sms.counts("+79990000006"); len(texts) != 2+limit-1 || limited != 1 {
			t.Errorf("%d SMS sent in all and %d limited; want %d and 1", len(texts), limited, 2+limit-1)
		}
		if d := e.wait(t, last, notify.SMS, notify.Limited); d.Attempts != 0 {
			t.Errorf("the limited SMS was attempted %d times", d.Attempts)
		}
	})
}
