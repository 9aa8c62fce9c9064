#!/usr/bin/env bash
# The first README command: set up what is missing, then run the app with live reload on
# http://127.0.0.1:3000 (against the embedded sandbox unless a Genesys Cloud org is configured).
# Once the server answers, it prints the URL to open and which upstream it talks to.
#   scripts/dev.sh            development: `cargo leptos watch` (debug, live reload)
#   scripts/dev.sh --release  production mode: an optimised build with precompressed (.br, .gz)
#                             hashed assets, then the release binary (no watcher)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh
scripts/setup.sh
addr=${LEPTOS_SITE_ADDR:-127.0.0.1:3000}
(
  # Up to 40 minutes: a first build on a new machine takes a while.
  for _ in $(seq 1 2400); do
    if curl -fsS -o /dev/null "http://$addr/healthz" 2>/dev/null; then
      upstream=$(curl -fsS "http://$addr/" 2>/dev/null |
        sed -n 's/.*data-testid="upstream-badge"[^>]*>\([^<]*\)<.*/\1/p' | head -n 1)
      printf '\n\033[1m==> genesys-portal is up: open http://%s (upstream: %s)\033[0m\n\n' \
        "$addr" "${upstream:-unknown}"
      exit 0
    fi
    sleep 1
  done
) &
case "${1:-}" in
  "") exec cargo leptos watch --split ;;
  --release)
    env -u RUSTFLAGS cargo leptos build --release --precompress --split
    # The settings cargo-leptos gives the binary when it runs it itself.
    export LEPTOS_OUTPUT_NAME=genesys-portal LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg \
      LEPTOS_SITE_ADDR="$addr" LEPTOS_ENV=PROD LEPTOS_HASH_FILES=true
    exec target/release/genesys-portal
    ;;
  *) echo "usage: scripts/dev.sh [--release]" >&2; exit 2 ;;
esac
