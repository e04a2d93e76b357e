#!/usr/bin/env bash
# install-chromium.sh makes sure headless Chromium is installed at
# /usr/bin/chromium, for the demo's end-to-end browser test
# (cmd/pgsession/internal/demo, driven with chromedp). If it is missing it is
# installed from the distribution's packages (Debian/Ubuntu, apt-get; needs
# root, or sudo without a password). It exits 1 with a message saying what to
# do when it cannot install it.
set -euo pipefail

want=/usr/bin/chromium

say() { printf 'chromium: %s\n' "$*"; }

if [ -x "$want" ]; then
	say "ok: $("$want" --version 2>/dev/null || echo "$want")"
	exit 0
fi

fail() {
	{
		echo
		say "$*"
		say "the browser test needs Chromium at $want; install it with your package manager"
		say "(Debian/Ubuntu: apt-get update && apt-get install -y chromium), then run this script again"
	} >&2
	exit 1
}

if ! command -v apt-get >/dev/null 2>&1; then
	fail "$want is missing and apt-get is not available here"
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo=(sudo -n)
	else
		fail "$want is missing, and installing it needs root (or sudo without a password)"
	fi
fi

say "$want is missing; installing the chromium package with apt-get"
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get update -qq; then
	fail "apt-get update failed"
fi
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
	fail "apt-get install chromium failed"
fi
if [ ! -x "$want" ]; then
	fail "the chromium package is installed, but $want is still missing"
fi
say "installed: $("$want" --version 2>/dev/null || echo "$want")"
