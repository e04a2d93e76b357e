package gorillastore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/pgsession/pgsession"
)

// encodeValue returns v's JSON encoding as stored: json.Marshal's, except
// that a float whose value is whole keeps a decimal point ("2.0", not "2"),
// at the top level and inside []interface{} and map[string]interface{}, so
// it reads back as a float64 and not as an int.
func encodeValue(v any) (json.RawMessage, error) {
	return json.Marshal(markFloats(v))
}

// markFloats returns v with its floats (and those of the generic slices and
// maps it holds) wrapped in floatJSON. Containers are copied, never changed.
func markFloats(v any) any {
	switch x := v.(type) {
	case float64:
		return floatJSON{f: x, bits: 64}
	case float32:
		return floatJSON{f: float64(x), bits: 32}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = markFloats(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = markFloats(e)
		}
		return out
	}
	return v
}

// floatJSON encodes a float as encoding/json does, with ".0" added when the
// result would otherwise read as an integer.
type floatJSON struct {
	f    float64
	bits int
}

func (f floatJSON) MarshalJSON() ([]byte, error) {
	var b []byte
	var err error
	if f.bits == 32 {
		b, err = json.Marshal(float32(f.f))
	} else {
		b, err = json.Marshal(f.f)
	}
	if err != nil {
		return nil, err
	}
	if !bytes.ContainsAny(b, ".eE") {
		b = append(b, ".0"...)
	}
	return b, nil
}

// decodeGeneric reads a stored value without a registered type: strings,
// booleans and null as themselves, arrays as []interface{}, objects as
// map[string]interface{}, and numbers as int when written without a
// fraction or exponent and within int's range, float64 otherwise (a number
// beyond float64's range stays a json.Number, its digits intact).
func decodeGeneric(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		return number(x)
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	}
	return v
}

func number(n json.Number) any {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 0); err == nil {
			return int(i)
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return n
}

// decode reads the stored value of key: into the type registered for it
// with WithType, else as decodeGeneric does.
func (s *Store) decode(key string, raw json.RawMessage) (any, error) {
	t, ok := s.types[key]
	if !ok {
		return decodeGeneric(raw)
	}
	p := reflect.New(t)
	if err := json.Unmarshal(raw, p.Interface()); err != nil {
		return nil, err
	}
	return p.Elem().Interface(), nil
}

// canonical returns a form of a stored or newly encoded value in which two
// encodings of the same data are byte for byte equal: object keys sorted,
// no spaces, numbers as decodeGeneric reads them. PostgreSQL's jsonb, for
// one, orders object keys its own way.
func canonical(raw json.RawMessage) ([]byte, error) {
	v, err := decodeGeneric(raw)
	if err != nil {
		return nil, err
	}
	return encodeValue(v)
}

// encodeValues encodes every entry of a session's Values, refusing a key
// that is not a string and a value that does not encode, before anything is
// written.
func encodeValues(values map[any]any) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(values))
	for k, v := range values {
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("%w: a key of type %T: only string keys can be stored", pgsession.ErrInvalidKey, k)
		}
		raw, err := encodeValue(v)
		if err != nil {
			return nil, fmt.Errorf("value %q (%T): %w: %v", key, v, pgsession.ErrInvalidValue, err)
		}
		out[key] = raw
	}
	return out, nil
}

// userIDOf reads the user ID a session's Values hold under key, by
// pgsession.UserIDOf: a string, or an integer written in decimal. A
// missing, nil or empty value is "no user".
func userIDOf(values map[any]any, key string) (string, error) {
	if key == "" {
		return "", nil
	}
	u, err := pgsession.UserIDOf(values[key])
	if err != nil {
		return "", fmt.Errorf("user key %q: %w", key, err)
	}
	return u, nil
}
