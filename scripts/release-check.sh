#!/usr/bin/env bash
# release-check.sh is the check of RELEASING.md: every module builds, vets and
# tests the way a consumer gets it: workspace off (GOWORK=off), no replace, the
# modules of this repository it requires at the versions its go.mod names.
# (The root module only builds and vets here: make test runs its suite.)
#
# Those versions need not be published. scripts/modproxy packs each one that
# no go.sum records yet from the working tree into a local file-system module
# proxy, first in GOPROXY; third-party modules come from your module cache,
# else proxy.golang.org. So it runs offline once the cache is warm.
#
# Nothing tracked is modified: the go command works on copies of each go.mod
# and go.sum (-modfile) and downloads into a module cache of its own, so the
# packed versions never reach yours. Last, go mod tidy runs on the copies (it
# ignores go.work, so in the tree it fails until our version is published);
# what it would change is a warning, written as a patch to apply with git apply.
#
# Environment:
#   PGSESSION_RELEASE_CHECK_DIR        its proxy and module cache, kept between
#                                      runs so builds stay cached (default
#                                      $TMPDIR/pgsession-release-check)
#   PGSESSION_RELEASE_CHECK_TESTFLAGS  extra go test flags: "-run ^$" to build
#                                      and vet only, "-skip ^TestBrowser$", ...
#   PGSESSION_RELEASE_CHECK_TESTS      0: no go test at all (make test, which
#                                      has run every suite in the workspace
#                                      already, sets it to keep CI short)
# The tests need what make test needs: PostgreSQL and Redis
# (scripts/services.sh), and Chromium for cmd/pgsession's browser test.
set -euo pipefail

cd "$(dirname "$0")/.."
work=${PGSESSION_RELEASE_CHECK_DIR:-${TMPDIR:-/tmp}/pgsession-release-check}
mkdir -p "$work"
exec 9>"$work/lock"
flock 9 # one run at a time per directory

proxy=$work/proxy
copies=$work/gomod
patch=$work/tidy.patch
modcache=$work/modcache
usercache=$(go env GOMODCACHE)

# An empty proxy, and none of the last run's copies of our modules in the
# private module cache. Third-party modules stay there, at the same paths, so
# their compiled packages are reused from the build cache.
chmod -R u+w "$modcache/github.com/pgsession" 2>/dev/null || true
rm -rf "$proxy" "$copies" "$patch" "$modcache/github.com/pgsession" "$modcache/cache/download/github.com/pgsession"
mkdir -p "$proxy" "$copies"

echo "packing the modules of this repository that others require:"
(cd scripts/modproxy && GOWORK=off go run . -o "$proxy" ../..)
# go.sum lines of the packed versions: checksums of today's tree, not of a
# release, so they are left out of the patch.
packed=$(find "$proxy" -name '*.info' | sed -e "s|^$proxy/||" -e 's|/@v/\(.*\)\.info$| \1|')

flags="$(go env GOFLAGS) -mod=mod -modcacherw"
export GOWORK=off GOMODCACHE="$modcache"
export GOPROXY="file://$proxy,file://$usercache/cache/download,https://proxy.golang.org"
export GONOSUMDB=github.com/pgsession/pgsession # the checksum database has not seen a packed version
# The go command indexes a module in its cache once per path and version, as
# if its files never changed; ours are packed afresh each run at the same path.
export GODEBUG="${GODEBUG:+$GODEBUG,}goindex=0"

untidy=()
for dir in $(find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort); do
	rel=${dir#./}
	rel=${rel#.}
	copy=$copies/$(echo "${rel:-root}" | tr / _)
	cp "$dir/go.mod" "$copy.mod"
	if [ -f "$dir/go.sum" ]; then cp "$dir/go.sum" "$copy.sum"; fi
	echo "--- $dir"
	(
		cd "$dir"
		export GOFLAGS="$flags -modfile=$copy.mod"
		go build -o /dev/null ./... # compile only: no binary left in the tree
		go vet ./...
		if [ "$dir" != . ] && [ "${PGSESSION_RELEASE_CHECK_TESTS:-1}" != 0 ]; then
			# shellcheck disable=SC2086 # several flags, split on purpose
			go test ${PGSESSION_RELEASE_CHECK_TESTFLAGS:-} ./...
		fi
		go mod tidy
	)
	while read -r path version; do
		if [ -n "$path" ] && [ -f "$copy.sum" ]; then sed -i "\|^$path $version[ /]|d" "$copy.sum"; fi
	done <<<"$packed"
	for f in go.mod go.sum; do
		name=${rel:+$rel/}$f
		if [ ! -e "$dir/$f" ] && [ ! -s "$copy.${f#go.}" ]; then continue; fi
		if ! diff -q "$dir/$f" "$copy.${f#go.}" >/dev/null 2>&1; then
			untidy+=("$name")
			diff -uN --label "a/$name" --label "b/$name" "$dir/$f" "$copy.${f#go.}" >>"$patch" || true
		fi
	done
done

if [ ${#untidy[@]} -gt 0 ]; then
	echo "warning: go mod tidy against those versions would change ${untidy[*]}."
	echo "The changes, to apply with git apply: $patch"
fi
echo "release check passed: every module builds and vets, and the nested ones test, with the workspace off"
