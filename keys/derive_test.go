package keys

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

func TestDerive(t *testing.T) {
	a, err := newMasterKey(bytes.Repeat([]byte{1}, MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newMasterKey(bytes.Repeat([]byte{2}, MasterKeySize))
	again, _ := newMasterKey(bytes.Repeat([]byte{1}, MasterKeySize))
	if !bytes.Equal(a.Derive("portal"), again.Derive("portal")) || len(a.Derive("portal")) != 32 {
		t.Fatal("the same master key and purpose derive different keys")
	}
	if bytes.Equal(a.Derive("portal"), a.Derive("blobs")) || bytes.Equal(a.Derive("portal"), b.Derive("portal")) {
		t.Fatal("another purpose or master key derives the same key")
	}
	s, err := NewSealer(a.Derive("portal"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal([]byte("secret"), []byte("row 1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Open(context.Background(), sealed, []byte("row 1")); err != nil || string(got) != "secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := NewSealer(b.Derive("portal"))
	for name, fn := range map[string]func() error{
		"another row": func() error { _, err := s.Open(context.Background(), sealed, []byte("row 2")); return err },
		"another key": func() error { _, err := other.Open(context.Background(), sealed, []byte("row 1")); return err },
	} {
		if err := fn(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}
