package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

// The operator's files these tests keep honest: the Prometheus alert
// rules, the Grafana dashboard and the runbook they point at.
var (
	opsAlertsFile    = filepath.Join("..", "..", "docs", "ops", "alerts.yml")
	opsDashboardFile = filepath.Join("..", "..", "docs", "ops", "dashboard.json")
	opsRunbookFile   = filepath.Join("..", "..", "docs", "operations.md")
	// opsAlertsTestFile holds promtool's unit tests of the rules.
	opsAlertsTestFile = filepath.Join("..", "..", "docs", "ops", "alerts_test.yml")
)

// opsAlertRules is the part of a Prometheus rule file the tests read;
// decoding is strict, so a misspelt key ("anotations") fails too.
type opsAlertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func readAlertRules(t *testing.T) opsAlertRules {
	t.Helper()
	raw, err := os.ReadFile(opsAlertsFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var rules opsAlertRules
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("%s: %v", opsAlertsFile, err)
	}
	return rules
}

// opsDashboard is the part of a Grafana dashboard the tests read.
type opsDashboard struct {
	SchemaVersion int        `json:"schemaVersion"`
	Title         string     `json:"title"`
	UID           string     `json:"uid"`
	Inputs        []opsInput `json:"__inputs"`
	Panels        []opsPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Query struct {
				Query string `json:"query"`
			} `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// opsInput is what Grafana asks for when the dashboard is imported.
type opsInput struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	PluginID string `json:"pluginId"`
}

type opsPanel struct {
	ID         int       `json:"id"`
	Type       string    `json:"type"`
	Title      string    `json:"title"`
	Datasource *opsDSRef `json:"datasource"`
	Targets    []struct {
		Datasource *opsDSRef `json:"datasource"`
		Expr       string    `json:"expr"`
		RefID      string    `json:"refId"`
	} `json:"targets"`
	Panels []opsPanel `json:"panels"` // inside a collapsed row
}

type opsDSRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func readDashboard(t *testing.T) opsDashboard {
	t.Helper()
	raw, err := os.ReadFile(opsDashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d opsDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", opsDashboardFile, err)
	}
	return d
}

// allPanels flattens rows into their panels.
func (d opsDashboard) allPanels() []opsPanel {
	var out []opsPanel
	var walk func([]opsPanel)
	walk = func(ps []opsPanel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// exposedMetrics are the metric families a `gosid serve` process exposes,
// with their types ("counter", "gauge", "histogram", "summary", "untyped";
// "" when only the collector's description is known).
type exposedMetrics map[string]string

// has reports whether a name used in a query is exposed: the family
// itself, or a histogram's or summary's _bucket, _sum or _count series.
func (e exposedMetrics) has(name string) bool {
	if name == "up" { // Prometheus's own, per scrape target
		return true
	}
	if _, ok := e[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		if kind := e[base]; kind == "histogram" || (kind == "summary" && suffix != "_bucket") {
			return true
		}
	}
	return false
}

// TestOpsMetricsExist fails when an alert rule or a dashboard panel names
// a metric Gosid does not expose. The metrics come from a real `gosid
// serve` (its /metrics, with a registry gateway configured and a broadcast
// sent, so that their families have series), and from the descriptions
// of the collectors the identity provider's wiring registers, for the
// counters no request of this test has touched yet (bank flows, partner
// calls, registry answers).
func TestOpsMetricsExist(t *testing.T) {
	exposed := scrapeServe(t)
	var described []string
	for name, kind := range describeIdP(t) {
		if _, ok := exposed[name]; !ok {
			exposed[name] = kind
			described = append(described, name)
		}
	}
	slices.Sort(described)
	t.Logf("%d families scraped; described by their collectors only (no series yet): %v", len(exposed)-len(described), described)
	// The sources themselves: a scrape that lost its families would let
	// every misspelling through.
	for _, name := range []string{"gosid_http_requests_total", "gosid_http_request_duration_seconds", "go_sql_in_use_connections",
		"go_goroutines", "process_start_time_seconds", "gosid_registry_circuit_open", "gosid_verification_checks_pending",
		"gosid_portal_broadcast_subscribers", "gosid_bank_flows_total", "gosid_password_waiting", "gosid_clock_offset_seconds"} {
		if _, ok := exposed[name]; !ok {
			t.Errorf("%s is missing from the metrics collected by the test", name)
		}
	}

	checked := map[string]bool{}
	check := func(where, expr string) {
		names := promqlMetricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: no metric found in %q", where, expr)
		}
		for _, name := range names {
			checked[name] = true
			if !exposed.has(name) {
				t.Errorf("%s names %s, which Gosid does not expose", where, name)
			}
		}
	}
	for _, g := range readAlertRules(t).Groups {
		for _, r := range g.Rules {
			check(opsAlertsFile+": alert "+r.Alert, r.Expr)
		}
	}
	for _, p := range readDashboard(t).allPanels() {
		for _, tg := range p.Targets {
			check(fmt.Sprintf("%s: panel %d %q", opsDashboardFile, p.ID, p.Title), tg.Expr)
		}
	}
	for _, v := range readDashboard(t).Templating.List {
		// label_values(SELECTOR, label): the label is no metric.
		m := labelValues.FindStringSubmatch(v.Query.Query)
		if m == nil {
			t.Errorf("%s: variable %s: query %q is not label_values(metric, label)", opsDashboardFile, v.Name, v.Query.Query)
			continue
		}
		check(opsDashboardFile+": variable "+v.Name, m[1])
	}
	if len(checked) < 20 {
		t.Errorf("only %d distinct metrics checked: %v", len(checked), slices.Sorted(func(yield func(string) bool) {
			for n := range checked {
				if !yield(n) {
					return
				}
			}
		}))
	}
}

// scrapeServe starts `gosid serve` (the identity provider, the embedded
// portal, a registry gateway that is never called) and reads the families
// of its management listener's /metrics.
func scrapeServe(t *testing.T) exposedMetrics {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cert, key, _ := selfSigned(t, dir)
	s := startServe(t, "--addr", "127.0.0.1:0", "--portal-addr", "127.0.0.1:0", "--data-dir", data,
		"--registry-url", "https://127.0.0.1:1", "--registry-client-cert", cert, "--registry-client-key", key)

	// A broadcast, so that its gauges have series: what an operator runs.
	body := filepath.Join(dir, "news.txt")
	if err := os.WriteFile(body, []byte("Новая услуга.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"portal", "notify", "--data-dir", data, "--category", "law", "--title", "Новости",
		"--body-file", body, "--wait=false"}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("gosid portal notify: exit %d\n%s", code, stderr.String())
	}
	for _, path := range []string{"/.well-known/openid-configuration", "/keys", "/login"} {
		getStatus(t, s.IdP+path)
	}
	getStatus(t, s.Portal+"/")

	resp, err := http.Get(s.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	return parseExposition(t, resp.Body)
}

// parseExposition reads the family names and types from the "# TYPE"
// lines of the Prometheus text format.
func parseExposition(t *testing.T, r io.Reader) exposedMetrics {
	t.Helper()
	out := exposedMetrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = f[3]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// describeIdP wires the identity provider as serve does (buildIdP with
// serve's default options and a registry gateway) with a registerer that
// records every collector's description, and returns the names.
func describeIdP(t *testing.T) exposedMetrics {
	t.Helper()
	dir := t.TempDir()
	cert, key, _ := selfSigned(t, dir)
	var o serveOptions
	set := serveFlags(&o)
	env := &cmdline.Env{Prog: "gosid", Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	if p, ok := env.Parse(set, []string{"--data-dir", dir, "--registry-url", "https://127.0.0.1:1",
		"--registry-client-cert", cert, "--registry-client-key", key}); !ok || len(p) > 0 {
		t.Fatalf("serve options: %v", p)
	}
	db := sqldbtest.SQLite(t)
	log := slog.New(slog.DiscardHandler)
	km, err := keys.Open(context.Background(), db, newMasterKey(t), keys.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	rec := &describingRegisterer{Registerer: httpx.NewRegistry(), names: exposedMetrics{}}
	if _, err := buildIdP(&o.idp, "http://127.0.0.1", db, km, log, false, time.Now, rec); err != nil {
		t.Fatal(err)
	}
	return rec.names
}

// describingRegisterer registers collectors on the registry it wraps and
// remembers the names they describe (histogram and summary vectors by
// kind, so that their _bucket/_sum/_count series are recognised).
type describingRegisterer struct {
	prometheus.Registerer
	names exposedMetrics
}

var labelValues = regexp.MustCompile(`^label_values\((.+),\s*[A-Za-z_][A-Za-z0-9_]*\)$`)

var descName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *describingRegisterer) Register(c prometheus.Collector) error {
	// Only vectors can lack series; a plain histogram or summary is
	// always in the scrape, with its type.
	kind := ""
	switch c.(type) {
	case *prometheus.HistogramVec:
		kind = "histogram"
	case *prometheus.SummaryVec:
		kind = "summary"
	}
	ch := make(chan *prometheus.Desc)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	for d := range ch {
		if m := descName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = kind
		}
	}
	return r.Registerer.Register(c)
}

func (r *describingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// PromQL words that are not metric names: keywords and literals (function
// and aggregation names are told apart by the parenthesis after them).
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "bool": true, "offset": true, "start": true, "end": true,
	"inf": true, "nan": true,
}

var (
	promqlStrings   = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promqlBraces    = regexp.MustCompile(`\{[^{}]*\}`)
	promqlBrackets  = regexp.MustCompile(`\[[^\[\]]*\]`)
	promqlVariables = regexp.MustCompile(`\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*`)
	promqlLabelList = regexp.MustCompile(`(?i)\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promqlToken     = regexp.MustCompile(`[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?[A-Za-z]*|\.[0-9]+|[A-Za-z_:][A-Za-z0-9_:]*`)
)

// promqlMetricNames returns the metric names a PromQL expression (or a
// Grafana query with $variables) selects, in order of first use: every
// identifier outside strings, label matchers, ranges and label lists that
// is not a keyword and not called as a function.
func promqlMetricNames(expr string) []string {
	s := promqlStrings.ReplaceAllString(expr, `""`)
	s = promqlVariables.ReplaceAllString(s, " 1 ")
	s = promqlBraces.ReplaceAllString(s, " ")
	s = promqlBrackets.ReplaceAllString(s, " ")
	s = promqlLabelList.ReplaceAllString(s, " ")
	var names []string
	for _, loc := range promqlToken.FindAllStringIndex(s, -1) {
		tok := s[loc[0]:loc[1]]
		if c := tok[0]; c >= '0' && c <= '9' || c == '.' {
			continue // a number or a duration
		}
		if promqlKeywords[strings.ToLower(tok)] {
			continue
		}
		if rest := strings.TrimLeft(s[loc[1]:], " \t\r\n"); strings.HasPrefix(rest, "(") {
			continue // a function or an aggregation
		}
		if !slices.Contains(names, tok) {
			names = append(names, tok)
		}
	}
	return names
}

// TestOpsMetricNameExtraction: the extractor finds the metrics of queries
// shaped like ours, and nothing else; a misspelt metric is reported.
func TestOpsMetricNameExtraction(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up{job="gosid"} == 0`, []string{"up"}},
		{`histogram_quantile(0.99, sum by (le) (rate(gosid_http_request_duration_seconds_bucket{route="POST /login"}[5m]))) > 2`,
			[]string{"gosid_http_request_duration_seconds_bucket"}},
		{"sum by (server) (rate(gosid_http_requests_total{code=~\"5..\", code!=\"503\"}[5m])) / sum(rate(gosid_http_requests_total[$__rate_interval])) > 1e-2",
			[]string{"gosid_http_requests_total"}},
		{`(go_sql_in_use_connections / go_sql_max_open_connections > 0.9) and go_sql_max_open_connections > 0`,
			[]string{"go_sql_in_use_connections", "go_sql_max_open_connections"}},
		{`sum(rate(x_total[5m] offset 1h)) without (instance) / on (job) group_left (a, b) y_seconds`, []string{"x_total", "y_seconds"}},
		{`label_replace(gosid_registry_circuit_open{source="$source"}, "dst", "$1", "source", "(.*)")`, []string{"gosid_registry_circuit_open"}},
		{`max(gosid_verification_oldest_pending_seconds) by (job)`, []string{"gosid_verification_oldest_pending_seconds"}},
		{`rate(go_gc_duration_seconds_count{instance=~"${instance}"}[1h30m])`, []string{"go_gc_duration_seconds_count"}},
	} {
		if got := promqlMetricNames(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("promqlMetricNames(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}

	exposed := exposedMetrics{"gosid_http_requests_total": "counter", "gosid_http_request_duration_seconds": "histogram",
		"go_gc_duration_seconds": "summary"}
	for name, want := range map[string]bool{
		"gosid_http_requests_total":                  true,
		"gosid_http_request_total":                   false, // misspelt
		"gosid_http_request_duration_seconds_bucket": true,
		"gosid_http_request_duration_seconds_count":  true,
		"gosid_http_requests_total_count":            false, // a counter has no _count
		"go_gc_duration_seconds_sum":                 true,
		"go_gc_duration_seconds_bucket":              false, // a summary has no buckets
		"up":                                         true,
	} {
		if got := exposed.has(name); got != want {
			t.Errorf("has(%s) = %v, want %v", name, got, want)
		}
	}
}

// TestOpsAlertRules: every rule is an alert with a severity, a summary and
// a runbook annotation pointing at a heading of docs/operations.md, and
// every alert has such a heading; where promtool is installed, the rules
// parse and pass their unit tests.
func TestOpsAlertRules(t *testing.T) {
	anchors := runbookAnchors(t)
	seen := map[string]bool{}
	n := 0
	for _, g := range readAlertRules(t).Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: no name or no rules", g.Name)
		}
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("group %s: a rule without alert or expr: %+v", g.Name, r)
				continue
			}
			if seen[r.Alert] {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			seen[r.Alert] = true
			if _, err := time.ParseDuration(r.For); err != nil {
				t.Errorf("alert %s: for %q: %v", r.Alert, r.For, err)
			}
			if sev := r.Labels["severity"]; sev != "critical" && sev != "warning" {
				t.Errorf("alert %s: severity %q, want critical or warning", r.Alert, sev)
			}
			if r.Annotations["summary"] == "" {
				t.Errorf("alert %s: no summary", r.Alert)
			}
			u, err := url.Parse(r.Annotations["runbook"])
			switch {
			case err != nil || !strings.HasSuffix(u.Path, "/docs/operations.md"):
				t.Errorf("alert %s: runbook %q does not point at docs/operations.md", r.Alert, r.Annotations["runbook"])
			case !anchors[u.Fragment]:
				t.Errorf("alert %s: runbook anchor #%s is no heading of docs/operations.md", r.Alert, u.Fragment)
			case u.Fragment != strings.ToLower(r.Alert):
				t.Errorf("alert %s: runbook anchor #%s, want the alert's own section #%s", r.Alert, u.Fragment, strings.ToLower(r.Alert))
			}
		}
	}
	if n < 10 {
		t.Errorf("%d alert rules, want the set the runbook describes", n)
	}
	// promtool (Debian's prometheus package) parses the expressions and
	// runs the alerts' unit tests (docs/ops/alerts_test.yml: synthetic
	// series that must fire, or must not, each alert).
	if promtool, err := exec.LookPath("promtool"); err == nil {
		for _, args := range [][]string{{"check", "rules", opsAlertsFile}, {"test", "rules", opsAlertsTestFile}} {
			if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
				t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	} else if os.Getenv("CI") == "true" {
		t.Error("promtool not installed: CI installs Debian's prometheus package for it")
	} else {
		t.Log("promtool not installed: expressions not parsed, alert unit tests not run")
	}
}

// TestOpsRunbookLinks: every link to a section of docs/operations.md from
// within it leads to a heading.
func TestOpsRunbookLinks(t *testing.T) {
	anchors := runbookAnchors(t)
	raw, err := os.ReadFile(opsRunbookFile)
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(string(raw), -1)
	if len(links) == 0 {
		t.Fatal("no links within docs/operations.md")
	}
	for _, m := range links {
		if !anchors[m[1]] {
			t.Errorf("docs/operations.md links to #%s, which is no heading", m[1])
		}
	}
	for _, want := range []string{"sizing", "overload-and-outages", "database-failover", "routine-tasks", "alerts",
		"signing-keys", "replacing-the-master-key"} {
		if !anchors[want] {
			t.Errorf("docs/operations.md has no section #%s", want)
		}
	}
}

// runbookAnchors are the anchors GitHub gives the headings of
// docs/operations.md: lower case, punctuation dropped, spaces as hyphens,
// a repeated heading numbered.
func runbookAnchors(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(opsRunbookFile)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	inCode := false
	for line := range strings.Lines(string(raw)) {
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		text := strings.TrimSpace(strings.TrimLeft(line, "#"))
		slug := githubSlug(text)
		for i := 1; anchors[slug]; i++ {
			slug = fmt.Sprintf("%s-%d", githubSlug(text), i)
		}
		anchors[slug] = true
	}
	return anchors
}

func githubSlug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestOpsDashboard: a Grafana dashboard for import (schema 39, the
// Prometheus data source as the ${DS_PROMETHEUS} input), every query
// panel on that data source, panel ids unique.
func TestOpsDashboard(t *testing.T) {
	d := readDashboard(t)
	if d.SchemaVersion != 39 {
		t.Errorf("schemaVersion %d, want 39", d.SchemaVersion)
	}
	if d.Title == "" || d.UID == "" {
		t.Errorf("title %q, uid %q: both needed", d.Title, d.UID)
	}
	if !slices.ContainsFunc(d.Inputs, func(in opsInput) bool {
		return in.Name == "DS_PROMETHEUS" && in.Type == "datasource" && in.PluginID == "prometheus"
	}) {
		t.Errorf("no DS_PROMETHEUS datasource input: %+v", d.Inputs)
	}
	ids := map[int]bool{}
	queries := 0
	for _, p := range d.allPanels() {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${DS_PROMETHEUS}" {
			t.Errorf("panel %d %q: datasource %+v, want uid ${DS_PROMETHEUS}", p.ID, p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %d %q: no query", p.ID, p.Title)
		}
		for _, tg := range p.Targets {
			queries++
			if tg.Expr == "" || tg.RefID == "" {
				t.Errorf("panel %d %q: a target without expr or refId", p.ID, p.Title)
			}
		}
	}
	if queries < 15 {
		t.Errorf("%d queries: want the panels the brief lists", queries)
	}
}
