#!/usr/bin/env bash
# What a browser downloads before each page is interactive, compressed as the portal serves it
# (Accept-Encoding: br, as Chromium sends), on the release build (`cargo leptos build --release
# --precompress`, run first unless SKIP_BUILD=1). Per page: the HTML, and the JavaScript and
# wasm it loads (the island loader is inline in the HTML; the wasm-bindgen glue and the wasm are
# the two files under /pkg/). Signed in as a staff member and as a guest in a chat.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_BUILD:-0}" = 1 ] || env -u RUSTFLAGS cargo leptos build --release --precompress
. scripts/lib/bench.sh
work=$(mktemp -d)
start_release_portal "$work"

staff=$(curl_sign_in "$base" "$work/staff")
# A guest with a chat: provisioned by the staff member (the form's server function), signed in
# through the invitation link, with a messaging session started.
create=$(curl -s -b "$work/staff" "$base/guests" | grep -o 'action="/api/create_guest[^"]*"' | head -1 | sed 's/action="//; s/"$//')
guest_page=$(curl -s -o /dev/null -w '%{redirect_url}' -b "$work/staff" -H "Origin: $base" \
  -d given_name=Ada -d family_name=Guest -d email=ada@example.com -d attributes= "$base$create")
link=$(curl -s -b "$work/staff" "$guest_page" | grep -o 'data-testid="invitation-link"[^>]*' | grep -o 'value="[^"]*"' | sed 's/value="//; s/"$//')
[ -z "$link" ] && link=$(curl -s -b "$work/staff" "$guest_page" | grep -o 'value="[^"]*/guest-idp/invite/[^"]*"' | head -1 | sed 's/value="//; s/"$//')
curl -s -o /dev/null -c "$work/guest" -b "$work/guest" "$link"
curl -s -o /dev/null -L -c "$work/guest" -b "$work/guest" -X POST "$link"
curl -s -o /dev/null -L -c "$work/guest" -b "$work/guest" -H "Origin: $base" -X POST "$base/guest/chat/start"

size() { # URL JAR → bytes on the wire with Accept-Encoding: br
  curl -s -o /dev/null -w '%{size_download}' -H 'Accept-Encoding: br, gzip' ${2:+-b "$2"} "$1"
}
printf '| page | HTML (br) | JS + wasm (br) | files |\n|---|---|---|---|\n'
measure() { # NAME PATH JAR MARKER
  local name=$1 path=$2 jar=$3 marker=$4 html assets total=0 files=""
  html=$(curl -s ${jar:+-b "$jar"} "$base$path")
  grep -q "$marker" <<<"$html" || { echo "$name: $path did not show $marker" >&2; exit 1; }
  assets=$(grep -o '/pkg/[^"]*\.\(js\|wasm\)' <<<"$html" | sort -u)
  # The loader names the files in its call: (root, pkg, js name, wasm name, …).
  if [ -z "$assets" ]; then
    assets=$(grep -o '"pkg", *"[^"]*", *"[^"]*"' <<<"$html" | head -1 |
      sed 's/"pkg", *"\([^"]*\)", *"\([^"]*\)"/\/pkg\/\1.js \/pkg\/\2.wasm/')
  fi
  for a in $assets; do
    total=$((total + $(size "$base$a")))
    files="$files ${a#/pkg/}"
  done
  printf '| %s (`%s`) | %s | %s | %s |\n' "$name" "$path" "$(size "$base$path" "$jar")" "$total" "${files# }"
}
measure landing / "" 'data-testid="sign-in"'
measure dashboard /dashboard "$work/staff" 'data-testid="profile-name"'
measure directory /users "$work/staff" 'data-testid="user-row"'
export_id=$(curl -s -o /dev/null -w '%{redirect_url}' -b "$work/staff" -H "Origin: $base" \
  -d state=active -d sort=ascending "$base$(curl -s -b "$work/staff" "$base/users" | grep -o 'action="/api/start_export[^"]*"' | head -1 | sed 's/action="//; s/"$//')")
measure export "${export_id#"$base"}" "$work/staff" 'data-testid="export-status"'
measure service /admin/service "$work/staff" 'data-testid="manager-state"'
measure "guest chat" /guest "$work/guest" 'data-testid="chat-input"'
for f in target/site/pkg/*.wasm target/site/pkg/*.js; do
  printf '%s: raw %s, br %s, gzip %s\n' "$f" "$(wc -c <"$f")" "$(wc -c <"$f.br" 2>/dev/null || echo -)" "$(wc -c <"$f.gz" 2>/dev/null || echo -)"
done
