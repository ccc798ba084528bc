"""Fixtures shared by every suite.

``database_url`` is parametrized over SQLite and PostgreSQL, so each test that uses it runs
on both. PostgreSQL comes from ``SMSSTREAMS_TEST_POSTGRES_URL`` (default
postgresql://postgres@127.0.0.1:5432/test); each test gets its own throwaway database.
When PostgreSQL is unreachable those tests are skipped with a loud reason, except under
CI=true, where that is an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import postgres_available, postgres_database, sqlite_url
from tests.support.server import Server

_pg_problem: str | None = None
_pg_checked = False


def _postgres_problem() -> str | None:
    global _pg_checked, _pg_problem
    if not _pg_checked:
        _pg_problem = postgres_available()
        _pg_checked = True
    return _pg_problem


def pytest_report_header(config: pytest.Config) -> str:
    problem = _postgres_problem()
    if problem:
        return f"PostgreSQL: NOT REACHABLE ({problem}) -- PostgreSQL tests will be skipped"
    return "PostgreSQL: reachable, tests run on SQLite and PostgreSQL"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    problem = _postgres_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    with postgres_database() as url:
        yield url


@pytest.fixture
def server_factory(database_url: str, tmp_path: Path) -> Iterator[type[Server]]:
    started: list[Server] = []

    class _Factory(Server):
        def __init__(self, env: dict[str, str] | None = None, port: int = 0) -> None:
            super().__init__(database_url, tmp_path / "data", env or {}, port)
            started.append(self)

    yield _Factory
    for server in started:
        server.kill()


@pytest.fixture
def server(server_factory: type[Server]) -> Server:
    return server_factory().start()


def _module_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("live")
    if request.param == "sqlite":
        server = Server(sqlite_url(directory), directory / "data", env or {}).start()
        yield server
        server.stop()
        return
    problem = _postgres_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    with postgres_database() as url:
        server = Server(url, directory / "data", env or {}).start()
        yield server
        server.stop()


BOTH_DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BOTH_DATABASES)
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One server per test module and database; tests make their own accounts."""
    yield from _module_server(request, tmp_path_factory)


#: Settings for tests with webhook receivers on 127.0.0.1.
WEBHOOK_ENV = {
    "SMSSTREAMS_WEBHOOK_ALLOW_PRIVATE": "true",
    "SMSSTREAMS_WEBHOOK_RETRY_BASE_SECONDS": "0.1",
    "SMSSTREAMS_WEBHOOK_RETRY_CAP_SECONDS": "0.5",
    "SMSSTREAMS_WEBHOOK_TIMEOUT_SECONDS": "2",
}


@pytest.fixture(scope="module", params=BOTH_DATABASES)
def webhook_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A module's server that may call webhooks on 127.0.0.1, with quick retries."""
    yield from _module_server(request, tmp_path_factory, WEBHOOK_ENV)
