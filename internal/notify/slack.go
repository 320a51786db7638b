package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Slack posts events to a Slack incoming webhook as a message with mrkdwn
// text. Slack responds with 200 and the body "ok" when it accepts a
// message.
type Slack struct {
	sender *sender
}

var _ Notifier = (*Slack)(nil)

// NewSlack returns a notifier that posts to the Slack incoming webhook
// at url. An invalid url makes every Notify fail.
func NewSlack(url string, opts Options) *Slack {
	return &Slack{sender: newSender("slack webhook", url, opts)}
}

// slackMessage is the body of an incoming webhook request.
type slackMessage struct {
	Text string `json:"text"`
}

// Notify posts e as one Slack message.
func (s *Slack) Notify(ctx context.Context, e Event) error {
	body, err := json.Marshal(slackMessage{Text: slackText(e)})
	if err != nil {
		return fmt.Errorf("encode message for %s: %w", s, err)
	}
	return s.sender.post(ctx, body)
}

// String returns "slack webhook" and the host of the URL.
func (s *Slack) String() string { return s.sender.String() }

var slackEmoji = map[Status]string{
	Failed:    ":red_circle:",
	Recovered: ":large_green_circle:",
	Succeeded: ":white_check_mark:",
}

// slackText formats e as mrkdwn: a bold headline, the message as a quote,
// the details, and the time.
func slackText(e Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s *%s %s*", slackEmoji[e.Status],
		slackEscape(e.Job), e.Status)
	if e.Source != "" {
		fmt.Fprintf(&b, " · source `%s`", slackEscape(e.Source))
	}
	if e.Tier != "" {
		fmt.Fprintf(&b, " · tier `%s`", slackEscape(e.Tier))
	}
	if e.Message != "" {
		fmt.Fprintf(&b, "\n> %s", slackEscape(e.Message))
	}
	for _, k := range slices.Sorted(maps.Keys(e.Details)) {
		fmt.Fprintf(&b, "\n%s: `%s`", slackEscape(k),
			slackEscape(e.Details[k]))
	}
	if !e.Time.IsZero() {
		fmt.Fprintf(&b, "\n_%s_", e.Time.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// slackEscape escapes the three characters that Slack reserves for
// links and mentions, and turns line breaks into spaces so that one
// value stays on one line.
var slackEscape = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", "\n", " ", "\r", " ",
).Replace
