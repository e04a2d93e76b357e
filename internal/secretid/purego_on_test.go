//go:build purego

package secretid

const purego = true
