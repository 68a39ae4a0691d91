#!/usr/bin/env bash
# Set up the project's virtualenv (if needed) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -e '.[test]'
.venv/bin/ruff check src tests bench
.venv/bin/lint-imports
exec .venv/bin/python -m pytest -n auto -q "$@"
