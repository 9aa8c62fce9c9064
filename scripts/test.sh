#!/usr/bin/env bash
# The second README command: set up what is missing, then run every check and fail on the
# first that fails: formatting, clippy (server and browser feature sets), the unit and
# integration tests of every crate, the official Genesys JS SDK against the sandbox, the
# Playwright suite against the built app (started here on a free port, stopped at the end),
# and the short fault soak (30 s; scripts/soak.sh makes the full 5-minute run).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh
root=$(pwd)

# CI starts from a clean clone, so incremental compilation only costs it disk (gigabytes of it).
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi

started=$(date +%s)
step_no=0
step_names=()
step_starts=()
step() {
  step_no=$((step_no + 1))
  step_names+=("$*")
  step_starts+=("$(date +%s)")
  printf '\n\033[1m==> [%d/9] %s\033[0m\n' "$step_no" "$*"
}
# On every exit, passed or failed: how long each step took and how much disk target/ holds, so
# the tail of a CI log says where the time and the space went.
report() {
  local now i end
  now=$(date +%s)
  printf '\n==> step times (total %ss)\n' "$((now - started))"
  for i in "${!step_names[@]}"; do
    end=${step_starts[$((i + 1))]:-$now}
    printf '  %5ss  [%d] %s\n' "$((end - step_starts[i]))" "$((i + 1))" "${step_names[i]}"
  done
  printf '==> disk: target/ holds %s; %s free\n' "$(du -sh target 2>/dev/null | cut -f1)" \
    "$(df -h --output=avail . | tail -1 | tr -d ' ')"
}
tools_pid=""
tools_log=""
stop_tools() {
  if [ -n "$tools_pid" ]; then kill -- "-$tools_pid" 2>/dev/null || true; fi
  if [ -n "$tools_log" ]; then rm -f "$tools_log"; fi
}
trap 'stop_tools; report' EXIT

step "setup (installs only what is missing; cargo-leptos and wasm-bindgen-cli in the background)"
scripts/setup.sh --no-cargo-tools
# Compiling the two tools takes over 20 minutes on a fresh machine and leaves a core idle much
# of the time; the lints and tests below need neither, so they share the machine with it.
tools_log=$(mktemp)
setsid scripts/setup.sh --cargo-tools >"$tools_log" 2>&1 &
tools_pid=$!

# cargo-leptos sets these while compiling; setting the same values here keeps every step on
# one build of the shared crates instead of rebuilding them per step.
export LEPTOS_OUTPUT_NAME=genesys-portal
export LEPTOS_SITE_ROOT=target/site
export LEPTOS_SITE_PKG_DIR=pkg
export LEPTOS_SITE_ADDR=127.0.0.1:3000
export LEPTOS_RELOAD_PORT=3001
# cargo-leptos builds the server in debug with RUSTFLAGS="--cfg erase_components", and the wasm
# front in target/front. The steps before it use the same flag and, for wasm, the same target
# directory, so `cargo leptos build` reuses the dependencies they compiled instead of compiling
# every one a second time. cargo-leptos appends its flag to any RUSTFLAGS it is given, so it
# runs with RUSTFLAGS unset and sets the identical value itself.
export RUSTFLAGS="--cfg erase_components"

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy, server side (ssr): genesys, sandbox, conformance, guest_idp, app, server, soak"
cargo clippy -p genesys -p sandbox -p conformance -p guest_idp -p app -p server -p soak --all-targets --locked -- -D warnings

step "clippy, browser side (hydrate, wasm32): app, frontend"
cargo clippy -p frontend --target wasm32-unknown-unknown --target-dir target/front --locked -- -D warnings

# (soak's own tests also build the soak binary the last step runs.)
step "unit and integration tests of every crate"
cargo test -p genesys -p sandbox -p conformance -p guest_idp -p app -p server -p soak --locked

step "build the app (cargo leptos build --split)"
if ! wait "$tools_pid"; then
  cat "$tools_log"; echo "setting up cargo-leptos or wasm-bindgen-cli failed"; exit 1
fi
grep '==>' "$tools_log" || true
env -u RUSTFLAGS cargo leptos build --split
# The release build runs wasm-opt over these files, and a wasm-opt that re-points wasm-bindgen's
# externref table export (Debian's 108 does) breaks every page's wasm: the same wasm-opt, with
# the features Cargo.toml gives it, must keep the debug build's table.
opt_features=$(python3 -c 'import tomllib; m = tomllib.load(open("Cargo.toml", "rb"))["workspace"]["metadata"]["leptos"]; m = m[0] if isinstance(m, list) else m; print(" ".join(f for f in m["wasm-opt-features"] if not f.startswith("-O")))')
python3 scripts/lib/externref-table.py --self-test 2>/dev/null
opt_out=$(mktemp)
for wasm in target/site/pkg/genesys-portal*.wasm; do
  # shellcheck disable=SC2086
  wasm-opt $opt_features "$wasm" -o "$opt_out" 2>/dev/null
  python3 scripts/lib/externref-table.py "$opt_out"
done
rm -f "$opt_out"
echo "wasm-opt ($(wasm-opt --version)) keeps wasm-bindgen's externref table"

step "official Genesys SDKs against the sandbox: JavaScript, then Python (answers read into its models without loss)"
node sandbox/sdk-smoke/smoke.mjs --bin "$root/target/debug/sandbox"
sandbox/sdk-python/.venv/bin/python sandbox/sdk-python/fidelity.py --bin "$root/target/debug/sandbox"

step "end-to-end tests (Playwright, Debian Chromium)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data_dir=$(mktemp -d)
log="$data_dir/portal.log"
LEPTOS_SITE_ADDR="127.0.0.1:$port" PORTAL_DATA_DIR="$data_dir" RUST_LOG=warn \
  target/debug/genesys-portal >"$log" 2>&1 &
portal_pid=$!
cleanup() {
  kill "$portal_pid" 2>/dev/null || true
  wait "$portal_pid" 2>/dev/null || true
  rm -rf "$data_dir"
}
trap 'cleanup; stop_tools; report' EXIT
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  if ! kill -0 "$portal_pid" 2>/dev/null; then cat "$log"; echo "the portal did not start"; exit 1; fi
  sleep 0.1
done
(cd end2end && BASE_URL="http://127.0.0.1:$port" PORTAL_BIN="$root/target/debug/genesys-portal" npx playwright test) || {
  echo "--- portal log ---"; tail -n 100 "$log"; exit 1;
}

cleanup
trap 'stop_tools; report' EXIT

step "fault soak, short: 50 agents for 30 s under 5xx, 429, latency and token expiry"
target/debug/soak --portal "$root/target/debug/genesys-portal" --seconds 30 --warmup 15 --users 50

printf '\n\033[1m==> all checks passed in %ss\033[0m\n' "$(( $(date +%s) - started ))"
