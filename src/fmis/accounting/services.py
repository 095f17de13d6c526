"""Every write of the accounting module: account sets, periods, the chart, vouchers (entry, audit,
posting, reversal), balances, closing, posting rules and machine vouchers from business events.

Each public function is one transaction, checks the acting user's function and data scope, writes
the audit log and keeps the invariants in the database: voucher numbers come from a locked
counter row, balances move by upserts in the posting transaction, posted vouchers are guarded by
triggers and every voucher balances per basis at commit (deferred constraint trigger).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from fmis.accounting import chart as chart_data
from fmis.accounting import rules as rules_mod
from fmis.accounting.models import (
    CUSTOM_ELEMENTS,
    DICTIONARY_ELEMENTS,
    PAY_MODES,
    Account,
    AccountSet,
    AuxElement,
    AuxItem,
    Balance,
    Basis,
    EventPosting,
    FiscalYear,
    OpeningBalance,
    Period,
    PostingRule,
    PostingRuleLine,
    Voucher,
    VoucherCategory,
    VoucherLine,
    VoucherTemplate,
    VoucherTemplateLine,
)
from fmis.iam import permissions
from fmis.platform import audit
from fmis.platform.codes import CodeScheme
from fmis.platform.db import retry_on_conflict
from fmis.platform.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.jsonutil import canonical
from fmis.platform.money import ZERO, fmt, to_money

FN_SET_VIEW = "accounting.set.view"
FN_SET_MANAGE = "accounting.set.manage"
FN_VOUCHER_VIEW = "accounting.voucher.view"
FN_VOUCHER_CREATE = "accounting.voucher.create"
FN_VOUCHER_AUDIT = "accounting.voucher.audit"
FN_VOUCHER_POST = "accounting.voucher.post"
FN_VOUCHER_REVERSE = "accounting.voucher.reverse"
FN_CLOSE = "accounting.close"
FN_CHART = "accounting.chart.manage"
FN_RULE = "accounting.rule.manage"
FN_OPENING_VIEW = "accounting.opening.view"
FN_OPENING = "accounting.opening.manage"
FN_TEMPLATE = "accounting.voucher.template"
FN_RENUMBER = "accounting.voucher.renumber"
FN_CARRY = "accounting.close.carry_forward"
FN_YEAR_CLOSE = "accounting.close.year"

S = Voucher.Status


# --- helpers --------------------------------------------------------------------------------------

def _account_set(user, function: str, account_set_id, *, lock: bool = False) -> AccountSet:
    """The account set if `user` holds `function` for it; missing and out of scope alike NotFound."""
    permissions.require(user, function)
    qs = AccountSet.objects.restrict(user, function).select_related("agency", "region")
    if lock:
        qs = qs.select_for_update(of=("self",))
    obj = qs.filter(pk=account_set_id).first() if str(account_set_id).isdigit() else None
    if obj is None:
        raise NotFound("accounting.set_not_found", "账套不存在", field="account_set")
    return obj


def _voucher(user, function: str, voucher_id) -> Voucher:
    permissions.require(user, function)
    v = (Voucher.objects.restrict(user, function).select_related("account_set", "period", "category")
         .filter(pk=voucher_id).first() if str(voucher_id).isdigit() else None)
    if v is None:
        raise NotFound("accounting.voucher_not_found", "凭证不存在", field="voucher")
    return v


def aux_hash(aux: dict) -> str:
    """A stable key for an auxiliary combination ("" when there is none)."""
    if not aux:
        return ""
    return hashlib.sha256(canonical({k: aux[k] for k in sorted(aux)}).encode("utf-8")).hexdigest()


def scheme_of(account_set: AccountSet) -> CodeScheme:
    return CodeScheme.parse(account_set.code_format)


def _check_code_format(code_format: str) -> CodeScheme:
    scheme = CodeScheme.parse(code_format)
    if scheme.widths[0] != 4 or scheme.depth < 2 or scheme.widths[1] != 2:
        raise ValidationFailed("accounting.code_format_unfit",
                               f"科目编码格式 {code_format} 不适用于政府会计制度：一级科目为 4 位，二级为 2 位（如 4-2-2）",
                               field="code_format")
    return scheme


def _month_periods(year: int) -> list[tuple[int, dt.date, dt.date, bool]]:
    out = []
    for m in range(1, 13):
        start = dt.date(year, m, 1)
        end = (dt.date(year + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1))
        out.append((m, start, end, False))
    out.append((Period.ADJUSTMENT, dt.date(year, 12, 31), dt.date(year, 12, 31), True))
    return out


def _create_periods(account_set: AccountSet, year: int) -> None:
    for number, start, end, adj in _month_periods(year):
        Period.objects.get_or_create(account_set=account_set, year=year, number=number,
                                     defaults={"start_date": start, "end_date": end, "is_adjustment": adj})


# --- account sets ---------------------------------------------------------------------------------

@dataclass
class AccountSetInput:
    code: str
    name: str
    start_year: int
    agency_id: int | None = None
    region_id: int | None = None
    code_format: str = "4-2-2"
    numbering_mode: str = AccountSet.NumberingMode.PER_CATEGORY
    poster_must_differ: bool = False
    machine_auto_post: bool = True
    is_primary: bool = True
    is_enabled: bool = True
    supervisor: str = ""
    note: str = ""


def create_account_set(*, data: AccountSetInput, user) -> AccountSet:
    """A new account set with its periods for the start year, the standard chart and the 记 category."""
    permissions.require(user, FN_SET_MANAGE)
    from fmis.orgs.models import Agency, Region

    code = (data.code or "").strip()
    if not code or not code.isalnum() or not code.isascii():
        raise ValidationFailed("accounting.set_code_invalid", "账套编码只能包含数字和字母", field="code")
    if not (data.name or "").strip():
        raise ValidationFailed("accounting.set_name_required", "账套名称不能为空", field="name")
    if not 2000 <= int(data.start_year) <= 2100:
        raise ValidationFailed("accounting.year_invalid", f"启用年度不正确：{data.start_year}", field="start_year")
    if data.numbering_mode not in AccountSet.NumberingMode.values:
        raise ValidationFailed("accounting.numbering_mode_invalid", "凭证编号方式不正确", field="numbering_mode")
    _check_code_format(data.code_format)
    agency = region = None
    if data.agency_id:
        agency = (Agency.objects.restrict(user, FN_SET_MANAGE).select_related("region")
                  .filter(pk=data.agency_id).first())
        if agency is None:
            raise NotFound("accounting.agency_not_found", "预算单位不存在", field="agency")
        region = agency.region
    elif data.region_id:
        region = Region.objects.restrict(user, FN_SET_MANAGE).filter(pk=data.region_id).first()
        if region is None:
            raise NotFound("accounting.region_not_found", "财政区划不存在", field="region")
    else:
        raise ValidationFailed("accounting.entity_required", "请选择会计主体（预算单位或财政部门所在区划）",
                               field="agency")
    try:
        with transaction.atomic():
            aset = AccountSet.objects.create(
                code=code, name=data.name.strip(), agency=agency, region=region, start_year=int(data.start_year),
                code_format=data.code_format.strip(), numbering_mode=data.numbering_mode,
                poster_must_differ=data.poster_must_differ, machine_auto_post=data.machine_auto_post,
                is_primary=data.is_primary, is_enabled=data.is_enabled, supervisor=data.supervisor.strip(),
                note=data.note.strip())
            _create_periods(aset, aset.start_year)
            load_chart(aset)
            VoucherCategory.objects.create(account_set=aset, code="01", name="记账凭证", word="记", is_default=True)
            audit.record(user, "accounting.set.create", aset)
    except IntegrityError as exc:
        text = str(exc)
        if "acc_set_one_primary" in text:
            raise Conflict("accounting.set_primary_exists", "该会计主体已有主账套", field="is_primary") from None
        raise Conflict("accounting.set_code_exists", f"账套编码 {code} 已存在", field="code") from None
    return aset


def update_account_set(*, account_set_id: int, user, name: str | None = None, supervisor: str | None = None,
                       poster_must_differ: bool | None = None, machine_auto_post: bool | None = None,
                       is_enabled: bool | None = None, note: str | None = None,
                       carry_in_adjustment: bool | None = None) -> AccountSet:
    """Change an account set's settings (code, entity, format and numbering are fixed once created)."""
    with transaction.atomic():
        aset = _account_set(user, FN_SET_MANAGE, account_set_id, lock=True)
        before = audit.snapshot(aset)
        if name is not None:
            if not name.strip():
                raise ValidationFailed("accounting.set_name_required", "账套名称不能为空", field="name")
            aset.name = name.strip()
        if supervisor is not None:
            aset.supervisor = supervisor.strip()
        if note is not None:
            aset.note = note.strip()
        for attr, value in (("poster_must_differ", poster_must_differ), ("machine_auto_post", machine_auto_post),
                            ("is_enabled", is_enabled), ("carry_in_adjustment", carry_in_adjustment)):
            if value is not None:
                setattr(aset, attr, bool(value))
        aset.save()
        audit.record(user, "accounting.set.update", aset, before=before)
    return aset


def open_year(*, account_set_id: int, year: int, user) -> list[Period]:
    """Create the periods of the year after the last one (periods stay continuous)."""
    with transaction.atomic():
        aset = _account_set(user, FN_SET_MANAGE, account_set_id, lock=True)
        last = aset.periods.aggregate(y=Max("year"))["y"]
        if int(year) != last + 1:
            raise ValidationFailed("accounting.year_not_next", f"只能新增 {last + 1} 年度的会计期间", field="year")
        _create_periods(aset, int(year))
        audit.record(user, "accounting.period.open_year", aset, after={"year": int(year)})
    return list(aset.periods.filter(year=year))


def load_chart(account_set: AccountSet) -> int:
    """Load the standard chart into `account_set`; existing codes are left alone. Returns how many
    accounts were added. Internal: the caller holds the permission and the transaction."""
    scheme = scheme_of(account_set)
    existing = {a.code: a for a in Account.objects.filter(account_set=account_set)}
    added = 0
    for e in chart_data.standard_chart():
        if e.code in existing:
            continue
        parent = existing.get(e.parent) if e.parent else None
        acc = Account.objects.create(
            account_set=account_set, code=e.code, name=e.name,
            full_name=f"{parent.full_name}/{e.name}" if parent else e.name, parent=parent,
            level=scheme.level(e.code), is_leaf=True, basis=e.basis, category=e.category, direction=e.direction,
            property=e.property, aux_elements=list(e.aux_elements))
        if parent is not None and parent.is_leaf:
            Account.objects.filter(pk=parent.pk).update(is_leaf=False)
            parent.is_leaf = False
        existing[e.code] = acc
        added += 1
    return added


def reload_standard_chart(*, account_set_id: int, user) -> int:
    """Add the standard accounts missing from an account set's chart (idempotent)."""
    with transaction.atomic():
        aset = _account_set(user, FN_CHART, account_set_id, lock=True)
        added = load_chart(aset)
        audit.record(user, "accounting.chart.load_standard", aset, after={"added": added})
    return added


# --- chart maintenance ----------------------------------------------------------------------------

def _account_used(account: Account) -> bool:
    return (VoucherLine.objects.filter(account=account).exists()
            or Balance.objects.filter(account=account).exists()
            or OpeningBalance.objects.filter(account=account).exists()
            or VoucherTemplateLine.objects.filter(account=account).exists())


def _check_elements(elements, *, field: str = "aux_elements") -> list[str]:
    out = []
    for e in elements or []:
        if e not in AuxElement.values:
            raise ValidationFailed("accounting.aux_element_unknown", f"辅助核算要素 {e} 不存在", field=field)
        if e not in out:
            out.append(e)
    return out


def add_account(*, account_set_id: int, code: str, name: str, user, direction: str | None = None,
                property: str = Account.Property.NORMAL, aux_elements: list[str] | None = None) -> Account:
    """A sub-account under an existing account (the parent must have no postings yet)."""
    with transaction.atomic():
        aset = _account_set(user, FN_CHART, account_set_id)
        scheme = scheme_of(aset)
        code = (code or "").strip()
        if not code.isdigit():
            raise ValidationFailed("accounting.account_code_digits", "科目编码只能是数字", field="code")
        level = scheme.level(code)
        if level == 1:
            raise ValidationFailed("accounting.account_top_level", "一级科目由会计制度规定，不能新增", field="code")
        parent_code = scheme.parent(code)
        parent = (Account.objects.select_for_update().filter(account_set=aset, code=parent_code).first())
        if parent is None:
            raise ValidationFailed("accounting.account_parent_missing", f"上级科目 {parent_code} 不存在", field="code")
        if not (name or "").strip():
            raise ValidationFailed("accounting.account_name_required", "科目名称不能为空", field="name")
        if parent.is_leaf and _account_used(parent):
            raise Conflict("accounting.account_parent_used",
                           f"上级科目 {parent.code} 已有凭证或余额，不能再增加下级科目", field="code")
        elements = _check_elements(parent.aux_elements if aux_elements is None else aux_elements)
        extra = [e for e in elements if e not in parent.aux_elements]
        if extra:
            raise ValidationFailed("accounting.aux_not_subset",
                                   f"下级科目的辅助核算要素必须是上级科目的子集：{'、'.join(extra)} 不在上级科目中",
                                   field="aux_elements")
        if direction not in (None, "", "debit", "credit"):
            raise ValidationFailed("accounting.direction_invalid", "余额方向只能是借或贷", field="direction")
        if property not in Account.Property.values:
            raise ValidationFailed("accounting.property_invalid", "科目属性不正确", field="property")
        try:
            with transaction.atomic():
                acc = Account.objects.create(
                    account_set=aset, code=code, name=name.strip(), full_name=f"{parent.full_name}/{name.strip()}",
                    parent=parent, level=level, is_leaf=True, basis=parent.basis, category=parent.category,
                    direction=direction or parent.direction, property=property, aux_elements=elements)
        except IntegrityError:
            raise Conflict("accounting.account_exists", f"科目编码 {code} 已存在", field="code") from None
        Account.objects.filter(pk=parent.pk).update(is_leaf=False)
        audit.record(user, "accounting.account.create", acc)
    return acc


def update_account(*, account_id: int, user, name: str | None = None, direction: str | None = None,
                   property: str | None = None, aux_elements: list[str] | None = None,
                   is_active: bool | None = None) -> Account:
    """Rename, re-type or change the elements of an account. Direction and elements are fixed once
    the account (or one below it) has postings; a child's elements stay a subset of its parent's."""
    permissions.require(user, FN_CHART)
    with transaction.atomic():
        acc = (Account.objects.restrict(user, FN_CHART).select_for_update(of=("self",))
               .filter(pk=account_id).first() if str(account_id).isdigit() else None)
        if acc is None:
            raise NotFound("accounting.account_not_found", "科目不存在", field="account")
        before = audit.snapshot(acc)
        subtree = Account.objects.filter(account_set_id=acc.account_set_id, code__startswith=acc.code)
        used = (VoucherLine.objects.filter(account__in=subtree).exists()
                or Balance.objects.filter(account__in=subtree).exists())
        if direction is not None and direction != acc.direction:
            if direction not in ("debit", "credit"):
                raise ValidationFailed("accounting.direction_invalid", "余额方向只能是借或贷", field="direction")
            if used:
                raise Conflict("accounting.account_used", f"科目 {acc.code} 已有数据，不能修改余额方向", field="direction")
            acc.direction = direction
        if aux_elements is not None:
            elements = _check_elements(aux_elements)
            if set(elements) != set(acc.aux_elements):
                if used:
                    raise Conflict("accounting.account_used", f"科目 {acc.code} 已有数据，不能修改辅助核算要素",
                                   field="aux_elements")
                if acc.parent_id:
                    parent_elements = Account.objects.get(pk=acc.parent_id).aux_elements
                    extra = [e for e in elements if e not in parent_elements]
                    if extra:
                        raise ValidationFailed("accounting.aux_not_subset",
                                               f"辅助核算要素必须是上级科目的子集：{'、'.join(extra)} 不在上级科目中",
                                               field="aux_elements")
                added = [e for e in elements if e not in acc.aux_elements]
                for child in subtree.exclude(pk=acc.pk).select_for_update():
                    child.aux_elements = [e for e in child.aux_elements if e in elements] + \
                        [e for e in added if e not in child.aux_elements]
                    child.save(update_fields=["aux_elements"])
                acc.aux_elements = elements
        if property is not None:
            if property not in Account.Property.values:
                raise ValidationFailed("accounting.property_invalid", "科目属性不正确", field="property")
            acc.property = property
        if is_active is not None:
            acc.is_active = bool(is_active)
        if name is not None and name.strip() and name.strip() != acc.name:
            acc.name = name.strip()
            parent_full = Account.objects.get(pk=acc.parent_id).full_name if acc.parent_id else ""
            acc.full_name = f"{parent_full}/{acc.name}" if parent_full else acc.name
            full_names = {acc.pk: acc.full_name}
            for child in subtree.exclude(pk=acc.pk).order_by("code").select_for_update():
                child.full_name = f"{full_names[child.parent_id]}/{child.name}"
                full_names[child.pk] = child.full_name
                child.save(update_fields=["full_name"])
        acc.save()
        audit.record(user, "accounting.account.update", acc, before=before)
    return acc


def delete_account(*, account_id: int, user) -> None:
    """Delete a leaf account that no voucher, balance or sub-account references."""
    permissions.require(user, FN_CHART)
    with transaction.atomic():
        acc = (Account.objects.restrict(user, FN_CHART).select_for_update(of=("self",))
               .filter(pk=account_id).first() if str(account_id).isdigit() else None)
        if acc is None:
            raise NotFound("accounting.account_not_found", "科目不存在", field="account")
        if acc.level == 1:
            raise Conflict("accounting.account_top_level", "一级科目由会计制度规定，不能删除", field="account")
        if acc.children.exists():
            raise Conflict("accounting.account_has_children", f"科目 {acc.code} 有下级科目，请先删除下级", field="account")
        if _account_used(acc):
            raise Conflict("accounting.account_used", f"科目 {acc.code} 已被凭证或余额引用，不能删除", field="account")
        before = audit.snapshot(acc)
        parent_id = acc.parent_id
        acc.delete()
        if parent_id and not Account.objects.filter(parent_id=parent_id).exists():
            Account.objects.filter(pk=parent_id).update(is_leaf=True)
        audit.record(user, "accounting.account.delete", None, before=before, object_type="accounting.account",
                     object_id=account_id, object_repr=before["code"])


def add_category(*, account_set_id: int, code: str, name: str, word: str, user) -> VoucherCategory:
    with transaction.atomic():
        aset = _account_set(user, FN_CHART, account_set_id)
        if not code.strip() or not name.strip() or not word.strip():
            raise ValidationFailed("accounting.category_incomplete", "类别代码、名称和凭证字都不能为空", field="code")
        try:
            with transaction.atomic():
                cat = VoucherCategory.objects.create(account_set=aset, code=code.strip(), name=name.strip(),
                                                     word=word.strip())
        except IntegrityError:
            raise Conflict("accounting.category_exists", f"凭证类别 {code} 已存在", field="code") from None
        audit.record(user, "accounting.category.create", cat)
    return cat


def add_aux_item(*, account_set_id: int, element: str, code: str, name: str, user) -> AuxItem:
    """A value of a custom auxiliary element (项目, 部门, 往来单位)."""
    with transaction.atomic():
        aset = _account_set(user, FN_CHART, account_set_id)
        if element not in CUSTOM_ELEMENTS:
            raise ValidationFailed("accounting.aux_not_custom", f"辅助核算要素 {element} 的值由数据字典维护",
                                   field="element")
        if not code.strip() or not name.strip():
            raise ValidationFailed("accounting.aux_item_incomplete", "编码和名称不能为空", field="code")
        item, created = AuxItem.objects.get_or_create(account_set=aset, element=element, code=code.strip(),
                                                      defaults={"name": name.strip()})
        if not created:
            raise Conflict("accounting.aux_item_exists", f"{AuxElement(element).label} {code} 已存在", field="code")
        audit.record(user, "accounting.aux_item.create", item)
    return item


# --- vouchers: validation -------------------------------------------------------------------------

@dataclass
class LineInput:
    account_code: str
    debit: Decimal | str | int = ZERO
    credit: Decimal | str | int = ZERO
    summary: str = ""
    aux: dict = field(default_factory=dict)


@dataclass
class _Line:
    line_no: int
    summary: str
    account: Account
    debit: Decimal
    credit: Decimal
    aux: dict


def _validate_aux(aset: AccountSet, account: Account, aux: dict, n: int, *, create_custom: bool) -> dict:
    from fmis.dictionary.selectors import validate_value

    if not isinstance(aux, dict):
        raise ValidationFailed("accounting.aux_invalid", f"第 {n} 行：辅助核算格式不正确", field="aux", line=n)
    out = {}
    for element, value in aux.items():
        value = str(value if value is not None else "").strip()
        if not value:
            continue
        if element not in account.aux_elements:
            label = AuxElement(element).label if element in AuxElement.values else element
            raise ValidationFailed("accounting.aux_not_enabled",
                                   f"第 {n} 行：科目 {account.code} 未启用辅助核算“{label}”", field="aux", line=n)
        if element in DICTIONARY_ELEMENTS:
            try:
                validate_value(element_code=DICTIONARY_ELEMENTS[element], code=value, field="aux")
            except ValidationFailed as exc:
                raise ValidationFailed(exc.code, f"第 {n} 行：{exc.message}", field="aux", line=n) from None
        elif element == AuxElement.PAY_MODE:
            if value not in PAY_MODES:
                raise ValidationFailed("accounting.pay_mode_invalid", f"第 {n} 行：支付方式 {value} 不正确",
                                       field="aux", line=n)
        elif element in CUSTOM_ELEMENTS:
            if create_custom:
                AuxItem.objects.get_or_create(account_set=aset, element=element, code=value[:60],
                                              defaults={"name": value[:200]})
            elif not AuxItem.objects.filter(account_set=aset, element=element, code=value, is_active=True).exists():
                raise ValidationFailed("accounting.aux_item_missing",
                                       f"第 {n} 行：{AuxElement(element).label} {value} 不存在", field="aux", line=n)
        elif element == AuxElement.INDICATOR and (len(value) > 60):
            raise ValidationFailed("accounting.aux_invalid", f"第 {n} 行：指标编号过长", field="aux", line=n)
        out[element] = value
    return out


def _validate_lines(aset: AccountSet, lines: list[LineInput], *, allow_red: bool = False,
                    create_custom: bool = False, default_summary: str = "") -> list[_Line]:
    if not lines or len(lines) < 2:
        raise ValidationFailed("accounting.voucher_too_few_lines", "凭证至少需要两行分录", field="lines")
    if len(lines) > 999:
        raise ValidationFailed("accounting.voucher_too_many_lines", "凭证分录不能超过 999 行", field="lines")
    codes = {str(li.account_code).strip() for li in lines}
    accounts = {a.code: a for a in Account.objects.filter(account_set=aset, code__in=codes)}
    out: list[_Line] = []
    for n, li in enumerate(lines, start=1):
        code = str(li.account_code or "").strip()
        acc = accounts.get(code)
        if acc is None:
            raise ValidationFailed("accounting.account_not_found", f"第 {n} 行：科目 {code or '（空）'} 不存在",
                                   field="account", line=n)
        if not acc.is_leaf:
            raise ValidationFailed("accounting.account_not_leaf",
                                   f"第 {n} 行：科目 {acc.code} {acc.name} 不是末级科目，请选择其下级科目",
                                   field="account", line=n)
        if not acc.is_active:
            raise ValidationFailed("accounting.account_inactive", f"第 {n} 行：科目 {acc.code} 已停用",
                                   field="account", line=n)
        debit = to_money(li.debit if li.debit not in (None, "") else ZERO, field="debit")
        credit = to_money(li.credit if li.credit not in (None, "") else ZERO, field="credit")
        if (debit != 0) == (credit != 0):
            raise ValidationFailed("accounting.line_one_side", f"第 {n} 行：借方金额和贷方金额必须且只能填写一个",
                                   field="debit", line=n)
        if not allow_red and (debit < 0 or credit < 0):
            raise ValidationFailed("accounting.line_negative", f"第 {n} 行：金额必须大于零", field="debit", line=n)
        summary = (li.summary or default_summary or "").strip()[:200]
        if not summary:
            raise ValidationFailed("accounting.summary_required", f"第 {n} 行：摘要不能为空", field="summary", line=n)
        aux = _validate_aux(aset, acc, li.aux or {}, n, create_custom=create_custom)
        out.append(_Line(n, summary, acc, debit, credit, aux))
    for basis, label in ((Basis.FINANCIAL, "财务会计"), (Basis.BUDGETARY, "预算会计")):
        d = sum((x.debit for x in out if x.account.basis == basis), ZERO)
        c = sum((x.credit for x in out if x.account.basis == basis), ZERO)
        if d != c:
            raise ValidationFailed("accounting.voucher_unbalanced",
                                   f"{label}分录借贷不平衡：借方 {fmt(d)}，贷方 {fmt(c)}，差额 {fmt(d - c)}",
                                   field="lines", basis=str(basis))
    return out


def _period_for(aset: AccountSet, date: dt.date, period_number: int | None, *, for_share: bool = True) -> Period:
    number = period_number or date.month
    period = Period.objects.filter(account_set=aset, year=date.year, number=number).first()
    if period is None:
        raise ValidationFailed("accounting.period_missing", f"账套 {aset.code} 没有 {date.year} 年第 {number} 期",
                               field="date")
    if number != Period.ADJUSTMENT and not (period.start_date <= date <= period.end_date):
        raise ValidationFailed("accounting.date_outside_period", f"凭证日期 {date} 不在会计期间 {period} 内",
                               field="date")
    if number == Period.ADJUSTMENT and date != period.end_date:
        raise ValidationFailed("accounting.date_outside_period", "调整期凭证的日期应为年末最后一天", field="date")
    if for_share:
        _lock_period_open(period)
    return period


def _lock_period_open(period: Period) -> None:
    """Hold a share lock on the period row until commit (closing takes the row exclusively), and
    refuse a closed period."""
    with connection.cursor() as cur:
        cur.execute("SELECT status FROM accounting_period WHERE id = %s FOR SHARE", [period.pk])
        row = cur.fetchone()
    if row is None or row[0] != Period.Status.OPEN:
        raise Conflict("accounting.period_closed", f"会计期间 {period} 已结账，不能录入或登账", field="period")


def _next_number(period: Period, series: str) -> int:
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO accounting_vouchercounter (period_id, series, last) VALUES (%s, %s, 1) "
            "ON CONFLICT (period_id, series) DO UPDATE SET last = accounting_vouchercounter.last + 1 "
            "RETURNING last", [period.pk, series])
        return cur.fetchone()[0]


def _series(aset: AccountSet, category: VoucherCategory) -> str:
    if aset.numbering_mode == AccountSet.NumberingMode.PER_PERIOD:
        return Voucher.PER_PERIOD_SERIES
    return category.code


def _category(aset: AccountSet, category_id) -> VoucherCategory:
    qs = VoucherCategory.objects.filter(account_set=aset)
    cat = qs.filter(pk=category_id).first() if category_id else qs.filter(is_default=True).first()
    if cat is None:
        cat = qs.order_by("code").first()
    if cat is None:
        raise ValidationFailed("accounting.category_missing", "凭证类别不存在", field="category")
    return cat


def _write_lines(voucher: Voucher, lines: list[_Line]) -> None:
    VoucherLine.objects.bulk_create([
        VoucherLine(voucher=voucher, line_no=x.line_no, summary=x.summary, account=x.account, basis=x.account.basis,
                    debit=x.debit, credit=x.credit, aux=x.aux, aux_hash=aux_hash(x.aux)) for x in lines])


def _insert_voucher(*, aset: AccountSet, period: Period, date: dt.date, category: VoucherCategory,
                    lines: list[_Line], attachments: int, user, **extra) -> Voucher:
    series = _series(aset, category)
    number = _next_number(period, series)
    total = sum((x.debit for x in lines), ZERO)
    total_credit = sum((x.credit for x in lines), ZERO)
    v = Voucher.objects.create(
        account_set=aset, period=period, fiscal_year=period.year, date=date, category=category, series=series,
        number=number, attachments=attachments, summary=lines[0].summary, status=S.ENTERED, debit_total=total,
        credit_total=total_credit, entered_by=user, **extra)
    _write_lines(v, lines)
    return v


def _check_attachments(attachments) -> int:
    try:
        n = int(attachments or 0)
    except (TypeError, ValueError):
        n = -1
    if not 0 <= n <= 9999:
        raise ValidationFailed("accounting.attachments_invalid", "附单据数应为 0–9999 的整数", field="attachments")
    return n


# --- vouchers: entry ------------------------------------------------------------------------------

@retry_on_conflict
def create_voucher(*, account_set_id: int, date: dt.date, lines: list[LineInput], user, category_id: int | None = None,
                   attachments: int = 0, period_number: int | None = None) -> Voucher:
    """Enter a voucher (已录入); its number is the next in its series, gap-free."""
    with transaction.atomic():
        aset = _account_set(user, FN_VOUCHER_CREATE, account_set_id)
        if not aset.is_enabled:
            raise Conflict("accounting.set_disabled", f"账套 {aset.code} 未启用", field="account_set")
        attachments = _check_attachments(attachments)
        checked = _validate_lines(aset, lines)
        period = _period_for(aset, date, period_number)
        category = _category(aset, category_id)
        v = _insert_voucher(aset=aset, period=period, date=date, category=category, lines=checked,
                            attachments=attachments, user=user)
        audit.record(user, "accounting.voucher.create", v, after={**audit.snapshot(v), "lines": _lines_snapshot(v)})
    return v


def _lines_snapshot(v: Voucher) -> list[dict]:
    return [{"line_no": x.line_no, "account": x.account.code, "summary": x.summary, "debit": x.debit,
             "credit": x.credit, "aux": x.aux} for x in v.lines.select_related("account").order_by("line_no")]


def _lock_own_entered(user, voucher_id, function: str) -> Voucher:
    v = _voucher(user, function, voucher_id)
    locked = Voucher.objects.select_for_update().get(pk=v.pk)
    if locked.status != S.ENTERED:
        raise Conflict("accounting.voucher_not_editable",
                       f"凭证 {v} 当前为“{locked.get_status_display()}”，已审核或已登账的凭证不能修改或删除", field="status")
    if locked.entered_by_id != user.pk and not user.is_superuser:
        raise PermissionDenied("accounting.not_entrant", "只有制单人可以修改或删除凭证")
    locked.account_set, locked.period, locked.category = v.account_set, v.period, v.category
    return locked


@retry_on_conflict
def update_voucher(*, voucher_id: int, lines: list[LineInput], user, date: dt.date | None = None,
                   attachments: int | None = None) -> Voucher:
    """Replace an entered voucher's lines (and date within the same period, attachments)."""
    with transaction.atomic():
        v = _lock_own_entered(user, voucher_id, FN_VOUCHER_CREATE)
        before = {**audit.snapshot(v), "lines": _lines_snapshot(v)}
        aset = v.account_set
        checked = _validate_lines(aset, lines)
        _lock_period_open(v.period)
        if date is not None and date != v.date:
            if v.period.is_adjustment or not (v.period.start_date <= date <= v.period.end_date):
                raise ValidationFailed("accounting.date_outside_period", f"凭证日期 {date} 不在会计期间 {v.period} 内",
                                       field="date")
            v.date = date
        if attachments is not None:
            v.attachments = _check_attachments(attachments)
        v.lines.all().delete()
        _write_lines(v, checked)
        v.summary = checked[0].summary
        v.debit_total = sum((x.debit for x in checked), ZERO)
        v.credit_total = sum((x.credit for x in checked), ZERO)
        v.save()
        audit.record(user, "accounting.voucher.update", v, before=before,
                     after={**audit.snapshot(v), "lines": _lines_snapshot(v)})
    return v


@retry_on_conflict
def delete_voucher(*, voucher_id: int, user) -> None:
    """Delete an entered voucher; later unposted vouchers of its series move up one number so the
    numbers stay gap-free (refused when a later voucher of the series is already posted)."""
    with transaction.atomic():
        v = _lock_own_entered(user, voucher_id, FN_VOUCHER_CREATE)
        with connection.cursor() as cur:
            cur.execute("SELECT last FROM accounting_vouchercounter WHERE period_id = %s AND series = %s FOR UPDATE",
                        [v.period_id, v.series])
        later = Voucher.objects.filter(period_id=v.period_id, series=v.series, number__gt=v.number)
        if later.filter(status=S.POSTED).exists():
            raise Conflict("accounting.voucher_later_posted",
                           f"凭证 {v} 之后已有登账凭证，不能删除（删除会造成断号），请改为红字冲销或修改", field="voucher")
        before = {**audit.snapshot(v), "lines": _lines_snapshot(v)}
        v.lines.all().delete()
        v.delete()
        with connection.cursor() as cur:
            cur.execute("UPDATE accounting_voucher SET number = number - 1 "
                        "WHERE period_id = %s AND series = %s AND number > %s", [v.period_id, v.series, v.number])
            cur.execute("UPDATE accounting_vouchercounter SET last = last - 1 WHERE period_id = %s AND series = %s",
                        [v.period_id, v.series])
        audit.record(user, "accounting.voucher.delete", None, before=before, object_type="accounting.voucher",
                     object_id=voucher_id, object_repr=str(before.get("number")))


# --- vouchers: audit, post, reverse ---------------------------------------------------------------

def _transition(v: Voucher, *, expect: str, to: str, **values) -> None:
    n = Voucher.objects.filter(pk=v.pk, status=expect).update(status=to, **values)
    if n == 0:
        current = Voucher.objects.filter(pk=v.pk).values_list("status", flat=True).first()
        label = S(current).label if current else "不存在"
        raise Conflict("accounting.voucher_status_changed",
                       f"凭证 {v} 当前为“{label}”，不能执行此操作，请刷新后重试", field="status", status=current)


@retry_on_conflict
def audit_voucher(*, voucher_id: int, user) -> Voucher:
    with transaction.atomic():
        v = _voucher(user, FN_VOUCHER_AUDIT, voucher_id)
        if v.entered_by_id is not None and v.entered_by_id == user.pk:
            raise PermissionDenied("accounting.auditor_is_entrant", "审核人不能是制单人本人")
        before = audit.snapshot(v)
        _transition(v, expect=S.ENTERED, to=S.AUDITED, audited_by=user, audited_at=timezone.now())
        v.refresh_from_db()
        audit.record(user, "accounting.voucher.audit", v, before=before)
    return v


@retry_on_conflict
def unaudit_voucher(*, voucher_id: int, user) -> Voucher:
    with transaction.atomic():
        v = _voucher(user, FN_VOUCHER_AUDIT, voucher_id)
        before = audit.snapshot(v)
        if v.status == S.POSTED:
            raise Conflict("accounting.voucher_posted", f"凭证 {v} 已登账，请先取消登账", field="status")
        _transition(v, expect=S.AUDITED, to=S.ENTERED, audited_by=None, audited_at=None)
        v.refresh_from_db()
        audit.record(user, "accounting.voucher.unaudit", v, before=before)
    return v


def apply_balances(v: Voucher, sign: int) -> None:
    """Move the balance rows of the voucher's period and every later period of the year by the
    voucher's posted amounts (sign +1 posting, −1 un-posting): one upsert, keys in a fixed order."""
    groups: dict[tuple[int, str], list] = {}
    for line in VoucherLine.objects.filter(voucher=v).order_by("account_id", "aux_hash", "line_no"):
        g = groups.setdefault((line.account_id, line.aux_hash), [line.aux, ZERO, ZERO])
        g[1] += line.debit
        g[2] += line.credit
    if not groups:
        return
    values_sql, params = [], []
    for (account_id, ahash), (aux, d, c) in sorted(groups.items()):
        values_sql.append("(%s::bigint, %s::varchar, %s::jsonb, %s::numeric, %s::numeric)")
        params += [account_id, ahash, canonical(aux), d * sign, c * sign]
    sql = f"""
        INSERT INTO accounting_balance
            (account_set_id, period_id, account_id, aux_hash, aux, opening, debit, credit, cum_debit, cum_credit,
             closing)
        SELECT %s, p.id, v.account_id, v.aux_hash, v.aux,
               CASE WHEN p.number = %s THEN 0 ELSE v.d - v.c END,
               CASE WHEN p.number = %s THEN v.d ELSE 0 END,
               CASE WHEN p.number = %s THEN v.c ELSE 0 END,
               v.d, v.c, v.d - v.c
        FROM accounting_period p
        CROSS JOIN (VALUES {", ".join(values_sql)}) AS v(account_id, aux_hash, aux, d, c)
        WHERE p.account_set_id = %s AND p.year = %s AND p.number >= %s
        ORDER BY v.account_id, v.aux_hash, p.number
        ON CONFLICT (period_id, account_id, aux_hash) DO UPDATE SET
            opening = accounting_balance.opening + EXCLUDED.opening,
            debit = accounting_balance.debit + EXCLUDED.debit,
            credit = accounting_balance.credit + EXCLUDED.credit,
            cum_debit = accounting_balance.cum_debit + EXCLUDED.cum_debit,
            cum_credit = accounting_balance.cum_credit + EXCLUDED.cum_credit,
            closing = accounting_balance.closing + EXCLUDED.closing
    """
    period = v.period
    with connection.cursor() as cur:
        cur.execute(sql, [v.account_set_id, period.number, period.number, period.number, *params,
                          v.account_set_id, period.year, period.number])


def _post(v: Voucher, user) -> None:
    _lock_period_open(v.period)
    _transition(v, expect=S.AUDITED, to=S.POSTED, posted_by=user, posted_at=timezone.now())
    apply_balances(v, +1)


@retry_on_conflict
def post_voucher(*, voucher_id: int, user) -> Voucher:
    """登账: audited → posted; the balances move in the same transaction."""
    with transaction.atomic():
        v = _voucher(user, FN_VOUCHER_POST, voucher_id)
        if v.status == S.ENTERED:
            raise Conflict("accounting.voucher_not_audited", f"凭证 {v} 尚未审核，不能登账", field="status")
        if v.account_set.poster_must_differ and v.entered_by_id == user.pk:
            raise PermissionDenied("accounting.poster_is_entrant", "本账套要求记账人不能是制单人本人")
        before = audit.snapshot(v)
        _post(v, user)
        v.refresh_from_db()
        audit.record(user, "accounting.voucher.post", v, before=before)
    return v


@retry_on_conflict
def unpost_voucher(*, voucher_id: int, user) -> Voucher:
    """取消登账: posted → audited; the balances move back in the same transaction."""
    with transaction.atomic():
        v = _voucher(user, FN_VOUCHER_POST, voucher_id)
        before = audit.snapshot(v)
        _lock_period_open(v.period)
        _transition(v, expect=S.POSTED, to=S.AUDITED, posted_by=None, posted_at=None)
        apply_balances(v, -1)
        v.refresh_from_db()
        audit.record(user, "accounting.voucher.unpost", v, before=before)
    return v


@retry_on_conflict
def reverse_voucher(*, voucher_id: int, user, date: dt.date | None = None) -> Voucher:
    """红字冲销: a new voucher (已录入) dated today with the posted voucher's lines negated, linked."""
    with transaction.atomic():
        original = _voucher(user, FN_VOUCHER_REVERSE, voucher_id)
        permissions.require(user, FN_VOUCHER_CREATE)
        if original.status != S.POSTED:
            raise Conflict("accounting.voucher_not_posted", f"凭证 {original} 尚未登账，请直接修改或删除", field="status")
        if Voucher.objects.filter(reversal_of=original).exists():
            raise Conflict("accounting.voucher_already_reversed", f"凭证 {original} 已被冲销", field="voucher")
        if original.reversal_of_id:
            raise Conflict("accounting.voucher_is_reversal", f"凭证 {original} 本身是冲销凭证，不能再冲销", field="voucher")
        aset = original.account_set
        on = date or timezone.localdate()
        period = _period_for(aset, on, None)
        summary_prefix = f"冲销 {original.display_no} "
        lines = [LineInput(account_code=x.account.code, debit=-x.debit, credit=-x.credit,
                           summary=(summary_prefix + x.summary)[:200], aux=x.aux)
                 for x in original.lines.select_related("account").order_by("line_no")]
        checked = _validate_lines(aset, lines, allow_red=True, create_custom=True)
        try:
            with transaction.atomic():
                v = _insert_voucher(aset=aset, period=period, date=on, category=original.category, lines=checked,
                                    attachments=0, user=user, reversal_of=original,
                                    source_type=original.source_type, source_id=original.source_id,
                                    source_no=original.source_no)
        except IntegrityError:
            raise Conflict("accounting.voucher_already_reversed", f"凭证 {original} 已被冲销", field="voucher") from None
        audit.record(user, "accounting.voucher.reverse", v, after={**audit.snapshot(v), "lines": _lines_snapshot(v)})
    return v


# --- closing --------------------------------------------------------------------------------------

def period_check(period: Period) -> list[str]:
    """Why `period` cannot be closed (empty: it can)."""
    problems = []
    earlier_open = Period.objects.filter(account_set_id=period.account_set_id, status=Period.Status.OPEN).filter(
        year__lt=period.year).exists() or Period.objects.filter(
        account_set_id=period.account_set_id, year=period.year, number__lt=period.number,
        status=Period.Status.OPEN).exists()
    if earlier_open:
        problems.append("之前的会计期间尚未结账")
    pending = Voucher.objects.filter(period=period).exclude(status=S.POSTED)
    n_entered = pending.filter(status=S.ENTERED).count()
    n_audited = pending.filter(status=S.AUDITED).count()
    if n_entered:
        problems.append(f"有 {n_entered} 张凭证未审核")
    if n_audited:
        problems.append(f"有 {n_audited} 张凭证已审核未登账")
    problems += [f"凭证号不连续：{g}" for g in number_gaps(period)]
    problems += carry_forward_problems(period)
    return problems


def number_gaps(period: Period) -> list[str]:
    out = []
    with connection.cursor() as cur:
        cur.execute("SELECT series, count(*), max(number) FROM accounting_voucher WHERE period_id = %s "
                    "GROUP BY series ORDER BY series", [period.pk])
        for series, count, top in cur.fetchall():
            if count != top:
                cur.execute("SELECT s FROM generate_series(1, %s) s WHERE NOT EXISTS (SELECT 1 FROM accounting_voucher "
                            "WHERE period_id = %s AND series = %s AND number = s) ORDER BY s LIMIT 20",
                            [top, period.pk, series])
                missing = [str(r[0]) for r in cur.fetchall()]
                out.append(f"序列 {series} 缺号 {', '.join(missing)}")
    return out


def _period_in_scope(user, function: str, period_id) -> Period:
    permissions.require(user, function)
    p = (Period.objects.restrict(user, function).select_related("account_set").filter(pk=period_id).first()
         if str(period_id).isdigit() else None)
    if p is None:
        raise NotFound("accounting.period_not_found", "会计期间不存在", field="period")
    return p


@retry_on_conflict
def close_period(*, period_id: int, user) -> Period:
    """月结: every voucher of the period audited and posted, numbers continuous, earlier periods closed."""
    with transaction.atomic():
        p = _period_in_scope(user, FN_CLOSE, period_id)
        locked = Period.objects.select_for_update().get(pk=p.pk)
        if locked.status == Period.Status.CLOSED:
            raise Conflict("accounting.period_already_closed", f"会计期间 {p} 已结账", field="period")
        problems = period_check(locked)
        if problems:
            raise Conflict("accounting.period_not_ready", f"会计期间 {p} 不能结账：" + "；".join(problems),
                           field="period", errors=[{"field": "period", "message": m} for m in problems])
        before = audit.snapshot(locked)
        Period.objects.filter(pk=p.pk).update(status=Period.Status.CLOSED, closed_at=timezone.now(), closed_by=user)
        locked.refresh_from_db()
        audit.record(user, "accounting.period.close", locked, before=before)
    return locked


@retry_on_conflict
def reopen_period(*, period_id: int, user) -> Period:
    """反月结: only the latest closed period can be reopened."""
    with transaction.atomic():
        p = _period_in_scope(user, FN_CLOSE, period_id)
        locked = Period.objects.select_for_update().get(pk=p.pk)
        if locked.status != Period.Status.CLOSED:
            raise Conflict("accounting.period_not_closed", f"会计期间 {p} 未结账", field="period")
        later_closed = Period.objects.filter(account_set_id=p.account_set_id, status=Period.Status.CLOSED).filter(
            year__gt=p.year).exists() or Period.objects.filter(
            account_set_id=p.account_set_id, year=p.year, number__gt=p.number, status=Period.Status.CLOSED).exists()
        if later_closed:
            raise Conflict("accounting.later_period_closed", "之后的会计期间已结账，请从最后一个已结账期间开始反结账",
                           field="period")
        if FiscalYear.objects.filter(account_set_id=p.account_set_id, year=p.year,
                                     status=FiscalYear.Status.CLOSED).exists():
            raise Conflict("accounting.year_closed", f"{p.year} 年度已年结，请先反年结", field="period")
        before = audit.snapshot(locked)
        Period.objects.filter(pk=p.pk).update(status=Period.Status.OPEN, closed_at=None, closed_by=None)
        locked.refresh_from_db()
        audit.record(user, "accounting.period.reopen", locked, before=before)
    return locked


# --- balance check --------------------------------------------------------------------------------

CHECK_SQL = """
WITH mv AS (
    SELECT p.year, p.number, l.account_id, l.aux_hash, sum(l.debit) AS d, sum(l.credit) AS c
    FROM accounting_voucherline l
    JOIN accounting_voucher v ON v.id = l.voucher_id
    JOIN accounting_period p ON p.id = v.period_id
    WHERE v.account_set_id = %(set)s AND v.status = 'posted'
    GROUP BY p.year, p.number, l.account_id, l.aux_hash
), ob AS (
    SELECT o.year, o.account_id, o.aux_hash, o.amount
    FROM accounting_openingbalance o
    JOIN accounting_fiscalyear f ON f.account_set_id = o.account_set_id AND f.year = o.year
    WHERE o.account_set_id = %(set)s AND f.opening_status = 'posted'
), keys AS (SELECT year, account_id, aux_hash FROM mv UNION SELECT year, account_id, aux_hash FROM ob),
moves AS (
    SELECT per.id AS period_id, per.year, k.account_id, k.aux_hash,
           coalesce(sum(mv.d - mv.c) FILTER (WHERE mv.number < per.number), 0) AS opening,
           coalesce(sum(mv.d) FILTER (WHERE mv.number = per.number), 0) AS debit,
           coalesce(sum(mv.c) FILTER (WHERE mv.number = per.number), 0) AS credit,
           coalesce(sum(mv.d), 0) AS cum_debit, coalesce(sum(mv.c), 0) AS cum_credit,
           coalesce(sum(mv.d - mv.c), 0) AS closing
    FROM accounting_period per
    JOIN keys k ON k.year = per.year
    LEFT JOIN mv ON mv.year = k.year AND mv.account_id = k.account_id AND mv.aux_hash = k.aux_hash
                AND mv.number <= per.number
    WHERE per.account_set_id = %(set)s
    GROUP BY per.id, per.year, k.account_id, k.aux_hash
), expected AS (
    SELECT m.period_id, m.account_id, m.aux_hash, m.opening + coalesce(ob.amount, 0) AS opening, m.debit, m.credit,
           m.cum_debit, m.cum_credit, m.closing + coalesce(ob.amount, 0) AS closing
    FROM moves m
    LEFT JOIN ob ON ob.year = m.year AND ob.account_id = m.account_id AND ob.aux_hash = m.aux_hash
), actual AS (
    SELECT period_id, account_id, aux_hash, opening, debit, credit, cum_debit, cum_credit, closing
    FROM accounting_balance WHERE account_set_id = %(set)s
)
SELECT coalesce(e.period_id, a.period_id), coalesce(e.account_id, a.account_id), coalesce(e.aux_hash, a.aux_hash),
       e.opening, e.debit, e.credit, e.cum_debit, e.cum_credit, e.closing,
       a.opening, a.debit, a.credit, a.cum_debit, a.cum_credit, a.closing
FROM expected e FULL OUTER JOIN actual a
  ON a.period_id = e.period_id AND a.account_id = e.account_id AND a.aux_hash = e.aux_hash
WHERE (coalesce(e.opening, 0), coalesce(e.debit, 0), coalesce(e.credit, 0), coalesce(e.cum_debit, 0),
       coalesce(e.cum_credit, 0), coalesce(e.closing, 0))
   IS DISTINCT FROM
      (coalesce(a.opening, 0), coalesce(a.debit, 0), coalesce(a.credit, 0), coalesce(a.cum_debit, 0),
       coalesce(a.cum_credit, 0), coalesce(a.closing, 0))
"""


def check_balances(account_set_id: int) -> list[dict]:
    """Recompute every balance row of an account set from its posted lines and posted opening
    balances; return the differences (empty when the balance table is exact)."""
    cols = ("opening", "debit", "credit", "cum_debit", "cum_credit", "closing")
    with connection.cursor() as cur:
        cur.execute(CHECK_SQL, {"set": account_set_id})
        rows = cur.fetchall()
    return [{"period_id": r[0], "account_id": r[1], "aux_hash": r[2],
             "expected": dict(zip(cols, r[3:9], strict=True)), "actual": dict(zip(cols, r[9:15], strict=True))}
            for r in rows]


# --- posting rules and machine vouchers -----------------------------------------------------------

def _save_rule(spec: dict) -> PostingRule:
    rule, _ = PostingRule.objects.update_or_create(
        code=spec["code"], defaults={"name": spec["name"], "event": spec["event"],
                                     "conditions": spec.get("conditions", {}), "summary": spec["summary"],
                                     "priority": spec.get("priority", 100), "is_active": spec.get("is_active", True)})
    rule.lines.all().delete()
    PostingRuleLine.objects.bulk_create([
        PostingRuleLine(rule=rule, line_no=i, basis=li["basis"], side=li["side"], account_code=li["account_code"],
                        amount=li.get("amount", "amount"), aux=li.get("aux", {}))
        for i, li in enumerate(spec.get("lines", []), start=1)])
    return rule


def ensure_default_rules() -> int:
    """Create the default rules that do not exist yet (by code); edited rules are kept."""
    existing = set(PostingRule.objects.values_list("code", flat=True))
    n = 0
    with transaction.atomic():
        for spec in rules_mod.DEFAULT_RULES:
            if spec["code"] not in existing:
                _save_rule(spec)
                n += 1
    return n


def _validate_rule_spec(spec: dict) -> None:
    if not str(spec.get("code", "")).strip() or not str(spec.get("name", "")).strip():
        raise ValidationFailed("accounting.rule_incomplete", "规则编码和名称不能为空", field="code")
    if not str(spec.get("event", "")).strip():
        raise ValidationFailed("accounting.rule_event_required", "请填写业务事件", field="event")
    if not isinstance(spec.get("conditions", {}), dict):
        raise ValidationFailed("accounting.rule_conditions_invalid", "条件必须是 JSON 对象", field="conditions")
    for n, li in enumerate(spec.get("lines", []), start=1):
        if li.get("basis") not in Basis.values or li.get("side") not in ("debit", "credit"):
            raise ValidationFailed("accounting.rule_line_invalid", f"第 {n} 行：会计体系或方向不正确", field="lines", line=n)
        if not str(li.get("account_code", "")).isdigit():
            raise ValidationFailed("accounting.rule_line_invalid", f"第 {n} 行：科目编码不正确", field="lines", line=n)
        for element in (li.get("aux") or {}):
            if element not in AuxElement.values:
                raise ValidationFailed("accounting.aux_element_unknown", f"第 {n} 行：辅助核算要素 {element} 不存在",
                                       field="lines", line=n)


def rule_spec(rule: PostingRule) -> dict:
    """A rule as the dict ``save_rule`` takes."""
    return {"code": rule.code, "name": rule.name, "event": rule.event, "conditions": rule.conditions,
            "summary": rule.summary, "priority": rule.priority, "is_active": rule.is_active,
            "lines": [{"basis": x.basis, "side": x.side, "account_code": x.account_code, "amount": x.amount,
                       "aux": x.aux} for x in rule.lines.order_by("line_no")]}


def save_rule(*, spec: dict, user) -> PostingRule:
    """Create or replace a posting rule (lines included)."""
    permissions.require(user, FN_RULE)
    _validate_rule_spec(spec)
    with transaction.atomic():
        before_obj = PostingRule.objects.filter(code=spec["code"]).first()
        before = audit.snapshot(before_obj)
        rule = _save_rule(spec)
        audit.record(user, "accounting.rule.save", rule, before=before,
                     after={**audit.snapshot(rule), "lines": list(rule.lines.values(
                         "basis", "side", "account_code", "amount", "aux"))})
    return rule


def load_default_rules(*, user) -> int:
    """Create the preloaded rules that are missing (idempotent)."""
    permissions.require(user, FN_RULE)
    with transaction.atomic():
        n = ensure_default_rules()
        audit.record(user, "accounting.rule.load_defaults", None, object_type="accounting.postingrule",
                     after={"created": n})
    return n


def find_rule(event_name: str, context: dict) -> PostingRule | None:
    for rule in PostingRule.objects.filter(event=event_name, is_active=True).order_by("priority", "code"):
        if rules_mod.matches(rule.conditions, context):
            return rule
    return None


def _payload_code(payload: dict, *keys: str) -> str:
    for k in keys:
        v = payload.get(k)
        if v not in (None, ""):
            return str(v)
    return ""


def _event_date(payload: dict) -> dt.date:
    raw = payload.get("date")
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw)[:10])
    except (TypeError, ValueError):
        return timezone.localdate()


def primary_account_set(*, agency_code: str, region_code: str, fiscal_year: int | None) -> AccountSet | None:
    """The enabled primary account set of an agency (or, without agency, of a region's finance
    department) that has periods for `fiscal_year`."""
    qs = AccountSet.objects.filter(is_primary=True, is_enabled=True).select_related("agency", "region")
    if agency_code:
        qs = qs.filter(agency__code=agency_code)
    elif region_code:
        qs = qs.filter(agency__isnull=True, region__code=region_code)
    else:
        return None
    if fiscal_year:
        qs = qs.filter(periods__year=fiscal_year).distinct()
    return qs.first()


def _open_period_on_or_after(aset: AccountSet, date: dt.date) -> tuple[Period, dt.date] | None:
    p = (Period.objects.filter(account_set=aset, status=Period.Status.OPEN, is_adjustment=False,
                               end_date__gte=date, year=date.year).order_by("number").first())
    if p is None:
        return None
    return p, max(date, p.start_date)


def post_event(event_name: str, payload: dict, *, event_record_id: int | None = None) -> EventPosting:
    """Turn a business event into a machine voucher (see ``_post_event``) and audit the outcome."""
    posting = _post_event(event_name, payload, event_record_id=event_record_id)
    after = audit.snapshot(posting)
    if posting.voucher_id and posting.outcome == EventPosting.Outcome.POSTED:
        after["voucher_lines"] = _lines_snapshot(posting.voucher)
    audit.record(None, f"accounting.event.{posting.outcome}", posting, after=after)
    return posting


RETRYABLE_OUTCOMES = (EventPosting.Outcome.NO_ACCOUNT_SET, EventPosting.Outcome.NO_RULE, EventPosting.Outcome.FAILED)


@retry_on_conflict
def repost_event(*, posting_id: int, user) -> EventPosting:
    """Try again an event that found no account set or rule, or failed (e.g. after the unit's books
    were opened or a rule was added). The new outcome is linked from the old record."""
    permissions.require(user, FN_RULE)
    with transaction.atomic():
        ep = (EventPosting.objects.restrict(user, FN_RULE).select_for_update(of=("self",))
              .filter(pk=posting_id).first() if str(posting_id).isdigit() else None)
        if ep is None:
            raise NotFound("accounting.event_not_found", "业务事件记录不存在", field="posting")
        if ep.outcome not in RETRYABLE_OUTCOMES or ep.resolved_by_id:
            raise Conflict("accounting.event_not_retryable", "该业务事件已记账或已重新处理", field="posting")
        before = audit.snapshot(ep)
        new = post_event(ep.event_name, ep.payload, event_record_id=ep.event_record_id)
        if new.outcome in (EventPosting.Outcome.POSTED, EventPosting.Outcome.SKIPPED):
            EventPosting.objects.filter(pk=ep.pk).update(resolved_by=new)
            ep.refresh_from_db()
            audit.record(user, "accounting.event.repost", ep, before=before)
    return new


def _post_event(event_name: str, payload: dict, *, event_record_id: int | None = None) -> EventPosting:
    """Turn a business event into a machine voucher in the unit's primary account set, in the
    caller's transaction. Never raises for a business reason: the outcome (voucher, no account set,
    no rule, failure with its message) is recorded in EventPosting."""
    agency_code = _payload_code(payload, "agency_code", "agency")
    region_code = _payload_code(payload, "region_code", "region")
    try:
        year = int(payload.get("fiscal_year")) if payload.get("fiscal_year") not in (None, "") else None
    except (TypeError, ValueError):
        year = None
    base = {"event_name": event_name, "event_record_id": event_record_id, "payload": payload,
            "agency_code": agency_code[:30], "region_code": region_code[:9], "fiscal_year": year,
            "source_type": str(payload.get("source_type", ""))[:60], "source_id": str(payload.get("source_id", ""))[:40],
            "source_no": str(payload.get("source_no", ""))[:60]}
    aset = primary_account_set(agency_code=agency_code, region_code=region_code, fiscal_year=year)
    if aset is None:
        return EventPosting.objects.create(**base, outcome=EventPosting.Outcome.NO_ACCOUNT_SET,
                                           message=f"单位 {agency_code or region_code} 没有 {year or ''} 年度启用的主账套")
    base["account_set"] = aset
    context = {**payload, "agency_kind": aset.agency.kind if aset.agency_id else "finance",
               "has_project": bool(str(payload.get("project_code") or "").strip())}
    rule = find_rule(event_name, context)
    if rule is None:
        return EventPosting.objects.create(**base, outcome=EventPosting.Outcome.NO_RULE,
                                           message=f"事件 {event_name} 没有匹配的记账规则")
    rule_lines = list(rule.lines.order_by("line_no"))
    if not rule_lines:
        return EventPosting.objects.create(**base, outcome=EventPosting.Outcome.SKIPPED,
                                           message=f"规则 {rule.code} {rule.name}：无需记账")
    duplicate = Voucher.objects.filter(account_set=aset, is_machine=True, event_name=event_name,
                                       source_type=base["source_type"], source_id=base["source_id"],
                                       reversal_of__isnull=True).first() if base["source_id"] else None
    if duplicate is not None:
        return EventPosting.objects.create(**base, outcome=EventPosting.Outcome.SKIPPED, voucher=duplicate,
                                           message=f"来源单据已生成凭证 {duplicate.display_no}")
    try:
        with transaction.atomic():
            voucher = _machine_voucher(aset, rule, rule_lines, context, event_name, base)
    except (DomainError, DatabaseError) as exc:
        message = exc.message if isinstance(exc, DomainError) else f"数据库拒绝：{str(exc).splitlines()[0][:300]}"
        return EventPosting.objects.create(**base, outcome=EventPosting.Outcome.FAILED,
                                           message=f"规则 {rule.code}：{message}"[:500])
    return EventPosting.objects.create(**base, outcome=EventPosting.Outcome.POSTED, voucher=voucher,
                                       message=f"规则 {rule.code} 生成凭证 {voucher.display_no}")


def _machine_voucher(aset: AccountSet, rule: PostingRule, rule_lines, context: dict, event_name: str,
                     base: dict) -> Voucher:
    planned = rules_mod.plan(rule_lines, context)
    summary = rules_mod.summary_text(rule.summary, context) or rule.name
    lines = [LineInput(account_code=p.account_code, debit=p.amount if p.side == "debit" else ZERO,
                       credit=p.amount if p.side == "credit" else ZERO, summary=summary, aux=p.aux) for p in planned]
    # an auxiliary value the account does not carry is dropped, so one rule fits every chart
    codes = {li.account_code for li in lines}
    enabled = {a.code: set(a.aux_elements) for a in Account.objects.filter(account_set=aset, code__in=codes)}
    for li in lines:
        li.aux = {k: v for k, v in li.aux.items() if k in enabled.get(li.account_code, set())}
    checked = _validate_lines(aset, lines, allow_red=True, create_custom=True)
    found = _open_period_on_or_after(aset, _event_date(context))
    if found is None:
        raise Conflict("accounting.period_closed", f"账套 {aset.code} 在 {_event_date(context)} 及以后没有未结账的期间",
                       field="period")
    period, on = found
    _lock_period_open(period)
    category = _category(aset, None)
    v = _insert_voucher(aset=aset, period=period, date=on, category=category, lines=checked, attachments=1,
                        user=None, is_machine=True, rule_code=rule.code, event_name=event_name,
                        source_type=base["source_type"], source_id=base["source_id"], source_no=base["source_no"])
    now = timezone.now()
    _transition(v, expect=S.ENTERED, to=S.AUDITED, audited_at=now)
    if aset.machine_auto_post:
        v.refresh_from_db()
        _transition(v, expect=S.AUDITED, to=S.POSTED, posted_at=now)
        apply_balances(v, +1)
    v.refresh_from_db()
    return v


def lines_by_basis(v: Voucher) -> dict[str, list[VoucherLine]]:
    out: dict[str, list[VoucherLine]] = defaultdict(list)
    for line in v.lines.select_related("account").order_by("line_no"):
        out[line.basis].append(line)
    return out


# --- account set export, import and copy ------------------------------------------------------------

EXPORT_FORMAT = "openfmis.account_set/1"
_SET_FIELDS = ("code", "name", "standard", "start_year", "code_format", "numbering_mode", "poster_must_differ",
               "machine_auto_post", "supervisor", "note")


def export_account_set(aset: AccountSet) -> dict:
    """The settings, chart, voucher categories and custom auxiliary items of an account set as a
    JSON-ready dict (the caller has checked that the user may see it)."""
    return {
        "format": EXPORT_FORMAT,
        "account_set": {f: getattr(aset, f) for f in _SET_FIELDS},
        "accounts": [{"code": a.code, "name": a.name, "direction": a.direction, "property": a.property,
                      "aux_elements": list(a.aux_elements), "is_active": a.is_active}
                     for a in Account.objects.filter(account_set=aset).order_by("code")],
        "categories": [{"code": c.code, "name": c.name, "word": c.word, "is_default": c.is_default}
                       for c in VoucherCategory.objects.filter(account_set=aset).order_by("code")],
        "aux_items": [{"element": i.element, "code": i.code, "name": i.name}
                      for i in AuxItem.objects.filter(account_set=aset).order_by("element", "code")],
    }


def _import_into(aset: AccountSet, data: dict, errors: list[dict]) -> int:
    """Add what `data` has and `aset` lacks; report conflicts in `errors`. Returns rows added."""
    scheme = scheme_of(aset)
    existing = {a.code: a for a in Account.objects.filter(account_set=aset)}
    added = 0
    rows = data.get("accounts") or []
    if not isinstance(rows, list):
        errors.append({"line": None, "field": "accounts", "message": "accounts 必须是列表"})
        return 0
    ordered = sorted(enumerate(rows, start=1), key=lambda t: (len(str((t[1] or {}).get("code", ""))), t[0]))
    for n, row in ordered:
        if not isinstance(row, dict):
            errors.append({"line": n, "field": "accounts", "message": f"科目第 {n} 项格式不正确"})
            continue
        code, name = str(row.get("code", "")).strip(), str(row.get("name", "")).strip()
        direction = row.get("direction")
        elements = row.get("aux_elements") or []
        try:
            if not code.isdigit():
                raise ValidationFailed("accounting.account_code_digits", "科目编码只能是数字", field="code")
            level = scheme.level(code)
            if direction not in ("debit", "credit"):
                raise ValidationFailed("accounting.direction_invalid", "余额方向只能是 debit 或 credit", field="direction")
            elements = _check_elements(elements)
        except ValidationFailed as exc:
            errors.append({"line": n, "field": exc.field or "code", "message": f"科目第 {n} 项 {code}：{exc.message}"})
            continue
        current = existing.get(code)
        if current is not None:
            if current.direction != direction:
                errors.append({"line": n, "field": "direction",
                               "message": f"科目第 {n} 项 {code}：余额方向与账套中已有科目不一致"})
            continue
        parent = existing.get(scheme.parent(code)) if level > 1 else None
        if level == 1 or parent is None:
            errors.append({"line": n, "field": "code",
                           "message": f"科目第 {n} 项 {code}：" + ("一级科目不在会计制度科目表中" if level == 1
                                                                 else f"上级科目 {scheme.parent(code)} 不存在")})
            continue
        extra = [e for e in elements if e not in parent.aux_elements]
        if extra or not name or row.get("property", "normal") not in Account.Property.values:
            errors.append({"line": n, "field": "aux_elements" if extra else "name",
                           "message": f"科目第 {n} 项 {code}：" + (f"辅助核算要素 {'、'.join(extra)} 不在上级科目中" if extra
                                                                 else "名称为空或科目属性不正确")})
            continue
        if parent.is_leaf and _account_used(parent):
            errors.append({"line": n, "field": "code", "message": f"科目第 {n} 项 {code}：上级科目已有数据，不能增加下级"})
            continue
        acc = Account.objects.create(
            account_set=aset, code=code, name=name, full_name=f"{parent.full_name}/{name}", parent=parent,
            level=level, is_leaf=True, basis=parent.basis, category=parent.category, direction=direction,
            property=row.get("property", "normal"), aux_elements=elements, is_active=bool(row.get("is_active", True)))
        if parent.is_leaf:
            Account.objects.filter(pk=parent.pk).update(is_leaf=False)
            parent.is_leaf = False
        existing[code] = acc
        added += 1
    for n, row in enumerate(data.get("categories") or [], start=1):
        if not isinstance(row, dict) or not all(str(row.get(k, "")).strip() for k in ("code", "name", "word")):
            errors.append({"line": n, "field": "categories", "message": f"凭证类别第 {n} 项不完整"})
            continue
        _, created = VoucherCategory.objects.get_or_create(
            account_set=aset, code=str(row["code"]).strip(),
            defaults={"name": str(row["name"]).strip(), "word": str(row["word"]).strip()[:4]})
        added += int(created)
    for n, row in enumerate(data.get("aux_items") or [], start=1):
        if (not isinstance(row, dict) or row.get("element") not in CUSTOM_ELEMENTS
                or not str(row.get("code", "")).strip() or not str(row.get("name", "")).strip()):
            errors.append({"line": n, "field": "aux_items", "message": f"辅助核算项目第 {n} 项不正确"})
            continue
        _, created = AuxItem.objects.get_or_create(account_set=aset, element=row["element"],
                                                   code=str(row["code"]).strip()[:60],
                                                   defaults={"name": str(row["name"]).strip()[:200]})
        added += int(created)
    return added


def import_account_set(*, data: dict, user, code: str | None = None, name: str | None = None,
                       agency_id: int | None = None, region_id: int | None = None,
                       is_primary: bool | None = None) -> tuple[AccountSet, int]:
    """Create an account set from an export (or complete an existing one with the same code and
    entity). All or nothing: every problem is reported at once; re-importing the same file changes
    nothing. Returns the account set and the number of rows added."""
    permissions.require(user, FN_SET_MANAGE)
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT or not isinstance(
            data.get("account_set"), dict):
        raise ValidationFailed("accounting.import_format", f"文件格式不正确，应为 {EXPORT_FORMAT}", field="file")
    head = data["account_set"]
    code = (code or str(head.get("code", ""))).strip()
    with transaction.atomic():
        aset = AccountSet.objects.restrict(user, FN_SET_MANAGE).filter(code=code).first()
        if aset is None and AccountSet.objects.filter(code=code).exists():
            raise Conflict("accounting.set_code_exists", f"账套编码 {code} 已存在", field="code")
        if aset is not None and (agency_id and aset.agency_id != agency_id):
            raise Conflict("accounting.set_code_exists", f"账套编码 {code} 已被其他会计主体使用", field="code")
        before_count = 0
        if aset is None:
            try:
                year = int(head.get("start_year"))
            except (TypeError, ValueError):
                raise ValidationFailed("accounting.year_invalid", "启用年度不正确", field="start_year") from None
            aset = create_account_set(data=AccountSetInput(
                code=code, name=(name or str(head.get("name", ""))).strip(), start_year=year,
                agency_id=agency_id, region_id=region_id, code_format=str(head.get("code_format", "4-2-2")),
                numbering_mode=str(head.get("numbering_mode", AccountSet.NumberingMode.PER_CATEGORY)),
                poster_must_differ=bool(head.get("poster_must_differ", False)),
                machine_auto_post=bool(head.get("machine_auto_post", True)),
                is_primary=True if is_primary is None else is_primary, supervisor=str(head.get("supervisor", "")),
                note=str(head.get("note", ""))), user=user)
        else:
            before_count = 1
        errors: list[dict] = []
        added = _import_into(aset, data, errors)
        if errors:
            raise ValidationFailed("accounting.import_invalid", f"导入失败：{len(errors)} 处错误，未导入任何数据",
                                   field="file", errors=errors)
        if before_count == 0 or added:
            audit.record(user, "accounting.set.import", aset, after={**audit.snapshot(aset), "rows_added": added})
    return aset, added


def copy_account_set(*, account_set_id: int, code: str, name: str, user, agency_id: int | None = None,
                     region_id: int | None = None, start_year: int | None = None,
                     is_primary: bool = False) -> AccountSet:
    """账套复制: a new account set with the source's settings, chart, categories and auxiliary items."""
    src = _account_set(user, FN_SET_MANAGE, account_set_id)
    data = export_account_set(src)
    if start_year:
        data["account_set"]["start_year"] = int(start_year)
    if AccountSet.objects.filter(code=(code or "").strip()).exists():
        raise Conflict("accounting.set_code_exists", f"账套编码 {code} 已存在", field="code")
    if not agency_id and not region_id:
        agency_id, region_id = src.agency_id, (None if src.agency_id else src.region_id)
    aset, _ = import_account_set(data=data, user=user, code=code, name=name, agency_id=agency_id,
                                 region_id=region_id, is_primary=is_primary)
    return aset


# --- fiscal years ---------------------------------------------------------------------------------

CARRIED_CATEGORIES = (Account.Category.ASSET, Account.Category.LIABILITY, Account.Category.NET_ASSETS,
                      Account.Category.BUDGET_SURPLUS)
NOMINAL_CATEGORIES = (Account.Category.REVENUE, Account.Category.EXPENSE, Account.Category.BUDGET_REVENUE,
                      Account.Category.BUDGET_EXPENDITURE)
# net-asset accounts that the financial carry-forward empties (本期盈余, 本年盈余分配)
SURPLUS_TRANSIT_CODES = ("3301", "3302")


def _require_year(aset: AccountSet, year) -> int:
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise ValidationFailed("accounting.year_invalid", f"会计年度不正确：{year}", field="year") from None
    if not Period.objects.filter(account_set=aset, year=year).exists():
        raise ValidationFailed("accounting.year_missing", f"账套 {aset.code} 没有 {year} 年度的会计期间", field="year")
    return year


def fiscal_year(aset: AccountSet, year: int, *, lock: bool = False) -> FiscalYear:
    """The year's row (created on first use by an insert that concurrent callers cannot duplicate);
    `lock` holds it exclusively until commit."""
    with connection.cursor() as cur:
        cur.execute("INSERT INTO accounting_fiscalyear (account_set_id, year, opening_status, opening_source, status, "
                    "created_next_periods) VALUES (%s, %s, 'draft', 'entered', 'open', false) "
                    "ON CONFLICT (account_set_id, year) DO NOTHING", [aset.pk, year])
    qs = FiscalYear.objects.filter(account_set=aset, year=year)
    if lock:
        qs = qs.select_for_update()
    return qs.get()


def _lock_year_periods(aset: AccountSet, year: int, *, exclusive: bool) -> list[tuple[int, int, str]]:
    """Lock the year's period rows (shared: no period closes meanwhile; exclusive: no voucher is
    posted meanwhile either) and return (id, number, status) in period order."""
    mode = "UPDATE" if exclusive else "SHARE"
    with connection.cursor() as cur:
        cur.execute(f"SELECT id, number, status FROM accounting_period WHERE account_set_id = %s AND year = %s "
                    f"ORDER BY number FOR {mode}", [aset.pk, year])
        return cur.fetchall()


def _nominal_left(period: Period) -> list[str]:
    """Codes of income, expense and 本期盈余/本年盈余分配 accounts with a closing balance in `period`."""
    return sorted(set(
        Balance.objects.filter(period=period).exclude(closing=0)
        .filter(Q(account__category__in=NOMINAL_CATEGORIES) | Q(account__code__startswith=SURPLUS_TRANSIT_CODES[0])
                | Q(account__code__startswith=SURPLUS_TRANSIT_CODES[1]))
        .values_list("account__code", flat=True)))


def carry_period_number(aset: AccountSet) -> int:
    """The period that receives the year-end carry-forward vouchers: 12, or 13 when configured."""
    return Period.ADJUSTMENT if aset.carry_in_adjustment else 12


def carry_forward_problems(period: Period) -> list[str]:
    """Month-end check "carry-forwards done": from the carry-forward period on, income and expense
    accounts (both bases) and 本期盈余/本年盈余分配 must be empty."""
    if period.number < carry_period_number(period.account_set):
        return []
    left = _nominal_left(period)
    if not left:
        return []
    shown = "、".join(left[:10]) + ("等" if len(left) > 10 else "")
    return [f"年末结转未完成：科目 {shown} 仍有余额，请生成结转凭证"]


# --- opening balances -----------------------------------------------------------------------------

@dataclass
class OpeningInput:
    """One opening balance: `amount` in `direction` (借/贷; default the account's balance side)."""
    account_code: str
    amount: Decimal | str | int
    direction: str = ""
    aux: dict = field(default_factory=dict)


_DIRECTIONS = {"": None, "debit": "debit", "credit": "credit", "借": "debit", "贷": "credit"}


def _opening_row(aset: AccountSet, accounts: dict[str, Account], row: OpeningInput, n: int | None
                 ) -> tuple[Account, dict, Decimal]:
    where = f"第 {n} 行：" if n else ""
    code = str(row.account_code or "").strip()
    acc = accounts.get(code)
    if acc is None:
        raise ValidationFailed("accounting.account_not_found", f"{where}科目 {code or '（空）'} 不存在",
                               field="account", line=n)
    if not acc.is_leaf:
        raise ValidationFailed("accounting.account_not_leaf", f"{where}科目 {acc.code} {acc.name} 不是末级科目",
                               field="account", line=n)
    direction = _DIRECTIONS.get(str(row.direction or "").strip())
    if str(row.direction or "").strip() not in _DIRECTIONS:
        raise ValidationFailed("accounting.direction_invalid", f"{where}余额方向只能是借或贷", field="direction", line=n)
    try:
        amount = to_money(row.amount if row.amount not in (None, "") else ZERO, field="amount")
    except ValidationFailed:
        raise ValidationFailed("accounting.amount_invalid", f"{where}年初余额 {row.amount} 不是有效金额",
                               field="amount", line=n) from None
    aux = _validate_aux(aset, acc, row.aux or {}, n or 1, create_custom=False) if row.aux else {}
    signed = amount if (direction or acc.direction) == "debit" else -amount
    return acc, aux, signed


def _lock_draft_opening(aset: AccountSet, year: int) -> FiscalYear:
    fy = fiscal_year(aset, year, lock=True)
    if fy.opening_status == FiscalYear.OpeningStatus.POSTED:
        raise Conflict("accounting.opening_posted", f"{year} 年度期初余额已登账，请先取消登账再修改", field="year")
    return fy


def _upsert_opening(aset: AccountSet, year: int, acc: Account, aux: dict, signed: Decimal) -> str:
    """Write one opening row; returns "created", "updated", "deleted" or "unchanged"."""
    key = aux_hash(aux)
    current = OpeningBalance.objects.filter(account_set=aset, year=year, account=acc, aux_hash=key).first()
    if signed == 0:
        if current is None:
            return "unchanged"
        current.delete()
        return "deleted"
    if current is None:
        OpeningBalance.objects.create(account_set=aset, year=year, account=acc, aux_hash=key, aux=aux, amount=signed)
        return "created"
    if current.amount == signed:
        return "unchanged"
    OpeningBalance.objects.filter(pk=current.pk).update(amount=signed, updated_at=timezone.now())
    return "updated"


def set_opening_balance(*, account_set_id: int, year: int, row: OpeningInput, user) -> OpeningBalance | None:
    """Enter (or change, or with amount 0 remove) the opening balance of a leaf account and auxiliary
    combination while the year's openings are not posted."""
    with transaction.atomic():
        aset = _account_set(user, FN_OPENING, account_set_id)
        year = _require_year(aset, year)
        _lock_draft_opening(aset, year)
        accounts = {a.code: a for a in Account.objects.filter(account_set=aset, code=str(row.account_code).strip())}
        acc, aux, signed = _opening_row(aset, accounts, row, None)
        before = audit.snapshot(OpeningBalance.objects.filter(
            account_set=aset, year=year, account=acc, aux_hash=aux_hash(aux)).first())
        outcome = _upsert_opening(aset, year, acc, aux, signed)
        ob = OpeningBalance.objects.filter(account_set=aset, year=year, account=acc, aux_hash=aux_hash(aux)).first()
        if outcome != "unchanged":
            FiscalYear.objects.filter(account_set=aset, year=year).update(
                opening_source=FiscalYear.OpeningSource.ENTERED)
            audit.record(user, f"accounting.opening.{'delete' if outcome == 'deleted' else 'set'}", ob,
                         before=before, after=audit.snapshot(ob), object_type="accounting.openingbalance",
                         object_id=ob.pk if ob else (before or {}).get("id", ""),
                         object_repr=f"{aset.code} {year} {acc.code}")
    return ob


OPENING_COLUMNS = {"科目编码": "account", "account": "account", "account_code": "account",
                   "余额方向": "direction", "direction": "direction", "年初余额": "amount", "amount": "amount",
                   "辅助核算": "aux", "aux": "aux"}


def parse_aux_text(text: str) -> dict:
    """``func=2010101,fund_type=11`` (Chinese commas accepted) → a dict."""
    out = {}
    for part in str(text or "").replace("，", ",").replace("；", ",").replace(";", ",").split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            if k.strip():
                out[k.strip()] = v.strip()
        elif part.strip():
            raise ValueError(part.strip())
    return out


def import_opening_balances(*, account_set_id: int, year: int, file, user) -> dict[str, int]:
    """Import opening balances from xlsx (科目编码, 余额方向, 年初余额, 辅助核算). All or nothing: every
    bad line is reported at once and nothing is written; re-importing the same file changes nothing.
    Rows not in the file are kept. Returns counts of created, updated, deleted and unchanged rows."""
    from fmis.platform.xlsx import read_rows

    with transaction.atomic():
        aset = _account_set(user, FN_OPENING, account_set_id)
        year = _require_year(aset, year)
        _lock_draft_opening(aset, year)
        accounts = {a.code: a for a in Account.objects.filter(account_set=aset)}
        errors: list[dict] = []
        planned: list[tuple[Account, dict, Decimal]] = []
        seen: dict[tuple[int, str], int] = {}
        for line, raw in read_rows(file, OPENING_COLUMNS, required=("account", "amount")):
            if not any(str(v).strip() for v in raw.values()):
                continue
            try:
                aux = parse_aux_text(raw.get("aux", ""))
            except ValueError as exc:
                errors.append({"line": line, "field": "aux", "message": f"第 {line} 行：辅助核算“{exc}”应写成 要素=编码"})
                continue
            try:
                acc, aux, signed = _opening_row(aset, accounts, OpeningInput(
                    account_code=raw.get("account", ""), amount=raw.get("amount", ""),
                    direction=raw.get("direction", ""), aux=aux), line)
            except ValidationFailed as exc:
                errors.append({"line": line, "field": exc.field or "account", "message": exc.message})
                continue
            key = (acc.pk, aux_hash(aux))
            if key in seen:
                errors.append({"line": line, "field": "account",
                               "message": f"第 {line} 行：科目 {acc.code} 与第 {seen[key]} 行的辅助核算组合重复"})
                continue
            seen[key] = line
            planned.append((acc, aux, signed))
        if errors:
            raise ValidationFailed("accounting.opening_import_invalid",
                                   f"导入失败：{len(errors)} 处错误，未导入任何数据", field="file", errors=errors)
        if not planned:
            raise ValidationFailed("accounting.opening_import_empty", "文件中没有期初余额数据", field="file")
        counts = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0}
        for acc, aux, signed in planned:
            counts[_upsert_opening(aset, year, acc, aux, signed)] += 1
        if counts["created"] or counts["updated"] or counts["deleted"]:
            fy = FiscalYear.objects.get(account_set=aset, year=year)
            FiscalYear.objects.filter(pk=fy.pk).update(opening_source=FiscalYear.OpeningSource.ENTERED)
            audit.record(user, "accounting.opening.import", fy, after={"year": year, **counts})
    return counts


@dataclass
class OpeningCheck:
    """试算平衡 of a year's opening balances, per basis."""
    year: int
    rows: int
    totals: dict[str, dict[str, Decimal]]

    @property
    def balanced(self) -> bool:
        return all(t["debit"] == t["credit"] for t in self.totals.values())

    @property
    def problems(self) -> list[str]:
        out = []
        for basis, label in ((Basis.FINANCIAL, "财务会计"), (Basis.BUDGETARY, "预算会计")):
            t = self.totals[str(basis)]
            if t["debit"] != t["credit"]:
                out.append(f"{label}期初余额不平衡：借方合计 {fmt(t['debit'])}，贷方合计 {fmt(t['credit'])}，"
                           f"差额 {fmt(t['debit'] - t['credit'])}")
        return out


def opening_check(aset: AccountSet, year: int) -> OpeningCheck:
    """Debit and credit totals of the year's opening balances per basis (the caller checked scope)."""
    totals = {str(b): {"debit": ZERO, "credit": ZERO} for b in Basis}
    rows = 0
    with connection.cursor() as cur:
        cur.execute("SELECT a.basis, count(*), coalesce(sum(o.amount) FILTER (WHERE o.amount > 0), 0), "
                    "coalesce(-sum(o.amount) FILTER (WHERE o.amount < 0), 0) FROM accounting_openingbalance o "
                    "JOIN accounting_account a ON a.id = o.account_id WHERE o.account_set_id = %s AND o.year = %s "
                    "GROUP BY a.basis", [aset.pk, year])
        for basis, n, d, c in cur.fetchall():
            totals[basis] = {"debit": d, "credit": c}
            rows += n
    return OpeningCheck(year=year, rows=rows, totals=totals)


def _apply_openings(aset: AccountSet, year: int, sign: int) -> None:
    """Add (sign +1) or take back (−1) the year's opening rows into the opening and closing of every
    period's balance row of the year: one upsert, keys in the same order as voucher posting."""
    with connection.cursor() as cur:
        cur.execute("""
            INSERT INTO accounting_balance
                (account_set_id, period_id, account_id, aux_hash, aux, opening, debit, credit, cum_debit,
                 cum_credit, closing)
            SELECT o.account_set_id, p.id, o.account_id, o.aux_hash, o.aux, o.amount * %s, 0, 0, 0, 0, o.amount * %s
            FROM accounting_openingbalance o
            JOIN accounting_period p ON p.account_set_id = o.account_set_id AND p.year = o.year
            WHERE o.account_set_id = %s AND o.year = %s
            ORDER BY o.account_id, o.aux_hash, p.number
            ON CONFLICT (period_id, account_id, aux_hash) DO UPDATE SET
                opening = accounting_balance.opening + EXCLUDED.opening,
                closing = accounting_balance.closing + EXCLUDED.closing
        """, [sign, sign, aset.pk, year])
        if sign < 0:
            cur.execute("DELETE FROM accounting_balance b USING accounting_period p WHERE p.id = b.period_id "
                        "AND p.account_set_id = %s AND p.year = %s AND b.opening = 0 AND b.debit = 0 AND b.credit = 0 "
                        "AND b.cum_debit = 0 AND b.cum_credit = 0 AND b.closing = 0", [aset.pk, year])


def _post_openings(aset: AccountSet, year: int, user) -> OpeningCheck:
    """Check and post the year's openings (caller holds the fiscal-year row and the transaction)."""
    closed = [n for _pk, n, st in _lock_year_periods(aset, year, exclusive=False) if st != Period.Status.OPEN]
    if closed:
        raise Conflict("accounting.opening_period_closed",
                       f"{year} 年度第 {'、'.join(map(str, closed))} 期已结账，不能登账期初余额", field="year")
    chk = opening_check(aset, year)
    if not chk.balanced:
        raise ValidationFailed("accounting.opening_unbalanced", "试算不平衡，不能登账：" + "；".join(chk.problems),
                               field="amount", errors=[{"field": "amount", "message": m} for m in chk.problems])
    _apply_openings(aset, year, +1)
    FiscalYear.objects.filter(account_set=aset, year=year).update(
        opening_status=FiscalYear.OpeningStatus.POSTED, opening_posted_at=timezone.now(), opening_posted_by=user)
    return chk


def _totals_json(chk: OpeningCheck) -> dict:
    return {"rows": chk.rows, **{b: {k: str(v) for k, v in t.items()} for b, t in chk.totals.items()}}


@retry_on_conflict
def post_opening_balances(*, account_set_id: int, year: int, user) -> FiscalYear:
    """登账 the year's opening balances after the trial-balance check: they become the opening (and
    closing) of every period's balance row of the year, in one transaction."""
    with transaction.atomic():
        aset = _account_set(user, FN_OPENING, account_set_id)
        year = _require_year(aset, year)
        fy = _lock_draft_opening(aset, year)
        before = audit.snapshot(fy)
        chk = _post_openings(aset, year, user)
        fy.refresh_from_db()
        audit.record(user, "accounting.opening.post", fy, before=before,
                     after={**audit.snapshot(fy), "totals": _totals_json(chk)})
    return fy


def _unpost_openings(aset: AccountSet, year: int) -> None:
    periods = _lock_year_periods(aset, year, exclusive=True)
    closed = [n for _pk, n, st in periods if st != Period.Status.OPEN]
    if closed:
        raise Conflict("accounting.opening_period_closed",
                       f"{year} 年度第 {'、'.join(map(str, closed))} 期已结账，不能取消登账期初余额", field="year")
    posted = Voucher.objects.filter(account_set=aset, fiscal_year=year, status=S.POSTED).count()
    if posted:
        raise Conflict("accounting.opening_year_has_postings",
                       f"{year} 年度已有 {posted} 张凭证登账，不能取消登账期初余额", field="year")
    _apply_openings(aset, year, -1)
    FiscalYear.objects.filter(account_set=aset, year=year).update(
        opening_status=FiscalYear.OpeningStatus.DRAFT, opening_posted_at=None, opening_posted_by=None)


@retry_on_conflict
def unpost_opening_balances(*, account_set_id: int, year: int, user) -> FiscalYear:
    """取消登账 of the year's openings, allowed while no voucher of the year is posted."""
    with transaction.atomic():
        aset = _account_set(user, FN_OPENING, account_set_id)
        year = _require_year(aset, year)
        fy = fiscal_year(aset, year, lock=True)
        if fy.opening_status != FiscalYear.OpeningStatus.POSTED:
            raise Conflict("accounting.opening_not_posted", f"{year} 年度期初余额尚未登账", field="year")
        before = audit.snapshot(fy)
        _unpost_openings(aset, year)
        fy.refresh_from_db()
        audit.record(user, "accounting.opening.unpost", fy, before=before)
    return fy


def _carry_rows(aset: AccountSet, year: int) -> int:
    """Insert next year's opening rows from `year`'s final closing balances (period 13) of the
    accounts that carry (assets, liabilities, net assets, 预算结余). Returns rows written."""
    with connection.cursor() as cur:
        cur.execute("""
            INSERT INTO accounting_openingbalance (account_set_id, year, account_id, aux_hash, aux, amount, updated_at)
            SELECT b.account_set_id, %s, b.account_id, b.aux_hash, b.aux, b.closing, now()
            FROM accounting_balance b
            JOIN accounting_period p ON p.id = b.period_id
            JOIN accounting_account a ON a.id = b.account_id
            WHERE b.account_set_id = %s AND p.year = %s AND p.number = %s AND b.closing <> 0
              AND a.category = ANY(%s)
        """, [year + 1, aset.pk, year, Period.ADJUSTMENT, [str(c) for c in CARRIED_CATEGORIES]])
        return cur.rowcount


def _require_carried(aset: AccountSet, year: int) -> Period:
    last = Period.objects.filter(account_set=aset, year=year, number=Period.ADJUSTMENT).first()
    if last is None:
        raise ValidationFailed("accounting.year_missing", f"账套 {aset.code} 没有 {year} 年度的会计期间", field="year")
    left = _nominal_left(last)
    if left:
        raise Conflict("accounting.year_not_carried",
                       f"{year} 年度收入、费用类科目尚未结转（{'、'.join(left[:10])}），请先生成年末结转凭证", field="year")
    return last


def carry_opening_balances(*, account_set_id: int, year: int, user) -> int:
    """取上年数: replace the year's (unposted) openings by last year's final closing balances of the
    accounts that carry. Last year's income and expense accounts must be empty (carried forward)."""
    with transaction.atomic():
        aset = _account_set(user, FN_OPENING, account_set_id)
        year = _require_year(aset, year)
        _require_carried(aset, year - 1)
        fy = _lock_draft_opening(aset, year)
        before = {"rows": OpeningBalance.objects.filter(account_set=aset, year=year).count()}
        OpeningBalance.objects.filter(account_set=aset, year=year).delete()
        n = _carry_rows(aset, year - 1)
        FiscalYear.objects.filter(pk=fy.pk).update(opening_source=FiscalYear.OpeningSource.CARRIED)
        audit.record(user, "accounting.opening.carry", fy, before=before, after={"year": year, "rows": n})
    return n


# --- voucher templates ----------------------------------------------------------------------------

@dataclass
class TemplateLineInput:
    account_code: str
    direction: str
    summary: str = ""
    amount: Decimal | str | int | None = None
    aux: dict = field(default_factory=dict)


def _template_lines(aset: AccountSet, lines: list[TemplateLineInput]) -> list[VoucherTemplateLine]:
    if not lines or len(lines) < 2:
        raise ValidationFailed("accounting.template_too_few_lines", "模板至少需要两行分录", field="lines")
    if len(lines) > 999:
        raise ValidationFailed("accounting.voucher_too_many_lines", "模板分录不能超过 999 行", field="lines")
    accounts = {a.code: a for a in Account.objects.filter(account_set=aset,
                                                          code__in={str(x.account_code).strip() for x in lines})}
    out = []
    for n, li in enumerate(lines, start=1):
        code = str(li.account_code or "").strip()
        acc = accounts.get(code)
        if acc is None:
            raise ValidationFailed("accounting.account_not_found", f"第 {n} 行：科目 {code or '（空）'} 不存在",
                                   field="account", line=n)
        if not acc.is_leaf:
            raise ValidationFailed("accounting.account_not_leaf", f"第 {n} 行：科目 {acc.code} {acc.name} 不是末级科目",
                                   field="account", line=n)
        direction = _DIRECTIONS.get(str(li.direction or "").strip())
        if direction is None:
            raise ValidationFailed("accounting.direction_invalid", f"第 {n} 行：方向只能是借或贷", field="direction",
                                   line=n)
        amount = None
        if li.amount not in (None, ""):
            amount = to_money(li.amount, field="amount")
            if amount <= 0:
                raise ValidationFailed("accounting.line_negative", f"第 {n} 行：金额必须大于零", field="amount", line=n)
        summary = str(li.summary or "").strip()
        if len(summary) > 200:
            raise ValidationFailed("accounting.summary_too_long", f"第 {n} 行：摘要不能超过 200 字", field="summary",
                                   line=n)
        aux = _validate_aux(aset, acc, li.aux or {}, n, create_custom=False)
        out.append(VoucherTemplateLine(line_no=n, summary=summary, account=acc, direction=direction, amount=amount,
                                       aux=aux))
    return out


def _template_snapshot(t: VoucherTemplate) -> dict:
    return {**audit.snapshot(t), "lines": [
        {"line_no": x.line_no, "account": x.account.code, "direction": x.direction, "summary": x.summary,
         "amount": x.amount, "aux": x.aux} for x in t.lines.select_related("account").order_by("line_no")]}


def save_template(*, account_set_id: int, code: str, name: str, lines: list[TemplateLineInput], user,
                  category_id: int | None = None) -> VoucherTemplate:
    """Save voucher lines as a named template of the account set (codes are unique per set)."""
    with transaction.atomic():
        aset = _account_set(user, FN_TEMPLATE, account_set_id)
        code, name = str(code or "").strip(), str(name or "").strip()
        if not code or len(code) > 30:
            raise ValidationFailed("accounting.template_code_invalid", "模板编码不能为空且不超过 30 个字符", field="code")
        if not name or len(name) > 100:
            raise ValidationFailed("accounting.template_name_invalid", "模板名称不能为空且不超过 100 个字符", field="name")
        category = None
        if category_id:
            category = VoucherCategory.objects.filter(account_set=aset, pk=category_id).first()
            if category is None:
                raise ValidationFailed("accounting.category_missing", "凭证类别不存在", field="category")
        checked = _template_lines(aset, lines)
        try:
            with transaction.atomic():
                t = VoucherTemplate.objects.create(account_set=aset, code=code, name=name, category=category,
                                                   created_by=user)
        except IntegrityError:
            raise Conflict("accounting.template_exists", f"模板编码 {code} 已存在", field="code") from None
        for x in checked:
            x.template = t
        VoucherTemplateLine.objects.bulk_create(checked)
        audit.record(user, "accounting.template.create", t, after=_template_snapshot(t))
    return t


def save_voucher_as_template(*, voucher_id: int, code: str, name: str, user,
                             with_amounts: bool = True) -> VoucherTemplate:
    """存为模板: a voucher's lines (accounts, directions, summaries, auxiliary values and, unless
    `with_amounts` is false, amounts) as a template of its account set."""
    v = _voucher(user, FN_VOUCHER_VIEW, voucher_id)
    lines = [TemplateLineInput(account_code=x.account.code, direction="debit" if x.debit else "credit",
                               summary=x.summary, aux=x.aux,
                               amount=(abs(x.debit or x.credit) if with_amounts else None))
             for x in v.lines.select_related("account").order_by("line_no")]
    return save_template(account_set_id=v.account_set_id, code=code, name=name, lines=lines, user=user,
                         category_id=v.category_id)


def delete_template(*, template_id: int, user) -> None:
    permissions.require(user, FN_TEMPLATE)
    with transaction.atomic():
        t = (VoucherTemplate.objects.restrict(user, FN_TEMPLATE).select_for_update(of=("self",))
             .filter(pk=template_id).first() if str(template_id).isdigit() else None)
        if t is None:
            raise NotFound("accounting.template_not_found", "凭证模板不存在", field="template")
        before = _template_snapshot(t)
        t.delete()
        audit.record(user, "accounting.template.delete", None, before=before, object_type="accounting.vouchertemplate",
                     object_id=template_id, object_repr=f"{before['code']} {before['name']}")


def template_rows(t: VoucherTemplate) -> list[dict]:
    """A template's lines for prefilling a voucher: account, summary, direction, amount (None where
    the template has none) and auxiliary values."""
    return [{"account": x.account.code, "summary": x.summary, "direction": x.direction, "amount": x.amount,
             "aux": dict(x.aux)} for x in t.lines.select_related("account").order_by("line_no")]


# --- voucher numbers ------------------------------------------------------------------------------

@retry_on_conflict
def renumber_vouchers(*, period_id: int, user) -> dict:
    """重新编号: close the number gaps of a period by moving its unposted vouchers (in their current
    order) onto the lowest free numbers of their series; posted vouchers keep their numbers. The
    series counters are locked, so entries made meanwhile wait and then draw the next number.
    Returns {"changed": n, "gaps": remaining gap descriptions}."""
    with transaction.atomic():
        p = _period_in_scope(user, FN_RENUMBER, period_id)
        _lock_period_open(p)
        with connection.cursor() as cur:
            cur.execute("SELECT series FROM accounting_vouchercounter WHERE period_id = %s ORDER BY series FOR UPDATE",
                        [p.pk])
        vouchers = list(Voucher.objects.select_for_update().filter(period=p).order_by("series", "number"))
        by_series: dict[str, list[Voucher]] = defaultdict(list)
        for v in vouchers:
            by_series[v.series].append(v)
        changes = []
        for series, vs in by_series.items():
            fixed = {v.number for v in vs if v.status == S.POSTED}
            free = (n for n in range(1, len(vs) + len(fixed) + 2) if n not in fixed)
            for v in (v for v in vs if v.status != S.POSTED):
                new = next(free)
                if new != v.number:
                    changes.append({"voucher": v.pk, "series": series, "from": v.number, "to": new})
                    Voucher.objects.filter(pk=v.pk, status__in=[S.ENTERED, S.AUDITED]).update(number=new)
            top = Voucher.objects.filter(period=p, series=series).aggregate(m=Max("number"))["m"] or 0
            with connection.cursor() as cur:
                cur.execute("INSERT INTO accounting_vouchercounter (period_id, series, last) VALUES (%s, %s, %s) "
                            "ON CONFLICT (period_id, series) DO UPDATE SET last = EXCLUDED.last", [p.pk, series, top])
        gaps = number_gaps(p)
        if changes:
            audit.record(user, "accounting.voucher.renumber", p, after={"changes": changes, "gaps": gaps})
    return {"changed": len(changes), "gaps": gaps}


# --- year-end carry-forward (年末结转) --------------------------------------------------------------

# 非财政拨款 budget revenue accounts whose 01 sub-account is 专项资金收入 (notes §2.3, types 82 and 84)
_SPECIAL_REVENUE = ("6101", "6201", "6301", "6501", "6601")
CARRY_CATEGORY = ("99", "结转凭证", "结")
CARRY_SOURCE_TYPE = "accounting.year_end"


def _budget_income_target(acc: Account, aset: AccountSet) -> str | None:
    """Budget revenue and expenditure → 8101 财政拨款结转 / 8201 非财政拨款结转 / 8401 经营结余 / 8501 其他结余."""
    if acc.category not in (Account.Category.BUDGET_REVENUE, Account.Category.BUDGET_EXPENDITURE):
        return None
    top, sub = acc.code[:4], acc.code[4:6]
    if top == "6001":
        return "810106"
    if top in ("7101", "7201"):
        return {"01": "810106", "02": "820104"}.get(sub, "8501")
    if top in ("6401", "7301"):
        return "8401"
    if top in _SPECIAL_REVENUE and sub == "01":
        return "820104"
    return "8501"


def _operating_surplus_target(acc: Account, aset: AccountSet) -> str | None:
    return "8701" if acc.code.startswith("8401") else None


def _other_surplus_target(acc: Account, aset: AccountSet) -> str | None:
    if not acc.code.startswith("8501"):
        return None
    institution = aset.agency_id is not None and aset.agency.kind != "admin"
    return "8701" if institution else "820204"


def _distribution_target(acc: Account, aset: AccountSet) -> str | None:
    return "820204" if acc.code.startswith("8701") else None


def _income_expense_target(acc: Account, aset: AccountSet) -> str | None:
    return "3301" if acc.category in (Account.Category.REVENUE, Account.Category.EXPENSE) else None


def _period_surplus_target(acc: Account, aset: AccountSet) -> str | None:
    return "3302" if acc.code.startswith("3301") else None


def _surplus_distribution_target(acc: Account, aset: AccountSet) -> str | None:
    return "3001" if acc.code[:4] in ("3302", "3401", "3501") else None


@dataclass(frozen=True)
class CarryStep:
    code: str
    summary: str
    target: object
    credit_only: bool = False


# In order; each step reads the balances left by the previous ones (fiscal-standard notes §2.3).
CARRY_STEPS = (
    CarryStep("carry.budget", "结转本年预算收入和预算支出", _budget_income_target),
    CarryStep("carry.operating", "经营结余贷方余额转入非财政拨款结余分配", _operating_surplus_target, credit_only=True),
    CarryStep("carry.other", "结转其他结余", _other_surplus_target),
    CarryStep("carry.distribution", "非财政拨款结余分配转入非财政拨款结余（累计结余）", _distribution_target),
    CarryStep("carry.income_expense", "结转本期收入和费用", _income_expense_target),
    CarryStep("carry.surplus", "本期盈余转入本年盈余分配", _period_surplus_target),
    CarryStep("carry.net_assets", "本年盈余分配、无偿调拨净资产、以前年度盈余调整转入累计盈余", _surplus_distribution_target),
)


def _carry_category(aset: AccountSet) -> VoucherCategory:
    code, name, word = CARRY_CATEGORY
    cat, _ = VoucherCategory.objects.get_or_create(account_set=aset, code=code, defaults={"name": name, "word": word})
    return cat


CARRY_SOURCES_PER_VOUCHER = 400


def _plan_step(step: CarryStep, aset: AccountSet, balances: dict, accounts: dict[str, Account]
               ) -> list[list[LineInput]]:
    """The vouchers' lines that empty the step's source balances into their targets (aux kept where
    the target carries the element); sources are split over several vouchers when there are many,
    each voucher balancing on its own."""
    sources: list[tuple[Account, dict, Decimal, Account]] = []
    for (_acc_id, _h), (acc, aux, amount) in sorted(balances.items(), key=lambda kv: (kv[1][0].code, kv[0][1])):
        if amount == 0:
            continue
        target_code = step.target(acc, aset)
        if target_code is None or (step.credit_only and amount > 0):
            continue
        target = accounts.get(target_code)
        if target is None:
            raise ValidationFailed("accounting.carry_target_missing", f"结转目标科目 {target_code} 不存在", field="account")
        if not target.is_leaf:
            raise ValidationFailed("accounting.carry_target_not_leaf",
                                   f"结转目标科目 {target.code} {target.name} 不是末级科目，无法自动结转", field="account")
        sources.append((acc, aux, amount, target))
    vouchers: list[list[LineInput]] = []
    for start in range(0, len(sources), CARRY_SOURCES_PER_VOUCHER):
        lines: list[LineInput] = []
        into: dict[tuple[str, str], list] = {}
        for acc, aux, amount, target in sources[start:start + CARRY_SOURCES_PER_VOUCHER]:
            lines.append(LineInput(account_code=acc.code, summary=step.summary, aux=dict(aux),
                                   debit=-amount if amount < 0 else ZERO, credit=amount if amount > 0 else ZERO))
            target_aux = {k: v for k, v in aux.items() if k in target.aux_elements}
            g = into.setdefault((target.code, aux_hash(target_aux)), [target_aux, ZERO])
            g[1] += amount
        for (code, _h), (aux, amount) in sorted(into.items()):
            if amount != 0:
                lines.append(LineInput(account_code=code, summary=step.summary, aux=aux,
                                       debit=amount if amount > 0 else ZERO, credit=-amount if amount < 0 else ZERO))
        vouchers.append(lines)
    return vouchers


def _apply_planned(balances: dict, lines: list[LineInput], accounts: dict[str, Account]) -> None:
    for li in lines:
        acc = accounts[li.account_code]
        key = (acc.pk, aux_hash(li.aux))
        entry = balances.setdefault(key, [acc, dict(li.aux), ZERO])
        entry[2] += Decimal(li.debit or 0) - Decimal(li.credit or 0)


@retry_on_conflict
def generate_carry_forward(*, account_set_id: int, year: int, user) -> list[Voucher]:
    """年末结转: machine vouchers of the 结转 category in period 12 (13 when the account set says so)
    that empty the year's budget revenue and expenditure into 8101/8201/8401/8501 (then 8401 credit
    and 8501 into 8701 or 8202 累计结余, 8701 into 8202 累计结余), and revenue and expense into 3301
    本期盈余 → 3302 本年盈余分配 → 3001 累计盈余. The acting user audits them and, when the account
    set posts machine vouchers automatically, posts them. Running it again carries only what is
    left; nothing left is a Conflict."""
    with transaction.atomic():
        aset = _account_set(user, FN_CARRY, account_set_id)
        year = _require_year(aset, year)
        fy = fiscal_year(aset, year, lock=True)
        if fy.status == FiscalYear.Status.CLOSED:
            raise Conflict("accounting.year_closed", f"{year} 年度已年结", field="year")
        number = carry_period_number(aset)
        period = Period.objects.get(account_set=aset, year=year, number=number)
        _lock_period_open(period)
        pending = (Voucher.objects.filter(account_set=aset, fiscal_year=year, period__number__lte=number)
                   .exclude(status=S.POSTED).count())
        if pending:
            raise Conflict("accounting.carry_pending_vouchers",
                           f"{year} 年度还有 {pending} 张凭证未登账，请先审核、登账后再结转", field="year")
        accounts = {a.code: a for a in Account.objects.filter(account_set=aset)}
        balances: dict = {}
        for b in Balance.objects.filter(period=period).exclude(closing=0).select_related("account"):
            balances[(b.account_id, b.aux_hash)] = [b.account, dict(b.aux), b.closing]
        category = _carry_category(aset)
        now = timezone.now()
        made: list[Voucher] = []
        for step in CARRY_STEPS:
            for planned in _plan_step(step, aset, balances, accounts):
                made.append(_carry_voucher(aset, period, category, step, planned, year, user, now))
                _apply_planned(balances, planned, accounts)
        if not made:
            raise Conflict("accounting.carry_nothing", f"{year} 年度没有需要结转的收入、费用或结余", field="year")
    return made


def _carry_voucher(aset: AccountSet, period: Period, category: VoucherCategory, step: CarryStep,
                   planned: list[LineInput], year: int, user, now) -> Voucher:
    """One carry-forward machine voucher: audited by `user`, posted when the set posts machine vouchers."""
    checked = _validate_lines(aset, planned, create_custom=True)
    v = _insert_voucher(aset=aset, period=period, date=period.end_date, category=category, lines=checked,
                        attachments=0, user=None, is_machine=True, rule_code=step.code,
                        source_type=CARRY_SOURCE_TYPE, source_no=str(year))
    _transition(v, expect=S.ENTERED, to=S.AUDITED, audited_by=user, audited_at=now)
    if aset.machine_auto_post:
        _transition(v, expect=S.AUDITED, to=S.POSTED, posted_by=user, posted_at=now)
        apply_balances(v, +1)
    v.refresh_from_db()
    audit.record(user, "accounting.carry_forward.create", v,
                 after={**audit.snapshot(v), "lines": _lines_snapshot(v)})
    return v


# --- year close (年结) ------------------------------------------------------------------------------

@retry_on_conflict
def close_year(*, account_set_id: int, year: int, user) -> FiscalYear:
    """年结: every period of the year closed and the carry-forward done; creates next year's periods
    (when missing) and its opening balances carried from this year's final closing balances, posted,
    all in one transaction. A second close of the same year is a Conflict."""
    with transaction.atomic():
        aset = _account_set(user, FN_YEAR_CLOSE, account_set_id)
        year = _require_year(aset, year)
        fy = fiscal_year(aset, year, lock=True)
        if fy.status == FiscalYear.Status.CLOSED:
            raise Conflict("accounting.year_already_closed", f"{year} 年度已年结", field="year")
        if Period.objects.filter(account_set=aset, year=year - 1).exists() and not FiscalYear.objects.filter(
                account_set=aset, year=year - 1, status=FiscalYear.Status.CLOSED).exists():
            raise Conflict("accounting.previous_year_open", f"{year - 1} 年度尚未年结", field="year")
        still_open = [n for _pk, n, st in _lock_year_periods(aset, year, exclusive=False) if st != Period.Status.CLOSED]
        if still_open:
            raise Conflict("accounting.year_periods_open",
                           f"{year} 年度第 {'、'.join(map(str, still_open))} 期尚未结账，不能年结", field="year")
        _require_carried(aset, year)
        before = audit.snapshot(fy)
        created = not Period.objects.filter(account_set=aset, year=year + 1).exists()
        _create_periods(aset, year + 1)
        nfy = fiscal_year(aset, year + 1, lock=True)
        if nfy.opening_status == FiscalYear.OpeningStatus.POSTED:
            raise Conflict("accounting.next_opening_posted",
                           f"{year + 1} 年度期初余额已登账，请先取消登账后再年结", field="year")
        next_before = {**audit.snapshot(nfy),
                       "opening_rows": OpeningBalance.objects.filter(account_set=aset, year=year + 1).count()}
        OpeningBalance.objects.filter(account_set=aset, year=year + 1).delete()
        _carry_rows(aset, year)
        FiscalYear.objects.filter(pk=nfy.pk).update(opening_source=FiscalYear.OpeningSource.CARRIED)
        chk = _post_openings(aset, year + 1, user)
        FiscalYear.objects.filter(pk=fy.pk).update(status=FiscalYear.Status.CLOSED, closed_at=timezone.now(),
                                                   closed_by=user, created_next_periods=created)
        fy.refresh_from_db()
        nfy.refresh_from_db()
        audit.record(user, "accounting.year.close", fy, before=before,
                     after={**audit.snapshot(fy), "next_year_periods_created": created})
        audit.record(user, "accounting.opening.carry_post", nfy, before=next_before,
                     after={**audit.snapshot(nfy), "totals": _totals_json(chk)})
    return fy


@retry_on_conflict
def reopen_year(*, account_set_id: int, year: int, user) -> FiscalYear:
    """反年结: undo the year close while the next year has no posted voucher and no closed period:
    the carried openings are un-posted and removed, and next year's periods go away again when the
    close created them and nothing was entered in them."""
    with transaction.atomic():
        aset = _account_set(user, FN_YEAR_CLOSE, account_set_id)
        year = _require_year(aset, year)
        fy = fiscal_year(aset, year, lock=True)
        if fy.status != FiscalYear.Status.CLOSED:
            raise Conflict("accounting.year_not_closed", f"{year} 年度尚未年结", field="year")
        before = audit.snapshot(fy)
        nxt = year + 1
        removed_periods = False
        if Period.objects.filter(account_set=aset, year=nxt).exists():
            nfy = fiscal_year(aset, nxt, lock=True)
            if nfy.status == FiscalYear.Status.CLOSED:
                raise Conflict("accounting.later_year_closed", f"{nxt} 年度已年结，请先反年结 {nxt} 年度", field="year")
            periods = _lock_year_periods(aset, nxt, exclusive=True)
            closed = [n for _pk, n, st in periods if st != Period.Status.OPEN]
            if closed:
                raise Conflict("accounting.next_year_period_closed",
                               f"{nxt} 年度第 {'、'.join(map(str, closed))} 期已结账，不能反年结", field="year")
            posted = Voucher.objects.filter(account_set=aset, fiscal_year=nxt, status=S.POSTED).count()
            if posted:
                raise Conflict("accounting.next_year_has_postings",
                               f"{nxt} 年度已有 {posted} 张凭证登账，不能反年结", field="year")
            if nfy.opening_status == FiscalYear.OpeningStatus.POSTED:
                _unpost_openings(aset, nxt)
            if nfy.opening_source == FiscalYear.OpeningSource.CARRIED:
                OpeningBalance.objects.filter(account_set=aset, year=nxt).delete()
                FiscalYear.objects.filter(pk=nfy.pk).update(opening_source=FiscalYear.OpeningSource.ENTERED)
            if (fy.created_next_periods and not Voucher.objects.filter(account_set=aset, fiscal_year=nxt).exists()
                    and not OpeningBalance.objects.filter(account_set=aset, year=nxt).exists()
                    and not Period.objects.filter(account_set=aset, year=nxt + 1).exists()):
                Balance.objects.filter(account_set=aset, period__year=nxt).delete()
                Period.objects.filter(account_set=aset, year=nxt).delete()
                FiscalYear.objects.filter(pk=nfy.pk).delete()
                removed_periods = True
        FiscalYear.objects.filter(pk=fy.pk).update(status=FiscalYear.Status.OPEN, closed_at=None, closed_by=None,
                                                   created_next_periods=False)
        fy.refresh_from_db()
        audit.record(user, "accounting.year.reopen", fy, before=before,
                     after={**audit.snapshot(fy), "next_year_periods_removed": removed_periods})
    return fy
