package blob_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gosid/gosid/internal/blob"
	"github.com/gosid/gosid/internal/blob/blobtest"
)

// dirBackend is a Dir store in a fresh directory; Raw lists every file and
// directory under the root, temporaries included (the empty .tmp
// directory itself is the store's, not content).
func dirBackend(t *testing.T) blobtest.Backend {
	root := t.TempDir()
	s, err := blob.Dir(root)
	if err != nil {
		t.Fatal(err)
	}
	return blobtest.Backend{Store: s, Raw: func(t *testing.T) []string { return listDir(t, root) }}
}

func listDir(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." || rel == ".tmp" {
			return nil
		}
		if d.IsDir() {
			rel += "/"
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestDir(t *testing.T) {
	blobtest.Run(t, dirBackend)
}

func TestEncryptedDir(t *testing.T) {
	blobtest.EncryptedRun(t, dirBackend)
}

// A crashed process leaves temporaries; they are not blobs, and the next
// Dir (or SweepTemp) removes the stale ones and leaves young ones, which
// may belong to an upload in progress.
func TestDirSweepTemp(t *testing.T) {
	root := t.TempDir()
	s, err := blob.Dir(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), "a/b", bytes.NewReader([]byte("x")), 1); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(root, ".tmp", "put-crashed")
	young := filepath.Join(root, ".tmp", "put-running")
	for _, p := range []string{stale, young} {
		if err := os.WriteFile(p, []byte("half an upload"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * blob.StaleTemp)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(context.Background(), ".tmp/put-crashed"); err == nil {
		t.Fatal("a temporary file opened as a blob")
	}
	if _, err := blob.Dir(root); err != nil {
		t.Fatal(err)
	}
	if got, want := listDir(t, root), []string{".tmp/put-running", "a/", "a/b"}; !slices.Equal(got, want) {
		t.Fatalf("after reopening: %v, want %v", got, want)
	}
	n, err := s.SweepTemp(0)
	if err != nil || n != 1 {
		t.Fatalf("SweepTemp(0) = %d, %v", n, err)
	}
	if got, want := listDir(t, root), []string{"a/", "a/b"}; !slices.Equal(got, want) {
		t.Fatalf("after SweepTemp(0): %v, want %v", got, want)
	}
}

// Files and directories are the owner's only: attachments are personal data.
func TestDirPermissions(t *testing.T) {
	root := filepath.Join(t.TempDir(), "attachments")
	s, err := blob.Dir(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), "a/b", bytes.NewReader([]byte("x")), 1); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{root, filepath.Join(root, "a"), filepath.Join(root, "a", "b")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v", p, fi.Mode().Perm())
		}
	}
}
