"""Writes for regions (财政区划), finance departments, agencies (预算单位), agent banks and branches.

Every function is keyword-only, runs in one transaction, checks the caller's function permission,
finds the objects it changes through the caller's data scope for that function (out of scope
reads as not found), validates with errors that name the field, and leaves an audit record.

Code rules (see also migration 0003, which enforces the hierarchy part in the database):

* region codes have 6 or 9 digits. For 6 digits the shape gives the level: ``XX0000`` province,
  ``XXYY00`` city, anything else county. A 9-digit code ending in ``000`` has the level of its
  first six digits; any other 9-digit code is a county-level zone directly under a city
  (``370100001``). A child region starts with ``region_prefix(parent code)``; a city's parent is
  a province, a county's parent a city; a province has no parent or the central level.
* agency codes: a first-level agency (主管部门) is its region's code plus 3 digits
  (``370102101``); a subordinate is its supervising department's code plus 3 digits
  (``370102101001``) and lies in the same region.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction

from fmis.iam.permissions import require, restrict
from fmis.orgs.functions import AGENCY_MANAGE, BANK_MANAGE, REGION_MANAGE
from fmis.orgs.models import Agency, Bank, BankBranch, FinanceDepartment, Region
from fmis.platform import audit
from fmis.platform.codes import region_prefix
from fmis.platform.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed

_REGION_CODE = re.compile(r"^[0-9]{6}([0-9]{3})?$")
_DIGITS = re.compile(r"^[0-9]+$")
_CODE_CHARS = re.compile(r"^[0-9A-Za-z]+$")
UNIT_DIGITS = 3  # a department or unit adds three digits to its parent's code

LEVEL_NAMES = dict(Region.Level.choices)


# ---------------------------------------------------------------------------------------------
# Pure rules


def region_level_for_code(code: str) -> int | None:
    """The level a province, city or county code's shape implies; None if it fits none."""
    if not _REGION_CODE.match(code or ""):
        return None
    head, tail = code[:6], code[6:]
    if head[:2] == "00":
        return None
    if tail and tail != "000":
        # a county-level zone directly under a city
        return Region.Level.COUNTY if head[4:] == "00" and head[2:4] != "00" else None
    if head[2:] == "0000":
        return Region.Level.PROVINCE
    if head[4:] == "00":
        return Region.Level.CITY
    return Region.Level.COUNTY


_PARENT_LEVEL = {
    Region.Level.PROVINCE: (None, Region.Level.CENTRAL),
    Region.Level.CITY: (Region.Level.PROVINCE,),
    Region.Level.COUNTY: (Region.Level.CITY,),
}


def validate_region_code(*, code: str, level: int, parent: Region | None) -> None:
    """Raise ValidationFailed (naming the field) unless `code` at `level` fits under `parent`."""
    if not _REGION_CODE.match(code):
        raise ValidationFailed("orgs.region.bad_code", f"区划编码应为 6 位或 9 位数字：{code!r}", field="code")
    if level not in Region.Level.values:
        raise ValidationFailed("orgs.region.bad_level", f"区划级次不正确：{level!r}", field="level")
    if level == Region.Level.CENTRAL:
        if parent is not None:
            raise ValidationFailed("orgs.region.parent_not_allowed", "中央级区划不能有上级区划", field="parent")
        return
    implied = region_level_for_code(code)
    if implied is None:
        raise ValidationFailed("orgs.region.bad_code", f"区划编码 {code} 不符合省、市、县的编码规则", field="code")
    if implied != level:
        raise ValidationFailed(
            "orgs.region.level_mismatch",
            f"区划编码 {code} 是{LEVEL_NAMES[implied]}级编码，与级次“{LEVEL_NAMES[level]}”不符", field="level")
    allowed = _PARENT_LEVEL[level]
    if parent is None:
        if None not in allowed:
            raise ValidationFailed("orgs.region.parent_required",
                                   f"{LEVEL_NAMES[level]}级区划必须指定上级区划（{LEVEL_NAMES[allowed[0]]}级）",
                                   field="parent")
        return
    if parent.level not in allowed:
        want = "、".join(str(LEVEL_NAMES[a]) for a in allowed if a is not None)
        raise ValidationFailed(
            "orgs.region.parent_level",
            f"{LEVEL_NAMES[level]}级区划的上级应为{want}级区划，{parent.code} {parent.name} 是{LEVEL_NAMES[parent.level]}级",
            field="parent")
    if parent.level != Region.Level.CENTRAL:
        prefix = region_prefix(parent.code)
        if not code.startswith(prefix) or code == parent.code:
            raise ValidationFailed(
                "orgs.region.parent_prefix",
                f"区划编码 {code} 应以上级区划 {parent.code} 的编码前缀 {prefix} 开头", field="code")


def validate_agency_code(*, code: str, region: Region, parent: Agency | None) -> None:
    """Raise ValidationFailed (naming the field) unless `code` fits `region` and `parent`."""
    if not code or not _DIGITS.match(code):
        raise ValidationFailed("orgs.agency.bad_code", f"单位编码只能由数字组成：{code!r}", field="code")
    if parent is not None:
        if parent.region_id != region.pk:
            raise ValidationFailed(
                "orgs.agency.parent_region_mismatch",
                f"预算单位的财政区划 {region.code} 与主管部门 {parent.code} 的财政区划 {parent.region.code} 不一致",
                field="region")
        if not (code.startswith(parent.code) and len(code) == len(parent.code) + UNIT_DIGITS):
            raise ValidationFailed(
                "orgs.agency.parent_prefix",
                f"下级单位编码应为主管部门编码 {parent.code} 加 {UNIT_DIGITS} 位数字，如 {parent.code}001",
                field="code")
        return
    if code.startswith(region.code) and len(code) == len(region.code) + UNIT_DIGITS:
        return
    if code.startswith(region.code) and len(code) > len(region.code) + UNIT_DIGITS \
            and (len(code) - len(region.code)) % UNIT_DIGITS == 0:
        raise ValidationFailed(
            "orgs.agency.parent_required",
            f"单位编码 {code} 是下级单位编码，请指定主管部门（{code[:-UNIT_DIGITS]}）", field="parent")
    raise ValidationFailed(
        "orgs.agency.code_region_prefix",
        f"一级预算单位编码应为财政区划编码 {region.code} 加 {UNIT_DIGITS} 位部门编码，如 {region.code}101",
        field="code")


def _clean_name(value: str | None, *, entity: str, label: str, max_length: int, field: str = "name") -> str:
    name = (value or "").strip()
    if not name:
        raise ValidationFailed(f"orgs.{entity}.name_required", f"{label}不能为空", field=field)
    if len(name) > max_length:
        raise ValidationFailed(f"orgs.{entity}.name_too_long", f"{label}不能超过 {max_length} 个字符", field=field)
    return name


def _clean_code(value: str | None, *, entity: str, label: str, max_length: int = 30) -> str:
    code = (value or "").strip()
    if not code or not _CODE_CHARS.match(code):
        raise ValidationFailed(f"orgs.{entity}.bad_code", f"{label}只能由数字和字母组成：{code!r}", field="code")
    if len(code) > max_length:
        raise ValidationFailed(f"orgs.{entity}.bad_code", f"{label}不能超过 {max_length} 位：{code}", field="code")
    return code


# ---------------------------------------------------------------------------------------------
# Database errors → domain errors

# constraint name → (error class, code, field, message template)
_CONSTRAINTS: dict[str, tuple[type[DomainError], str, str, str]] = {
    "orgs_region_code_key": (Conflict, "orgs.region.duplicate_code", "code", "区划编码 {code} 已存在"),
    "orgs_region_code_norm_uniq": (Conflict, "orgs.region.duplicate_code", "code",
                                   "区划编码 {code} 与已有区划重复（6 位与补 000 的 9 位编码视为同一区划）"),
    "orgs_region_code_digits": (ValidationFailed, "orgs.region.bad_code", "code", "区划编码应为 6 位或 9 位数字：{code}"),
    "orgs_region_parent_prefix": (ValidationFailed, "orgs.region.parent_prefix", "code",
                                  "区划编码 {code} 不在上级区划的编码范围内"),
    "orgs_financedepartment_code_key": (Conflict, "orgs.finance_department.duplicate_code", "finance_department",
                                        "财政部门编码 {code} 已存在"),
    "orgs_financedepartment_region_id_key": (Conflict, "orgs.finance_department.exists", "region",
                                             "该财政区划已有财政部门"),
    "orgs_agency_code_key": (Conflict, "orgs.agency.duplicate_code", "code", "单位编码 {code} 已存在"),
    "orgs_agency_code_chars": (ValidationFailed, "orgs.agency.bad_code", "code", "单位编码只能由数字和字母组成：{code}"),
    "orgs_agency_parent_region": (ValidationFailed, "orgs.agency.parent_region_mismatch", "region",
                                  "预算单位与主管部门的财政区划不一致"),
    "orgs_agency_parent_prefix": (ValidationFailed, "orgs.agency.parent_prefix", "code",
                                  "单位编码 {code} 不在主管部门的编码范围内"),
    "orgs_bank_code_key": (Conflict, "orgs.bank.duplicate_code", "code", "银行编码 {code} 已存在"),
    "orgs_bankbranch_code_key": (Conflict, "orgs.branch.duplicate_code", "code", "网点编码 {code} 已存在"),
}


def _constraint_name(exc: IntegrityError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) or ""


def _insert(obj, **fmt) -> None:
    """INSERT `obj` in a savepoint; a violated constraint becomes a domain error naming the field."""
    try:
        with transaction.atomic():
            obj.save(force_insert=True)
    except IntegrityError as exc:
        name = _constraint_name(exc)
        if name not in _CONSTRAINTS:
            raise
        cls, code, field, template = _CONSTRAINTS[name]
        raise cls(code, template.format(**fmt), field=field) from None


def _locked(qs, pk: int, *, not_found: str, label: str):
    """The row `pk` of the (already restricted) queryset, locked; NotFound if absent or out of scope."""
    obj = qs.select_for_update(of=("self",)).filter(pk=pk).first()
    if obj is None:
        raise NotFound(not_found, f"{label}不存在或不在您的数据权限范围内")
    return obj


def _ensure_in_scope(user, function: str, obj, *, code: str, message: str, field: str) -> None:
    """After a write: the row must lie inside the caller's scope for `function`, else roll back."""
    if not restrict(type(obj)._default_manager.filter(pk=obj.pk), user, function).exists():
        raise PermissionDenied(code, message, field=field)


# ---------------------------------------------------------------------------------------------
# Regions and finance departments


def _default_department_name(name: str, level: int) -> str:
    if level == Region.Level.CENTRAL:
        return "财政部"
    return f"{name}财政厅" if level == Region.Level.PROVINCE else f"{name}财政局"


def create_region(*, user, code: str, name: str, level: int, parent_code: str | None = None,
                  finance_department_name: str = "") -> Region:
    """Create a region and its finance department (named ``finance_department_name`` or by default
    “<name>财政厅/局”). The new region must lie inside the caller's region-management scope."""
    require(user, REGION_MANAGE)
    code = (code or "").strip()
    name = _clean_name(name, entity="region", label="区划名称", max_length=100)
    try:
        level = int(level)
    except (TypeError, ValueError):
        raise ValidationFailed("orgs.region.bad_level", f"区划级次不正确：{level!r}", field="level") from None
    with transaction.atomic():
        parent = None
        if parent_code:
            parent = (restrict(Region.objects.all(), user, REGION_MANAGE)
                      .select_for_update(no_key=True).filter(code=parent_code.strip()).first())
            if parent is None:
                raise NotFound("orgs.region.parent_not_found",
                               f"上级区划 {parent_code} 不存在或不在您的数据权限范围内", field="parent")
        validate_region_code(code=code, level=level, parent=parent)
        if parent is not None and not parent.is_active:
            raise ValidationFailed("orgs.region.parent_inactive", f"上级区划 {parent.code} 已停用", field="parent")
        if len(code) == 9 and Agency.objects.filter(code=code).exists():
            raise ValidationFailed("orgs.region.code_is_agency",
                                   f"区划编码 {code} 与已有预算单位编码相同，会使数据权限范围重叠", field="code")
        dept_name = _clean_name(finance_department_name or _default_department_name(name, level),
                                entity="finance_department", label="财政部门名称", max_length=100,
                                field="finance_department")
        region = Region(code=code, name=name, level=level, parent=parent)
        _insert(region, code=code)
        _ensure_in_scope(user, REGION_MANAGE, region, code="orgs.region.out_of_scope",
                         message="不能在您的数据权限范围之外新增财政区划", field="parent")
        dept = FinanceDepartment(region=region, code=code, name=dept_name)
        _insert(dept, code=code)
        audit.record(user, "orgs.region.create", region)
        audit.record(user, "orgs.finance_department.create", dept)
    return region


def update_region(*, user, region_id: int, name: str | None = None,
                  finance_department_name: str | None = None) -> Region:
    """Rename a region and/or its finance department (None leaves a value as it is). Codes and
    levels do not change."""
    require(user, REGION_MANAGE)
    if name is not None:
        name = _clean_name(name, entity="region", label="区划名称", max_length=100)
    with transaction.atomic():
        region = _locked(restrict(Region.objects.all(), user, REGION_MANAGE), region_id,
                         not_found="orgs.region.not_found", label="财政区划")
        if name is not None and name != region.name:
            before = audit.snapshot(region)
            region.name = name
            region.save(update_fields=["name"])
            audit.record(user, "orgs.region.update", region, before=before)
        if finance_department_name is not None:
            dept_name = _clean_name(finance_department_name, entity="finance_department", label="财政部门名称",
                                    max_length=100, field="finance_department")
            dept = FinanceDepartment.objects.select_for_update().filter(region=region).first()
            if dept is None:
                dept = FinanceDepartment(region=region, code=region.code, name=dept_name)
                _insert(dept, code=region.code)
                audit.record(user, "orgs.finance_department.create", dept)
            elif dept.name != dept_name:
                dept_before = audit.snapshot(dept)
                dept.name = dept_name
                dept.save(update_fields=["name"])
                audit.record(user, "orgs.finance_department.update", dept, before=dept_before)
    return region


def disable_region(*, user, region_id: int) -> Region:
    """Disable a region that has no active child region and no active agency."""
    require(user, REGION_MANAGE)
    with transaction.atomic():
        region = _locked(restrict(Region.objects.all(), user, REGION_MANAGE), region_id,
                         not_found="orgs.region.not_found", label="财政区划")
        if not region.is_active:
            return region
        children = Region.objects.filter(parent=region, is_active=True).count()
        if children:
            raise Conflict("orgs.region.has_active_children",
                           f"区划 {region.code} 下还有 {children} 个启用的下级区划，请先停用下级区划",
                           field="is_active")
        agencies = Agency.objects.filter(region=region, status=Agency.Status.ACTIVE).count()
        if agencies:
            raise Conflict("orgs.region.has_active_agencies",
                           f"区划 {region.code} 下还有 {agencies} 个正常状态的预算单位，请先停用预算单位",
                           field="is_active")
        before = audit.snapshot(region)
        region.is_active = False
        region.save(update_fields=["is_active"])
        audit.record(user, "orgs.region.disable", region, before=before)
    return region


def enable_region(*, user, region_id: int) -> Region:
    """Enable a region whose parent (if any) is active."""
    require(user, REGION_MANAGE)
    with transaction.atomic():
        region = _locked(restrict(Region.objects.all(), user, REGION_MANAGE), region_id,
                         not_found="orgs.region.not_found", label="财政区划")
        if region.is_active:
            return region
        if region.parent_id is not None:
            parent = Region.objects.select_for_update(no_key=True).get(pk=region.parent_id)
            if not parent.is_active:
                raise Conflict("orgs.region.parent_inactive", f"上级区划 {parent.code} 已停用，请先启用上级区划",
                               field="parent")
        before = audit.snapshot(region)
        region.is_active = True
        region.save(update_fields=["is_active"])
        audit.record(user, "orgs.region.enable", region, before=before)
    return region


# ---------------------------------------------------------------------------------------------
# Agencies


def _agency_kind(kind: str) -> str:
    if kind not in Agency.Kind.values:
        allowed = "、".join(f"{v}（{label}）" for v, label in Agency.Kind.choices)
        raise ValidationFailed("orgs.agency.bad_kind", f"单位类型不正确：{kind!r}，应为 {allowed}", field="kind")
    return kind


def create_agency(*, user, code: str, name: str, region_code: str | None = None, parent_code: str | None = None,
                  kind: str = Agency.Kind.ADMINISTRATIVE) -> Agency:
    """Create an agency. Without ``parent_code`` it is a first-level agency (主管部门) of
    ``region_code``; with it, a subordinate in the supervising department's region (``region_code``
    may then be omitted). Region and parent are looked up inside the caller's scope for
    ``orgs.agency.manage``, and the new agency must lie inside it."""
    require(user, AGENCY_MANAGE)
    code = (code or "").strip()
    name = _clean_name(name, entity="agency", label="单位名称", max_length=200)
    kind = _agency_kind(kind)
    region_code = (region_code or "").strip()
    parent_code = (parent_code or "").strip()
    with transaction.atomic():
        parent = None
        if parent_code:
            parent = (restrict(Agency.objects.all(), user, AGENCY_MANAGE)
                      .select_for_update(no_key=True, of=("self",)).select_related("region")
                      .filter(code=parent_code).first())
            if parent is None:
                raise NotFound("orgs.agency.parent_not_found",
                               f"主管部门 {parent_code} 不存在或不在您的数据权限范围内", field="parent")
        if region_code:
            region = (restrict(Region.objects.all(), user, AGENCY_MANAGE)
                      .select_for_update(no_key=True).filter(code=region_code).first())
            if region is None:
                raise NotFound("orgs.agency.region_not_found",
                               f"财政区划 {region_code} 不存在或不在您的数据权限范围内", field="region")
        elif parent is not None:
            region = Region.objects.select_for_update(no_key=True).get(pk=parent.region_id)
        else:
            raise ValidationFailed("orgs.agency.region_required", "请指定财政区划", field="region")
        validate_agency_code(code=code, region=region, parent=parent)
        if not region.is_active:
            raise ValidationFailed("orgs.agency.region_inactive", f"财政区划 {region.code} 已停用", field="region")
        if parent is not None and parent.status != Agency.Status.ACTIVE:
            raise ValidationFailed("orgs.agency.parent_inactive", f"主管部门 {parent.code} 已停用", field="parent")
        if Region.objects.filter(code=code).exists():
            raise ValidationFailed("orgs.agency.code_is_region",
                                   f"单位编码 {code} 与财政区划编码相同，会使数据权限范围重叠", field="code")
        agency = Agency(code=code, name=name, region=region, parent=parent, kind=kind)
        _insert(agency, code=code)
        _ensure_in_scope(user, AGENCY_MANAGE, agency, code="orgs.agency.out_of_scope",
                         message="不能在您的数据权限范围之外新增预算单位", field="region")
        audit.record(user, "orgs.agency.create", agency)
    return agency


def update_agency(*, user, agency_id: int, name: str | None = None, kind: str | None = None) -> Agency:
    """Change an agency's name and/or type (None leaves a value as it is). Code, region and
    supervising department do not change."""
    require(user, AGENCY_MANAGE)
    if name is not None:
        name = _clean_name(name, entity="agency", label="单位名称", max_length=200)
    if kind is not None:
        kind = _agency_kind(kind)
    with transaction.atomic():
        agency = _locked(restrict(Agency.objects.all(), user, AGENCY_MANAGE), agency_id,
                         not_found="orgs.agency.not_found", label="预算单位")
        before = audit.snapshot(agency)
        agency.name = agency.name if name is None else name
        agency.kind = agency.kind if kind is None else kind
        agency.save(update_fields=["name", "kind"])
        audit.record(user, "orgs.agency.update", agency, before=before)
    return agency


def disable_agency(*, user, agency_id: int) -> Agency:
    """Disable an agency that has no active subordinate."""
    require(user, AGENCY_MANAGE)
    with transaction.atomic():
        agency = _locked(restrict(Agency.objects.all(), user, AGENCY_MANAGE), agency_id,
                         not_found="orgs.agency.not_found", label="预算单位")
        if agency.status == Agency.Status.DISABLED:
            return agency
        children = Agency.objects.filter(parent=agency, status=Agency.Status.ACTIVE).count()
        if children:
            raise Conflict("orgs.agency.has_active_children",
                           f"主管部门 {agency.code} 下还有 {children} 个正常状态的下级单位，请先停用下级单位",
                           field="status")
        before = audit.snapshot(agency)
        agency.status = Agency.Status.DISABLED
        agency.save(update_fields=["status"])
        audit.record(user, "orgs.agency.disable", agency, before=before)
    return agency


def enable_agency(*, user, agency_id: int) -> Agency:
    """Enable an agency whose supervising department and region are active."""
    require(user, AGENCY_MANAGE)
    with transaction.atomic():
        agency = _locked(restrict(Agency.objects.all(), user, AGENCY_MANAGE), agency_id,
                         not_found="orgs.agency.not_found", label="预算单位")
        if agency.status == Agency.Status.ACTIVE:
            return agency
        if agency.parent_id is not None:
            parent = Agency.objects.select_for_update(no_key=True).get(pk=agency.parent_id)
            if parent.status != Agency.Status.ACTIVE:
                raise Conflict("orgs.agency.parent_inactive", f"主管部门 {parent.code} 已停用，请先启用主管部门",
                               field="parent")
        region = Region.objects.select_for_update(no_key=True).get(pk=agency.region_id)
        if not region.is_active:
            raise Conflict("orgs.agency.region_inactive", f"财政区划 {region.code} 已停用", field="region")
        before = audit.snapshot(agency)
        agency.status = Agency.Status.ACTIVE
        agency.save(update_fields=["status"])
        audit.record(user, "orgs.agency.enable", agency, before=before)
    return agency


# ---------------------------------------------------------------------------------------------
# Agent banks and branches


def create_bank(*, user, code: str, name: str, is_agent: bool = True) -> Bank:
    require(user, BANK_MANAGE)
    code = _clean_code(code, entity="bank", label="银行编码")
    name = _clean_name(name, entity="bank", label="银行名称", max_length=100)
    with transaction.atomic():
        bank = Bank(code=code, name=name, is_agent=bool(is_agent))
        _insert(bank, code=code)
        _ensure_in_scope(user, BANK_MANAGE, bank, code="orgs.bank.out_of_scope",
                         message="不能在您的数据权限范围之外新增银行", field="code")
        audit.record(user, "orgs.bank.create", bank)
    return bank


def update_bank(*, user, bank_id: int, name: str | None = None, is_agent: bool | None = None) -> Bank:
    """Change a bank's name and/or agent flag (None leaves a value as it is); the code does not change."""
    require(user, BANK_MANAGE)
    if name is not None:
        name = _clean_name(name, entity="bank", label="银行名称", max_length=100)
    with transaction.atomic():
        bank = _locked(restrict(Bank.objects.all(), user, BANK_MANAGE), bank_id,
                       not_found="orgs.bank.not_found", label="银行")
        before = audit.snapshot(bank)
        bank.name = bank.name if name is None else name
        bank.is_agent = bank.is_agent if is_agent is None else bool(is_agent)
        bank.save(update_fields=["name", "is_agent"])
        audit.record(user, "orgs.bank.update", bank, before=before)
    return bank


def disable_bank(*, user, bank_id: int) -> Bank:
    """Disable a bank that has no active branch."""
    require(user, BANK_MANAGE)
    with transaction.atomic():
        bank = _locked(restrict(Bank.objects.all(), user, BANK_MANAGE), bank_id,
                       not_found="orgs.bank.not_found", label="银行")
        if not bank.is_active:
            return bank
        branches = BankBranch.objects.filter(bank=bank, is_active=True).count()
        if branches:
            raise Conflict("orgs.bank.has_active_branches",
                           f"{bank.name} 还有 {branches} 个启用的网点，请先停用网点", field="is_active")
        before = audit.snapshot(bank)
        bank.is_active = False
        bank.save(update_fields=["is_active"])
        audit.record(user, "orgs.bank.disable", bank, before=before)
    return bank


def enable_bank(*, user, bank_id: int) -> Bank:
    require(user, BANK_MANAGE)
    with transaction.atomic():
        bank = _locked(restrict(Bank.objects.all(), user, BANK_MANAGE), bank_id,
                       not_found="orgs.bank.not_found", label="银行")
        if bank.is_active:
            return bank
        before = audit.snapshot(bank)
        bank.is_active = True
        bank.save(update_fields=["is_active"])
        audit.record(user, "orgs.bank.enable", bank, before=before)
    return bank


def _branch_region(user, region_code: str) -> Region:
    region = (restrict(Region.objects.all(), user, BANK_MANAGE)
              .select_for_update(no_key=True).filter(code=region_code).first())
    if region is None:
        raise NotFound("orgs.branch.region_not_found",
                       f"财政区划 {region_code} 不存在或不在您的数据权限范围内", field="region")
    if not region.is_active:
        raise ValidationFailed("orgs.branch.region_inactive", f"财政区划 {region.code} 已停用", field="region")
    return region


def create_branch(*, user, bank_code: str, code: str, name: str, region_code: str) -> BankBranch:
    """Create a branch of a bank in a region; both must lie inside the caller's bank-management scope."""
    require(user, BANK_MANAGE)
    code = _clean_code(code, entity="branch", label="网点编码")
    name = _clean_name(name, entity="branch", label="网点名称", max_length=100)
    with transaction.atomic():
        bank = (restrict(Bank.objects.all(), user, BANK_MANAGE)
                .select_for_update(no_key=True).filter(code=(bank_code or "").strip()).first())
        if bank is None:
            raise NotFound("orgs.branch.bank_not_found", f"银行 {bank_code} 不存在或不在您的数据权限范围内",
                           field="bank")
        if not bank.is_active:
            raise ValidationFailed("orgs.branch.bank_inactive", f"{bank.name} 已停用", field="bank")
        region = _branch_region(user, (region_code or "").strip())
        branch = BankBranch(bank=bank, code=code, name=name, region=region)
        _insert(branch, code=code)
        _ensure_in_scope(user, BANK_MANAGE, branch, code="orgs.branch.out_of_scope",
                         message="不能在您的数据权限范围之外新增银行网点", field="region")
        audit.record(user, "orgs.branch.create", branch)
    return branch


def update_branch(*, user, branch_id: int, name: str | None = None, region_code: str | None = None) -> BankBranch:
    """Rename a branch and/or move it to another region inside the caller's scope (None leaves a
    value as it is)."""
    require(user, BANK_MANAGE)
    if name is not None:
        name = _clean_name(name, entity="branch", label="网点名称", max_length=100)
    with transaction.atomic():
        branch = _locked(restrict(BankBranch.objects.all(), user, BANK_MANAGE), branch_id,
                         not_found="orgs.branch.not_found", label="银行网点")
        before = audit.snapshot(branch)
        fields = ["name"]
        branch.name = branch.name if name is None else name
        if region_code and region_code.strip() != branch.region.code:
            branch.region = _branch_region(user, region_code.strip())
            fields.append("region")
        branch.save(update_fields=fields)
        _ensure_in_scope(user, BANK_MANAGE, branch, code="orgs.branch.out_of_scope",
                         message="不能把网点移出您的数据权限范围", field="region")
        audit.record(user, "orgs.branch.update", branch, before=before)
    return branch


def disable_branch(*, user, branch_id: int) -> BankBranch:
    require(user, BANK_MANAGE)
    with transaction.atomic():
        branch = _locked(restrict(BankBranch.objects.all(), user, BANK_MANAGE), branch_id,
                         not_found="orgs.branch.not_found", label="银行网点")
        if not branch.is_active:
            return branch
        before = audit.snapshot(branch)
        branch.is_active = False
        branch.save(update_fields=["is_active"])
        audit.record(user, "orgs.branch.disable", branch, before=before)
    return branch


def enable_branch(*, user, branch_id: int) -> BankBranch:
    require(user, BANK_MANAGE)
    with transaction.atomic():
        branch = _locked(restrict(BankBranch.objects.all(), user, BANK_MANAGE), branch_id,
                         not_found="orgs.branch.not_found", label="银行网点")
        if branch.is_active:
            return branch
        bank = Bank.objects.select_for_update(no_key=True).get(pk=branch.bank_id)
        if not bank.is_active:
            raise Conflict("orgs.branch.bank_inactive", f"{bank.name} 已停用，请先启用银行", field="bank")
        before = audit.snapshot(branch)
        branch.is_active = True
        branch.save(update_fields=["is_active"])
        audit.record(user, "orgs.branch.enable", branch, before=before)
    return branch
