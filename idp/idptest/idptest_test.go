package idptest_test

import (
	"context"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gosid/gosid/idp/codestep"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// TestOnlyTestsImport: the harness is test support; no production code
// may depend on it.
func TestOnlyTestsImport(t *testing.T) {
	const self = "github.com/gosid/gosid/idp/idptest"
	fset := token.NewFileSet()
	users := 0
	err := filepath.WalkDir(filepath.Join("..", ".."), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "node_modules" || n == "testdata" || (strings.HasPrefix(n, ".") && n != "." && n != "..") {
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
		for _, imp := range f.Imports {
			if ip, _ := strconv.Unquote(imp.Path.Value); ip == self && filepath.Base(filepath.Dir(p)) != "idptest" {
				if !strings.HasSuffix(p, "_test.go") {
					t.Errorf("%s imports the test harness", p)
				}
				users++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if users == 0 {
		t.Fatal("no test uses the harness: the walk missed the tree")
	}
}

// TestBrowser: the browser's forms pass the cross-origin protection as a
// same-origin form does, and a form from another site does not; codes are
// read from the development sink's rendered text.
func TestBrowser(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := idptest.NewEnv(t, db, idptest.Options{})
		srv := e.Serve(t, func(mux *http.ServeMux) {
			mux.HandleFunc("POST /change", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
		})
		b := srv.Browser()
		if a := b.Post(t, "/change", nil); a.Status != http.StatusNoContent {
			t.Fatalf("same-origin form: %d", a.Status)
		}
		if a := b.CrossSite("https://evil.example").Post(t, "/change", nil); a.Status != http.StatusForbidden {
			t.Fatalf("cross-site form: %d, want 403", a.Status)
		}

		to := idptest.NextPhone()
		id, err := e.Codes.Issue(context.Background(), codestep.Send{Purpose: "register", Channel: message.SMS, To: to, IP: "192.0.2.1", Kind: notice.KindCodeRegister})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Codes.Check(context.Background(), id, "register", to, e.Messages.Code(t, to)); err != nil {
			t.Fatalf("the code read from the sink: %v", err)
		}
	})
}
