package pgsession

import (
	"strconv"
	"unicode/utf8"
)

// Errors about bad input quote only its start: enough to recognise it,
// never enough to flood a log with a 10 MiB user ID or copy a secret that
// was passed in the wrong place.
const (
	// maxEcho is how many bytes of an input an error quotes.
	maxEcho = 32
	// maxForeignError is how much of another package's error text an
	// error keeps.
	maxForeignError = 160
)

// echo quotes s for an error message: whole if short, else its first
// maxEcho bytes (cut on a character boundary) and its length.
func echo(s string) string {
	if len(s) <= maxEcho {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:cutAt(s, maxEcho)]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

// cutAt returns n, moved back to the start of a character if s[n] is in
// the middle of one (at most utf8.UTFMax-1 bytes).
func cutAt(s string, n int) int {
	for i := n; i > n-utf8.UTFMax && i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return i
		}
	}
	return n
}

// errText is an error's message cut to maxForeignError bytes, for an error
// from another package: encoding/json's quote a number literal whole.
func errText(err error) string {
	s := err.Error()
	if len(s) <= maxForeignError {
		return s
	}
	return s[:cutAt(s, maxForeignError)] + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

// clippedError is an error whose message is cut by errText; errors.Is and
// errors.As still see the original.
type clippedError struct{ err error }

// clipError wraps err, if its message is longer than maxForeignError.
func clipError(err error) error {
	if len(err.Error()) <= maxForeignError {
		return err
	}
	return clippedError{err}
}

func (e clippedError) Error() string { return errText(e.err) }
func (e clippedError) Unwrap() error { return e.err }
