"""Writes of the indicator module: entry and import, review, distribution, unit confirmation,
adjustment documents (调增/调减/调剂/预拨/冻结/解冻/结转/收回) and control rules.

Figures change only through ``fmis.indicators.ledger``; every service checks the acting user's
function and data scope first, runs in one transaction (retried on serialization failures and
deadlocks where it moves money) and leaves an audit record. Review transitions arrive through the
platform workflow's callbacks (``on_indicator_review``, ``on_adjustment_review``), inside the
workflow's transaction: approving an adjustment applies it, or refuses the approval.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from fmis.dictionary.selectors import validate_value
from fmis.iam import permissions
from fmis.indicators import ledger
from fmis.indicators.functions import (
    ADJUST,
    CARRY_OVER,
    CONFIRM,
    CONTROL_MANAGE,
    DISTRIBUTE,
    FREEZE,
    IMPORT,
    MANAGE,
)
from fmis.indicators.ledger import SourceRef
from fmis.indicators.models import Adjustment, AdjustmentLine, ControlRule, Indicator, Movement
from fmis.platform import audit, events
from fmis.platform.db import retry_on_conflict
from fmis.platform.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.money import ZERO, fmt, to_money
from fmis.platform.workflow import services as workflow

S = Indicator.Status
K = Movement.Kind
AK = Adjustment.Kind

DOC_INDICATOR = "indicators.indicator"
DOC_ADJUSTMENT = "indicators.adjustment"
EVENT_QUOTA_ARRIVED = "indicators.quota_arrived"
EVENT_QUOTA_REDUCED = "indicators.quota_reduced"

CARRY_OVER_TYPE = "2"  # BGT_TYPE 上年结转指标

# classification fields → (dictionary element, label)
CLASS_FIELDS = {
    "func_code": ("EXP_FUNC", "支出功能分类"),
    "gov_eco_code": ("GOV_ECO", "政府经济分类"),
    "dept_eco_code": ("DEPT_ECO", "部门经济分类"),
    "fund_type": ("FUND_TYPE", "资金性质"),
    "indicator_type": ("BGT_TYPE", "指标类型"),
}
# statuses in which an indicator's figures may be adjusted
ADJUSTABLE = (S.UNDISTRIBUTED, S.DISTRIBUTED, S.EXECUTABLE)


# --- helpers ------------------------------------------------------------------------------------

def _indicator_in_scope(user, function: str, indicator_id, *, lock: bool = False) -> Indicator:
    """The indicator if `user` holds `function` for it; missing and out-of-scope alike are NotFound."""
    permissions.require(user, function)
    qs = Indicator.objects.restrict(user, function).select_related("region", "agency")
    if lock:
        qs = qs.select_for_update(of=("self",))
    ind = qs.filter(pk=indicator_id).first() if str(indicator_id).isdigit() else None
    if ind is None:
        raise NotFound("indicator.not_found", "指标不存在", field="indicator")
    return ind


def quota_payload(ind: Indicator, amount: Decimal, *, kind: str, source: SourceRef,
                  on: dt.date | None = None) -> dict:
    """What accounting needs to post a quota arrival or reduction."""
    return {
        "amount": amount, "kind": kind, "fiscal_year": ind.fiscal_year, "region": ind.region.code,
        "agency": ind.agency.code if ind.agency_id else "", "indicator_id": ind.pk, "indicator_code": ind.code,
        "func_code": ind.func_code, "gov_eco_code": ind.gov_eco_code, "dept_eco_code": ind.dept_eco_code,
        "fund_type": ind.fund_type, "indicator_type": ind.indicator_type, "pay_mode": ind.pay_mode,
        "project_code": ind.project_code, "source_type": source.type, "source_id": source.id,
        "source_no": source.no, "date": (on or timezone.localdate()).isoformat(),
    }


def _publish_change(ind_id: int, amount: Decimal, *, kind: str, source: SourceRef, increase: bool) -> None:
    """quota_arrived / quota_reduced, for indicators that are executable for their agency."""
    ind = Indicator.objects.select_related("region", "agency").get(pk=ind_id)
    if ind.status != S.EXECUTABLE:
        return
    events.publish(EVENT_QUOTA_ARRIVED if increase else EVENT_QUOTA_REDUCED,
                   quota_payload(ind, amount, kind=kind, source=source))


def _set_status(ind: Indicator, *, expect: Sequence[str], to: str, **extra) -> None:
    updated = Indicator.objects.filter(pk=ind.pk, status__in=list(expect)).update(status=to, **extra)
    if updated == 0:
        current = Indicator.objects.filter(pk=ind.pk).values_list("status", flat=True).first()
        label = S(current).label if current else "不存在"
        raise Conflict("indicator.status_changed", f"指标 {ind.code} 当前状态为“{label}”，不能执行此操作，请刷新后重试",
                       field="status", status=current)


def _validate_classes(values: dict, errors: list[dict] | None = None, line: int | None = None) -> None:
    """Classification codes must exist and be enabled in the dictionary. With `errors`, collect."""
    for field, (element, _label) in CLASS_FIELDS.items():
        try:
            validate_value(element_code=element, code=values.get(field, ""), field=field)
        except ValidationFailed as exc:
            if errors is None:
                raise
            errors.append({"line": line, "field": field, "message": f"第 {line} 行：{exc.message}"})


# --- entry --------------------------------------------------------------------------------------

@dataclass
class IndicatorInput:
    fiscal_year: int
    region_id: int
    code: str
    title: str
    func_code: str
    gov_eco_code: str
    dept_eco_code: str
    fund_type: str
    indicator_type: str
    pay_mode: str
    amount: Decimal | str | int
    agency_id: int | None = None
    doc_no: str = ""
    project_code: str = ""
    to_distribute: bool = False
    doc_date: dt.date | None = None


def _clean_input(data: IndicatorInput) -> dict:
    from fmis.orgs.models import Agency, Region

    code = (data.code or "").strip()
    title = (data.title or "").strip()
    if not code:
        raise ValidationFailed("indicator.code_required", "指标编号不能为空", field="code")
    if len(code) > 40:
        raise ValidationFailed("indicator.code_too_long", "指标编号不能超过 40 个字符", field="code")
    if not title:
        raise ValidationFailed("indicator.title_required", "指标说明不能为空", field="title")
    if not (2000 <= int(data.fiscal_year or 0) <= 2100):
        raise ValidationFailed("indicator.year_invalid", f"预算年度不正确：{data.fiscal_year}", field="fiscal_year")
    amount = to_money(data.amount, field="amount")
    if amount <= 0:
        raise ValidationFailed("indicator.amount_not_positive", "指标金额必须大于零", field="amount")
    if data.pay_mode not in Indicator.PayMode.values:
        raise ValidationFailed("indicator.pay_mode_invalid", f"支付方式不正确：{data.pay_mode}", field="pay_mode")
    region = Region.objects.filter(pk=data.region_id).first()
    if region is None:
        raise ValidationFailed("indicator.region_missing", "财政区划不存在", field="region")
    agency = None
    if data.agency_id:
        agency = Agency.objects.filter(pk=data.agency_id).first()
        if agency is None:
            raise ValidationFailed("indicator.agency_missing", "预算单位不存在", field="agency")
        if agency.region_id != region.pk:
            raise ValidationFailed("indicator.agency_region", f"预算单位 {agency.code} 不属于财政区划 {region.code}",
                                   field="agency")
    if not data.to_distribute and agency is None:
        raise ValidationFailed("indicator.agency_required", "不需分配的指标必须指定预算单位", field="agency")
    values = {"func_code": (data.func_code or "").strip(), "gov_eco_code": (data.gov_eco_code or "").strip(),
              "dept_eco_code": (data.dept_eco_code or "").strip(), "fund_type": (data.fund_type or "").strip(),
              "indicator_type": (data.indicator_type or "").strip()}
    _validate_classes(values)
    return dict(fiscal_year=int(data.fiscal_year), region=region, agency=agency, code=code, title=title[:200],
                doc_no=(data.doc_no or "").strip()[:100], project_code=(data.project_code or "").strip()[:30],
                pay_mode=data.pay_mode, amount=amount, to_distribute=bool(data.to_distribute),
                doc_date=data.doc_date, **values)


@retry_on_conflict
def create_indicator(*, user, data: IndicatorInput) -> Indicator:
    """Enter an indicator (录入). It carries no figures until its review completes."""
    permissions.require(user, MANAGE)
    fields = _clean_input(data)
    with transaction.atomic():
        try:
            with transaction.atomic():
                ind = Indicator.objects.create(status=S.DRAFT, created_by=user, **fields)
        except IntegrityError:
            raise Conflict("indicator.code_taken", f"指标编号 {fields['code']} 在 {fields['fiscal_year']} 年度已存在",
                           field="code") from None
        try:
            permissions.require_object(user, MANAGE, ind)
        except PermissionDenied:
            raise PermissionDenied("indicator.out_of_scope", "该区划或单位不在您的数据权限范围内",
                                   field="agency" if ind.agency_id else "region") from None
        audit.record(user, "indicators.indicator.create", ind)
    return ind


@retry_on_conflict
def update_indicator(*, user, indicator_id: int, data: IndicatorInput) -> Indicator:
    """Change a draft (or returned) indicator."""
    fields = _clean_input(data)
    with transaction.atomic():
        ind = _indicator_in_scope(user, MANAGE, indicator_id, lock=True)
        if ind.status != S.DRAFT:
            raise Conflict("indicator.not_draft", "只有录入状态的指标可以修改", field="status")
        before = audit.snapshot(ind)
        for k, v in fields.items():
            setattr(ind, k, v)
        try:
            with transaction.atomic():
                ind.save()
        except IntegrityError:
            raise Conflict("indicator.code_taken", f"指标编号 {fields['code']} 在 {fields['fiscal_year']} 年度已存在",
                           field="code") from None
        permissions.require_object(user, MANAGE, ind)
        audit.record(user, "indicators.indicator.update", ind, before=before)
    return ind


@retry_on_conflict
def delete_indicator(*, user, indicator_id: int) -> None:
    """Delete a draft indicator that was never submitted."""
    from fmis.platform.workflow import selectors as wf

    with transaction.atomic():
        ind = _indicator_in_scope(user, MANAGE, indicator_id, lock=True)
        if ind.status != S.DRAFT or wf.instance_of(ind, DOC_INDICATOR) is not None:
            raise Conflict("indicator.not_deletable", "只有从未送审的录入状态指标可以删除", field="status")
        before = audit.snapshot(ind)
        Indicator.objects.filter(pk=ind.pk).delete()
        audit.record(user, "indicators.indicator.delete", None, before=before, object_type="indicators.indicator",
                     object_id=indicator_id, object_repr=str(ind))


# --- import -------------------------------------------------------------------------------------

IMPORT_COLUMNS = {
    "预算年度": "fiscal_year", "财政区划": "region", "预算单位": "agency", "指标编号": "code", "指标文号": "doc_no",
    "指标说明": "title", "项目代码": "project_code", "支出功能分类": "func_code", "政府经济分类": "gov_eco_code",
    "部门经济分类": "dept_eco_code", "资金性质": "fund_type", "指标类型": "indicator_type", "支付方式": "pay_mode",
    "金额": "amount", "待分配": "to_distribute",
}
IMPORT_REQUIRED = ("fiscal_year", "region", "code", "title", "func_code", "gov_eco_code", "dept_eco_code",
                   "fund_type", "indicator_type", "pay_mode", "amount")
_TITLES = {v: k for k, v in IMPORT_COLUMNS.items()}
_PAY_MODES = {"direct": "direct", "直接支付": "direct", "财政直接支付": "direct", "11": "direct",
              "authorized": "authorized", "授权支付": "authorized", "财政授权支付": "authorized", "12": "authorized"}
_YES = {"是", "y", "yes", "1", "true", "待分"}
_NO = {"", "否", "n", "no", "0", "false"}
_COMPARED = ("agency_id", "title", "doc_no", "project_code", "func_code", "gov_eco_code", "dept_eco_code",
             "fund_type", "indicator_type", "pay_mode", "amount", "to_distribute")


@dataclass(frozen=True)
class ImportResult:
    created: int
    unchanged: int


@retry_on_conflict
def import_indicators(*, user, file) -> ImportResult:
    """Import indicators from xlsx: all lines or none; a line identical to an existing indicator
    (same region, year and code) is left alone, so importing a file twice changes nothing."""
    from fmis.orgs.models import Agency, Region
    from fmis.platform.xlsx import read_rows

    permissions.require(user, IMPORT)
    rows = list(read_rows(file, IMPORT_COLUMNS, required=IMPORT_REQUIRED))
    if not rows:
        raise ValidationFailed("import.no_rows", "文件中没有数据行", field="file")
    errors: list[dict] = []

    def err(line, field, message):
        errors.append({"line": line, "field": field, "message": f"第 {line} 行 {_TITLES.get(field, field)}：{message}"})

    regions = {r.code: r for r in Region.objects.filter(code__in={r["region"] for _, r in rows})}
    agencies = {a.code: a for a in Agency.objects.filter(code__in={r.get("agency", "") for _, r in rows})}
    seen: dict[tuple, int] = {}
    pending: list[tuple[int, dict]] = []
    unchanged = 0
    with transaction.atomic():
        for line, r in rows:
            n_before = len(errors)
            for f in IMPORT_REQUIRED:
                if not r.get(f):
                    err(line, f, "不能为空")
            if len(errors) > n_before:
                continue
            year = r["fiscal_year"]
            if not year.isdigit() or not 2000 <= int(year) <= 2100:
                err(line, "fiscal_year", f"不正确：{year}")
            region = regions.get(r["region"])
            if region is None:
                err(line, "region", f"{r['region']} 不存在")
            agency = None
            if r.get("agency"):
                agency = agencies.get(r["agency"])
                if agency is None:
                    err(line, "agency", f"{r['agency']} 不存在")
                elif region is not None and agency.region_id != region.pk:
                    err(line, "agency", f"{agency.code} 不属于财政区划 {region.code}")
            pay_mode = _PAY_MODES.get(r["pay_mode"].lower() if r["pay_mode"].isascii() else r["pay_mode"])
            if pay_mode is None:
                err(line, "pay_mode", f"不正确：{r['pay_mode']}（应为 直接支付 或 授权支付）")
            flag = r.get("to_distribute", "").strip().lower()
            if flag not in _YES | _NO:
                err(line, "to_distribute", f"应为 是 或 否：{r.get('to_distribute')}")
            to_distribute = flag in _YES
            if not to_distribute and not r.get("agency"):
                err(line, "agency", "不需分配的指标必须填写预算单位")
            try:
                amount = to_money(r["amount"], field="amount")
                if amount <= 0:
                    err(line, "amount", "必须大于零")
            except ValidationFailed as exc:
                err(line, "amount", exc.message)
                amount = None
            if len(r["code"]) > 40:
                err(line, "code", "不能超过 40 个字符")
            for f, (element, _label) in CLASS_FIELDS.items():
                try:
                    validate_value(element_code=element, code=r[f], field=f)
                except ValidationFailed as exc:
                    err(line, f, exc.message)
            if len(errors) > n_before:
                continue
            key = (region.pk, int(year), r["code"])
            if key in seen:
                err(line, "code", f"与第 {seen[key]} 行重复")
                continue
            seen[key] = line
            fields = {
                "fiscal_year": int(year), "region": region, "agency": agency, "code": r["code"],
                "title": r["title"][:200], "doc_no": r.get("doc_no", "")[:100],
                "project_code": r.get("project_code", "")[:30], "func_code": r["func_code"],
                "gov_eco_code": r["gov_eco_code"], "dept_eco_code": r["dept_eco_code"], "fund_type": r["fund_type"],
                "indicator_type": r["indicator_type"], "pay_mode": pay_mode, "amount": amount,
                "to_distribute": to_distribute,
            }
            existing = Indicator.objects.filter(region=region, fiscal_year=int(year), code=r["code"]).first()
            if existing is not None:
                new = dict(fields, agency_id=agency.pk if agency else None)
                differs = [f for f in _COMPARED if getattr(existing, f) != new[f]]
                if differs:
                    err(line, "code", f"指标 {r['code']} 已存在且内容不同（{'、'.join(_TITLES.get(f.removesuffix('_id'), f) for f in differs)}）")
                else:
                    unchanged += 1
                continue
            pending.append((line, fields))
        if errors:
            raise ValidationFailed("indicators.import_invalid", f"导入文件有 {len(errors)} 处错误，未导入任何数据：" + errors[0]["message"],
                                   field="file", errors=errors)
        created = [Indicator.objects.create(status=S.DRAFT, created_by=user, **f) for _, f in pending]
        allowed = set(Indicator.objects.restrict(user, IMPORT).filter(pk__in=[i.pk for i in created])
                      .values_list("pk", flat=True))
        for (line, _f), ind in zip(pending, created, strict=True):
            if ind.pk not in allowed:
                err(line, "agency" if ind.agency_id else "region", "不在您的数据权限范围内")
        if errors:
            raise ValidationFailed("indicators.import_invalid", f"导入文件有 {len(errors)} 处错误，未导入任何数据：" + errors[0]["message"],
                                   field="file", errors=errors)
        for ind in created:
            audit.record(user, "indicators.indicator.import", ind)
    return ImportResult(created=len(created), unchanged=unchanged)


# --- review of indicators -----------------------------------------------------------------------

@retry_on_conflict
def submit_indicator(*, user, indicator_id: int, comment: str = "") -> Indicator:
    with transaction.atomic():
        ind = _indicator_in_scope(user, MANAGE, indicator_id)
        workflow.submit(document=ind, user=user, comment=comment, doc_type=DOC_INDICATOR)
    ind.refresh_from_db()
    return ind


def lock_indicators(ids) -> None:
    """Lock indicator rows in id order before a review transition takes the audit chain's lock, so
    that every transaction moving indicators takes row locks first (the treasury does the same)."""
    if ids:
        list(Indicator.objects.select_for_update(no_key=True).filter(pk__in=list(ids)).order_by("pk")
             .values_list("pk", flat=True))


def lock_for_review(document) -> None:
    """Workflow ``prepare`` hook: lock the indicators a review of `document` may move, in id order."""
    if isinstance(document, Indicator):
        ids = {document.pk}
    else:
        ids = set()
        for ind_id, target_id in AdjustmentLine.objects.filter(adjustment_id=document.pk).values_list(
                "indicator_id", "target_id"):
            ids |= {ind_id, target_id} - {None}
    lock_indicators(ids)


def review(*, user, document, action: str, text: str = "", step: int | None = None):
    """Approve / return / reject / withdraw an indicator or an adjustment (retried on deadlocks by
    the workflow, which calls ``lock_for_review`` first)."""
    doc_type = DOC_INDICATOR if isinstance(document, Indicator) else DOC_ADJUSTMENT
    return workflow.perform(action, document=document, user=user, text=text, step=step, doc_type=doc_type)


def on_indicator_review(event: str, *, document, instance, user) -> None:
    """Workflow callback: keep the indicator's status in step with its review; issue on approval."""
    ind = Indicator.objects.select_for_update(of=("self",)).select_related("region", "agency").get(pk=document.pk)
    before = audit.snapshot(ind)
    if event == workflow.EVENT_SUBMITTED:
        _set_status(ind, expect=[S.DRAFT], to=S.REVIEWING)
    elif event in (workflow.EVENT_RETURNED, workflow.EVENT_WITHDRAWN):
        _set_status(ind, expect=[S.REVIEWING], to=S.DRAFT)
    elif event == workflow.EVENT_REJECTED:
        _set_status(ind, expect=[S.REVIEWING], to=S.REJECTED)
    elif event == workflow.EVENT_COMPLETED:
        direct = ind.agency_id is not None and not ind.to_distribute
        _set_status(ind, expect=[S.REVIEWING], to=S.DISTRIBUTED if direct else S.UNDISTRIBUTED)
        ledger.move(indicator_id=ind.pk, kind=K.ISSUE, amount=ind.amount, user=user,
                    source=SourceRef(DOC_INDICATOR, ind.pk, ind.doc_no or ind.code), note="指标审核通过下达")
    else:
        return
    ind.refresh_from_db()
    audit.record(user, f"indicators.indicator.{event.split('.')[-1]}", ind, before=before)


# --- distribution and confirmation --------------------------------------------------------------

@dataclass(frozen=True)
class Split:
    agency_id: int
    amount: Decimal | str | int
    title: str = ""


@retry_on_conflict
def distribute(*, user, indicator_id: int, splits: Sequence[Split], total=None) -> list[Indicator]:
    """Split a 待分 indicator to agencies: one child indicator per line (lineage ``source``),
    classifications inherited, each amount moved with distribute_out / distribute_in. The lines
    must add up to `total` (default: the indicator's available amount)."""
    from fmis.orgs.models import Agency

    parent = _indicator_in_scope(user, DISTRIBUTE, indicator_id, lock=True)
    if parent.status != S.UNDISTRIBUTED:
        raise Conflict("indicator.not_undistributed",
                       f"指标 {parent.code} 当前状态为“{parent.get_status_display()}”，只有待分指标可以分配", field="status")
    if not splits:
        raise ValidationFailed("indicator.split_empty", "至少需要一行分配明细", field="lines")
    errors: list[dict] = []
    amounts: list[Decimal] = []
    agency_ids = [s.agency_id for s in splits]
    agencies = {a.pk: a for a in Agency.objects.filter(pk__in=[a for a in agency_ids if str(a).isdigit()])}
    seen: set = set()
    for i, s in enumerate(splits, start=1):
        try:
            amt = to_money(s.amount, field="amount")
            if amt <= 0:
                raise ValidationFailed("indicator.amount_not_positive", "金额必须大于零", field="amount")
        except ValidationFailed as exc:
            errors.append({"line": i, "field": "amount", "message": f"第 {i} 行 金额：{exc.message}"})
            amt = ZERO
        amounts.append(amt)
        agency = agencies.get(s.agency_id)
        if agency is None:
            errors.append({"line": i, "field": "agency", "message": f"第 {i} 行 预算单位：不存在"})
        elif agency.region_id != parent.region_id:
            errors.append({"line": i, "field": "agency",
                           "message": f"第 {i} 行 预算单位：{agency.code} 不属于指标的财政区划 {parent.region.code}"})
        elif agency.pk in seen:
            errors.append({"line": i, "field": "agency", "message": f"第 {i} 行 预算单位：{agency.code} 重复"})
        seen.add(s.agency_id)
    if errors:
        raise ValidationFailed("indicator.split_invalid", errors[0]["message"], field="lines", errors=errors)
    total = parent.available if total in (None, "") else to_money(total, field="total")
    split_sum = sum(amounts, start=ZERO)
    if split_sum != total:
        raise ValidationFailed("indicator.split_mismatch",
                               f"分配明细合计 {fmt(split_sum)} 与分配金额 {fmt(total)} 不一致", field="lines",
                               split_sum=split_sum, total=total)
    if total > parent.available:
        raise Conflict("indicator.insufficient", f"指标 {parent.code} 可用金额 {fmt(parent.available)} 不足 {fmt(total)}",
                       field="total")
    n = Indicator.objects.filter(source=parent).count()
    source = SourceRef(DOC_INDICATOR, parent.pk, parent.doc_no or parent.code)
    children = []
    for i, (s, amt) in enumerate(zip(splits, amounts, strict=True), start=1):
        agency = agencies[s.agency_id]
        child = Indicator.objects.create(
            fiscal_year=parent.fiscal_year, region=parent.region, agency=agency, code=f"{parent.code[:34]}-{n + i:03d}",
            doc_no=parent.doc_no, doc_date=parent.doc_date, title=(s.title or f"{parent.title}（{agency.name}）")[:200],
            project_code=parent.project_code, func_code=parent.func_code, gov_eco_code=parent.gov_eco_code,
            dept_eco_code=parent.dept_eco_code, fund_type=parent.fund_type, indicator_type=parent.indicator_type,
            pay_mode=parent.pay_mode, source=parent, status=S.DISTRIBUTED, amount=amt, created_by=user)
        ledger.move_between(from_id=parent.pk, to_id=child.pk, out_kind=K.DISTRIBUTE_OUT, in_kind=K.DISTRIBUTE_IN,
                            amount=amt, user=user, source=source, note=f"分配至 {agency.name}")
        audit.record(user, "indicators.indicator.distribute", child)
        children.append(child)
    before = audit.snapshot(parent)
    parent.refresh_from_db()
    audit.record(user, "indicators.indicator.distributed", parent, before=before)
    return children


@retry_on_conflict
def confirm(*, user, indicator_id: int) -> Indicator:
    """The unit confirms an indicator distributed to it: it becomes executable (quota arrives)."""
    ind = _indicator_in_scope(user, CONFIRM, indicator_id, lock=True)
    before = audit.snapshot(ind)
    _set_status(ind, expect=[S.DISTRIBUTED], to=S.EXECUTABLE, confirmed_at=timezone.now())
    ind.refresh_from_db()
    audit.record(user, "indicators.indicator.confirm", ind, before=before)
    if ind.total > 0:
        events.publish(EVENT_QUOTA_ARRIVED, quota_payload(
            ind, ind.total, kind="confirm", source=SourceRef(DOC_INDICATOR, ind.pk, ind.doc_no or ind.code)))
    return ind


# --- adjustment documents -----------------------------------------------------------------------

KIND_FUNCTION = {AK.FREEZE: FREEZE, AK.UNFREEZE: FREEZE, AK.CARRY_OVER: CARRY_OVER, AK.RECOVER: CARRY_OVER}
# kinds that take money out of an indicator's available amount (checked early, enforced on apply)
_OUT_KINDS = (AK.ADJUST_DOWN, AK.TRANSFER, AK.FREEZE, AK.CARRY_OVER, AK.RECOVER)


def kind_function(kind: str) -> str:
    return KIND_FUNCTION.get(kind, ADJUST)


@dataclass(frozen=True)
class LineInput:
    indicator_id: int
    amount: Decimal | str | int
    target_id: int | None = None
    note: str = ""


def _require_kind(user, kind: str) -> None:
    permissions.require(user, ADJUST)
    permissions.require(user, kind_function(kind))


@retry_on_conflict
def create_adjustment(*, user, kind: str, reason: str, lines: Sequence[LineInput], doc_no: str = "") -> Adjustment:
    """A draft adjustment document. Its lines are applied when its review completes."""
    if kind not in AK.values:
        raise ValidationFailed("indicators.adjustment.kind_invalid", f"调整类型不正确：{kind}", field="kind")
    _require_kind(user, kind)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("indicators.adjustment.reason_required", "调整原因不能为空", field="reason")
    if len(reason) > 500:
        raise ValidationFailed("indicators.adjustment.reason_too_long", "调整原因不能超过 500 个字符", field="reason")
    if not lines:
        raise ValidationFailed("indicators.adjustment.no_lines", "至少需要一行调整明细", field="lines")
    visible = Indicator.objects.restrict(user, ADJUST).select_related("region")
    ids = {ln.indicator_id for ln in lines} | {ln.target_id for ln in lines if ln.target_id}
    found = {i.pk: i for i in visible.filter(pk__in=[i for i in ids if str(i).isdigit()])}
    errors: list[dict] = []
    rows = []
    year_region: set[tuple] = set()

    def err(i, field, msg):
        errors.append({"line": i, "field": field, "message": f"第 {i} 行：{msg}"})

    for i, ln in enumerate(lines, start=1):
        ind = found.get(ln.indicator_id)
        if ind is None:
            err(i, "indicator", "指标不存在")
            continue
        if ind.status not in ADJUSTABLE:
            err(i, "indicator", f"指标 {ind.code} 当前状态为“{ind.get_status_display()}”，不能调整")
        try:
            if kind in (AK.CARRY_OVER, AK.RECOVER) and ln.amount in (None, ""):
                amount = ind.available  # year end: the whole available amount
            else:
                amount = to_money(ln.amount, field="amount")
            if amount <= 0:
                raise ValidationFailed("indicator.amount_not_positive", "金额必须大于零", field="amount")
        except ValidationFailed as exc:
            err(i, "amount", exc.message)
            continue
        if kind in _OUT_KINDS and amount > ind.available:
            err(i, "amount", f"指标 {ind.code} 可用金额 {fmt(ind.available)} 不足 {fmt(amount)}")
        if kind == AK.UNFREEZE and amount > ind.frozen:
            err(i, "amount", f"解冻金额 {fmt(amount)} 超过指标 {ind.code} 已冻结金额 {fmt(ind.frozen)}")
        target = None
        if kind == AK.TRANSFER:
            target = found.get(ln.target_id) if ln.target_id else None
            if target is None:
                err(i, "target", "调剂必须指定调入指标")
            elif target.pk == ind.pk:
                err(i, "target", "调出和调入不能是同一指标")
            elif target.status not in ADJUSTABLE:
                err(i, "target", f"调入指标 {target.code} 当前状态为“{target.get_status_display()}”，不能调入")
            elif (target.fiscal_year, target.region_id) != (ind.fiscal_year, ind.region_id):
                err(i, "target", "调入指标必须与调出指标同一年度、同一财政区划")
        elif ln.target_id:
            err(i, "target", "只有调剂需要调入指标")
        year_region.add((ind.fiscal_year, ind.region_id))
        rows.append((ind, target, amount, (ln.note or "")[:200]))
    if len(year_region) > 1:
        errors.append({"line": None, "field": "lines", "message": "一张调整单的指标必须属于同一年度、同一财政区划"})
    if errors:
        raise ValidationFailed("indicators.adjustment.invalid", errors[0]["message"], field="lines", errors=errors)
    year, region_id = year_region.pop()
    with transaction.atomic():
        adj = Adjustment.objects.create(fiscal_year=year, region_id=region_id, kind=kind, reason=reason,
                                        doc_no=(doc_no or "").strip()[:100], created_by=user)
        adj.number = f"TZ{year}{adj.pk:06d}"
        adj.save(update_fields=["number"])
        AdjustmentLine.objects.bulk_create([
            AdjustmentLine(adjustment=adj, line_no=n, indicator=ind, target=target, amount=amount, note=note)
            for n, (ind, target, amount, note) in enumerate(rows, start=1)])
        audit.record(user, "indicators.adjustment.create", adj,
                     after={**audit.snapshot(adj), "lines": [[r[0].pk, r[1].pk if r[1] else None, r[2]] for r in rows]})
    return adj


def _adjustment_in_scope(user, adjustment_id, function: str = ADJUST, *, lock: bool = False) -> Adjustment:
    permissions.require(user, function)
    qs = Adjustment.objects.restrict(user, function)
    if lock:
        qs = qs.select_for_update()
    adj = qs.filter(pk=adjustment_id).first() if str(adjustment_id).isdigit() else None
    if adj is None:
        raise NotFound("indicators.adjustment.not_found", "调整单不存在", field="adjustment")
    return adj


@retry_on_conflict
def submit_adjustment(*, user, adjustment_id: int, comment: str = "") -> Adjustment:
    with transaction.atomic():
        adj = _adjustment_in_scope(user, adjustment_id)
        _require_kind(user, adj.kind)
        workflow.submit(document=adj, user=user, comment=comment, doc_type=DOC_ADJUSTMENT)
    adj.refresh_from_db()
    return adj


@retry_on_conflict
def delete_adjustment(*, user, adjustment_id: int) -> None:
    from fmis.platform.workflow import selectors as wf

    with transaction.atomic():
        adj = _adjustment_in_scope(user, adjustment_id, lock=True)
        if adj.status != Adjustment.Status.DRAFT or wf.instance_of(adj, DOC_ADJUSTMENT) is not None:
            raise Conflict("indicators.adjustment.not_deletable", "只有从未送审的草稿调整单可以删除", field="status")
        before = audit.snapshot(adj)
        adj.delete()
        audit.record(user, "indicators.adjustment.delete", None, before=before, object_type="indicators.adjustment",
                     object_id=adjustment_id, object_repr=str(adj))


def _carry_over_target(ind: Indicator, user) -> Indicator:
    """The next year's indicator that receives `ind`'s carry-over (created the first time)."""
    year = ind.fiscal_year + 1
    existing = Indicator.objects.filter(source=ind, fiscal_year=year, indicator_type=CARRY_OVER_TYPE).first()
    if existing is not None:
        return existing
    code, n = ind.code, 1
    while Indicator.objects.filter(region=ind.region, fiscal_year=year, code=code).exists():
        code = f"{ind.code[:34]}-JZ{n}"
        n += 1
    status = ind.status if ind.status in ADJUSTABLE else S.UNDISTRIBUTED
    return Indicator.objects.create(
        fiscal_year=year, region=ind.region, agency=ind.agency, code=code, doc_no=ind.doc_no,
        title=f"{ind.title}（{ind.fiscal_year}年结转）"[:200], project_code=ind.project_code, func_code=ind.func_code,
        gov_eco_code=ind.gov_eco_code, dept_eco_code=ind.dept_eco_code, fund_type=ind.fund_type,
        indicator_type=CARRY_OVER_TYPE, pay_mode=ind.pay_mode, source=ind, status=status,
        to_distribute=ind.to_distribute, confirmed_at=ind.confirmed_at, created_by=user)


def _apply(adj: Adjustment, user) -> None:
    src = SourceRef(DOC_ADJUSTMENT, adj.pk, adj.number)
    for ln in adj.lines.select_related("indicator").order_by("line_no"):
        ind, amount, note = ln.indicator, ln.amount, ln.note or adj.reason
        if ind.status not in ADJUSTABLE:
            raise Conflict("indicator.status_changed", f"第 {ln.line_no} 行：指标 {ind.code} 当前状态为"
                           f"“{ind.get_status_display()}”，不能调整", field="lines", line=ln.line_no)
        try:
            if adj.kind in (AK.ADJUST_UP, AK.ADVANCE):
                kind = K.ADJUST_UP if adj.kind == AK.ADJUST_UP else K.ADVANCE
                ledger.move(indicator_id=ind.pk, kind=kind, amount=amount, user=user, source=src, note=note)
                _publish_change(ind.pk, amount, kind=kind, source=src, increase=True)
            elif adj.kind in (AK.ADJUST_DOWN, AK.RECOVER):
                kind = K.ADJUST_DOWN if adj.kind == AK.ADJUST_DOWN else K.RECOVER
                ledger.move(indicator_id=ind.pk, kind=kind, amount=amount, user=user, source=src, note=note)
                _publish_change(ind.pk, amount, kind=kind, source=src, increase=False)
            elif adj.kind in (AK.FREEZE, AK.UNFREEZE):
                kind = K.FREEZE if adj.kind == AK.FREEZE else K.UNFREEZE
                ledger.move(indicator_id=ind.pk, kind=kind, amount=amount, user=user, source=src, note=note)
            elif adj.kind == AK.TRANSFER:
                target = ln.target
                if target.status not in ADJUSTABLE:
                    raise Conflict("indicator.status_changed", f"第 {ln.line_no} 行：调入指标 {target.code} 不能调入",
                                   field="lines", line=ln.line_no)
                ledger.move_between(from_id=ind.pk, to_id=target.pk, out_kind=K.TRANSFER_OUT, in_kind=K.TRANSFER_IN,
                                    amount=amount, user=user, source=src, note=note)
                _publish_change(ind.pk, amount, kind=K.TRANSFER_OUT, source=src, increase=False)
                _publish_change(target.pk, amount, kind=K.TRANSFER_IN, source=src, increase=True)
            elif adj.kind == AK.CARRY_OVER:
                target = _carry_over_target(ind, user)
                ledger.move_between(from_id=ind.pk, to_id=target.pk, out_kind=K.CARRY_OVER_OUT,
                                    in_kind=K.CARRY_OVER_IN, amount=amount, user=user, source=src, note=note)
                AdjustmentLine.objects.filter(pk=ln.pk).update(target=target)
                _publish_change(ind.pk, amount, kind=K.CARRY_OVER_OUT, source=src, increase=False)
                _publish_change(target.pk, amount, kind=K.CARRY_OVER_IN, source=src, increase=True)
        except DomainError as exc:
            if exc.line is None and not exc.message.startswith("第"):
                exc.message = f"第 {ln.line_no} 行：{exc.message}"
                exc.line = ln.line_no
            raise


def on_adjustment_review(event: str, *, document, instance, user) -> None:
    """Workflow callback: status in step with the review; the last approval applies the lines."""
    adj = Adjustment.objects.select_for_update().get(pk=document.pk)
    before = audit.snapshot(adj)
    st = Adjustment.Status
    moves = {workflow.EVENT_SUBMITTED: ([st.DRAFT], st.REVIEWING),
             workflow.EVENT_RETURNED: ([st.REVIEWING], st.DRAFT),
             workflow.EVENT_WITHDRAWN: ([st.REVIEWING], st.DRAFT),
             workflow.EVENT_REJECTED: ([st.REVIEWING], st.REJECTED),
             workflow.EVENT_COMPLETED: ([st.REVIEWING], st.APPLIED)}
    if event not in moves:
        return
    expect, to = moves[event]
    if event == workflow.EVENT_SUBMITTED:
        _require_kind(user, adj.kind)
    extra = {"applied_at": timezone.now()} if to == st.APPLIED else {}
    if Adjustment.objects.filter(pk=adj.pk, status__in=expect).update(status=to, **extra) == 0:
        raise Conflict("indicators.adjustment.status_changed", "调整单状态已变化，请刷新后重试", field="status")
    if event == workflow.EVENT_COMPLETED:
        _apply(adj, user)
    adj.refresh_from_db()
    audit.record(user, f"indicators.adjustment.{event.split('.')[-1]}", adj, before=before)


# --- control rules ------------------------------------------------------------------------------

@dataclass
class RuleInput:
    fiscal_year: int
    region_id: int
    level: str = ControlRule.Level.HARD
    match: str = ControlRule.Match.EXACT
    threshold_percent: Decimal | str | int = Decimal(0)
    require_plan: bool = False
    fund_type: str = ""
    func_prefix: str = ""
    eco_prefix: str = ""
    indicator_type: str = ""
    pay_mode: str = ""
    note: str = ""


def _clean_rule(data: RuleInput) -> dict:
    from fmis.orgs.models import Region

    if data.level not in ControlRule.Level.values:
        raise ValidationFailed("indicators.control.level_invalid", f"控制方式不正确：{data.level}", field="level")
    if data.match not in ControlRule.Match.values:
        raise ValidationFailed("indicators.control.match_invalid", f"科目匹配方式不正确：{data.match}", field="match")
    if data.pay_mode and data.pay_mode not in Indicator.PayMode.values:
        raise ValidationFailed("indicator.pay_mode_invalid", f"支付方式不正确：{data.pay_mode}", field="pay_mode")
    try:
        pct = Decimal(str(data.threshold_percent or "0").strip())
    except ArithmeticError:
        raise ValidationFailed("indicators.control.threshold_invalid", "余额预警比例必须是 0–100 的数", field="threshold_percent") from None
    if not pct.is_finite() or pct < 0 or pct > 100 or pct != pct.quantize(Decimal("0.01")):
        raise ValidationFailed("indicators.control.threshold_invalid", "余额预警比例必须是 0–100 的数，最多两位小数",
                               field="threshold_percent")
    if not (2000 <= int(data.fiscal_year or 0) <= 2100):
        raise ValidationFailed("indicator.year_invalid", f"预算年度不正确：{data.fiscal_year}", field="fiscal_year")
    region = Region.objects.filter(pk=data.region_id).first()
    if region is None:
        raise ValidationFailed("indicator.region_missing", "财政区划不存在", field="region")
    out = {"fund_type": "FUND_TYPE", "func_prefix": "EXP_FUNC", "eco_prefix": "GOV_ECO", "indicator_type": "BGT_TYPE"}
    cleaned = {}
    for field, element in out.items():
        v = (getattr(data, field) or "").strip()
        if v:
            validate_value(element_code=element, code=v, field=field)
        cleaned[field] = v
    return dict(fiscal_year=int(data.fiscal_year), region=region, level=data.level, match=data.match,
                threshold_percent=pct, require_plan=bool(data.require_plan), pay_mode=data.pay_mode or "",
                note=(data.note or "").strip()[:200], **cleaned)


@retry_on_conflict
def save_control_rule(*, user, data: RuleInput, rule_id: int | None = None) -> ControlRule:
    """Create a control rule, or change the one with `rule_id`."""
    permissions.require(user, CONTROL_MANAGE)
    fields = _clean_rule(data)
    with transaction.atomic():
        if rule_id is None:
            rule, before = ControlRule(created_by=user), None
        else:
            rule = ControlRule.objects.restrict(user, CONTROL_MANAGE).select_for_update().filter(pk=rule_id).first()
            if rule is None:
                raise NotFound("indicators.control.not_found", "控制规则不存在")
            before = audit.snapshot(rule)
        for k, v in fields.items():
            setattr(rule, k, v)
        try:
            with transaction.atomic():
                rule.save()
        except IntegrityError:
            raise Conflict("indicators.control.duplicate", "相同要素组合的控制规则已存在", field="fund_type") from None
        try:
            permissions.require_object(user, CONTROL_MANAGE, rule)
        except PermissionDenied:
            raise PermissionDenied("indicators.control.out_of_scope", "该财政区划不在您的数据权限范围内",
                                   field="region") from None
        audit.record(user, "indicators.control.save", rule, before=before)
    return rule


@retry_on_conflict
def delete_control_rule(*, user, rule_id: int) -> None:
    permissions.require(user, CONTROL_MANAGE)
    with transaction.atomic():
        rule = ControlRule.objects.restrict(user, CONTROL_MANAGE).select_for_update().filter(pk=rule_id).first()
        if rule is None:
            raise NotFound("indicators.control.not_found", "控制规则不存在")
        before = audit.snapshot(rule)
        rule.delete()
        audit.record(user, "indicators.control.delete", None, before=before, object_type="indicators.controlrule",
                     object_id=rule_id, object_repr=str(before.get("id")))

