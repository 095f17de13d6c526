"""Data dictionary API: /api/v1/dictionary/…"""


import datetime as dt
from typing import Any

from django.http import HttpResponse
from ninja import File, Router, Schema
from ninja.files import UploadedFile

from fmis.dictionary import filters, selectors, services
from fmis.dictionary.functions import (
    ELEMENT_MANAGE,
    ELEMENT_VIEW,
    PRELOAD,
    VALUE_EXPORT,
    VALUE_IMPORT,
    VALUE_MANAGE,
    VALUE_RESTRUCTURE,
    VERSION_MANAGE,
    VIEW_MANAGE,
    VIEW_VIEW,
)
from fmis.dictionary.models import DataElement, Restructure, Value, ValueVersion
from fmis.iam.api_auth import requires
from fmis.platform.api_schemas import page_schema
from fmis.platform.listing import api_page

router = Router(tags=["数据字典"])


class ElementOut(Schema):
    id: int
    code: str
    name: str
    category: str | None
    data_type: str
    length: int | None
    decimals: int | None
    code_format_type: str
    code_format: str
    is_element: bool
    status: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    description: str
    maintained_in_dictionary: bool
    values_preset: bool
    is_preset: bool
    version_fields: list[str]

    @staticmethod
    def resolve_category(obj: DataElement) -> str | None:
        return obj.category.code if obj.category_id else None


class ElementIn(Schema):
    code: str
    name: str
    category_code: str = ""
    data_type: str = "V"
    length: int | None = None
    decimals: int | None = None
    code_format_type: str = "0"
    code_format: str = ""
    is_element: bool = False
    status: str = "0"
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    description: str = ""
    maintained_in_dictionary: bool = True
    values_preset: bool = False
    version_fields: list[str] | None = None


class ElementPatch(Schema):
    code: str | None = None
    name: str | None = None
    category_code: str | None = None
    data_type: str | None = None
    length: int | None = None
    decimals: int | None = None
    code_format_type: str | None = None
    code_format: str | None = None
    is_element: bool | None = None
    status: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    description: str | None = None
    maintained_in_dictionary: bool | None = None
    values_preset: bool | None = None


ElementPage = page_schema(ElementOut, "ElementPage")


class VersionFieldsIn(Schema):
    fields: list[str]


class ValueOut(Schema):
    id: int
    element: str
    code: str
    name: str
    parent_code: str | None
    level: int
    is_leaf: bool
    status: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    note: str
    is_preset: bool
    sort_order: int

    @staticmethod
    def resolve_element(obj: Value) -> str:
        return obj.element.code

    @staticmethod
    def resolve_parent_code(obj: Value) -> str | None:
        return obj.parent.code if obj.parent_id else None


ValuePage = page_schema(ValueOut, "ValuePage")


class ValueIn(Schema):
    code: str
    name: str
    parent_code: str = ""
    status: str = "0"
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    note: str = ""
    sort_order: int = 0


class ValuePatch(Schema):
    code: str | None = None
    name: str | None = None
    status: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    note: str | None = None
    sort_order: int | None = None


class StatusIn(Schema):
    status: str


class VersionOut(Schema):
    id: int
    value_id: int
    value_code: str
    day: dt.date
    before: dict[str, Any]
    after: dict[str, Any]
    changed_fields: list[str]
    changed_at: dt.datetime
    changed_by: str

    @staticmethod
    def resolve_value_code(obj: ValueVersion) -> str:
        return obj.value.code


class MergeIn(Schema):
    sources: list[str]
    target_code: str
    target_name: str
    note: str = ""


class SplitTarget(Schema):
    code: str
    name: str


class SplitIn(Schema):
    source: str
    targets: list[SplitTarget]
    note: str = ""


class LinkOut(Schema):
    source: str
    target: str


class RestructureOut(Schema):
    id: int
    kind: str
    note: str
    created_at: dt.datetime
    created_by: str
    links: list[LinkOut]

    @staticmethod
    def resolve_links(obj: Restructure) -> list[dict]:
        return [{"source": link.source.code, "target": link.target.code} for link in obj.links.all()]


class ImportOut(Schema):
    created: int
    updated: int
    unchanged: int


class ViewOut(Schema):
    id: int
    code: str
    name: str
    source: str
    is_element: bool
    status: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    description: str
    filter: dict | None
    filter_text: str
    is_preset: bool

    @staticmethod
    def resolve_source(obj: DataElement) -> str:
        return obj.source.code

    @staticmethod
    def resolve_filter_text(obj: DataElement) -> str:
        return filters.describe(obj.filter)


class ViewIn(Schema):
    code: str
    name: str
    source: str
    is_element: bool = False
    status: str = "0"
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    description: str = ""
    filter: dict | None = None


class ViewPatch(Schema):
    code: str | None = None
    name: str | None = None
    source: str | None = None
    is_element: bool | None = None
    status: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    description: str | None = None
    filter: dict | None = None


class PreviewIn(Schema):
    source: str
    filter: dict | None = None


class PreloadOut(Schema):
    elements_created: int
    values_created: int
    values_existing: int



# --------------------------------------------------------------------------- elements

@router.get("/elements", response=ElementPage)
@requires(ELEMENT_VIEW)
def list_elements(request, q: str = "", status: str = "", limit: int = 50, offset: int = 0):
    return api_page(selectors.elements_for(user=request.user, q=q, status=status), limit, offset)


@router.post("/elements", response={201: ElementOut})
@requires(ELEMENT_MANAGE)
def create_element(request, body: ElementIn):
    return 201, services.create_element(user=request.user, **body.dict())


@router.get("/elements/{code}", response=ElementOut)
@requires(ELEMENT_VIEW)
def get_element(request, code: str):
    return selectors.element_for(user=request.user, code=code)


@router.patch("/elements/{code}", response=ElementOut)
@requires(ELEMENT_MANAGE)
def update_element(request, code: str, body: ElementPatch):
    selectors.element_for(user=request.user, code=code)
    return services.update_element(user=request.user, code=code, **body.dict(exclude_unset=True))


@router.delete("/elements/{code}", response={204: None})
@requires(ELEMENT_MANAGE)
def delete_element(request, code: str):
    selectors.element_for(user=request.user, code=code)
    services.delete_element(user=request.user, code=code)
    return 204, None


@router.put("/elements/{code}/version-fields", response=ElementOut)
@requires(VERSION_MANAGE)
def set_version_fields(request, code: str, body: VersionFieldsIn):
    selectors.element_for(user=request.user, code=code)
    return services.set_version_fields(user=request.user, element_code=code, fields=body.fields)


# --------------------------------------------------------------------------- values

@router.get("/elements/{code}/values", response=ValuePage)
@requires(ELEMENT_VIEW)
def list_values(request, code: str, q: str = "", status: str = "", limit: int = 200, offset: int = 0):
    element = selectors.element_for(user=request.user, code=code)
    return api_page(selectors.values_for(user=request.user, element=element, q=q, status=status)
                 .select_related("element"), limit, offset)


@router.post("/elements/{code}/values", response={201: ValueOut})
@requires(VALUE_MANAGE)
def add_value(request, code: str, body: ValueIn):
    selectors.element_for(user=request.user, code=code)
    return 201, services.add_value(user=request.user, element_code=code, **body.dict())


@router.get("/values/{value_id}", response=ValueOut)
@requires(ELEMENT_VIEW)
def get_value(request, value_id: int):
    return selectors.value_for(user=request.user, value_id=value_id)


@router.patch("/values/{value_id}", response=ValueOut)
@requires(VALUE_MANAGE)
def update_value(request, value_id: int, body: ValuePatch):
    selectors.value_for(user=request.user, value_id=value_id)
    return services.update_value(user=request.user, value_id=value_id, **body.dict(exclude_unset=True))


@router.post("/values/{value_id}/status", response=ValueOut)
@requires(VALUE_MANAGE)
def set_value_status(request, value_id: int, body: StatusIn):
    selectors.value_for(user=request.user, value_id=value_id)
    return services.set_value_status(user=request.user, value_id=value_id, status=body.status)


@router.delete("/values/{value_id}", response={204: None})
@requires(VALUE_MANAGE)
def delete_value(request, value_id: int):
    selectors.value_for(user=request.user, value_id=value_id)
    services.delete_value(user=request.user, value_id=value_id)
    return 204, None


@router.get("/elements/{code}/versions", response=list[VersionOut])
@requires(ELEMENT_VIEW)
def list_versions(request, code: str, value_id: int | None = None):
    element = selectors.element_for(user=request.user, code=code)
    return list(selectors.versions_for(user=request.user, element=element, value_id=value_id)[:1000])


@router.delete("/versions/{version_id}", response={204: None})
@requires(VERSION_MANAGE)
def delete_version(request, version_id: int):
    services.delete_version(user=request.user, version_id=version_id)
    return 204, None


@router.post("/elements/{code}/merge", response={201: RestructureOut})
@requires(VALUE_RESTRUCTURE)
def merge(request, code: str, body: MergeIn):
    selectors.element_for(user=request.user, code=code)
    return 201, services.merge_values(user=request.user, element_code=code, source_codes=body.sources,
                                      target_code=body.target_code, target_name=body.target_name, note=body.note)


@router.post("/elements/{code}/split", response={201: RestructureOut})
@requires(VALUE_RESTRUCTURE)
def split(request, code: str, body: SplitIn):
    selectors.element_for(user=request.user, code=code)
    return 201, services.split_value(user=request.user, element_code=code, source_code=body.source,
                                     targets=[(t.code, t.name) for t in body.targets], note=body.note)


@router.get("/elements/{code}/restructures", response=list[RestructureOut])
@requires(ELEMENT_VIEW)
def list_restructures(request, code: str):
    element = selectors.element_for(user=request.user, code=code)
    return list(selectors.restructures_for(user=request.user, element=element)[:500])


@router.post("/elements/{code}/import", response=ImportOut)
@requires(VALUE_IMPORT)
def import_values(request, code: str, file: File[UploadedFile]):
    selectors.element_for(user=request.user, code=code)
    return services.import_values(user=request.user, element_code=code, file=file)


@router.get("/elements/{code}/export")
@requires(VALUE_EXPORT)
def export_values(request, code: str, ids: str = "") -> HttpResponse:
    from fmis.dictionary.views import export_response

    element = selectors.element_for(user=request.user, code=code)
    return export_response(request.user, element, ids)


# --------------------------------------------------------------------------- views

@router.post("/views/preview", response=ValuePage)
@requires(VIEW_VIEW)
def preview_view(request, body: PreviewIn, limit: int = 200, offset: int = 0):
    expr = filters.normalize(body.filter)
    return api_page(selectors.preview_view_values(user=request.user, source_code=body.source, expr=expr)
                 .select_related("element"), limit, offset)


@router.get("/views", response=list[ViewOut])
@requires(VIEW_VIEW)
def list_views(request, q: str = ""):
    return list(selectors.views_for(user=request.user, q=q)[:1000])


@router.post("/views", response={201: ViewOut})
@requires(VIEW_MANAGE)
def create_view(request, body: ViewIn):
    data = body.dict()
    data["source_code"] = data.pop("source")
    return 201, services.create_view(user=request.user, **data)


@router.get("/views/{code}", response=ViewOut)
@requires(VIEW_VIEW)
def get_view(request, code: str):
    return selectors.view_for(user=request.user, code=code)


@router.patch("/views/{code}", response=ViewOut)
@requires(VIEW_MANAGE)
def update_view(request, code: str, body: ViewPatch):
    selectors.view_for(user=request.user, code=code)
    data = body.dict(exclude_unset=True)
    if "source" in data:
        data["source_code"] = data.pop("source")
    return services.update_view(user=request.user, code=code, **data)


@router.delete("/views/{code}", response={204: None})
@requires(VIEW_MANAGE)
def delete_view(request, code: str):
    selectors.view_for(user=request.user, code=code)
    services.delete_view(user=request.user, code=code)
    return 204, None


@router.get("/views/{code}/values", response=ValuePage)
@requires(VIEW_VIEW)
def view_values(request, code: str, q: str = "", limit: int = 200, offset: int = 0):
    view = selectors.view_for(user=request.user, code=code)
    return api_page(selectors.view_values_for(user=request.user, view=view, q=q).select_related("element"), limit,
                 offset)


@router.post("/preload", response=PreloadOut)
@requires(PRELOAD)
def preload(request):
    return services.preload_standard(user=request.user)
