package token

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// The methods below are every hook through which Go's printing and encoding
// packages ask a value how to show itself. Each shows the same redacted
// form, so no log line, JSON document or error that includes a Key carries
// its secret.

// redacted stands in for the secret.
const redacted = "[redacted]"

// shownID is the ID if it is a valid key ID, else only its length: an ID
// that is not one may be a secret given in the wrong field.
func (k Key) shownID() string {
	if validKeyID(k.ID) {
		return k.ID
	}
	return "[invalid, " + strconv.Itoa(len(k.ID)) + " bytes]"
}

// String returns the key's ID, with the secret redacted.
func (k Key) String() string { return "token.Key{ID: " + k.shownID() + ", Secret: " + redacted + "}" }

// GoString is String, for %#v.
func (k Key) GoString() string { return k.String() }

// Format prints String for every verb (%x and %d too, which would otherwise
// print the secret's bytes), quoted for %q. Width and flags are ignored.
func (k Key) Format(f fmt.State, verb rune) {
	s := k.String()
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	io.WriteString(f, s)
}

// LogValue shows the key to log/slog as a group of its ID and a redacted
// secret.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.shownID()), slog.String("secret", redacted))
}

// MarshalJSON encodes the key as {"ID": id, "Secret": "[redacted]"}. Such a
// document does not decode back into a Key: "[redacted]" is not base64.
func (k Key) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct{ ID, Secret string }{k.shownID(), redacted})
}

// MarshalText is String, for encoders that use encoding.TextMarshaler
// (slog's text handler, YAML and TOML encoders, encoding/gob).
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }
