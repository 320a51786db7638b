package condition_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/lifeline-backup/lifeline/internal/status/condition"
)

func TestParse_Rejects(t *testing.T) {
	cases := []struct {
		name   string
		cond   string
		msg    string
		column int
	}{
		{"empty", "", "empty condition", 0},
		{"only blanks", " \t ", "empty condition", 0},
		{"unknown placeholder", "[STATS] == 200",
			`unknown placeholder "[STATS]"`, 1},
		{"lower-case placeholder", "[status] == 200",
			`unknown placeholder "[status]"`, 1},
		{"unknown placeholder on right", "[BODY].a == [CONTEXT].a",
			`unknown placeholder "[CONTEXT]"`, 13},
		{"unterminated placeholder", "[STATUS == 200",
			`missing "]" in placeholder "[STATUS"`, 1},
		{"path on status", "[STATUS].code == 200",
			"only [BODY] takes a JSON path", 9},
		{"unknown function", "lenn([BODY].a) == 1",
			`unknown function "lenn"`, 1},
		{"unknown function on right", "[STATUS] == one(200)",
			`unknown function "one"`, 13},
		{"missing operator", "[STATUS] 200", "missing operator", 0},
		{"operator without spaces", "[STATUS]==200",
			`missing operator: put a space on each side of "=="`, 9},
		{"single equals", "[STATUS] = 200", "missing operator", 0},
		{"missing left operand", "== 200", `missing operand before "=="`, 1},
		{"missing right operand", "[STATUS] ==", `missing operand after "=="`, 10},
		{"missing right operand blanks", "[STATUS] <=  ",
			`missing operand after "<="`, 10},
		{"two operators", "[STATUS] == 200 == 200",
			`more than one operator: "==" at column 10 and "=="`, 17},
		{"unclosed parenthesis", "len([BODY].a == 1",
			`unbalanced parentheses: "(" is not closed`, 4},
		{"extra parenthesis", "[STATUS] == 200)",
			`unbalanced parentheses: ")" has no "("`, 16},
		{"text after call", "len([BODY].a)x == 1",
			`unexpected "x" after len(...)`, 14},
		{"len of status", "len([STATUS]) == 3",
			`len() works only with [BODY], got "[STATUS]"`, 5},
		{"has of literal", "has(abc) == true",
			`has() works only with [BODY], got "abc"`, 5},
		{"len without argument", "len( ) == 0", "missing operand in len()", 5},
		{"empty any", "[STATUS] == any()", "missing value in any()", 17},
		{"empty value in any", "[STATUS] == any(200, , 204)",
			"missing value in any()", 22},
		{"pat with ordering", "[BODY] < pat(1*)",
			"pat() and any() work only with == and !=", 8},
		{"any with ordering", "[STATUS] >= any(1, 2)",
			"pat() and any() work only with == and !=", 10},
		{"matchers on both sides", "pat(a*) == any(a, b)",
			"pat() and any() cannot be on both sides", 12},
		{"ordering on IP", "[IP] > 1", `[IP] is not a number, so ">"`, 1},
		{"ordering with text", "[STATUS] < abc",
			`abc is not a number, so "<" cannot compare it`, 12},
		{"ordering on has", "has([BODY].a) > 0", "is not a number", 1},
		{"invalid duration", "[CERTIFICATE_EXPIRATION] > 2d",
			`invalid duration "2d"`, 28},
		{"invalid duration in any", "[RESPONSE_TIME] == any(1s, soon)",
			`invalid duration "soon"`, 20},
		{"empty path key", "[BODY]..a == 1",
			`missing key after "." in JSON path`, 7},
		{"negative index", "[BODY].a[-1] == 1",
			`invalid array index "-1"`, 10},
		{"text index", "[BODY].a[x] == 1", `invalid array index "x"`, 10},
		{"unclosed index", "[BODY].a[0 == 1", `missing "]" in JSON path`, 9},
		{"garbage after body", "[BODY]x == 1", `unexpected "x" in JSON path`, 7},
		{"bracket in key", "[BODY].a]b == 1", `unexpected "]" in JSON path`, 9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := condition.Parse(tc.cond)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tc.cond, c)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Parse(%q) error = %q, want it to contain %q",
					tc.cond, err, tc.msg)
			}
			var syntax *condition.SyntaxError
			if !errors.As(err, &syntax) {
				t.Fatalf("Parse(%q) error %T is not a *SyntaxError", tc.cond, err)
			}
			if syntax.Column != tc.column {
				t.Errorf("Parse(%q) column = %d, want %d",
					tc.cond, syntax.Column, tc.column)
			}
		})
	}
}

func TestParse_ErrorMessage(t *testing.T) {
	_, err := condition.Parse("[STATS] == 200")
	want := `parse condition "[STATS] == 200": ` +
		`unknown placeholder "[STATS]" at column 1`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestParse_Accepts(t *testing.T) {
	accepted := []string{
		"[STATUS] == 200",
		"[STATUS]\t!=\t500",
		"[BODY] == [1,2]",
		"[BODY].name == foo (bar)",
		"[BODY] == pat()",
		"[BODY] == pat(*(beta)*)",
		"[BODY].ip == any(127.0.0.1, ::1)",
		"len( [BODY].data ) >= 1",
		"[BODY][0][1].a-b.c == x",
		"1 < 2",
		"[RESPONSE_TIME] <= 1.5s",
	}
	for _, text := range accepted {
		if _, err := condition.Parse(text); err != nil {
			t.Errorf("Parse(%q): %v", text, err)
		}
	}
}
