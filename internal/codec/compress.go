// Package codec turns record streams into bytes and back: MessagePack
// framing for records, then gzip or zstd compression. The compression of
// each payload is recorded in its first byte, so objects written with
// either read back.
//
// The package neither encrypts nor stores anything; package repo seals
// and stores what codec produces.
package codec

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression names a compression algorithm.
type Compression byte

// The compression algorithms, as recorded in a payload's first byte.
const (
	None Compression = 0
	Gzip Compression = 1
	Zstd Compression = 2
)

// String returns the name used in configuration files.
func (c Compression) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("compression(%d)", byte(c))
}

// ParseCompression parses a configuration value: "zstd", "gzip" or
// "none". The empty string means zstd.
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "", "zstd":
		return Zstd, nil
	case "gzip":
		return Gzip, nil
	case "none":
		return None, nil
	}
	return 0, fmt.Errorf("unknown compression %q: use zstd, gzip or none", s)
}

var (
	zstdOnce    sync.Once
	zstdEncoder *zstd.Encoder
	zstdDecoder *zstd.Decoder
	zstdErr     error
)

func zstdCodecs() (*zstd.Encoder, *zstd.Decoder, error) {
	zstdOnce.Do(func() {
		zstdEncoder, zstdErr = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedDefault))
		if zstdErr != nil {
			return
		}
		zstdDecoder, zstdErr = zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(0),
			zstd.WithDecoderMaxMemory(1<<30))
	})
	return zstdEncoder, zstdDecoder, zstdErr
}

// Compress returns data compressed with c, prefixed by c's byte.
func Compress(c Compression, data []byte) ([]byte, error) {
	out := []byte{byte(c)}
	switch c {
	case None:
		return append(out, data...), nil
	case Zstd:
		enc, _, err := zstdCodecs()
		if err != nil {
			return nil, fmt.Errorf("compress: %w", err)
		}
		return enc.EncodeAll(data, out), nil
	case Gzip:
		buf := bytes.NewBuffer(out)
		zw, err := gzip.NewWriterLevel(buf, gzip.DefaultCompression)
		if err != nil {
			return nil, fmt.Errorf("compress: %w", err)
		}
		if _, err := zw.Write(data); err != nil {
			return nil, fmt.Errorf("compress: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("compress: %w", err)
		}
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("compress: unknown compression %d", byte(c))
}

// Decompress reverses Compress, reading the algorithm from the first byte.
func Decompress(payload []byte) ([]byte, error) {
	if len(payload) == 0 {
		return nil, fmt.Errorf("decompress: empty payload")
	}
	body := payload[1:]
	switch Compression(payload[0]) {
	case None:
		return body, nil
	case Zstd:
		_, dec, err := zstdCodecs()
		if err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		// The zstd decoder takes empty input for an empty stream, but
		// Compress always writes a frame: no frame means a cut payload.
		if len(body) == 0 {
			return nil, fmt.Errorf("decompress zstd: no frame")
		}
		out, err := dec.DecodeAll(body, nil)
		if err != nil {
			return nil, fmt.Errorf("decompress zstd: %w", err)
		}
		return out, nil
	case Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("decompress gzip: %w", err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("decompress gzip: %w", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("decompress: unknown compression %d", payload[0])
}
