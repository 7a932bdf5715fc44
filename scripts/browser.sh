#!/usr/bin/env bash
# Installs Debian's Chromium and its WebDriver for the browser test tier
# (tests/browser: the web console driven by Selenium in a real headless Chromium).
# Never a browser downloaded by a tool at run time: Debian's packages only.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver fonts-dejavu-core >/dev/null
chromium --version 2>&1 | sed -n 1p
