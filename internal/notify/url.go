package notify

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Errors of checkURL. None of them contains the URL.
var (
	errEmptyURL   = errors.New("URL is empty")
	errInvalidURL = errors.New("invalid URL")
	errScheme     = errors.New("URL scheme must be http or https")
	errNoHost     = errors.New("URL has no host")
)

// URLFromEnv returns the webhook URL in the environment variable name,
// without surrounding whitespace. It fails when the variable is unset or
// does not contain an http or https URL. Its errors name the variable but
// never contain the URL.
func URLFromEnv(name string) (string, error) {
	v, ok := os.LookupEnv(name)
	if !ok {
		return "", fmt.Errorf(
			"read webhook URL from environment variable %s: not set", name)
	}
	u, err := checkURL(v)
	if err != nil {
		return "", fmt.Errorf(
			"read webhook URL from environment variable %s: %w", name, err)
	}
	return u, nil
}

// URLFromFile returns the webhook URL stored in the file at path, without
// surrounding whitespace. It fails when the file cannot be read or does
// not contain an http or https URL. Its errors name the file but never
// contain the URL.
func URLFromFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read webhook URL from file: %w", err)
	}
	u, err := checkURL(string(b))
	if err != nil {
		return "", fmt.Errorf("read webhook URL from file %s: %w", path, err)
	}
	return u, nil
}

// checkURL trims raw and checks that it is an absolute http or https URL.
// The parse error is dropped because it quotes the URL.
func checkURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errEmptyURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errInvalidURL
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", errScheme
	}
	if u.Host == "" {
		return "", errNoHost
	}
	return raw, nil
}
