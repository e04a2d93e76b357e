//go:build !purego

package hmacsha256

const purego = false
