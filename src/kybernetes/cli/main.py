"""Entry point of the `kyb` command."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kyb", description="kybernetes: Kubernetes in Python")
    sub = parser.add_subparsers(dest="command", required=True)
    server = sub.add_parser("server", help="run the API server (not built yet)")
    server.add_argument("--data-dir")
    server.add_argument("--secure-port", type=int, default=6443)
    parser.parse_args(argv)
    print(
        "kyb server: the API server is not built yet; the storage layer, codecs, "
        "validation, patch, tables, OpenAPI and PKI it needs are in place (issue 2).",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
