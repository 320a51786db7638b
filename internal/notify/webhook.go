package notify

import (
	"context"
	"encoding/json"
	"fmt"
)

// Webhook posts events as JSON to any HTTP endpoint. The body is the
// Event with the snake_case field names job, source, tier, status,
// message, time (RFC 3339 in UTC) and details (an object, never null).
// Every field is present even when empty. Any 2xx status is success.
type Webhook struct {
	sender *sender
}

var _ Notifier = (*Webhook)(nil)

// NewWebhook returns a notifier that posts to url. An invalid url makes
// every Notify fail.
func NewWebhook(url string, opts Options) *Webhook {
	return &Webhook{sender: newSender("webhook", url, opts)}
}

// Notify posts e as one JSON object.
func (w *Webhook) Notify(ctx context.Context, e Event) error {
	e.Time = e.Time.UTC()
	if e.Details == nil {
		e.Details = map[string]string{}
	}
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event for %s: %w", w, err)
	}
	return w.sender.post(ctx, body)
}

// String returns "webhook" and the host of the URL.
func (w *Webhook) String() string { return w.sender.String() }
