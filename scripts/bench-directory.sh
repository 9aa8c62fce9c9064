#!/usr/bin/env bash
# Directory SSR throughput with a warm session, on loopback against the embedded sandbox at
# zero added latency, next to a bare axum handler returning a page of the same size, in the
# same run (wrk from Debian). Release builds. Prints both results.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
command -v wrk >/dev/null || { as_root apt-get update -qq; as_root apt-get install -y -qq wrk >/dev/null; }
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
SIZE=${SIZE:-25}

cargo build --release -p server --bin genesys-portal --example bare_page
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port); bare_port=$(free_port)
base="http://127.0.0.1:$port"
work=$(mktemp -d)
LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_OUTPUT_NAME=genesys-portal LEPTOS_SITE_ROOT=target/site \
  PORTAL_DATA_DIR="$work" SANDBOX_RATE_LIMIT=0 RUST_LOG=warn target/release/genesys-portal >"$work/log" 2>&1 &
portal=$!
trap 'kill $portal ${bare:-} 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -fsS "$base/healthz" >/dev/null 2>&1; do sleep 0.1; done

# Sign in through the sandbox's sign-in page with curl.
jar="$work/jar"
authorize=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" -H "Origin: $base" -d return_to=/users "$base/auth/login")
page=$(curl -s -c "$jar" -b "$jar" "$authorize")
pending=$(grep -o 'name="pending" value="[^"]*"' <<<"$page" | head -1 | sed 's/.*value="//; s/"$//')
user=$(grep -o 'name="user" value="[^"]*"' <<<"$page" | head -1 | sed 's/.*value="//; s/"$//')
callback=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" \
  --data-urlencode "pending=$pending" --data-urlencode "user=$user" -d decision=allow "${authorize%%\?*}")
curl -s -o /dev/null -c "$jar" -b "$jar" "$callback"
cookie=$(awk '$6 == "portal-session" { print $6 "=" $7 }' "$jar")
url="$base/users?size=$SIZE"
[ "$SIZE" = 25 ] && url="$base/users"
status=$(curl -s -o "$work/page.html" -w '%{http_code}' -H "Cookie: $cookie" "$url")
[ "$status" = 200 ] || { echo "the directory answered $status"; exit 1; }
bytes=$(wc -c <"$work/page.html")
target/release/examples/bare_page "$bare_port" "$bytes" &
bare=$!
until curl -fsS "http://127.0.0.1:$bare_port/" >/dev/null 2>&1; do sleep 0.1; done

echo "== portal /users ($SIZE users a page, $bytes bytes, signed in) =="
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -H "Cookie: $cookie" "$url"
echo "== bare axum handler, same size =="
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$bare_port/"
