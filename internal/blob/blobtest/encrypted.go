package blobtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"testing"

	"github.com/gosid/gosid/internal/blob"
)

// Layout of the encrypted format, for the attacks below (the suite is a
// black box otherwise): header = 4 magic + version + id length + id + 32
// salt; segments of 64 KiB + 16 tag.
const (
	segPlain = 64 << 10
	segEnc   = segPlain + 16
)

func headerLen(keyID string) int { return 4 + 1 + 1 + len(keyID) + 32 }

// EncryptedRun runs the conformance suite on blob.Encrypted over the
// stores newInner makes, and then attacks the ciphertext through the inner
// store: every change must make Open or reading fail with blob.ErrCorrupt,
// and no byte of a damaged segment may come out.
func EncryptedRun(t *testing.T, newInner func(t *testing.T) Backend) {
	ctx := context.Background()
	keys := blob.StaticKeys{CurrentID: "k1", Keys: map[string][]byte{"k1": random(t, 32)}}
	t.Run("Conformance", func(t *testing.T) {
		Run(t, func(t *testing.T) Backend {
			in := newInner(t)
			return Backend{Store: blob.Encrypted(in.Store, keys), Raw: in.Raw}
		})
	})
	setup := func(t *testing.T) (blob.Store, blob.Store) {
		in := newInner(t)
		return in.Store, blob.Encrypted(in.Store, keys)
	}
	hl := headerLen("k1")
	plain := random(t, 3*segPlain+1000) // four segments
	t.Run("CiphertextOnly", func(t *testing.T) {
		inner, enc := setup(t)
		text := bytes.Repeat([]byte("Паспорт 4509 123456 "), 500)
		put(t, enc, "f/a", text)
		raw := read(t, inner, "f/a", int64(hl+len(text)+16))
		if bytes.Contains(raw, text[:32]) {
			t.Fatal("the store underneath holds plaintext")
		}
	})
	t.Run("TamperOneByte", func(t *testing.T) {
		inner, enc := setup(t)
		put(t, enc, "f/a", plain)
		raw := rawBytes(t, inner, "f/a")
		for _, pos := range []int{0, 4, 5, 6, hl - 1, hl, hl + 100, hl + segEnc - 1, hl + segEnc, hl + 2*segEnc + 7, len(raw) - 1} {
			bad := bytes.Clone(raw)
			bad[pos] ^= 0x01
			put(t, inner, "f/a", bad)
			mustFail(t, enc, "f/a", plain, segmentOf(pos, hl), "byte "+strconv.Itoa(pos)+" flipped")
		}
	})
	t.Run("Truncate", func(t *testing.T) {
		inner, enc := setup(t)
		put(t, enc, "f/a", plain)
		raw := rawBytes(t, inner, "f/a")
		for _, n := range []int{0, 3, hl - 1, hl, hl + 15, hl + 16, hl + segEnc, hl + 2*segEnc, hl + 3*segEnc, len(raw) - 1} {
			put(t, inner, "f/a", raw[:n])
			mustFail(t, enc, "f/a", plain, segmentOf(n, hl), "cut to "+strconv.Itoa(n)+" bytes")
		}
		// A file of exactly whole segments ends with an empty final
		// segment; dropping it must be noticed too.
		whole := random(t, 2*segPlain)
		put(t, enc, "f/b", whole)
		rawB := rawBytes(t, inner, "f/b")
		if len(rawB) != hl+2*segEnc+16 {
			t.Fatalf("2 full segments stored as %d bytes", len(rawB))
		}
		put(t, inner, "f/b", rawB[:hl+2*segEnc])
		mustFail(t, enc, "f/b", whole, 2, "empty final segment dropped")
	})
	t.Run("Extend", func(t *testing.T) {
		inner, enc := setup(t)
		put(t, enc, "f/a", plain)
		raw := rawBytes(t, inner, "f/a")
		put(t, inner, "f/a", append(bytes.Clone(raw), 0))
		mustFail(t, enc, "f/a", plain, 3, "one byte appended")
		put(t, inner, "f/a", append(bytes.Clone(raw), raw[hl:hl+segEnc]...))
		mustFail(t, enc, "f/a", plain, 3, "a segment appended")
	})
	t.Run("ReorderSegments", func(t *testing.T) {
		inner, enc := setup(t)
		put(t, enc, "f/a", plain)
		raw := rawBytes(t, inner, "f/a")
		bad := bytes.Clone(raw)
		copy(bad[hl:], raw[hl+segEnc:hl+2*segEnc])
		copy(bad[hl+segEnc:], raw[hl:hl+segEnc])
		put(t, inner, "f/a", bad)
		mustFail(t, enc, "f/a", plain, 0, "segments 0 and 1 swapped")
	})
	t.Run("SwapFiles", func(t *testing.T) {
		inner, enc := setup(t)
		other := random(t, len(plain))
		put(t, enc, "app/1/a", plain)
		put(t, enc, "app/2/b", other)
		rawA, rawB := rawBytes(t, inner, "app/1/a"), rawBytes(t, inner, "app/2/b")
		put(t, inner, "app/1/a", rawB)
		put(t, inner, "app/2/b", rawA)
		mustFail(t, enc, "app/1/a", plain, 0, "file of another key moved in")
		mustFail(t, enc, "app/2/b", other, 0, "file of another key moved in")
		// One segment of another file (same key id, same position).
		mixed := bytes.Clone(rawA)
		copy(mixed[hl+segEnc:hl+2*segEnc], rawB[hl+segEnc:])
		put(t, inner, "app/1/a", mixed)
		mustFail(t, enc, "app/1/a", plain, 1, "segment 1 from another file")
	})
	t.Run("KeyRotation", func(t *testing.T) {
		inner, _ := setup(t)
		ring := blob.StaticKeys{CurrentID: "2026-01", Keys: map[string][]byte{"2026-01": random(t, 32)}}
		put(t, blob.Encrypted(inner, ring), "f/old", []byte("written with the old key"))
		ring.Keys["2026-12"] = random(t, 32)
		ring.CurrentID = "2026-12"
		enc := blob.Encrypted(inner, ring)
		put(t, enc, "f/new", []byte("written with the new key"))
		if got := read(t, enc, "f/old", 24); string(got) != "written with the old key" {
			t.Fatalf("old file after rotation: %q", got)
		}
		if raw := rawBytes(t, inner, "f/new"); !bytes.Contains(raw[:headerLen("2026-12")], []byte("2026-12")) {
			t.Fatal("new file not written with the current key")
		}
		delete(ring.Keys, "2026-01")
		if _, _, err := enc.Open(ctx, "f/old"); !errors.Is(err, blob.ErrUnknownKey) {
			t.Fatalf("Open with the key retired = %v, want ErrUnknownKey", err)
		}
		ring.Keys["2026-01"] = random(t, 32) // same id, other key (wrong master key)
		mustFail(t, enc, "f/old", []byte("written with the old key"), 0, "wrong key under the right id")
	})
	t.Run("LimitCountsPlaintext", func(t *testing.T) {
		_, enc := setup(t)
		if _, err := enc.Put(ctx, "f/a", bytes.NewReader(random(t, 100)), 100); err != nil {
			t.Fatalf("100 bytes with max 100: %v", err)
		}
		if _, err := enc.Put(ctx, "f/b", bytes.NewReader(random(t, 101)), 100); !errors.Is(err, blob.ErrTooLarge) {
			t.Fatalf("101 bytes with max 100 = %v, want ErrTooLarge", err)
		}
	})
}

// segmentOf is the index of the segment holding byte pos of the stored
// file (0 for the header).
func segmentOf(pos, hl int) int {
	if pos < hl {
		return 0
	}
	return (pos - hl) / segEnc
}

// mustFail opens key and reads it all: it must fail with ErrCorrupt, and
// what came out before must be whole segments of want before segment bad.
func mustFail(t *testing.T, s blob.Store, key string, want []byte, bad int, what string) {
	t.Helper()
	rc, _, err := s.Open(context.Background(), key)
	if err != nil {
		// A changed key id names a key the ring does not hold: a clear
		// refusal too.
		if !errors.Is(err, blob.ErrCorrupt) && !errors.Is(err, blob.ErrUnknownKey) {
			t.Fatalf("%s: Open = %v, want ErrCorrupt", what, err)
		}
		return
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if !errors.Is(err, blob.ErrCorrupt) {
		t.Fatalf("%s: read %d bytes, error %v, want ErrCorrupt", what, len(got), err)
	}
	if len(got) > bad*segPlain || !bytes.Equal(got, want[:len(got)]) {
		t.Fatalf("%s: %d bytes came out before the error (damage in segment %d)", what, len(got), bad)
	}
}

func rawBytes(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	rc, _, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
