"""The ``workbench`` command: init, serve, demo."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from workbench.errors import WorkbenchError

DEFAULT_STORE = Path("workbench-store")


def cmd_init(args: argparse.Namespace) -> int:
    """Create the encrypted store and the first organisation; print the admin token once."""
    from workbench.governance.orgs import bootstrap
    from workbench.store import KEY_ENV, Store, create_key_file
    store_dir: Path = args.store
    if (store_dir / "workbench.duckdb").exists():
        print(f"error: a store already exists in {store_dir}", file=sys.stderr)
        return 1
    key_note = f"key taken from {KEY_ENV}"
    if not os.environ.get(KEY_ENV):
        key_path = create_key_file(store_dir)
        key_note = f"key written to {key_path} (owner-only; keep it, the store cannot be read without it)"
    store = Store.open(store_dir, create=True)
    try:
        created = bootstrap(store, args.org, args.admin)
    finally:
        store.close()
    print(f"store created in {store_dir}; {key_note}")
    print(f"organisation: {created.org.name} ({created.org.id})")
    print(f"admin user:   {created.admin.name} ({created.admin.id})")
    print(f"admin token (shown once, keep it secret): {created.token.secret}")
    return 0


def _key_value(text: str) -> str:
    """KEY=VALUE of --spark-conf (argparse reports anything else as a usage error)."""
    key, sep, _ = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return text


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP API over the store until interrupted."""
    import uvicorn

    from workbench.service.app import create_app
    from workbench.store import Store

    if args.external_root:
        from workbench.store._store import EXTERNAL_ROOTS_ENV

        os.environ[EXTERNAL_ROOTS_ENV] = os.pathsep.join(str(p) for p in args.external_root)
    if args.external_database:
        from workbench.store._store import EXTERNAL_DATABASES_ENV

        os.environ[EXTERNAL_DATABASES_ENV] = ",".join(args.external_database)
    store = Store.open(args.store)
    from workbench.engine import open_engine

    conf = dict(item.split("=", 1) for item in args.spark_conf)
    engine = open_engine(args.engine, store, spark_master=args.spark_master, spark_conf=conf)
    # where each question ran and how long it took: the operator's log, never run metadata
    logging.getLogger("workbench.engine").setLevel(logging.INFO)
    app = create_app(store, engine)
    print(f"serving the store in {args.store} at http://{args.host}:{args.port} (API under /api/v1, "
          f"OpenAPI at /openapi.json); Ctrl-C stops", flush=True)
    from workbench.schedules import start_scheduler

    scheduler = start_scheduler(store, engine)  # one per store: only this process holds it
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    finally:
        scheduler.stop()
        engine.close()
        store.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Seed a demo store and run the service and the Voilà apps."""
    from workbench.demo import run_demo

    return run_demo(store_dir=args.store, host=args.host, port=args.port, voila_port=args.voila_port)


def build_parser() -> argparse.ArgumentParser:
    """The command line; ``workbench --help`` describes every command."""
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Clean Room Workbench: a Jupyter-native data clean room. "
        "Run `workbench init` once, then `workbench serve`; or `workbench demo` for everything.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create an encrypted store and its first organisation and admin",
                       description=cmd_init.__doc__)
    p.add_argument("--store", type=Path, default=DEFAULT_STORE, help="store folder (default: %(default)s)")
    p.add_argument("--org", default="My Organisation", help="name of the first organisation")
    p.add_argument("--admin", default="admin", help="name of its admin user")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", help="run the clean room service (HTTP JSON API with token auth)",
                       description=cmd_serve.__doc__)
    p.add_argument("--store", type=Path, default=DEFAULT_STORE, help="store folder (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=8765, help="port (default: %(default)s)")
    p.add_argument("--log-level", default="warning", help="uvicorn log level (default: %(default)s)")
    p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                   help="where questions run: duckdb (embedded) or spark (default: %(default)s)")
    p.add_argument("--spark-master", default="local[2]",
                   help="Spark master URL for --engine spark (default: %(default)s)")
    p.add_argument("--spark-conf", action="append", default=[], type=_key_value, metavar="KEY=VALUE",
                   help="a Spark setting for --engine spark (catalog, object store credentials "
                        "provider, executor memory); repeat for more")
    p.add_argument("--external-root", action="append", default=[],
                   help="a directory (or file:// URI) external (zero-copy) data connections may "
                        "read, or a URI prefix such as s3a://bucket/prefix that only --engine "
                        "spark reads; repeat for more")
    p.add_argument("--external-database", action="append", default=[],
                   help="a Spark catalog database (db or catalog.db) whose tables may be "
                        "registered as external connections (--engine spark); repeat for more")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="seed a demo publisher/advertiser room and run the service and Voilà apps",
                       description=cmd_demo.__doc__)
    p.add_argument("--store", type=Path, default=Path("demo-store"), help="demo store folder, reused on restart")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=8765, help="service port (default: %(default)s)")
    p.add_argument("--voila-port", type=int, default=8866, help="Voilà port (default: %(default)s)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    logging.basicConfig(level=logging.WARNING)
    args = build_parser().parse_args(argv)
    from workbench.wiring import wire

    wire()
    try:
        return args.func(args)
    except WorkbenchError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
