#!/usr/bin/env bash
# The main job: install moncat, validate the shipped catalog and compile it into output/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
.venv/bin/moncat validate catalog
.venv/bin/moncat compile catalog --out output
