package pgsession

import (
	"fmt"
	"unicode/utf8"
)

// PostgreSQL's jsonb accepts less than JSON allows. A value it refuses
// would fail the write with a raw SQLSTATE (22021, 22P05, 22P02, 22003)
// on PostgreSQL while the memory store took it, so checkJSONB refuses it on
// every backend, before anything is sent (DESIGN I2). The limits are those
// of PostgreSQL 15's json parser and numeric_in.
const (
	// numericMaxWeight is the largest power of ten a numeric's leading digit
	// may have: 131072 digits before the decimal point.
	numericMaxWeight = 131071
	// numericMaxScale is the most digits a numeric may keep after the point.
	numericMaxScale = 16383
	// numericMaxExponent bounds the exponent numeric_in reads, even of 0.
	numericMaxExponent = 1<<30 - 2
)

// checkJSONB reports why raw, a valid JSON text, cannot be stored by jsonb
// as it is: invalid UTF-8, a NUL (the escape \u0000, or a 0 byte), an
// unpaired surrogate escape, or a number outside numeric's range, in a
// value or an object key. The error gives the byte offset, never the text.
// On input that is not valid JSON it may return either, but never panics.
func checkJSONB(raw []byte) error {
	for i := 0; i < len(raw); {
		var n int
		var why string
		switch c := raw[i]; {
		case c == '"':
			n, why = scanJSONString(raw[i:])
		case c == '-' || c >= '0' && c <= '9':
			n, why = scanJSONNumber(raw[i:])
		case c == 0:
			why = "a NUL byte"
		default:
			n = 1
		}
		if why != "" {
			return fmt.Errorf("%s at byte %d, which PostgreSQL cannot store", why, i)
		}
		i += n
	}
	return nil
}

// scanJSONString checks the string that starts s (at its opening quote) and
// returns its length.
func scanJSONString(s []byte) (int, string) {
	for i := 1; i < len(s); {
		switch c := s[i]; {
		case c == '"':
			return i + 1, ""
		case c == 0:
			return 0, "a NUL byte in a string"
		case c < utf8.RuneSelf && c != '\\':
			i++
		case c == '\\':
			if i+1 < len(s) && s[i+1] != 'u' {
				i += 2
				continue
			}
			r, ok := hex4(s, i+2)
			switch {
			case !ok:
				return 0, "a bad escape in a string"
			case r == 0:
				return 0, `the escape \u0000 (NUL) in a string`
			case r >= 0xdc00 && r <= 0xdfff:
				return 0, "an unpaired surrogate escape in a string"
			case r >= 0xd800 && r <= 0xdbff:
				// Must be followed by the escape of a low surrogate.
				low, ok := hex4(s, i+8)
				if !ok || s[i+6] != '\\' || s[i+7] != 'u' || low < 0xdc00 || low > 0xdfff {
					return 0, "an unpaired surrogate escape in a string"
				}
				i += 12
			default:
				i += 6
			}
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, "invalid UTF-8 in a string"
			}
			i += size
		}
	}
	return len(s), "an unterminated string"
}

// hex4 decodes the four hex digits at s[i:], if they are there.
func hex4(s []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// scanJSONNumber checks the number that starts s and returns its length.
// PostgreSQL keeps a number's digits as written (1.50 keeps its zero), so
// the limits apply to the text: the leading non-zero digit's power of ten,
// the digits after the point less the exponent, and the exponent itself.
func scanJSONNumber(s []byte) (int, string) {
	i := 0
	if s[i] == '-' {
		i++
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intEnd, fracStart, fracEnd := i, i, i
	if i < len(s) && s[i] == '.' {
		i++
		fracStart = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracEnd = i
	}
	exp := int64(0)
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		neg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			neg = s[i] == '-'
			i++
		}
		for i < len(s) && isDigit(s[i]) {
			if exp = exp*10 + int64(s[i]-'0'); exp > numericMaxExponent {
				return 0, "a number with too large an exponent"
			}
			i++
		}
		if neg {
			exp = -exp
		}
	}
	if int64(fracEnd-fracStart)-exp > numericMaxScale {
		return 0, fmt.Sprintf("a number with more than %d digits after the decimal point", numericMaxScale)
	}
	// The power of ten of the leading non-zero digit, if there is one.
	lead, nonzero := 0, false
	for j := intStart; j < intEnd && !nonzero; j++ {
		if s[j] != '0' {
			lead, nonzero = intEnd-1-j, true
		}
	}
	for j := fracStart; j < fracEnd && !nonzero; j++ {
		if s[j] != '0' {
			lead, nonzero = fracStart-1-j, true
		}
	}
	if nonzero && int64(lead)+exp > numericMaxWeight {
		return 0, fmt.Sprintf("a number with more than %d digits before the decimal point", numericMaxWeight+1)
	}
	return i, ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
