#!/usr/bin/env bash
# The first README command: set up what is missing, then run the app with live reload on
# http://127.0.0.1:3000 (against the embedded sandbox unless a Genesys Cloud org is configured).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo leptos watch
