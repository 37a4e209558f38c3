#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for a fixed time each with cargo fuzz
# (libFuzzer + AddressSanitizer), starting from the committed seeds (real client payloads),
# and prints each target's executions. Exits non-zero on the first crash; libFuzzer leaves
# the input in fuzz/artifacts/<target>/.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo fuzz passes -Z flags (sanitizer, coverage); the machine's toolchain is stable.
export RUSTC_BOOTSTRAP=1
targets=(otlp_protobuf otlp_json mlflow_json filter)
cargo fuzz build --dev
for t in "${targets[@]}"; do
  corpus="fuzz/corpus/$t"
  mkdir -p "$corpus"
  cp -n fuzz/seeds/"$t"/* "$corpus"/ 2>/dev/null || true
  log="$(mktemp)"
  cargo fuzz run --dev "$t" "$corpus" -- -max_total_time="$secs" -max_len=262144 -print_final_stats=1 2>"$log" || {
    tail -40 "$log"
    echo "FUZZ $t: CRASH (input in fuzz/artifacts/$t/)"
    exit 1
  }
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')"
  echo "FUZZ $t: ${runs} executions in ${secs}s, coverage ${cov} edges, no crash"
  rm -f "$log"
done
