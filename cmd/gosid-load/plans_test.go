package main

import (
	"regexp"
	"strings"
	"testing"
)

// logLineStart is the start of a PostgreSQL log line (the default
// log_line_prefix begins with the time).
var logLineStart = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} `)

// autoExplainPlans reads auto_explain's entries (text format) from a
// PostgreSQL server log and returns the first plan logged for each query,
// keyed by queryKey of its text, without the nodes' Output lines.
func autoExplainPlans(log string) map[string]string {
	plans := map[string]string{}
	var entry []string
	flush := func() {
		defer func() { entry = entry[:0] }()
		var text, plan []string
		inText, inPlan := false, false
		for _, l := range entry {
			t := strings.TrimSpace(l)
			switch {
			case t == "":
			case strings.HasPrefix(t, "Query Text: "):
				inText = true
				text = append(text, strings.TrimPrefix(t, "Query Text: "))
			case !inPlan && strings.Contains(l, "(cost="):
				inText, inPlan = false, true
				plan = append(plan, strings.TrimPrefix(l, "\t"))
			case inText:
				text = append(text, t)
			case inPlan && !strings.HasPrefix(t, "Output: "):
				plan = append(plan, strings.TrimPrefix(l, "\t"))
			}
		}
		key := queryKey(strings.Join(text, " "))
		if _, seen := plans[key]; key != "" && !seen && len(plan) > 0 {
			plans[key] = strings.Join(plan, "\n")
		}
	}
	in := false
	for _, l := range strings.Split(log, "\n") {
		if logLineStart.MatchString(l) {
			if in {
				flush()
			}
			in = strings.Contains(l, "duration: ") && strings.HasSuffix(strings.TrimSpace(l), "plan:")
			continue
		}
		if in {
			entry = append(entry, l)
		}
	}
	if in {
		flush()
	}
	return plans
}

var (
	sqlParam   = regexp.MustCompile(`\$\d+`)
	sqlString  = regexp.MustCompile(`'(?:[^']|'')*'`)
	sqlNumber  = regexp.MustCompile(`\b\d+\b`)
	sqlComment = regexp.MustCompile(`--[^\n]*`)
)

// queryKey is a query's text as both a statement's own text and
// pg_stat_statements' normalised one reduce to: comments gone, parameters
// and constants as ?, whitespace collapsed.
func queryKey(q string) string {
	q = sqlComment.ReplaceAllString(q, " ")
	q = sqlString.ReplaceAllString(q, "?")
	q = sqlParam.ReplaceAllString(q, "?")
	q = sqlNumber.ReplaceAllString(q, "?")
	return strings.Join(strings.Fields(q), " ")
}

func TestAutoExplainPlans(t *testing.T) {
	log := "2026-12-05 01:40:00.100 UTC [10] LOG:  duration: 0.052 ms  plan:\n" +
		"\tQuery Text: SELECT id\n\t  FROM accounts WHERE id = $1\n" +
		"\tIndex Scan using accounts_pkey on public.accounts  (cost=0.42..8.44 rows=1 width=16) (actual rows=1 loops=1)\n" +
		"\t  Output: id\n\t  Index Cond: (accounts.id = $1)\n" +
		"2026-12-05 01:40:00.200 UTC [10] LOG:  checkpoint starting: time\n" +
		"2026-12-05 01:40:00.300 UTC [11] LOG:  duration: 0.060 ms  plan:\n" +
		"\tQuery Text: SELECT id FROM accounts WHERE id = 'x'\n" +
		"\tSeq Scan on public.accounts  (cost=0.00..1.00 rows=1 width=16)\n" +
		"2026-12-05 01:40:00.400 UTC [11] LOG:  duration: 0.070 ms  plan:\n" +
		"\tQuery Text: DELETE FROM sessions WHERE expires_at < $1\n" +
		"\tDelete on public.sessions  (cost=0.29..8.30 rows=0 width=0)\n" +
		"\t  ->  Index Scan using sessions_expires on public.sessions  (cost=0.29..8.30 rows=1 width=6)\n" +
		"\t        Output: ctid\n" +
		""
	plans := autoExplainPlans(log)
	want := map[string]string{
		queryKey("SELECT id FROM accounts WHERE id = $1"):        "Index Scan using accounts_pkey on public.accounts  (cost=0.42..8.44 rows=1 width=16) (actual rows=1 loops=1)\n  Index Cond: (accounts.id = $1)",
		queryKey("DELETE FROM sessions\n WHERE expires_at < 42"): "Delete on public.sessions  (cost=0.29..8.30 rows=0 width=0)\n  ->  Index Scan using sessions_expires on public.sessions  (cost=0.29..8.30 rows=1 width=6)",
	}
	if len(plans) != len(want) {
		t.Fatalf("%d plans, want %d: %v", len(plans), len(want), plans)
	}
	for id, p := range want {
		if plans[id] != p {
			t.Errorf("plan of %q:\n%s\nwant\n%s", id, plans[id], p)
		}
	}
}
