package cmdline

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func testEnv(environ ...string) (*Env, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &Env{Prog: "gosid", Environ: environ, Stdout: &out, Stderr: &errOut}, &out, &errOut
}

// TestDispatch: a known command runs with the rest of the arguments; help
// goes to stdout with 0; an unknown or missing command is a usage error on
// stderr naming the group.
func TestDispatch(t *testing.T) {
	var got []string
	cmds := []Command{{Name: "list", Synopsis: "list them", Run: func(_ context.Context, _ *Env, args []string) int {
		got = args
		return 7
	}}}
	env, out, errOut := testEnv()
	if code := Dispatch(context.Background(), env, "keys", []string{"list", "--json"}, cmds); code != 7 || len(got) != 1 || got[0] != "--json" {
		t.Fatalf("list: code %d, args %v", code, got)
	}
	if code := Dispatch(context.Background(), env, "keys", []string{"--help"}, cmds); code != ExitOK || !strings.Contains(out.String(), "Usage: gosid keys COMMAND") || !strings.Contains(out.String(), "list  list them") {
		t.Fatalf("help: code %d\n%s", code, out)
	}
	if code := Dispatch(context.Background(), env, "keys", []string{"frob"}, cmds); code != ExitConfig || !strings.Contains(errOut.String(), `gosid: unknown keys command "frob"`) {
		t.Fatalf("unknown: code %d\n%s", code, errOut)
	}
	errOut.Reset()
	if code := Dispatch(context.Background(), env, "", []string{"frob"}, cmds); code != ExitConfig || !strings.Contains(errOut.String(), `gosid: unknown command "frob"`) {
		t.Fatalf("unknown top-level: code %d\n%s", code, errOut)
	}
	if code := Dispatch(context.Background(), env, "", nil, cmds); code != ExitConfig {
		t.Fatalf("no command: code %d", code)
	}
}

// TestRunAndExit: every problem is reported before anything runs; the
// error of the command decides the exit code.
func TestRunAndExit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		problem bool
		err     error
		code    int
		stderr  string
	}{
		{"ok", nil, false, nil, ExitOK, ""},
		{"problems", nil, true, nil, ExitConfig, "gosid: --out (default): required"},
		{"bad flag", []string{"--nope"}, false, nil, ExitConfig, "--nope"},
		{"usage", nil, false, Usage(errors.New("no such file")), ExitConfig, "gosid: no such file"},
		{"failed", nil, false, errors.New("database down"), ExitFailed, "gosid: database down"},
		{"reported", nil, false, ErrReported, ExitFailed, ""},
		{"problems from fn", nil, false, Problems{"a", "b"}, ExitConfig, "gosid: a\ngosid: b"},
		{"help", []string{"--help"}, true, nil, ExitOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _, errOut := testEnv()
			var out string
			s := NewSet("gosid x", "X.")
			s.String(&out, "out", "", "Out.")
			ran := false
			code := env.Run(s, tc.args, func(p *Problems) {
				if tc.problem {
					p.Required(s, "out", out)
				}
			}, func() error { ran = true; return tc.err })
			if code != tc.code || !strings.Contains(errOut.String(), tc.stderr) || (tc.stderr == "" && errOut.Len() > 0) {
				t.Fatalf("code %d, want %d; stderr %q, want %q", code, tc.code, errOut, tc.stderr)
			}
			if want := !tc.problem && tc.args == nil; ran != want {
				t.Fatalf("ran %v with code %d", ran, code)
			}
		})
	}
}

func TestGetenvAndTables(t *testing.T) {
	env, out, _ := testEnv("USER=alice", "X=1", "USER=bob")
	if env.Getenv("USER") != "bob" || env.Getenv("NOPE") != "" {
		t.Fatalf("Getenv: %q %q", env.Getenv("USER"), env.Getenv("NOPE"))
	}
	WriteTable(out, []string{"ID", "NAME"}, [][]string{{"1", "Иван"}, {"22", "x"}})
	WritePairs(out, [][2]string{{"id", "1"}, {"longer", "2"}})
	want := "ID  NAME\n1   Иван\n22  x\nid      1\nlonger  2\n"
	if out.String() != want {
		t.Fatalf("tables:\n%q\nwant\n%q", out, want)
	}
	if !strings.HasPrefix(VersionLine("gosid", "dev"), "gosid dev ") {
		t.Fatal(VersionLine("gosid", "dev"))
	}
}
