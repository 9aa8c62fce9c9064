#!/usr/bin/env bash
# Signed-in page throughput (issue 17): the portal on SQLite, on PostgreSQL, and as two replicas
# on one PostgreSQL, in one run, each against the same standalone sandbox (1,250 users, no added
# latency, rate limit off) and with wrk at the same total connections. PostgreSQL is a
# throwaway cluster in a temp dir on a free loopback port, with its defaults (fsync on), run as
# the `postgres` user when this runs as root. One sign-in per engine; the PostgreSQL session
# is used on both replicas (it is the database's). Release builds. Prints each result and the
# ratios; stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/bench.sh
ensure_wrk
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
PAGE=${PAGE:-/dashboard}

cargo build --release --locked -p server --bin genesys-portal -p sandbox --bin sandbox
work=$(mktemp -d)
chmod 755 "$work"
pids=()
pg_bin() { command -v "$1" 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_stop() { [ -d "$work/pg/data" ] && as_pg "$(pg_bin pg_ctl)" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1 || true; }
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/pg"
[ "$(id -u)" = 0 ] && chown postgres "$work/pg"
pg_port=$(free_port)
as_pg "$(pg_bin initdb)" -D "$work/pg/data" -A trust -U postgres -E UTF8 >/dev/null
as_pg "$(pg_bin pg_ctl)" -D "$work/pg/data" -l "$work/pg/log" \
  -o "-p $pg_port -h 127.0.0.1 -k $work/pg -c max_connections=200" -w start >/dev/null
pg_url="postgres://postgres@127.0.0.1:$pg_port/postgres"

sandbox_port=$(free_port)
upstream="http://127.0.0.1:$sandbox_port"
target/release/sandbox --port "$sandbox_port" --users 1250 --seed 42 --rate-limit 0 >"$work/sandbox.log" 2>&1 &
pids+=($!)
until curl -s -o /dev/null "$upstream/"; do sleep 0.1; done

# The origin the sandbox's portal-web client has registered, as a balancer's would be: every
# portal says it is there; the script sends the sign-in's callback to the portal itself.
public="http://127.0.0.1:3000"
key=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')

# `start_portal NAME DATABASE_URL`: a release portal on a free port; sets `started_port`.
start_portal() {
  local name=$1 db=$2 port dir
  port=$(free_port)
  dir="$work/$name"
  mkdir -p "$dir"
  env LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_OUTPUT_NAME=genesys-portal LEPTOS_SITE_ROOT=target/site \
    LEPTOS_SITE_PKG_DIR=pkg LEPTOS_ENV=PROD PORTAL_DATA_DIR="$dir" ${db:+PORTAL_DATABASE_URL="$db"} \
    PORTAL_TOKEN_KEY="$key" PORTAL_PUBLIC_URL="$public" PORTAL_REPLICA_ID="$name" \
    GENESYS_LOGIN_URL="$upstream" GENESYS_API_URL="$upstream" \
    GENESYS_CLIENT_ID=portal-web GENESYS_CLIENT_SECRET=sandbox-portal-secret \
    SANDBOX_RATE_LIMIT=0 RUST_LOG=warn target/release/genesys-portal >"$dir/log" 2>&1 &
  pids+=($!)
  until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$dir/log" >&2; exit 1; }
    sleep 0.1
  done
  started_port=$port
}

start_portal sqlite ""
sqlite_port=$started_port
start_portal postgres-1 "$pg_url"
pg1_port=$started_port
start_portal postgres-2 "$pg_url"
pg2_port=$started_port
sqlite_cookie=$(curl_sign_in "http://127.0.0.1:$sqlite_port" "$work/sqlite.jar" "$public")
pg_cookie=$(curl_sign_in "http://127.0.0.1:$pg1_port" "$work/pg.jar" "$public")
for port in "$sqlite_port:$sqlite_cookie" "$pg1_port:$pg_cookie" "$pg2_port:$pg_cookie"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: ${port#*:}" "http://127.0.0.1:${port%%:*}$PAGE")
  [ "$status" = 200 ] || { echo "$PAGE on port ${port%%:*} answered $status"; exit 1; }
done

load() { # PORT COOKIE CONNECTIONS DURATION OUT
  wrk -t1 -c"$3" -d"$4" --latency -H "Cookie: $2" "http://127.0.0.1:$1$PAGE" >"$5"
}
rps() { awk '/Requests\/sec/ { print $2 }' "$1"; }
p99() { awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }; print v }' "$1"; }
errors() { awk '/Non-2xx|Socket errors/ { print }' "$1"; }

half=$((CONNECTIONS / 2))
load "$sqlite_port" "$sqlite_cookie" "$CONNECTIONS" 2s /dev/null
load "$pg1_port" "$pg_cookie" "$CONNECTIONS" 2s /dev/null
load "$pg2_port" "$pg_cookie" "$CONNECTIONS" 2s /dev/null
echo "== $PAGE signed in, $CONNECTIONS connections, $DURATION each =="
load "$sqlite_port" "$sqlite_cookie" "$CONNECTIONS" "$DURATION" "$work/sqlite.txt"
load "$pg1_port" "$pg_cookie" "$CONNECTIONS" "$DURATION" "$work/pg1.txt"
load "$pg1_port" "$pg_cookie" "$half" "$DURATION" "$work/pg2a.txt" &
a=$!
load "$pg2_port" "$pg_cookie" "$half" "$DURATION" "$work/pg2b.txt" &
b=$!
wait "$a" "$b"
for f in sqlite pg1 pg2a pg2b; do errors "$work/$f.txt"; done
python3 - "$(rps "$work/sqlite.txt")" "$(p99 "$work/sqlite.txt")" "$(rps "$work/pg1.txt")" "$(p99 "$work/pg1.txt")" \
  "$(rps "$work/pg2a.txt")" "$(p99 "$work/pg2a.txt")" "$(rps "$work/pg2b.txt")" "$(p99 "$work/pg2b.txt")" <<'PY'
import sys
s, s99, p, p99, a, a99, b, b99 = map(float, sys.argv[1:])
two, two99 = a + b, max(a99, b99)
print(f"| SQLite, one replica | {s:,.0f} | {s99:.1f} ms |")
print(f"| PostgreSQL, one replica | {p:,.0f} | {p99:.1f} ms |")
print(f"| PostgreSQL, two replicas (each half the connections) | {two:,.0f} ({a:,.0f} + {b:,.0f}) | {two99:.1f} ms |")
print(f"PostgreSQL / SQLite: {p / s:.2f}; two replicas / one: {two / p:.2f}")
PY
