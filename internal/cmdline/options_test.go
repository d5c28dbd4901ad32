package cmdline

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"
)

// testConfig holds one option of every kind.
type testConfig struct {
	Addr     string
	Password string
	Conns    int
	Dev      bool
	Rotation time.Duration
	Format   string
	URIs     []string
}

// newTestSet returns a Set of every kind whose config file is files[path].
func newTestSet(c *testConfig, files map[string]string) *Set {
	s := NewSet("gosid serve", "Runs the identity provider and the portal.")
	s.String(&c.Addr, "addr", "localhost:8080", "Address to listen on.")
	s.SecretString(&c.Password, "smtp-password", "", "Password for the SMTP server.")
	s.Int(&c.Conns, "db-max-conns", 20, "Most open database connections.")
	s.Bool(&c.Dev, "dev", false, "Development mode.")
	s.Duration(&c.Rotation, "key-rotation-period", 90*24*time.Hour, "How often signing keys rotate.")
	s.Enum(&c.Format, "log-format", "text", []string{"text", "json"}, "Log format.")
	s.StringList(&c.URIs, "redirect-uri", []string{"http://localhost:8081/cb"}, "Redirect URI of the portal.")
	s.readFile = func(path string) ([]byte, error) {
		data, ok := files[path]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
		}
		return []byte(data), nil
	}
	return s
}

func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	if err == nil {
		return nil
	}
	var p Problems
	if !errors.As(err, &p) {
		t.Fatalf("Parse returned %T %v, want Problems", err, err)
	}
	if len(p) == 0 {
		t.Fatal("Parse returned an empty Problems as a non-nil error")
	}
	return p
}

func TestDefaults(t *testing.T) {
	var c testConfig
	s := newTestSet(&c, nil)
	if err := s.Parse(nil, nil); err != nil {
		t.Fatal(err)
	}
	want := testConfig{
		Addr: "localhost:8080", Conns: 20, Rotation: 90 * 24 * time.Hour, Format: "text",
		URIs: []string{"http://localhost:8081/cb"},
	}
	if !equal(c, want) {
		t.Errorf("got %+v, want %+v", c, want)
	}
	for _, name := range []string{"addr", "dev", "redirect-uri", "config"} {
		if s.IsSet(name) {
			t.Errorf("IsSet(%q) = true with no source", name)
		}
	}
	if got, want := s.Source("addr"), "--addr (default)"; got != want {
		t.Errorf("Source = %q, want %q", got, want)
	}
	// The default slice is not shared with the caller's variable.
	c.URIs[0] = "changed"
	if err := s.Parse(nil, nil); err != nil {
		t.Fatal(err)
	}
	if c.URIs[0] != "http://localhost:8081/cb" {
		t.Errorf("default list was modified through the variable: %q", c.URIs)
	}
}

func equal(a, b testConfig) bool {
	return a.Addr == b.Addr && a.Password == b.Password && a.Conns == b.Conns && a.Dev == b.Dev &&
		a.Rotation == b.Rotation && a.Format == b.Format && slices.Equal(a.URIs, b.URIs)
}

// TestPrecedence checks flag > environment > file > default for every kind.
func TestPrecedence(t *testing.T) {
	type source struct {
		flag []string // args, without --config
		env  string   // environment value
		file string   // YAML value
	}
	cases := []struct {
		name   string
		option string
		src    source
		get    func(testConfig) any
		want   any
		where  string
	}{
		{"string flag", "addr", source{[]string{"--addr", ":1"}, ":2", `":3"`}, func(c testConfig) any { return c.Addr }, ":1", "flag --addr"},
		{"string env", "addr", source{nil, ":2", `":3"`}, func(c testConfig) any { return c.Addr }, ":2", "GOSID_ADDR"},
		{"string file", "addr", source{nil, "", `":3"`}, func(c testConfig) any { return c.Addr }, ":3", "config file c.yaml: line 1: addr"},
		{"string default", "addr", source{}, func(c testConfig) any { return c.Addr }, "localhost:8080", "--addr (default)"},

		{"secret flag", "smtp-password", source{[]string{"--smtp-password=a"}, "b", "c"}, func(c testConfig) any { return c.Password }, "a", "flag --smtp-password"},
		{"secret env", "smtp-password", source{nil, "b", "c"}, func(c testConfig) any { return c.Password }, "b", "GOSID_SMTP_PASSWORD"},
		{"secret file", "smtp-password", source{nil, "", "c"}, func(c testConfig) any { return c.Password }, "c", "config file c.yaml: line 1: smtp-password"},

		{"int flag", "db-max-conns", source{[]string{"-db-max-conns", "1"}, "2", "3"}, func(c testConfig) any { return c.Conns }, 1, "flag --db-max-conns"},
		{"int env", "db-max-conns", source{nil, "2", "3"}, func(c testConfig) any { return c.Conns }, 2, "GOSID_DB_MAX_CONNS"},
		{"int file", "db-max-conns", source{nil, "", "3"}, func(c testConfig) any { return c.Conns }, 3, "config file c.yaml: line 1: db-max-conns"},
		{"int default", "db-max-conns", source{}, func(c testConfig) any { return c.Conns }, 20, "--db-max-conns (default)"},

		{"bool flag bare", "dev", source{[]string{"--dev"}, "false", "false"}, func(c testConfig) any { return c.Dev }, true, "flag --dev"},
		{"bool flag false", "dev", source{[]string{"-dev=false"}, "true", "true"}, func(c testConfig) any { return c.Dev }, false, "flag --dev"},
		{"bool env", "dev", source{nil, "yes", "false"}, func(c testConfig) any { return c.Dev }, true, "GOSID_DEV"},
		{"bool file", "dev", source{nil, "", "true"}, func(c testConfig) any { return c.Dev }, true, "config file c.yaml: line 1: dev"},

		{"duration flag", "key-rotation-period", source{[]string{"--key-rotation-period=1d12h"}, "2h", "3h"}, func(c testConfig) any { return c.Rotation }, 36 * time.Hour, "flag --key-rotation-period"},
		{"duration env", "key-rotation-period", source{nil, "2h", "3h"}, func(c testConfig) any { return c.Rotation }, 2 * time.Hour, "GOSID_KEY_ROTATION_PERIOD"},
		{"duration file", "key-rotation-period", source{nil, "", "30d"}, func(c testConfig) any { return c.Rotation }, 30 * 24 * time.Hour, "config file c.yaml: line 1: key-rotation-period"},

		{"enum flag", "log-format", source{[]string{"--log-format", "json"}, "text", "text"}, func(c testConfig) any { return c.Format }, "json", "flag --log-format"},
		{"enum env", "log-format", source{nil, "json", "text"}, func(c testConfig) any { return c.Format }, "json", "GOSID_LOG_FORMAT"},
		{"enum file", "log-format", source{nil, "", "json"}, func(c testConfig) any { return c.Format }, "json", "config file c.yaml: line 1: log-format"},

		{"list flag", "redirect-uri", source{[]string{"--redirect-uri", "a", "--redirect-uri=b,c"}, "d,e", "[f]"}, func(c testConfig) any { return strings.Join(c.URIs, "|") }, "a|b,c", "flag --redirect-uri"},
		{"list env", "redirect-uri", source{nil, " d , e,, ", "[f]"}, func(c testConfig) any { return strings.Join(c.URIs, "|") }, "d|e", "GOSID_REDIRECT_URI"},
		{"list file seq", "redirect-uri", source{nil, "", "[f, 'g,h']"}, func(c testConfig) any { return strings.Join(c.URIs, "|") }, "f|g,h", "config file c.yaml: line 1: redirect-uri"},
		{"list file string", "redirect-uri", source{nil, "", "f, g"}, func(c testConfig) any { return strings.Join(c.URIs, "|") }, "f|g", "config file c.yaml: line 1: redirect-uri"},
		{"list flag empty clears", "redirect-uri", source{[]string{"--redirect-uri="}, "d", ""}, func(c testConfig) any { return len(c.URIs) }, 0, "flag --redirect-uri"},
		{"list default", "redirect-uri", source{}, func(c testConfig) any { return strings.Join(c.URIs, "|") }, "http://localhost:8081/cb", "--redirect-uri (default)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c testConfig
			files := map[string]string{}
			args := slices.Clone(tc.src.flag)
			if tc.src.file != "" {
				files["c.yaml"] = tc.option + ": " + tc.src.file + "\n"
				args = append(args, "--config", "c.yaml")
			}
			var env []string
			if tc.src.env != "" {
				env = append(env, envName(tc.option)+"="+tc.src.env)
			}
			s := newTestSet(&c, files)
			if err := s.Parse(args, env); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := tc.get(c); got != tc.want {
				t.Errorf("value = %#v, want %#v", got, tc.want)
			}
			if got := s.Source(tc.option); got != tc.where {
				t.Errorf("Source = %q, want %q", got, tc.where)
			}
			if got, want := s.IsSet(tc.option), !strings.HasSuffix(tc.where, "(default)"); got != want {
				t.Errorf("IsSet = %v, want %v", got, want)
			}
		})
	}
}

func TestConfigFileLocation(t *testing.T) {
	files := map[string]string{"flag.yaml": "addr: flag-file\n", "env.yaml": "addr: env-file\n"}
	cases := []struct {
		args []string
		env  []string
		want string
		file string
	}{
		{[]string{"--config=flag.yaml"}, []string{"GOSID_CONFIG=env.yaml"}, "flag-file", "flag.yaml"},
		{nil, []string{"GOSID_CONFIG=env.yaml"}, "env-file", "env.yaml"},
		{[]string{"--config="}, []string{"GOSID_CONFIG=env.yaml"}, "localhost:8080", ""},
		{nil, []string{"GOSID_CONFIG=env.yaml", "GOSID_CONFIG=flag.yaml"}, "env-file", "env.yaml"},
	}
	for _, tc := range cases {
		var c testConfig
		s := newTestSet(&c, files)
		if err := s.Parse(tc.args, tc.env); err != nil {
			t.Fatalf("%q %q: %v", tc.args, tc.env, err)
		}
		if c.Addr != tc.want || s.ConfigFile() != tc.file {
			t.Errorf("%q %q: addr %q from file %q, want %q from %q", tc.args, tc.env, c.Addr, s.ConfigFile(), tc.want, tc.file)
		}
	}
}

// TestProblems checks the problem lines of bad input, every one reported.
func TestProblems(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		env   []string
		files map[string]string
		want  []string
	}{
		{
			name:  "three sources at once",
			args:  []string{"--log-format", "xml", "--config", "/etc/gosid.yaml"},
			env:   []string{"GOSID_KEY_ROTATION_PERIOD=ninety"},
			files: map[string]string{"/etc/gosid.yaml": "# comment\naddr: :80\ndb-max-conns: many\n"},
			want: []string{
				`flag --log-format: "xml" is not one of text, json`,
				`GOSID_KEY_ROTATION_PERIOD: "ninety" is not a duration (e.g. 90d, 12h, 30m)`,
				`config file /etc/gosid.yaml: line 3: db-max-conns: "many" is not an integer`,
			},
		},
		{
			name: "overridden bad values are still problems",
			args: []string{"--db-max-conns=5"},
			env:  []string{"GOSID_DB_MAX_CONNS=five"},
			want: []string{`GOSID_DB_MAX_CONNS: "five" is not an integer`},
		},
		{
			name: "unknown flags",
			args: []string{"--adr", ":8080", "-Data_Dir=x", "--dev"},
			want: []string{
				`unknown flag --adr (did you mean --addr?)`,
				`unknown flag "-Data_Dir"`,
			},
		},
		{
			name: "missing values",
			args: []string{"--log-format", "--dev", "--addr"},
			want: []string{
				`flag --log-format needs a value (write --log-format=VALUE for a value that starts with -)`,
				`flag --addr needs a value (write --addr=VALUE for a value that starts with -)`,
			},
		},
		{
			name: "missing value before --",
			args: []string{"--addr", "--", "x"},
			want: []string{
				`flag --addr needs a value (write --addr=VALUE for a value that starts with -)`,
				`unexpected argument "x": gosid serve takes no arguments`,
			},
		},
		{
			name: "bad values",
			args: []string{"--dev=maybe", "--key-rotation-period=90", "--db-max-conns=99999999999999999999", "--key-rotation-period=d"},
			env:  []string{"GOSID_KEY_ROTATION_PERIOD=90days", "GOSID_LOG_FORMAT=JSON"},
			want: []string{
				`flag --dev: "maybe" is not a boolean (true or false)`,
				`flag --key-rotation-period: "90" is not a duration (e.g. 90d, 12h, 30m)`,
				`flag --db-max-conns: "99999999999999999999" is out of range`,
				`flag --key-rotation-period: "d" is not a duration (e.g. 90d, 12h, 30m)`,
				`GOSID_KEY_ROTATION_PERIOD: "90days" is not a duration (e.g. 90d, 12h, 30m)`,
				`GOSID_LOG_FORMAT: "JSON" is not one of text, json`,
			},
		},
		{
			name: "positional arguments not allowed",
			args: []string{"serve", "--dev", "extra"},
			want: []string{
				`unexpected argument "serve": gosid serve takes no arguments`,
				`unexpected argument "extra": gosid serve takes no arguments`,
			},
		},
		{
			name: "bool flag does not take the next argument",
			args: []string{"--dev", "false"},
			want: []string{`unexpected argument "false": gosid serve takes no arguments`},
		},
		{
			name: "missing config file",
			args: []string{"--config", "/x.yaml"},
			want: []string{`config file /x.yaml: cannot read: no such file`},
		},
		{
			name:  "unknown and misplaced keys",
			env:   []string{"GOSID_CONFIG=c.yaml"},
			files: map[string]string{"c.yaml": "adr: x\nconfig: other.yaml\ndata_dir: y\naddr: a\naddr: b\n"},
			want: []string{
				`config file c.yaml: line 1: unknown key "adr" (did you mean "addr"?)`,
				`config file c.yaml: line 2: "config" cannot be set in a config file; use --config or GOSID_CONFIG`,
				`config file c.yaml: line 3: unknown key "data_dir"`,
				`config file c.yaml: line 5: key "addr" appears again (first on line 4)`,
			},
		},
		{
			name:  "yaml syntax error",
			env:   []string{"GOSID_CONFIG=c.yaml"},
			files: map[string]string{"c.yaml": "addr: a\ndev: true\nlog-format: json: text\n"},
			want:  []string{`config file c.yaml: line 3: mapping values are not allowed in this context`},
		},
		{
			name:  "yaml not a mapping",
			env:   []string{"GOSID_CONFIG=c.yaml"},
			files: map[string]string{"c.yaml": "- addr\n- dev\n"},
			want:  []string{`config file c.yaml: line 1: expected a mapping of option names to values, as in "data-dir: /var/lib/gosid"`},
		},
		{
			name:  "yaml value shapes",
			env:   []string{"GOSID_CONFIG=c.yaml"},
			files: map[string]string{"c.yaml": "addr:\ndev: [true]\nredirect-uri: {a: b}\nlog-format: ~\nkey-rotation-period: 1d12h\ndb-max-conns: [1]\n"},
			want: []string{
				`config file c.yaml: line 1: addr: has no value`,
				`config file c.yaml: line 2: dev: must be a single value, not a list or mapping`,
				`config file c.yaml: line 3: redirect-uri: must be a list of strings or one comma-separated string`,
				`config file c.yaml: line 4: log-format: has no value`,
				`config file c.yaml: line 6: db-max-conns: must be a single value, not a list or mapping`,
			},
		},
		{
			name:  "yaml list of non-strings",
			env:   []string{"GOSID_CONFIG=c.yaml"},
			files: map[string]string{"c.yaml": "redirect-uri:\n  - a\n  - [b]\n"},
			want:  []string{`config file c.yaml: line 1: redirect-uri: must be a list of strings`},
		},
		{
			name:  "two yaml documents",
			env:   []string{"GOSID_CONFIG=c.yaml"},
			files: map[string]string{"c.yaml": "addr: a\n---\ndev: true\n"},
			want:  []string{`config file c.yaml: line 2: a second YAML document; put every option in one mapping`},
		},
		{
			name: "bad flag syntax",
			args: []string{"---addr=x", "-=y"},
			want: []string{`unknown flag "---addr" (did you mean --addr?)`, `unknown flag "-"`},
		},
		{
			name: "problem lines never break",
			args: []string{"--log-format=a\nb", "--x\ny=z"},
			want: []string{`flag --log-format: "a\nb" is not one of text, json`, `unknown flag "--x\ny"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c testConfig
			s := newTestSet(&c, tc.files)
			err := s.Parse(tc.args, tc.env)
			got := problemsOf(t, err)
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if err != nil && err.Error() != strings.Join(tc.want, "\n") {
				t.Errorf("Error() = %q", err.Error())
			}
			for _, line := range got {
				if strings.ContainsAny(line, "\r\n") {
					t.Errorf("problem spans lines: %q", line)
				}
			}
		})
	}
}

func TestUnknownEnvironmentIgnored(t *testing.T) {
	var c testConfig
	s := newTestSet(&c, nil)
	env := []string{"GOSID_TEST_DATABASE_URL=postgres://x", "GOSID_E2E=1", "GOSID_ADMIN_EMAIL=a@b", "PATH=/bin", "GOSID_DEV", "GOSID_ADDR=:9", "GOSID_DB_MAX_CONNS="}
	if err := s.Parse(nil, env); err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9" {
		t.Errorf("addr = %q", c.Addr)
	}
	if s.IsSet("db-max-conns") || c.Conns != 20 {
		t.Errorf("an empty variable counted as set: %d", c.Conns)
	}
}

func TestPositionals(t *testing.T) {
	cases := []struct {
		args     []string
		want     []string
		wantAddr string
	}{
		{[]string{"alice", "--addr", ":1", "bob"}, []string{"alice", "bob"}, ":1"},
		{[]string{"--addr=:1", "--", "--addr", "-h", "--"}, []string{"--addr", "-h", "--"}, ":1"},
		{[]string{"-", "x"}, []string{"-", "x"}, "localhost:8080"},
		{[]string{"--addr", "-5"}, nil, "-5"},
	}
	for _, tc := range cases {
		var c testConfig
		s := newTestSet(&c, nil)
		s.AllowArgs("USERNAME...")
		if err := s.Parse(tc.args, nil); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if !slices.Equal(s.Args(), tc.want) || c.Addr != tc.wantAddr {
			t.Errorf("%q: args %q addr %q, want %q %q", tc.args, s.Args(), c.Addr, tc.want, tc.wantAddr)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"--help"}, {"-help"},
		{"--log-format=xml", "--unknown", "--help"}, // help wins over problems
		{"--addr", "-h"},
	} {
		var c testConfig
		s := newTestSet(&c, nil)
		if err := s.Parse(args, []string{"GOSID_DB_MAX_CONNS=x"}); !errors.Is(err, ErrHelp) {
			t.Errorf("%q: err = %v, want ErrHelp", args, err)
		}
	}
	var c testConfig
	s := newTestSet(&c, nil)
	s.AllowArgs("NAME")
	if err := s.Parse([]string{"--", "-h"}, nil); err != nil || !slices.Equal(s.Args(), []string{"-h"}) {
		t.Errorf("-h after --: err %v, args %q", err, s.Args())
	}
}

func TestSecretNeverEchoed(t *testing.T) {
	const secret = "hunter2-s3cret"
	cases := []struct {
		name  string
		args  []string
		env   []string
		files map[string]string
	}{
		{name: "misspelt flag with =", args: []string{"--smtp-pasword=" + secret}},
		{name: "misspelt flag and value", args: []string{"--smtp-pasword", secret}},
		{name: "odd flag", args: []string{"--SMTP_PASSWORD=" + secret}},
		{name: "misspelt key", env: []string{"GOSID_CONFIG=c.yaml"}, files: map[string]string{"c.yaml": "smtp-pasword: " + secret + "\n"}},
		{name: "list in file", env: []string{"GOSID_CONFIG=c.yaml"}, files: map[string]string{"c.yaml": "smtp-password: [" + secret + "]\n"}},
		{name: "mapping in file", env: []string{"GOSID_CONFIG=c.yaml"}, files: map[string]string{"c.yaml": "smtp-password: {" + secret + ": 1}\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c testConfig
			s := newTestSet(&c, tc.files)
			err := s.Parse(tc.args, tc.env)
			if p := problemsOf(t, err); len(p) == 0 {
				t.Fatal("no problem reported")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("problem shows the secret: %v", err)
			}
		})
	}

	// A secret option of a kind that can be malformed names the problem
	// without its value.
	var n int
	s := NewSet("gosid test", "")
	s.Int(&n, "pin", 0, "")
	s.byName["pin"].secret = true
	err := s.Parse([]string{"--pin", secret}, []string{"GOSID_PIN=" + secret})
	want := []string{
		"flag --pin: the value is invalid (not shown because it is secret)",
		"GOSID_PIN: the value is invalid (not shown because it is secret)",
	}
	if got := problemsOf(t, err); !slices.Equal(got, want) {
		t.Errorf("problems %q, want %q", got, want)
	}

	// Usage shows no secret default.
	var p string
	s = NewSet("gosid test", "")
	s.SecretString(&p, "smtp-password", secret, "SMTP password.")
	if u := s.Usage(); strings.Contains(u, secret) || !strings.Contains(u, "GOSID_SMTP_PASSWORD") {
		t.Errorf("usage:\n%s", u)
	}
}

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"1.5d", 36 * time.Hour, true},
		{"0.1d", 144 * time.Minute, true},
		{"1d1h30m", 25*time.Hour + 30*time.Minute, true},
		{"-2d", -48 * time.Hour, true},
		{" 12h ", 12 * time.Hour, true},
		{"30m", 30 * time.Minute, true},
		{"0", 0, true},
		{"90", 0, false},
		{"ninety", 0, false},
		{"d", 0, false},
		{"1d-1h", 0, false},
		{"1h1d", 0, false},
		{"1d1d", 0, false},
		{"1e3d", 0, false},
		{"..d", 0, false},
		{"106751d", 106751 * 24 * time.Hour, true},
		{"106752d", 0, false},
		{"106751d23h47m16s", 0, true},
		{"106751d23h48m", 0, false},
		{"", 0, false},
	}
	for _, tc := range cases {
		got, ok := parseDuration(tc.in)
		if ok != tc.ok || (tc.ok && tc.want != 0 && got != tc.want) {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	cases := map[time.Duration]string{
		90 * 24 * time.Hour:           "90d",
		36 * time.Hour:                "1d12h",
		30 * time.Minute:              "30m",
		90 * time.Minute:              "1h30m",
		12 * time.Hour:                "12h",
		1500 * time.Millisecond:       "1.5s",
		-48 * time.Hour:               "-2d",
		24*time.Hour + 30*time.Second: "1d30s",
		24*time.Hour + 5*time.Minute:  "1d5m",
		time.Duration(-1 << 63):       time.Duration(-1 << 63).String(),
	}
	for d, want := range cases {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
		if d != time.Duration(-1<<63) {
			if back, ok := parseDuration(want); !ok || back != d {
				t.Errorf("parseDuration(%q) = %v, %v; want %v", want, back, ok, d)
			}
		}
	}
}

func TestUsage(t *testing.T) {
	var c testConfig
	s := newTestSet(&c, nil)
	s.AllowArgs("[USERNAME...]")
	u := s.Usage()
	for _, want := range []string{
		"Usage: gosid serve [options] [USERNAME...]\n",
		"Runs the identity provider and the portal.",
		"--config file",
		"GOSID_CONFIG",
		"--addr string",
		"GOSID_ADDR",
		"default localhost:8080",
		"--key-rotation-period duration",
		"default 90d",
		"--log-format text|json",
		"One of: text, json.",
		"default http://localhost:8081/cb",
		"GOSID_REDIRECT_URI",
		"Address to listen on.",
	} {
		if !strings.Contains(u, want) {
			t.Errorf("usage lacks %q:\n%s", want, u)
		}
	}
	// The environment column is aligned: every option line has its
	// variable at the same offset.
	col := -1
	for _, line := range strings.Split(u, "\n") {
		if !strings.HasPrefix(line, "  --") {
			continue
		}
		i := strings.Index(line, "GOSID_")
		if col == -1 {
			col = i
		}
		if i != col {
			t.Errorf("misaligned: %q (want GOSID_ at %d)", line, col)
		}
	}
	// Usage shows defaults, not parsed values.
	if err := s.Parse([]string{"--addr=:9999"}, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.Usage(), "9999") {
		t.Error("usage shows a parsed value")
	}
}

func TestRegistrationPanics(t *testing.T) {
	var v string
	for _, tc := range []struct {
		name string
		reg  func(s *Set)
	}{
		{"upper case", func(s *Set) { s.String(&v, "Addr", "", "") }},
		{"underscore", func(s *Set) { s.String(&v, "data_dir", "", "") }},
		{"duplicate", func(s *Set) { s.String(&v, "a", "", ""); s.String(&v, "a", "", "") }},
		{"config", func(s *Set) { s.String(&v, "config", "", "") }},
		{"help", func(s *Set) { s.String(&v, "help", "", "") }},
		{"enum default", func(s *Set) { s.Enum(&v, "f", "xml", []string{"text"}, "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.reg(NewSet("gosid test", ""))
		})
	}
}

func TestProblemsAdd(t *testing.T) {
	var p Problems
	if p.Err() != nil {
		t.Fatal("empty Problems is an error")
	}
	p.Add("%s: cannot create %s", "flag --data-dir", "/x")
	p.Add("two\nlines")
	if err := p.Err(); err == nil || err.Error() != "flag --data-dir: cannot create /x\ntwo lines" {
		t.Errorf("Err() = %v", err)
	}
}
