#!/usr/bin/env bash
# The long version of the SSR stress test (the short one runs in scripts/test.sh): many cycles of
# start → load with cut connections → SIGTERM against the release binary, on loopback only,
# bounded by the cycle count. Fails on any panic, leftover work, or a process that does not exit
# within 5 s of SIGTERM. Settings (environment): CYCLES (200), LOAD_MS (10000), CLIENTS (16),
# CUT_PERCENT (33), SEED (random, printed), PROFILE (release | dev).
set -euo pipefail
cd "$(dirname "$0")/.."
export LEPTOS_OUTPUT_NAME=genesys-portal LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg
export LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001
seed=${SEED:-$RANDOM$RANDOM}
profile=${PROFILE:-release}
echo "==> ssr-stress: ${CYCLES:-200} cycles × ${LOAD_MS:-10000} ms, ${CLIENTS:-16} clients, seed $seed, profile $profile"
started=$(date +%s)
SSR_STRESS_CYCLES=${CYCLES:-200} SSR_STRESS_LOAD_MS=${LOAD_MS:-10000} SSR_STRESS_CLIENTS=${CLIENTS:-16} \
SSR_STRESS_CUT_PERCENT=${CUT_PERCENT:-33} SSR_STRESS_SEED=$seed SSR_STRESS_BACKTRACE=1 \
  cargo test --profile "$profile" -p server --test ssr_stress -- --nocapture
echo "==> ssr-stress passed in $(( $(date +%s) - started )) s (seed $seed)"
