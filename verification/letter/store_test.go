package letter_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
	"github.com/gosid/gosid/verification/letter"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

type rig struct {
	db       *sqldb.DB
	clock    *sqldbtest.Clock
	km       *keys.Manager
	accounts *account.Store
	verifier *assurance.Service
	audit    *audit.Log
	store    *letter.Store
	svc      *letter.Service
	told     *notes
}

// notes records the notices the service sends (the edge: message
// gateways).
type notes struct {
	mu    sync.Mutex
	kinds []string
}

func (n *notes) Account(_ context.Context, a *account.Account, kind, _ string, _ map[string]string) {
	n.mu.Lock()
	n.kinds = append(n.kinds, a.ID+":"+kind)
	n.mu.Unlock()
}

func newRig(t *testing.T, db *sqldb.DB) *rig {
	t.Helper()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	mk, err := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	km, err := keys.Open(context.Background(), db, mk, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{db: db, clock: sqldbtest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)), km: km, told: &notes{}}
	r.accounts = account.NewStore(db, km, r.clock.Now)
	r.audit = audit.New(db, km, r.clock.Now)
	r.verifier = assurance.New(db, func(q sqldb.Runner) assurance.Accounts { return r.accounts.With(q) }, r.audit, km, r.clock.Now)
	r.store = letter.NewStore(db, km, km, r.audit, r.clock.Now)
	r.svc = &letter.Service{Store: r.store, Accounts: r.accounts, Verifier: r.verifier, Notifier: r.told, Now: r.clock.Now}
	return r
}

var phoneN = 0

// standard makes an account the registries have confirmed.
func (r *rig) standard(t *testing.T) *account.Account {
	t.Helper()
	ctx := context.Background()
	phoneN++
	a, err := r.accounts.Create(ctx, account.New{Name: account.Name{Family: "Иванов", Given: "Иван", Middle: "Петрович"},
		Phone: account.Contact{Value: fmt.Sprintf("+7912%07d", phoneN), VerifiedAt: r.clock.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.verifier.Verify(ctx, assurance.Verification{Evidence: assurance.Evidence{AccountID: a.ID, Method: assurance.MethodRegistry,
		Verifier: assurance.Verifier{Kind: "registry", ID: "test"}, Claims: []string{"family_name", "given_name"}, Level: assurance.Standard}}); err != nil {
		t.Fatal(err)
	}
	a, err = r.accounts.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

var addr = letter.Address{Index: "101000", Region: "Москва", City: "Москва", Street: "ул. Мясницкая", House: "26", Flat: "15"}

// export runs an export into a fresh directory.
func (r *rig) export(t *testing.T) (*letter.Batch, string) {
	t.Helper()
	dir := t.TempDir()
	b, err := letter.Export(context.Background(), r.store, dir, "https://id.gosid.example", r.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return b, dir
}

// sendWithCode marks an ordered letter exported with a known code (as an
// export records the code it printed; the database holds only its hash)
// and sent with tracking; it returns the code.
func (r *rig) sendWithCode(t *testing.T, id, tracking string) string {
	t.Helper()
	ctx := context.Background()
	if err := r.store.Exported(ctx, map[string]string{id: "ABCDEFGH"}); err != nil {
		t.Fatal(err)
	}
	if n, err := r.store.Sent(ctx, []letter.Dispatch{{Line: 1, LetterID: id, Tracking: tracking}}, audit.Actor{Kind: audit.ActorAdmin, ID: "test"}); err != nil || n != 1 {
		t.Fatalf("Sent: %d, %v", n, err)
	}
	return "ABCDEFGH"
}

func actions(t *testing.T, r *rig, accountID string) []string {
	t.Helper()
	es, err := r.audit.List(context.Background(), accountID, time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Action)
	}
	return out
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestStore(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db)

		t.Run("order, export, send, confirm", func(t *testing.T) {
			a := r.standard(t)
			l, err := r.svc.Order(ctx, a, addr, "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			// The address is sealed: not in the row in clear.
			var sealed []byte
			if err := db.QueryRow(ctx, `SELECT recipient_enc FROM letters WHERE id = $1`, l.ID).Scan(&sealed); err != nil {
				t.Fatal(err)
			}
			if regexp.MustCompile("Мясницкая|101000").Match(sealed) {
				t.Fatal("the address is stored in clear")
			}
			if _, err := r.svc.Order(ctx, a, addr, ""); !errors.Is(err, letter.ErrTooSoon) {
				t.Fatalf("second order: %v, want ErrTooSoon", err)
			}
			if _, err := r.svc.Enter(ctx, a, "ABCDEFGH", ""); !errors.Is(err, letter.ErrNoCode) {
				t.Fatalf("a code before dispatch: %v", err)
			}
			b, dir := r.export(t)
			if b.Letters < 1 {
				t.Fatalf("export: %+v", b)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 2 {
				t.Errorf("export left %d files (temporary files must go): %v", len(entries), entries)
			}
			got, err := r.store.Latest(ctx, a.ID)
			if err != nil || got.Status != letter.Exported {
				t.Fatalf("after export: %+v %v", got, err)
			}
			if again, _ := r.export(t); again.Letters != 0 {
				t.Errorf("a second export printed %d letters again", again.Letters)
			}
			// A tracking line of a letter not yet exported is refused,
			// and nothing of the file is applied.
			other := r.standard(t)
			lo, err := r.svc.Order(ctx, other, addr, "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.store.Sent(ctx, []letter.Dispatch{{Line: 1, LetterID: l.ID, Tracking: "RA123456785RU"}, {Line: 2, LetterID: lo.ID, Tracking: "RA123456785RU"}},
				audit.Actor{Kind: audit.ActorAdmin, ID: "test"})
			var se *letter.SentError
			if !errors.As(err, &se) || len(se.Lines) != 1 || se.Lines[0].Line != 2 {
				t.Fatalf("Sent with a line not exported: %v", err)
			}
			if got, _ := r.store.Latest(ctx, a.ID); got.Status != letter.Exported {
				t.Fatalf("a refused file changed a letter: %+v", got)
			}
			// The hash of the printed code is unknown here; record a known
			// one as the export does, then dispatch.
			if _, err := db.Exec(ctx, `UPDATE letters SET status = 'ordered' WHERE id = $1`, l.ID); err != nil {
				t.Fatal(err)
			}
			code := r.sendWithCode(t, l.ID, "RA123456785RU")
			// The same file again changes nothing.
			if n, err := r.store.Sent(ctx, []letter.Dispatch{{Line: 1, LetterID: l.ID, Tracking: "RA123456785RU"}}, audit.Actor{Kind: audit.ActorAdmin}); err != nil || n != 0 {
				t.Fatalf("the file again: %d, %v", n, err)
			}
			res, err := r.svc.Enter(ctx, a, "wrong-cde", "")
			if err != nil || res.Confirmed || res.Letter.TriesLeft() != 2 {
				t.Fatalf("a wrong code: %+v %v", res, err)
			}
			res, err = r.svc.Enter(ctx, a, " abcd-efgh ", "192.0.2.1")
			if err != nil || !res.Confirmed || res.Level != assurance.Confirmed {
				t.Fatalf("the right code (typed loosely): %+v %v", res, err)
			}
			evs, err := r.verifier.Evidence(ctx, a.ID)
			var ev *assurance.Evidence
			for i := range evs {
				if evs[i].Method == assurance.MethodLetter {
					ev = &evs[i]
				}
			}
			if err != nil || ev == nil || ev.Document.Number != "RA123456785RU" || ev.Document.Type != letter.DocumentType ||
				ev.Level != assurance.Confirmed || ev.Values["family_name"] != "Иванов" || ev.Verifier.Kind != "system" {
				t.Fatalf("evidence: %+v %v", evs, err)
			}
			if a, err = r.accounts.Get(ctx, a.ID); err != nil || a.Level != assurance.Confirmed {
				t.Fatalf("account after the code: %v %v", a, err)
			}
			if _, err := r.svc.Enter(ctx, a, code, ""); !errors.Is(err, letter.ErrLevel) {
				t.Fatalf("the code again on a confirmed account: %v", err)
			}
			acts := actions(t, r, a.ID)
			for _, want := range []string{audit.ActionLetterOrdered, audit.ActionLetterSent, audit.ActionLetterConfirmed, audit.ActionLevelChanged} {
				if !has(acts, want) {
					t.Errorf("activity log lacks %s: %v", want, acts)
				}
			}
			if len(r.told.kinds) != 1 || r.told.kinds[0] != a.ID+":notice.letter_confirmed" {
				t.Errorf("notices %v", r.told.kinds)
			}
		})

		t.Run("a right code whose confirmation fails keeps its try", func(t *testing.T) {
			a := r.standard(t)
			l, err := r.svc.Order(ctx, a, addr, "")
			if err != nil {
				t.Fatal(err)
			}
			code := r.sendWithCode(t, l.ID, "80085022123469")
			for i := range 2 {
				if res, err := r.svc.Enter(ctx, a, "ZZZZZZZZ", ""); err != nil || res.Letter.TriesLeft() != 2-i {
					t.Fatalf("wrong code %d: %+v %v", i+1, res, err)
				}
			}
			// The last try, the right code, and the database fails while
			// the confirmation is written.
			failing := *r.svc
			failing.Verifier = failVerifier{}
			if _, err := failing.Enter(ctx, a, code, ""); err == nil {
				t.Fatal("a failed confirmation reported no error")
			}
			got, err := r.store.Latest(ctx, a.ID)
			if err != nil || got.Status != letter.Sent || got.TriesLeft() != 1 {
				t.Fatalf("after the failed confirmation: %+v %v (want the letter sent with its last try)", got, err)
			}
			res, err := r.svc.Enter(ctx, a, code, "")
			if err != nil || !res.Confirmed {
				t.Fatalf("the right code again: %+v %v", res, err)
			}
		})

		t.Run("three wrong codes spend it; a new order after 30 days", func(t *testing.T) {
			a := r.standard(t)
			l, err := r.svc.Order(ctx, a, addr, "")
			if err != nil {
				t.Fatal(err)
			}
			code := r.sendWithCode(t, l.ID, "80085022123452")
			for i := range 3 {
				res, err := r.svc.Enter(ctx, a, "ZZZZZZZZ", "")
				if err != nil || res.Confirmed || res.Letter.TriesLeft() != 2-i {
					t.Fatalf("wrong code %d: %+v %v", i+1, res, err)
				}
				if i == 2 && res.Letter.Status != letter.Spent {
					t.Fatalf("after the third wrong code: %s", res.Letter.Status)
				}
			}
			if _, err := r.svc.Enter(ctx, a, code, ""); !errors.Is(err, letter.ErrSpent) {
				t.Fatalf("the right code after three wrong: %v", err)
			}
			if !has(actions(t, r, a.ID), audit.ActionLetterSpent) {
				t.Error("no letter.spent in the activity log")
			}
			if _, err := r.svc.Order(ctx, a, addr, ""); !errors.Is(err, letter.ErrTooSoon) {
				t.Fatalf("a new order within 30 days: %v", err)
			}
			r.clock.Advance(letter.Interval)
			if _, err := r.svc.Order(ctx, a, addr, ""); err != nil {
				t.Fatalf("a new order after 30 days: %v", err)
			}
		})

		t.Run("the code expires 30 days after dispatch", func(t *testing.T) {
			a := r.standard(t)
			l, err := r.svc.Order(ctx, a, addr, "")
			if err != nil {
				t.Fatal(err)
			}
			r.clock.Advance(10 * 24 * time.Hour)
			code := r.sendWithCode(t, l.ID, "RA123456785RU")
			r.clock.Advance(letter.Validity - time.Second)
			if got, _ := r.store.Latest(ctx, a.ID); got.Status != letter.Sent {
				t.Fatalf("a second before expiry: %s", got.Status)
			}
			r.clock.Advance(time.Second)
			if _, err := r.svc.Enter(ctx, a, code, ""); !errors.Is(err, letter.ErrExpired) {
				t.Fatalf("the code after 30 days: %v", err)
			}
			if got, _ := r.store.Latest(ctx, a.ID); got.Status != letter.Expired {
				t.Fatalf("after expiry: %s", got.Status)
			}
		})

		t.Run("simplified accounts cannot order", func(t *testing.T) {
			a, err := r.accounts.Create(ctx, account.New{Name: account.Name{Family: "Упрощённый", Given: "Иван"}, Phone: account.Contact{Value: "+79990000001"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.svc.Order(ctx, a, addr, ""); !errors.Is(err, letter.ErrLevel) {
				t.Fatalf("order at %s: %v", a.Level, err)
			}
		})

		t.Run("racing orders make one letter", func(t *testing.T) {
			a := r.standard(t)
			const n = 8
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { _, errs[i] = r.svc.Order(ctx, a, addr, "") })
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, letter.ErrTooSoon) && !errors.Is(err, letter.ErrOnItsWay):
					t.Errorf("a racing order failed otherwise: %v", err)
				}
			}
			var count int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM letters WHERE account_id = $1`, a.ID).Scan(&count); err != nil {
				t.Fatal(err)
			}
			if ok != 1 || count != 1 {
				t.Fatalf("%d orders succeeded, %d letters stored; want 1 and 1", ok, count)
			}
		})

		t.Run("racing wrong codes get three tries between them", func(t *testing.T) {
			a := r.standard(t)
			l, err := r.svc.Order(ctx, a, addr, "")
			if err != nil {
				t.Fatal(err)
			}
			r.sendWithCode(t, l.ID, "RA123456785RU")
			const n = 8
			var wg sync.WaitGroup
			var mu sync.Mutex
			tried := 0
			for range n {
				wg.Go(func() {
					if res, err := r.svc.Enter(ctx, a, "ZZZZZZZZ", ""); err == nil && !res.Confirmed {
						mu.Lock()
						tried++
						mu.Unlock()
					} else if err != nil && !errors.Is(err, letter.ErrSpent) && !sqldb.IsRetryable(err) {
						t.Errorf("racing try: %v", err)
					}
				})
			}
			wg.Wait()
			got, _ := r.store.Latest(ctx, a.ID)
			if tried > letter.MaxTries || got.Status != letter.Spent || got.Tries != letter.MaxTries {
				t.Fatalf("%d tries counted, letter %s with %d tries", tried, got.Status, got.Tries)
			}
		})

		t.Run("a letter cancelled before dispatch lets the citizen order again", func(t *testing.T) {
			a := r.standard(t)
			l, err := r.svc.Order(ctx, a, addr, "")
			if err != nil {
				t.Fatal(err)
			}
			if err := r.store.Exported(ctx, map[string]string{l.ID: "ABCDEFGH"}); err != nil {
				t.Fatal(err)
			}
			staff := audit.Actor{Kind: audit.ActorAdmin, ID: "test"}
			if err := r.store.Cancel(ctx, l.ID, staff); err != nil {
				t.Fatal(err)
			}
			if got, _ := r.store.Latest(ctx, a.ID); got.Status != letter.Cancelled {
				t.Fatalf("after Cancel: %s", got.Status)
			}
			again, err := r.svc.Order(ctx, a, addr, "")
			if err != nil {
				t.Fatalf("an order after the cancellation: %v", err)
			}
			r.sendWithCode(t, again.ID, "RA123456785RU")
			if err := r.store.Cancel(ctx, again.ID, staff); !errors.Is(err, letter.ErrOnItsWay) {
				t.Fatalf("Cancel of a sent letter: %v", err)
			}
			if err := r.store.Cancel(ctx, "00000000-0000-4000-8000-000000000000", staff); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("Cancel of no letter: %v", err)
			}
			if !has(actions(t, r, a.ID), audit.ActionLetterCancelled) {
				t.Error("no letter.cancelled in the activity log")
			}
		})

		t.Run("a lost commit keeps the files", func(t *testing.T) {
			a := r.standard(t)
			if _, err := r.svc.Order(ctx, a, addr, ""); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			db.SetCommitFault(func() error { return errors.New("acknowledgement lost") })
			_, err := letter.Export(ctx, r.store, dir, "https://id.gosid.example", r.clock.Now())
			db.SetCommitFault(nil)
			if !errors.Is(err, sqldb.ErrCommitUnknown) {
				t.Fatalf("export with a lost commit: %v", err)
			}
			// The export did commit: the printed letters are the only ones.
			if entries, _ := os.ReadDir(dir); len(entries) != 2 {
				t.Errorf("files left: %v, want the PDF and the register", entries)
			}
			if got, _ := r.store.Latest(ctx, a.ID); got.Status != letter.Exported {
				t.Fatalf("after the lost commit: %s", got.Status)
			}
		})

		t.Run("a failed write leaves the letters ordered", func(t *testing.T) {
			a := r.standard(t)
			if _, err := r.svc.Order(ctx, a, addr, ""); err != nil {
				t.Fatal(err)
			}
			missing := filepath.Join(t.TempDir(), "no", "such", "dir")
			if _, err := letter.Export(ctx, r.store, missing, "https://id.gosid.example", r.clock.Now()); err == nil {
				t.Fatal("export into a missing directory succeeded")
			}
			if got, _ := r.store.Latest(ctx, a.ID); got.Status != letter.Ordered {
				t.Fatalf("after a failed export: %s", got.Status)
			}
		})
	})
}

// failVerifier fails as a database that went away would.
type failVerifier struct{}

func (failVerifier) Verify(context.Context, assurance.Verification) (assurance.Outcome, error) {
	return assurance.Outcome{}, sqldb.ErrCommitUnknown
}
