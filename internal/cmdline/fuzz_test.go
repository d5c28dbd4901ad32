package cmdline

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary arguments (one per line), environment (one
// variable per line) and YAML; Parse must not panic and must return nil,
// ErrHelp or a non-empty Problems of single lines.
func FuzzParse(f *testing.F) {
	f.Add("--addr\n:8080\n--dev", "GOSID_LOG_FORMAT=json", []byte("db-max-conns: 5\nredirect-uri: [a, b]\n"), false)
	f.Add("--key-rotation-period=1d12h\n--\n-x", "GOSID_REDIRECT_URI=a,b", []byte("key-rotation-period: 90d\n"), true)
	f.Add("--config=other.yaml\n--help", "GOSID_CONFIG=", []byte("a: &x [*x]\n"), false)
	f.Add("-dev=maybe\n--smtp-password", "GOSID_DEV=on\nGOSID_DEV=off", []byte("- 1\n---\nb: 2\n"), true)
	f.Add("--redirect-uri=\n-log-format\ntext", "GOSID_DB_MAX_CONNS=99999999999999999999", []byte("smtp-password: !!binary aGk=\n<<: {addr: x}\n"), false)
	f.Fuzz(func(t *testing.T, args, env string, yaml []byte, allowArgs bool) {
		var c testConfig
		s := newTestSet(&c, nil)
		s.readFile = func(string) ([]byte, error) { return yaml, nil }
		if allowArgs {
			s.AllowArgs("ARG...")
		}
		environ := append(strings.Split(env, "\n"), "GOSID_CONFIG=fuzz.yaml")
		err := s.Parse(strings.Split(args, "\n"), environ)
		switch {
		case err == nil, errors.Is(err, ErrHelp):
		default:
			var p Problems
			if !errors.As(err, &p) || len(p) == 0 {
				t.Fatalf("Parse returned %T %v", err, err)
			}
			for _, line := range p {
				if line == "" || strings.ContainsAny(line, "\r\n") {
					t.Fatalf("bad problem line %q", line)
				}
			}
		}
		for _, o := range s.opts {
			s.IsSet(o.name)
			s.Source(o.name)
		}
		_ = s.Usage()
	})
}
