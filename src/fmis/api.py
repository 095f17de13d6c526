"""The HTTP API under /api/v1/: session or token auth, RFC 9457 problem details for errors.

Every fmis app that has ``api.py`` with a ``router`` is mounted at ``/api/v1/<app label>/``.
Operations declare the function they need with ``@requires("code")`` (``fmis.iam.api_auth``).
"""

from __future__ import annotations

import importlib

from django.apps import apps
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from fmis.iam.api_auth import SessionAuth, TokenAuth
from fmis.platform.errors import DomainError

api = NinjaAPI(title="OpenFMIS API", version="1", urls_namespace="api", auth=[TokenAuth(), SessionAuth()],
               docs_url="/docs")


def problem(request, status: int, code: str, detail: str, **extra):
    body = {"type": f"urn:fmis:error:{code}", "title": code, "status": status, "detail": detail, "code": code,
            **extra}
    resp = api.create_response(request, body, status=status)
    resp["Content-Type"] = "application/problem+json"
    return resp


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    resp = api.create_response(request, exc.as_problem(), status=exc.status)
    resp["Content-Type"] = "application/problem+json"
    return resp


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    errors = [{"field": ".".join(str(p) for p in e.get("loc", [])[1:]) or None, "message": e.get("msg", "")}
              for e in exc.errors]
    return problem(request, 422, "request.invalid", "请求参数不正确", errors=errors)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return problem(request, 401, "auth.required", "需要登录或有效的API令牌")


@api.exception_handler(Http404)
def on_404(request, exc):
    return problem(request, 404, "not_found", "对象不存在或不在您的数据权限范围内")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return problem(request, exc.status_code, "http.error", str(exc))


def _mount_routers() -> None:
    for cfg in apps.get_app_configs():
        if not cfg.name.startswith("fmis."):
            continue
        try:
            mod = importlib.import_module(f"{cfg.name}.api")
        except ModuleNotFoundError as exc:
            if exc.name == f"{cfg.name}.api":
                continue
            raise
        router = getattr(mod, "router", None)
        if router is not None:
            api.add_router(f"/{cfg.label}/", router)


_mount_routers()
