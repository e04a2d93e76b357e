package pgsession

import (
	"encoding/json"
	"fmt"
)

func attrNotFound(key string) error {
	return fmt.Errorf("pgsession: attribute %s: %w", echo(key), ErrAttributeNotFound)
}

// Attr returns an attribute decoded as T. The decoded value is kept with the
// snapshot, so later calls with the same T return it without decoding again.
// Because of that, a T holding maps, slices or pointers is shared: treat it
// as read-only, or use Session.Decode for a private copy.
func Attr[T any](s *Session, key string) (T, error) {
	var zero T
	a, ok := s.attr(key)
	if !ok {
		return zero, attrNotFound(key)
	}
	if p := a.Decoded.Load(); p != nil {
		if v, ok := (*p).(T); ok {
			return v, nil
		}
	}
	var v T
	if err := json.Unmarshal(a.Raw, &v); err != nil {
		return zero, fmt.Errorf("pgsession: attribute %s: %w", echo(key), clipError(err))
	}
	boxed := any(v)
	a.Decoded.Store(&boxed)
	return v, nil
}

// AttrOr returns an attribute decoded as T, or def when it is missing or does
// not decode as T.
func AttrOr[T any](s *Session, key string, def T) T {
	v, err := Attr[T](s, key)
	if err != nil {
		return def
	}
	return v
}
