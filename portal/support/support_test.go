package support_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal/support"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// sealer is a reversible stand-in for the portal's sealer that still binds
// a blob to its aad, so a value moved to another row fails.
type sealer struct{}

func (sealer) Seal(p, aad []byte) ([]byte, error) {
	return append(append([]byte(string(aad)+"\x00"), p...), 0), nil
}

func (sealer) Open(_ context.Context, b, aad []byte) ([]byte, error) {
	prefix := string(aad) + "\x00"
	if len(b) < len(prefix)+1 || string(b[:len(prefix)]) != prefix {
		return nil, errors.New("sealed for another row")
	}
	return b[len(prefix) : len(b)-1], nil
}

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// changes records what OnChange was told, in order.
type changes struct {
	mu   sync.Mutex
	seen []support.Change
}

func (c *changes) hook(_ context.Context, _ *sqldb.Tx, ch support.Change) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, ch)
	return nil
}

func (c *changes) events() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, ch := range c.seen {
		out = append(out, string(ch.Event))
	}
	return strings.Join(out, ",")
}

func newStore(db *sqldb.DB, clock *sqldbtest.Clock) (*support.Store, *changes) {
	st := support.NewStore(db, sealer{}, clock.Now)
	c := &changes{}
	st.OnChange = c.hook
	return st, c
}

func draft(subject string) support.Draft {
	return support.Draft{Subject: subject, Topic: "technical", Contact: support.Contact{Kind: support.Email, Value: "ivanov@example.ru"},
		Body: "Не приходит SMS с кодом", Files: []support.File{{ID: support.NewID(), Name: "screen.png", ContentType: "image/png", Size: 10, BlobKey: "support/x/1"}}}
}

func TestLifecycle(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		st, seen := newStore(db, clock)
		r, err := st.Create(ctx, draft("citizen-1"))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[1-9]\d{9}$`).MatchString(r.Number) || r.Status != support.New || r.Version != 1 {
			t.Fatalf("created: %+v", r)
		}
		// Another citizen sees nothing and changes nothing.
		if _, err := st.Mine(ctx, "citizen-2", r.ID); !errors.Is(err, support.ErrNotFound) {
			t.Fatalf("another citizen's Mine: %v", err)
		}
		if _, err := st.Reply(ctx, "citizen-2", r.ID, 1, "я тоже", nil); !errors.Is(err, support.ErrNotFound) {
			t.Fatalf("another citizen's Reply: %v", err)
		}
		// Illegal transitions: resolve or answer before anyone took it,
		// reopen what is not resolved.
		if _, err := st.Resolve(ctx, r.ID, 1, "staff-1", "", nil); !errors.Is(err, support.ErrTransition) {
			t.Fatalf("resolve a new request: %v", err)
		}
		if _, err := st.Answer(ctx, r.ID, 1, "staff-1", "Ответ", nil, false); !errors.Is(err, support.ErrTransition) {
			t.Fatalf("answer a new request: %v", err)
		}
		if _, err := st.Reopen(ctx, "citizen-1", r.ID, 1, "снова", nil); !errors.Is(err, support.ErrTransition) {
			t.Fatalf("reopen a new request: %v", err)
		}
		r, err = st.Take(ctx, r.ID, 1, "staff-1")
		if err != nil || r.Status != support.InProgress || r.Assignee != "staff-1" || r.Version != 2 {
			t.Fatalf("take: %+v, %v", r, err)
		}
		// A stale version is a conflict, not a transition error.
		if _, err := st.Answer(ctx, r.ID, 1, "staff-1", "Ответ", nil, true); !errors.Is(err, support.ErrConflict) {
			t.Fatalf("stale answer: %v", err)
		}
		if _, err := st.Answer(ctx, r.ID, 2, "staff-1", "", nil, true); !errors.Is(err, support.ErrInvalid) {
			t.Fatalf("empty answer: %v", err)
		}
		r, err = st.Answer(ctx, r.ID, 2, "staff-1", "Укажите время запроса кода", nil, true)
		if err != nil || r.Status != support.AwaitingReply {
			t.Fatalf("answer: %+v, %v", r, err)
		}
		r, err = st.Reply(ctx, "citizen-1", r.ID, r.Version, "Около 10:00", nil)
		if err != nil || r.Status != support.InProgress {
			t.Fatalf("reply: %+v, %v", r, err)
		}
		r, err = st.Resolve(ctx, r.ID, r.Version, "staff-1", "Код отправлен повторно", nil)
		if err != nil || r.Status != support.Resolved || !r.ResolvedAt.Equal(t0) {
			t.Fatalf("resolve: %+v, %v", r, err)
		}
		if _, err := st.Reply(ctx, "citizen-1", r.ID, r.Version, "ещё", nil); !errors.Is(err, support.ErrTransition) {
			t.Fatalf("reply to a resolved request: %v", err)
		}
		// Reopened on day 13, resolved again.
		clock.Advance(13 * 24 * time.Hour)
		r, err = st.Reopen(ctx, "citizen-1", r.ID, r.Version, "Код так и не пришёл", nil)
		if err != nil || r.Status != support.InProgress || !r.ResolvedAt.IsZero() {
			t.Fatalf("reopen within 14 days: %+v, %v", r, err)
		}
		r, err = st.Resolve(ctx, r.ID, r.Version, "staff-1", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		// 14 days after this resolution: reopening is refused, the sweep
		// closes it (once).
		clock.Advance(14*24*time.Hour + time.Second)
		if _, err := st.Reopen(ctx, "citizen-1", r.ID, r.Version, "снова", nil); !errors.Is(err, support.ErrTransition) {
			t.Fatalf("reopen after 14 days: %v", err)
		}
		if n, err := st.CloseExpired(ctx, clock.Now().Add(-2*time.Second)); err != nil || n != 0 {
			t.Fatalf("CloseExpired before its time: %d, %v", n, err)
		}
		if n, err := st.CloseExpired(ctx, clock.Now()); err != nil || n != 1 {
			t.Fatalf("CloseExpired: %d, %v", n, err)
		}
		if n, err := st.CloseExpired(ctx, clock.Now()); err != nil || n != 0 {
			t.Fatalf("CloseExpired again: %d, %v", n, err)
		}
		r, err = st.Mine(ctx, "citizen-1", r.ID)
		if err != nil || r.Status != support.Closed || r.Contact.Value != "ivanov@example.ru" {
			t.Fatalf("closed: %+v, %v", r, err)
		}
		if _, err := st.Reopen(ctx, "citizen-1", r.ID, r.Version, "снова", nil); !errors.Is(err, support.ErrTransition) {
			t.Fatalf("reopen a closed request: %v", err)
		}
		if got, want := seen.events(), "created,answered,resolved,resolved,closed"; got != want {
			t.Fatalf("OnChange told of %s, want %s", got, want)
		}

		thread, err := st.Thread(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, m := range thread {
			kinds = append(kinds, string(m.Author))
		}
		if got := strings.Join(kinds, ","); got != "citizen,staff,citizen,staff,citizen,system" || thread[0].Body != "Не приходит SMS с кодом" ||
			len(thread[0].Files) != 1 || thread[0].Files[0].Name != "screen.png" || !support.ClosedNote(thread[5]) {
			t.Fatalf("thread: %s %+v", got, thread)
		}
		// Texts are sealed at rest, bound to their row.
		var raw []byte
		if err := db.QueryRow(ctx, `SELECT body_enc FROM portal_support_messages WHERE request_id = $1 AND seq = 1`, r.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `UPDATE portal_support_messages SET body_enc = $2 WHERE request_id = $1 AND seq = 2`, r.ID, raw); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Thread(ctx, r.ID); err == nil {
			t.Fatal("a message moved to another row opened")
		}
	})
}

// TestCreateAtomic: a failure of the notice hook leaves nothing behind.
func TestCreateAtomic(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st := support.NewStore(db, sealer{}, sqldbtest.NewClock(t0).Now)
		st.OnChange = func(context.Context, *sqldb.Tx, support.Change) error { return errors.New("notice failed") }
		if _, err := st.Create(ctx, draft("citizen-1")); err == nil {
			t.Fatal("created despite the hook's failure")
		}
		for _, table := range []string{"portal_support_requests", "portal_support_messages", "portal_support_files"} {
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil || n != 0 {
				t.Fatalf("%s: %d rows left, %v", table, n, err)
			}
		}
		// Invalid drafts are refused before anything is written.
		for name, d := range map[string]support.Draft{
			"topic":   {Subject: "c", Topic: "nope", Contact: support.Contact{Kind: "email", Value: "a@b.ru"}, Body: "x"},
			"empty":   {Subject: "c", Topic: "other", Contact: support.Contact{Kind: "email", Value: "a@b.ru"}, Body: ""},
			"long":    {Subject: "c", Topic: "other", Contact: support.Contact{Kind: "email", Value: "a@b.ru"}, Body: strings.Repeat("я", support.MaxBody+1)},
			"files":   {Subject: "c", Topic: "other", Contact: support.Contact{Kind: "email", Value: "a@b.ru"}, Body: "x", Files: make([]support.File, 6)},
			"contact": {Subject: "c", Topic: "other", Body: "x"},
		} {
			if _, err := st.Create(ctx, d); !errors.Is(err, support.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		if _, err := st.Create(ctx, support.Draft{Subject: "c", Topic: "other", Contact: support.Contact{Kind: "email", Value: "a@b.ru"}, Body: strings.Repeat("я", support.MaxBody)}); err == nil {
			t.Fatal("a 5,000-character text created with a failing hook")
		}
	})
}

// TestConcurrentCreates: 50 citizens at once get 50 distinct numbers.
func TestConcurrentCreates(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		st, seen := newStore(db, sqldbtest.NewClock(t0))
		const n = 50
		var wg sync.WaitGroup
		numbers := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				d := draft("citizen")
				r, err := st.Create(ctx, d)
				if err == nil {
					numbers[i] = r.Number
				}
				errs[i] = err
			})
		}
		wg.Wait()
		seenNumbers := map[string]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("create %d: %v", i, errs[i])
			}
			if seenNumbers[numbers[i]] {
				t.Fatalf("number %s given twice", numbers[i])
			}
			seenNumbers[numbers[i]] = true
		}
		var rows int
		if err := db.QueryRow(ctx, `SELECT COUNT(DISTINCT number) FROM portal_support_requests`).Scan(&rows); err != nil || rows != n {
			t.Fatalf("%d distinct numbers stored, %v", rows, err)
		}
		if got := strings.Count(seen.events(), "created"); got != n {
			t.Fatalf("%d created notices for %d requests", got, n)
		}
	})
}

// TestTakeRace: two staff members on two replicas (two handles on one
// database) take the same request at once: exactly one wins, the other
// gets ErrConflict, and the request is the winner's.
func TestTakeRace(t *testing.T) {
	open := func(t *testing.T, cfg sqldb.Config) *sqldb.DB {
		db, err := sqldb.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	t.Run("sqlite", func(t *testing.T) {
		path := sqldbtest.SQLitePath(t)
		takeRace(t, open(t, sqldb.Config{SQLitePath: path}), open(t, sqldb.Config{SQLitePath: path}))
	})
	t.Run("postgres", func(t *testing.T) {
		url := sqldbtest.PostgresURL(t)
		takeRace(t, open(t, sqldb.Config{URL: url}), open(t, sqldb.Config{URL: url}))
	})
}

func takeRace(t *testing.T, db1, db2 *sqldb.DB) {
	{
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		st, _ := newStore(db1, clock)
		replicas := []*support.Store{st, support.NewStore(db2, sealer{}, clock.Now)}
		for round := range 10 {
			r, err := st.Create(ctx, draft("citizen"))
			if err != nil {
				t.Fatal(err)
			}
			staff := []string{"staff-a", "staff-b"}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range staff {
				wg.Go(func() {
					<-start
					_, errs[i] = replicas[i].Take(ctx, r.ID, r.Version, staff[i])
				})
			}
			close(start)
			wg.Wait()
			won := -1
			for i, err := range errs {
				switch {
				case err == nil:
					if won >= 0 {
						t.Fatalf("round %d: both took it", round)
					}
					won = i
				case errors.Is(err, support.ErrConflict):
				default:
					t.Fatalf("round %d: %s: %v", round, staff[i], err)
				}
			}
			if won < 0 {
				t.Fatalf("round %d: nobody took it: %v", round, errs)
			}
			got, err := st.Get(ctx, r.ID)
			if err != nil || got.Assignee != staff[won] || got.Version != 2 || got.Status != support.InProgress {
				t.Fatalf("round %d: %+v, %v", round, got, err)
			}
		}
	}
}

func TestQueue(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clock := sqldbtest.NewClock(t0)
		st, _ := newStore(db, clock)
		var ids []string
		for i, topic := range []string{"technical", "payments", "technical"} {
			d := draft("citizen")
			d.Topic = topic
			d.Files = nil
			r, err := st.Create(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
			clock.Advance(time.Duration(i+1) * time.Minute)
		}
		if _, err := st.Take(ctx, ids[2], 1, "staff-1"); err != nil {
			t.Fatal(err)
		}
		idsOf := func(f support.Filter) string {
			list, err := st.Queue(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range list {
				for i, id := range ids {
					if r.ID == id {
						out = append(out, string(rune('0'+i)))
					}
				}
			}
			return strings.Join(out, "")
		}
		for name, c := range map[string]struct {
			f    support.Filter
			want string
		}{
			"open, oldest first": {support.Filter{}, "012"},
			"topic":              {support.Filter{Topic: "technical"}, "02"},
			"mine":               {support.Filter{Assignee: "staff-1"}, "2"},
			"unassigned":         {support.Filter{Unassigned: true}, "01"},
			"status":             {support.Filter{Statuses: []support.Status{support.InProgress}}, "2"},
			"resolved":           {support.Filter{Statuses: []support.Status{support.Resolved}}, ""},
		} {
			if got := idsOf(c.f); got != c.want {
				t.Errorf("%s: %q, want %q", name, got, c.want)
			}
		}
	})
}

// BenchmarkCreate: registering a request with its first message and a
// file's row, and its notice hook, in one transaction.
func BenchmarkCreate(b *testing.B) {
	db := sqldbtest.SQLite(b)
	st := support.NewStore(db, sealer{}, time.Now)
	st.OnChange = func(context.Context, *sqldb.Tx, support.Change) error { return nil }
	ctx := context.Background()
	for b.Loop() {
		if _, err := st.Create(ctx, draft("citizen")); err != nil {
			b.Fatal(err)
		}
	}
}
