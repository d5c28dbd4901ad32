package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

type report struct {
	Issuer      string        `json:"issuer"`
	Started     string        `json:"started"`
	Concurrency int           `json:"concurrency"`
	Duration    string        `json:"duration_per_step"`
	MaxRequests int64         `json:"max_requests_per_step"`
	ServerCores int           `json:"server_cores,omitempty"`
	Calibration *calibration  `json:"limits,omitempty"`
	Steps       []*stepResult `json:"steps"`
}

type stepResult struct {
	Step       string      `json:"step"`
	Seconds    float64     `json:"seconds"`
	Requests   int64       `json:"http_requests"`
	Iterations int64       `json:"iterations"`
	Capped     bool        `json:"capped_by_max_requests"`
	Rows       []rowResult `json:"rows"`
	specs      []rowSpec
}

type rowResult struct {
	Row        string  `json:"row"`
	PerSecond  float64 `json:"per_s"`
	OK         int64   `json:"ok"`
	HTTPErrors int64   `json:"http_errors"`
	Non2xx     int64   `json:"unexpected_status"`
	Invalid    int64   `json:"invalid"`
	// Refused are 503 answers: the server's back-pressure (Retry-After),
	// not failures; the rate counts only what succeeded.
	Refused    int64   `json:"refused_503"`
	P50ms      float64 `json:"p50_ms"`
	P90ms      float64 `json:"p90_ms"`
	P99ms      float64 `json:"p99_ms"`
	Maxms      float64 `json:"max_ms"`
	Limit      *limit  `json:"limit,omitempty"`
	Ratio      float64 `json:"ratio,omitempty"`
	FirstError string  `json:"first_error,omitempty"`
}

// Errors is the sum of a row's failures.
func (r rowResult) Errors() int64 { return r.HTTPErrors + r.Non2xx + r.Invalid }

func (rep *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// grouped formats n with thousands separators and digits significant
// enough for a rate.
func grouped(v float64) string {
	if v >= 100 || v == math.Trunc(v) {
		return thousands(strconv.FormatInt(int64(math.Round(v)), 10))
	}
	if v >= 10 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func thousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func msString(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func (rep *report) writeTable(out io.Writer) {
	fmt.Fprintf(out, "gosid-load %s  concurrency %d  %s per step\n", rep.Issuer, rep.Concurrency, rep.Duration)
	if c := rep.Calibration; c != nil {
		when := "at start"
		for _, r := range c.Rates {
			if len(r.After) > 0 {
				when = "before and after the load, the higher of the two"
				break
			}
		}
		fmt.Fprintf(out, "\nlimits measured on this machine %s (GOMAXPROCS %d, %d CPUs):\n", when, c.GOMAXPROCS, c.NumCPU)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "\t1 goroutine\tparallel\t\n")
		for _, k := range c.order {
			r := c.Rates[k]
			fmt.Fprintf(tw, "%s\t%s/s\t%s/s\t%s\n", r.Name, grouped(r.Single), grouped(r.Parallel), noteOf(r, c))
		}
		tw.Flush()
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "step\trow\treq/s\tok\thttp err\tnon-2xx\tinvalid\t503\tp50 ms\tp90 ms\tp99 ms\tlimit/s\tratio\tlimit")
	for _, s := range rep.Steps {
		for i, r := range s.Rows {
			step := s.Step
			if i > 0 {
				step = ""
			}
			lim, ratio, desc := "-", "-", "-"
			if r.Limit != nil {
				lim, ratio = grouped(r.Limit.PerSecond), strconv.FormatFloat(r.Ratio, 'f', 3, 64)
				desc = fmt.Sprintf("%s, %s (per core %s/s)", r.Limit.Desc, r.Limit.Basis, grouped(r.Limit.PerCore))
				if strings.HasPrefix(r.Limit.Desc, "HTTP") {
					desc = fmt.Sprintf("%s, %s", r.Limit.Desc, r.Limit.Basis)
				}
			}
			p := func(v float64) string {
				if r.OK == 0 {
					return "-"
				}
				return msString(v)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", step, r.Row, grouped(r.PerSecond), r.OK, r.HTTPErrors, r.Non2xx, r.Invalid, r.Refused,
				p(r.P50ms), p(r.P90ms), p(r.P99ms), lim, ratio, desc)
		}
	}
	tw.Flush()
	for _, s := range rep.Steps {
		if s.Capped {
			fmt.Fprintf(out, "%s: stopped at --max-requests (%d requests in %.1fs)\n", s.Step, s.Requests, s.Seconds)
		}
		for _, r := range s.Rows {
			if r.FirstError != "" {
				fmt.Fprintf(out, "%s %s: %d errors; first: %s\n", s.Step, strings.TrimPrefix(r.Row, "└ "), r.Errors(), r.FirstError)
			}
		}
	}
}

func noteOf(r *rate, c *calibration) string {
	note := fmt.Sprintf("parallel = %d goroutines", c.GOMAXPROCS)
	if r.Note != "" {
		note = r.Note
	}
	if r.unstable() {
		note += fmt.Sprintf("; UNSTABLE (busy machine?): before %s/%s, after %s/%s",
			grouped(r.Before[0]), grouped(r.Before[1]), grouped(r.After[0]), grouped(r.After[1]))
	}
	return "  " + note
}
