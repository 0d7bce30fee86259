#!/usr/bin/env bash
# Installs everything the tests need (Python packages, promtool, amtool) and runs the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh --test
.venv/bin/lint-imports
# One worker per core; work stealing keeps the long tests (CI templates, seed promtool runs)
# from queueing behind each other on one worker.
exec .venv/bin/python -m pytest -n auto --dist worksteal "$@"
