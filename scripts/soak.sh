#!/usr/bin/env bash
# The full fault soak: 50 simulated agents (goose) sign in, browse, search, export and sign
# out for 5 minutes against a real portal process on its embedded sandbox, which answers 20%
# of API calls with a 5xx, 10% with a 429, adds 200 ms to every call and expires every access
# token every 15 s. Fails on any 500, panic, lost session, failed export or memory growth over
# 20% after the first minute. Loopback only; it stops by itself.
#
#   scripts/soak.sh                     # the full run (about 6 minutes)
#   SOAK_SECONDS=30 scripts/soak.sh     # the short run the test command makes
#   scripts/soak.sh --users 100         # any option of the soak binary (see soak/src/main.rs)
#
# The table it prints is what docs/BENCHMARKS.md records.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh
scripts/setup.sh >/dev/null
export LEPTOS_OUTPUT_NAME=genesys-portal LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg
export LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001
cargo leptos build --split
cargo build -p soak --locked
seconds=${SOAK_SECONDS:-300}
warmup=$(( seconds >= 180 ? 60 : seconds / 2 ))
exec target/debug/soak --portal target/debug/genesys-portal --seconds "$seconds" --warmup "$warmup" --users 50 "$@"
