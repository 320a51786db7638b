package httpsnap

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// version is the protocol version in the header line.
const version = 1

// contentType is the media type of snapshot and restore bodies.
const contentType = "application/x-ndjson"

// header is the first line of a stream.
type header struct {
	Version   int    `json:"lifeline_snapshot"`
	Namespace string `json:"namespace"`
	// Records is the optional record count, checked against the trailer.
	Records *int64 `json:"records,omitempty"`
}

// recordLine is a record line as Write encodes it.
type recordLine struct {
	Key       []byte     `json:"key"`
	Value     []byte     `json:"value"`
	Metadata  []byte     `json:"metadata"`
	ExpiresAt *time.Time `json:"expires_at"`
	Deleted   bool       `json:"deleted,omitempty"`
}

// trailer is the last line of a stream.
type trailer struct {
	End     bool   `json:"end"`
	Records int64  `json:"records"`
	SHA256  string `json:"sha256"`
}

// wireLine is a record line or the trailer as Read decodes it. End is
// set only in the trailer.
type wireLine struct {
	Key       *[]byte    `json:"key"`
	Value     []byte     `json:"value"`
	Metadata  []byte     `json:"metadata"`
	ExpiresAt *time.Time `json:"expires_at"`
	End       bool       `json:"end"`
	Records   int64      `json:"records"`
	SHA256    string     `json:"sha256"`
}

// writeResult is the body of a successful restore response.
type writeResult struct {
	Written   int64    `json:"written"`
	Conflicts [][]byte `json:"conflicts"`
	Deleted   int64    `json:"deleted"`
	Expired   int64    `json:"expired"`
}

// errorBody is the body of an error response.
type errorBody struct {
	Error string `json:"error"`
}

var errLineTooLong = fmt.Errorf("line longer than %d bytes", MaxLineBytes)

// lineReader reads lines that end with a line feed. Its buffer grows to
// the longest line read, and at most to max bytes.
type lineReader struct {
	r   *bufio.Reader
	buf []byte
	max int
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next line with its line feed, valid until the next
// call. It returns io.EOF at the end of the stream, and
// io.ErrUnexpectedEOF when the stream ends inside a line.
func (lr *lineReader) next() ([]byte, error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if len(lr.buf)+len(chunk) > lr.max {
			return nil, errLineTooLong
		}
		lr.buf = append(lr.buf, chunk...)
		switch {
		case err == nil:
			return lr.buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(lr.buf) == 0:
			return nil, io.EOF
		case errors.Is(err, io.EOF):
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// parseHeader decodes and checks the header line.
func parseHeader(line []byte) (header, error) {
	var h header
	if err := json.Unmarshal(line, &h); err != nil {
		return h, fmt.Errorf("invalid header line: %w", err)
	}
	if h.Version != version {
		return h, fmt.Errorf("header has lifeline_snapshot %d; this "+
			"lifeline reads version %d", h.Version, version)
	}
	if h.Records != nil && *h.Records < 0 {
		return h, fmt.Errorf("header has a negative record count %d",
			*h.Records)
	}
	return h, nil
}

// checkContentType returns an error unless the response is NDJSON.
func checkContentType(resp *http.Response) error {
	value := resp.Header.Get("Content-Type")
	media, _, err := mime.ParseMediaType(value)
	if err != nil || media != contentType {
		return fmt.Errorf("response content type is %q, not %s",
			value, contentType)
	}
	return nil
}

// statusError returns the error for a response whose status is not 200,
// with the message of its JSON error body when it has one.
func statusError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg := strings.TrimSpace(string(body))
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error != "" {
		msg = eb.Error
	}
	if msg == "" {
		msg = "no error message"
	}
	hint := ""
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		hint = "; check the token"
	case http.StatusNotFound:
		hint = "; check the URL, which must not end in /snapshot " +
			"or /restore"
	}
	return fmt.Errorf("status %s: %s%s", resp.Status, msg, hint)
}
