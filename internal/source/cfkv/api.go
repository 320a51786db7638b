package cfkv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

const (
	// namespacePageSize is the per_page of namespace listings.
	// NOTE: the API reference of the namespaces list does not state a
	// maximum per_page, so 100 is an assumption. A server that pages
	// fewer costs more requests but loses no namespace, because the
	// listing stops only at total_count or at an empty page.
	namespacePageSize = 100
	// keyPageSize is the limit of key listings, the documented maximum.
	keyPageSize = 1000
)

// namespaceInfo is one entry of the namespaces list.
type namespaceInfo struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// pageInfo is the result_info of a page-numbered listing.
type pageInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
}

// listNamespaces returns every namespace of the account, page by page.
func (c *client) listNamespaces(ctx context.Context) ([]namespaceInfo,
	error) {
	var all []namespaceInfo
	for page := 1; ; page++ {
		var got []namespaceInfo
		var info pageInfo
		q := url.Values{
			"page":     {strconv.Itoa(page)},
			"per_page": {strconv.Itoa(namespacePageSize)},
		}
		req := request{method: http.MethodGet,
			path: "/storage/kv/namespaces", query: q}
		if err := c.doJSON(ctx, req, &got, &info); err != nil {
			return nil, err
		}
		all = append(all, got...)
		if len(got) == 0 ||
			(info.TotalCount > 0 && len(all) >= info.TotalCount) {
			return all, nil
		}
	}
}

// keyInfo is one entry of the keys list.
type keyInfo struct {
	Name string `json:"name"`
	// Expiration is in Unix seconds, typed as a JSON number.
	Expiration float64         `json:"expiration"`
	Metadata   json.RawMessage `json:"metadata"`
}

// cursorInfo is the result_info of a key listing. An empty cursor marks
// the last page.
type cursorInfo struct {
	Count  int    `json:"count"`
	Cursor string `json:"cursor"`
}

// listKeys returns one page of keys after cursor and the next cursor,
// empty after the last page.
func (c *client) listKeys(ctx context.Context, nsID,
	cursor string) ([]keyInfo, string, error) {
	q := url.Values{"limit": {strconv.Itoa(keyPageSize)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	req := request{method: http.MethodGet,
		path: nsPath(nsID) + "/keys", query: q}
	var keys []keyInfo
	var info cursorInfo
	if err := c.doJSON(ctx, req, &keys, &info); err != nil {
		return nil, "", err
	}
	return keys, info.Cursor, nil
}

// getValue returns the value of key, or found false when the key does
// not exist (any more).
//
// NOTE: the key is percent-encoded in the URL path, as the API reference
// requests. Its namespace model has supports_url_encoding, documented as
// set on namespaces that decode keys written on the URL. Reads from
// namespaces without it are untested, because the local test server
// decodes every key.
func (c *client) getValue(ctx context.Context, nsID,
	key string) (value []byte, found bool, err error) {
	req := request{method: http.MethodGet,
		path: nsPath(nsID) + "/values/" + url.PathEscape(key)}
	resp, err := c.do(ctx, req)
	if isNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return resp.body, true, nil
}

// pair is one entry of a bulk write body.
type pair struct {
	Key        string          `json:"key"`
	Value      string          `json:"value"`
	Base64     bool            `json:"base64,omitempty"`
	Expiration int64           `json:"expiration,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

// bulkResult is the result of a bulk write or delete.
type bulkResult struct {
	SuccessfulKeyCount int64    `json:"successful_key_count"`
	UnsuccessfulKeys   []string `json:"unsuccessful_keys"`
}

// bulkWrite sends body, a JSON array of pairs, in one request.
func (c *client) bulkWrite(ctx context.Context, nsID string,
	body []byte) (bulkResult, error) {
	req := request{method: http.MethodPut, path: nsPath(nsID) + "/bulk",
		body: body}
	var res bulkResult
	err := c.doJSON(ctx, req, &res, nil)
	return res, err
}

// bulkDelete deletes keys in one request.
func (c *client) bulkDelete(ctx context.Context, nsID string,
	keys []string) (bulkResult, error) {
	body, err := json.Marshal(keys)
	if err != nil {
		return bulkResult{}, fmt.Errorf("encode keys: %w", err)
	}
	req := request{method: http.MethodPost,
		path: nsPath(nsID) + "/bulk/delete", body: body}
	var res bulkResult
	err = c.doJSON(ctx, req, &res, nil)
	return res, err
}

func nsPath(nsID string) string {
	return "/storage/kv/namespaces/" + url.PathEscape(nsID)
}
