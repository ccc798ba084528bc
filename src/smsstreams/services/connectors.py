"""Carrier connectors and routes, as the operator configures them (CLI, operator API,
console).

Everything here works on a ``Connection`` in the caller's transaction. A connector's
password is stored as given, because the server needs it to bind, and it is never part of
what :func:`public` returns, so no CLI output, API answer or log line shows it.

A running server reads these tables about once a second
(``SMSSTREAMS_CONNECTOR_POLL_SECONDS``) and applies any change: new or re-enabled
connectors are bound, changed ones re-bound, removed or disabled ones unbound; route
changes apply to the next message claimed.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal, get_args

from sqlalchemy import Connection, delete, select, update

from smsstreams.channels.routing import (
    InvalidPrefix,
    RouteTable,
    display_prefix,
    normalize_prefix,
)
from smsstreams.db.models import connectors_table, route_connectors_table, routes_table
from smsstreams.domain.errors import ValidationFailed

from .errors import Conflict, NotFound

_c = connectors_table
_r = routes_table
_rc = route_connectors_table

BindType = Literal["transceiver", "transmitter", "receiver", "tx+rx"]
ConcatMethod = Literal["udh8", "udh16", "sar", "payload"]
IdFormat = Literal["auto", "hex", "decimal", "string"]
DefaultAlphabet = Literal["gsm7", "latin1", "ascii"]

BIND_TYPES: Final = get_args(BindType)
CONCAT_METHODS: Final = get_args(ConcatMethod)
ID_FORMATS: Final = get_args(IdFormat)
DEFAULT_ALPHABETS: Final = get_args(DefaultAlphabet)

#: "smpp:" + name must fit the 32-character channel columns.
MAX_NAME: Final = 27
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HOST_RE: Final = re.compile(r"^[A-Za-z0-9_.:%-]+$")


@dataclass(frozen=True, slots=True)
class ConnectorSettings:
    """What the operator sets for a connector; :meth:`validate` checks every field."""

    name: str
    host: str
    port: int
    system_id: str
    password: str
    tls: bool = False
    bind_type: BindType = "transceiver"
    system_type: str = ""
    window: int = 10
    max_per_second: float | None = None
    source_ton: int | None = None
    source_npi: int | None = None
    concat: ConcatMethod = "udh8"
    packed: bool = False
    id_format: IdFormat = "auto"
    receipt_id_format: IdFormat = "auto"
    default_alphabet: DefaultAlphabet = "gsm7"
    enabled: bool = True

    def validate(self) -> ConnectorSettings:
        def bad(name: str, message: str) -> ValidationFailed:
            return ValidationFailed("invalid_connector", message, name)

        if not (1 <= len(self.name) <= MAX_NAME and _NAME_RE.match(self.name)):
            raise bad(
                "name",
                f"name: 1-{MAX_NAME} letters, digits, '.', '_' or '-', starting with a "
                "letter or digit",
            )
        if not (1 <= len(self.host) <= 255 and _HOST_RE.match(self.host)):
            raise bad("host", "host: a host name or an IP address")
        if not 1 <= self.port <= 65535:
            raise bad("port", "port: 1-65535")
        _check_cstring(self.system_id, 15, "system_id", allow_empty=False)
        _check_cstring(self.password, 8, "password", allow_empty=True)
        _check_cstring(self.system_type, 12, "system_type", allow_empty=True)
        if self.bind_type not in BIND_TYPES:
            raise bad("bind_type", f"bind type: one of {', '.join(BIND_TYPES)}")
        if not 1 <= self.window <= 1000:
            raise bad("window", "window: 1-1000 outstanding requests")
        if self.max_per_second is not None and not 0 < self.max_per_second <= 100_000:
            raise bad("max_per_second", "max per second: more than 0, at most 100000")
        if self.source_ton is not None and not 0 <= self.source_ton <= 6:
            raise bad("source_ton", "source TON: 0-6")
        if self.source_npi is not None and self.source_npi not in (0, 1, 3, 4, 6, 8, 9, 10, 14, 18):
            raise bad("source_npi", "source NPI: one of 0, 1, 3, 4, 6, 8, 9, 10, 14, 18")
        if self.concat not in CONCAT_METHODS:
            raise bad("concat", f"concat: one of {', '.join(CONCAT_METHODS)}")
        for name in ("id_format", "receipt_id_format"):
            if getattr(self, name) not in ID_FORMATS:
                raise bad(name, f"{name.replace('_', ' ')}: one of {', '.join(ID_FORMATS)}")
        if self.default_alphabet not in DEFAULT_ALPHABETS:
            raise bad("default_alphabet", f"alphabet: one of {', '.join(DEFAULT_ALPHABETS)}")
        return self

    def row(self) -> dict[str, Any]:
        return asdict(self)


SETTING_NAMES: Final = tuple(f.name for f in fields(ConnectorSettings))


def _check_cstring(value: str, limit: int, name: str, *, allow_empty: bool) -> None:
    if not value and not allow_empty:
        raise ValidationFailed("invalid_connector", f"{name}: required", name)
    if len(value.encode("latin-1", "replace")) > limit or not value.isascii():
        raise ValidationFailed(
            "invalid_connector",
            f"{name}: at most {limit} ASCII characters (SMPP 3.4 limit)",
            name,
        )
    if not value.isprintable():  # a NUL would end the C-octet string; no database takes it
        raise ValidationFailed("invalid_connector", f"{name}: no control characters", name)


# ------------------------------------------------------------------------------- connectors


def _possible(name: str) -> bool:
    """Whether a connector could have this name (so that, e.g., a NUL never reaches SQL)."""
    return len(name) <= MAX_NAME and bool(_NAME_RE.match(name))


def _get(conn: Connection, name: str) -> Any:
    row = conn.execute(select(_c).where(_c.c.name == name)).first() if _possible(name) else None
    if row is None:
        raise NotFound(f"Connector {name!r}", "name")
    return row


def add_connector(conn: Connection, settings: ConnectorSettings, *, now: datetime) -> None:
    settings.validate()
    if conn.execute(select(_c.c.id).where(_c.c.name == settings.name)).first() is not None:
        raise Conflict("connector_exists", f"Connector {settings.name!r} already exists", "name")
    conn.execute(_c.insert().values(**settings.row(), created_at=now, updated_at=now))


def update_connector(
    conn: Connection, name: str, changes: dict[str, Any], *, now: datetime
) -> None:
    row = _get(conn, name)
    unknown = set(changes) - set(SETTING_NAMES) - {"name"}
    if unknown:
        raise ValidationFailed("invalid_connector", f"unknown settings: {sorted(unknown)}")
    current = settings_from_row(row)
    new = replace(current, **{k: v for k, v in changes.items() if k != "name"}).validate()
    conn.execute(update(_c).where(_c.c.id == row.id).values(**new.row(), updated_at=now))


def remove_connector(conn: Connection, name: str) -> None:
    row = _get(conn, name)
    prefixes = conn.scalars(
        select(_r.c.prefix)
        .join(_rc, _rc.c.route_id == _r.c.id)
        .where(_rc.c.connector_id == row.id)
        .order_by(_r.c.prefix)
    ).all()
    if prefixes:
        shown = ", ".join(display_prefix(p) for p in prefixes)
        raise Conflict(
            "connector_in_use",
            f"Connector {name!r} is used by route(s) {shown}; change or remove them first",
            "name",
        )
    conn.execute(delete(_c).where(_c.c.id == row.id))


def set_enabled(conn: Connection, name: str, enabled: bool, *, now: datetime) -> None:
    row = _get(conn, name)
    conn.execute(update(_c).where(_c.c.id == row.id).values(enabled=enabled, updated_at=now))


def settings_from_row(row: Any) -> ConnectorSettings:
    return ConnectorSettings(**{name: getattr(row, name) for name in SETTING_NAMES})


def load_connectors(conn: Connection) -> list[ConnectorSettings]:
    return [settings_from_row(r) for r in conn.execute(select(_c).order_by(_c.c.name))]


def live_state(row: Any, now: datetime) -> tuple[str, str | None]:
    """The connector's state as the process that binds it last wrote it.

    ``disabled``; ``unbound`` when no live server process holds it (its lease ran out or
    nobody took it yet); otherwise what the holder wrote: ``bound``, ``connecting`` or
    ``down``, with its last error.
    """
    if not row.enabled:
        return "disabled", None
    if row.lease_until is None or row.lease_until < now or row.live_state is None:
        return "unbound", row.live_error if row.live_state else None
    return row.live_state, row.live_error


def public(row: Any, now: datetime, routes: list[str] | None = None) -> dict[str, Any]:
    """A connector as the operator sees it: settings (never the password) and live state."""
    state, error = live_state(row, now)
    out: dict[str, Any] = {name: getattr(row, name) for name in SETTING_NAMES if name != "password"}
    out["password_set"] = bool(row.password)
    out["state"] = state
    out["last_error"] = error
    out["stats"] = row.live_stats or {}
    out["held_by"] = row.lease_owner if state not in ("disabled", "unbound") else None
    out["state_at"] = row.live_at.isoformat() if row.live_at else None
    if routes is not None:
        out["routes"] = routes
    return out


def list_connectors(
    conn: Connection, *, now: datetime, name: str | None = None
) -> list[dict[str, Any]]:
    """Every connector (or the one named) as :func:`public` shows it, with its routes."""
    query = select(_c).order_by(_c.c.name)
    routes = (
        select(_r.c.prefix, _rc.c.connector_id)
        .join(_rc, _rc.c.route_id == _r.c.id)
        .order_by(_r.c.prefix)
    )
    if name is not None:
        if not _possible(name):
            return []
        query = query.where(_c.c.name == name)
        routes = routes.join(_c, _c.c.id == _rc.c.connector_id).where(_c.c.name == name)
    rows = conn.execute(query).all()
    by_connector: dict[int, list[str]] = {}
    for prefix, connector_id in conn.execute(routes):
        by_connector.setdefault(connector_id, []).append(display_prefix(prefix))
    return [public(r, now, by_connector.get(r.id, [])) for r in rows]


def get_connector(conn: Connection, name: str, *, now: datetime) -> dict[str, Any]:
    found = list_connectors(conn, now=now, name=name)
    if not found:
        raise NotFound(f"Connector {name!r}", "name")
    return found[0]


# ----------------------------------------------------------------------------------- routes


def _route_key(prefix: str) -> str:
    try:
        return normalize_prefix(prefix)
    except InvalidPrefix as exc:
        raise ValidationFailed("invalid_prefix", str(exc), "prefix") from None


def shown_prefix(prefix: str) -> str:
    """A prefix as routes show it: ``"44 20"`` -> ``"+4420"``, ``""`` -> ``"+"``."""
    return display_prefix(_route_key(prefix))


def set_route(conn: Connection, prefix: str, connectors: list[str], *, now: datetime) -> bool:
    """Route ``prefix`` to ``connectors`` (in failover order); True when it replaced a rule."""
    key = _route_key(prefix)
    if not connectors:
        raise ValidationFailed("invalid_route", "name at least one connector", "connectors")
    if len(set(connectors)) != len(connectors):
        raise ValidationFailed("invalid_route", "a connector is named twice", "connectors")
    wanted = [n for n in connectors if _possible(n)]
    ids = dict(conn.execute(select(_c.c.name, _c.c.id).where(_c.c.name.in_(wanted))).all())
    missing = [n for n in connectors if n not in ids]
    if missing:
        raise NotFound(f"Connector {missing[0]!r}", "connectors")
    existing = conn.scalar(select(_r.c.id).where(_r.c.prefix == key))
    replaced = existing is not None
    if existing is None:
        existing = conn.execute(
            _r.insert().values(prefix=key, created_at=now).returning(_r.c.id)
        ).scalar_one()
    else:
        conn.execute(delete(_rc).where(_rc.c.route_id == existing))
    conn.execute(
        _rc.insert(),
        [
            {"route_id": existing, "position": i, "connector_id": ids[name]}
            for i, name in enumerate(connectors)
        ],
    )
    return replaced


def remove_route(conn: Connection, prefix: str) -> None:
    key = _route_key(prefix)
    done = conn.execute(delete(_r).where(_r.c.prefix == key))
    if not done.rowcount:
        raise NotFound(f"Route {display_prefix(key)}", "prefix")


def load_routes(conn: Connection) -> RouteTable:
    chains: dict[str, list[tuple[int, str]]] = {}
    for prefix, position, name in conn.execute(
        select(_r.c.prefix, _rc.c.position, _c.c.name)
        .join(_rc, _rc.c.route_id == _r.c.id)
        .join(_c, _c.c.id == _rc.c.connector_id)
    ):
        chains.setdefault(prefix, []).append((position, name))
    return RouteTable({p: [n for _, n in sorted(chain)] for p, chain in chains.items()})


def list_routes(conn: Connection) -> list[dict[str, Any]]:
    return [
        {"prefix": display_prefix(prefix), "connectors": list(names)}
        for prefix, names in load_routes(conn).items()
    ]


@dataclass(frozen=True, slots=True)
class CarrierConfig:
    """What a server needs to know, read in one go: connectors and the routing table."""

    connectors: tuple[ConnectorSettings, ...] = ()
    routes: RouteTable = field(default_factory=lambda: RouteTable({}))


def load_config(conn: Connection) -> CarrierConfig:
    return CarrierConfig(tuple(load_connectors(conn)), load_routes(conn))


# ------------------------------------------------------------------------------------ leases


def take_lease(
    conn: Connection,
    name: str,
    owner: str,
    *,
    now: datetime,
    lease: timedelta,
    state: str | None = None,
    error: str | None = None,
    stats: dict[str, Any] | None = None,
) -> bool:
    """Take or renew ``owner``'s lease on an enabled connector; False when another live
    process holds it. The live state is written in the same statement."""
    values: dict[str, Any] = {"lease_owner": owner, "lease_until": now + lease, "live_at": now}
    if state is not None:
        values.update(live_state=state, live_error=error, live_stats=stats)
    done = conn.execute(
        update(_c)
        .where(
            _c.c.name == name,
            _c.c.enabled.is_(True),
            (_c.c.lease_owner == owner) | _c.c.lease_owner.is_(None) | (_c.c.lease_until < now),
        )
        .values(**values)
    )
    return bool(done.rowcount)


def release_lease(
    conn: Connection, name: str, owner: str, *, now: datetime, error: str | None = None
) -> None:
    conn.execute(
        update(_c)
        .where(_c.c.name == name, _c.c.lease_owner == owner)
        .values(
            lease_owner=None,
            lease_until=None,
            live_state="down",
            live_error=error,
            live_at=now,
        )
    )


def held_elsewhere(conn: Connection, owner: str, *, now: datetime) -> set[str]:
    """Enabled connectors that another live process holds."""
    return set(
        conn.scalars(
            select(_c.c.name).where(
                _c.c.enabled.is_(True),
                _c.c.lease_owner.is_not(None),
                _c.c.lease_owner != owner,
                _c.c.lease_until >= now,
            )
        )
    )
