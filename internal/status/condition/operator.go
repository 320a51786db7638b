package condition

import "strings"

// operator is one of the six comparison operators.
type operator string

const (
	opEqual        operator = "=="
	opNotEqual     operator = "!="
	opLess         operator = "<"
	opLessEqual    operator = "<="
	opGreater      operator = ">"
	opGreaterEqual operator = ">="
)

// operators lists the two-character operators first, so that "<=" is
// not taken for "<".
var operators = []operator{
	opEqual, opNotEqual, opLessEqual, opGreaterEqual, opLess, opGreater,
}

// ordering reports whether the operator compares by order, which needs
// numbers on both sides.
func (o operator) ordering() bool {
	return o != opEqual && o != opNotEqual
}

// match is an operator found in a condition at byte offset at.
type match struct {
	op operator
	at int
}

// findOperators returns the operators that stand alone between blanks,
// or at either end of s, outside parentheses.
func findOperators(s string) []match {
	var found []match
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
			continue
		case ')':
			depth--
			continue
		}
		if depth != 0 || (i > 0 && !isBlank(s[i-1])) {
			continue
		}
		if op, ok := operatorAt(s, i); ok {
			found = append(found, match{op: op, at: i})
			i += len(op) - 1
		}
	}
	return found
}

// operatorAt returns the operator that starts at s[i] and is followed by
// a blank or the end of s.
func operatorAt(s string, i int) (operator, bool) {
	for _, op := range operators {
		end := i + len(op)
		if !strings.HasPrefix(s[i:], string(op)) {
			continue
		}
		if end == len(s) || isBlank(s[end]) {
			return op, true
		}
	}
	return "", false
}

// blanks are the characters that may surround operators and operands.
const blanks = " \t\r\n"

// isBlank reports whether b is one of blanks.
func isBlank(b byte) bool {
	return strings.IndexByte(blanks, b) >= 0
}
