package condition

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
)

// body is a response body, decoded as JSON the first time a path needs
// it.
type body struct {
	raw     []byte
	decoded bool
	valid   bool
	doc     any
}

// lookup returns the JSON value at path, and false when the body is not
// JSON or the path leads nowhere. An empty path returns the whole
// document.
func (b *body) lookup(path []step) (any, bool) {
	if !b.decoded {
		b.doc, b.valid = decodeJSON(b.raw)
		b.decoded = true
	}
	if !b.valid {
		return nil, false
	}
	v := b.doc
	for _, st := range path {
		var ok bool
		if v, ok = walk(v, st); !ok {
			return nil, false
		}
	}
	return v, true
}

// walk takes one step into v.
func walk(v any, st step) (any, bool) {
	if st.isIndex {
		list, ok := v.([]any)
		if !ok || st.index >= len(list) {
			return nil, false
		}
		return list[st.index], true
	}
	object, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	next, ok := object[st.key]
	return next, ok
}

// decodeJSON decodes raw as a single JSON value, keeping numbers as
// written.
func decodeJSON(raw []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, false
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, false
	}
	return doc, true
}

// render returns a JSON value as text: strings without quotes, numbers
// as written, and objects and arrays as minified JSON with object keys
// sorted.
func render(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "null"
	}
	out, err := json.Marshal(v)
	if err != nil {
		// Values decoded from JSON always encode again.
		return ""
	}
	return string(out)
}
