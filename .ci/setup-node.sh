#!/usr/bin/env bash
# Installs Debian's node and npm for the pawnote test (the JavaScript PRONOTE.net client,
# tests/integration/test_pronote_net_clients.py), which installs pawnote with npm into .cache/.
set -euo pipefail
if command -v node >/dev/null && command -v npm >/dev/null; then
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
node --version
