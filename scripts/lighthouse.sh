#!/usr/bin/env bash
# Lighthouse (npm `lighthouse` 12, Debian's Chromium) on the landing, dashboard and directory
# pages of the release build, signed in with a session cookie; desktop preset, performance and
# best practices. Reports go to target/lighthouse/ (an artefact, not a test gate). Run
# `cargo leptos build --release --precompress --split` first unless SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh
[ "${SKIP_BUILD:-0}" = 1 ] || env -u RUSTFLAGS cargo leptos build --release --precompress --split
tools=target/lighthouse/node
mkdir -p "$tools"
[ -x "$tools/node_modules/.bin/lighthouse" ] ||
  npm install --prefix "$tools" --no-audit --no-fund --silent lighthouse@12 >/dev/null
. scripts/lib/bench.sh
work=$(mktemp -d)
start_release_portal "$work"
cookie=$(curl_sign_in "$base" "$work/jar")
out=target/lighthouse
printf '| page | performance | best practices | FCP | TBT | LCP |\n|---|---|---|---|---|---|\n'
for page in / /dashboard /users; do
  name=$(tr -c 'a-z0-9\n' _ <<<"${page#/}" | head -c 40); name=${name:-landing}
  headers=$([ "$page" = / ] && echo '{}' || printf '{"Cookie":"%s"}' "$cookie")
  CHROME_PATH=/usr/bin/chromium "$tools/node_modules/.bin/lighthouse" "$base$page" \
    --quiet --preset=desktop --only-categories=performance,best-practices \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" \
    --extra-headers="$headers" --output=json --output=html --output-path="$out/$name" >/dev/null
  python3 - "$out/$name.report.json" "$page" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c, a = r["categories"], r["audits"]
score = lambda k: round(c[k]["score"] * 100)
ms = lambda k: a[k]["displayValue"]
print(f"| `{sys.argv[2]}` | {score('performance')} | {score('best-practices')} | {ms('first-contentful-paint')} | {ms('total-blocking-time')} | {ms('largest-contentful-paint')} |")
PY
done
