package status

import (
	"fmt"
	"html"
	"unicode/utf8"
)

// badgeColors are the badge colors of each status.
var badgeColors = map[Status]string{
	StatusUp:          "#2e7d32",
	StatusDegraded:    "#b26a00",
	StatusDown:        "#c62828",
	StatusMaintenance: "#1565c0",
	StatusUnknown:     "#616161",
}

// badge returns an SVG badge with label on the left and the status in
// words on the right. Text widths are estimated at 7 pixels a
// character, which fits 11 px sans-serif text in most fonts.
func badge(label string, st Status) []byte {
	value := st.label()
	left := 10 + 7*utf8.RuneCountInString(label)
	right := 10 + 7*utf8.RuneCountInString(value)
	width := left + right
	label, value = html.EscapeString(label), html.EscapeString(value)
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" `+
		`width="%d" height="20" role="img" aria-label="%s: %s">`+
		`<title>%s: %s</title>`+
		`<rect width="%d" height="20" rx="3" fill="#555"/>`+
		`<rect x="%d" width="%d" height="20" rx="3" fill="%s"/>`+
		`<g fill="#fff" text-anchor="middle" `+
		`font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">`+
		`<text x="%d" y="14">%s</text><text x="%d" y="14">%s</text>`+
		`</g></svg>`,
		width, label, value, label, value,
		width, left, right, badgeColor(st),
		left/2, label, left+right/2, value)
}

func badgeColor(st Status) string {
	if c, ok := badgeColors[st]; ok {
		return c
	}
	return badgeColors[StatusUnknown]
}
