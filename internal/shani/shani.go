// Package shani says whether SHA-256 may run on the CPU's SHA extensions:
// the one check that internal/secretid (session IDs) and
// token/internal/hmacsha256 (token MACs) share.
package shani
