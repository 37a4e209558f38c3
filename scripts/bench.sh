#!/usr/bin/env bash
# Ingest benchmark: builds the release binaries, then runs `sightline-bench`, which sends the
# shared chatbot workload to a null-sink baseline and to a fresh `sightline` server and prints
# end-to-end spans/s (accepted and committed), the ratio to the baseline, peak RSS and bytes
# per span on disk. Arguments go to sightline-bench, e.g.
#   scripts/bench.sh                       # 20,000 traces on SQLite
#   scripts/bench.sh -n 5000 --postgres    # SQLite and PostgreSQL (postgres@127.0.0.1:5432)
#   scripts/bench.sh --queries 100000,1000000 [--postgres]   # query benchmark of the trace
#                                          # explorer and overview board (loads N traces, times
#                                          # its pages and the board per panel; not in CI)
#   scripts/bench.sh --help
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(uname -a)"
echo "== nproc $(nproc)  loadavg $(cut -d' ' -f1-3 /proc/loadavg)  commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
cargo build --release -p server --bins
echo "== loadavg before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
exec target/release/sightline-bench "$@"
