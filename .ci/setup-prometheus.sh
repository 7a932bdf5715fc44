#!/usr/bin/env bash
# Installs Debian's Prometheus (prometheus + promtool) for the Prometheus test tier.
# The tier starts its own server on a free loopback port; the package's own service is
# stopped and masked so it never holds :9090 or scrapes anything.
set -euo pipefail
if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# Mask first so the package's postinst cannot start the service.
$SUDO systemctl mask prometheus.service >/dev/null 2>&1 || $SUDO ln -sf /dev/null /etc/systemd/system/prometheus.service 2>/dev/null || true
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
$SUDO systemctl stop prometheus.service >/dev/null 2>&1 || true
# Without systemd the init script may have started it: stop only the packaged daemon.
if [ -x /etc/init.d/prometheus ]; then $SUDO /etc/init.d/prometheus stop >/dev/null 2>&1 || true; fi
prometheus --version 2>&1 | sed -n 1p
