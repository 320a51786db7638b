package condition

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxDisplay is the number of bytes of a resolved value a detail shows.
const maxDisplay = 64

// value is an operand resolved against a result.
type value struct {
	// text is the value in the form it is compared in.
	text string
	// display is the value as the detail shows it, when it differs from
	// text.
	display string
	// missing is set when a JSON path leads nowhere, so every comparison
	// fails.
	missing bool
	// pattern is set for pat, whose text is a pattern.
	pattern bool
	// choices holds the values of any.
	choices []string
}

// evaluator resolves operands against one result.
type evaluator struct {
	result *Result
	body   body
}

// resolve returns the value of o.
func (e *evaluator) resolve(o operand) value {
	switch o.kind {
	case kindPlaceholder:
		return e.placeholder(o)
	case kindLen:
		return e.length(o.path)
	case kindHas:
		_, ok := e.body.lookup(o.path)
		return value{text: strconv.FormatBool(ok)}
	case kindPat:
		return value{text: o.args[0], pattern: true}
	case kindAny:
		return value{choices: o.args}
	}
	if len(o.args) == 0 {
		// Only the zero Condition, which Parse never returns, gets here.
		return value{missing: true}
	}
	return value{text: o.args[0]}
}

// placeholder returns the value of a placeholder.
func (e *evaluator) placeholder(o operand) value {
	r := e.result
	switch o.name {
	case "STATUS":
		return value{text: strconv.Itoa(r.Status)}
	case "RESPONSE_TIME":
		return millis(r.ResponseTime, false)
	case "IP":
		return value{text: r.IP}
	case "CONNECTED":
		return value{text: strconv.FormatBool(r.Connected)}
	case "CERTIFICATE_EXPIRATION":
		return millis(r.CertificateExpiration, true)
	case "DOMAIN_EXPIRATION":
		return millis(r.DomainExpiration, true)
	case "DNS_RCODE":
		return value{text: r.DNSRcode}
	}
	if len(o.path) == 0 {
		return value{text: string(r.Body)}
	}
	v, ok := e.body.lookup(o.path)
	if !ok {
		return value{missing: true}
	}
	return value{text: render(v)}
}

// millis returns d in whole milliseconds, displayed as a duration such as
// 47h59m59s when asDuration is set.
func millis(d time.Duration, asDuration bool) value {
	v := value{text: strconv.FormatInt(d.Milliseconds(), 10)}
	if asDuration {
		v.display = d.Truncate(time.Second).String()
	}
	return v
}

// length returns the number of elements of the array at path, or the
// number of characters of any other value there.
func (e *evaluator) length(path []step) value {
	v, ok := e.body.lookup(path)
	if !ok && len(path) > 0 {
		return value{missing: true}
	}
	if !ok {
		// A body that is not JSON counts as plain text.
		v = string(e.result.Body)
	}
	if list, isList := v.([]any); isList {
		return value{text: strconv.Itoa(len(list))}
	}
	n := utf8.RuneCountInString(render(v))
	return value{text: strconv.Itoa(n)}
}

// describe returns o as the detail shows it: literals, pat and any as
// written, and anything else followed by its value in brackets.
func describe(o operand, v value) string {
	if o.kind == kindLiteral || isMatcher(o) {
		return o.text
	}
	if v.missing {
		return o.text + " (missing)"
	}
	display := v.display
	if display == "" {
		display = v.text
	}
	return o.text + " (" + truncate(display) + ")"
}

// truncate shortens s to maxDisplay bytes, without splitting a character,
// and quotes it when it contains characters that are not printable.
func truncate(s string) string {
	if len(s) > maxDisplay {
		cut := maxDisplay
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	if strings.IndexFunc(s, notPrintable) >= 0 {
		s = strconv.Quote(s)
	}
	return s
}

// notPrintable reports whether r would garble a one-line detail.
func notPrintable(r rune) bool {
	return !unicode.IsPrint(r)
}
