package status

import "strings"

// publicizer removes what a check hides from texts shown to the
// public.
type publicizer struct {
	check *check // nil for probes, which hide nothing
	ip    string // the address connected to
}

// text hides the URL, host and address for checks with HideURL.
func (p publicizer) text(s string) string {
	if p.check == nil || p.check.hider == nil || s == "" {
		return s
	}
	s = p.check.hider.Replace(s)
	if p.ip != "" {
		s = strings.ReplaceAll(s, p.ip, hidden)
	}
	return s
}

// errorText is text, or nothing for checks with HideErrors.
func (p publicizer) errorText(s string) string {
	if p.check != nil && p.check.cfg.HideErrors {
		return ""
	}
	return p.text(s)
}
