"""Entry point of the `kyb` command: wires components together and runs them."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path


def _run_server(args: argparse.Namespace) -> int:
    from kybernetes.apiserver.server import ServerConfig, default_data_dir, serve
    from kybernetes.storage.sqlite import SQLiteStore

    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()
    try:
        config = ServerConfig(
            data_dir=data_dir.resolve(),
            secure_port=args.secure_port,
            bind_address=args.bind_address,
            tls_sans=tuple(args.tls_san or ()),
            token_auth_file=Path(args.token_auth_file) if args.token_auth_file else None,
        ).validate()
    except ValueError as exc:
        print(f"kyb server: {exc}", file=sys.stderr)
        return 2
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"kyb server: cannot create --data-dir {data_dir}: {exc}. Choose a directory "
              "you can write to.", file=sys.stderr)
        return 1
    store = SQLiteStore(str(config.data_dir / "state.db"),
                        compact_interval_seconds=args.compact_interval)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency, but stay runnable
        runner = asyncio.run
    try:
        runner(serve(config, store))
    except OSError as exc:
        print(f"kyb server: {exc}. Is another server using port {args.secure_port}? "
              "Pick another with --secure-port.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kyb", description="kybernetes: Kubernetes in Python")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    server = sub.add_parser("server", help="run the API server on the embedded SQLite store")
    server.add_argument("--data-dir", help="state directory (default: per-user state dir)")
    server.add_argument("--secure-port", type=int, default=6443,
                        help="HTTPS port (default 6443; 0 picks a free one)")
    server.add_argument("--bind-address", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1)")
    server.add_argument("--tls-san", action="append",
                        help="extra name or address for the serving certificate")
    server.add_argument("--token-auth-file", help="static tokens: token,user,uid,\"groups\"")
    server.add_argument("--compact-interval", type=float, default=300.0,
                        help="seconds between store compactions (default 300)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "server":
        return _run_server(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
