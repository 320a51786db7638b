package condition

import "strings"

// call parses the call of function name that makes up the operand t.
func (p *parser) call(name string, t string, at int) (operand, error) {
	closeAt := closingParenthesis(t, len(name))
	if closeAt != len(t)-1 {
		return operand{}, p.fail(at+closeAt+1,
			"unexpected %q after %s(...)", t[closeAt+1:], name)
	}
	inner, innerAt := t[len(name)+1:closeAt], at+len(name)+1

	switch name {
	case "len":
		return p.bodyCall(kindLen, name, t, at, inner, innerAt)
	case "has":
		return p.bodyCall(kindHas, name, t, at, inner, innerAt)
	case "pat":
		o := operand{kind: kindPat, text: t, at: at}
		o.args = []string{inner}
		return o, nil
	case "any":
		return p.anyCall(t, at, inner, innerAt)
	}
	return operand{}, p.fail(at,
		"unknown function %q: expected len, has, pat or any", name)
}

// closingParenthesis returns the offset of the ")" that closes the "(" at
// t[open]. The caller has checked that the parentheses are balanced.
func closingParenthesis(t string, open int) int {
	depth := 0
	for i := open; i < len(t); i++ {
		switch t[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(t) - 1
}

// bodyCall parses len or has, whose argument must be [BODY] with an
// optional JSON path.
func (p *parser) bodyCall(k kind, name, t string, at int,
	inner string, innerAt int) (operand, error) {
	arg, argAt := trimBlanks(inner, innerAt)
	if arg == "" {
		return operand{}, p.fail(innerAt,
			"missing operand in %s(): expected [BODY] or a [BODY] path", name)
	}
	o, err := p.operand(arg, argAt)
	if err != nil {
		return operand{}, err
	}
	if o.kind != kindPlaceholder || o.name != "BODY" {
		return operand{}, p.fail(argAt,
			"%s() works only with [BODY], got %q", name, arg)
	}
	return operand{kind: k, text: t, at: at, name: o.name, path: o.path}, nil
}

// anyCall parses the comma-separated values of any.
func (p *parser) anyCall(t string, at int,
	inner string, innerAt int) (operand, error) {
	o := operand{kind: kindAny, text: t, at: at}
	for _, part := range strings.Split(inner, ",") {
		v, vAt := trimBlanks(part, innerAt)
		if v == "" {
			return operand{}, p.fail(vAt, "missing value in any()")
		}
		o.args = append(o.args, v)
		innerAt += len(part) + 1
	}
	return o, nil
}

// trimBlanks removes blanks around s, which starts at byte offset at, and
// returns the offset of what remains.
func trimBlanks(s string, at int) (string, int) {
	trimmed := strings.TrimLeft(s, blanks)
	at += len(s) - len(trimmed)
	return strings.TrimRight(trimmed, blanks), at
}
