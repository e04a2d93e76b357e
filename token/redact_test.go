package token_test

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/token"
)

// leakSecret is the secret the redaction tests try to leak.
var leakSecret = func() []byte {
	s := sha256.Sum256([]byte("redaction test secret"))
	return s[:]
}()

// secretForms is leakSecret in every encoding a printer or encoder might
// use: raw, base64 in its four variants, hex, Go's %v of a byte slice
// (decimal) and %q.
func secretForms() map[string]string {
	s := leakSecret
	return map[string]string{
		"raw":       string(s),
		"std":       base64.StdEncoding.EncodeToString(s),
		"raw std":   base64.RawStdEncoding.EncodeToString(s),
		"url":       base64.URLEncoding.EncodeToString(s),
		"raw url":   base64.RawURLEncoding.EncodeToString(s),
		"hex":       hex.EncodeToString(s),
		"HEX":       strings.ToUpper(hex.EncodeToString(s)),
		"decimal":   fmt.Sprint(s),
		"quoted":    strconv.Quote(string(s)),
		"escaped q": fmt.Sprintf("%+q", s),
	}
}

// requireNoSecret fails if out holds any 12 consecutive characters of any
// form of leakSecret: a clipped echo leaks as much as a whole one.
func requireNoSecret(t *testing.T, out, what string) {
	t.Helper()
	const window = 12
	for name, form := range secretForms() {
		for i := 0; i+window <= len(form); i++ {
			if strings.Contains(out, form[i:i+window]) {
				t.Fatalf("%s shows the secret (%s form) in %q", what, name, out)
			}
		}
	}
}

// keysToPrint are a good key, whose ID must still show, and a key built
// from a swapped pair, whose "ID" is the secret in base64.
func keysToPrint() (good, swapped token.Key) {
	good = token.Key{ID: "k1", Secret: leakSecret}
	swapped = token.Key{ID: base64.RawURLEncoding.EncodeToString(leakSecret), Secret: []byte("k1")}
	return good, swapped
}

// Every fmt verb, on a Key, a *Key, a slice and a struct that hold one.
// Not %p on a Key or struct value: fmt then prints the raw value without
// asking any method (go vet reports that misuse).
func TestKeyRedactedByFmt(t *testing.T) {
	good, swapped := keysToPrint()
	type config struct {
		Name string
		Key  token.Key
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%o", "%b", "%10.3v", "%-60s", "%p", "%t", "%e", "%U", "%c"}
	for _, k := range []token.Key{good, swapped} {
		values := map[string]any{
			"key": k, "pointer": &k, "slice": []token.Key{k}, "struct": config{"c", k},
			"pointer to struct": &config{"c", k}, "map": map[string]token.Key{"a": k},
		}
		for vname, v := range values {
			for _, verb := range verbs {
				if verb == "%p" && (vname == "key" || vname == "struct") {
					continue
				}
				out := fmt.Sprintf(verb, v)
				requireNoSecret(t, out, vname+" "+verb)
				if k.ID == "k1" && verb != "%p" {
					require.Contains(t, out, "k1", "%s %s: the ID of a good key shows", vname, verb)
				}
			}
			requireNoSecret(t, fmt.Sprint(v), vname+" Sprint")
			requireNoSecret(t, fmt.Sprintln(v), vname+" Sprintln")
		}
		requireNoSecret(t, k.String(), "String")
		requireNoSecret(t, k.GoString(), "GoString")
	}
}

func TestKeyRedactedByJSON(t *testing.T) {
	good, swapped := keysToPrint()
	for _, k := range []token.Key{good, swapped} {
		for name, v := range map[string]any{
			"key": k, "pointer": &k, "slice": []token.Key{k},
			"struct": struct{ K token.Key }{k}, "map": map[string]any{"k": k},
		} {
			b, err := json.Marshal(v)
			require.NoError(t, err)
			requireNoSecret(t, string(b), "json "+name)
			b, err = json.MarshalIndent(v, "", " ")
			require.NoError(t, err)
			requireNoSecret(t, string(b), "json indent "+name)
		}
	}

	b, err := json.Marshal(good)
	require.NoError(t, err)
	require.JSONEq(t, `{"ID": "k1", "Secret": "[redacted]"}`, string(b))
	var back token.Key
	require.Error(t, json.Unmarshal(b, &back), "a redacted key does not decode as a usable key")

	// Encoders of other formats (YAML, TOML, gob) use MarshalText.
	for _, k := range []token.Key{good, swapped} {
		tm, ok := any(k).(encoding.TextMarshaler)
		require.True(t, ok, "Key is an encoding.TextMarshaler")
		text, err := tm.MarshalText()
		require.NoError(t, err)
		requireNoSecret(t, string(text), "MarshalText")
	}
}

func TestKeyRedactedBySlog(t *testing.T) {
	good, swapped := keysToPrint()
	handlers := map[string]func(*bytes.Buffer) slog.Handler{
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	}
	for hname, h := range handlers {
		t.Run(hname, func(t *testing.T) {
			for _, k := range []token.Key{good, swapped} {
				var buf bytes.Buffer
				log := slog.New(h(&buf))
				log.Info("keys", "key", k, "pointer", &k, "slice", []token.Key{k},
					"struct", struct{ K token.Key }{k}, slog.Group("g", "key", k))
				log.With("key", k).Info("with")
				requireNoSecret(t, buf.String(), hname+" handler")
				if k.ID == "k1" {
					require.Contains(t, buf.String(), "k1")
				}
			}
		})
	}
}

// A swapped "secret:id" pair, in any base64 alphabet, and other pairs
// built from secrets: no error quotes the secret.
func TestKeyErrorsHideSecrets(t *testing.T) {
	good := "k1:" + base64.RawURLEncoding.EncodeToString(leakSecret)
	var inputs []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		s := enc.EncodeToString(leakSecret)
		inputs = append(inputs,
			s+":k1",                // swapped
			good+","+s+":k2",       // swapped second pair
			s,                      // no id at all
			s+":"+s,                // the secret twice
			"k 1:"+s,               // a bad id before a good secret
			s[:10]+" "+s[10:]+":k", // a space inside a swapped secret
			s[:20]+":"+s[20:],      // split at a colon
			"k1:"+s+"!",            // not base64
			"k1:"+s[:20],           // too short
			hex.EncodeToString(leakSecret)+":k1",
		)
	}
	for _, in := range inputs {
		_, err := token.ParseKeys(in)
		require.ErrorIs(t, err, token.ErrInvalidKey, in)
		requireNoSecret(t, err.Error(), "ParseKeys error")
		require.Less(t, len(err.Error()), 200)
	}

	swappedID := base64.RawURLEncoding.EncodeToString(leakSecret)
	_, err := token.NewRing(token.Key{ID: swappedID, Secret: []byte("k1")})
	require.ErrorIs(t, err, token.ErrInvalidKey)
	requireNoSecret(t, err.Error(), "NewRing error")
	_, err = token.NewRing(token.Key{ID: "k1", Secret: leakSecret[:20]})
	require.ErrorIs(t, err, token.ErrInvalidKey)
	requireNoSecret(t, err.Error(), "NewRing error")
	_, err = token.GenerateKey(swappedID)
	require.ErrorIs(t, err, token.ErrInvalidKey)
	requireNoSecret(t, err.Error(), "GenerateKey error")

	// Errors still say which pair and what is wrong.
	_, err = token.ParseKeys(good + ", " + swappedID + ":k2")
	require.ErrorContains(t, err, "pair 2")
	require.ErrorContains(t, err, "43 bytes")
}
