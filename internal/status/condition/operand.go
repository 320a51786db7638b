package condition

import (
	"strconv"
	"strings"
)

// kind is the type of an operand.
type kind int

const (
	kindLiteral kind = iota
	kindPlaceholder
	kindLen
	kindHas
	kindPat
	kindAny
)

// operand is one side of a condition.
type operand struct {
	kind kind
	// text is the operand as written, without surrounding blanks.
	text string
	// at is the byte offset of text in the condition.
	at int
	// name is the placeholder without brackets, "BODY" for len and has.
	name string
	// path is the JSON path after [BODY], empty for the whole body.
	path []step
	// args holds a literal's value, the pattern of pat or the values of
	// any, in the form they are compared in.
	args []string
}

// step is one step of a JSON path: an object key or an array index.
type step struct {
	key     string
	index   int
	isIndex bool
}

// placeholders lists the known placeholders by name.
var placeholders = map[string]bool{
	"STATUS":                 true,
	"RESPONSE_TIME":          true,
	"IP":                     true,
	"BODY":                   true,
	"CONNECTED":              true,
	"CERTIFICATE_EXPIRATION": true,
	"DOMAIN_EXPIRATION":      true,
	"DNS_RCODE":              true,
}

// operand parses the operand t found at byte offset at.
func (p *parser) operand(t string, at int) (operand, error) {
	if len(t) > 1 && t[0] == '[' && isNameStart(t[1]) {
		return p.placeholder(t, at)
	}
	if name := callName(t); name != "" {
		return p.call(name, t, at)
	}
	return operand{kind: kindLiteral, text: t, at: at, args: []string{t}}, nil
}

// placeholder parses a placeholder and, after [BODY], its JSON path.
func (p *parser) placeholder(t string, at int) (operand, error) {
	end := strings.IndexByte(t, ']')
	if end < 0 {
		return operand{}, p.fail(at, `missing "]" in placeholder %q`, t)
	}
	name := t[1:end]
	if !placeholders[name] {
		return operand{}, p.fail(at, "unknown placeholder %q", t[:end+1])
	}

	rest, restAt := t[end+1:], at+end+1
	if name != "BODY" && rest != "" {
		return operand{}, p.fail(restAt,
			"unexpected %q after [%s]: only [BODY] takes a JSON path",
			rest, name)
	}
	path, err := p.path(rest, restAt)
	if err != nil {
		return operand{}, err
	}
	o := operand{kind: kindPlaceholder, text: t, at: at, name: name}
	o.path = path
	return o, nil
}

// path parses a JSON path such as ".data[0].id" found at byte offset at.
func (p *parser) path(s string, at int) ([]step, error) {
	var steps []step
	for i := 0; i < len(s); {
		var st step
		var err error
		switch s[i] {
		case '.':
			st, i, err = p.key(s, i, at)
		case '[':
			st, i, err = p.index(s, i, at)
		default:
			err = p.fail(at+i,
				`unexpected %q in JSON path: expected "." or "["`, s[i:i+1])
		}
		if err != nil {
			return nil, err
		}
		steps = append(steps, st)
	}
	return steps, nil
}

// key parses the object key after the "." at s[i] and returns the
// offset after it.
func (p *parser) key(s string, i, at int) (step, int, error) {
	end := i + 1
	for end < len(s) && s[end] != '.' && s[end] != '[' {
		end++
	}
	k := s[i+1 : end]
	if k == "" {
		return step{}, 0, p.fail(at+i, `missing key after "." in JSON path`)
	}
	if j := strings.IndexByte(k, ']'); j >= 0 {
		return step{}, 0, p.fail(at+i+1+j, `unexpected "]" in JSON path`)
	}
	return step{key: k}, end, nil
}

// index parses the array index in brackets at s[i] and returns the
// offset after the closing bracket.
func (p *parser) index(s string, i, at int) (step, int, error) {
	end := strings.IndexByte(s[i:], ']')
	if end < 0 {
		return step{}, 0, p.fail(at+i, `missing "]" in JSON path`)
	}
	digits := s[i+1 : i+end]
	n, err := strconv.Atoi(digits)
	if err != nil || digits == "" || digits[0] < '0' || digits[0] > '9' {
		return step{}, 0, p.fail(at+i+1,
			"invalid array index %q: expected a number, 0 or more", digits)
	}
	return step{index: n, isIndex: true}, i + end + 1, nil
}

// callName returns the function name when t starts like a call, as in
// "len(", and "" otherwise.
func callName(t string) string {
	if t == "" || !isNameStart(t[0]) {
		return ""
	}
	end := 1
	for end < len(t) && isNamePart(t[end]) {
		end++
	}
	if end == len(t) || t[end] != '(' {
		return ""
	}
	return t[:end]
}

// isNameStart reports whether b may start a placeholder or function name.
func isNameStart(b byte) bool {
	return b == '_' || ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z')
}

// isNamePart reports whether b may continue a placeholder or function
// name.
func isNamePart(b byte) bool {
	return isNameStart(b) || ('0' <= b && b <= '9')
}
