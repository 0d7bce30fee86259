#!/usr/bin/env bash
# Sets up moncat on a fresh Debian machine with Python 3.11: a virtualenv in .venv with the
# package installed. With --test, also the test dependencies and Debian's promtool and amtool.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "moncat needs Python >= 3.11 (found $(python3 --version 2>&1))" >&2; exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! python3 -m venv .venv 2>/dev/null; then
    rm -rf .venv
    apt_install python3-venv
    python3 -m venv .venv
  fi
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
if [ "$want_test" = 1 ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
  # promtool and amtool from Debian (Prometheus 2.42, Alertmanager 0.25), as the tests use them.
  pkgs=()
  command -v promtool >/dev/null || pkgs+=(prometheus)
  command -v amtool >/dev/null || pkgs+=(prometheus-alertmanager)
  # Headless Chromium opens the generated runbook site in the tests.
  [ -x /usr/bin/chromium ] || pkgs+=(chromium)
  if [ "${#pkgs[@]}" -gt 0 ]; then apt_install "${pkgs[@]}"; fi
else
  .venv/bin/python -m pip install -q --disable-pip-version-check -e .
fi
