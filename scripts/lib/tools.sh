# Sourced by every script that runs cargo leptos: the build tools scripts/setup.sh installs from
# npm come first on PATH, so cargo-leptos (built with no_downloads, it looks tools up on PATH)
# runs binaryen 132's wasm-opt and never Debian's 108, which breaks the release --split build.
tools_bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tools/node_modules/.bin"
case ":$PATH:" in *":$tools_bin:"*) ;; *) export PATH="$tools_bin:$PATH" ;; esac
unset tools_bin
