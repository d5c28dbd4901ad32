package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gosid/gosid/internal/blob"
)

// Backend is a fresh, empty store and a view of what it holds underneath.
type Backend struct {
	Store blob.Store
	// Raw lists everything the backend holds, including temporaries and
	// pending uploads, sorted.
	Raw func(t *testing.T) []string
}

// Run checks the Store contract on stores made by newBackend (one per
// subtest).
func Run(t *testing.T, newBackend func(t *testing.T) Backend) {
	ctx := context.Background()
	t.Run("PutOpenRoundTrip", func(t *testing.T) {
		b := newBackend(t)
		for _, n := range []int{0, 1, 1000, 64 << 10, 64<<10 + 1, 3*64<<10 - 1, 300_000} {
			data := random(t, n)
			key := "app/1/f" + strings.Repeat("x", n%7)
			info, err := b.Store.Put(ctx, key, bytes.NewReader(data), int64(n))
			if err != nil {
				t.Fatalf("Put %d bytes: %v", n, err)
			}
			if info.Key != key || info.Size != int64(n) {
				t.Fatalf("Put %d bytes: info %+v", n, info)
			}
			if got := read(t, b.Store, key, int64(n)); !bytes.Equal(got, data) {
				t.Fatalf("Open after Put of %d bytes: got %d different bytes", n, len(got))
			}
		}
	})
	t.Run("PutReplaces", func(t *testing.T) {
		b := newBackend(t)
		put(t, b.Store, "a/b", []byte("first version"))
		put(t, b.Store, "a/b", []byte("second"))
		if got := read(t, b.Store, "a/b", 6); string(got) != "second" {
			t.Fatalf("after replace: %q", got)
		}
	})
	t.Run("OpenMissing", func(t *testing.T) {
		b := newBackend(t)
		put(t, b.Store, "a/b", []byte("x"))
		for _, k := range []string{"a/c", "a", "a/b/c", "zzz"} {
			if _, _, err := b.Store.Open(ctx, k); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("Open(%q) = %v, want ErrNotFound", k, err)
			}
		}
	})
	t.Run("BadKeys", func(t *testing.T) {
		b := newBackend(t)
		for _, k := range BadKeys {
			if _, err := b.Store.Put(ctx, k, strings.NewReader("x"), 10); !errors.Is(err, blob.ErrBadKey) {
				t.Errorf("Put(%q) = %v, want ErrBadKey", k, err)
			}
			if _, _, err := b.Store.Open(ctx, k); !errors.Is(err, blob.ErrBadKey) {
				t.Errorf("Open(%q) = %v, want ErrBadKey", k, err)
			}
			if err := b.Store.Delete(ctx, k); !errors.Is(err, blob.ErrBadKey) {
				t.Errorf("Delete(%q) = %v, want ErrBadKey", k, err)
			}
			if err := b.Store.DeletePrefix(ctx, k); !errors.Is(err, blob.ErrBadKey) {
				t.Errorf("DeletePrefix(%q) = %v, want ErrBadKey", k, err)
			}
		}
		if raw := b.Raw(t); len(raw) != 0 {
			t.Fatalf("bad keys left %v", raw)
		}
	})
	t.Run("TooLargeStoresNothing", func(t *testing.T) {
		b := newBackend(t)
		const max = 5 << 20
		if _, err := b.Store.Put(ctx, "a/exact", bytes.NewReader(random(t, max)), max); err != nil {
			t.Fatalf("Put of exactly max bytes: %v", err)
		}
		before := b.Raw(t)
		for _, n := range []int{max + 1, 2 * max} {
			_, err := b.Store.Put(ctx, "a/big", bytes.NewReader(random(t, n)), max)
			if !errors.Is(err, blob.ErrTooLarge) {
				t.Fatalf("Put of %d bytes with max %d = %v, want ErrTooLarge", n, max, err)
			}
		}
		if _, err := b.Store.Put(ctx, "a/zero", strings.NewReader("x"), 0); !errors.Is(err, blob.ErrTooLarge) {
			t.Fatalf("Put of 1 byte with max 0 = %v, want ErrTooLarge", err)
		}
		if after := b.Raw(t); !slices.Equal(before, after) {
			t.Fatalf("too-large uploads left something: before %v, after %v", before, after)
		}
		if _, _, err := b.Store.Open(ctx, "a/big"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Open of refused key = %v, want ErrNotFound", err)
		}
	})
	t.Run("InterruptedStoresNothing", func(t *testing.T) {
		b := newBackend(t)
		put(t, b.Store, "a/keep", []byte("old content"))
		before := b.Raw(t)
		for _, cut := range []int{0, 10, 100_000, 2 << 20} {
			r := CutReader(bytes.NewReader(random(t, 4<<20)), cut, nil)
			_, err := b.Store.Put(ctx, "a/keep", r, 5<<20)
			if !errors.Is(err, ErrCut) {
				t.Fatalf("Put cut after %d bytes = %v, want the reader's error", cut, err)
			}
			_, err = b.Store.Put(ctx, "a/new", CutReader(bytes.NewReader(random(t, 4<<20)), cut, nil), 5<<20)
			if !errors.Is(err, ErrCut) {
				t.Fatalf("Put cut after %d bytes = %v, want the reader's error", cut, err)
			}
		}
		if after := b.Raw(t); !slices.Equal(before, after) {
			t.Fatalf("cut uploads left something: before %v, after %v", before, after)
		}
		if got := read(t, b.Store, "a/keep", 11); string(got) != "old content" {
			t.Fatalf("a cut upload changed the old file: %q", got)
		}
		if _, _, err := b.Store.Open(ctx, "a/new"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Open of a cut upload = %v, want ErrNotFound", err)
		}
	})
	t.Run("CancelledStoresNothing", func(t *testing.T) {
		b := newBackend(t)
		cctx, cancel := context.WithCancel(ctx)
		r := CutReader(bytes.NewReader(random(t, 1<<20)), 300_000, cancel)
		if _, err := b.Store.Put(cctx, "a/c", r, 5<<20); err == nil {
			t.Fatal("Put with the context cancelled midway succeeded")
		}
		if raw := b.Raw(t); len(raw) != 0 {
			t.Fatalf("cancelled upload left %v", raw)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		b := newBackend(t)
		put(t, b.Store, "a/b/c", []byte("x"))
		put(t, b.Store, "a/b/d", []byte("y"))
		if err := b.Store.Delete(ctx, "a/b/c"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.Store.Open(ctx, "a/b/c"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Open after Delete = %v", err)
		}
		if got := read(t, b.Store, "a/b/d", 1); string(got) != "y" {
			t.Fatalf("Delete removed a neighbour: %q", got)
		}
		for _, k := range []string{"a/b/c", "nothing/here", "a/b"} {
			if err := b.Store.Delete(ctx, k); err != nil {
				t.Fatalf("Delete(%q) of a missing key = %v", k, err)
			}
		}
		if got := read(t, b.Store, "a/b/d", 1); string(got) != "y" {
			t.Fatalf("Delete of the parent \"directory\" removed a file: %q", got)
		}
		if err := b.Store.Delete(ctx, "a/b/d"); err != nil {
			t.Fatal(err)
		}
		if raw := b.Raw(t); len(raw) != 0 {
			t.Fatalf("after deleting everything: %v", raw)
		}
	})
	t.Run("DeletePrefix", func(t *testing.T) {
		b := newBackend(t)
		gone := []string{"applications/1/a", "applications/1/b", "applications/1/x/y"}
		kept := []string{"applications/12/c", "applications/1x", "applications/2/a", "other/1/a"}
		for _, k := range append(slices.Clone(gone), kept...) {
			put(t, b.Store, k, []byte(k))
		}
		if err := b.Store.DeletePrefix(ctx, "applications/1"); err != nil {
			t.Fatal(err)
		}
		for _, k := range gone {
			if _, _, err := b.Store.Open(ctx, k); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("%s survived DeletePrefix: %v", k, err)
			}
		}
		for _, k := range kept {
			if got := read(t, b.Store, k, int64(len(k))); string(got) != k {
				t.Errorf("%s changed by DeletePrefix: %q", k, got)
			}
		}
		if err := b.Store.DeletePrefix(ctx, "applications/1"); err != nil {
			t.Fatalf("DeletePrefix again: %v", err)
		}
		if err := b.Store.DeletePrefix(ctx, "nothing"); err != nil {
			t.Fatalf("DeletePrefix of nothing: %v", err)
		}
	})
	t.Run("ConcurrentPuts", func(t *testing.T) {
		b := newBackend(t)
		var wg sync.WaitGroup
		datas := make([][]byte, 8)
		for i := range datas {
			datas[i] = random(t, 100_000+i)
		}
		errs := make(chan error, len(datas))
		for i := range datas {
			wg.Go(func() {
				_, err := b.Store.Put(ctx, "race/same", bytes.NewReader(datas[i]), 1<<20)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := read(t, b.Store, "race/same", -1)
		if !slices.ContainsFunc(datas, func(d []byte) bool { return bytes.Equal(d, got) }) {
			t.Fatalf("racing Puts left a mixture of %d bytes", len(got))
		}
	})
}

// BadKeys are keys every store refuses.
var BadKeys = []string{
	"", "/abs", "a/", "a//b", "..", "../etc/passwd", "a/../b", "a/./b", ".", ".hidden", "a/.tmp",
	`a\b`, "a\x00b", "a b", "a:b", "ключ", strings.Repeat("a", 256), strings.Repeat("a/", 300) + "a",
}

// ErrCut is the error of a CutReader.
var ErrCut = errors.New("blobtest: connection reset midway")

// CutReader gives n bytes of r and then fails with ErrCut, like a request
// body whose client went away; onCut (if not nil) runs at the cut, e.g. to
// cancel the request's context.
func CutReader(r io.Reader, n int, onCut func()) io.Reader {
	return &cutReader{r: r, left: n, onCut: onCut}
}

type cutReader struct {
	r     io.Reader
	left  int
	onCut func()
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		if c.onCut != nil {
			c.onCut()
		}
		return 0, ErrCut
	}
	if len(p) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= n
	return n, err
}

func random(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func put(t *testing.T, s blob.Store, key string, data []byte) {
	t.Helper()
	if _, err := s.Put(context.Background(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

// read opens key and checks that Info tells its size (size < 0: whatever
// it is, as long as Info and the bytes agree).
func read(t *testing.T, s blob.Store, key string, size int64) []byte {
	t.Helper()
	rc, info, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	if size < 0 {
		size = int64(len(got))
	}
	if info.Key != key || info.Size != size || int64(len(got)) != size {
		t.Fatalf("Open(%q): info %+v, read %d bytes, want size %d", key, info, len(got), size)
	}
	return got
}
