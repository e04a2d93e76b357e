package pgsession_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pgsession/pgsession"
)

// The value check never panics, on any bytes SetRaw takes. What it accepts
// is UTF-8 whose strings, decoded by encoding/json, hold no NUL and no
// U+FFFD the text did not have (the decoder's stand-in for a lone
// surrogate). It accepts every JSON text that holds nothing it looks at: no
// backslash, no digit, only valid UTF-8. (Numbers are compared with
// PostgreSQL in TestValueCheckAgreesWithPostgres.)
func FuzzValueCheck(f *testing.F) {
	ctx := context.Background()
	cfg := valuesConfig()
	cfg.MaxAttributeSize = 1 << 30
	m, err := pgsession.NewMemory(nil, cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { m.Close(ctx) })
	s, err := m.Create(ctx, "", nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range badValues {
		if len(v) < 100 { // long ones slow the fuzzer down, and add nothing
			f.Add([]byte(v))
		}
	}
	for _, v := range goodNumbers {
		if len(v) < 100 {
			f.Add([]byte(v))
		}
	}
	for _, v := range []string{`"\`, `"\u`, `"\ud800\`, `"\ud800\u`, `"\ud800\udc`, `-`, `1e`, `1.`, `"`, `{"a":[true,null]}`} {
		f.Add([]byte(v))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := m.Update(ctx, s.ID(), new(pgsession.Patch).SetRaw("v", b), pgsession.NoNotify())
		if err != nil && !errors.Is(err, pgsession.ErrInvalidValue) {
			t.Fatalf("%q: %v", b, err)
		}
		if err == nil && json.Valid(b) {
			checkDecodedText(t, b)
		}
		plain := utf8.Valid(b)
		for _, c := range b {
			plain = plain && c != '\\' && (c < '0' || c > '9')
		}
		if err != nil && plain && json.Valid(b) {
			t.Fatalf("%q: %v", b, err)
		}
	})
}

// checkDecodedText fails if the strings of b, an accepted JSON text, are not
// text PostgreSQL can hold.
func checkDecodedText(t *testing.T, b []byte) {
	if !utf8.Valid(b) {
		t.Fatalf("%q: accepted, but not UTF-8", b)
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	hadFFFD := strings.ContainsRune(string(b), utf8.RuneError) || strings.Contains(strings.ToLower(string(b)), `\ufffd`)
	var walk func(v any)
	check := func(s string) {
		if strings.ContainsRune(s, 0) {
			t.Fatalf("%q: accepted, but holds a NUL", b)
		}
		if !hadFFFD && strings.ContainsRune(s, utf8.RuneError) {
			t.Fatalf("%q: accepted, but holds a lone surrogate", b)
		}
	}
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			check(v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for k, e := range v {
				check(k)
				walk(e)
			}
		}
	}
	walk(v)
}
