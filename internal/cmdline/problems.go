package cmdline

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrHelp is returned by [Set.Parse] when -h, -help or --help was given. The
// caller prints [Set.Usage] to standard output and exits with status 0.
var ErrHelp = errors.New("cmdline: help requested")

// Problems lists everything wrong with a configuration, one line per problem,
// each line naming where the bad value came from. It is returned by
// [Set.Parse] as an error; the caller may append its own problems and then
// print every line and exit with status 2.
//
// Parse returns only nil, ErrHelp or Problems, so a caller reads:
//
//	err := s.Parse(os.Args[2:], os.Environ())
//	if errors.Is(err, cmdline.ErrHelp) {
//		fmt.Print(s.Usage())
//		os.Exit(0)
//	}
//	var probs cmdline.Problems
//	errors.As(err, &probs) // leaves probs nil when err is nil
//	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
//		probs.Add("%s: cannot create %s: %v", s.Source("data-dir"), c.DataDir, err)
//	}
//	for _, p := range probs {
//		fmt.Fprintln(os.Stderr, p)
//	}
//	if len(probs) > 0 {
//		os.Exit(2)
//	}
type Problems []string

// Add appends one problem formatted by fmt.Sprintf. Line breaks in the result
// are replaced by spaces so that every problem stays on one line.
func (p *Problems) Add(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	line = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(line)
	*p = append(*p, line)
}

// Error joins the problems with "\n".
func (p Problems) Error() string {
	return strings.Join(p, "\n")
}

// Err returns p as an error, or nil when there is no problem. Use it instead
// of returning p directly, which would make a non-nil error of an empty list.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return p
}

// About returns a function that adds a problem with an option of s, named
// where it came from (s.Source): the shape modules validate their own
// settings in, naming options as the command line does.
func (p *Problems) About(s *Set) func(option, message string) {
	return func(option, message string) { p.Add("%s: %s", s.Source(option), message) }
}

// Required adds "SOURCE: required" when value is empty, naming the option
// of s; it reports whether value was given.
func (p *Problems) Required(s *Set, option, value string) bool {
	if value == "" {
		p.Add("%s: required", s.Source(option))
	}
	return value != ""
}

// ReadFile reads the file that the option of s names (path), adding a
// problem naming the option when it cannot. An empty path reads nothing,
// and is a problem when the option is required.
func (p *Problems) ReadFile(s *Set, option, path string, required bool) []byte {
	if path == "" {
		if required {
			p.Required(s, option, path)
		}
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		p.Add("%s: %v", s.Source(option), err)
	}
	return b
}
