"""Schemas shared by every module's API."""

from __future__ import annotations

from ninja import Schema
from pydantic import create_model


def page_schema(item: type[Schema], name: str | None = None) -> type[Schema]:
    """The schema of one page of a list, as ``fmis.platform.listing.api_page`` returns it:
    ``{"count": total, "items": [item, ...]}``."""
    name = name or item.__name__.removesuffix("Out") + "Page"
    return create_model(name, __base__=Schema, count=(int, ...), items=(list[item], ...))
