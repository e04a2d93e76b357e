package shani

import (
	"crypto/fips140"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// A Linux machine whose CPU lists the SHA extensions must report them
// (unless built purego or run in FIPS mode), so the tests of the packages
// that use them cannot quietly cover only their fallbacks there.
func TestAvailableWhereListed(t *testing.T) {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil || runtime.GOARCH != "amd64" {
		t.Skip("not linux/amd64: nothing to compare with")
	}
	listed := false
	for line := range strings.Lines(string(info)) {
		if strings.HasPrefix(line, "flags") && slices.Contains(strings.Fields(line), "sha_ni") {
			listed = true
			break
		}
	}
	if listed && !Available && !purego && !fips140.Enabled() {
		t.Fatal("the CPU lists sha_ni but Available is false")
	}
	if !listed && Available {
		t.Fatal("Available is true on a CPU that does not list sha_ni")
	}
}
