"""Command line: ``smsstreams serve | migrate | account | operator | inbound | connector |
route | smsc-sim``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from smsstreams.config import ConfigError, Settings, load_settings
from smsstreams.domain.errors import DomainError

if TYPE_CHECKING:
    from sqlalchemy import Engine


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        print(f"smsstreams: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _migrate(settings: Settings) -> None:
    from smsstreams.db import migrate
    from smsstreams.db.engine import make_engine

    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
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

    from smsstreams.api.fastpath import SendFastPath
    from smsstreams.app import create_app

    settings = _settings(host=args.host, port=args.port)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _migrate(settings)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    base = f"http://{host}:{settings.port}"
    print(f"smsstreams is running on {base}", flush=True)
    print(f"  API docs:  {base}/docs", flush=True)
    print(f"  database:  {settings.resolved_database_url()}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    uvicorn.run(
        SendFastPath(create_app(settings)),
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
    _migrate(settings)
    print("migrations applied")
    return 0


def cmd_account_create(args: argparse.Namespace) -> int:
    from smsstreams.db.engine import make_engine, make_sessionmaker
    from smsstreams.services.accounts import create_account

    settings = _settings()
    _migrate(settings)
    engine = make_engine(settings.resolved_database_url())
    try:
        with make_sessionmaker(engine)() as db, db.begin():
            created = create_account(
                db,
                name=args.name,
                email=args.email,
                password=args.password,
                operator=args.operator,
            )
            account_id, key = created.account.id, created.api_key
    except DomainError as exc:
        print(f"smsstreams: {exc.field or 'error'}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({"account_id": account_id, "api_key": key, "operator": args.operator}))
    else:
        role = " (operator)" if args.operator else ""
        print(f"Account {args.name!r} created (id {account_id}), user {args.email}{role}.")
        print(f"API key (shown once, store it now): {key}")
    return 0


@contextmanager
def _database() -> Iterator[Engine]:
    """The configured (migrated) database's engine, disposed of at the end; a domain error
    inside becomes a message on stderr and exit status 1."""
    from smsstreams.db.engine import make_engine

    settings = _settings()
    _migrate(settings)
    engine = make_engine(settings.resolved_database_url())
    try:
        yield engine
    except DomainError as exc:
        print(f"smsstreams: {exc.message}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        engine.dispose()


def _in_session(fn: Callable[[Any], Any]) -> Any:
    """Run ``fn(session)`` in one transaction (see :func:`_database`)."""
    from smsstreams.db.engine import make_sessionmaker

    with _database() as engine, make_sessionmaker(engine)() as db, db.begin():
        return fn(db)


def _in_transaction(fn: Callable[[Any], Any]) -> Any:
    """Run ``fn(connection)`` in one transaction (see :func:`_database`)."""
    with _database() as engine, engine.begin() as conn:
        return fn(conn)


def cmd_operator_grant(args: argparse.Namespace) -> int:
    from smsstreams.services.accounts import set_operator

    grant = args.operator_command == "grant"
    changed: bool = _in_session(lambda db: set_operator(db, args.email, grant))
    if grant and changed:
        message = f"{args.email} is now an operator: the console shows them Carriers."
    elif grant:
        message = f"{args.email} is already an operator."
    elif changed:
        message = f"{args.email} is no longer an operator."
    else:
        message = f"{args.email} was not an operator."
    print(message)
    return 0


def cmd_operator_list(args: argparse.Namespace) -> int:
    from smsstreams.services.accounts import list_operators

    emails: list[str] = _in_session(list_operators)
    if args.json:
        print(json.dumps(emails))
    elif not emails:
        print("No operators. Name one with 'smsstreams operator grant EMAIL'.")
    else:
        print("\n".join(emails))
    return 0


def cmd_inbound_unrouted(args: argparse.Namespace) -> int:
    from smsstreams.services.inbound import list_unrouted

    rows = _in_transaction(lambda conn: list_unrouted(conn, limit=args.limit))
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("No unrouted inbound messages.")
    for row in rows:
        print(f"{row['received_at']}  {row['from']} -> {row['to']}: {row['text']}")
    return 0


_CONNECTOR_OPTIONS = (
    "host",
    "port",
    "system_id",
    "password",
    "tls",
    "bind_type",
    "system_type",
    "window",
    "max_per_second",
    "source_ton",
    "source_npi",
    "concat",
    "packed",
    "id_format",
    "receipt_id_format",
    "default_alphabet",
)


def _connector_changes(args: argparse.Namespace) -> dict[str, Any]:
    return {k: getattr(args, k) for k in _CONNECTOR_OPTIONS if getattr(args, k) is not None}


def cmd_connector_add(args: argparse.Namespace) -> int:
    from smsstreams.db.types import utcnow
    from smsstreams.services import connectors

    changes = _connector_changes(args)
    settings = connectors.ConnectorSettings(name=args.name, enabled=not args.disabled, **changes)
    _in_transaction(lambda conn: connectors.add_connector(conn, settings, now=utcnow()))
    print(
        f"Connector {settings.name!r} added: {settings.host}:{settings.port}"
        f"{' (TLS)' if settings.tls else ''}, {settings.bind_type}, system_id "
        f"{settings.system_id!r}, window {settings.window}"
        f"{'' if settings.enabled else ', disabled'}. A running server binds it within a few "
        "seconds; route traffic to it with 'smsstreams route add'."
    )
    return 0


def cmd_connector_update(args: argparse.Namespace) -> int:
    from smsstreams.db.types import utcnow
    from smsstreams.services import connectors

    changes = _connector_changes(args)
    if not changes:
        print("smsstreams: nothing to change (give at least one option)", file=sys.stderr)
        return 2
    _in_transaction(
        lambda conn: connectors.update_connector(conn, args.name, changes, now=utcnow())
    )
    shown = ", ".join(sorted(k.replace("_", "-") for k in changes))
    print(f"Connector {args.name!r} updated ({shown}); a running server re-binds it.")
    return 0


def cmd_connector_list(args: argparse.Namespace) -> int:
    from smsstreams.db.types import utcnow
    from smsstreams.services import connectors

    rows: list[dict[str, Any]] = _in_transaction(
        lambda conn: connectors.list_connectors(conn, now=utcnow())
    )
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("No connectors. Add one with 'smsstreams connector add NAME --host ...'.")
        return 0
    header = ("NAME", "STATE", "ENDPOINT", "BIND", "WINDOW", "MSG/S", "ACCEPTED", "ERRORS")
    table = [header]
    for row in rows:
        stats = row["stats"]
        table.append(
            (
                row["name"],
                row["state"],
                f"{row['host']}:{row['port']}{' tls' if row['tls'] else ''}",
                row["bind_type"],
                str(row["window"]),
                str(stats.get("submit_per_second", "-")),
                str(stats.get("accepted", "-")),
                str(stats.get("errors", "-")),
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    for row in rows:
        routes = ", ".join(row.get("routes") or []) or "no route"
        line = f"{row['name']}: routes {routes}"
        if row["last_error"]:
            line += f"; last error: {row['last_error']}"
        print(line)
    return 0


def cmd_connector_remove(args: argparse.Namespace) -> int:
    from smsstreams.services import connectors

    _in_transaction(lambda conn: connectors.remove_connector(conn, args.name))
    print(f"Connector {args.name!r} removed; a running server unbinds it.")
    return 0


def cmd_connector_enable(args: argparse.Namespace) -> int:
    from smsstreams.db.types import utcnow
    from smsstreams.services import connectors

    enabled = args.connector_command == "enable"
    _in_transaction(lambda conn: connectors.set_enabled(conn, args.name, enabled, now=utcnow()))
    print(f"Connector {args.name!r} {'enabled' if enabled else 'disabled'}.")
    return 0


def cmd_route_add(args: argparse.Namespace) -> int:
    from smsstreams.channels.routing import display_prefix, normalize_prefix
    from smsstreams.db.types import utcnow
    from smsstreams.services import connectors

    replaced = _in_transaction(
        lambda conn: connectors.set_route(conn, args.prefix, args.connectors, now=utcnow())
    )
    prefix = display_prefix(normalize_prefix(args.prefix))
    what = "every destination" if prefix == "+" else f"destinations {prefix}..."
    print(
        f"Route {prefix} {'replaced' if replaced else 'added'}: {what} -> "
        f"{' -> '.join(args.connectors)}"
    )
    return 0


def cmd_route_list(args: argparse.Namespace) -> int:
    from smsstreams.services import connectors

    rows: list[dict[str, Any]] = _in_transaction(connectors.list_routes)
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("No routes: messages of non-demo streams end as no_routes.")
    for row in rows:
        print(f"{row['prefix']:<17} {' -> '.join(row['connectors'])}")
    return 0


def cmd_route_remove(args: argparse.Namespace) -> int:
    from smsstreams.services import connectors

    _in_transaction(lambda conn: connectors.remove_route(conn, args.prefix))
    print(f"Route {args.prefix} removed.")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from smsstreams.workers.process import SETTINGS_ENV, run_child

    if SETTINGS_ENV not in os.environ:
        print(
            "smsstreams: 'worker' is started by 'serve' (SMSSTREAMS_WORKER_PROCESS=true)",
            file=sys.stderr,
        )
        return 2
    return run_child(args.wake_fd)


def cmd_smsc_sim(args: argparse.Namespace) -> int:  # reached only via build_parser()
    from smsstreams.smpp import smsc_sim

    smsc_sim.main(args.sim_args)
    return 0


def _connector_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--host", required=required, help="the SMSC's host name or address")
    parser.add_argument("--port", type=int, required=required, help="the SMSC's port")
    parser.add_argument("--system-id", required=required, help="bind system_id (up to 15)")
    parser.add_argument(
        "--password", required=required, help="bind password (up to 8; never shown back)"
    )
    parser.add_argument(
        "--tls",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="TLS to the SMSC (CA file: SMSSTREAMS_SMPP_TLS_CA_FILE)",
    )
    parser.add_argument(
        "--bind",
        dest="bind_type",
        choices=("transceiver", "transmitter", "receiver", "tx+rx"),
        help="bind type (default transceiver; tx+rx: separate transmitter and receiver binds)",
    )
    parser.add_argument("--system-type", help="bind system_type (up to 12)")
    parser.add_argument("--window", type=int, help="outstanding requests (default 10)")
    parser.add_argument("--max-per-second", type=float, help="throughput limit, messages/s")
    parser.add_argument("--source-ton", type=int, help="source TON (default: from the sender)")
    parser.add_argument("--source-npi", type=int, help="source NPI (default: from the sender)")
    parser.add_argument(
        "--concat",
        choices=("udh8", "udh16", "sar", "payload"),
        help="long messages: UDH with 8/16-bit reference, SAR TLVs, or message_payload",
    )
    parser.add_argument(
        "--packed",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="GSM-7 packed 7 bits per character (default: one septet per octet)",
    )
    parser.add_argument(
        "--id-format",
        choices=("auto", "hex", "decimal", "string"),
        help="how the carrier writes message ids in submit_sm_resp and receipted_message_id",
    )
    parser.add_argument(
        "--receipt-id-format",
        choices=("auto", "hex", "decimal", "string"),
        help="how the carrier writes the id: field of the receipt text",
    )
    parser.add_argument(
        "--default-alphabet",
        choices=("gsm7", "latin1", "ascii"),
        help="what data_coding 0 means in received messages (default gsm7)",
    )


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
    create.add_argument(
        "--operator",
        action="store_true",
        help="make the first user an operator (sees and changes carriers in the console)",
    )
    create.add_argument(
        "--json", action="store_true", help="print {account_id, api_key, operator} as JSON"
    )
    create.set_defaults(func=cmd_account_create)

    operator = sub.add_parser(
        "operator",
        help="console users who see and change the carrier connectors",
        description="Operators see Carriers in the console: every connector's live state, "
        "enable/disable, add and remove. Changes apply at the user's next page load.",
    )
    operator_sub = operator.add_subparsers(dest="operator_command", required=True)
    for name, text in (
        ("grant", "make a console user an operator"),
        ("revoke", "take the operator role away from a console user"),
    ):
        cmd = operator_sub.add_parser(name, help=text, description=text)
        cmd.add_argument("email", help="the user's email (as they sign in)")
        cmd.set_defaults(func=cmd_operator_grant)
    olist = operator_sub.add_parser("list", help="the operators' emails")
    olist.add_argument("--json", action="store_true", help="print a JSON list")
    olist.set_defaults(func=cmd_operator_list)

    inbound = sub.add_parser("inbound", help="inbound (MO) messages, for the operator")
    inbound_sub = inbound.add_subparsers(dest="inbound_command", required=True)
    unrouted = inbound_sub.add_parser(
        "unrouted", help="messages from phones that no stream could take, newest first"
    )
    unrouted.add_argument("--limit", type=int, default=100)
    unrouted.add_argument("--json", action="store_true", help="print a JSON list")
    unrouted.set_defaults(func=cmd_inbound_unrouted)

    connector = sub.add_parser("connector", help="carrier connections (SMPP), for the operator")
    connector_sub = connector.add_subparsers(dest="connector_command", required=True)
    add = connector_sub.add_parser("add", help="add an SMPP connector")
    add.add_argument("name", help="a short name: letters, digits, '.', '_', '-' (up to 27)")
    _connector_options(add, required=True)
    add.add_argument("--disabled", action="store_true", help="add it disabled")
    add.set_defaults(func=cmd_connector_add)
    upd = connector_sub.add_parser("update", help="change settings of a connector")
    upd.add_argument("name")
    _connector_options(upd, required=False)
    upd.set_defaults(func=cmd_connector_update)
    lst = connector_sub.add_parser("list", help="connectors with their live state")
    lst.add_argument("--json", action="store_true", help="print a JSON list")
    lst.set_defaults(func=cmd_connector_list)
    for name, func, text in (
        ("remove", cmd_connector_remove, "remove a connector (no route may use it)"),
        ("enable", cmd_connector_enable, "enable a connector"),
        ("disable", cmd_connector_enable, "disable a connector (a running server unbinds it)"),
    ):
        cmd = connector_sub.add_parser(name, help=text)
        cmd.add_argument("name")
        cmd.set_defaults(func=func)

    route = sub.add_parser("route", help="routing rules: destination prefix -> connectors")
    route_sub = route.add_subparsers(dest="route_command", required=True)
    radd = route_sub.add_parser(
        "add", help="route a prefix to connectors, tried in order (replaces the prefix's rule)"
    )
    radd.add_argument("prefix", help="E.164 prefix such as +44; '+' or '' for every destination")
    radd.add_argument("connectors", nargs="+", metavar="CONNECTOR")
    radd.set_defaults(func=cmd_route_add)
    rlist = route_sub.add_parser("list", help="routing rules")
    rlist.add_argument("--json", action="store_true", help="print a JSON list")
    rlist.set_defaults(func=cmd_route_list)
    rremove = route_sub.add_parser("remove", help="remove a prefix's rule")
    rremove.add_argument("prefix")
    rremove.set_defaults(func=cmd_route_remove)

    sim = sub.add_parser(
        "smsc-sim",
        help="run the SMSC simulator (an SMPP server for development); --help for its options",
        add_help=False,
    )
    sim.add_argument("sim_args", nargs=argparse.REMAINDER)
    sim.set_defaults(func=cmd_smsc_sim)

    # started by `serve` with SMSSTREAMS_WORKER_PROCESS=true, never by hand (no help line)
    worker = sub.add_parser(
        "worker", help="internal: the worker process serve starts (SMSSTREAMS_WORKER_PROCESS)"
    )
    worker.add_argument("--wake-fd", type=int, required=True)
    worker.set_defaults(func=cmd_worker)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["smsc-sim"]:  # its own parser takes every option that follows
        from smsstreams.smpp import smsc_sim

        smsc_sim.main(argv[1:])
        return 0
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
