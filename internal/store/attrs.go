package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// DecodeAttrs reads a row's attributes as the database encodes them: raw,
// a JSON object of values, and expiry, a JSON object of Unix milliseconds
// for the keys that expire.
func DecodeAttrs(raw, expiry []byte) (map[string]*Attr, error) {
	var values map[string]json.RawMessage
	if err := json.Unmarshal(raw, &values); err != nil {
		return nil, fmt.Errorf("decode attributes: %w", err)
	}
	out := make(map[string]*Attr, len(values))
	for k, v := range values {
		out[k] = &Attr{Raw: v}
	}
	if len(expiry) > 2 { // not "{}"
		var ms map[string]int64
		if err := json.Unmarshal(expiry, &ms); err != nil {
			return nil, fmt.Errorf("decode attribute expiry: %w", err)
		}
		for k, at := range ms {
			if a := out[k]; a != nil {
				a.ExpiresAt = time.UnixMilli(at)
			}
		}
	}
	return out, nil
}

// LazyDecode is DecodeAttrs for LazyAttrs. The database's jsonb output is
// always valid JSON, so an error here means a damaged row or payload: it
// reads as no attributes.
func LazyDecode(raw, expiry []byte) map[string]*Attr {
	attrs, err := DecodeAttrs(raw, expiry)
	if err != nil {
		return map[string]*Attr{}
	}
	return attrs
}
