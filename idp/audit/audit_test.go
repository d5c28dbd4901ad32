package audit_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
		if e1.Seq != 1 || len(e1.PrevHash) != 32 || len(e1.Hash) != 32 || !e1.At.Equal(start) {
			t.Fatalf("first entry %+v: want seq 1, the chain's start as prev_hash, a hash, the clock's time", e1)
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
		// acc-1 and acc-2 are in different chains, each numbered from 1
		// and linked on its own; chain 0 alone starts at zero.
		c1, c2 := audit.ChainOf("acc-1"), audit.ChainOf("acc-2")
		if c1 == c2 || c1 == 0 || c2 == 0 {
			t.Fatalf("chains of acc-1 and acc-2: %d, %d; the test wants two different chains other than 0", c1, c2)
		}
		if e1.Chain != c1 || e2.Chain != c2 || e3.Chain != c1 {
			t.Fatalf("chains %d %d %d, want %d %d %d", e1.Chain, e2.Chain, e3.Chain, c1, c2, c1)
		}
		if e2.Seq != 1 || e3.Seq != 2 || !bytes.Equal(e3.PrevHash, e1.Hash) || len(e2.PrevHash) != 32 ||
			bytes.Equal(e2.PrevHash, make([]byte, 32)) || bytes.Equal(e2.PrevHash, e1.Hash) {
			t.Fatalf("chains: %d %x → %d %x; %d %x", e1.Seq, e1.Hash, e3.Seq, e3.PrevHash, e2.Seq, e2.PrevHash)
		}
		if !e3.At.Equal(at.Truncate(time.Microsecond)) {
			t.Errorf("at %v, want %v (microseconds, as stored)", e3.At, at)
		}

		list, err := l.List(ctx, "acc-1", time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Seq != 2 || list[1].Seq != 1 || list[0].Chain != c1 {
			t.Fatalf("List(acc-1) = %d entries %v, want seq 2, 1 of chain %d", len(list), list, c1)
		}
		got := list[0]
		if got.Actor != operator || got.Action != audit.ActionDocumentsUpdated || got.Detail["office"] != "МФЦ Тверской" ||
			got.IP != "2001:db8::1" || !got.At.Equal(e3.At) || !bytes.Equal(got.Hash, e3.Hash) || !bytes.Equal(got.PrevHash, e1.Hash) || got.Chain != c1 {
			t.Errorf("read back %+v, want %+v", got, e3)
		}
		if list, _ := l.List(ctx, "acc-1", time.Time{}, 1); len(list) != 1 || list[0].Seq != 2 {
			t.Errorf("limit 1: %v", list)
		}
		if list, _ := l.List(ctx, "acc-1", start.Add(time.Second), 0); len(list) != 1 || list[0].Seq != 2 {
			t.Errorf("since: %v", list)
		}
		if list, err := l.List(ctx, "nobody", time.Time{}, 10); err != nil || len(list) != 0 {
			t.Errorf("unknown account: %v, %v", list, err)
		}
		if rep := verify(t, l); !rep.OK || rep.Entries != 3 || len(rep.Chains) != 2 || rep.Chains[0].Chain != min(c1, c2) ||
			rep.Chains[0].Entries+rep.Chains[1].Entries != 3 {
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
		if rep := verify(t, l); !rep.OK || rep.Entries != 0 || len(rep.Chains) != 0 {
			t.Errorf("empty log: %+v", rep)
		}
		seed(t, l, c, db, 7) // acc-1: 4 entries, acc-2: 3, in their chains
		type seen struct {
			chain int
			seq   int64
		}
		var got []seen
		rep, err := l.Verify(context.Background(), func(e audit.Entry) { got = append(got, seen{e.Chain, e.Seq}) })
		if err != nil {
			t.Fatal(err)
		}
		c1, c2 := audit.ChainOf("acc-1"), audit.ChainOf("acc-2")
		var want []seen
		for _, ch := range []struct {
			chain int
			n     int64
		}{{min(c1, c2), map[bool]int64{true: 4, false: 3}[c1 < c2]}, {max(c1, c2), map[bool]int64{true: 3, false: 4}[c1 < c2]}} {
			for seq := int64(1); seq <= ch.n; seq++ {
				want = append(want, seen{ch.chain, seq})
			}
		}
		if !rep.OK || rep.Entries != 7 || len(rep.Chains) != 2 || !slices.Equal(got, want) {
			t.Errorf("report %+v, entries seen %v, want %v", rep, got, want)
		}
		for _, cr := range rep.Chains {
			if !cr.OK || cr.FirstBroken != 0 || cr.Reason != "" {
				t.Errorf("chain %+v", cr)
			}
		}
		// Another key cannot vouch for any chain.
		other := audit.New(db, fakeMAC("another key"), c.Now)
		rep, err = other.Verify(context.Background(), nil)
		if err != nil || rep.OK || len(rep.Broken()) != 2 {
			t.Fatalf("verified under another key: %+v, %v", rep, err)
		}
		for _, cr := range rep.Broken() {
			if cr.FirstBroken != 1 {
				t.Errorf("under another key: %+v", cr)
			}
		}
	})
}

// tamperedChains are the chains TestVerifyTampering edits: chain 0 (entries
// of no account, and the single chain of releases before chains) and an
// account's chain.
var tamperedChains = []struct {
	name    string
	account string
}{{"chain 0", ""}, {"an account's chain", "acc-1"}}

// seedChains appends five entries to the chain of account and five to
// another chain, interleaved, and returns the two chains.
func seedChains(t *testing.T, l *audit.Log, c *sqldbtest.Clock, db *sqldb.DB, account string) (int, int) {
	t.Helper()
	const other = "acc-2"
	if audit.ChainOf(account) == audit.ChainOf(other) {
		t.Fatalf("%q and %q share chain %d", account, other, audit.ChainOf(other))
	}
	for i := range 10 {
		acc, actor := account, audit.Actor{Kind: audit.ActorSystem}
		if i%2 == 1 {
			acc = other
		}
		if acc != "" {
			actor = audit.Actor{Kind: audit.ActorCitizen, ID: acc}
		}
		if _, err := l.Append(context.Background(), db, audit.Entry{AccountID: acc, Actor: actor, Action: audit.ActionContactChanged,
			Detail: map[string]string{"field": "phone", "n": fmt.Sprint(i/2 + 1)}, IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Second)
	}
	return audit.ChainOf(account), audit.ChainOf(other)
}

// TestVerifyTampering edits the table by hand, as someone with database
// access could, in one chain of two, and expects Verify to name the first
// entry touched in that chain and to find the other chain intact. In the
// statements {c} is the tampered chain and {h} its head row.
func TestVerifyTampering(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stmts  []string
		seq    int64
		reason string
	}{
		{"detail edited", []string{`UPDATE audit_log SET detail = '{"field":"email","n":"3"}' WHERE chain = {c} AND seq = 3`}, 3, "entry 3: hash does not match its content (edited?)"},
		{"time edited", []string{`UPDATE audit_log SET at = at - 3600000000 WHERE chain = {c} AND seq = 2`}, 2, "entry 2: hash does not match its content (edited?)"},
		{"actor edited", []string{`UPDATE audit_log SET actor_kind = 'operator', actor_id = 'op-1' WHERE chain = {c} AND seq = 4`}, 4, "entry 4: hash does not match its content (edited?)"},
		{"account edited", []string{`UPDATE audit_log SET account_id = 'acc-9' WHERE chain = {c} AND seq = 1`}, 1, "entry 1: hash does not match its content (edited?)"},
		{"middle deleted", []string{`DELETE FROM audit_log WHERE chain = {c} AND seq = 3`}, 3, "entry 3 missing (deleted?)"},
		{"two deleted", []string{`DELETE FROM audit_log WHERE chain = {c} AND seq IN (2, 3)`}, 2, "entries 2 to 3 missing (deleted?)"},
		{"tail deleted", []string{`DELETE FROM audit_log WHERE chain = {c} AND seq = 5`}, 5, "head says 5 entries, log ends at 4 (tail deleted?)"},
		{"everything deleted", []string{`DELETE FROM audit_log WHERE chain = {c}`}, 1, "head says 5 entries, log ends at 0 (tail deleted?)"},
		{"rows swapped", []string{`UPDATE audit_log SET seq = -2 WHERE chain = {c} AND seq = 2`, `UPDATE audit_log SET seq = 2 WHERE chain = {c} AND seq = 4`,
			`UPDATE audit_log SET seq = 4 WHERE chain = {c} AND seq = -2`}, 2, "entry 2: prev_hash does not match entry 1"},
		{"renumbered after a deletion", []string{`DELETE FROM audit_log WHERE chain = {c} AND seq = 3`, `UPDATE audit_log SET seq = 3 WHERE chain = {c} AND seq = 4`,
			`UPDATE audit_log SET seq = 4 WHERE chain = {c} AND seq = 5`, `UPDATE audit_head SET seq = 4 WHERE id = {h}`}, 3, "entry 3: prev_hash does not match entry 2"},
		{"row before the chain", []string{`INSERT INTO audit_log (chain, seq, at, actor_kind, action, prev_hash, hash)
			SELECT chain, 0, at, actor_kind, action, prev_hash, hash FROM audit_log WHERE chain = {c} AND seq = 1`},
			0, "entry 0: not a position in the chain, which starts at 1 (inserted?)"},
		{"row appended without the head", []string{`INSERT INTO audit_log (chain, seq, at, actor_kind, action, prev_hash, hash)
			SELECT chain, 6, at, actor_kind, action, hash, hash FROM audit_log WHERE chain = {c} AND seq = 5`},
			6, "entry 6: hash does not match its content (edited?)"},
		{"head behind", []string{`UPDATE audit_head SET seq = 4 WHERE id = {h}`}, 5, "head says 4 entries, log goes on to 5 (entries inserted or head edited?)"},
		{"head hash edited", []string{`UPDATE audit_head SET hash = (SELECT prev_hash FROM audit_log WHERE chain = {c} AND seq = 5) WHERE id = {h}`},
			5, "head hash does not match entry 5 (head edited?)"},
		{"head deleted", []string{`DELETE FROM audit_head WHERE id = {h}`}, 1, "head says 0 entries, log goes on to 5 (entries inserted or head edited?)"},
		{"relinked after an edit", []string{
			// The edited row gets a new hash and its successor points at
			// it; without the key the new hash cannot be right.
			`UPDATE audit_log SET ip = '203.0.113.9' WHERE chain = {c} AND seq = 3`,
			`UPDATE audit_log SET hash = prev_hash WHERE chain = {c} AND seq = 3`,
			`UPDATE audit_log SET prev_hash = (SELECT hash FROM audit_log WHERE chain = {c} AND seq = 3) WHERE chain = {c} AND seq = 4`,
		}, 3, "entry 3: hash does not match its content (edited?)"},
	} {
		for _, ch := range tamperedChains {
			t.Run(tc.name+", "+ch.name, func(t *testing.T) {
				sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
					l, c := newLog(t, db)
					tampered, intact := seedChains(t, l, c, db, ch.account)
					if rep := verify(t, l); !rep.OK || rep.Entries != 10 {
						t.Fatalf("untouched: %+v", rep)
					}
					r := strings.NewReplacer("{c}", fmt.Sprint(tampered), "{h}", fmt.Sprint(tampered+1))
					for _, q := range tc.stmts {
						if _, err := db.Exec(context.Background(), r.Replace(q)); err != nil {
							t.Fatalf("%s: %v", q, err)
						}
					}
					rep := verify(t, l)
					want := []audit.ChainReport{{Chain: tampered, FirstBroken: tc.seq, Reason: tc.reason}}
					if broken := rep.Broken(); rep.OK || !slices.EqualFunc(broken, want, sameBreak) {
						t.Errorf("got %+v\nwant chain %d broken at %d: %q", rep, tampered, tc.seq, tc.reason)
					}
					for _, cr := range rep.Chains {
						if cr.Chain == intact && (!cr.OK || cr.Entries != 5) {
							t.Errorf("the untouched chain %d: %+v", intact, cr)
						}
					}
				})
			})
		}
	}
}

func sameBreak(a, b audit.ChainReport) bool {
	return a.Chain == b.Chain && a.FirstBroken == b.FirstBroken && a.Reason == b.Reason
}

// TestVerifyMovedChains: rows moved between chains, or into a chain of
// their own, are found; so is a whole chain renumbered with its head,
// because each chain starts from a value of its own number.
func TestVerifyMovedChains(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stmts []string
		want  func(c1, c2 int) []audit.ChainReport
	}{
		{"last entry moved to the other chain", []string{`UPDATE audit_log SET chain = {c2}, seq = 6 WHERE chain = {c1} AND seq = 5`},
			func(c1, c2 int) []audit.ChainReport {
				return sorted(audit.ChainReport{Chain: c1, FirstBroken: 5, Reason: "head says 5 entries, log ends at 4 (tail deleted?)"},
					audit.ChainReport{Chain: c2, FirstBroken: 6, Reason: "entry 6: prev_hash does not match entry 5"})
			}},
		{"entry copied into a new chain", []string{`INSERT INTO audit_log (chain, seq, at, account_id, actor_kind, actor_id, action, detail, ip, prev_hash, hash)
			SELECT 99, 1, at, account_id, actor_kind, actor_id, action, detail, ip, prev_hash, hash FROM audit_log WHERE chain = {c1} AND seq = 1`},
			func(c1, c2 int) []audit.ChainReport {
				return []audit.ChainReport{{Chain: 99, FirstBroken: 1, Reason: "entry 1: prev_hash is not the chain's start"}}
			}},
		{"chain renumbered with its head", []string{`UPDATE audit_log SET chain = 99 WHERE chain = {c1}`, `UPDATE audit_head SET id = 100 WHERE id = {c1} + 1`},
			func(c1, c2 int) []audit.ChainReport {
				return []audit.ChainReport{{Chain: 99, FirstBroken: 1, Reason: "entry 1: prev_hash is not the chain's start"}}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
				l, c := newLog(t, db)
				c1, c2 := seedChains(t, l, c, db, "acc-1")
				r := strings.NewReplacer("{c1}", fmt.Sprint(c1), "{c2}", fmt.Sprint(c2))
				for _, q := range tc.stmts {
					if _, err := db.Exec(context.Background(), r.Replace(q)); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
				rep := verify(t, l)
				if want := tc.want(c1, c2); rep.OK || !slices.EqualFunc(rep.Broken(), want, sameBreak) {
					t.Errorf("got %+v\nwant broken %+v", rep, want)
				}
			})
		})
	}
}

func sorted(rs ...audit.ChainReport) []audit.ChainReport {
	slices.SortFunc(rs, func(a, b audit.ChainReport) int { return a.Chain - b.Chain })
	return rs
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

// TestConcurrentAppends: appenders racing for the heads make contiguous
// chains (FOR UPDATE on PostgreSQL, exclusive writers and busy retries on
// SQLite): single entries of 8 accounts, and transactions writing entries
// of three accounts in different orders with AppendAll, which must not
// deadlock (its heads are locked in ascending order) and must keep each
// transaction's entries together or not at all.
func TestConcurrentAppends(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		l, _ := newLog(t, db)
		const workers, each = 8, 25
		// acc-0, acc-1, acc-3: chains 15, 12, 2; each AppendAll below
		// names them in another order.
		triples := [][]string{{"acc-0", "acc-1", "acc-3"}, {"acc-3", "acc-1", "acc-0"}, {"acc-1", "acc-3", "acc-0"}, {"acc-3", "acc-0", "acc-1"}}
		var wg sync.WaitGroup
		var runs atomic.Int64 // of the AppendAll transactions, retries included
		errs := make(chan error, 2*workers*each)
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
			wg.Go(func() {
				for i := range each {
					var batch []audit.Entry
					for _, acc := range triples[(w+i)%len(triples)] {
						batch = append(batch, audit.Entry{AccountID: acc, Actor: audit.Actor{Kind: audit.ActorSystem, ID: "assurance"},
							Action: audit.ActionSNILSClaimDropped, Detail: map[string]string{"w": fmt.Sprint(w), "i": fmt.Sprint(i)}})
					}
					err := db.InTx(ctx, func(tx *sqldb.Tx) error {
						runs.Add(1)
						out, err := l.AppendAll(ctx, tx, batch)
						if err == nil && (len(out) != 3 || out[0].AccountID != batch[0].AccountID || out[2].AccountID != batch[2].AccountID) {
							err = fmt.Errorf("AppendAll returned %+v for %+v", out, batch)
						}
						return err
					})
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
		// On PostgreSQL the heads' row locks are all there is to wait for:
		// a transaction run again was a deadlock (40P01) that InTx hid.
		// (Under GOSID_TEST_PG_SERIALIZABLE=1 serialization failures are
		// run again too, by design.)
		if db.Dialect() == sqldb.Postgres && !sqldbtest.Serializable() && runs.Load() != workers*each {
			t.Errorf("%d runs of %d AppendAll transactions: deadlocks", runs.Load(), workers*each)
		}
		rep := verify(t, l)
		if !rep.OK || rep.Entries != 4*workers*each {
			t.Errorf("after %d concurrent appends: %+v", 4*workers*each, rep)
		}
		chains := map[int]bool{}
		for _, cr := range rep.Chains {
			chains[cr.Chain] = true
			if !cr.OK {
				t.Errorf("chain %+v", cr)
			}
		}
		for w := range workers {
			acc := fmt.Sprintf("acc-%d", w)
			want := each
			if acc == "acc-0" || acc == "acc-1" || acc == "acc-3" {
				want += workers * each
			}
			if list, err := l.List(ctx, acc, time.Time{}, 0); err != nil || len(list) != want {
				t.Errorf("%s: %d entries, want %d, %v", acc, len(list), want, err)
			}
			if !chains[audit.ChainOf(acc)] {
				t.Errorf("%s's chain %d not verified: %+v", acc, audit.ChainOf(acc), rep.Chains)
			}
		}
	})
}

// TestAppendAll: entries of several accounts in one call, each in its
// account's chain, in the order given within a chain; an invalid entry
// appends none.
func TestAppendAll(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		l, _ := newLog(t, db)
		sys := audit.Actor{Kind: audit.ActorSystem}
		out, err := l.AppendAll(ctx, db, []audit.Entry{
			{AccountID: "acc-1", Actor: citizen, Action: audit.ActionSNILSVerified},
			{AccountID: "acc-2", Actor: sys, Action: audit.ActionSNILSClaimDropped},
			{AccountID: "acc-1", Actor: citizen, Action: audit.ActionLevelChanged},
			{Actor: sys, Action: audit.ActionSettingsChanged},
		})
		if err != nil {
			t.Fatal(err)
		}
		c1, c2 := audit.ChainOf("acc-1"), audit.ChainOf("acc-2")
		if len(out) != 4 || out[0].Chain != c1 || out[0].Seq != 1 || out[1].Chain != c2 || out[1].Seq != 1 ||
			out[2].Chain != c1 || out[2].Seq != 2 || !bytes.Equal(out[2].PrevHash, out[0].Hash) || out[3].Chain != 0 || out[3].Seq != 1 ||
			out[2].Action != audit.ActionLevelChanged {
			t.Fatalf("AppendAll: %+v", out)
		}
		if rep := verify(t, l); !rep.OK || rep.Entries != 4 || len(rep.Chains) != 3 {
			t.Errorf("verify: %+v", rep)
		}
		if _, err := l.AppendAll(ctx, db, []audit.Entry{{AccountID: "acc-1", Actor: citizen, Action: audit.ActionLevelChanged}, {AccountID: "acc-2", Actor: citizen}}); !errors.Is(err, audit.ErrInvalid) {
			t.Errorf("a batch with an invalid entry: %v, want ErrInvalid", err)
		}
		if rep := verify(t, l); !rep.OK || rep.Entries != 4 {
			t.Errorf("after the invalid batch: %+v", rep)
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
	if rep := verify(t, l); rep.OK || len(rep.Chains) != 1 || rep.Chains[0].FirstBroken != 2001 || rep.Entries != 2500 {
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

// oldAppend appends e as releases before chains did, statement for
// statement: one head (row 1), rows without a chain, the hash as the
// package doc specifies it (computed here independently of the package).
// It is how a database created by those releases holds its log, and how
// their replicas still append during a rolling upgrade.
func oldAppend(t *testing.T, db *sqldb.DB, at time.Time, accountID, action, detail string) {
	t.Helper()
	ctx := context.Background()
	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		lock := `SELECT seq, hash FROM audit_head WHERE id = 1`
		if tx.Dialect() == sqldb.Postgres {
			lock += ` FOR UPDATE`
		}
		var seq int64
		var prev []byte
		err := tx.QueryRow(ctx, lock).Scan(&seq, &prev)
		if errors.Is(err, sqldb.ErrNotFound) {
			if _, err := tx.Exec(ctx, `INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, $1) ON CONFLICT (id) DO NOTHING`, make([]byte, 32)); err != nil {
				return err
			}
			err = tx.QueryRow(ctx, lock).Scan(&seq, &prev)
		}
		if err != nil {
			return err
		}
		seq++
		micros := at.UnixMicro()
		field := func(m, x []byte) []byte { return append(binary.BigEndian.AppendUint32(m, uint32(len(x))), x...) }
		m := field([]byte{0x01}, prev)
		m = field(m, binary.BigEndian.AppendUint64(nil, uint64(seq)))
		m = field(m, binary.BigEndian.AppendUint64(nil, uint64(micros)))
		for _, s := range []string{accountID, audit.ActorSystem, "", action, detail, ""} {
			m = field(m, []byte(s))
		}
		hash := testKey.BlindIndex("audit", string(m))
		if _, err := tx.Exec(ctx, `INSERT INTO audit_log (seq, at, account_id, actor_kind, actor_id, action, detail, ip, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, seq, micros, accountID, audit.ActorSystem, "", action, detail, "", prev, hash); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, seq, hash)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestChainFromBeforeChains: the single chain of releases before chains
// (migration 0017 gives its rows chain 0 and keeps its head, row 1; the
// upgrade test in migrations/ checks that the rows are left as they were)
// verifies as chain 0; new entries go to their accounts' chains, chain 0's
// continuing from its old head; a replica of the old release appending
// during a rolling upgrade extends chain 0 correctly; an account's history
// reads across the chains in time order; an edited old entry is found in
// chain 0.
func TestChainFromBeforeChains(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		l, c := newLog(t, db)
		if audit.ChainOf("acc-5") != 0 || audit.ChainOf("acc-1") == 0 {
			t.Fatalf("chains of acc-5 and acc-1: %d, %d; the test wants 0 and another", audit.ChainOf("acc-5"), audit.ChainOf("acc-1"))
		}
		for i, acc := range []string{"acc-1", "acc-5", "", "acc-1", "acc-2", "acc-1"} {
			oldAppend(t, db, start.Add(time.Duration(i)*time.Minute), acc, audit.ActionSettingsChanged, fmt.Sprintf(`{"n":"%d"}`, i+1))
		}
		rep := verify(t, l)
		if !rep.OK || rep.Entries != 6 || len(rep.Chains) != 1 || rep.Chains[0] != (audit.ChainReport{Chain: 0, Entries: 6, OK: true}) {
			t.Fatalf("the old chain: %+v", rep)
		}

		c.Set(start.Add(time.Hour))
		for _, acc := range []string{"acc-1", "acc-5", "acc-2"} {
			if _, err := l.Append(ctx, db, audit.Entry{AccountID: acc, Actor: citizen, Action: audit.ActionPasswordChanged}); err != nil {
				t.Fatal(err)
			}
			c.Advance(time.Minute)
		}
		// A replica of the old release appends during the rolling upgrade.
		oldAppend(t, db, c.Now(), "acc-1", audit.ActionSessionEnded, "")
		c.Advance(time.Minute)
		e, err := l.Append(ctx, db, audit.Entry{AccountID: "acc-5", Actor: citizen, Action: audit.ActionMFAEnabled})
		if err != nil {
			t.Fatal(err)
		}
		if e.Chain != 0 || e.Seq != 9 {
			t.Errorf("acc-5's entry after the old replica's: chain %d seq %d, want chain 0 seq 9", e.Chain, e.Seq)
		}
		rep = verify(t, l)
		want := sorted(audit.ChainReport{Chain: 0, Entries: 9, OK: true}, audit.ChainReport{Chain: audit.ChainOf("acc-1"), Entries: 1, OK: true},
			audit.ChainReport{Chain: audit.ChainOf("acc-2"), Entries: 1, OK: true})
		if !rep.OK || rep.Entries != 11 || !slices.Equal(rep.Chains, want) {
			t.Fatalf("after new appends: %+v\nwant %+v", rep, want)
		}

		list, err := l.List(ctx, "acc-1", time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range list {
			got = append(got, fmt.Sprintf("%d/%d %s", e.Chain, e.Seq, e.Action))
		}
		c1 := audit.ChainOf("acc-1")
		if want := []string{"0/8 session.ended", fmt.Sprintf("%d/1 password.changed", c1), "0/6 settings.changed", "0/4 settings.changed",
			"0/1 settings.changed"}; !slices.Equal(got, want) {
			t.Errorf("acc-1's history: %v, want %v", got, want)
		}
		for i := 1; i < len(list); i++ {
			if list[i].At.After(list[i-1].At) {
				t.Errorf("history out of time order at %d: %v", i, got)
			}
		}

		if _, err := db.Exec(ctx, `UPDATE audit_log SET detail = '{"n":"9"}' WHERE chain = 0 AND seq = 2`); err != nil {
			t.Fatal(err)
		}
		rep = verify(t, l)
		if broken := rep.Broken(); rep.OK || len(broken) != 1 || broken[0].Chain != 0 || broken[0].FirstBroken != 2 {
			t.Errorf("an old entry edited: %+v", rep)
		}
	})
}

// TestReplicasTakeTurns: two replicas (two Logs on one database) append to
// the same chain in turn, each after the other moved its head, once after
// its own append was rolled back and the other appended at the same seq;
// every entry lands once, linked to the one before.
func TestReplicasTakeTurns(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		a, _ := newLog(t, db)
		b, _ := newLog(t, db)
		var last audit.Entry
		for i := range 6 {
			l := []*audit.Log{a, b}[i%2]
			if i == 3 {
				l := []*audit.Log{a, b}[(i+1)%2]
				errBoom := errors.New("boom")
				err := db.InTx(ctx, func(tx *sqldb.Tx) error {
					if _, err := l.Append(ctx, tx, audit.Entry{AccountID: "acc-1", Actor: citizen, Action: audit.ActionPasswordChanged}); err != nil {
						return err
					}
					return errBoom
				})
				if !errors.Is(err, errBoom) {
					t.Fatal(err)
				}
			}
			e, err := l.Append(ctx, db, audit.Entry{AccountID: "acc-1", Actor: citizen, Action: audit.ActionSessionEnded, Detail: map[string]string{"i": fmt.Sprint(i)}})
			if err != nil {
				t.Fatal(err)
			}
			if e.Seq != int64(i+1) || (i > 0 && !bytes.Equal(e.PrevHash, last.Hash)) {
				t.Fatalf("append %d: seq %d, prev %x; want seq %d after %x", i, e.Seq, e.PrevHash, i+1, last.Hash)
			}
			last = e
		}
		if rep := verify(t, a); !rep.OK || rep.Entries != 6 {
			t.Errorf("verify: %+v", rep)
		}
	})
}

// BenchmarkVerifyLarge: `gosid audit verify`'s work over GOSID_AUDIT_ENTRIES
// entries (say 10000000) on PostgreSQL, spread over 100,000 accounts and
// so over every chain, written by 4 writers in transactions of 1,000.
// Reported: entries/s written and verified, and the verification's
// seconds. Run: GOSID_AUDIT_ENTRIES=10000000 go test -run '^$' -bench
// VerifyLarge -benchtime 1x -timeout 2h ./idp/audit
func BenchmarkVerifyLarge(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("GOSID_AUDIT_ENTRIES"))
	if n <= 0 {
		b.Skip("GOSID_AUDIT_ENTRIES=N fills the log with N entries first")
	}
	db := sqldbtest.Postgres(b)
	l := audit.New(db, testKey, time.Now)
	ctx := context.Background()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				first := int(next.Add(1000)) - 1000
				if first >= n {
					return
				}
				batch := make([]audit.Entry, 0, 1000)
				for i := first; i < min(first+1000, n); i++ {
					batch = append(batch, audit.Entry{AccountID: fmt.Sprintf("acc-%d", i%100000), Actor: citizen, Action: audit.ActionSessionEnded,
						Detail: map[string]string{"i": strconv.Itoa(i)}, IP: "192.0.2.1"})
				}
				if err := db.InTx(ctx, func(tx *sqldb.Tx) error { _, err := l.AppendAll(ctx, tx, batch); return err }); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	written := time.Since(start)
	b.ResetTimer()
	var took time.Duration
	for b.Loop() {
		vstart := time.Now()
		rep, err := l.Verify(ctx, nil)
		took = time.Since(vstart)
		if err != nil || !rep.OK || rep.Entries != int64(n) {
			b.Fatalf("verify: %+v %v", rep, err)
		}
	}
	b.ReportMetric(float64(n)/written.Seconds(), "written/s")
	b.ReportMetric(float64(n)/took.Seconds(), "verified/s")
	b.ReportMetric(took.Seconds(), "verify_s")
}
