"""API authentication (session with CSRF, or a bearer token) and per-operation function checks."""

from __future__ import annotations

import functools

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
    """Mark an API operation as needing `function`; answers 403 problem details otherwise."""

    def deco(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            permissions.require(request.user, function)
            return view(request, *args, **kwargs)

        wrapper.fmis_function = function  # read by the authorization matrix test
        return wrapper

    return deco
