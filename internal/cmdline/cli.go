package cmdline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"
)

// Exit codes of every subcommand.
const (
	ExitOK     = 0
	ExitFailed = 1 // the command ran and failed
	ExitConfig = 2 // bad configuration or usage; nothing was written
)

// Command is one subcommand.
type Command struct {
	Name, Synopsis string
	Run            func(ctx context.Context, env *Env, args []string) int
}

// Env is what a subcommand may use of the process: its environment and
// output streams. Prog names the binary in messages ("gosid").
type Env struct {
	Prog           string
	Environ        []string
	Stdout, Stderr io.Writer
	// Process: the command is the process (main), not a run inside a
	// test, and may set process-wide state — slog's default logger, which
	// libraries that log on their own (zitadel/oidc, the standard log
	// package) write through.
	Process bool
}

// Getenv returns the value of the environment variable name, or "".
func (env *Env) Getenv(name string) string {
	v := ""
	for _, kv := range env.Environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}

// Parse parses a subcommand's options and returns the problems found so far,
// to which the command adds its own checks before reporting them all at
// once. It returns false when the command must stop because help was asked
// for (and printed).
func (env *Env) Parse(s *Set, args []string) (Problems, bool) {
	err := s.Parse(args, env.Environ)
	if errors.Is(err, ErrHelp) {
		fmt.Fprint(env.Stdout, s.Usage())
		return nil, false
	}
	var p Problems
	if err != nil && !errors.As(err, &p) {
		p.Add("%v", err)
	}
	return p, true
}

// Report prints the problems, one per line; it returns false when there
// were any.
func (env *Env) Report(p Problems) bool {
	if len(p) == 0 {
		return true
	}
	env.Problems(p)
	return false
}

// Problems prints every problem of err on a line of its own.
func (env *Env) Problems(err error) {
	var p Problems
	if !errors.As(err, &p) {
		p = Problems{err.Error()}
	}
	for _, line := range p {
		fmt.Fprintf(env.Stderr, "%s: %s\n", env.Prog, line)
	}
}

// Fail prints err and returns code.
func (env *Env) Fail(code int, err error) int {
	fmt.Fprintf(env.Stderr, "%s: %v\n", env.Prog, err)
	return code
}

// Dispatch runs the command of cmds named by args[0] with the rest of args.
// Otherwise it prints the usage of the group (a group of subcommands such as
// "keys", or "" for the binary's own commands) and returns ExitConfig, or
// ExitOK when help was asked for.
func Dispatch(ctx context.Context, env *Env, group string, args []string, cmds []Command) int {
	if len(args) > 0 {
		for _, c := range cmds {
			if c.Name == args[0] {
				return c.Run(ctx, env, args[1:])
			}
		}
	}
	prog := strings.TrimSpace(env.Prog + " " + group)
	w, code := env.Stderr, ExitConfig
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help"):
		w, code = env.Stdout, ExitOK
	case len(args) > 0:
		fmt.Fprintf(w, "%s: unknown %s %q\n", env.Prog, strings.TrimSpace(group+" command"), args[0])
	}
	fmt.Fprintf(w, "Usage: %s COMMAND [options]   (%s COMMAND --help for the options)\n\nCommands:\n", prog, prog)
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.Name))
	}
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, c.Synopsis)
	}
	return code
}

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// WriteTable writes a header and rows as aligned columns.
func WriteTable(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range append([][]string{header}, rows...) {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
}

// WritePairs writes name-value rows as two aligned columns.
func WritePairs(w io.Writer, rows [][2]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	_ = tw.Flush()
}

// YesNo words a boolean for a table.
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Time words an instant for a table, in UTC; "-" when zero.
func Time(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// OnSignal calls fn each time the process receives sig, until ctx ends.
func OnSignal(ctx context.Context, sig os.Signal, fn func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sig)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			fn()
		}
	}
}

// VersionLine is the line a binary's version command prints: its name and
// release, the commit and time it was built from (with +dirty for
// uncommitted changes) when the build recorded them, the Go release and the
// platform.
func VersionLine(prog, release string) string {
	rev, at, dirty := "", "", false
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	line := prog + " " + release
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "+dirty"
		}
		line += " (" + rev + " " + at + ")"
	}
	return fmt.Sprintf("%s %s %s/%s", line, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// ErrReported is a failure the command has already explained on its
// output (a refused signature, a broken chain): Exit returns ExitFailed
// and prints nothing more.
var ErrReported = errors.New("failure reported")

// usageError is an error for the operator to fix.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// Usage marks err as the operator's to fix: a wrong option, a missing
// file. Exit returns ExitConfig for it.
func Usage(err error) error { return usageError{err} }

// Exit prints err, if any, and returns the command's exit code: ExitOK for
// nil, ExitConfig for Problems and errors marked with Usage, ExitFailed
// otherwise (ErrReported without a message).
func (env *Env) Exit(err error) int {
	var p Problems
	var u usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrReported):
		return ExitFailed
	case errors.As(err, &p):
		env.Problems(p)
		return ExitConfig
	case errors.As(err, &u):
		return env.Fail(ExitConfig, err)
	}
	return env.Fail(ExitFailed, err)
}

// Run is the shape of every subcommand: parse s from args (printing the
// usage for --help), let check add the command's own problems, report all
// of them at once, and only then run fn, whose error decides the exit code
// (Exit). check and fn may be nil.
func (env *Env) Run(s *Set, args []string, check func(p *Problems), fn func() error) int {
	p, ok := env.Parse(s, args)
	if !ok {
		return ExitOK
	}
	if check != nil {
		check(&p)
	}
	if !env.Report(p) {
		return ExitConfig
	}
	if fn == nil {
		return ExitOK
	}
	return env.Exit(fn())
}
