package audit_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// fakeMAC is keys.Manager's BlindIndex with a fixed key.
type fakeMAC []byte

func (k fakeMAC) BlindIndex(domain, value string) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(domain))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}

var (
	testKey  = fakeMAC("audit test key, thirty-two bytes")
	start    = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	citizen  = audit.Actor{Kind: audit.ActorCitizen, ID: "acc-1"}
	operator = audit.Actor{Kind: audit.ActorOperator, ID: "op-7"}
)

func newLog(t testing.TB, db *sqldb.DB) (*audit.Log, *sqldbtest.Clock) {
	c := sqldbtest.NewClock(start)
	return audit.New(db, testKey, c.Now), c
}

// seed appends n entries a second apart, alternating between two accounts.
func seed(t testing.TB, l *audit.Log, c *sqldbtest.Clock, db *sqldb.DB, n int) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for i := range n {
		acc := []string{"acc-1", "acc-2"}[i%2]
		e, err := l.Append(context.Background(), db, audit.Entry{AccountID: acc, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: acc},
			Action: audit.ActionContactChanged, Detail: map[string]string{"field": "phone", "n": fmt.Sprint(i + 1)}, IP: "192.0.2.1"})
		if err != nil {
			t.Fatalf("append %d: %v", i+1, err)
		}
		out = append(out, e)
		c.Advance(time.Second)
	}
	return out
}

func verify(t *testing.T, l *audit.Log) audit.Report {
	t.Helper()
	rep, err := l.Verify(context.Background(), nil)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

func TestAppendList(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		l, c := newLog(t, db)
		e1, err := l.Append(ctx, db, audit.Entry{AccountID: "acc-1", Actor: citizen, Action: audit.ActionPasswordChanged, IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		if e1.Seq != 1 || !bytes.Equal(e1.PrevHash, make([]byte, 32)) || len(e1.Hash) != 32 || !e1.At.Equal(start) {
			t.Fatalf("first entry %+v: want seq 1, zero prev_hash, a hash, the clock's time", e1)
		}
		c.Advance(time.Minute)
		e2, err := l.Append(ctx, db, audit.Entry{AccountID: "acc-2", Actor: citizen, Action: audit.ActionMFAEnabled})
		if err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Minute)
		at := start.Add(time.Hour).Add(123456789 * time.Nanosecond)
		e3, err := l.Append(ctx, db, audit.Entry{At: at, AccountID: "acc-1", Actor: operator, Action: audit.ActionDocumentsUpdated,
			Detail: map[string]string{"fields": "passport", "office": "МФЦ Тверской"}, IP: "2001:db8::1"})
		if err != nil {
			t.Fatal(err)
		}
		if e2.Seq != 2 || e3.Seq != 3 || !bytes.Equal(e2.PrevHash, e1.Hash) || !bytes.Equal(e3.PrevHash, e2.Hash) {
			t.Fatalf("chain: %d %x → %d %x → %d %x", e1.Seq, e1.Hash, e2.Seq, e2.PrevHash, e3.Seq, e3.PrevHash)
		}
		if !e3.At.Equal(at.Truncate(time.Microsecond)) {
			t.Errorf("at %v, want %v (microseconds, as stored)", e3.At, at)
		}

		list, err := l.List(ctx, "acc-1", time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Seq != 3 || list[1].Seq != 1 {
			t.Fatalf("List(acc-1) = %d entries %v, want 3, 1", len(list), list)
		}
		got := list[0]
		if got.Actor != operator || got.Action != audit.ActionDocumentsUpdated || got.Detail["office"] != "МФЦ Тверской" ||
			got.IP != "2001:db8::1" || !got.At.Equal(e3.At) || !bytes.Equal(got.Hash, e3.Hash) || !bytes.Equal(got.PrevHash, e2.Hash) {
			t.Errorf("read back %+v, want %+v", got, e3)
		}
		if list, _ := l.List(ctx, "acc-1", time.Time{}, 1); len(list) != 1 || list[0].Seq != 3 {
			t.Errorf("limit 1: %v", list)
		}
		if list, _ := l.List(ctx, "acc-1", start.Add(time.Second), 0); len(list) != 1 || list[0].Seq != 3 {
			t.Errorf("since: %v", list)
		}
		if list, err := l.List(ctx, "nobody", time.Time{}, 10); err != nil || len(list) != 0 {
			t.Errorf("unknown account: %v, %v", list, err)
		}
		if rep := verify(t, l); !rep.OK || rep.Entries != 3 {
			t.Errorf("verify: %+v", rep)
		}
	})
}

func TestAppendValidates(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		l, _ := newLog(t, db)
		for name, e := range map[string]audit.Entry{
			"no action":       {Actor: citizen},
			"odd action":      {Actor: citizen, Action: "Profile Updated"},
			"no actor":        {Action: audit.ActionProfileUpdated},
			"unknown actor":   {Actor: audit.Actor{Kind: "hacker"}, Action: audit.ActionProfileUpdated},
			"odd detail key":  {Actor: citizen, Action: audit.ActionProfileUpdated, Detail: map[string]string{"a=b; c": "x"}},
			"too many fields": {Actor: citizen, Action: audit.ActionProfileUpdated, Detail: manyFields(33)},
		} {
			if _, err := l.Append(ctx, db, e); !errors.Is(err, audit.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		long := strings.Repeat("я", 200)
		e, err := l.Append(ctx, db, audit.Entry{AccountID: "acc-1", Actor: audit.Actor{Kind: audit.ActorBank, ID: "bank\x00" + long},
			Action: audit.ActionLevelChanged, Detail: map[string]string{"to": long + "\xff"}, IP: strings.Repeat("1", 100)})
		if err != nil {
			t.Fatal(err)
		}
		list, err := l.List(ctx, "acc-1", time.Time{}, 0)
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v %v", list, err)
		}
		got := list[0]
		if len(got.IP) != 64 || len(got.Actor.ID) > 128 || strings.ContainsRune(got.Actor.ID, 0) || len(got.Detail["to"]) > 256 ||
			!strings.HasPrefix(got.Actor.ID, "bank ") || got.Detail["to"] != e.Detail["to"] {
			t.Errorf("not trimmed: %+v", got)
		}
		if rep := verify(t, l); !rep.OK || rep.Entries != 1 {
			t.Errorf("verify: %+v", rep)
		}
	})
}

func manyFields(n int) map[string]string {
	d := map[string]string{}
	for i := range n {
		d[fmt.Sprintf("f%d", i)] = "x"
	}
	return d
}

func TestVerifyIntact(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		l, c := newLog(t, db)
		if rep := verify(t, l); !rep.OK || rep.Entries != 0 || rep.FirstBroken != 0 || rep.Reason != "" {
			t.Errorf("empty log: %+v", rep)
		}
		want := seed(t, l, c, db, 7)
		var seen []int64
		rep, err := l.Verify(context.Background(), func(e audit.Entry) { seen = append(seen, e.Seq) })
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK || rep.Entries != 7 || len(seen) != 7 || seen[0] != 1 || seen[6] != want[6].Seq {
			t.Errorf("report %+v, entries seen %v", rep, seen)
		}
		// Another key cannot vouch for the chain.
		other := audit.New(db, fakeMAC("another key"), c.Now)
		if rep, _ := other.Verify(context.Background(), nil); rep.OK || rep.FirstBroken != 1 {
			t.Errorf("verified under another key: %+v", rep)
		}
	})
}

// TestVerifyTampering edits the table by hand, as someone with database
// access could, and expects Verify to name the first entry touched.
func TestVerifyTampering(t *testing.T) {
	exec := func(stmts ...string) func(t *testing.T, db *sqldb.DB) {
		return func(t *testing.T, db *sqldb.DB) {
			for _, s := range stmts {
				if _, err := db.Exec(context.Background(), s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
		}
	}
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, db *sqldb.DB)
		seq    int64
		reason string
	}{
		{"detail edited", exec(`UPDATE audit_log SET detail = '{"field":"email","n":"3"}' WHERE seq = 3`), 3, "entry 3: hash does not match its content (edited?)"},
		{"time edited", exec(`UPDATE audit_log SET at = at - 3600000000 WHERE seq = 2`), 2, "entry 2: hash does not match its content (edited?)"},
		{"actor edited", exec(`UPDATE audit_log SET actor_kind = 'operator', actor_id = 'op-1' WHERE seq = 4`), 4, "entry 4: hash does not match its content (edited?)"},
		{"account edited", exec(`UPDATE audit_log SET account_id = 'acc-9' WHERE seq = 1`), 1, "entry 1: hash does not match its content (edited?)"},
		{"middle deleted", exec(`DELETE FROM audit_log WHERE seq = 3`), 3, "entry 3 missing (deleted?)"},
		{"two deleted", exec(`DELETE FROM audit_log WHERE seq IN (2, 3)`), 2, "entries 2 to 3 missing (deleted?)"},
		{"tail deleted", exec(`DELETE FROM audit_log WHERE seq = 5`), 5, "head says 5 entries, log ends at 4 (tail deleted?)"},
		{"everything deleted", exec(`DELETE FROM audit_log`), 1, "head says 5 entries, log ends at 0 (tail deleted?)"},
		{"rows swapped", exec(`UPDATE audit_log SET seq = -2 WHERE seq = 2`, `UPDATE audit_log SET seq = 2 WHERE seq = 4`, `UPDATE audit_log SET seq = 4 WHERE seq = -2`),
			2, "entry 2: prev_hash does not match entry 1"},
		{"renumbered after a deletion", exec(`DELETE FROM audit_log WHERE seq = 3`, `UPDATE audit_log SET seq = 3 WHERE seq = 4`,
			`UPDATE audit_log SET seq = 4 WHERE seq = 5`, `UPDATE audit_head SET seq = 4`), 3, "entry 3: prev_hash does not match entry 2"},
		{"row before the chain", exec(`INSERT INTO audit_log (seq, at, actor_kind, action, prev_hash, hash) SELECT 0, at, actor_kind, action, prev_hash, hash FROM audit_log WHERE seq = 1`),
			0, "entry 0: not a position in the chain, which starts at 1 (inserted?)"},
		{"row appended without the head", exec(`INSERT INTO audit_log (seq, at, actor_kind, action, prev_hash, hash) SELECT 6, at, actor_kind, action, hash, hash FROM audit_log WHERE seq = 5`),
			6, "entry 6: hash does not match its content (edited?)"},
		{"head behind", exec(`UPDATE audit_head SET seq = 4`), 5, "head says 4 entries, log goes on to 5 (entries inserted or head edited?)"},
		{"head hash edited", exec(`UPDATE audit_head SET hash = (SELECT prev_hash FROM audit_log WHERE seq = 5)`), 5, "head hash does not match entry 5 (head edited?)"},
		{"relinked after an edit", func(t *testing.T, db *sqldb.DB) {
			// The edited row gets a new hash and its successor points at
			// it; without the key the new hash cannot be right.
			ctx := context.Background()
			fake := bytes.Repeat([]byte{7}, 32)
			exec(`UPDATE audit_log SET ip = '203.0.113.9' WHERE seq = 3`)(t, db)
			if _, err := db.Exec(ctx, `UPDATE audit_log SET hash = $1 WHERE seq = 3`, fake); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(ctx, `UPDATE audit_log SET prev_hash = $1 WHERE seq = 4`, fake); err != nil {
				t.Fatal(err)
			}
		}, 3, "entry 3: hash does not match its content (edited?)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
				l, c := newLog(t, db)
				seed(t, l, c, db, 5)
				if rep := verify(t, l); !rep.OK {
					t.Fatalf("untouched: %+v", rep)
				}
				tc.tamper(t, db)
				rep := verify(t, l)
				if rep.OK || rep.FirstBroken != tc.seq || rep.Reason != tc.reason {
					t.Errorf("got %+v\nwant first broken %d: %q", rep, tc.seq, tc.reason)
				}
			})
		})
	}
}

// TestAppendInCallersTransaction: the entry commits with the caller's
// change, or neither does.
func TestAppendInCallersTransaction(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		l, c := newLog(t, db)
		seed(t, l, c, db, 1)
		errBoom := errors.New("boom")
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			e, err := l.Append(ctx, tx, audit.Entry{AccountID: "acc-1", Actor: citizen, Action: audit.ActionPasswordChanged})
			if err != nil {
				return err
			}
			if e.Seq != 2 {
				t.Errorf("seq %d in the transaction, want 2", e.Seq)
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("InTx: %v", err)
		}
		if rep := verify(t, l); !rep.OK || rep.Entries != 1 {
			t.Errorf("after rollback: %+v", rep)
		}
		var seqs []int64
		err = db.InTx(ctx, func(tx *sqldb.Tx) error {
			seqs = seqs[:0]
			for _, a := range []string{audit.ActionPasswordChanged, audit.ActionSessionEnded} {
				e, err := l.Append(ctx, tx, audit.Entry{AccountID: "acc-1", Actor: citizen, Action: a})
				if err != nil {
					return err
				}
				seqs = append(seqs, e.Seq)
			}
			return nil
		})
		if err != nil || len(seqs) != 2 || seqs[0] != 2 || seqs[1] != 3 {
			t.Errorf("two appends in one transaction: %v, %v", seqs, err)
		}
		if rep := verify(t, l); !rep.OK || rep.Entries != 3 {
			t.Errorf("after commit: %+v", rep)
		}
	})
}

// TestConcurrentAppends: appenders racing for the head make one
// contiguous chain (FOR UPDATE on PostgreSQL, exclusive writers and busy
// retries on SQLite).
func TestConcurrentAppends(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		l, _ := newLog(t, db)
		const workers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					_, err := l.Append(ctx, db, audit.Entry{AccountID: fmt.Sprintf("acc-%d", w), Actor: citizen,
						Action: audit.ActionSettingsChanged, Detail: map[string]string{"i": fmt.Sprint(i)}})
					if err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if rep := verify(t, l); !rep.OK || rep.Entries != workers*each {
			t.Errorf("after %d concurrent appends: %+v", workers*each, rep)
		}
		for w := range workers {
			if list, err := l.List(ctx, fmt.Sprintf("acc-%d", w), time.Time{}, 0); err != nil || len(list) != each {
				t.Errorf("worker %d: %d entries, %v", w, len(list), err)
			}
		}
	})
}

// TestVerifyWhileAppending: entries committed while Verify reads (the
// head running ahead of what it has read) are no reason to report a break.
func TestVerifyWhileAppending(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		l, _ := newLog(t, db)
		done := make(chan error, 1)
		go func() {
			for i := range 150 {
				if _, err := l.Append(ctx, db, audit.Entry{AccountID: "acc-1", Actor: citizen, Action: audit.ActionSessionEnded,
					Detail: map[string]string{"i": fmt.Sprint(i)}}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		for runs := 0; ; runs++ {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				if rep := verify(t, l); !rep.OK || rep.Entries != 150 {
					t.Errorf("at the end: %+v", rep)
				}
				t.Logf("%d verifications during the appends", runs)
				return
			default:
			}
			if rep := verify(t, l); !rep.OK {
				t.Fatalf("during appends: %+v", rep)
			}
		}
	})
}

// TestVerifyPages crosses Verify's page size.
func TestVerifyPages(t *testing.T) {
	db := sqldbtest.SQLite(t)
	l, _ := newLog(t, db)
	appendMany(t, l, db, 2500)
	if rep := verify(t, l); !rep.OK || rep.Entries != 2500 {
		t.Errorf("%+v", rep)
	}
	if _, err := db.Exec(context.Background(), `UPDATE audit_log SET action = 'grant.given' WHERE seq = 2001`); err != nil {
		t.Fatal(err)
	}
	if rep := verify(t, l); rep.OK || rep.FirstBroken != 2001 || rep.Entries != 2500 {
		t.Errorf("%+v", rep)
	}
}

// appendMany appends n entries, a thousand per transaction.
func appendMany(t testing.TB, l *audit.Log, db *sqldb.DB, n int) {
	t.Helper()
	ctx := context.Background()
	for done := 0; done < n; {
		batch := min(1000, n-done)
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			for i := range batch {
				if _, err := l.Append(ctx, tx, audit.Entry{AccountID: "acc-1", Actor: citizen, Action: audit.ActionSessionEnded,
					Detail: map[string]string{"i": fmt.Sprint(done + i)}, IP: "192.0.2.1"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		done += batch
	}
}

func BenchmarkAppend(b *testing.B) {
	db := sqldbtest.SQLite(b)
	l := audit.New(db, testKey, time.Now)
	ctx := context.Background()
	e := audit.Entry{AccountID: "acc-1", Actor: citizen, Action: audit.ActionContactChanged, Detail: map[string]string{"field": "phone"}, IP: "192.0.2.1"}
	for b.Loop() {
		if _, err := l.Append(ctx, db, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

func BenchmarkVerify(b *testing.B) {
	const n = 20000
	db := sqldbtest.SQLite(b)
	l := audit.New(db, testKey, time.Now)
	appendMany(b, l, db, n)
	for b.Loop() {
		rep, err := l.Verify(context.Background(), nil)
		if err != nil || !rep.OK {
			b.Fatal(rep, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
