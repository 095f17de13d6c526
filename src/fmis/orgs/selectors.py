"""Reads of regions, agencies, banks and branches: every one through the caller's data scope.

Out-of-scope rows behave exactly like missing rows (``NotFound``), so an id reveals nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Q, QuerySet
from django.utils.translation import gettext, gettext_lazy, pgettext

from fmis.iam.permissions import can, restrict
from fmis.orgs.functions import AGENCY_VIEW, BANK_VIEW, REGION_VIEW
from fmis.orgs.models import Agency, Bank, BankBranch, Region
from fmis.platform.codes import region_prefix
from fmis.platform.errors import NotFound

NOT_FOUND_MESSAGE = "对象不存在或不在您的数据权限范围内"


def in_scope(*, user, function: str, obj) -> bool:
    """Whether `user` may execute `function` on `obj` (function held and `obj` inside its scope)."""
    if not can(user, function):
        return False
    return restrict(type(obj)._default_manager.filter(pk=obj.pk), user, function).exists()


def _search(qs: QuerySet, q: str) -> QuerySet:
    q = (q or "").strip()
    if not q:
        return qs
    return qs.filter(Q(code__startswith=q) | Q(name__icontains=q))


# --- regions -----------------------------------------------------------------------------------

def regions_for(*, user, q: str = "", level: int | None = None, active: bool | None = None,
                function: str = REGION_VIEW) -> QuerySet[Region]:
    qs = _search(Region.objects.restrict(user, function), q)
    if level is not None:
        qs = qs.filter(level=level)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.select_related("parent", "finance_department").order_by("code")


def region_detail(*, user, region_id: int, function: str = REGION_VIEW) -> Region:
    region = regions_for(user=user, function=function).filter(pk=region_id).first()
    if region is None:
        raise NotFound("orgs.region.not_found", NOT_FOUND_MESSAGE)
    return region


def region_children(*, user, region: Region) -> QuerySet[Region]:
    return regions_for(user=user).filter(parent=region)


REGION_EXPORT_HEADERS = [gettext_lazy("区划编码"), gettext_lazy("区划名称"), gettext_lazy("级次"),
                         gettext_lazy("上级区划编码"), gettext_lazy("上级区划名称"),
                         gettext_lazy("财政部门"), gettext_lazy("状态")]


def region_export_rows(qs: QuerySet[Region]) -> Iterator[list]:
    levels = dict(Region.Level.choices)
    for r in qs.values_list("code", "name", "level", "parent__code", "parent__name", "finance_department__name",
                            "is_active").iterator(chunk_size=2000):
        code, name, level, pcode, pname, dept, active = r
        yield [code, name, levels.get(level, level), pcode or "", pname or "", dept or "", pgettext("status", "启用") if active else pgettext("status", "停用")]


# --- agencies ----------------------------------------------------------------------------------

def agencies_for(*, user, q: str = "", region_code: str = "", status: str = "", kind: str = "",
                 function: str = AGENCY_VIEW) -> QuerySet[Agency]:
    """Agencies in scope; ``region_code`` selects that region and the regions below it."""
    qs = _search(Agency.objects.restrict(user, function), q)
    if region_code:
        qs = qs.filter(region__code__startswith=region_prefix(region_code.strip()))
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("region", "parent").order_by("code")


def agency_detail(*, user, agency_id: int, function: str = AGENCY_VIEW) -> Agency:
    agency = agencies_for(user=user, function=function).filter(pk=agency_id).first()
    if agency is None:
        raise NotFound("orgs.agency.not_found", NOT_FOUND_MESSAGE)
    return agency


def agency_by_code(*, user, code: str, function: str = AGENCY_VIEW) -> Agency:
    agency = agencies_for(user=user, function=function).filter(code=(code or "").strip()).first()
    if agency is None:
        raise NotFound("orgs.agency.not_found", NOT_FOUND_MESSAGE)
    return agency


def agency_subordinates(*, user, agency: Agency, function: str = AGENCY_VIEW) -> QuerySet[Agency]:
    return agencies_for(user=user, function=function).filter(parent=agency)


AGENCY_EXPORT_HEADERS = [gettext_lazy("单位编码"), gettext_lazy("单位名称"), gettext_lazy("财政区划编码"),
                         gettext_lazy("财政区划名称"), gettext_lazy("主管部门编码"),
                         gettext_lazy("主管部门名称"), gettext_lazy("单位类型"), gettext_lazy("状态")]


def agency_export_rows(qs: QuerySet[Agency]) -> Iterator[list]:
    kinds, statuses = dict(Agency.Kind.choices), dict(Agency.Status.choices)
    for r in qs.values_list("code", "name", "region__code", "region__name", "parent__code", "parent__name",
                            "kind", "status").iterator(chunk_size=2000):
        code, name, rcode, rname, pcode, pname, kind, status = r
        yield [code, name, rcode, rname, pcode or "", pname or "", kinds.get(kind, kind), statuses.get(status, status)]


# --- banks and branches ------------------------------------------------------------------------

def banks_for(*, user, q: str = "", active: bool | None = None, function: str = BANK_VIEW) -> QuerySet[Bank]:
    qs = _search(Bank.objects.restrict(user, function), q)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by("code")


def bank_detail(*, user, bank_id: int, function: str = BANK_VIEW) -> Bank:
    bank = banks_for(user=user, function=function).filter(pk=bank_id).first()
    if bank is None:
        raise NotFound("orgs.bank.not_found", NOT_FOUND_MESSAGE)
    return bank


BANK_EXPORT_HEADERS = [gettext_lazy("银行编码"), gettext_lazy("银行名称"), gettext_lazy("代理银行"),
                       gettext_lazy("状态")]


def bank_export_rows(qs: QuerySet[Bank]) -> Iterator[list]:
    for code, name, agent, active in qs.values_list("code", "name", "is_agent", "is_active").iterator():
        yield [code, name, gettext("是") if agent else gettext("否"), pgettext("status", "启用") if active else pgettext("status", "停用")]


def branches_for(*, user, q: str = "", bank_id: int | None = None, region_code: str = "",
                 function: str = BANK_VIEW) -> QuerySet[BankBranch]:
    """Branches in scope; ``region_code`` selects that region and the regions below it."""
    qs = _search(BankBranch.objects.restrict(user, function), q)
    if bank_id is not None:
        qs = qs.filter(bank_id=bank_id)
    if region_code:
        qs = qs.filter(region__code__startswith=region_prefix(region_code.strip()))
    return qs.select_related("bank", "region").order_by("code")


def branch_detail(*, user, branch_id: int, function: str = BANK_VIEW) -> BankBranch:
    branch = branches_for(user=user, function=function).filter(pk=branch_id).first()
    if branch is None:
        raise NotFound("orgs.branch.not_found", NOT_FOUND_MESSAGE)
    return branch


BRANCH_EXPORT_HEADERS = [gettext_lazy("网点编码"), gettext_lazy("网点名称"), gettext_lazy("银行编码"),
                         gettext_lazy("银行名称"), gettext_lazy("财政区划编码"),
                         gettext_lazy("财政区划名称"), gettext_lazy("状态")]


def branch_export_rows(qs: QuerySet[BankBranch]) -> Iterator[list]:
    for r in qs.values_list("code", "name", "bank__code", "bank__name", "region__code", "region__name",
                            "is_active").iterator(chunk_size=2000):
        *cols, active = r
        yield [*cols, pgettext("status", "启用") if active else pgettext("status", "停用")]
