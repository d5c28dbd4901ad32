package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Store keeps files under keys. See the package documentation for the
// contract every implementation keeps.
type Store interface {
	// Put stores the bytes of r under key, at most max of them; more give
	// ErrTooLarge and nothing is stored.
	Put(ctx context.Context, key string, r io.Reader, max int64) (Info, error)
	// Open returns the file under key; ErrNotFound when there is none. The
	// caller closes the reader.
	Open(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Delete removes the file under key; a missing key is no error.
	Delete(ctx context.Context, key string) error
	// DeletePrefix removes every file whose key starts with prefix+"/".
	DeletePrefix(ctx context.Context, prefix string) error
}

// Info describes a stored file. Size counts the caller's bytes (plaintext
// for Encrypted).
type Info struct {
	Key  string
	Size int64
}

var (
	// ErrNotFound: no file under the key.
	ErrNotFound = errors.New("blob: not found")
	// ErrTooLarge: the reader had more bytes than Put's max.
	ErrTooLarge = errors.New("blob: file too large")
	// ErrBadKey: the key breaks the rules of ValidKey.
	ErrBadKey = errors.New("blob: invalid key")
)

// Key limits. 255 bytes is the usual file-name limit of a file system;
// 512 for the whole key leaves room for a root below PATH_MAX and is well
// under S3's 1024.
const (
	maxKeyLen     = 512
	maxSegmentLen = 255
)

// ValidKey reports why key is not a valid blob key, or nil. A key is one
// or more segments separated by "/"; each segment is 1–255 bytes of ASCII
// letters, digits, '-', '_' and '.', and does not start with '.' (so no
// "..", no hidden files, and no clash with Dir's temporaries). No leading
// or trailing "/", no empty segment, at most 512 bytes. The rule is
// stricter than any backend needs, so that one key means the same file on
// every backend and on every operating system.
func ValidKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrBadKey)
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrBadKey, maxKeyLen)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" {
			return fmt.Errorf("%w: empty segment (leading, trailing or double slash)", ErrBadKey)
		}
		if len(seg) > maxSegmentLen {
			return fmt.Errorf("%w: segment longer than %d bytes", ErrBadKey, maxSegmentLen)
		}
		if seg[0] == '.' {
			return fmt.Errorf("%w: segment starts with a dot", ErrBadKey)
		}
		for i := 0; i < len(seg); i++ {
			if !keyByte(seg[i]) {
				return fmt.Errorf("%w: byte %#02x not allowed", ErrBadKey, seg[i])
			}
		}
	}
	return nil
}

func keyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.'
}

// maxReader reads from r and fails with ErrTooLarge as soon as r proves to
// hold more than max bytes (it asks for one byte beyond max to know).
type maxReader struct {
	r    io.Reader
	left int64 // bytes still allowed
	n    int64 // bytes read so far
}

func newMaxReader(r io.Reader, max int64) *maxReader {
	return &maxReader{r: r, left: max}
}

func (m *maxReader) Read(p []byte) (int, error) {
	if m.left < 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > m.left+1 {
		p = p[:m.left+1]
	}
	n, err := m.r.Read(p)
	m.n += int64(n)
	m.left -= int64(n)
	if m.left < 0 {
		return 0, ErrTooLarge
	}
	return n, err
}

func checkMax(max int64) error {
	if max < 0 {
		return fmt.Errorf("blob: negative size limit %d", max)
	}
	return nil
}
