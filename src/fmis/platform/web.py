"""Helpers for the server-rendered screens of every module."""

from __future__ import annotations

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404

from fmis.iam.permissions import can
from fmis.platform.errors import NotFound


def needs(function: str):
    """Login and `function` required (else the 403 page); a NotFound raised by a selector or a
    service (missing, or outside the user's scope: the same answer) becomes the 404 page."""

    def deco(view):
        @login_required
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not can(request.user, function):
                raise HttpForbidden(function)
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                raise Http404 from None

        return wrapper

    return deco
