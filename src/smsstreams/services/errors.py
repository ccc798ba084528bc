"""Service-level errors: each fixes the HTTP status the API answers with."""

from __future__ import annotations

from smsstreams.domain.errors import DomainError


class NotFound(DomainError):
    """The thing does not exist, or belongs to another account (never say which)."""

    http_status = 404

    def __init__(self, what: str, field: str | None = None) -> None:
        super().__init__("not_found", f"{what} not found", field)


class Conflict(DomainError):
    """The request clashes with the current state (duplicate, in use, wrong state)."""

    http_status = 409


class Unauthorized(DomainError):
    """No credentials, or credentials that match nothing."""

    http_status = 401


class Forbidden(DomainError):
    """Valid credentials, but this request is not allowed (state, IP allowlist)."""

    http_status = 403


class TooLarge(DomainError):
    http_status = 413
