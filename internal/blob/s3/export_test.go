package s3

// SetPartSize sets the multipart upload part size, so tests can make
// multipart uploads from small objects. S3 requires at least 5 MiB.
func SetPartSize(s *Store, size int64) {
	s.partSize = size
}
