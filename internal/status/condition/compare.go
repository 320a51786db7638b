package condition

import (
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// compare applies op to two resolved values. A missing value fails every
// comparison, != included.
func compare(op operator, a, b value) bool {
	if a.missing || b.missing {
		return false
	}
	if a.pattern || a.choices != nil {
		a, b = b, a
	}
	switch {
	case b.pattern:
		return matchPattern(b.text, a.text) == (op == opEqual)
	case b.choices != nil:
		return anyEqual(a.text, b.choices) == (op == opEqual)
	}
	return order(op, a.text, b.text)
}

// order applies op to a and b: as numbers when both are numbers, else
// as strings for == and !=. Ordering operators fail on non-numbers.
func order(op operator, a, b string) bool {
	c, numeric := compareNumbers(a, b)
	if !numeric {
		switch op {
		case opEqual:
			return a == b
		case opNotEqual:
			return a != b
		}
		return false
	}
	switch op {
	case opEqual:
		return c == 0
	case opNotEqual:
		return c != 0
	case opLess:
		return c < 0
	case opLessEqual:
		return c <= 0
	case opGreater:
		return c > 0
	}
	return c >= 0
}

// anyEqual reports whether s equals one of the choices.
func anyEqual(s string, choices []string) bool {
	for _, choice := range choices {
		if order(opEqual, s, choice) {
			return true
		}
	}
	return false
}

var (
	// number matches decimal numbers such as -3, 2.50 and 1e6.
	number = regexp.MustCompile(`^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$`)
	// integer matches decimal integers, which compare exactly at any size.
	integer = regexp.MustCompile(`^[-+]?\d+$`)
)

// isNumber reports whether s is a decimal number.
func isNumber(s string) bool {
	return number.MatchString(s)
}

// compareNumbers returns -1, 0 or +1 as a is less than, equal to or
// greater than b, and false when either is not a number. Integers
// compare exactly; other numbers compare as float64.
func compareNumbers(a, b string) (int, bool) {
	if integer.MatchString(a) && integer.MatchString(b) {
		x, _ := new(big.Int).SetString(strings.TrimPrefix(a, "+"), 10)
		y, _ := new(big.Int).SetString(strings.TrimPrefix(b, "+"), 10)
		return x.Cmp(y), true
	}
	if !isNumber(a) || !isNumber(b) {
		return 0, false
	}
	// Out-of-range numbers parse to ±Inf, which still compare.
	x, _ := strconv.ParseFloat(a, 64)
	y, _ := strconv.ParseFloat(b, 64)
	switch {
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}

// matchPattern reports whether s matches pattern, in which "*" matches
// any run of characters, the empty run included, and every other
// character matches itself.
func matchPattern(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return s == pattern
	}
	first, last := parts[0], parts[len(parts)-1]
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	for _, middle := range parts[1 : len(parts)-1] {
		i := strings.Index(s, middle)
		if i < 0 {
			return false
		}
		s = s[i+len(middle):]
	}
	return strings.HasSuffix(s, last)
}
