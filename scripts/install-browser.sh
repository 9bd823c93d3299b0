#!/usr/bin/env bash
# Install what tests/test_web_browser.py drives: Debian's chromium (Playwright cannot download its own
# browsers here) and a CJK font, without which Chinese text renders as boxes. Idempotent and quiet; needs root
# (or sudo) and apt.
set -euo pipefail
PACKAGES=(chromium fonts-wqy-microhei)
missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
