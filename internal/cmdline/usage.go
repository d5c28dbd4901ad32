package cmdline

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Usage returns the help text: the synopsis, how the three sources combine,
// and for every option its flag, environment variable, default (unless zero
// or secret), allowed values and usage, in registration order with --config
// first. Defaults are shown, never parsed values.
func (s *Set) Usage() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s [options]", s.name)
	if s.argsUse != "" {
		fmt.Fprintf(&b, " %s", s.argsUse)
	}
	b.WriteString("\n\n")
	if s.synopsis != "" {
		b.WriteString(wrap(s.synopsis, 0, 78))
		b.WriteString("\n\n")
	}
	b.WriteString(wrap("Every option is a flag, an environment variable and a key of the YAML "+
		"file given with --config, all of the same name: --data-dir, GOSID_DATA_DIR, data-dir. "+
		"A flag wins over the environment, the environment over the file, the file over the default.", 0, 78))
	b.WriteString("\n\nOptions:\n")

	// Columns: flag and placeholder, environment variable, default. A column
	// is as wide as its widest entry, capped so that one long name does not
	// push every line to the right.
	type row struct{ flag, env, def string }
	rows := make([]row, len(s.opts))
	flagW, envW := 0, 0
	for i, o := range s.opts {
		r := row{flag: "--" + o.name, env: o.env}
		if ph := o.placeholder(); ph != "" {
			r.flag += " " + ph
		}
		if d := o.defaultText(); d != "" {
			r.def = "default " + d
		}
		rows[i] = r
		if n := len(r.flag); n <= 34 {
			flagW = max(flagW, n)
		}
		if n := len(r.env); n <= 30 {
			envW = max(envW, n)
		}
	}
	hasDuration, hasList := false, false
	for i, o := range s.opts {
		r := rows[i]
		line := fmt.Sprintf("  %-*s  %-*s  %s", flagW, r.flag, envW, r.env, r.def)
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteString("\n")
		text := o.usage
		switch o.kind {
		case kindEnum:
			text += " One of: " + strings.Join(o.enum, ", ") + "."
		case kindList:
			text += " Repeat the flag for more values; comma-separated in the environment."
			hasList = true
		case kindDuration:
			hasDuration = true
		}
		if o.secret {
			text += " Secret: prefer the environment or the file, since other users can see a process's flags."
		}
		if text = strings.TrimSpace(text); text != "" {
			b.WriteString(wrap(text, 6, 78))
			b.WriteString("\n")
		}
	}
	if hasDuration || hasList {
		b.WriteString("\n")
	}
	if hasDuration {
		b.WriteString(wrap("Durations are written like 90d, 36h, 1d12h or 30m (d is 24 hours).", 0, 78))
		b.WriteString("\n")
	}
	if hasList {
		b.WriteString(wrap("Lists in the YAML file are YAML lists or comma-separated strings.", 0, 78))
		b.WriteString("\n")
	}
	return b.String()
}

// placeholder names the value a flag takes; "" for booleans.
func (o *option) placeholder() string {
	switch o.kind {
	case kindInt:
		return "int"
	case kindBool:
		return ""
	case kindDuration:
		return "duration"
	case kindEnum:
		if p := strings.Join(o.enum, "|"); len(p) <= 24 {
			return p
		}
		return "value"
	case kindList:
		return "string..."
	}
	if o.name == configName {
		return "file"
	}
	return "string"
}

// defaultText is the default as the user would write it, or "" when the
// default is a zero value or secret.
func (o *option) defaultText() string {
	switch d := o.def.(type) {
	case string:
		if d == "" || o.secret {
			return ""
		}
		return quoteIfNeeded(d)
	case int:
		if d != 0 {
			return strconv.Itoa(d)
		}
	case bool:
		if d {
			return "true"
		}
	case time.Duration:
		if d != 0 {
			return formatDuration(d)
		}
	case []string:
		q := make([]string, len(d))
		for i, e := range d {
			q[i] = quoteIfNeeded(e)
		}
		return strings.Join(q, ",")
	}
	return ""
}

func quoteIfNeeded(v string) string {
	if v == "" || strings.ContainsAny(v, " \t\n\",") || strconv.Quote(v) != `"`+v+`"` {
		return strconv.Quote(v)
	}
	return v
}

// formatDuration writes d with a day count and without trailing zero units:
// 90d, 1d12h, 30m, 1h30m.
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	sign := ""
	if d < 0 {
		if d == -d { // math.MinInt64 has no positive counterpart
			return d.String()
		}
		sign, d = "-", -d
	}
	out := sign
	if days := d / day; days > 0 {
		out += strconv.FormatInt(int64(days), 10) + "d"
		d -= days * day
		if d == 0 {
			return out
		}
	}
	rest := d.String()
	if strings.HasSuffix(rest, "m0s") {
		rest = strings.TrimSuffix(rest, "0s")
	}
	if strings.HasSuffix(rest, "h0m") {
		rest = strings.TrimSuffix(rest, "0m")
	}
	return out + rest
}

// wrap fills text into lines at most width wide (unless a word is longer),
// each indented by indent spaces, without a final newline.
func wrap(text string, indent, width int) string {
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	n := 0
	for _, w := range strings.Fields(text) {
		switch {
		case n == 0:
			b.WriteString(pad)
			n = indent
		case n+1+len(w) > width:
			b.WriteString("\n")
			b.WriteString(pad)
			n = indent
		default:
			b.WriteString(" ")
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}
