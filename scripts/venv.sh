#!/usr/bin/env bash
# Make sure .venv exists with kybernetes installed (sourced by up.sh and test.sh).
# $1: pip extras ("" or "[test]").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
extras="${1:-}"
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "kyb: installing python3-venv (Debian package)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null; }
  else
    echo "kyb: python3 cannot create virtualenvs; run: sudo apt-get install -y python3-venv" >&2
    exit 1
  fi
fi
if [ ! -x .venv/bin/python ]; then
  echo "kyb: creating .venv" >&2
  python3 -m venv .venv
fi
stamp=".venv/.installed${extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "kyb: installing Python packages into .venv (first run takes a minute)" >&2
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e ".${extras}"
  touch "$stamp"
fi
