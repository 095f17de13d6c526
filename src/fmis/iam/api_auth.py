"""API authentication (session with CSRF, or a bearer token) and per-operation function checks."""

from __future__ import annotations

import functools
import inspect

from ninja.security import APIKeyCookie, HttpBearer

from fmis.iam import permissions


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        from fmis.iam.tokens import user_for_token

        user = user_for_token(token)
        if user is not None:
            request.user = user
            request.fmis_token_auth = True
        return user


class SessionAuth(APIKeyCookie):
    """Django session; unsafe methods need the CSRF token."""

    param_name = "sessionid"

    def __init__(self, csrf: bool = True):
        super().__init__()
        self.csrf = csrf

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


def requires(function: str):
    """Mark an API operation as needing `function`; answers 403 problem details otherwise.

    The check runs twice: at authentication time, before the request body is parsed
    (``gate_operations``), so a caller without the function learns nothing about the payload the
    operation expects; and again in the view wrapper, should an operation ever be mounted
    without the gate.
    """

    def deco(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            permissions.require(request.user, function)
            return view(request, *args, **kwargs)

        # ninja reads the signature to parse parameters; resolve string annotations here
        wrapper.__signature__ = inspect.signature(view, eval_str=True)
        wrapper.fmis_function = function  # read by the gate and the authorization matrix test
        return wrapper

    return deco


class FunctionGate:
    """An auth callback that authenticates with `inner`, then requires `function`."""

    def __init__(self, inner, function: str):
        self.inner = inner
        self.function = function

    def __call__(self, request):
        user = self.inner(request)
        if user:
            permissions.require(user, self.function)
        return user


def iter_operations(api):
    """(path, methods, operation) for every operation mounted on `api`."""
    for bound in api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            for op in path_view.operations:
                yield "/".join(p.strip("/") for p in (bound.prefix, path) if p.strip("/")), op.methods, op


def gate_operations(api) -> int:
    """Put a FunctionGate on every operation that declares a function; returns how many."""
    n = 0
    for _, _, op in iter_operations(api):
        function = getattr(op.view_func, "fmis_function", None)
        if function and not any(isinstance(cb, FunctionGate) for cb in op.auth_callbacks):
            op.auth_callbacks = [FunctionGate(cb, function) for cb in op.auth_callbacks]
            n += 1
    return n
