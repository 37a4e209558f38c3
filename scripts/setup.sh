#!/usr/bin/env bash
# Installs everything Sightline needs to build, run and test, idempotently, using only the
# package registries (crates.io, npm, PyPI, Debian apt): a second run is a no-op.
#   - Rust target wasm32-unknown-unknown
#   - cargo-leptos and wasm-bindgen-cli (exactly the version in Cargo.lock)
#   - sass and wasm-opt (npm `binaryen`; Debian's binaryen 108 breaks release hydration)
#   - Debian chromium (Playwright drives it; no browser download)
#   - end2end npm deps, and a Python venv (.venv) with the real client SDKs used by tests
# Usage: scripts/setup.sh [--no-browser] [--no-python]
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
step() { echo "== setup [$((SECONDS - t0))s] $*"; }
want_browser=1 want_python=1
for a in "$@"; do
  case $a in --no-browser) want_browser=0 ;; --no-python) want_python=0 ;; esac
done

CARGO_LEPTOS_VERSION=0.3.11
SASS_VERSION=1.86.0
BINARYEN_VERSION=132.0.0
CARGO_SRC="${CARGO_HOME:-$HOME/.cargo}/registry/src"
WASM_BINDGEN_VERSION=0.2.130
if [ -f Cargo.lock ]; then
  WASM_BINDGEN_VERSION=$(awk '$0=="name = \"wasm-bindgen\"" {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
fi

# cargo install --locked; when the crate's own lockfile cannot build here (MSRV bump, or a
# pinned version missing from the registry), retry from its source with pinned downgrades.
install_locked() { # crate version bin "pkg@ver ..."
  local crate=$1 ver=$2 bin=$3 pins=$4
  if "$bin" --version 2>/dev/null | grep -q "$ver"; then step "$crate $ver present"; return; fi
  step "installing $crate $ver (once per machine; several minutes)"
  if cargo install "$crate" --version "$ver" --locked; then return; fi
  local src tmp
  src=$(ls -d "$CARGO_SRC"/*/"$crate-$ver" | head -1)
  tmp=$(mktemp -d)
  cp -r "$src"/. "$tmp"
  for p in $pins; do (cd "$tmp" && cargo update -p "${p%@*}" --precise "${p#*@}"); done
  cargo install --path "$tmp" --locked
  rm -rf "$tmp"
}

step "rust wasm32 target"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# cargo-leptos 0.3.11 pins cargo-util-schemas 0.14.2, which needs rustc 1.96.
install_locked cargo-leptos "$CARGO_LEPTOS_VERSION" cargo-leptos "cargo-util-schemas@0.14.1"
# wasm-bindgen-cli's lockfile pins webpki-roots 1.0.11, absent from this registry.
install_locked wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen "webpki-roots@1.0.10"

if dpkg -s binaryen >/dev/null 2>&1; then
  echo "WARNING: Debian's binaryen (wasm-opt 108) breaks release wasm; removing it" >&2
  apt-get remove -y binaryen
fi
step "npm: sass, binaryen (wasm-opt)"
sass --version 2>/dev/null | grep -q "^$SASS_VERSION" || npm install -g --no-audit --no-fund "sass@$SASS_VERSION"
wasm-opt --version 2>/dev/null | grep -q "version_${BINARYEN_VERSION%%.*}" || npm install -g --no-audit --no-fund "binaryen@$BINARYEN_VERSION"

if [ $want_browser = 1 ]; then
  step "apt: chromium"
  if ! command -v chromium >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  fi
  step "npm: end2end deps (Playwright runner only; the browser is /usr/bin/chromium)"
  if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    (cd end2end && npm ci --no-audit --no-fund)
  fi
fi

if [ $want_python = 1 ]; then
  step "python venv with the real client SDKs (tests/python/requirements.txt)"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  if ! cmp -s tests/python/requirements.txt .venv/.requirements.installed 2>/dev/null; then
    .venv/bin/pip install -q -r tests/python/requirements.txt
    cp tests/python/requirements.txt .venv/.requirements.installed
  fi
fi

step "done: $(cargo leptos --version), $(wasm-bindgen --version), sass $(sass --version), $(wasm-opt --version | head -1)"
