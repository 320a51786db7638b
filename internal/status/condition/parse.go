package condition

import (
	"fmt"
	"strings"
)

// parser parses one condition and builds its errors.
type parser struct {
	text string
}

// fail returns a *SyntaxError at the 0-based byte offset at, or with no
// column when at is -1.
func (p *parser) fail(at int, format string, args ...any) error {
	return &SyntaxError{
		Condition: p.text,
		Column:    at + 1,
		Msg:       fmt.Sprintf(format, args...),
	}
}

// parse splits the condition at its operator, parses both operands and
// checks that they fit the operator.
func (p *parser) parse() (*Condition, error) {
	if strings.TrimSpace(p.text) == "" {
		return nil, p.fail(-1, "empty condition")
	}
	if err := p.checkParentheses(); err != nil {
		return nil, err
	}
	m, err := p.findOperator()
	if err != nil {
		return nil, err
	}

	left, err := p.side(0, m.at, "before", m.op)
	if err != nil {
		return nil, err
	}
	right, err := p.side(m.at+len(m.op), len(p.text), "after", m.op)
	if err != nil {
		return nil, err
	}

	c := &Condition{text: p.text, op: m.op, left: left, right: right}
	if err := p.check(c, m.at); err != nil {
		return nil, err
	}
	return c, nil
}

// checkParentheses rejects a ")" without a "(" and a "(" never closed.
func (p *parser) checkParentheses() error {
	var open []int
	for i := 0; i < len(p.text); i++ {
		switch p.text[i] {
		case '(':
			open = append(open, i)
		case ')':
			if len(open) == 0 {
				return p.fail(i, `unbalanced parentheses: ")" has no "("`)
			}
			open = open[:len(open)-1]
		}
	}
	if len(open) > 0 {
		return p.fail(open[0], `unbalanced parentheses: "(" is not closed`)
	}
	return nil
}

// findOperator returns the condition's only operator.
func (p *parser) findOperator() (match, error) {
	found := findOperators(p.text)
	if len(found) > 1 {
		return match{}, p.fail(found[1].at,
			"more than one operator: %q at column %d and %q",
			found[0].op, found[0].at+1, found[1].op)
	}
	if len(found) == 1 {
		return found[0], nil
	}
	for _, op := range operators {
		if i := strings.Index(p.text, string(op)); i >= 0 {
			return match{}, p.fail(i,
				"missing operator: put a space on each side of %q", op)
		}
	}
	return match{}, p.fail(-1,
		"missing operator: expected one of ==, !=, <, <=, >, >=")
}

// side parses the operand in p.text[start:end], which lies where
// (before or after) the operator op.
func (p *parser) side(start, end int, where string, op operator) (operand, error) {
	trimmed, at := trimBlanks(p.text[start:end], start)
	if trimmed == "" {
		opAt := start - len(op)
		if where == "before" {
			opAt = end
		}
		return operand{}, p.fail(opAt, "missing operand %s %q", where, op)
	}
	return p.operand(trimmed, at)
}
