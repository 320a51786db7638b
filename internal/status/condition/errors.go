package condition

import "fmt"

// SyntaxError is the error Parse returns for a malformed condition.
type SyntaxError struct {
	// Condition is the text given to Parse.
	Condition string
	// Column is the 1-based byte offset of the problem in Condition, or 0
	// when the problem has no single place, as with an empty condition.
	Column int
	// Msg describes the problem.
	Msg string
}

// Error returns the message with the condition and the column.
func (e *SyntaxError) Error() string {
	if e.Column == 0 {
		return fmt.Sprintf("parse condition %q: %s", e.Condition, e.Msg)
	}
	return fmt.Sprintf("parse condition %q: %s at column %d",
		e.Condition, e.Msg, e.Column)
}
