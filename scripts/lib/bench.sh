# Sourced by the benchmark scripts.

# wrk from Debian, installed when missing.
ensure_wrk() {
  command -v wrk >/dev/null && return
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null; fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# `start_release_portal WORK`: the release binary on a free loopback port with WORK as its data
# directory, as cargo-leptos would start it; sets `base` and `portal` (the pid) and stops it
# and removes WORK on exit.
start_release_portal() {
  local work=$1 port
  port=$(free_port)
  base="http://127.0.0.1:$port"
  LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_OUTPUT_NAME=genesys-portal LEPTOS_SITE_ROOT=target/site \
    LEPTOS_SITE_PKG_DIR=pkg LEPTOS_ENV=PROD PORTAL_DATA_DIR="$work" RUST_LOG=warn \
    target/release/genesys-portal >"$work/log" 2>&1 &
  portal=$!
  trap 'kill $portal 2>/dev/null || true; rm -rf "'"$work"'"' EXIT
  until curl -fsS "$base/healthz" >/dev/null 2>&1; do sleep 0.1; done
}

# A staff sign-in through the sandbox's sign-in page with curl.
# `curl_sign_in BASE JAR [PUBLIC]` leaves the session cookie in JAR and prints "name=value".
# PUBLIC: the site's public origin when it is not BASE (replicas behind a balancer's origin):
# the requests carry it as their Origin, and the callback it names is sent to BASE.
curl_sign_in() {
  local base=$1 jar=$2 public=${3:-$1} authorize page pending user callback
  authorize=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" -H "Origin: $public" -d return_to=/dashboard "$base/auth/login")
  page=$(curl -s -c "$jar" -b "$jar" "$authorize")
  pending=$(grep -o 'name="pending" value="[^"]*"' <<<"$page" | head -1 | sed 's/.*value="//; s/"$//')
  user=$(grep -o 'name="user" value="[^"]*"' <<<"$page" | head -1 | sed 's/.*value="//; s/"$//')
  callback=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" \
    --data-urlencode "pending=$pending" --data-urlencode "user=$user" -d decision=allow "${authorize%%\?*}")
  curl -s -o /dev/null -c "$jar" -b "$jar" "${callback/#$public/$base}"
  awk '$6 == "portal-session" { print $6 "=" $7 }' "$jar"
}
