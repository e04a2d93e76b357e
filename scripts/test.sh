#!/usr/bin/env bash
# test.sh is what `make test` and CI run: services, formatting, vet and
# staticcheck over every module, the race-
# enabled test suite, the root and affinity PostgreSQL tests again with the
# pools through PgBouncer (make test-pgbouncer), the nested modules' suites
# (Chromium is installed first if missing, for the demo's browser test), a
# quick run of the benchmark command (make bench-quick: timings printed, never
# asserted), the release check (make release-check: every module with the
# workspace off, against the versions of ours its go.mod requires), then a
# short fuzz pass over every fuzz target in the module. The other steps run
# in the workspace (go.work): each module sees the others as they are here. go
# test's own output is printed as is. Any failure stops the run with a
# non-zero exit.
#
# Environment:
#   PGSESSION_FUZZTIME  how much each fuzz target runs (default 100000x: a count
#                       of inputs, not a duration; see the fuzz step for why).
#   and whatever scripts/services.sh (PGSESSION_TEST_DATABASE_URL, ...) and
#   scripts/release-check.sh (PGSESSION_RELEASE_CHECK_DIR, ...) read.
set -euo pipefail

cd "$(dirname "$0")/.."
fuzztime=${PGSESSION_FUZZTIME:-100000x}

# Each step is announced with the seconds elapsed so far, so a slow run shows
# where its time went.
step() { printf '\n==> %s [%ds]\n' "$*" "$SECONDS"; }

step "services"
bash scripts/services.sh

step "gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt: these files are not formatted (run make fmt):" >&2
	printf '  %s\n' $unformatted >&2
	exit 1
fi
echo "all files formatted"

step "go vet, every module (make vet)"
make vet

step "staticcheck, every module (make lint)"
make lint

step "go test -race"
go test -race -count=1 -timeout 10m ./...

step "serial tests (HOT updates need a server no other test is using)"
PGSESSION_TEST_SERIAL=1 go test -p 1 -count=1 -run 'HOT' . ./affinity

step "PostgreSQL tests through PgBouncer in transaction mode (make test-pgbouncer; PgBouncer is installed first if missing)"
make test-pgbouncer

step "nested module affinity/redisaffinity: go vet, go test -race"
(cd affinity/redisaffinity && go vet ./... && go test -race -count=1 -timeout 10m ./...)

step "nested module scsstore: go vet, go test -race"
(cd scsstore && go vet ./... && go test -race -count=1 -timeout 10m ./...)

step "nested module gorillastore (gorilla/sessions store): go vet, go test -race"
(cd gorillastore && go vet ./... && go test -race -count=1 -timeout 10m ./...)

step "nested module gorillastore/ginstore (gin-contrib/sessions wrapper): go vet, go test -race"
(cd gorillastore/ginstore && go vet ./... && go test -race -count=1 -timeout 10m ./...)

step "nested module gorillastore/frameworktest (gorillastore through echo-contrib and gin-contrib): go vet, go test -race"
(cd gorillastore/frameworktest && go vet ./... && go test -race -count=1 -timeout 10m ./...)

step "nested module examples/frameworks (chi, echo, gin with httpsession): go vet, go test -race"
(cd examples/frameworks && go vet ./... && go test -race -count=1 -timeout 10m ./...)

step "nested module metrics/prometheus: go vet, go test -race"
(cd metrics/prometheus && go vet ./... && go test -race -count=1 -timeout 10m ./...)

step "Chromium for the demo's browser test"
bash scripts/install-chromium.sh

step "nested module cmd/pgsession (CLI and demo, browser test included): go vet, go test -race"
(cd cmd/pgsession && go vet ./... && go test -race -count=1 -timeout 10m ./...)

step "nested module bench: go vet, go test, make bench-quick (timings are printed, never asserted)"
(cd bench && go vet ./... && go test -count=1 ./...)
timeout 60 make bench-quick

step "release check: every module builds, vets and tidies against the versions of ours it requires, workspace off (RELEASING.md)"
# The suites ran above in the workspace; here what differs is how each module
# resolves ours, so build and vet are the check (make release-check also
# runs the suites, for a release).
PGSESSION_RELEASE_CHECK_TESTS=0 bash scripts/release-check.sh

step "fuzz (${fuzztime} per target)"
# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# report "context deadline exceeded" as a failure when the time runs out while
# a worker is mid-input (golang/go#75804, fixed in Go 1.27). A count has no
# deadline to race; -timeout still bounds a target that hangs.
# Package directories of this module only (nested modules run their own).
pkg_dirs=$(go list -f '{{.Dir}}' ./...)
# Named: in the workspace (go.work), a bare go list -m lists every module.
root=$(go list -m -f '{{.Dir}}' github.com/pgsession/pgsession)
found=0
for dir in $pkg_dirs; do
	# Fuzz targets live in the package's _test.go files, one "func FuzzX(" each.
	targets=$(grep -h -o '^func Fuzz[A-Za-z0-9_]*(' "$dir"/*_test.go 2>/dev/null |
		sed -e 's/^func //' -e 's/($//' | sort -u || true)
	[ -n "$targets" ] || continue
	pkg=.${dir#"$root"}
	for target in $targets; do
		found=$((found + 1))
		echo "--- fuzz ${pkg} ${target}"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -timeout 5m "$pkg"
	done
done
if [ "$found" -eq 0 ]; then
	echo "no fuzz targets in this module yet"
fi

step "all checks passed"
