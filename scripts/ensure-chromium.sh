#!/usr/bin/env bash
# Debian's Chromium for the demo's browser tests (driven by playwright-core; a browser is never downloaded).
# Idempotent: does nothing when /usr/bin/chromium exists.
set -uo pipefail
[ -x /usr/bin/chromium ] && exit 0
echo "sess: installing Debian's chromium for the browser tests" >&2
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium) >/dev/null 2>&1
[ -x /usr/bin/chromium ] || { echo "sess: could not install chromium" >&2; exit 1; }
