package pgsession

import (
	"fmt"
	"strconv"
)

// UserIDOf reads a user ID from a value held in another framework's
// session data, by the one rule every adapter and importer applies: nil
// is no user (""), a string is the ID, and an integer of any Go integer
// type is its decimal form. Any other type, or a string that Create would
// refuse (longer than 256 bytes, not valid UTF-8, or holding a NUL), is an
// error wrapping ErrInvalidUserID, so an adapter can refuse it before it
// writes anything.
func UserIDOf(v any) (string, error) {
	var u string
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		u = v
	case int:
		u = strconv.FormatInt(int64(v), 10)
	case int8:
		u = strconv.FormatInt(int64(v), 10)
	case int16:
		u = strconv.FormatInt(int64(v), 10)
	case int32:
		u = strconv.FormatInt(int64(v), 10)
	case int64:
		u = strconv.FormatInt(v, 10)
	case uint:
		u = strconv.FormatUint(uint64(v), 10)
	case uint8:
		u = strconv.FormatUint(uint64(v), 10)
	case uint16:
		u = strconv.FormatUint(uint64(v), 10)
	case uint32:
		u = strconv.FormatUint(uint64(v), 10)
	case uint64:
		u = strconv.FormatUint(v, 10)
	default:
		return "", fmt.Errorf("%w: a %T, want a string or an integer", ErrInvalidUserID, v)
	}
	if err := checkUserID(u, false); err != nil {
		return "", err
	}
	return u, nil
}
