#!/usr/bin/env bash
# Set up the project's virtualenv (if needed) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/venv.sh "[test]"
if [ "$(id -u)" = 0 ]; then ./scripts/deps.sh; fi  # the node runtime for the e2e tests (CI is root)
.venv/bin/ruff check src tests bench
.venv/bin/lint-imports
exec .venv/bin/python -m pytest -n auto -q "$@"
