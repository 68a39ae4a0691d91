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


def _run_hollow(args: argparse.Namespace) -> int:
    from kybernetes.hollow.flags import options_from_flags, run_until_signalled

    try:
        options = options_from_flags(args)
    except ValueError as exc:
        print(f"kyb hollow-nodes: {exc}", file=sys.stderr)
        return 2
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency, but stay runnable
        runner = asyncio.run
    try:
        return runner(run_until_signalled(args.kubeconfig, options, context=args.context))
    except KeyboardInterrupt:
        return 0


def _bool_flag(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _run_scheduler(args: argparse.Namespace) -> int:
    from kybernetes.client import ConfigError as ClientConfigError
    from kybernetes.scheduler.app import load_setup, run_from_setup
    from kybernetes.scheduler.errors import ConfigError

    try:
        setup = load_setup(kubeconfig=args.kubeconfig, config_path=args.config)
    except (ConfigError, ClientConfigError, OSError) as exc:
        print(f"kyb scheduler: {exc}", file=sys.stderr)
        return 2
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency, but stay runnable
        runner = asyncio.run
    try:
        runner(run_from_setup(setup, leader_elect=args.leader_elect,
                              metrics_port=args.metrics_port,
                              metrics_address=args.metrics_bind_address))
    except OSError as exc:
        print(f"kyb scheduler: {exc}", file=sys.stderr)
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
    from kybernetes.hollow.flags import add_flags as add_hollow_flags

    add_hollow_flags(sub.add_parser("hollow-nodes", help="run simulated nodes (as kwok)"))
    scheduler = sub.add_parser("scheduler", help="run kube-scheduler against an API server")
    scheduler.add_argument("--kubeconfig", help="kubeconfig of the API server (default: "
                           "$KUBECONFIG, in-cluster, ~/.kube/config)")
    scheduler.add_argument("--config", help="KubeSchedulerConfiguration file")
    scheduler.add_argument("--leader-elect", type=_bool_flag, nargs="?", const=True,
                           default=None, help="elect a leader on Lease kube-system/"
                           "kube-scheduler (default true, or the config file's)")
    scheduler.add_argument("--metrics-port", type=int, default=None,
                           help="serve /metrics and /healthz over HTTP on this port")
    scheduler.add_argument("--metrics-bind-address", default="127.0.0.1",
                           help="address for --metrics-port (default 127.0.0.1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "server":
        return _run_server(args)
    if args.command == "scheduler":
        return _run_scheduler(args)
    if args.command == "hollow-nodes":
        return _run_hollow(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
