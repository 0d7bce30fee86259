#!/usr/bin/env bash
# Installs everything the tests need (Python packages, promtool, amtool) and runs the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh --test
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
