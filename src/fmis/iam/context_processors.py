"""The left menu, built from the functions the user may execute."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language


def build_menu(user) -> list[dict]:
    from fmis.iam.models import Function
    from fmis.iam.permissions import function_codes

    allowed = function_codes(user)
    if not allowed:
        return []
    english = (get_language() or "").startswith("en")
    fns = list(Function.objects.filter(is_active=True, kind=Function.Kind.MENU).select_related("parent"))
    by_code = {f.code: f for f in fns}
    nodes: dict[str, dict] = {}
    for f in fns:
        url = ""
        if f.url_name:
            try:
                url = reverse(f.url_name)
            except NoReverseMatch:
                url = ""
        nodes[f.code] = {"code": f.code, "name": (f.name_en if english and f.name_en else f.name), "url": url,
                         "order": f.order, "children": [], "allowed": f.code in allowed and bool(url)}
    roots = []
    for f in fns:
        node = nodes[f.code]
        parent = by_code.get(f.parent.code) if f.parent else None
        (nodes[parent.code]["children"] if parent else roots).append(node)

    def prune(items):
        kept = []
        for n in sorted(items, key=lambda n: (n["order"], n["code"])):
            n["children"] = prune(n["children"])
            if n["allowed"] or n["children"]:
                kept.append(n)
        return kept

    return prune(roots)


def menu(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"fmis_menu": []}
    return {"fmis_menu": build_menu(user)}
