package migrations_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// TestReleasedMigrationsUnchanged: a migration, once released, is never
// edited — databases that applied it would never see the edit, and a fresh
// install would differ from an upgraded one. testdata/released.sha256
// lists every released file with its SHA-256 (sha256sum's format); a new
// migration is added to it when it is released:
//
//	cd migrations && sha256sum */postgres/*.sql */sqlite/*.sql > testdata/released.sha256
func TestReleasedMigrationsUnchanged(t *testing.T) {
	f, err := os.Open("testdata/released.sha256")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		sum, path, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("testdata/released.sha256: a line without a sum and a path: %q", sc.Text())
		}
		n++
		b, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s was released and is gone: %v (a released migration stays; undo it with a new one)", path, err)
			continue
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s changed after its release: databases that applied it never see the change; write a new migration instead", path)
		}
	}
	if n == 0 {
		t.Fatal("testdata/released.sha256 lists no migration")
	}
}
