package pgsession

import "fmt"

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
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		u = fmt.Sprint(v) // decimal, with a sign only when negative
	default:
		return "", fmt.Errorf("%w: a %T, want a string or an integer", ErrInvalidUserID, v)
	}
	if err := checkUserID(u, false); err != nil {
		return "", err
	}
	return u, nil
}
