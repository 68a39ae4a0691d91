#!/usr/bin/env bash
# Bring up kybernetes on the embedded SQLite store, in the foreground.
# Arguments go to `kyb server` (e.g. --data-dir DIR --secure-port PORT).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/venv.sh ""
exec .venv/bin/kyb server "$@"
