package pgsession

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// limits checks input before anything is sent (DESIGN I2): a request past a
// limit fails whole, with a typed error, and writes nothing.
type limits struct {
	maxKey, maxValue, maxAttrs int
}

func (c Config) limits() limits {
	return limits{maxKey: c.MaxKeyLength, maxValue: c.MaxAttributeSize, maxAttrs: c.MaxAttributes}
}

// cleanText is valid UTF-8 without NUL, which PostgreSQL text cannot hold.
func cleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

func (l limits) checkKey(k string) error {
	if k == "" || len(k) > l.maxKey || !cleanText(k) {
		return fmt.Errorf("%w %s: want 1 to %d bytes of UTF-8, no NUL", ErrInvalidKey, echo(k), l.maxKey)
	}
	return nil
}

// checkValue checks a value's size, then that PostgreSQL can store it as
// it is (see checkJSONB), so both backends refuse the same values.
func (l limits) checkValue(k string, raw json.RawMessage) error {
	if len(raw) > l.maxValue {
		return fmt.Errorf("attribute %s: %w: %d bytes, limit %d", echo(k), ErrAttributeTooLarge, len(raw), l.maxValue)
	}
	if err := checkJSONB(raw); err != nil {
		return fmt.Errorf("attribute %s: %w: %v", echo(k), ErrInvalidValue, err)
	}
	return nil
}

// encodeAttrs validates and encodes a Create's initial attributes.
func (l limits) encodeAttrs(attrs map[string]any) (map[string]json.RawMessage, error) {
	if len(attrs) > l.maxAttrs {
		return nil, fmt.Errorf("%w: %d, limit %d", ErrTooManyAttributes, len(attrs), l.maxAttrs)
	}
	out := make(map[string]json.RawMessage, len(attrs))
	for k, v := range attrs {
		if err := l.checkKey(k); err != nil {
			return nil, err
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w: %s", echo(k), ErrInvalidValue, errText(err))
		}
		if err := l.checkValue(k, raw); err != nil {
			return nil, err
		}
		out[k] = raw
	}
	return out, nil
}

// checkUserID says what is wrong with a user ID, quoting only its start.
func checkUserID(u string, required bool) error {
	var why string
	switch {
	case required && u == "":
		why = "empty"
	case len(u) > maxUserIDLength:
		why = fmt.Sprintf("longer than %d bytes", maxUserIDLength)
	case !cleanText(u):
		why = "not valid UTF-8 without NUL"
	default:
		return nil
	}
	return fmt.Errorf("%w %s: %s", ErrInvalidUserID, echo(u), why)
}

// clip shortens client metadata to a limit, on a rune boundary, and drops what
// PostgreSQL text cannot hold: it is informational and must never fail a login.
func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\x00", "")
	if len(s) > n {
		s = s[:n] // may split a rune; ToValidUTF8 drops the piece
	}
	return strings.ToValidUTF8(s, "")
}
