package status

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/lifeline-backup/lifeline/internal/status/condition"
)

// validID matches component ids, which appear in URL paths.
var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// minInterval keeps a mistyped interval, such as 1ns, from running a
// check in a busy loop.
const minInterval = time.Second

// applyDefaults fills the zero fields of c.
func applyDefaults(c *CheckConfig) {
	if c.Name == "" {
		c.Name = c.ID
	}
	if c.Kind == "" {
		c.Kind = "http"
	}
	if c.Method == "" {
		c.Method = "GET"
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.FailureThreshold == 0 {
		c.FailureThreshold = DefaultFailureThreshold
	}
	if c.SuccessThreshold == 0 {
		c.SuccessThreshold = DefaultSuccessThreshold
	}
}

// validateCheck returns every problem of c, each naming the field.
func validateCheck(c CheckConfig) []error {
	var errs []error
	if !validID.MatchString(c.ID) {
		errs = append(errs, fmt.Errorf("invalid id %q, want letters, "+
			"digits, '.', '_' and '-'", c.ID))
	}
	if err := validateTarget(c.Kind, c.URL); err != nil {
		errs = append(errs, err)
	}
	if c.Interval < minInterval {
		errs = append(errs, fmt.Errorf("invalid interval %v, want at "+
			"least %v", c.Interval, minInterval))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("invalid timeout %v, want a "+
			"positive duration", c.Timeout))
	}
	if c.FailureThreshold < 0 || c.SuccessThreshold < 0 {
		errs = append(errs, fmt.Errorf("invalid thresholds: failure %d, "+
			"success %d, want 0 for the default or a positive number",
			c.FailureThreshold, c.SuccessThreshold))
	}
	return errs
}

// validateTarget checks that target suits kind.
func validateTarget(kind, target string) error {
	switch kind {
	case "http":
		u, err := url.Parse(target)
		if err != nil {
			return fmt.Errorf("invalid url: %w", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("invalid url %q, want http:// or https:// "+
				"and a host", target)
		}
	case "tcp":
		if _, _, err := net.SplitHostPort(tcpAddress(target)); err != nil {
			return fmt.Errorf("invalid tcp address %q, want host:port: %w",
				target, err)
		}
	default:
		return fmt.Errorf("invalid kind %q, want http or tcp", kind)
	}
	return nil
}

// tcpAddress strips an optional tcp:// prefix.
func tcpAddress(target string) string {
	return strings.TrimPrefix(target, "tcp://")
}

// namedCondition is a parsed condition with its text.
type namedCondition struct {
	text string
	cond *condition.Condition
}

// parseConditions parses texts, naming the list and position of each
// failure.
func parseConditions(list string, texts []string) ([]namedCondition, []error) {
	var conds []namedCondition
	var errs []error
	for i, text := range texts {
		c, err := condition.Parse(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %d: %w", list, i+1, err))
			continue
		}
		conds = append(conds, namedCondition{text: text, cond: c})
	}
	return conds, errs
}
