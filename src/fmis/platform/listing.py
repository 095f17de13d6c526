"""Paging for list screens: ``page(request, queryset)`` returns the context a list template needs
(``page_obj``, ``querystring_without_page``), and ``wants_export(request)`` tells if the user
asked for the xlsx of the same (already permission-filtered) queryset."""

from __future__ import annotations

from django.core.paginator import Paginator

DEFAULT_PAGE_SIZE = 50


def page(request, queryset, *, size: int = DEFAULT_PAGE_SIZE) -> dict:
    paginator = Paginator(queryset, size)
    page_obj = paginator.get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return {"page_obj": page_obj, "object_list": page_obj.object_list,
            "querystring_without_page": params.urlencode()}


def wants_export(request) -> bool:
    return request.GET.get("export") == "xlsx"


API_MAX_LIMIT = 1000


def api_page(queryset, limit: int, offset: int) -> dict:
    """One page of an API list: ``{"count": total, "items": [...]}``, limit capped at 1,000."""
    limit = max(1, min(limit, API_MAX_LIMIT))
    offset = max(0, offset)
    return {"count": queryset.count(), "items": list(queryset[offset:offset + limit])}
