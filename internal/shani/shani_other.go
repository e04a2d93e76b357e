//go:build !amd64 || purego

package shani

// Available is false: no assembly path on this platform or with -tags purego.
const Available = false
