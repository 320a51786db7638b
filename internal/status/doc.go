// Package status is the engine of lifeline's public status page. It runs
// HTTP and TCP checks and the built-in probes that the daemon provides,
// confirms state changes after a number of consecutive results, keeps
// history in a bbolt file, and serves the page, a JSON API and SVG
// badges.
//
// A Server is built with New from a Config, started with Run, and its
// Handler is mounted on an HTTP server by the caller. Confirmed state
// changes go to Config.OnChange, which the caller connects to its
// notifiers. The package does not send notifications and does not read
// configuration files.
//
// What the page and the API show is meant for the public: a check with
// HideURL or HideErrors never shows its URL or its error texts there.
// Change events are meant for operators and carry the full error.
package status
