package dbg

import (
	"bytes"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lifeline-backup/lifeline/internal/blob/s3/s3test"
)

func TestProbe(t *testing.T) {
	cfg := s3test.Start(t)
	c, _ := minio.New(strings.TrimPrefix(cfg.Endpoint, "http://"), &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath, MaxRetries: 1})
	for _, n := range []int{1 << 10, 64 << 10, 1 << 20, 4 << 20} {
		data := make([]byte, n)
		opts := minio.PutObjectOptions{DisableMultipart: true}
		opts.SetMatchETagExcept("*")
		key := "k" + string(rune('a'+n%26))
		c.PutObject(t.Context(), cfg.Bucket, key, bytes.NewReader(data), int64(n), opts)
		codes := map[string]int{}
		for i := 0; i < 20; i++ {
			_, err := c.PutObject(t.Context(), cfg.Bucket, key, bytes.NewReader(data), int64(n), opts)
			r := minio.ToErrorResponse(err)
			if r.Code == "" && err != nil { codes["net"]++ } else { codes[r.Code]++ }
		}
		t.Logf("size %d: %v", n, codes)
	}
}
