#!/usr/bin/env bash
# Installs whatever the project needs and is missing, at the pinned versions, and nothing else.
# Idempotent: a second run only checks. Used by scripts/dev.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
# wasm-bindgen-cli must match the wasm-bindgen the workspace pins (and Cargo.lock records).
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Prerequisites first: what this script cannot install by itself stops it at once, with what to
# install, instead of failing half an hour in.
have() { command -v "$1" >/dev/null 2>&1; }
can_apt() { have apt-get && { [ "$(id -u)" = 0 ] || have sudo; }; }
missing=()
have rustup || missing+=("rustup with a Rust toolchain (https://rustup.rs)")
have node || missing+=("Node.js 20 or newer (Debian: apt-get install nodejs)")
have npm || missing+=("npm (Debian: apt-get install npm)")
have python3 || missing+=("Python 3.11 or newer")
if ! have chromium; then
  can_apt || missing+=("Chromium (Debian package chromium), or apt-get as root or with sudo to install it")
fi
if ! { have initdb && have pg_ctl; } && ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
  can_apt || missing+=("PostgreSQL 15 or newer server binaries (initdb, pg_ctl; Debian package postgresql), or apt-get as root or with sudo to install them")
fi
if have node && [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  missing+=("Node.js 20 or newer (found $(node --version))")
fi
if [ ${#missing[@]} -gt 0 ]; then
  printf 'setup: cannot go on; install first:\n' >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi

# The toolchain rust-toolchain.toml names. When the machine's stable toolchain is that version
# under another name, link it (nothing to download); otherwise rustup installs it.
toolchain=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup toolchain list | grep -q "^$toolchain"; then
  stable_version=$(rustc +stable --version 2>/dev/null | awk '{print $2}')
  if [ "$stable_version" = "$toolchain" ]; then
    # `rustup toolchain link` refuses a name that looks like a release, so the link is made
    # where rustup keeps its toolchains: the same directory under the release's full name.
    sysroot=$(rustc +stable --print sysroot)
    say "setup: linking the stable toolchain ($stable_version) as $toolchain"
    ln -s "$sysroot" "$(dirname "$sysroot")/$toolchain-$(rustc +stable -vV | sed -n 's/^host: //p')"
  else
    say "setup: installing the Rust toolchain $toolchain"
    rustup toolchain install "$toolchain" --profile minimal --component rustfmt,clippy --target wasm32-unknown-unknown
  fi
fi

# PostgreSQL's server binaries (initdb, pg_ctl): the replica tests start a throwaway cluster.
# On PATH, or where Debian's packages put them (/usr/lib/postgresql/<version>/bin), which the
# tests also look in.
have_postgres() {
  have initdb && have pg_ctl && return 0
  compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null
}
apt_missing=()
command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
have_postgres || apt_missing+=(postgresql)
if [ ${#apt_missing[@]} -gt 0 ]; then
  say "setup: installing ${apt_missing[*]} (Debian packages)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${apt_missing[@]}" >/dev/null
else
  say "setup: chromium and PostgreSQL present"
fi
# PostgreSQL refuses to run as root: the tests start it as the `postgres` user.
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  say "setup: adding the postgres system user"
  useradd --system --no-create-home --shell /usr/sbin/nologin postgres
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "setup: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  rustup component list --installed | grep -q "^$component" || rustup component add "$component"
done

# The two tools compiled from crates.io, the slow part of a fresh machine's set-up. Built with
# their own release profiles but without LTO and at opt-level 1: cargo-leptos' profile asks for
# fat LTO in one codegen unit, which took about 26 minutes here; this way 18 (they only drive
# the build, so their own speed hardly matters).
cargo_tools() {
  export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1
  if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION\$"; then
    say "setup: installing cargo-leptos $CARGO_LEPTOS_VERSION (about 18 minutes on 2 cores, once)"
    # 0.3.11 needs rustc 1.96; no_downloads makes it use the tools on PATH instead of GitHub.
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  else
    say "setup: cargo-leptos $CARGO_LEPTOS_VERSION present"
  fi

  if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
    say "setup: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 5 minutes, once)"
    # Not --locked: its lock file names a crate version the registry no longer has.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  else
    say "setup: wasm-bindgen-cli $WASM_BINDGEN_VERSION present"
  fi
}

# --cargo-tools: only the two tools above (scripts/test.sh runs this in the background while
# it lints and tests, which need neither); --no-cargo-tools: everything else.
case "${1:-}" in
  --cargo-tools) cargo_tools; exit 0 ;;
  --no-cargo-tools) ;;
  "") cargo_tools ;;
  *) echo "usage: scripts/setup.sh [--cargo-tools | --no-cargo-tools]" >&2; exit 2 ;;
esac

# scripts/tools: binaryen's wasm-opt, which scripts/lib/tools.sh puts first on PATH.
for dir in scripts/tools end2end sandbox/sdk-smoke; do
  [ -f "$dir/package.json" ] || continue
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "setup: npm packages of $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
# The official Genesys Cloud Python SDK, for the sandbox's fidelity suite, in its own venv at the
# versions sandbox/sdk-python/requirements.txt pins (from PyPI).
venv=sandbox/sdk-python/.venv
if [ ! -x "$venv/bin/python" ] || ! cmp -s sandbox/sdk-python/requirements.txt "$venv/.requirements"; then
  say "setup: the Python SDK of sandbox/sdk-python"
  if ! python3 -m venv --help >/dev/null 2>&1; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3 python3-venv >/dev/null
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r sandbox/sdk-python/requirements.txt
  cp sandbox/sdk-python/requirements.txt "$venv/.requirements"
fi
wasm_opt_version=$(scripts/tools/node_modules/.bin/wasm-opt --version)
case "$wasm_opt_version" in
  *"version 132 "*) ;;
  *) echo "setup: scripts/tools holds $wasm_opt_version, not binaryen 132" >&2; exit 1 ;;
esac
say "setup: done"
