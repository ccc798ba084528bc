"""The command line as an operator uses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import Server


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SMSSTREAMS_")}
    return subprocess.run(
        [sys.executable, "-m", "smsstreams.cli", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args", [(), ("serve",), ("migrate",), ("account",), ("account", "create")]
)
def test_every_command_has_help(args: tuple[str, ...]) -> None:
    out = _run(*args, "--help")
    assert out.returncode == 0 and "usage:" in out.stdout


def test_account_create_json_and_text(database_url: str, tmp_path: Path) -> None:
    server = Server(database_url, tmp_path / "data")
    created = server.cli(
        "account",
        "create",
        "--name",
        "Acme",
        "--email",
        "a@acme.test",
        "--password",
        "s3cret-pass",
        "--json",
    )
    data = json.loads(created.stdout)
    assert set(data) == {"account_id", "api_key", "operator"}
    assert data["api_key"].startswith("ssk_") and data["operator"] is False
    again = server.cli(
        "account",
        "create",
        "--name",
        "Acme",
        "--email",
        "A@acme.test",
        "--password",
        "s3cret-pass",
        check=False,
    )
    assert (
        again.returncode == 1
        and "already exists" in again.stderr
        and "Traceback" not in again.stderr
    )
    weak = server.cli(
        "account",
        "create",
        "--name",
        "B",
        "--email",
        "b@acme.test",
        "--password",
        "short",
        check=False,
    )
    assert weak.returncode == 1 and "password" in weak.stderr
    text = server.cli(
        "account", "create", "--name", "C", "--email", "c@acme.test", "--password", "s3cret-pass"
    )
    assert "shown once" in text.stdout and "ssk_" in text.stdout


def test_api_key_is_stored_only_as_hash(database_url: str, tmp_path: Path) -> None:
    from sqlalchemy import select

    from smsstreams.db.engine import make_engine
    from smsstreams.db.models import ApiKey, User

    server = Server(database_url, tmp_path / "data")
    key = json.loads(
        server.cli(
            "account",
            "create",
            "--name",
            "A",
            "--email",
            "h@x.test",
            "--password",
            "pass-word1",
            "--json",
        ).stdout
    )["api_key"]
    engine = make_engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(select(ApiKey.key_hash, ApiKey.prefix)).one()
        password_hash = conn.scalar(select(User.password_hash))
    engine.dispose()
    assert key not in row.key_hash and len(row.key_hash) == 64 and key.startswith(row.prefix)
    assert password_hash.startswith("$argon2")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SMSSTREAMS_PORT", "eighty"),
        ("SMSSTREAMS_DATABASE_URL", "mysql://nope"),
        ("SMSSTREAMS_DEMO_UNDELIVERED_RATE", "2"),
        ("SMSSTREAMS_MAX_SEGMENTS", "0"),
    ],
)
def test_bad_setting_stops_start_up_naming_it(name: str, value: str, tmp_path: Path) -> None:
    out = _run("serve", env={name: value, "SMSSTREAMS_DATA_DIR": str(tmp_path)})
    assert out.returncode == 2
    assert name in out.stderr and "Traceback" not in out.stderr


def test_config_file_and_unreachable_database(tmp_path: Path) -> None:
    config = tmp_path / "smsstreams.env"
    config.write_text("# comment\nSMSSTREAMS_PORT=notaport\n")
    out = _run(
        "migrate", env={"SMSSTREAMS_CONFIG": str(config), "SMSSTREAMS_DATA_DIR": str(tmp_path)}
    )
    assert out.returncode == 2 and "SMSSTREAMS_PORT" in out.stderr
    out = _run("migrate", env={"SMSSTREAMS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert out.returncode == 2 and "SMSSTREAMS_DATABASE_URL" in out.stderr
    assert "Traceback" not in out.stderr


def test_serve_prints_docs_url_and_stops_on_ctrl_c(database_url: str, tmp_path: Path) -> None:
    server = Server(database_url, tmp_path / "data").start()
    server.stop()  # SIGINT, like Ctrl-C
    assert server.process is not None and server.process.returncode == 0
    log = server.log()
    assert f"{server.url}/docs" in log and "Traceback" not in log
