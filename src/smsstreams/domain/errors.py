"""Domain error types.

:class:`DomainError` is raised by the domain core and the services built on it when the
caller supplied bad input or asked for something the rules forbid.  It never signals a
bug or an infrastructure failure.  The HTTP API catches it and maps it to a 4xx response
whose JSON body is::

    {"error": {"code": "...", "message": "...", "field": "..." | null}}

``code`` is a stable machine-readable identifier, ``message`` a human-readable reason and
``field`` (optional) names the offending request field.  Subclasses fix the HTTP status;
other packages are expected to subclass these.
"""

from __future__ import annotations


class DomainError(Exception):
    """Bad input or a forbidden operation; the API answers with a 4xx JSON error body."""

    http_status: int = 400

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code: str = code
        self.message: str = message
        self.field: str | None = field

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(code={self.code!r}, message={self.message!r}, field={self.field!r})"

    def to_dict(self) -> dict[str, dict[str, str | None]]:
        """The JSON body the API sends: ``{"error": {"code", "message", "field"}}``."""
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class ValidationFailed(DomainError):
    """Input failed validation (HTTP 422)."""

    http_status = 422
