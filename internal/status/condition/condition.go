// Package condition parses and evaluates health-check conditions written
// in the syntax of Gatus, so that endpoint conditions from a Gatus
// configuration work unchanged on lifeline's status page.
//
// A condition is two operands joined by one of the operators ==, !=, <,
// <=, > or >=, for example
//
//	[STATUS] == 200
//	[RESPONSE_TIME] < 500
//	[BODY].data[0].id == any(1, 2)
//	len([BODY].items) > 0
//	[CERTIFICATE_EXPIRATION] > 48h
//
// The operator needs a blank (space, tab, CR or LF) on each side, as in
// every example of the Gatus README, because operands such as patterns may
// contain the operator's characters. Blanks at either end of the condition
// and around each operand are ignored. Operators inside parentheses belong
// to the function call that contains them.
//
// An operand is one of four things:
//
//   - a placeholder: [STATUS], [RESPONSE_TIME], [IP], [BODY],
//     [CONNECTED], [CERTIFICATE_EXPIRATION], [DOMAIN_EXPIRATION] or
//     [DNS_RCODE]
//   - a JSON path into the body, such as [BODY].user.name,
//     [BODY].data[0].id or [BODY][1]
//   - a call of len, has, pat or any
//   - a literal, which is any other text taken as it is, spaces included
//
// Values compare as numbers when both sides are decimal numbers, and as
// strings otherwise, so <, <=, > and >= fail on text. In pat, "*" is the
// only wildcard and matching is case-sensitive. [RESPONSE_TIME],
// [CERTIFICATE_EXPIRATION] and [DOMAIN_EXPIRATION] resolve to
// milliseconds, and a duration such as 48h compared with them is converted
// to milliseconds.
//
// Parse is stricter than a plain reading of the syntax. It rejects an
// unknown placeholder or function, a literal such as abc(1) that looks
// like a call, a second operator outside parentheses, and an ordering
// operator next to a value that can never be a number. A JSON path that
// leads nowhere fails every comparison, != included.
//
// The package only parses and evaluates. It does not run checks.
package condition

import (
	"fmt"
	"time"
)

// Condition is a parsed condition, safe for concurrent use by several
// goroutines. The zero Condition fails every evaluation, so use Parse.
type Condition struct {
	text  string
	op    operator
	left  operand
	right operand
}

// Result is the outcome of one check of an endpoint.
type Result struct {
	// Status is the HTTP status code, 0 when the check is not HTTP.
	Status int
	// ResponseTime is how long the request took.
	ResponseTime time.Duration
	// Body is the response body, or the answer of a DNS query.
	Body []byte
	// Connected reports whether a connection could be established.
	Connected bool
	// IP is the address of the target host.
	IP string
	// CertificateExpiration is the time left before the TLS certificate
	// expires, 0 when the check used no TLS.
	CertificateExpiration time.Duration
	// DomainExpiration is the time left before the domain expires.
	DomainExpiration time.Duration
	// DNSRcode is the response code of a DNS query, such as NOERROR.
	DNSRcode string
}

// Parse parses a condition. A malformed condition returns a
// *SyntaxError that names the problem and its column.
func Parse(s string) (*Condition, error) {
	p := parser{text: s}
	c, err := p.parse()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// String returns the condition's original text.
func (c *Condition) String() string {
	return c.text
}

// Eval evaluates the condition against a check's result. The detail
// shows the condition with each placeholder and function followed by
// its resolved value in parentheses, such as "[STATUS] (503) == 200".
// Resolved values longer than 64 bytes are truncated, so the detail
// never carries a whole body. A nil result counts as an empty one.
func (c *Condition) Eval(r *Result) (ok bool, detail string) {
	if r == nil {
		r = &Result{}
	}
	e := evaluator{result: r, body: body{raw: r.Body}}
	left := e.resolve(c.left)
	right := e.resolve(c.right)
	ok = compare(c.op, left, right)
	detail = fmt.Sprintf("%s %s %s",
		describe(c.left, left), c.op, describe(c.right, right))
	return ok, detail
}
