package keys_test

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gosid/gosid/keys"
)

func TestLoadMasterKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "master.key")

	_, _, err := keys.LoadMasterKey(path, false)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "must be provided") {
		t.Fatalf("missing file in production: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("LoadMasterKey(create=false) created the file")
	}

	mk, created, err := keys.LoadMasterKey(path, true)
	if err != nil || !created {
		t.Fatalf("create: %v, created=%v", err, created)
	}
	if len(mk.ID()) != 16 || len(mk.Warnings()) != 0 {
		t.Errorf("ID %q, warnings %v", mk.ID(), mk.Warnings())
	}
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s has mode %04o, want %04o", p, st.Mode().Perm(), want)
		}
	}
	content, _ := os.ReadFile(path)
	if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(content))); err != nil || len(raw) != 32 || strings.Count(string(content), "\n") != 1 {
		t.Errorf("file is not one line of base64 of 32 bytes: %q", content)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}

	again, created, err := keys.LoadMasterKey(path, true)
	if err != nil || created || again.ID() != mk.ID() {
		t.Fatalf("reload: %v, created=%v, id %s want %s", err, created, again.ID(), mk.ID())
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	loose, _, err := keys.LoadMasterKey(path, false)
	if err != nil || len(loose.Warnings()) != 1 || !strings.Contains(loose.Warnings()[0], "0644") {
		t.Errorf("world-readable file: %v, warnings %v", err, loose.Warnings())
	}

	if _, err := keys.GenerateMasterKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("GenerateMasterKeyFile over an existing file: %v", err)
	}
	if again, _, _ := keys.LoadMasterKey(path, false); again.ID() != mk.ID() {
		t.Error("the existing key was overwritten")
	}
}

func TestLoadMasterKeyMalformed(t *testing.T) {
	secretish := "c2VjcmV0LXNlY3JldC1zZWNyZXQ="
	for name, content := range map[string]string{
		"short":    secretish + "\n",
		"notbase":  "!!!! not base64 " + secretish,
		"empty":    "",
		"toolong":  strings.Repeat("A", 400),
		"twolines": base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n" + secretish + "\n",
	} {
		path := filepath.Join(t.TempDir(), "master.key")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := keys.LoadMasterKey(path, true)
		if err == nil {
			t.Errorf("%s: loaded", name)
			continue
		}
		if strings.Contains(err.Error(), secretish) {
			t.Errorf("%s: error quotes the file: %v", name, err)
		}
	}
}

// TestLoadMasterKeyRace: processes starting at once on a fresh data dir all
// end up with the same key.
func TestLoadMasterKeyRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d", "master.key")
	ids := make([]string, 16)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			mk, _, err := keys.LoadMasterKey(path, true)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = mk.ID()
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("racing loaders got different keys: %v", ids)
		}
	}
}

func TestParseMasterKey(t *testing.T) {
	raw := make([]byte, 32)
	raw[0] = 7
	a, err := keys.ParseMasterKey(" " + base64.StdEncoding.EncodeToString(raw) + "\n")
	if err != nil {
		t.Fatal(err)
	}
	raw[0] = 8
	b, _ := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw))
	if a.ID() == b.ID() {
		t.Error("different keys share a fingerprint")
	}
	if _, err := keys.ParseMasterKey(base64.StdEncoding.EncodeToString(raw[:16])); err == nil {
		t.Error("16-byte key accepted")
	}
}
