package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// errNotDir: a path goes through a file as if it were a directory (key
// "a/b" when "a" is a file) — the key does not exist.
var errNotDir error = syscall.ENOTDIR

// tempDir is where Dir writes files before renaming them into place: inside
// the root, so on the same file system (rename is atomic), and named with a
// dot, which no key segment may start with, so it is never a blob. Keeping
// every temporary in one directory makes the sweep one ReadDir.
const tempDir = ".tmp"

// StaleTemp is the age after which OpenDir sweeps a temporary file left by
// a process that crashed mid-upload. No upload the portal takes lasts an
// hour; a younger file may belong to another process writing now.
const StaleTemp = time.Hour

// DirStore keeps files under a root directory, one file per key.
type DirStore struct {
	root string
	now  func() time.Time
}

var _ Store = (*DirStore)(nil)

// Dir opens (creating it when missing, mode 0700) the store rooted at root
// and sweeps temporaries older than StaleTemp.
func Dir(root string) (*DirStore, error) {
	if root == "" {
		return nil, errors.New("blob: empty root directory")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("blob: root %q: %w", root, err)
	}
	if err := os.MkdirAll(filepath.Join(abs, tempDir), 0o700); err != nil {
		return nil, fmt.Errorf("blob: create root: %w", err)
	}
	d := &DirStore{root: abs, now: time.Now}
	if _, err := d.SweepTemp(StaleTemp); err != nil {
		return nil, err
	}
	return d, nil
}

// SweepTemp removes temporary files older than olderThan — what a process
// that crashed mid-upload left — and reports how many it removed. Call it
// from a periodic job when the process runs for long.
func (d *DirStore) SweepTemp(olderThan time.Duration) (int, error) {
	dir := filepath.Join(d.root, tempDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("blob: sweep: %w", err)
	}
	cutoff := d.now().Add(-olderThan)
	removed := 0
	for _, e := range entries {
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // renamed into place or removed meanwhile
		}
		if err != nil {
			return removed, fmt.Errorf("blob: sweep: %w", err)
		}
		if !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("blob: sweep: %w", err)
		}
		removed++
	}
	return removed, nil
}

func (d *DirStore) path(key string) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Put writes r to a temporary file, fsyncs it, renames it to the key's
// path and fsyncs the directory, so that after a crash the key holds the
// old file or the whole new one.
func (d *DirStore) Put(ctx context.Context, key string, r io.Reader, max int64) (Info, error) {
	p, err := d.path(key)
	if err != nil {
		return Info{}, err
	}
	if err := checkMax(max); err != nil {
		return Info{}, err
	}
	f, err := os.CreateTemp(filepath.Join(d.root, tempDir), "put-*")
	if err != nil {
		return Info{}, fmt.Errorf("blob: put: %w", err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			_ = f.Close() // already failing; the removal below is what matters
			_ = os.Remove(tmp)
		}
	}()
	n, err := io.Copy(f, newMaxReader(ctxReader{ctx, r}, max))
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return Info{}, ErrTooLarge
		}
		return Info{}, fmt.Errorf("blob: put: read: %w", err)
	}
	if err := f.Sync(); err != nil {
		return Info{}, fmt.Errorf("blob: put: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return Info{}, fmt.Errorf("blob: put: close: %w", err)
	}
	dir := filepath.Dir(p)
	// A Delete may prune the directory between MkdirAll and Rename; then
	// the rename finds no directory and is tried again.
	for try := 0; ; try++ {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return Info{}, fmt.Errorf("blob: put: %w", err)
		}
		err := os.Rename(tmp, p)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || try == 2 {
			return Info{}, fmt.Errorf("blob: put: rename: %w", err)
		}
	}
	done = true
	if err := syncDir(dir); err != nil {
		return Info{}, fmt.Errorf("blob: put: %w", err)
	}
	return Info{Key: key, Size: n}, nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Open opens the key's file.
func (d *DirStore) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir) {
		return nil, Info{}, ErrNotFound
	}
	if err != nil {
		return nil, Info{}, fmt.Errorf("blob: open: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, Info{}, fmt.Errorf("blob: open: %w", err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, Info{}, ErrNotFound // a directory: keys under it exist, not it
	}
	return f, Info{Key: key, Size: fi.Size()}, nil
}

// Delete removes the key's file and the directories it leaves empty.
func (d *DirStore) Delete(ctx context.Context, key string) error {
	return d.remove(ctx, key, false)
}

// DeletePrefix removes the directory of keys under prefix+"/".
func (d *DirStore) DeletePrefix(ctx context.Context, prefix string) error {
	return d.remove(ctx, prefix, true)
}

// remove deletes the file (dir false) or the directory of keys (dir true)
// at key's path; what is missing, or of the other kind, is left alone: a
// directory is not the file of its key, a file is not a prefix of keys.
func (d *DirStore) remove(ctx context.Context, key string, dir bool) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("blob: delete: %w", err)
	}
	if dir != fi.IsDir() || !dir && !fi.Mode().IsRegular() {
		return nil
	}
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("blob: delete: %w", err)
	}
	d.pruneEmpty(filepath.Dir(p))
	return nil
}

// pruneEmpty removes dir and its parents up to the root while they are
// empty, so deleted applications leave no empty directories. Failure is
// harmless (another Put may be filling the directory right now).
func (d *DirStore) pruneEmpty(dir string) {
	for dir != d.root && strings.HasPrefix(dir, d.root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// ctxReader stops reading when ctx ends, so a cancelled request stops an
// upload between reads even when its body reader does not watch ctx.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
