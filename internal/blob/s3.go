package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Config locates a bucket of an S3-compatible store.
type Config struct {
	Endpoint  string // host[:port], no scheme
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string // "" lets the client ask the server
	UseTLS    bool
	// PathStyle forces path-style addressing (http://host/bucket/key), which
	// most self-hosted stores need; otherwise the client chooses (virtual
	// hosts for AWS).
	PathStyle bool
	// PartSize is the size of a multipart upload's parts and the largest
	// file sent as one PUT from memory; 0 means DefaultPartSize. S3 allows
	// 5 MiB at least.
	PartSize int64
	// Transport replaces the HTTP transport (tests, custom CAs).
	Transport http.RoundTripper
}

const (
	// DefaultPartSize keeps every attachment (5 MB and a little encryption
	// overhead) a single PUT.
	DefaultPartSize = 8 << 20
	minPartSize     = 5 << 20
)

// S3Store keeps files as objects of one bucket.
type S3Store struct {
	c        *minio.Client
	bucket   string
	partSize int64
}

var _ Store = (*S3Store)(nil)

// S3 returns the store for cfg's bucket. It does not contact the server.
func S3(cfg Config) (*S3Store, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("blob: s3: endpoint and bucket are required")
	}
	part := cfg.PartSize
	if part == 0 {
		part = DefaultPartSize
	}
	if part < minPartSize {
		return nil, fmt.Errorf("blob: s3: part size %d below S3's minimum %d", part, minPartSize)
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       cfg.UseTLS,
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: s3: %w", err)
	}
	return &S3Store{c: c, bucket: cfg.Bucket, partSize: part}, nil
}

// EnsureBucket creates the bucket when it does not exist (development and
// tests; production buckets are made by their operators).
func (s *S3Store) EnsureBucket(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("blob: s3: bucket: %w", err)
	}
	if ok {
		return nil
	}
	if err := s.c.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("blob: s3: make bucket: %w", err)
	}
	return nil
}

// Put reads up to PartSize bytes into memory first. A file that ends there
// (every attachment) goes as one PUT of known length, after the last byte
// was read: a reader failing midway or holding more than max fails before
// anything is sent. A larger file goes as a multipart upload, which
// minio-go aborts on any error (with a context of its own, so a cancelled
// request still aborts), so no object and no pending upload remain.
func (s *S3Store) Put(ctx context.Context, key string, r io.Reader, max int64) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, err
	}
	if err := checkMax(max); err != nil {
		return Info{}, err
	}
	mr := newMaxReader(ctxReader{ctx, r}, max)
	head, err := io.ReadAll(io.LimitReader(mr, s.partSize+1))
	if err != nil {
		return Info{}, readErr(err)
	}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream"}
	if len(head) == 0 {
		// minio-go v7.4.1 signs an empty body as a zero-length aws-chunked
		// stream and sends it chunked without a Content-Length, which S3
		// refuses (MissingContentLength); an unsigned empty payload is the
		// same request any S3 client sends.
		opts.DisableContentSha256 = true
	}
	var body io.Reader = bytes.NewReader(head)
	size := int64(len(head))
	if size > s.partSize {
		body = io.MultiReader(body, mr)
		size = -1
		opts.PartSize = uint64(s.partSize)
	}
	_, err = s.c.PutObject(ctx, s.bucket, key, body, size, opts)
	if err != nil {
		if mr.left < 0 || errors.Is(err, ErrTooLarge) {
			return Info{}, ErrTooLarge
		}
		return Info{}, fmt.Errorf("blob: s3: put: %w", err)
	}
	return Info{Key: key, Size: mr.n}, nil
}

func readErr(err error) error {
	if errors.Is(err, ErrTooLarge) {
		return ErrTooLarge
	}
	return fmt.Errorf("blob: put: read: %w", err)
}

// Open returns the object's body; the size comes from a HEAD first, which
// also tells a missing key.
func (s *S3Store) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := ValidKey(key); err != nil {
		return nil, Info{}, err
	}
	obj, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, s3Err("open", err)
	}
	st, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		return nil, Info{}, s3Err("open", err)
	}
	return obj, Info{Key: key, Size: st.Size}, nil
}

func s3Err(op string, err error) error {
	if code := minio.ToErrorResponse(err).Code; code == minio.NoSuchKey || code == "NotFound" {
		return ErrNotFound
	}
	return fmt.Errorf("blob: s3: %s: %w", op, err)
}

// Delete removes the object; S3 answers a missing key with success too.
func (s *S3Store) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if err := s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if errors.Is(s3Err("delete", err), ErrNotFound) {
			return nil
		}
		return fmt.Errorf("blob: s3: delete: %w", err)
	}
	return nil
}

// DeletePrefix lists the objects under prefix+"/" and deletes them in
// batches. Pending multipart uploads are not objects: Put aborts its own on
// failure, and those of a process that died mid-upload are for the bucket's
// lifecycle rule (AbortIncompleteMultipartUpload, e.g. after one day), which
// docs for operators should name.
func (s *S3Store) DeletePrefix(ctx context.Context, prefix string) error {
	if err := ValidKey(prefix); err != nil {
		return err
	}
	objects := s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix + "/", Recursive: true})
	var listErr error
	toDelete := make(chan minio.ObjectInfo)
	go func() {
		defer close(toDelete)
		for o := range objects { // drained to the end, so minio-go's lister ends
			if o.Err != nil {
				listErr = o.Err
				continue
			}
			if listErr == nil {
				toDelete <- o
			}
		}
	}()
	var delErr error
	for e := range s.c.RemoveObjects(ctx, s.bucket, toDelete, minio.RemoveObjectsOptions{}) {
		if e.Err != nil && delErr == nil && !errors.Is(s3Err("delete", e.Err), ErrNotFound) {
			delErr = e.Err // the rest drained too, so no goroutine is left behind
		}
	}
	// RemoveObjects has returned once its channel closed, which it does only
	// after toDelete closed: listErr is written by then.
	if listErr != nil {
		return fmt.Errorf("blob: s3: delete prefix: list: %w", listErr)
	}
	if delErr != nil {
		return fmt.Errorf("blob: s3: delete prefix: %w", delErr)
	}
	return nil
}
