#!/usr/bin/env bash
# Set up the project's virtualenv (if needed) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/venv.sh "[test]"
.venv/bin/ruff check src tests bench
.venv/bin/lint-imports
exec .venv/bin/python -m pytest -n auto -q "$@"
