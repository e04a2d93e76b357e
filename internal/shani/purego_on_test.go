//go:build purego

package shani

const purego = true
