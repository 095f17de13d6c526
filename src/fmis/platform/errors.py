"""Domain errors with stable codes.

Services raise ``DomainError("module.reason", message, field=..., **params)`` or one of its
subclasses. The API turns it into an RFC 9457 problem document (see ``fmis.api``); the UI shows
``message``. ``code`` never changes once published: clients and tests key on it.
"""

from __future__ import annotations

from typing import Any

PROBLEM_TYPE_PREFIX = "urn:fmis:error:"


class DomainError(Exception):
    """A refusal the user can understand. ``code`` is stable; ``message`` is for people."""

    status = 400
    title = "业务规则不允许此操作"

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
        """The RFC 9457 problem document (without ``instance``, which the API adds)."""
        from fmis.platform.jsonutil import jsonable_lenient

        doc: dict[str, Any] = {
            "type": f"{PROBLEM_TYPE_PREFIX}{self.code}",
            "title": str(self.title),
            "status": self.status,
            "detail": str(self.message),
            "code": self.code,
        }
        if self.field:
            doc["field"] = self.field
        if self.line is not None:
            doc["line"] = self.line
        if self.errors:
            doc["errors"] = jsonable_lenient(self.errors)
        if self.params:
            doc["params"] = {k: str(v) for k, v in self.params.items()}
        return doc


class ValidationFailed(DomainError):
    status = 422
    title = "数据校验未通过"


class NotFound(DomainError):
    status = 404
    title = "对象不存在"


class PermissionDenied(DomainError):
    status = 403
    title = "没有权限"


class Conflict(DomainError):
    status = 409
    title = "操作冲突"


class ServiceUnavailable(DomainError):
    status = 503
    title = "服务暂不可用"
