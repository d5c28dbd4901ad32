package cmdline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// envPrefix starts the environment variable of every option.
const envPrefix = "GOSID_"

// configName is the option, present in every Set, that names the YAML file.
const configName = "config"

type kind int

const (
	kindString kind = iota
	kindInt
	kindBool
	kindDuration
	kindEnum
	kindList
)

// option is one registered option. def holds the typed default (string, int,
// bool, time.Duration or []string) and set stores a value of the same type
// into the caller's variable.
type option struct {
	name   string
	env    string
	usage  string
	kind   kind
	secret bool
	enum   []string
	def    any
	set    func(any)

	where string // after Parse: problem prefix of the source of the value; "" for the default
}

// Set is the options of one subcommand. Register options with the typed
// methods (each stores the default into the variable at once), then call
// [Set.Parse] once. The methods that register options panic on a programming
// error: a malformed or duplicate name, or an enum default outside its values.
// A Set is not safe for concurrent use.
type Set struct {
	name     string
	synopsis string
	argsUse  string // usage words of positional arguments; "" when none are allowed
	opts     []*option
	byName   map[string]*option

	configPath string
	args       []string

	// readFile reads the config file; tests replace it.
	readFile func(string) ([]byte, error)
}

// NewSet returns an empty Set for the subcommand called name (as typed, e.g.
// "gosid serve"), described in usage by synopsis. Every Set has the option
// config, which names the YAML file.
func NewSet(name, synopsis string) *Set {
	s := &Set{
		name:     name,
		synopsis: synopsis,
		byName:   make(map[string]*option),
		readFile: os.ReadFile,
	}
	s.add(&option{
		name:  configName,
		usage: `YAML file of options, one "name: value" per option; lists as YAML lists.`,
		kind:  kindString,
		def:   "",
		set:   func(v any) { s.configPath = v.(string) },
	})
	return s
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

func (s *Set) add(o *option) {
	if !nameRE.MatchString(o.name) {
		panic(fmt.Sprintf("cmdline: bad option name %q: use lower-case words joined by -", o.name))
	}
	if o.name == "h" || o.name == "help" {
		panic(fmt.Sprintf("cmdline: option name %q is reserved for help", o.name))
	}
	if s.byName[o.name] != nil {
		panic(fmt.Sprintf("cmdline: option %q registered twice", o.name))
	}
	o.env = envName(o.name)
	s.opts = append(s.opts, o)
	s.byName[o.name] = o
	o.set(copyValue(o.def))
}

// envName returns the environment variable of the option name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func copyValue(v any) any {
	if l, ok := v.([]string); ok {
		return slices.Clone(l)
	}
	return v
}

// String registers a string option.
func (s *Set) String(p *string, name, def, usage string) {
	s.add(&option{name: name, usage: usage, kind: kindString, def: def,
		set: func(v any) { *p = v.(string) }})
}

// SecretString registers a string option whose value is a secret, such as a
// password: no problem and no usage text ever shows its value, and the usage
// text advises against passing it as a flag (other users of the machine can
// read a process's arguments).
func (s *Set) SecretString(p *string, name, def, usage string) {
	s.add(&option{name: name, usage: usage, kind: kindString, secret: true, def: def,
		set: func(v any) { *p = v.(string) }})
}

// Int registers an integer option. Range checks are the caller's.
func (s *Set) Int(p *int, name string, def int, usage string) {
	s.add(&option{name: name, usage: usage, kind: kindInt, def: def,
		set: func(v any) { *p = v.(int) }})
}

// Bool registers a boolean option. As a flag, --name alone means true and
// never takes the next argument; --name=false sets false. The values true,
// false, 1, 0, yes, no, on and off are accepted in any case.
func (s *Set) Bool(p *bool, name string, def bool, usage string) {
	s.add(&option{name: name, usage: usage, kind: kindBool, def: def,
		set: func(v any) { *p = v.(bool) }})
}

// Duration registers a duration option. It accepts Go durations ("12h",
// "30m", "1h30m") and a leading day count ("90d", "1d12h", "1.5d"); a day is
// 24 hours. Range checks (e.g. rejecting negative durations) are the caller's.
func (s *Set) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	s.add(&option{name: name, usage: usage, kind: kindDuration, def: def,
		set: func(v any) { *p = v.(time.Duration) }})
}

// Enum registers a string option whose value must be one of values (compared
// exactly). def must be one of values.
func (s *Set) Enum(p *string, name, def string, values []string, usage string) {
	if !slices.Contains(values, def) {
		panic(fmt.Sprintf("cmdline: default %q of option %q is not one of %v", def, name, values))
	}
	s.add(&option{name: name, usage: usage, kind: kindEnum, enum: slices.Clone(values), def: def,
		set: func(v any) { *p = v.(string) }})
}

// StringList registers a list option. As a flag it is repeatable, one element
// per flag (--name= with an empty value adds nothing but still replaces the
// lists of lower sources). In the environment, and as a YAML string, elements
// are separated by commas, surrounding spaces are trimmed and empty elements
// dropped; in the file it may also be a YAML list of strings. Parse stores a
// fresh slice, never def itself.
func (s *Set) StringList(p *[]string, name string, def []string, usage string) {
	s.add(&option{name: name, usage: usage, kind: kindList, def: slices.Clone(def),
		set: func(v any) { *p = v.([]string) }})
}

// AllowArgs lets Parse accept positional arguments, described in usage by
// words (e.g. "USERNAME..."). Without it, positional arguments are problems.
// Checking how many were given is the caller's job, with [Set.Args].
func (s *Set) AllowArgs(words string) {
	s.argsUse = words
}

// Args returns the positional arguments after Parse: arguments that are not
// options (flags and positionals may be mixed) and everything after "--".
func (s *Set) Args() []string {
	return s.args
}

// ConfigFile returns the path of the YAML file after Parse, or "" when none
// was given.
func (s *Set) ConfigFile() string {
	return s.configPath
}

// IsSet reports whether the option's value came from a flag, the environment
// or the config file rather than from its default. It panics if the set has no
// such option.
func (s *Set) IsSet(name string) bool {
	return s.mustOption(name).where != ""
}

// Source returns where the option's value came from, in the form Parse itself
// uses at the start of a problem, so that the caller's semantic problems read
// the same: "flag --public-url", "GOSID_PUBLIC_URL",
// "config file /etc/gosid.yaml: line 4: public-url", or "--public-url
// (default)". Use it as fmt.Sprintf("%s: must be an https URL", s.Source(n)),
// and never append the value of a secret option. It panics if the set has no
// such option.
func (s *Set) Source(name string) string {
	o := s.mustOption(name)
	if o.where == "" {
		return "--" + o.name + " (default)"
	}
	return o.where
}

func (s *Set) mustOption(name string) *option {
	o := s.byName[name]
	if o == nil {
		panic(fmt.Sprintf("cmdline: %s has no option %q", s.name, name))
	}
	return o
}

// sourceValues holds the values one source gave, already converted to the
// option's type, and the problem prefix naming each.
type sourceValues struct {
	vals  map[*option]any
	where map[*option]string
}

func newSourceValues() sourceValues {
	return sourceValues{vals: make(map[*option]any), where: make(map[*option]string)}
}

// Parse reads args (the command line without the program and subcommand
// names) and environ (as from os.Environ), then the config file they name, and
// stores every option's value. It returns nil; [ErrHelp] when help was asked
// for (before any other problem is looked at); or a [Problems] listing every
// problem found, flags first, then the environment, then the file. After
// problems, variables hold whatever valid values were found; do not use them.
// Parse may be called again; it starts from the defaults.
func (s *Set) Parse(args, environ []string) error {
	s.args = nil
	for _, o := range s.opts {
		o.where = ""
		o.set(copyValue(o.def))
	}

	var flagProbs, envProbs, fileProbs Problems
	flags, help := s.parseArgs(args, &flagProbs)
	if help {
		return ErrHelp
	}
	env := s.parseEnv(environ, &envProbs)

	path := ""
	cfg := s.byName[configName]
	if v, ok := flags.vals[cfg]; ok {
		path = v.(string)
	} else if v, ok := env.vals[cfg]; ok {
		path = v.(string)
	}
	var file sourceValues
	if path != "" {
		file = s.parseFile(path, &fileProbs)
	}

	for _, o := range s.opts {
		for _, src := range []sourceValues{flags, env, file} {
			if v, ok := src.vals[o]; ok {
				o.set(v)
				o.where = src.where[o]
				break
			}
		}
	}
	probs := slices.Concat(flagProbs, envProbs, fileProbs)
	return probs.Err()
}

// parseArgs reads the command line. It reports help as soon as it meets -h,
// -help or --help before "--".
func (s *Set) parseArgs(args []string, probs *Problems) (sv sourceValues, help bool) {
	sv = newSourceValues()
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			s.positional(args[i+1:], probs)
			break
		}
		if len(arg) < 2 || arg[0] != '-' {
			s.positional(args[i:i+1], probs)
			continue
		}
		body := strings.TrimPrefix(arg[1:], "-")
		name, value, hasValue := strings.Cut(body, "=")
		if name == "h" || name == "help" {
			return sv, true
		}
		o := s.byName[name]
		if o == nil {
			if nameRE.MatchString(name) {
				probs.Add("unknown flag --%s%s", name, s.suggest(name, "--"))
			} else {
				// Quote odd names; never show a value, which may be a secret.
				flag, _, _ := strings.Cut(arg, "=")
				probs.Add("unknown flag %q%s", flag, s.suggest(name, "--"))
			}
			// Most unknown flags take a value: skip it rather than also
			// report it as an unexpected argument (it may even be a secret).
			if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
			}
			continue
		}
		if !hasValue {
			if o.kind == kindBool {
				value = "true"
			} else {
				if i+1 >= len(args) || s.looksLikeFlag(args[i+1]) {
					probs.Add("flag --%s needs a value (write --%s=VALUE for a value that starts with -)", name, name)
					continue
				}
				i++
				value = args[i]
			}
		}
		where := "flag --" + name
		if o.kind == kindList {
			l, _ := sv.vals[o].([]string)
			if value != "" {
				l = append(l, value)
			}
			if l == nil {
				l = []string{}
			}
			sv.vals[o], sv.where[o] = l, where
			continue
		}
		v, ok := o.parse(value, where, probs)
		if ok {
			sv.vals[o], sv.where[o] = v, where
		}
	}
	return sv, false
}

// looksLikeFlag reports whether arg, following an option that needs a value,
// is rather the next option: "--" and anything starting with "--", or a
// single-dash known option or help. "-5" is a value.
func (s *Set) looksLikeFlag(arg string) bool {
	if strings.HasPrefix(arg, "--") {
		return true
	}
	if !strings.HasPrefix(arg, "-") {
		return false
	}
	name, _, _ := strings.Cut(arg[1:], "=")
	return name == "h" || name == "help" || s.byName[name] != nil
}

func (s *Set) positional(args []string, probs *Problems) {
	if s.argsUse != "" {
		s.args = append(s.args, args...)
		return
	}
	for _, a := range args {
		probs.Add("unexpected argument %q: %s takes no arguments", a, s.name)
	}
}

// parseEnv reads the GOSID_ variables of the set's options; others are
// ignored. As with os.Getenv, the first of duplicate entries counts.
func (s *Set) parseEnv(environ []string, probs *Problems) sourceValues {
	sv := newSourceValues()
	env := make(map[string]string)
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, envPrefix) {
			continue
		}
		if _, dup := env[k]; !dup {
			env[k] = v
		}
	}
	for _, o := range s.opts {
		raw := env[o.env]
		if raw == "" {
			continue
		}
		var v any = splitList(raw)
		ok := true
		if o.kind != kindList {
			v, ok = o.parse(raw, o.env, probs)
		}
		if ok {
			sv.vals[o], sv.where[o] = v, o.env
		}
	}
	return sv
}

// splitList splits a comma-separated list, trimming spaces and dropping empty
// elements. It never returns nil.
func splitList(raw string) []string {
	l := []string{}
	for e := range strings.SplitSeq(raw, ",") {
		if e = strings.TrimSpace(e); e != "" {
			l = append(l, e)
		}
	}
	return l
}

// parse converts raw to the option's type (not for lists), or adds a problem
// starting with where.
func (o *option) parse(raw, where string, probs *Problems) (any, bool) {
	var (
		v      any
		reason string
	)
	switch o.kind {
	case kindString:
		return raw, true
	case kindInt:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		v = n
		switch {
		case errors.Is(err, strconv.ErrRange):
			reason = "is out of range"
		case err != nil:
			reason = "is not an integer"
		}
	case kindBool:
		b, ok := parseBool(raw)
		v = b
		if !ok {
			reason = "is not a boolean (true or false)"
		}
	case kindDuration:
		d, ok := parseDuration(raw)
		v = d
		if !ok {
			reason = "is not a duration (e.g. 90d, 12h, 30m)"
		}
	case kindEnum:
		v = raw
		if !slices.Contains(o.enum, raw) {
			reason = "is not one of " + strings.Join(o.enum, ", ")
		}
	default:
		panic("cmdline: parse of a list")
	}
	if reason == "" {
		return v, true
	}
	if o.secret {
		probs.Add("%s: the value is invalid (not shown because it is secret)", where)
	} else {
		probs.Add("%s: %q %s", where, raw, reason)
	}
	return nil, false
}

func parseBool(raw string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "true", "t", "1", "yes", "y", "on":
		return true, true
	case "false", "f", "0", "no", "n", "off":
		return false, true
	}
	return false, false
}

// parseDuration parses a Go duration with an optional leading day count.
func parseDuration(raw string) (time.Duration, bool) {
	t := strings.TrimSpace(raw)
	days, rest, hasDays := strings.Cut(t, "d")
	if !hasDays {
		d, err := time.ParseDuration(t)
		return d, err == nil
	}
	neg := false
	if days != "" && (days[0] == '-' || days[0] == '+') {
		neg = days[0] == '-'
		days = days[1:]
	}
	if days == "" || strings.Trim(days, "0123456789.") != "" {
		return 0, false
	}
	// Let time.ParseDuration do the exact decimal arithmetic: "1.5d" is
	// 24 × 1.5h.
	h, err := time.ParseDuration(days + "h")
	if err != nil || h > maxDuration/24 {
		return 0, false
	}
	d := 24 * h
	if rest != "" {
		if c := rest[0]; c != '.' && (c < '0' || c > '9') {
			return 0, false
		}
		r, err := time.ParseDuration(rest)
		if err != nil || r > maxDuration-d {
			return 0, false
		}
		d += r
	}
	if neg {
		d = -d
	}
	return d, true
}

const maxDuration = time.Duration(1<<63 - 1)

// readError describes why the config file could not be read, without
// repeating its path.
func readError(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "no such file"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// suggest returns " (did you mean PREFIXname?)" for the option name closest
// to name, or "" when none is close.
func (s *Set) suggest(name, prefix string) string {
	norm := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	best, bestDist := "", 3
	for _, o := range s.opts {
		d := editDistance(norm, o.name)
		if d < bestDist && d < len(o.name) {
			best, bestDist = o.name, d
		}
	}
	if best == "" {
		return ""
	}
	if prefix == "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (did you mean " + prefix + best + "?)"
}

// editDistance is the Levenshtein distance of a and b in bytes, capped for
// long inputs (names longer than 64 bytes are never close to an option).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
