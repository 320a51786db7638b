package condition

import (
	"strconv"
	"time"
)

// check rejects operands that do not fit together or with the operator
// at byte offset opAt, and converts durations compared with a time
// placeholder into milliseconds.
func (p *parser) check(c *Condition, opAt int) error {
	if err := p.checkMatchers(c, opAt); err != nil {
		return err
	}
	if isTime(c.left) {
		if err := p.toMillis(&c.right); err != nil {
			return err
		}
	}
	if isTime(c.right) {
		if err := p.toMillis(&c.left); err != nil {
			return err
		}
	}
	if !c.op.ordering() {
		return nil
	}
	if err := p.checkNumeric(c.left, c.op); err != nil {
		return err
	}
	return p.checkNumeric(c.right, c.op)
}

// checkMatchers allows pat and any only with == and != and only on one
// side.
func (p *parser) checkMatchers(c *Condition, opAt int) error {
	left, right := isMatcher(c.left), isMatcher(c.right)
	if left && right {
		return p.fail(c.right.at,
			"pat() and any() cannot be on both sides of %q", c.op)
	}
	if c.op.ordering() && (left || right) {
		return p.fail(opAt, "pat() and any() work only with == and !=")
	}
	return nil
}

// toMillis converts the durations in a literal or in any, such as 48h,
// into milliseconds, the unit time placeholders resolve to. Plain numbers
// are already milliseconds.
func (p *parser) toMillis(o *operand) error {
	if o.kind != kindLiteral && o.kind != kindAny {
		return nil
	}
	for i, v := range o.args {
		if isNumber(v) {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return p.fail(o.at,
				"invalid duration %q: expected milliseconds or a "+
					"duration such as 500ms or 48h", v)
		}
		o.args[i] = strconv.FormatInt(d.Milliseconds(), 10)
	}
	return nil
}

// checkNumeric rejects an operand of an ordering operator that can never
// be a number.
func (p *parser) checkNumeric(o operand, op operator) error {
	textual := o.kind == kindHas ||
		(o.kind == kindPlaceholder && textPlaceholders[o.name])
	if textual || (o.kind == kindLiteral && !isNumber(o.args[0])) {
		return p.fail(o.at,
			"%s is not a number, so %q cannot compare it", o.text, op)
	}
	return nil
}

// textPlaceholders lists the placeholders that never resolve to numbers.
var textPlaceholders = map[string]bool{
	"IP":        true,
	"CONNECTED": true,
	"DNS_RCODE": true,
}

// isMatcher reports whether o is a call of pat or any.
func isMatcher(o operand) bool {
	return o.kind == kindPat || o.kind == kindAny
}

// isTime reports whether o is a placeholder that resolves to
// milliseconds.
func isTime(o operand) bool {
	if o.kind != kindPlaceholder {
		return false
	}
	switch o.name {
	case "RESPONSE_TIME", "CERTIFICATE_EXPIRATION", "DOMAIN_EXPIRATION":
		return true
	}
	return false
}
