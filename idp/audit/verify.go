package audit

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/gosid/gosid/internal/sqldb"
)

// verifyPage is how many entries Verify reads per query, so that a long log
// is never held in memory at once.
const verifyPage = 1000

// Report is the outcome of Verify: each chain's and the whole log's.
type Report struct {
	Entries int64         `json:"entries"` // entries read, in every chain
	OK      bool          `json:"ok"`      // every chain and its head are intact
	Chains  []ChainReport `json:"chains"`  // every chain found, by number
}

// ChainReport is the outcome of one chain's check.
type ChainReport struct {
	Chain       int    `json:"chain"`
	Entries     int64  `json:"entries"`                // entries read
	OK          bool   `json:"ok"`                     // the chain and its head are intact
	FirstBroken int64  `json:"first_broken,omitempty"` // seq of the first broken entry
	Reason      string `json:"reason,omitempty"`       // what is wrong with it, one sentence
}

// Broken returns the reports of the chains that are not intact.
func (r Report) Broken() []ChainReport {
	var out []ChainReport
	for _, c := range r.Chains {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Verify checks every chain, each in seq order (see the package doc), and
// reports each chain's first broken entry. The chains are those with a
// head or with entries: a row inserted into a chain that has no head is
// reported too. fn, when not nil, sees every entry read, chain by chain,
// in order. An error means the check could not be made (database), not
// that a chain is broken.
func (l *Log) Verify(ctx context.Context, fn func(Entry)) (Report, error) {
	chains, err := l.chains(ctx)
	if err != nil {
		return Report{}, err
	}
	rep := Report{OK: true, Chains: make([]ChainReport, 0, len(chains))}
	for _, c := range chains {
		cr, err := l.verifyChain(ctx, c, fn)
		if err != nil {
			return Report{}, err
		}
		rep.Entries += cr.Entries
		rep.OK = rep.OK && cr.OK
		rep.Chains = append(rep.Chains, cr)
	}
	return rep, nil
}

// chains lists the chains that have a head or entries, ascending.
func (l *Log) chains(ctx context.Context) ([]int, error) {
	rows, err := l.db.Query(ctx, `SELECT id - 1 FROM audit_head UNION SELECT DISTINCT chain FROM audit_log ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("audit: list chains: %w", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var c int
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("audit: list chains: %w", sqldb.Classify(err))
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: list chains: %w", sqldb.Classify(err))
	}
	return out, nil
}

// verifyChain checks one chain and its head.
func (l *Log) verifyChain(ctx context.Context, chain int, fn func(Entry)) (ChainReport, error) {
	start := l.start(chain)
	v := verifier{log: l, fn: fn, chain: chain, cursor: math.MinInt64, next: 1, prev: start}
	v.report.Chain = chain
	var headSeq int64
	var headHash []byte
	for first := true; ; first = false {
		n, err := v.scan(ctx)
		if err != nil {
			return ChainReport{}, err
		}
		last := v.next - 1
		if !first && n == 0 {
			// The head, read after the entries it counts had committed,
			// is still ahead of the log.
			v.broken(last+1, "head says %d entries, log ends at %d (tail deleted?)", headSeq, last)
			break
		}
		err = l.db.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = $1`, headID(chain)).Scan(&headSeq, &headHash)
		if errors.Is(err, sqldb.ErrNotFound) {
			headSeq, headHash, err = 0, start, nil
		}
		if err != nil {
			return ChainReport{}, fmt.Errorf("audit: read head of chain %d: %w", chain, err)
		}
		if headSeq > last {
			// Entries appended since the scan, or a removed tail: read on.
			continue
		}
		switch {
		case headSeq < last:
			v.broken(headSeq+1, "head says %d entries, log goes on to %d (entries inserted or head edited?)", headSeq, last)
		case !hmac.Equal(headHash, v.prev):
			v.broken(max(last, 1), "head hash does not match entry %d (head edited?)", last)
		}
		break
	}
	v.report.OK = v.report.Reason == ""
	return v.report, nil
}

// verifier is the state of one Verify run.
type verifier struct {
	log    *Log
	fn     func(Entry)
	chain  int
	cursor int64  // the highest seq read
	next   int64  // the seq the next entry should have
	prev   []byte // the hash the next entry's prev_hash should be
	report ChainReport
}

// broken records the first break; later ones are consequences or noise.
func (v *verifier) broken(seq int64, format string, args ...any) {
	if v.report.Reason != "" {
		return
	}
	v.report.FirstBroken = seq
	v.report.Reason = fmt.Sprintf(format, args...)
}

// scan checks the entries after the cursor, a page at a time, and returns
// how many it read.
func (v *verifier) scan(ctx context.Context) (int, error) {
	total := 0
	for {
		page, err := v.page(ctx)
		if err != nil {
			return total, err
		}
		for i := range page {
			v.check(&page[i])
		}
		total += len(page)
		if len(page) < verifyPage {
			return total, nil
		}
	}
}

func (v *verifier) page(ctx context.Context) ([]row, error) {
	rows, err := v.log.db.Query(ctx, `SELECT `+columns+` FROM audit_log WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
		v.chain, v.cursor, verifyPage)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()
	page := make([]row, 0, verifyPage)
	for rows.Next() {
		var r row
		if err := r.scan(rows); err != nil {
			return nil, fmt.Errorf("audit: verify: %w", sqldb.Classify(err))
		}
		page = append(page, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: verify: %w", sqldb.Classify(err))
	}
	if len(page) > 0 {
		v.cursor = page[len(page)-1].seq
	}
	return page, nil
}

func (v *verifier) check(r *row) {
	v.report.Entries++
	if v.fn != nil {
		v.fn(r.entry())
	}
	switch {
	case r.seq < v.next:
		// Only seq < 1 gets here: rows come in seq order, without repeats.
		v.broken(r.seq, "entry %d: not a position in the chain, which starts at 1 (inserted?)", r.seq)
		return
	case r.seq == v.next+1:
		v.broken(v.next, "entry %d missing (deleted?)", v.next)
	case r.seq > v.next:
		v.broken(v.next, "entries %d to %d missing (deleted?)", v.next, r.seq-1)
	case !hmac.Equal(r.prevHash, v.prev):
		if r.seq == 1 {
			v.broken(1, "entry 1: prev_hash is not the chain's start")
		} else {
			v.broken(r.seq, "entry %d: prev_hash does not match entry %d", r.seq, r.seq-1)
		}
	}
	want := v.log.sum(r.prevHash, r.seq, r.at, r.accountID, r.actorKind, r.actorID, r.action, r.detail, r.ip)
	if !hmac.Equal(want, r.hash) {
		v.broken(r.seq, "entry %d: hash does not match its content (edited?)", r.seq)
	}
	v.prev = r.hash
	v.next = r.seq + 1
}

// WriteText writes the report for people: one line per chain, then the
// whole log's line, as `gosid audit verify` prints it.
func (r Report) WriteText(w io.Writer) {
	for _, c := range r.Chains {
		if c.OK {
			fmt.Fprintf(w, "chain %d: %s, intact\n", c.Chain, entries(c.Entries))
		} else {
			fmt.Fprintf(w, "chain %d: entry %d is broken: %s\n", c.Chain, c.FirstBroken, c.Reason)
		}
	}
	state := "every chain intact"
	if !r.OK {
		state = fmt.Sprintf("%d broken", len(r.Broken()))
	}
	fmt.Fprintf(w, "audit log: %s in %d chains, %s\n", entries(r.Entries), len(r.Chains), state)
}

// entries counts entries in English.
func entries(n int64) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}
