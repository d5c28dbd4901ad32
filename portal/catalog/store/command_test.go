package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosid/gosid/portal/catalog"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// services runs `gosid portal services ARGS` on db as cmd/gosid does, and
// returns the exit code, stdout and stderr.
func services(db *sqldb.DB, args ...string) (int, string, string) {
	var out, errs bytes.Buffer
	env := &cmdline.Env{Prog: "gosid", Stdout: &out, Stderr: &errs}
	ctx := context.Background()
	code := cmdline.Dispatch(ctx, env, "portal services", args, Commands(func(ctx context.Context, env *cmdline.Env, args []string, c *Command) int {
		s := cmdline.NewSet("gosid "+c.Name, c.Synopsis)
		var asJSON bool
		s.Bool(&asJSON, "json", false, "Print JSON.")
		c.Register(s)
		return env.Run(s, args, c.Check, func() error {
			return c.Run(ctx, Env{DB: db, Out: env.Stdout, JSON: asJSON})
		})
	}))
	return code, out.String(), errs.String()
}

func TestCommands(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		dir := t.TempDir()
		var names []string
		for _, f := range catalog.DefaultFiles() {
			name := filepath.Join(dir, filepath.Base(f.Name))
			if err := os.WriteFile(name, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		}
		broken := filepath.Join(dir, "broken.yaml")
		if err := os.WriteFile(broken, []byte("services:\n- id: x1\n  titel: {ru: X}\n"), 0o644); err != nil {
			t.Fatal(err)
		}

		// A broken file among good ones: exit 2, the file named, nothing written.
		code, _, stderr := services(db, append([]string{"import"}, append(names, broken, filepath.Join(dir, "missing.yaml"))...)...)
		if code != cmdline.ExitConfig || !strings.Contains(stderr, "broken.yaml: line 3: field titel not found") ||
			!strings.Contains(stderr, "missing.yaml: open") {
			t.Fatalf("broken import: %d %q", code, stderr)
		}
		if v, _ := NewStore(db, nil).Version(context.Background()); v != 0 {
			t.Fatalf("a refused import wrote version %d", v)
		}
		if code, _, stderr := services(db, "import"); code != cmdline.ExitConfig || !strings.Contains(stderr, "give one or more YAML files") {
			t.Fatalf("import without files: %d %q", code, stderr)
		}

		code, stdout, stderr := services(db, append([]string{"import"}, names...)...)
		if code != 0 || !strings.Contains(stdout, "the catalogue is at version 1") {
			t.Fatalf("import: %d %q %q", code, stdout, stderr)
		}

		code, stdout, _ = services(db, "list", "--category", "passports")
		if code != 0 || !strings.Contains(stdout, "passport-20") || strings.Contains(stdout, "egrn-extract") {
			t.Fatalf("list: %d %q", code, stdout)
		}
		code, stdout, _ = services(db, "list", "--json", "--agency", "fns")
		var rows []struct{ ID, Agency string }
		if err := json.Unmarshal([]byte(stdout), &rows); code != 0 || err != nil || len(rows) != 4 || rows[0].Agency != "fns" {
			t.Fatalf("list --json: %d %v %q", code, err, stdout)
		}
		if code, _, stderr := services(db, "list", "--category", "nowhere"); code != cmdline.ExitConfig || !strings.Contains(stderr, "flag --category: unknown category") {
			t.Fatalf("list of an unknown category: %d %q", code, stderr)
		}

		out := filepath.Join(dir, "out")
		code, stdout, _ = services(db, "export", out)
		defs, _ := catalog.Defaults()
		if code != 0 || !strings.Contains(stdout, fmt.Sprintf("Exported %d services", len(defs))) {
			t.Fatalf("export: %d %q", code, stdout)
		}
		exported, _ := filepath.Glob(filepath.Join(out, "*.yaml"))
		code, stdout, _ = services(db, append([]string{"import", "--json"}, exported...)...)
		if code != 0 || !strings.Contains(stdout, `"version": 2`) {
			t.Fatalf("import of the export: %d %q", code, stdout)
		}
		if code, _, _ := services(db, "export"); code != cmdline.ExitConfig {
			t.Fatalf("export without a directory: %d", code)
		}
	})
}
