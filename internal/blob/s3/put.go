package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lifeline-backup/lifeline/internal/blob"
)

const (
	// defaultPartSize is the size of each part of a multipart upload,
	// and of the buffer that Put holds in memory.
	defaultPartSize = 16 << 20
	// maxParts is the maximum number of parts of one upload in S3.
	maxParts = 10_000
	// abortTimeout bounds the request that discards a failed upload.
	abortTimeout = time.Minute
)

// Put uploads the object with the If-None-Match: * header, so the server
// rejects it with 412 Precondition Failed, returned as blob.ErrExists,
// when the name is taken. An object larger than one part is sent as a
// multipart upload whose completion carries the same header, and Put
// then holds one part (16 MiB by default) in memory. A negative size
// means the size is unknown.
//
// When the store has a lock mode and ctx carries a retention date
// (blob.WithRetainUntil), the object is stored locked in that mode
// until that date.
func (s *Store) Put(ctx context.Context, name string, r io.Reader,
	size int64) error {
	if err := s.put(ctx, name, r, size); err != nil {
		return fmt.Errorf("put %q to %s: %w", name, s, err)
	}
	return nil
}

func (s *Store) put(ctx context.Context, name string, r io.Reader,
	size int64) error {
	if err := checkName(name); err != nil {
		return err
	}
	key := s.key(name)
	// A HEAD request first avoids sending the content of an object that
	// exists. The conditional request still decides any race.
	if err := s.checkAbsent(ctx, key); err != nil {
		return err
	}
	partSize := s.partSizeFor(size)
	if size >= 0 && size <= partSize {
		return s.putSingle(ctx, key, r, size)
	}

	buf := make([]byte, partSize)
	n, last, err := readPart(r, buf)
	if err != nil {
		return err
	}
	if last {
		if size >= 0 && int64(n) != size {
			return shortRead(int64(n), size)
		}
		return s.putSingle(ctx, key, bytes.NewReader(buf[:n]), int64(n))
	}
	return s.putMultipart(ctx, key, r, size, buf)
}

// partSizeFor returns the part size for an object of size bytes, raised
// above the default when the object would need more than maxParts parts.
func (s *Store) partSizeFor(size int64) int64 {
	partSize := s.partSize
	if partSize <= 0 {
		partSize = defaultPartSize
	}
	if size > partSize*maxParts {
		const mib = 1 << 20
		perPart := (size + maxParts - 1) / maxParts
		partSize = (perPart + mib - 1) / mib * mib
	}
	return partSize
}

// putSingle uploads the object in one conditional PUT request.
func (s *Store) putSingle(ctx context.Context, key string, r io.Reader,
	size int64) error {
	opts := minio.PutObjectOptions{DisableMultipart: true}
	opts.SetMatchETagExcept("*")
	s.setLock(ctx, &opts)
	_, err := s.client.PutObject(ctx, s.bucket, key, r, size, opts)
	var resp minio.ErrorResponse
	if err == nil || errors.As(err, &resp) || ctx.Err() != nil {
		return mapError(err)
	}

	// versitygw sends 412 before it reads the body of a request for an
	// existing key and closes the connection, so the client may get a
	// connection reset instead of the 412. In one local run, 13 of 20
	// such requests with 1 MiB bodies got a reset, and none with 64 KiB.
	// NOTE: if the reset hides the success of this very request, Put
	// reports blob.ErrExists for an object that it wrote itself.
	if s.checkAbsent(ctx, key) == blob.ErrExists {
		return fmt.Errorf("%w: %w", blob.ErrExists, err)
	}
	return err
}

// setLock adds the Object Lock headers to opts when the store has a
// lock mode and ctx carries a retention date. AWS S3 rejects a PUT with
// Object Lock parameters that has no Content-MD5 header, so the header
// is sent whenever the store has a lock mode.
func (s *Store) setLock(ctx context.Context, opts *minio.PutObjectOptions) {
	if s.lockMode == "" {
		return
	}
	opts.SendContentMd5 = true
	if until, ok := blob.RetainUntil(ctx); ok {
		opts.Mode = s.lockMode
		opts.RetainUntilDate = until.UTC()
	}
}

// checkAbsent returns nil if no object has the key, blob.ErrExists if
// one does, and the error of the HEAD request otherwise.
func (s *Store) checkAbsent(ctx context.Context, key string) error {
	_, err := s.client.StatObject(ctx, s.bucket, key,
		minio.StatObjectOptions{})
	if err == nil {
		return blob.ErrExists
	}
	err = mapError(err)
	if errors.Is(err, blob.ErrNotFound) {
		return nil
	}
	return err
}

// readPart fills buf from r and reports whether r ended. An error of r
// other than io.EOF is returned.
func readPart(r io.Reader, buf []byte) (n int, last bool, err error) {
	n, err = io.ReadFull(r, buf)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return n, true, nil
	}
	if err != nil {
		return n, false, fmt.Errorf("read object content: %w", err)
	}
	return n, false, nil
}

func shortRead(n, size int64) error {
	return fmt.Errorf("read %d bytes of object content, want %d", n, size)
}

// putMultipart uploads buf, which is full, and the rest of r as a
// multipart upload. The upload is completed with If-None-Match: *, and
// aborted on any error so no parts are left behind.
func (s *Store) putMultipart(ctx context.Context, key string, r io.Reader,
	size int64, buf []byte) (err error) {
	core := minio.Core{Client: s.client}
	var lock minio.PutObjectOptions
	s.setLock(ctx, &lock)
	uploadID, err := core.NewMultipartUpload(ctx, s.bucket, key,
		minio.PutObjectOptions{Mode: lock.Mode,
			RetainUntilDate: lock.RetainUntilDate})
	if err != nil {
		return mapError(err)
	}
	defer func() {
		if err != nil {
			s.abort(ctx, key, uploadID)
		}
	}()

	parts, total, err := s.putParts(ctx, core, key, uploadID, r, buf)
	if err != nil {
		return err
	}
	if size >= 0 && total != size {
		return shortRead(total, size)
	}
	opts := minio.PutObjectOptions{}
	opts.SetMatchETagExcept("*")
	_, err = core.CompleteMultipartUpload(ctx, s.bucket, key, uploadID,
		parts, opts)
	return mapError(err)
}

// putParts uploads buf, which is full, as the first part and then the
// rest of r, and returns the parts and the number of bytes uploaded.
func (s *Store) putParts(ctx context.Context, core minio.Core,
	key, uploadID string, r io.Reader,
	buf []byte) ([]minio.CompletePart, int64, error) {
	var parts []minio.CompletePart
	var total int64
	n, last := len(buf), false
	for number := 1; n > 0; number++ {
		if number > maxParts {
			return nil, 0, fmt.Errorf("object content exceeds %d parts "+
				"of %d bytes: pass its size to Put", maxParts, len(buf))
		}
		var popts minio.PutObjectPartOptions
		if s.lockMode != "" {
			sum := md5.Sum(buf[:n])
			popts.Md5Base64 = base64.StdEncoding.EncodeToString(sum[:])
		}
		part, err := core.PutObjectPart(ctx, s.bucket, key, uploadID,
			number, bytes.NewReader(buf[:n]), int64(n), popts)
		if err != nil {
			return nil, 0, mapError(err)
		}
		parts = append(parts, minio.CompletePart{
			PartNumber: number, ETag: part.ETag})
		total += int64(n)
		if last {
			break
		}
		if n, last, err = readPart(r, buf); err != nil {
			return nil, 0, err
		}
	}
	return parts, total, nil
}

// abort discards a failed upload, even when ctx is canceled. An error is
// ignored because the upload already failed with a more useful one.
func (s *Store) abort(ctx context.Context, key, uploadID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx),
		abortTimeout)
	defer cancel()
	core := minio.Core{Client: s.client}
	_ = core.AbortMultipartUpload(ctx, s.bucket, key, uploadID)
}
