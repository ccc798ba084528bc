"""Settings: the only reader of the environment.

Every setting comes from an environment variable with the ``SMSSTREAMS_`` prefix
(``SMSSTREAMS_PORT=9000``) or from a config file named by ``SMSSTREAMS_CONFIG``
(``KEY=value`` lines, the same names with or without the prefix). The environment wins
over the file. A wrong value raises :class:`ConfigError` naming the setting.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "SMSSTREAMS_"


class ConfigError(Exception):
    """A setting has a value the server cannot start with."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    data_dir: Path = Path("data")
    database_url: str = ""
    base_url: str = ""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = False
    secret_key: str = ""
    public_signup: bool = True

    # Send API
    max_segments: int = Field(10, ge=1, le=255)
    max_batch: int = Field(1000, ge=1, le=10000)
    trust_proxy_headers: bool = False
    trusted_proxies: str = "127.0.0.1,::1"
    validity_seconds: int = Field(48 * 3600, ge=1)
    token_cache_seconds: float = Field(2.0, ge=0)

    # Workers
    run_workers: bool = True
    #: Dispatcher, carrier connectors and webhook worker in a second process (the HTTP side
    #: and the Send writer stay in the first): two cores instead of one GIL.
    worker_process: bool = False
    dispatch_batch: int = Field(500, ge=1, le=10000)
    dispatch_lease_seconds: float = Field(60.0, gt=0)
    poll_interval_seconds: float = Field(0.5, gt=0)
    submit_max_attempts: int = Field(10, ge=1)
    submit_retry_base_seconds: float = Field(5.0, gt=0)
    submit_retry_cap_seconds: float = Field(600.0, gt=0)

    # Carriers (SMPP connectors; see docs/carriers.md)
    operator_key: str = ""
    connector_poll_seconds: float = Field(1.0, gt=0, le=60)
    connector_lease_seconds: float = Field(15.0, gt=0)
    smpp_bind_grace_seconds: float = Field(5.0, ge=0)
    smpp_submit_timeout_seconds: float = Field(30.0, gt=0)
    smpp_response_timeout_seconds: float = Field(10.0, gt=0)
    smpp_enquire_link_seconds: float = Field(30.0, gt=0)
    smpp_reconnect_max_seconds: float = Field(30.0, gt=0)
    smpp_tls_ca_file: str = ""
    pending_receipt_seconds: float = Field(3600.0, gt=0)
    mo_reassembly_seconds: float = Field(600.0, gt=0)

    # Two-way: inbound routing and webhooks
    reply_window_days: float = Field(7.0, gt=0)
    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=120)
    webhook_retry_base_seconds: float = Field(10.0, gt=0)
    webhook_retry_cap_seconds: float = Field(3 * 3600.0, gt=0)
    webhook_max_attempts: int = Field(15, ge=1, le=100)
    webhook_budget_seconds: float = Field(24 * 3600.0, gt=0)
    webhook_concurrency: int = Field(100, ge=1, le=1000)
    webhook_stream_concurrency: int = Field(4, ge=1, le=100)

    # Demo channel
    demo_receipt_delay_min: float = Field(1.0, ge=0)
    demo_receipt_delay_max: float = Field(2.0, ge=0)
    demo_undelivered_rate: float = Field(0.02, ge=0, le=1)
    demo_reply_rate: float = Field(0.0, ge=0, le=1)

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        if v and not v.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, v: str) -> str:
        from smsstreams.domain.errors import ValidationFailed
        from smsstreams.domain.ipallow import IpAllowlist

        try:
            IpAllowlist(p.strip() for p in v.split(",") if p.strip())
        except ValidationFailed as exc:
            raise ValueError(exc.message) from None
        return v

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'smsstreams.db').resolve()}"


def _read_config_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"SMSSTREAMS_CONFIG: cannot read {path}: {exc.strerror}") from None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ConfigError(f"{path}:{number}: expected KEY=value, got {line!r}")
        key, value = (part.strip() for part in line.split("=", 1))
        key = key.upper().removeprefix(ENV_PREFIX)
        values[key.lower()] = value.strip("'\"")
    return values


def load_settings(**overrides: object) -> Settings:
    """Build settings from file + environment + overrides, or raise ConfigError."""
    file_values: dict[str, object] = {}
    config_path = os.environ.get(ENV_PREFIX + "CONFIG")
    if config_path:
        file_values = dict(_read_config_file(Path(config_path)))
        env_names = {k[len(ENV_PREFIX) :].lower() for k in os.environ if k.startswith(ENV_PREFIX)}
        file_values = {k: v for k, v in file_values.items() if k not in env_names}
    try:
        settings = Settings(**{**file_values, **overrides})  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ENV_PREFIX + "_".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{name}: {err['msg']} (got {err.get('input')!r})")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems)) from None
    if settings.demo_receipt_delay_max < settings.demo_receipt_delay_min:
        raise ConfigError(
            "SMSSTREAMS_DEMO_RECEIPT_DELAY_MAX: must be >= SMSSTREAMS_DEMO_RECEIPT_DELAY_MIN"
        )
    if settings.connector_lease_seconds < 3 * settings.connector_poll_seconds:
        raise ConfigError(
            "SMSSTREAMS_CONNECTOR_LEASE_SECONDS: must be at least 3 x "
            "SMSSTREAMS_CONNECTOR_POLL_SECONDS (the lease is renewed at each poll)"
        )
    return settings
