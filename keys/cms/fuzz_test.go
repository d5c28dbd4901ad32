package cms

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gosid/gosid/keys/cert/certtest"
)

// FuzzParse feeds arbitrary bytes to Parse and Verify.
func FuzzParse(f *testing.F) {
	dir := certtest.Committed()
	matches, _ := filepath.Glob(filepath.Join(dir, "*.cms.*"))
	for _, m := range matches {
		if b, err := os.ReadFile(m); err == nil {
			f.Add(b)
		}
	}
	fuzzContent := certtest.Open(f, dir).File("challenge.txt")
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := Parse(data)
		if err != nil {
			return
		}
		// The chain is FuzzChain's business (keys/cert); GOST arithmetic
		// under coverage instrumentation is slow enough already.
		_, _ = sd.Verify(fuzzContent)
		_, _ = sd.Verify(nil)
	})
}
