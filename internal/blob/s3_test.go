package blob_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/gosid/gosid/internal/blob"
	"github.com/gosid/gosid/internal/blob/blobtest"
)

// s3Backend starts an in-process S3 server (gofakes3 in memory) on
// 127.0.0.1:0 with a fresh bucket. Raw lists the bucket's objects and its
// pending multipart uploads through an independent client.
func s3Backend(t *testing.T) blobtest.Backend {
	s, raw, _ := newS3(t, 0)
	return blobtest.Backend{Store: s, Raw: raw}
}

func newS3(t *testing.T, partSize int64) (*blob.S3Store, func(t *testing.T) []string, *minio.Core) {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := blob.Config{
		Endpoint: u.Host, Bucket: "attachments", AccessKey: "test", SecretKey: "test-secret",
		Region: "us-east-1", PathStyle: true, PartSize: partSize,
	}
	s, err := blob.S3(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Region: cfg.Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	raw := func(t *testing.T) []string {
		t.Helper()
		ctx := context.Background()
		var out []string
		for o := range c.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			out = append(out, o.Key)
		}
		// gofakes3 answers NoSuchUpload for a bucket that has never had a
		// multipart upload: none pending.
		ups, err := (&minio.Core{Client: c}).ListMultipartUploads(ctx, cfg.Bucket, "", "", "", "", 1000)
		if err != nil && minio.ToErrorResponse(err).Code != "NoSuchUpload" {
			t.Fatal(err)
		}
		for _, u := range ups.Uploads {
			out = append(out, "pending upload: "+u.Key)
		}
		slices.Sort(out)
		return out
	}
	return s, raw, &minio.Core{Client: c}
}

func TestS3(t *testing.T) {
	blobtest.Run(t, s3Backend)
}

func TestEncryptedS3(t *testing.T) {
	blobtest.EncryptedRun(t, s3Backend)
}

// Files larger than a part go up as multipart uploads; one cut in its
// second part, or found too large after parts were sent, must leave
// neither an object nor a pending upload.
func TestS3MultipartAborted(t *testing.T) {
	const part = 5 << 20
	s, raw, core := newS3(t, part)
	ctx := context.Background()
	// The lister sees a pending upload (or the assertions below prove nothing).
	id, err := core.NewMultipartUpload(ctx, "attachments", "probe/x", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := raw(t); !slices.Equal(got, []string{"pending upload: probe/x"}) {
		t.Fatalf("a pending upload listed as %v", got)
	}
	if err := core.AbortMultipartUpload(ctx, "attachments", "probe/x", id); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 3*part)
	for i := range data {
		data[i] = byte(i * 7)
	}
	info, err := s.Put(ctx, "big/whole", bytes.NewReader(data), int64(len(data)))
	if err != nil || info.Size != int64(len(data)) {
		t.Fatalf("multipart Put: %+v, %v", info, err)
	}
	if got := raw(t); !slices.Equal(got, []string{"big/whole"}) {
		t.Fatalf("after a whole multipart upload: %v", got)
	}
	cut := blobtest.CutReader(bytes.NewReader(data), 2*part+1000, nil)
	if _, err := s.Put(ctx, "big/cut", cut, int64(len(data))); !errors.Is(err, blobtest.ErrCut) {
		t.Fatalf("multipart Put cut in part 3 = %v, want the reader's error", err)
	}
	if _, err := s.Put(ctx, "big/large", bytes.NewReader(data), 2*part+1); !errors.Is(err, blob.ErrTooLarge) {
		t.Fatalf("multipart Put over max = %v, want ErrTooLarge", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cut = blobtest.CutReader(bytes.NewReader(data), 2*part+1000, cancel)
	if _, err := s.Put(cctx, "big/cancelled", cut, int64(len(data))); err == nil {
		t.Fatal("multipart Put with the request cancelled in part 3 succeeded")
	}
	if got := raw(t); !slices.Equal(got, []string{"big/whole"}) {
		t.Fatalf("refused multipart uploads left: %v", got)
	}
}
