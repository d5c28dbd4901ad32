package blob

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// The final-segment flag is checked: a short last segment sealed as
// non-final (the tail of a longer file, as a truncation would leave it) and
// a full segment sealed as final are both refused. (The layout alone already
// refuses a file ending on a full segment; the flag is the STREAM
// construction's own defence.)
func TestFinalFlag(t *testing.T) {
	keys := StaticKeys{CurrentID: "k", Keys: map[string][]byte{"k": bytes.Repeat([]byte{1}, 32)}}
	salt := make([]byte, saltLen)
	h, err := header("k", salt)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := fileAEAD(keys.Keys["k"], salt, "a/b")
	if err != nil {
		t.Fatal(err)
	}
	// seal writes segments i = 0, 1, … with the given final flags.
	seal := func(finals []bool, segs ...[]byte) []byte {
		out := bytes.Clone(h)
		var nonce [nonceSize]byte
		for i, s := range segs {
			segNonce(nonce[:], uint64(i), finals[i])
			out = aead.Seal(out, nonce[:], s, h)
		}
		return out
	}
	open := func(stored []byte) error {
		d, _, err := newDecReader(bytes.NewReader(stored), int64(len(stored)), "a/b", keys)
		if err != nil {
			return err
		}
		_, err = io.ReadAll(d)
		return err
	}
	full := bytes.Repeat([]byte{7}, segSize)
	tail := []byte("tail")
	if err := open(seal([]bool{false, true}, full, tail)); err != nil {
		t.Fatalf("a well-formed file: %v", err)
	}
	if err := open(seal([]bool{false, false}, full, tail)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("short last segment sealed as non-final: %v", err)
	}
	if err := open(seal([]bool{true, true}, full, tail)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("full segment sealed as final: %v", err)
	}
}
