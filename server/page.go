package server

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/computescale/computescale/estimator"
)

// pageToken is the opaque AIP-158 token: it records which list and which
// query it belongs to, so that a token used with other filters is refused
// rather than silently returning the wrong page.
type pageToken struct {
	Kind   string `json:"k"`
	Query  string `json:"q"`
	After  string `json:"a,omitempty"`
	Offset int    `json:"o,omitempty"`
}

func (t pageToken) encode() string {
	b, _ := json.Marshal(t) // cannot fail: plain strings and ints
	return base64.RawURLEncoding.EncodeToString(b)
}

func (t *pageToken) decode(s, kind, query string) error {
	bad := invalid("invalid page_token", estimator.FieldViolation{Field: "page_token", Description: "not a token from this list with these filters"})
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, t) != nil || t.Kind != kind || t.Query != query || t.Offset < 0 {
		return bad
	}
	return nil
}

func pageSize(requested, def, maxSize int32) (int, error) {
	switch {
	case requested < 0:
		return 0, invalid("invalid page_size", estimator.FieldViolation{Field: "page_size", Description: fmt.Sprintf("page_size %d is negative", requested)})
	case requested == 0:
		return int(def), nil
	case requested > maxSize:
		return int(maxSize), nil
	}
	return int(requested), nil
}
