package blob

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzEncryptedReader feeds the decrypting reader bytes as an attacker with
// write access to the storage would: it must never panic, fail only with
// ErrCorrupt or ErrUnknownKey, and succeed only on a file that was written
// by the encrypting side — returning exactly its plaintext.
func FuzzEncryptedReader(f *testing.F) {
	keys := StaticKeys{CurrentID: "k1", Keys: map[string][]byte{
		"k1": bytes.Repeat([]byte{0x42}, 32),
		"k2": bytes.Repeat([]byte{0x17}, 32),
	}}
	const blobKey = "applications/1/a"
	valid := map[string][]byte{} // stored bytes → plaintext
	// Small seeds only: the fuzzer minimises every new input it finds, and
	// minimising a mutant of a 64 KiB seed stalls it for minutes. Files of
	// several segments are the deterministic tests' (blobtest.EncryptedRun).
	for i, n := range []int{0, 1, 15, 16, 17, 100, 1000} {
		plain := bytes.Repeat([]byte{byte(i), 'x'}, n/2+1)[:n]
		id := "k1"
		if i%2 == 1 {
			id = "k2"
		}
		stored := sealForTest(f, keys, id, blobKey, plain)
		valid[string(stored)] = plain
		f.Add(stored)
	}
	f.Add([]byte("GSBE\x01\x02k1"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		d, size, err := newDecReader(bytes.NewReader(data), int64(len(data)), blobKey, keys)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("header error %v is neither ErrCorrupt nor ErrUnknownKey", err)
			}
			return
		}
		got, err := io.ReadAll(d)
		want, ok := valid[string(data)]
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("read error %v is not ErrCorrupt", err)
			}
			if ok {
				t.Fatalf("a valid file failed: %v", err)
			}
			return
		}
		if !ok {
			t.Fatalf("forged file of %d bytes decrypted to %d bytes", len(data), len(got))
		}
		if !bytes.Equal(got, want) || size != int64(len(want)) {
			t.Fatalf("valid file decrypted wrongly: %d bytes, size %d, want %d", len(got), size, len(want))
		}
	})
}

// sealForTest encrypts plain with a fixed salt, so that the seeds (and a
// fuzz cache built from them) stay the same from run to run.
func sealForTest(tb testing.TB, keys Keyring, id, blobKey string, plain []byte) []byte {
	tb.Helper()
	k, err := keys.Key(id)
	if err != nil {
		tb.Fatal(err)
	}
	salt := bytes.Repeat([]byte{byte(len(plain))}, saltLen)
	h, err := header(id, salt)
	if err != nil {
		tb.Fatal(err)
	}
	aead, err := fileAEAD(k, salt, blobKey)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(&encReader{src: newMaxReader(bytes.NewReader(plain), int64(len(plain))), aead: aead, aad: h, out: h})
	if err != nil {
		tb.Fatal(err)
	}
	if int64(len(out)) != cipherSize(len(h), int64(len(plain))) {
		tb.Fatalf("stored %d bytes, cipherSize says %d", len(out), cipherSize(len(h), int64(len(plain))))
	}
	return out
}
