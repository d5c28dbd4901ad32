package gosid_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/gosid/gosid"

// layers are DESIGN.md's arrows: each top-level part of the tree and the
// parts of the repository it may import, besides itself and the standard
// library and third-party modules. internal ← keys ← idp ← verification;
// the portal talks to the identity provider only over HTTP and may use
// the crypto packages of keys; only cmd wires modules together.
var layers = map[string][]string{
	"internal":     {},
	"keys":         {"internal"},
	"idp":          {"internal", "keys"},
	"verification": {"internal", "keys", "idp"},
	"portal":       {"internal", "keys/gost", "keys/cms", "keys/cert"},
	"migrations":   {"internal"},
	"cmd":          {"internal", "keys", "idp", "verification", "portal", "migrations"},
	// Black-box tests start the binary; they may use the platform's test
	// harnesses and the crypto packages to play a certificate holder.
	"e2e": {"internal", "keys"},
}

// harnesses are test-support packages with one more arrow: the database
// harness migrates the schema every module's tests run on. The runner and
// its SQL import nothing but internal/sqldb, so no module comes in.
var harnesses = map[string][]string{
	"internal/sqldb/sqldbtest": {"migrations"},
}

// TestImportGraph fails when a package imports across the map's arrows:
// the portal importing idp, verification or keys internals, anything
// importing cmd, the platform importing a module. Test files count too,
// except that a module's tests may use the platform's harnesses (which
// they may anyway).
func TestImportGraph(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "node_modules" || name == "testdata" || (strings.HasPrefix(name, ".") && p != ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || filepath.Dir(p) == "." {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(p))
		part := strings.SplitN(dir, "/", 2)[0]
		allowed, known := layers[part]
		if !known {
			t.Errorf("%s: the top-level folder %q is not on the map (DESIGN.md); add it to layers with its arrows", p, part)
			return nil
		}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if ip != module && !strings.HasPrefix(ip, module+"/") {
				continue
			}
			checked++
			rel := strings.TrimPrefix(strings.TrimPrefix(ip, module), "/")
			if !may(part, dir, rel, allowed) {
				t.Errorf("%s imports %s: %s may import only itself and %v", p, ip, part, allowed)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d imports of the module checked: the walk missed the tree", checked)
	}
}

// may reports whether a file of dir (in top-level part) may import rel.
func may(part, dir, rel string, allowed []string) bool {
	// A sub-tree's own packages, except cmd's: one command does not import
	// another's internals (Go enforces cmd/gosid/internal already).
	if rel == part || strings.HasPrefix(rel, part+"/") {
		if part == "cmd" {
			return strings.HasPrefix(rel+"/", commandOf(dir)+"/")
		}
		return true
	}
	within := func(a string) bool { return rel == a || strings.HasPrefix(rel, a+"/") }
	return slices.ContainsFunc(allowed, within) || slices.ContainsFunc(harnesses[dir], within)
}

// commandOf is cmd/NAME of a folder under cmd.
func commandOf(dir string) string {
	parts := strings.SplitN(dir, "/", 3)
	if len(parts) < 2 {
		return dir
	}
	return path.Join(parts[0], parts[1])
}

// TestImportGraphRules: the rules themselves refuse what the map forbids,
// so that TestImportGraph cannot pass by allowing everything.
func TestImportGraphRules(t *testing.T) {
	for _, tc := range []struct {
		dir, rel string
		ok       bool
	}{
		{"portal", "idp/account", false},
		{"portal/web", "verification/bank", false},
		{"portal", "keys", false},
		{"portal", "keys/cms", true},
		{"portal", "keys/gost/internal/x", true},
		{"portal", "internal/webui", true},
		{"internal/webui", "idp/session", false},
		{"internal/httpx", "keys", false},
		{"internal/sqldb/sqldbtest", "internal/sqldb", true},
		{"internal/sqldb/sqldbtest", "migrations", true},
		{"internal/sqldb", "migrations", false},
		{"idp/oidc", "cmd/gosid/internal/config", false},
		{"portal", "cmd/gosid", false},
		{"keys", "idp/account", false},
		{"idp/login", "verification", false},
		{"verification", "idp/assurance", true},
		{"idp/esign", "keys/cms", true},
		{"cmd/gosid", "cmd/gosid/internal/config", true},
		{"cmd/gosid-load", "cmd/gosid", false},
		{"migrations", "idp/account", false},
		{"e2e", "cmd/gosid", false},
	} {
		part := strings.SplitN(tc.dir, "/", 2)[0]
		if got := may(part, tc.dir, tc.rel, layers[part]); got != tc.ok {
			t.Errorf("%s importing %s: allowed %v, want %v", tc.dir, tc.rel, got, tc.ok)
		}
	}
}

// routeLine is a line of a doc.go's route table: a method (GET, POST,
// GET/POST, GET|POST…) and a path.
var routeLine = regexp.MustCompile(`^//\t(?:GET|POST|PUT|PATCH|DELETE)(?:[/|](?:GET|POST|PUT|PATCH|DELETE))* +/`)

// TestRouteTables: a package whose doc.go lists its routes lists every
// route it registers with a literal pattern, with its method, so that the
// table a reader trusts stays true.
func TestRouteTables(t *testing.T) {
	pattern := regexp.MustCompile(`\.Handle(?:Func)?\("([A-Z]+) ([^"]+)"`)
	docs, err := filepath.Glob("*/*/doc.go")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("*/doc.go")
	tables := 0
	for _, doc := range append(docs, more...) {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		if !slices.ContainsFunc(lines, routeLine.MatchString) {
			continue
		}
		tables++
		files, _ := filepath.Glob(filepath.Join(filepath.Dir(doc), "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range pattern.FindAllStringSubmatch(string(src), -1) {
				method, path := m[1], m[2]
				listed := slices.ContainsFunc(lines, func(l string) bool {
					i := strings.Index(l+" ", " "+path+" ")
					return i >= 0 && strings.Contains(l[:i+1], method)
				})
				if !listed {
					t.Errorf("%s registers %s %s, which %s does not list", f, method, path, doc)
				}
			}
		}
	}
	if tables < 5 {
		t.Fatalf("only %d route tables found", tables)
	}
}

// maxCommandLines is issue 12's bound on cmd/gosid's code (tests not
// counted): flags, wiring and command-line parsing fit in it; behaviour
// belongs in the modules.
const maxCommandLines = 1500

// TestCommandSize: cmd/gosid, sub-folders included, keeps under
// maxCommandLines lines of non-test Go, counted as wc -l counts them, so
// that logic does not creep back into the binary's wiring.
func TestCommandSize(t *testing.T) {
	lines, files := 0, 0
	err := filepath.WalkDir("cmd/gosid", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		lines += strings.Count(string(b), "\n")
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no Go files under cmd/gosid: the walk missed the command")
	}
	if lines > maxCommandLines {
		t.Errorf("cmd/gosid has %d lines of non-test Go in %d files, over %d: move what is not flags, wiring or command-line parsing into the module it belongs to", lines, files, maxCommandLines)
	}
}

// TestCIFuzzTargets: every fuzz target .ci/run names exists in the package
// it names, so that moving a package cannot break CI after the tests pass.
func TestCIFuzzTargets(t *testing.T) {
	script, err := os.ReadFile(".ci/run")
	if err != nil {
		t.Fatal(err)
	}
	targets := regexp.MustCompile(`"(Fuzz\w+) (\./[\w/]+) \w+"`).FindAllStringSubmatch(string(script), -1)
	if len(targets) == 0 {
		t.Fatal(".ci/run names no fuzz targets; the pattern here no longer matches it")
	}
	for _, m := range targets {
		name, dir := m[1], m[2]
		files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
		if err != nil || len(files) == 0 {
			t.Errorf(".ci/run fuzzes %s in %s: no test files there", name, dir)
			continue
		}
		found := false
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(src), "func "+name+"(f *testing.F)") {
				found = true
			}
		}
		if !found {
			t.Errorf(".ci/run fuzzes %s in %s, which has no such target", name, dir)
		}
	}
}

// TestPackageDocs: every package has a doc.go that carries its package
// comment, where a reader looks first.
func TestPackageDocs(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); name == "node_modules" || name == "testdata" || (strings.HasPrefix(name, ".") && p != ".") {
			return filepath.SkipDir
		}
		files, _ := filepath.Glob(filepath.Join(p, "*.go"))
		code := slices.ContainsFunc(files, func(f string) bool { return !strings.HasSuffix(f, "_test.go") })
		if !code || p == "." {
			return nil
		}
		f, err := parser.ParseFile(fset, filepath.Join(p, "doc.go"), nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Errorf("%s: no doc.go (%v)", p, err)
			return nil
		}
		if f.Doc == nil || !strings.HasPrefix(f.Doc.Text(), "Package "+f.Name.Name+" ") && f.Name.Name != "main" {
			t.Errorf("%s/doc.go: no package comment starting %q", p, "Package "+f.Name.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOneNameForTwoStep: the second factor has one name on every page of
// every module (issue 13: three names for one feature were in use):
// «Двухэтапная проверка» / "Two-step verification". The texts live in the
// modules' catalogs and templates, which this reads.
func TestOneNameForTwoStep(t *testing.T) {
	banned := []string{"двухфактор", "вход с подтверждением", "two-factor"}
	found := 0
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "node_modules" || name == "testdata" || strings.HasPrefix(name, ".") && p != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, "_test.go") || !(strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".html")) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		text := strings.ToLower(string(b))
		for _, w := range banned {
			if strings.Contains(text, w) {
				t.Errorf("%s says %q: the feature is «Двухэтапная проверка» / \"Two-step verification\"", p, w)
			}
		}
		if strings.Contains(text, "двухэтапная проверка") {
			found++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("no page names «Двухэтапная проверка»: the walk missed the texts")
	}
}

// TestScreenshotsLinked: every screenshot in docs/screenshots is listed in
// docs/screenshots.md, and every file the list or the other documents
// link there exists — a page's picture nobody can find, or a link to one
// that was renamed, fails.
func TestScreenshotsLinked(t *testing.T) {
	files, err := os.ReadDir(filepath.Join("docs", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	gallery, err := os.ReadFile(filepath.Join("docs", "screenshots.md"))
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`screenshots/([A-Za-z0-9._-]+\.png)`)
	listed := map[string]bool{}
	for _, m := range link.FindAllStringSubmatch(string(gallery), -1) {
		listed[m[1]] = true
	}
	for _, f := range files {
		if strings.HasSuffix(f.Name(), ".png") && !listed[f.Name()] {
			t.Errorf("docs/screenshots/%s is not listed in docs/screenshots.md", f.Name())
		}
	}
	docs, _ := filepath.Glob(filepath.Join("docs", "*.md"))
	for _, doc := range append(docs, "README.md") {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(text), -1) {
			if _, err := os.Stat(filepath.Join("docs", "screenshots", m[1])); err != nil {
				t.Errorf("%s links screenshots/%s, which does not exist", doc, m[1])
			}
		}
	}
}
