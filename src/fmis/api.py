"""The HTTP API under /api/v1/: session or token auth, RFC 9457 problem details for every error.

Every fmis app that has ``api.py`` with a ``router`` is mounted at ``/api/v1/<app label>/``.
Operations declare the function they need with ``@requires("code")`` (``fmis.iam.api_auth``).

Errors are answered as ``application/problem+json`` documents with ``type``, ``title``,
``status``, ``detail`` and ``instance``, plus ``code`` (stable, dotted) and where they apply
``field``, ``line`` and ``errors`` ([{"field", "line", "message"}]). Domain errors keep their own
code and status; request validation answers 422 ``request.invalid`` naming the fields; 401
``auth.required``; 403 ``iam.function_denied`` (from ``@requires``); 404 ``not_found`` (also for
unknown paths under /api/v1/); anything unexpected 500 ``server.error`` with an error id that is
logged with the traceback, which never reaches the client.

The OpenAPI page (/api/v1/docs) loads Swagger UI from the files installed with django-ninja,
served by this API itself: nothing comes from the internet.
"""

from __future__ import annotations

import importlib
import json
import logging
import mimetypes
import uuid
from pathlib import Path

import ninja
from django.apps import apps
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import render
from django.urls import reverse
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.docs import DocsBase, _csrf_needed

from fmis.iam.api_auth import SessionAuth, TokenAuth, gate_operations
from fmis.platform.errors import PROBLEM_TYPE_PREFIX, DomainError

log = logging.getLogger("fmis.api")

PROBLEM_JSON = "application/problem+json"
_STATUS_TITLES = {
    400: "请求格式不正确", 401: "需要登录", 403: "没有权限", 404: "对象不存在", 405: "请求方法不允许",
    409: "操作冲突", 422: "数据校验未通过", 429: "请求过于频繁", 500: "服务器内部错误", 503: "服务暂不可用",
}
_HTTP_ERROR_CODES = {400: "request.malformed", 403: "auth.forbidden", 404: "not_found",
                     405: "request.method_not_allowed", 429: "request.throttled"}

# Swagger UI as installed with django-ninja: served locally, never from a CDN
_SWAGGER_DIR = Path(ninja.__file__).resolve().parent / "static" / "ninja"
_SWAGGER_ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js", "favicon.png", "favicon.svg")


class OfflineSwagger(DocsBase):
    """Swagger UI whose script and style sheet come from this server."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs):
        settings = {"layout": "BaseLayout", "deepLinking": True, "url": self.get_openapi_url(api, kwargs)}
        assets = {name.replace("-", "_").replace(".", "_"): reverse(f"{api.urls_namespace}:docs-asset",
                                                                     kwargs={"name": name})
                  for name in _SWAGGER_ASSETS}
        return render(request, "platform/api_docs.html", {
            "api": api, "swagger_settings": json.dumps(settings), "add_csrf": _csrf_needed(api), "assets": assets})


api = NinjaAPI(title="OpenFMIS API", version="1", urls_namespace="api", auth=[TokenAuth(), SessionAuth()],
               docs_url="/docs", docs=OfflineSwagger())


@api.get("/docs/assets/{name}", auth=None, include_in_schema=False, url_name="docs-asset")
def docs_asset(request, name: str):
    if name not in _SWAGGER_ASSETS:
        raise Http404(name)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    # FileResponse closes the file when the response is done
    resp = FileResponse(open(_SWAGGER_DIR / name, "rb"), content_type=content_type)  # noqa: SIM115
    resp["Cache-Control"] = "public, max-age=86400"
    return resp


def problem_body(request, status: int, code: str, detail: str, *, title: str | None = None, **extra) -> dict:
    """An RFC 9457 problem document."""
    body = {"type": f"{PROBLEM_TYPE_PREFIX}{code}", "title": title or _STATUS_TITLES.get(status, "错误"),
            "status": status, "detail": detail, "instance": request.path, "code": code}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


# Chinese wording for the usual pydantic error types; others keep pydantic's message
_VALIDATION_MESSAGES = {
    "missing": "必填",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "decimal_parsing": "应为数字",
    "bool_parsing": "应为是/否（true/false）",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "datetime_parsing": "日期时间格式不正确",
    "datetime_from_date_parsing": "日期时间格式不正确",
    "string_type": "应为文本",
    "string_too_long": "太长",
    "string_too_short": "太短",
    "greater_than_equal": "太小",
    "greater_than": "太小",
    "less_than_equal": "太大",
    "less_than": "太大",
    "enum": "不是允许的取值",
    "literal_error": "不是允许的取值",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "格式不正确",
    "dict_type": "应为对象",
    "list_type": "应为数组",
}
_LIMITED = ("greater_than_equal", "greater_than", "less_than_equal", "less_than", "string_too_long",
            "string_too_short")


def _field_of(loc: tuple | list) -> str:
    parts = [str(p) for p in loc]
    if not parts:
        return ""
    source, rest = parts[0], parts[1:]
    # a body schema is one parameter: ("body", "<param>", "field", ...) names "field"
    if source == "body" and len(rest) > 1:
        rest = rest[1:]
    return ".".join(rest)


def _validation_errors(exc: NinjaValidationError) -> list[dict]:
    errors = []
    for e in exc.errors:
        field = _field_of(e.get("loc", ()))
        message = _VALIDATION_MESSAGES.get(e.get("type", ""), e.get("msg", ""))
        ctx = e.get("ctx") or {}
        limit = next((ctx[k] for k in ("ge", "gt", "le", "lt", "max_length", "min_length") if k in ctx), None)
        if limit is not None and e.get("type") in _LIMITED:
            message = f"{message}（限值 {limit}）"
        errors.append({"field": field or None, "message": message, "type": e.get("type", "")})
    return errors


def _joined(errors: list[dict]) -> str:
    return "；".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)


def install_error_handlers(target: NinjaAPI) -> None:
    """Answer every error of `target` with a problem document (used for ``api`` and in tests)."""

    def respond(request, body: dict, status: int):
        resp = target.create_response(request, body, status=status)
        resp["Content-Type"] = PROBLEM_JSON
        return resp

    def problem(request, status: int, code: str, detail: str, **extra):
        return respond(request, problem_body(request, status, code, detail, **extra), status)

    def on_domain_error(request, exc: DomainError):
        body = exc.as_problem()
        body["instance"] = request.path
        return respond(request, body, exc.status)

    def on_validation_error(request, exc: NinjaValidationError):
        errors = _validation_errors(exc)
        named = _joined(errors)
        return problem(request, 422, "request.invalid", f"请求参数不正确：{named}" if named else "请求参数不正确",
                       field=errors[0]["field"] if errors else None, errors=errors)

    def on_auth_error(request, exc):
        resp = problem(request, 401, "auth.required", "需要登录或有效的API令牌")
        resp["WWW-Authenticate"] = 'Bearer realm="fmis"'
        return resp

    def on_not_found(request, exc):
        return problem(request, 404, "not_found", "对象不存在或不在您的数据权限范围内")

    def on_django_denied(request, exc):
        return problem(request, 403, "auth.forbidden", "没有执行此操作的权限")

    def on_django_validation(request, exc: DjangoValidationError):
        if hasattr(exc, "error_dict"):
            errors = [{"field": f, "message": str(m)} for f, msgs in exc.message_dict.items() for m in msgs]
        else:
            errors = [{"field": None, "message": str(m)} for m in exc.messages]
        return problem(request, 422, "request.invalid", _joined(errors) or "数据校验未通过",
                       field=errors[0]["field"] if errors else None, errors=errors)

    def on_http_error(request, exc: HttpError):
        status = exc.status_code
        return problem(request, status, _HTTP_ERROR_CODES.get(status, "http.error"), str(exc))

    def on_unexpected(request, exc: Exception):
        error_id = uuid.uuid4().hex[:12]
        log.error("unhandled API error %s on %s %s", error_id, request.method, request.path, exc_info=exc)
        return problem(request, 500, "server.error", f"服务器内部错误，请联系管理员（错误编号 {error_id}）",
                       error_id=error_id)

    for exc_class, handler in [
        (DomainError, on_domain_error), (NinjaValidationError, on_validation_error),
        (AuthenticationError, on_auth_error), (Http404, on_not_found), (ObjectDoesNotExist, on_not_found),
        (DjangoPermissionDenied, on_django_denied), (DjangoValidationError, on_django_validation),
        (HttpError, on_http_error), (Exception, on_unexpected),
    ]:
        target.add_exception_handler(exc_class, handler)


install_error_handlers(api)


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

# Last of all: any other path under /api/v1/ answers a 404 problem document, not an HTML page.
_fallback = Router()


@_fallback.api_operation(["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", auth=None,
                         include_in_schema=False, url_name="not-found")
def not_found(request, rest: str):
    raise Http404(rest)


api.add_router("", _fallback)

# Function checks run at authentication time, before the body is parsed.
gate_operations(api)
