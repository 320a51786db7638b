package condition_test

import (
	"errors"
	"testing"
	"time"

	"github.com/lifeline-backup/lifeline/internal/status/condition"
)

// FuzzParse checks that Parse never panics, that a rejected condition
// gets a column inside the text and that an accepted one keeps its text
// and evaluates without panicking.
func FuzzParse(f *testing.F) {
	result := &condition.Result{
		Status:                200,
		ResponseTime:          120 * time.Millisecond,
		Body:                  []byte(`{"a":[1,{"b":"x"}],"n":2.5,"s":"é"}`),
		Connected:             true,
		IP:                    "127.0.0.1",
		CertificateExpiration: 72 * time.Hour,
		DNSRcode:              "NOERROR",
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := condition.Parse(text)
		if err != nil {
			var syntax *condition.SyntaxError
			if !errors.As(err, &syntax) {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
			if syntax.Column < 0 || syntax.Column > len(text)+1 {
				t.Fatalf("column %d outside %q", syntax.Column, text)
			}
			return
		}
		if c.String() != text {
			t.Fatalf("String() = %q, want %q", c.String(), text)
		}
		c.Eval(result)
		c.Eval(&condition.Result{Body: []byte(text)})
	})
}
