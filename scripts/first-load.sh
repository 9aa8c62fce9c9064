#!/usr/bin/env bash
# What a browser downloads before each page is interactive, on the release build (`cargo leptos
# build --release --precompress --split`, run first unless SKIP_BUILD=1): Chromium loads each
# page until its islands are live and counts the bytes on the wire (br, as it asks) of the HTML
# and of every JavaScript and wasm file (the wasm-bindgen glue, the main wasm, and the lazy
# islands' split loader and chunks). The island loader is inline in the HTML; a page without
# islands downloads neither. Signed in as a staff member, and as a guest in a chat.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh
[ "${SKIP_BUILD:-0}" = 1 ] || env -u RUSTFLAGS cargo leptos build --release --precompress --split
. scripts/lib/bench.sh
work=$(mktemp -d)
start_release_portal "$work"

staff=$(curl_sign_in "$base" "$work/staff")
# A guest with a chat: provisioned by the staff member (the form's server function), signed in
# through the invitation link, with a messaging session started.
create=$(curl -s -b "$work/staff" "$base/guests" | grep -o 'action="/api/create_guest[^"]*"' | head -1 | sed 's/action="//; s/"$//')
guest_page=$(curl -s -o /dev/null -w '%{redirect_url}' -b "$work/staff" -H "Origin: $base" -H "Accept: text/html" \
  -d given_name=Ada -d family_name=Guest -d email=ada@example.com -d attributes= "$base$create")
link=$(curl -s -b "$work/staff" "$guest_page" | grep -o 'value="[^"]*/guest-idp/invite/[^"]*"' | head -1 | sed 's/value="//; s/"$//')
curl -s -o /dev/null -c "$work/guest" -b "$work/guest" "$link"
# (`-d ''`, not `-X POST`: curl then follows each 303 with a GET, as a browser does.)
curl -s -o /dev/null -L -c "$work/guest" -b "$work/guest" -H "Origin: $base" -d '' "$link"
curl -s -o /dev/null -L -c "$work/guest" -b "$work/guest" -H "Origin: $base" -d '' "$base/guest/chat/start"

# The guest's browser holds two cookies: the provider's sign-in and the portal's chat session.
guest=$(awk '$6 ~ /^(guest|portal)-session$/ { printf "%s%s=%s", sep, $6, $7; sep = ";" }' "$work/guest")
case "$guest" in *guest-session*portal-session*|*portal-session*guest-session*) ;;
  *) echo "first-load: the guest did not get both sessions" >&2; exit 1 ;; esac
export_path=$(curl -s -o /dev/null -w '%{redirect_url}' -b "$work/staff" -H "Origin: $base" -H "Accept: text/html" \
  -d state=active -d sort=ascending "$base$(curl -s -b "$work/staff" "$base/users" | grep -o 'action="/api/start_export[^"]*"' | head -1 | sed 's/action="//; s/"$//')")
export_path=${export_path#"$base"}
node scripts/lib/first-load.mjs "$base" \
  "landing|/||sign-in" \
  "landing, signed in|/|$staff|check-upstream" \
  "dashboard|/dashboard|$staff|profile-name" \
  "directory|/users|$staff|user-row" \
  "export|$export_path|$staff|export-status" \
  "service|/admin/service|$staff|manager-state" \
  "guests|/guests|$staff|guest-given-name" \
  "guest chat|/guest|$guest|chat-input"
for f in target/site/pkg/genesys-portal.*.wasm target/site/pkg/*.js target/site/pkg/split_*.wasm; do
  printf '%s: raw %s, br %s, gzip %s\n' "$f" "$(wc -c <"$f")" "$(wc -c <"$f.br" 2>/dev/null || echo -)" "$(wc -c <"$f.gz" 2>/dev/null || echo -)"
done
