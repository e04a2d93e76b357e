package affinity_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/pgsession/pgsession/affinity"
)

// ParseKey accepts exactly 64 hex digits, and what it accepts prints back
// as the same key.
func FuzzParseKey(f *testing.F) {
	f.Add(affinity.KeyOf("s").String())
	f.Add(strings.ToUpper(affinity.KeyOf("s").String()))
	f.Add("zz")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := affinity.ParseKey(s)
		raw, herr := hex.DecodeString(s)
		valid := herr == nil && len(raw) == len(k)
		if (err == nil) != valid {
			t.Fatalf("ParseKey(%q): error %v, but hex says valid=%v", s, err, valid)
		}
		if err != nil {
			return
		}
		if !strings.EqualFold(k.String(), s) {
			t.Fatalf("ParseKey(%q) prints as %q", s, k.String())
		}
		if back, err := affinity.ParseKey(k.String()); err != nil || back != k {
			t.Fatalf("round trip of %q: %v, %v", s, back, err)
		}
	})
}
