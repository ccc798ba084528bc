"""Command line: ``smsstreams serve | migrate | account create``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from smsstreams.config import ConfigError, Settings, load_settings
from smsstreams.domain.errors import DomainError


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        print(f"smsstreams: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _migrate(settings: Settings) -> None:
    from smsstreams.db import migrate
    from smsstreams.db.engine import make_engine

    engine = make_engine(settings.resolved_database_url())
    try:
        migrate.upgrade(engine)
    except Exception as exc:
        print(
            f"smsstreams: cannot migrate {engine.url.render_as_string(hide_password=True)}: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}\n"
            "Check SMSSTREAMS_DATABASE_URL.",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    finally:
        engine.dispose()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from smsstreams.app import create_app

    settings = _settings(host=args.host, port=args.port)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    _migrate(settings)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    base = f"http://{host}:{settings.port}"
    print(f"smsstreams is running on {base}", flush=True)
    print(f"  API docs:  {base}/docs", flush=True)
    print(f"  database:  {settings.resolved_database_url()}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.access_log,
        loop="uvloop",
        http="httptools",
        # Client IPs feed the allowlist: forwarded headers are read by our own code, and only
        # when SMSSTREAMS_TRUST_PROXY_HEADERS is set (uvicorn would trust them from 127.0.0.1).
        proxy_headers=False,
        server_header=False,
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    _migrate(settings)
    print("migrations applied")
    return 0


def cmd_account_create(args: argparse.Namespace) -> int:
    from smsstreams.db.engine import make_engine, make_sessionmaker
    from smsstreams.services.accounts import create_account

    settings = _settings()
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    _migrate(settings)
    engine = make_engine(settings.resolved_database_url())
    try:
        with make_sessionmaker(engine)() as db, db.begin():
            created = create_account(db, name=args.name, email=args.email, password=args.password)
            account_id, key = created.account.id, created.api_key
    except DomainError as exc:
        print(f"smsstreams: {exc.field or 'error'}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({"account_id": account_id, "api_key": key}))
    else:
        print(f"Account {args.name!r} created (id {account_id}), user {args.email}.")
        print(f"API key (shown once, store it now): {key}")
    return 0


def cmd_inbound_unrouted(args: argparse.Namespace) -> int:
    from smsstreams.db.engine import make_engine
    from smsstreams.services.inbound import list_unrouted

    settings = _settings()
    _migrate(settings)
    engine = make_engine(settings.resolved_database_url())
    try:
        with engine.connect() as conn:
            rows = list_unrouted(conn, limit=args.limit)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("No unrouted inbound messages.")
    for row in rows:
        print(f"{row['received_at']}  {row['from']} -> {row['to']}: {row['text']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smsstreams",
        description="Self-hostable SMS platform. Settings come from SMSSTREAMS_* variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="apply migrations and run the server and workers")
    serve.add_argument("--host", help="listen address (SMSSTREAMS_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (SMSSTREAMS_PORT, default 8000)")
    serve.set_defaults(func=cmd_serve)

    mig = sub.add_parser("migrate", help="apply database migrations and exit")
    mig.set_defaults(func=cmd_migrate)

    account = sub.add_parser("account", help="manage accounts")
    account_sub = account.add_subparsers(dest="account_command", required=True)
    create = account_sub.add_parser(
        "create", help="create an account, its first user and an API key"
    )
    create.add_argument("--name", required=True, help="account (company) name")
    create.add_argument("--email", required=True, help="email of the first user")
    create.add_argument("--password", required=True, help="password of the first user (8+ chars)")
    create.add_argument("--json", action="store_true", help="print {account_id, api_key} as JSON")
    create.set_defaults(func=cmd_account_create)

    inbound = sub.add_parser("inbound", help="inbound (MO) messages, for the operator")
    inbound_sub = inbound.add_subparsers(dest="inbound_command", required=True)
    unrouted = inbound_sub.add_parser(
        "unrouted", help="messages from phones that no stream could take, newest first"
    )
    unrouted.add_argument("--limit", type=int, default=100)
    unrouted.add_argument("--json", action="store_true", help="print a JSON list")
    unrouted.set_defaults(func=cmd_inbound_unrouted)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
