#!/usr/bin/env bash
# The portal's own cost: the signed-in directory page (25 users, embedded sandbox, no added
# latency) next to a bare axum handler that makes the same upstream call with the same HTTP
# client against a sandbox seeded alike and writes the same table as a string
# (server/examples/bare_directory.rs), in the same run (wrk from Debian, --latency for p99).
# Release builds. Prints both results and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/bench.sh
ensure_wrk
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
SIZE=${SIZE:-25}

cargo build --release -p server --bin genesys-portal --example bare_directory
port=$(free_port); bare_port=$(free_port)
base="http://127.0.0.1:$port"
work=$(mktemp -d)
LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_OUTPUT_NAME=genesys-portal LEPTOS_SITE_ROOT=target/site \
  PORTAL_DATA_DIR="$work" SANDBOX_RATE_LIMIT=0 RUST_LOG=warn target/release/genesys-portal >"$work/log" 2>&1 &
portal=$!
trap 'kill $portal ${bare:-} 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -fsS "$base/healthz" >/dev/null 2>&1; do sleep 0.1; done

# Sign in through the sandbox's sign-in page with curl.
cookie=$(curl_sign_in "$base" "$work/jar")
url="$base/users?size=$SIZE"
[ "$SIZE" = 25 ] && url="$base/users"
status=$(curl -s -o "$work/page.html" -w '%{http_code}' -H "Cookie: $cookie" "$url")
[ "$status" = 200 ] || { echo "the directory answered $status"; exit 1; }
bytes=$(wc -c <"$work/page.html")
target/release/examples/bare_directory "$bare_port" 1250 &
bare=$!
until curl -fsS "http://127.0.0.1:$bare_port/users" >/dev/null 2>&1; do sleep 0.1; done
curl -s "http://127.0.0.1:$bare_port/users" >"$work/bare.html"
bare_bytes=$(wc -c <"$work/bare.html")
# The baseline must write the same table: the two `<table>…</table>` must be identical, byte for
# byte (the portal's `<!>` hydration markers and the two sandboxes' random user ids aside).
python3 - "$work/page.html" "$work/bare.html" <<'PY'
import re, sys
portal, bare = (open(p, encoding="utf-8").read() for p in sys.argv[1:])
uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
table = lambda s: uuid.sub("ID", re.search(r"<table.*?</table>", s.replace("<!>", ""), re.S).group(0))
if table(portal) != table(bare):
    sys.exit("bench-directory: the baseline's table differs from the portal's")
print(f"the same table in both: {len(table(portal))} bytes")
PY

# Warm both (connections, caches), then measure one after the other in this run.
wrk -t2 -c"$CONNECTIONS" -d2s -H "Cookie: $cookie" "$url" >/dev/null
wrk -t2 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$bare_port/users" >/dev/null
echo "== portal /users ($SIZE users a page, $bytes bytes, signed in) =="
# PERF=1: perf samples the portal (and the sandbox inside it) while wrk measures it, and the
# hottest symbols go to target/bench/directory-perf.txt (the measured run is then perturbed).
if [ "${PERF:-0}" = 1 ]; then
  mkdir -p target/bench
  perf record -F 499 -g -p "$portal" -o "$work/perf.data" -- sleep "${DURATION%s}" 2>/dev/null &
  perf_pid=$!
fi
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Cookie: $cookie" "$url" | tee "$work/portal.txt"
if [ -n "${perf_pid:-}" ]; then
  wait "$perf_pid" || true
  perf report -i "$work/perf.data" --no-children --stdio -g none --percent-limit 0.7 \
    --sort dso,symbol 2>/dev/null | grep -v "^#" | grep -v "^$" | sed "s/  */ /g" | cut -c1-200 | head -60 >target/bench/directory-perf.txt
  perf report -i "$work/perf.data" --children --stdio -g none --percent-limit 3 \
    --sort symbol 2>/dev/null | grep -v "^#" | grep -v "^$" | sed "s/  */ /g" | cut -c1-200 | head -60 >target/bench/directory-perf-inclusive.txt
  echo "perf: target/bench/directory-perf.txt, target/bench/directory-perf-inclusive.txt"
fi
echo "== bare axum handler, same upstream call and table ($bare_bytes bytes) =="
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$bare_port/users" | tee "$work/bare.txt"
rps() { awk '/Requests\/sec/ { print $2 }' "$1"; }
p99() { awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }; print v }' "$1"; }
python3 - "$(rps "$work/portal.txt")" "$(rps "$work/bare.txt")" "$(p99 "$work/portal.txt")" "$(p99 "$work/bare.txt")" <<'PY'
import sys
portal, bare, portal_p99, bare_p99 = map(float, sys.argv[1:])
print(f"portal/bare requests/s: {portal / bare:.2f} (target >= 0.70)")
print(f"portal/bare p99: {portal_p99 / bare_p99:.2f} (target <= 2.00)")
PY
