module github.com/pgsession/pgsession/scripts/modproxy

go 1.26.0

// v0.41.0, not the newest: it is what the workspace's module graph already
// selects, so this module raises no dependency version for the others.
require golang.org/x/mod v0.41.0
