"""Domain errors with stable codes.

Services raise ``DomainError("module.reason", message, field=..., **params)``. The API turns it
into an RFC 9457 problem document (see ``fmis.api``); the UI shows ``message``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the user can understand. ``code`` is stable; ``message`` is for people."""

    status = 400

    def __init__(self, code: str, message: str = "", *, field: str | None = None,
                 line: int | None = None, errors: list[dict] | None = None, **params: Any):
        self.code = code
        self.message = message or code
        self.field = field
        self.line = line
        self.errors = errors or []
        self.params = params
        super().__init__(f"{code}: {self.message}")

    def as_problem(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": f"urn:fmis:error:{self.code}",
            "title": self.code,
            "status": self.status,
            "detail": str(self.message),
            "code": self.code,
        }
        if self.field:
            doc["field"] = self.field
        if self.line is not None:
            doc["line"] = self.line
        if self.errors:
            doc["errors"] = self.errors
        if self.params:
            doc["params"] = {k: str(v) for k, v in self.params.items()}
        return doc


class ValidationFailed(DomainError):
    status = 422


class NotFound(DomainError):
    status = 404


class PermissionDenied(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409
