#!/usr/bin/env bash
# Every test: installs what is missing (scripts/setup.sh, idempotent), then
#   1. Rust unit + integration tests (SQLite files and the PostgreSQL at $SIGHTLINE_TEST_PG,
#      the real MLflow and OpenTelemetry Python SDKs as clients), through cargo nextest;
#   2. Playwright in Debian's Chromium against `sightline serve --demo` (cargo leptos end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export SIGHTLINE_TEST_PG="${SIGHTLINE_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
export SIGHTLINE_PYTHON="${SIGHTLINE_PYTHON:-$PWD/.venv/bin/python}"
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "== starting the local PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
# cargo-leptos builds debug with --cfg erase_components (it adds the flag itself, so
# RUSTFLAGS is set for cargo nextest only); the same flags let both share artifacts.
echo "== cargo nextest (unit + integration)"
RUSTFLAGS="--cfg erase_components" cargo nextest run --workspace --no-fail-fast
echo "== Playwright end-to-end (cargo leptos end-to-end)"
# `cargo leptos end-to-end` exits 0 without running the tests when the build fails, so
# build first: a failed build fails here.
cargo leptos build
rm -rf target/e2e-data
SIGHTLINE_DATA_DIR=target/e2e-data SIGHTLINE_DEMO=true SIGHTLINE_DEMO_RATE=10 \
  SIGHTLINE_OTLP_HTTP_LISTEN=off SIGHTLINE_OTLP_GRPC_LISTEN=off \
  SIGHTLINE_RETAIN_PAYLOADS=30d SIGHTLINE_RETAIN_SPANS=90d SIGHTLINE_RETAIN_ROLLUPS=400d \
  cargo leptos end-to-end
