#!/usr/bin/env bash
# Installs what is missing (idempotent), builds, and runs Sightline on the embedded SQLite
# default with live demo traffic: open http://127.0.0.1:5000.
# Configuration comes from SIGHTLINE_* environment variables (see README); set
# SIGHTLINE_DEMO=false to run without demo traffic.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-browser --no-python
export SIGHTLINE_DEMO="${SIGHTLINE_DEMO:-true}"
exec cargo leptos serve --release
