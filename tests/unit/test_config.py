"""Settings from the environment and a config file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smsstreams.config import ConfigError, Settings, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("SMSSTREAMS_"):
            monkeypatch.delenv(key)
    s = load_settings()
    assert (s.host, s.port) == ("127.0.0.1", 8000)
    assert s.resolved_database_url().startswith(
        "sqlite:///"
    ) and s.resolved_database_url().endswith("data/smsstreams.db")


def test_env_beats_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "c.env"
    config.write_text("SMSSTREAMS_PORT=9001\nmax_segments = 4\nLOG_LEVEL='debug'\n")
    monkeypatch.setenv("SMSSTREAMS_CONFIG", str(config))
    monkeypatch.setenv("SMSSTREAMS_PORT", "9002")
    s = load_settings()
    assert (s.port, s.max_segments, s.log_level) == (9002, 4, "debug")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SMSSTREAMS_PORT", "70000"),
        ("SMSSTREAMS_LOG_LEVEL", "loud"),
        ("SMSSTREAMS_DATABASE_URL", "mysql://x"),
        ("SMSSTREAMS_TRUST_PROXY_HEADERS", "perhaps"),
        ("SMSSTREAMS_TRUSTED_PROXIES", "127.0.0.1,garbage"),
    ],
)
def test_bad_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_delay_range_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMSSTREAMS_DEMO_RECEIPT_DELAY_MIN", "3")
    monkeypatch.setenv("SMSSTREAMS_DEMO_RECEIPT_DELAY_MAX", "1")
    with pytest.raises(ConfigError, match="DELAY_MAX"):
        load_settings()


def test_bad_file_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "c.env"
    config.write_text("just words\n")
    monkeypatch.setenv("SMSSTREAMS_CONFIG", str(config))
    with pytest.raises(ConfigError, match="KEY=value"):
        load_settings()


def test_readme_configuration_table_matches_the_defaults() -> None:
    """The README's table states each setting's default: it must be the code's."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = re.findall(r"^\| `SMSSTREAMS_([A-Z_]+)`[^|]* \| `([^`]+)`", readme, re.M)
    assert len(rows) >= 20, "the configuration table was not found"
    fields = Settings.model_fields
    for name, shown in rows:
        default = fields[name.lower()].default
        if isinstance(default, bool):
            same = shown == str(default).lower()
        elif isinstance(default, int | float):
            same = float(shown) == float(default)
        else:
            same = shown == str(default)
        assert same, f"README says SMSSTREAMS_{name} defaults to {shown!r}, not {default!r}"
