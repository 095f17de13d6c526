"""Writes of the basic information base: personnel (with salary items), vehicles and assets per
agency and fiscal year, expenditure standards, xlsx imports, and the agency-year submission's
review (主管部门 → 财政业务处室).

Personnel, vehicle and asset rows of an agency-year may change only while its submission is a
draft or returned: every such write first locks the submission row (created on first use) and
checks its status, and the review transition changes the status with a conditional update that
waits for that lock. Every write is one transaction with an audit record (before/after).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from fmis.basicinfo import functions as fn
from fmis.basicinfo import identity
from fmis.basicinfo.models import (
    Asset,
    ExpenditureStandard,
    InfoSubmission,
    PersonCategory,
    Personnel,
    SalaryItem,
    Vehicle,
    VehicleType,
)
from fmis.iam import permissions
from fmis.platform import audit, events
from fmis.platform.db import retry_on_conflict
from fmis.platform.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.money import to_money
from fmis.platform.workflow import services as workflow

SS = InfoSubmission.Status
DOC_SUBMISSION = "basicinfo.submission"
EVENT_APPROVED = "basicinfo.approved"
DEFAULT_STEPS = (("主管部门审核", fn.REVIEW_SUPERVISOR), ("财政业务处室审核", fn.REVIEW_DIVISION))
MIN_YEAR, MAX_YEAR = 2000, 2999

# salary item columns of the personnel import: header → department economic class
SALARY_COLUMNS = {"基本工资": "30101", "津贴补贴": "30102", "奖金": "30103", "绩效工资": "30107"}


@dataclass(frozen=True)
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


# --- helpers ------------------------------------------------------------------------------------

def _year(value, field_name: str = "fiscal_year") -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed("basicinfo.bad_year", "预算年度必须是四位年度", field=field_name) from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed("basicinfo.bad_year", f"预算年度 {value} 不正确", field=field_name)
    return year


def _text(value, field_name: str, label: str, max_len: int, *, required: bool = False) -> str:
    text = ("" if value is None else str(value)).strip()
    if required and not text:
        raise ValidationFailed("basicinfo.required", f"{label}不能为空", field=field_name)
    if len(text) > max_len:
        raise ValidationFailed("basicinfo.too_long", f"{label}不能超过 {max_len} 个字符", field=field_name)
    return text


def _choice(value, choices, field_name: str, label: str, *, default=None) -> str:
    """Accept a choice's value or its Chinese label."""
    text = ("" if value is None else str(value)).strip()
    if not text and default is not None:
        return default
    for v, lbl in choices.choices:
        if text in (v, str(lbl)):
            return v
    allowed = "、".join(str(lbl) for _, lbl in choices.choices)
    raise ValidationFailed("basicinfo.bad_choice", f"{label}“{text}”不正确，应为：{allowed}", field=field_name)


def _date(value, field_name: str, label: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ValidationFailed("basicinfo.bad_date", f"{label}“{value}”不是有效日期（YYYY-MM-DD）",
                               field=field_name) from None


def _agency_in_scope(user, function: str, agency_id):
    from fmis.orgs.models import Agency

    agency = (Agency.objects.restrict(user, function).select_related("region")
              .filter(pk=agency_id).first()) if str(agency_id or "").isdigit() else None
    if agency is None:
        raise ValidationFailed("basicinfo.agency_out_of_scope", "预算单位不存在或不在您的数据权限范围内",
                               field="agency")
    return agency


def _open_year(agency, year: int) -> InfoSubmission:
    """Lock the agency-year's submission (creating it) and refuse if it is under review or approved."""
    sub, _ = InfoSubmission.objects.get_or_create(agency=agency, fiscal_year=year)
    sub = InfoSubmission.objects.select_for_update().get(pk=sub.pk)
    if sub.locked:
        raise Conflict("basicinfo.year_locked",
                       f"{agency.name} {year} 年基础信息{sub.get_status_display()}，不能修改", field="fiscal_year",
                       status=sub.status)
    return sub


def _row_in_scope(model, user, function: str, pk, *, label: str):
    permissions.require(user, function)
    qs = model.objects.restrict(user, function).select_related("agency")
    obj = qs.filter(pk=pk).first() if str(pk).isdigit() else None
    if obj is None:
        raise NotFound("basicinfo.not_found", f"{label}不存在", field="id")
    return obj


def _require_finance(user, what: str) -> None:
    if getattr(user, "is_superuser", False):
        return
    if getattr(user, "org_type", "") != "finance":
        raise PermissionDenied("basicinfo.finance_only", f"{what}由财政部门维护")


def person_snapshot(p: Personnel) -> dict:
    data = audit.snapshot(p)
    data.pop("id_digest", None)
    data["salary_items"] = {s.eco_code: str(s.monthly_amount)
                            for s in SalaryItem.objects.filter(personnel=p).order_by("eco_code")}
    return data


# --- personnel ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PersonInput:
    agency_id: int
    fiscal_year: int
    name: str
    id_number: str = ""  # full number on entry; never stored. Empty on update keeps the old one
    category: str = PersonCategory.ACTIVE
    post: str = ""
    grade: str = ""
    status: str = Personnel.Status.ACTIVE
    salary: dict[str, Decimal | str | int] = field(default_factory=dict)  # eco_code → monthly amount


def _clean_person(data: PersonInput, *, require_id: bool) -> dict:
    from fmis.dictionary.selectors import validate_value

    values = {
        "name": _text(data.name, "name", "姓名", 50, required=True),
        "category": _choice(data.category, PersonCategory, "category", "人员类别"),
        "post": _text(data.post, "post", "职务", 50),
        "grade": _text(data.grade, "grade", "级别", 30),
        "status": _choice(data.status, Personnel.Status, "status", "状态", default=Personnel.Status.ACTIVE),
    }
    if data.id_number or require_id:
        number = identity.validate(data.id_number)
        values["id_number_masked"] = identity.mask(number)
        values["id_digest"] = identity.digest(number)
    salary = {}
    for eco, raw in (data.salary or {}).items():
        value = validate_value(element_code="DEPT_ECO", code=str(eco), field="salary")
        if not value.code.startswith("301") and not value.code.startswith("303"):
            raise ValidationFailed("basicinfo.salary_not_staff_class",
                                   f"工资项目 {value.code} {value.name} 不是工资福利或对个人和家庭的补助类", field="salary")
        amount = to_money(raw, field="salary")
        if amount < 0:
            raise ValidationFailed("basicinfo.salary_negative", f"工资项目 {value.name} 金额不能为负数", field="salary")
        salary[value.code] = (value.name[:50], amount)
    values["_salary"] = salary
    return values


def _write_salary(person: Personnel, salary: dict[str, tuple[str, Decimal]]) -> None:
    SalaryItem.objects.filter(personnel=person).exclude(eco_code__in=list(salary)).delete()
    for eco, (name, amount) in salary.items():
        SalaryItem.objects.update_or_create(personnel=person, eco_code=eco,
                                            defaults={"name": name, "monthly_amount": amount})


def _duplicate_person(agency, year) -> Conflict:
    return Conflict("basicinfo.person_exists", f"{agency.name} {year} 年已有该身份证号的人员", field="id_number")


def create_person(*, user, data: PersonInput) -> Personnel:
    permissions.require(user, fn.MANAGE)
    agency = _agency_in_scope(user, fn.MANAGE, data.agency_id)
    year = _year(data.fiscal_year)
    values = _clean_person(data, require_id=True)
    salary = values.pop("_salary")
    try:
        with transaction.atomic():
            _open_year(agency, year)
            person = Personnel.objects.create(agency=agency, fiscal_year=year, **values)
            _write_salary(person, salary)
            audit.record(user, "basicinfo.personnel.create", person, after=person_snapshot(person))
    except IntegrityError:
        raise _duplicate_person(agency, year) from None
    return person


def update_person(*, user, person_id: int, data: PersonInput) -> Personnel:
    person = _row_in_scope(Personnel, user, fn.MANAGE, person_id, label="人员")
    values = _clean_person(data, require_id=False)
    salary = values.pop("_salary")
    try:
        with transaction.atomic():
            _open_year(person.agency, person.fiscal_year)
            person = Personnel.objects.select_for_update().get(pk=person.pk)
            before = person_snapshot(person)
            for k, v in values.items():
                setattr(person, k, v)
            person.save()
            _write_salary(person, salary)
            audit.record(user, "basicinfo.personnel.update", person, before=before, after=person_snapshot(person))
    except IntegrityError:
        raise _duplicate_person(person.agency, person.fiscal_year) from None
    return person


def _delete_row(model, user, pk, *, label: str, action: str, snap: Callable = audit.snapshot) -> None:
    obj = _row_in_scope(model, user, fn.MANAGE, pk, label=label)
    with transaction.atomic():
        _open_year(obj.agency, obj.fiscal_year)
        obj = model.objects.select_for_update().filter(pk=obj.pk).first()
        if obj is None:
            raise NotFound("basicinfo.not_found", f"{label}不存在", field="id")
        before = snap(obj)
        audit.record(user, action, None, before=before, object_type=obj._meta.label_lower, object_id=obj.pk,
                     object_repr=str(obj))
        obj.delete()


def delete_person(*, user, person_id: int) -> None:
    _delete_row(Personnel, user, person_id, label="人员", action="basicinfo.personnel.delete", snap=person_snapshot)


def _create_row(model, *, user, agency_id, fiscal_year, clean: Callable[[], dict], action: str,
                conflict: Callable[[dict], tuple[str, str, str]]):
    """Create a vehicle or asset row of an agency-year that is still open for changes. `clean` checks
    the input (after the scope check); `conflict(values)` = (code, message, field) when the row's
    natural key is taken."""
    permissions.require(user, fn.MANAGE)
    agency = _agency_in_scope(user, fn.MANAGE, agency_id)
    year = _year(fiscal_year)
    values = clean()
    try:
        with transaction.atomic():
            _open_year(agency, year)
            obj = model.objects.create(agency=agency, fiscal_year=year, **values)
            audit.record(user, action, obj)
    except IntegrityError:
        code, message, field = conflict(values)
        raise Conflict(code, f"{agency.name} {year} 年{message}", field=field) from None
    return obj


def _update_row(model, *, user, pk, clean: Callable[[], dict], label: str, action: str,
                conflict: Callable[[dict], tuple[str, str, str]]):
    obj = _row_in_scope(model, user, fn.MANAGE, pk, label=label)
    values = clean()
    try:
        with transaction.atomic():
            _open_year(obj.agency, obj.fiscal_year)
            obj = model.objects.select_for_update().get(pk=obj.pk)
            before = audit.snapshot(obj)
            for k, v in values.items():
                setattr(obj, k, v)
            obj.save()
            audit.record(user, action, obj, before=before)
    except IntegrityError:
        code, message, field = conflict(values)
        raise Conflict(code, message, field=field) from None
    return obj


# --- vehicles and assets ------------------------------------------------------------------------

@dataclass(frozen=True)
class VehicleInput:
    agency_id: int
    fiscal_year: int
    plate_no: str
    vehicle_type: str = VehicleType.GENERAL
    brand: str = ""
    displacement: str = ""
    purchase_date: dt.date | str | None = None
    original_value: Decimal | str | int = 0
    status: str = Vehicle.Status.IN_USE


def _clean_vehicle(data: VehicleInput) -> dict:
    plate = _text(data.plate_no, "plate_no", "车牌号", 12, required=True).upper().replace(" ", "")
    value = to_money(data.original_value or 0, field="original_value")
    if value < 0:
        raise ValidationFailed("basicinfo.value_negative", "原值不能为负数", field="original_value")
    return {
        "plate_no": plate,
        "vehicle_type": _choice(data.vehicle_type, VehicleType, "vehicle_type", "车辆类型", default=VehicleType.GENERAL),
        "brand": _text(data.brand, "brand", "品牌型号", 60),
        "displacement": _text(data.displacement, "displacement", "排气量", 10),
        "purchase_date": _date(data.purchase_date, "purchase_date", "购置日期"),
        "original_value": value,
        "status": _choice(data.status, Vehicle.Status, "status", "状态", default=Vehicle.Status.IN_USE),
    }


def _vehicle_conflict(values: dict) -> tuple[str, str, str]:
    return "basicinfo.vehicle_exists", f"已有车牌号 {values['plate_no']}", "plate_no"


def create_vehicle(*, user, data: VehicleInput) -> Vehicle:
    return _create_row(Vehicle, user=user, agency_id=data.agency_id, fiscal_year=data.fiscal_year,
                       clean=lambda: _clean_vehicle(data), action="basicinfo.vehicle.create",
                       conflict=_vehicle_conflict)


def update_vehicle(*, user, vehicle_id: int, data: VehicleInput) -> Vehicle:
    return _update_row(Vehicle, user=user, pk=vehicle_id, clean=lambda: _clean_vehicle(data), label="车辆",
                       action="basicinfo.vehicle.update", conflict=_vehicle_conflict)


def delete_vehicle(*, user, vehicle_id: int) -> None:
    _delete_row(Vehicle, user, vehicle_id, label="车辆", action="basicinfo.vehicle.delete")


@dataclass(frozen=True)
class AssetInput:
    agency_id: int
    fiscal_year: int
    code: str
    name: str
    category: str
    quantity: Decimal | str | int = 1
    unit: str = ""
    original_value: Decimal | str | int = 0
    net_value: Decimal | str | int = 0
    acquired_on: dt.date | str | None = None
    status: str = Asset.Status.IN_USE


def _clean_asset(data: AssetInput) -> dict:
    original = to_money(data.original_value or 0, field="original_value")
    net = to_money(data.net_value or 0, field="net_value")
    if original < 0 or net < 0:
        raise ValidationFailed("basicinfo.value_negative", "原值、净值不能为负数", field="original_value")
    if net > original:
        raise ValidationFailed("basicinfo.net_over_original", "净值不能大于原值", field="net_value")
    try:
        quantity = Decimal(str(data.quantity or 0))
    except ArithmeticError:
        raise ValidationFailed("basicinfo.bad_quantity", "数量格式不正确", field="quantity") from None
    if quantity <= 0:
        raise ValidationFailed("basicinfo.bad_quantity", "数量必须大于 0", field="quantity")
    return {
        "code": _text(data.code, "code", "资产编号", 40, required=True),
        "name": _text(data.name, "name", "资产名称", 100, required=True),
        "category": _choice(data.category, Asset.Category, "category", "资产分类"),
        "quantity": quantity, "unit": _text(data.unit, "unit", "计量单位", 10),
        "original_value": original, "net_value": net,
        "acquired_on": _date(data.acquired_on, "acquired_on", "取得日期"),
        "status": _choice(data.status, Asset.Status, "status", "状态", default=Asset.Status.IN_USE),
    }


def _asset_conflict(values: dict) -> tuple[str, str, str]:
    return "basicinfo.asset_exists", f"已有资产编号 {values['code']}", "code"


def create_asset(*, user, data: AssetInput) -> Asset:
    return _create_row(Asset, user=user, agency_id=data.agency_id, fiscal_year=data.fiscal_year,
                       clean=lambda: _clean_asset(data), action="basicinfo.asset.create", conflict=_asset_conflict)


def update_asset(*, user, asset_id: int, data: AssetInput) -> Asset:
    return _update_row(Asset, user=user, pk=asset_id, clean=lambda: _clean_asset(data), label="资产",
                       action="basicinfo.asset.update", conflict=_asset_conflict)


def delete_asset(*, user, asset_id: int) -> None:
    _delete_row(Asset, user, asset_id, label="资产", action="basicinfo.asset.delete")


# --- expenditure standards ----------------------------------------------------------------------

@dataclass(frozen=True)
class StandardInput:
    region_id: int
    fiscal_year: int
    name: str
    kind: str
    eco_code: str
    amount: Decimal | str | int
    basis: str = ""
    person_category: str | None = None
    agency_type: str | None = None
    vehicle_type: str | None = None
    func_code: str | None = None
    is_active: bool = True


def _clean_standard(data: StandardInput) -> dict:
    from fmis.dictionary.selectors import validate_value
    from fmis.orgs.models import Agency

    kind = _choice(data.kind, ExpenditureStandard.Kind, "kind", "标准类别")
    default_basis = ExpenditureStandard.Basis.PER_VEHICLE if kind == "vehicle" else ExpenditureStandard.Basis.PER_PERSON
    basis = _choice(data.basis, ExpenditureStandard.Basis, "basis", "计算依据", default=default_basis)
    if (kind == "vehicle") != (basis == "per_vehicle"):
        raise ValidationFailed("basicinfo.basis_mismatch", "车辆运行标准按车计算，人员经费与公用经费标准按人计算",
                               field="basis")
    person_category = (_choice(data.person_category, PersonCategory, "person_category", "人员类别")
                       if data.person_category else None)
    vehicle_type = (_choice(data.vehicle_type, VehicleType, "vehicle_type", "车辆类型")
                    if data.vehicle_type else None)
    if kind == "vehicle" and person_category:
        raise ValidationFailed("basicinfo.category_on_vehicle", "车辆运行标准不区分人员类别", field="person_category")
    if kind != "vehicle" and vehicle_type:
        raise ValidationFailed("basicinfo.vehicle_type_on_person", "按人标准不区分车辆类型", field="vehicle_type")
    agency_type = (_choice(data.agency_type, Agency.Kind, "agency_type", "单位类型") if data.agency_type else None)
    eco = validate_value(element_code="DEPT_ECO", code=data.eco_code, field="eco_code").code
    func = validate_value(element_code="EXP_FUNC", code=data.func_code, field="func_code").code \
        if data.func_code else None
    amount = to_money(data.amount, field="amount")
    if amount < 0:
        raise ValidationFailed("basicinfo.amount_negative", "定额不能为负数", field="amount")
    return {"name": _text(data.name, "name", "标准名称", 100, required=True), "kind": kind, "basis": basis,
            "person_category": person_category, "agency_type": agency_type, "vehicle_type": vehicle_type,
            "eco_code": eco, "func_code": func, "amount": amount, "is_active": bool(data.is_active)}


def _region_in_scope(user, function: str, region_id):
    from fmis.orgs.models import Region

    region = (Region.objects.restrict(user, function).filter(pk=region_id).first()
              if str(region_id or "").isdigit() else None)
    if region is None:
        raise ValidationFailed("basicinfo.region_out_of_scope", "财政区划不存在或不在您的数据权限范围内", field="region")
    return region


def _standard_exists(values: dict) -> Conflict:
    return Conflict("basicinfo.standard_exists", f"已有相同适用范围的支出标准（经济分类 {values['eco_code']}）",
                    field="eco_code")


def create_standard(*, user, data: StandardInput) -> ExpenditureStandard:
    permissions.require(user, fn.STANDARD_MANAGE)
    _require_finance(user, "支出标准")
    region = _region_in_scope(user, fn.STANDARD_MANAGE, data.region_id)
    year = _year(data.fiscal_year)
    values = _clean_standard(data)
    try:
        with transaction.atomic():
            std = ExpenditureStandard.objects.create(region=region, fiscal_year=year, **values)
            audit.record(user, "basicinfo.standard.create", std)
    except IntegrityError:
        raise _standard_exists(values) from None
    return std


def update_standard(*, user, standard_id: int, data: StandardInput) -> ExpenditureStandard:
    permissions.require(user, fn.STANDARD_MANAGE)
    values = _clean_standard(data)
    try:
        with transaction.atomic():
            std = (ExpenditureStandard.objects.restrict(user, fn.STANDARD_MANAGE).select_for_update()
                   .filter(pk=standard_id).first()) if str(standard_id).isdigit() else None
            if std is None:
                raise NotFound("basicinfo.not_found", "支出标准不存在", field="id")
            _require_finance(user, "支出标准")
            before = audit.snapshot(std)
            for k, v in values.items():
                setattr(std, k, v)
            std.save()
            audit.record(user, "basicinfo.standard.update", std, before=before)
    except IntegrityError:
        raise _standard_exists(values) from None
    return std


def delete_standard(*, user, standard_id: int) -> None:
    permissions.require(user, fn.STANDARD_MANAGE)
    with transaction.atomic():
        std = (ExpenditureStandard.objects.restrict(user, fn.STANDARD_MANAGE).select_for_update()
               .filter(pk=standard_id).first()) if str(standard_id).isdigit() else None
        if std is None:
            raise NotFound("basicinfo.not_found", "支出标准不存在", field="id")
        _require_finance(user, "支出标准")
        audit.record(user, "basicinfo.standard.delete", None, before=audit.snapshot(std),
                     object_type=std._meta.label_lower, object_id=std.pk, object_repr=str(std))
        std.delete()


# --- submission and review ----------------------------------------------------------------------

@retry_on_conflict
def submit_year(*, user, agency_id: int, fiscal_year: int, comment: str = "") -> InfoSubmission:
    """Send the agency-year's basic information to review. It must hold at least one person."""
    permissions.require(user, fn.SUBMIT)
    agency = _agency_in_scope(user, fn.SUBMIT, agency_id)
    year = _year(fiscal_year)
    with transaction.atomic():
        sub = _open_year(agency, year)
        if not Personnel.objects.filter(agency=agency, fiscal_year=year).exists():
            raise ValidationFailed("basicinfo.nothing_to_submit", f"{agency.name} {year} 年尚未录入人员信息，不能送审",
                                   field="fiscal_year")
        workflow.submit(document=sub, user=user, comment=comment, doc_type=DOC_SUBMISSION)
    sub.refresh_from_db()
    return sub


def review_year(*, user, submission_id: int, action: str, text: str = "", step: int | None = None) -> InfoSubmission:
    permissions.require(user, fn.SUBMISSION_VIEW)
    sub = (InfoSubmission.objects.restrict(user, fn.SUBMISSION_VIEW).select_related("agency")
           .filter(pk=submission_id).first()) if str(submission_id).isdigit() else None
    if sub is None:
        raise NotFound("basicinfo.not_found", "基础信息报送不存在", field="id")
    workflow.perform(action, document=sub, user=user, text=text, step=step, doc_type=DOC_SUBMISSION)
    sub.refresh_from_db()
    return sub


def lock_for_review(document) -> None:
    list(InfoSubmission.objects.select_for_update().filter(pk=document.pk).values_list("pk", flat=True))


def check_reviewer(user, agency, step_function: str) -> None:
    """The 主管部门 step belongs to the supervising department (an agency above, or the first-level
    agency itself); the business-division step to finance-department staff."""
    if getattr(user, "is_superuser", False):
        return
    if step_function == fn.REVIEW_SUPERVISOR:
        own = getattr(user, "agency", None)
        ok = own is not None and ((agency.code.startswith(own.code) and own.code != agency.code)
                                  or (own.pk == agency.pk and agency.parent_id is None))
        if not ok:
            raise PermissionDenied("basicinfo.not_supervisor", f"“主管部门审核”环节须由 {agency} 的主管部门办理",
                                   function=step_function)
    elif step_function == fn.REVIEW_DIVISION and getattr(user, "org_type", "") != "finance":
        raise PermissionDenied("basicinfo.not_finance", "该审核环节须由财政部门人员办理", function=step_function)


def _set_status(sub: InfoSubmission, *, expect: Sequence[str], to: str, **extra) -> None:
    updated = InfoSubmission.objects.filter(pk=sub.pk, status__in=list(expect)).update(
        status=to, updated_at=timezone.now(), **extra)
    if updated == 0:
        raise Conflict("basicinfo.status_changed", "基础信息报送状态已变化，请刷新后重试", field="status")


def on_submission_review(event: str, *, document, instance, user) -> None:
    """Workflow callback: keep the submission's status in step with its review."""
    sub = InfoSubmission.objects.select_for_update().select_related("agency").get(pk=document.pk)
    before = audit.snapshot(sub)
    last = instance.actions.order_by("-version").first()
    if event in (workflow.EVENT_APPROVED, workflow.EVENT_COMPLETED, workflow.EVENT_RETURNED,
                 workflow.EVENT_REJECTED) and last is not None:
        check_reviewer(user, sub.agency, instance.steps[last.step_no - 1]["function"])
    now = timezone.now()
    reason = last.comment if last is not None else ""
    if event == workflow.EVENT_SUBMITTED:
        _set_status(sub, expect=[SS.DRAFT, SS.RETURNED], to=SS.SUBMITTED, submitted_at=now, return_reason="")
    elif event in (workflow.EVENT_RETURNED, workflow.EVENT_REJECTED):
        _set_status(sub, expect=[SS.SUBMITTED], to=SS.RETURNED, return_reason=reason[:500])
    elif event == workflow.EVENT_WITHDRAWN:
        _set_status(sub, expect=[SS.SUBMITTED], to=SS.DRAFT)
    elif event == workflow.EVENT_COMPLETED:
        _set_status(sub, expect=[SS.SUBMITTED], to=SS.APPROVED, approved_at=now)
        events.publish(EVENT_APPROVED, {"agency_id": sub.agency_id, "fiscal_year": sub.fiscal_year})
    else:
        return
    sub.refresh_from_db()
    audit.record(user, f"basicinfo.submission.{event.split('.')[-1]}", sub, before=before)


# --- imports ------------------------------------------------------------------------------------

PERSONNEL_COLUMNS = {"单位编码": "agency", "姓名": "name", "身份证号": "id_number", "人员类别": "category",
                     "职务": "post", "级别": "grade", "状态": "status",
                     **{k: f"salary:{v}" for k, v in SALARY_COLUMNS.items()}}
VEHICLE_COLUMNS = {"单位编码": "agency", "车牌号": "plate_no", "车辆类型": "vehicle_type", "品牌型号": "brand",
                   "排气量": "displacement", "购置日期": "purchase_date", "原值": "original_value", "状态": "status"}
ASSET_COLUMNS = {"单位编码": "agency", "资产编号": "code", "资产名称": "name", "资产分类": "category",
                 "数量": "quantity", "计量单位": "unit", "原值": "original_value", "净值": "net_value",
                 "取得日期": "acquired_on", "状态": "status"}
STANDARD_COLUMNS = {"标准名称": "name", "标准类别": "kind", "计算依据": "basis", "人员类别": "person_category",
                    "单位类型": "agency_type", "车辆类型": "vehicle_type", "经济分类": "eco_code",
                    "功能分类": "func_code", "定额": "amount"}


def _line_error(errors: list[dict], line: int, exc: DomainError) -> None:
    errors.append({"line": line, "field": exc.field or "", "message": f"第 {line} 行：{exc.message}"})


def _raise_errors(errors: list[dict], what: str) -> None:
    if errors:
        raise ValidationFailed("basicinfo.import_failed",
                               f"{what}导入未通过校验（{len(errors)} 处错误），未导入任何数据", errors=errors)


def _agencies_by_code(user, function: str, rows: Iterable[tuple[int, dict]], errors: list[dict]):
    from fmis.orgs.models import Agency

    codes = {r["agency"] for _, r in rows if r.get("agency")}
    found = {a.code: a for a in Agency.objects.restrict(user, function).filter(code__in=codes)}
    for line, r in rows:
        if r.get("agency") not in found:
            errors.append({"line": line, "field": "agency",
                           "message": f"第 {line} 行：单位编码 {r.get('agency') or '（空）'} 不存在或不在您的数据权限范围内"})
    return found


def _changed(obj, values: dict) -> bool:
    return any(getattr(obj, k) != v for k, v in values.items())


def import_personnel(*, user, file, fiscal_year: int) -> ImportResult:
    """Personnel from xlsx (one row a person; salary columns are monthly amounts). All or nothing;
    the same file again changes nothing (a person is recognised by agency, year and identity number)."""
    from fmis.platform.xlsx import read_rows

    permissions.require(user, fn.IMPORT)
    permissions.require(user, fn.MANAGE)
    year = _year(fiscal_year)
    rows = list(read_rows(file, PERSONNEL_COLUMNS, required=["agency", "name", "id_number"]))
    errors: list[dict] = []
    agencies = _agencies_by_code(user, fn.MANAGE, rows, errors)
    parsed = []
    seen: dict[tuple[str, str], int] = {}
    for line, r in rows:
        if r.get("agency") not in agencies:
            continue
        salary = {k.split(":", 1)[1]: v for k, v in r.items() if k.startswith("salary:") and v not in ("", None)}
        data = PersonInput(agency_id=agencies[r["agency"]].pk, fiscal_year=year, name=r.get("name", ""),
                           id_number=r.get("id_number", ""), category=r.get("category") or PersonCategory.ACTIVE,
                           post=r.get("post", ""), grade=r.get("grade", ""), status=r.get("status") or "",
                           salary=salary)
        try:
            values = _clean_person(data, require_id=True)
        except DomainError as exc:
            _line_error(errors, line, exc)
            continue
        key = (r["agency"], values["id_digest"])
        if key in seen:
            errors.append({"line": line, "field": "id_number",
                           "message": f"第 {line} 行：身份证号与第 {seen[key]} 行重复"})
            continue
        seen[key] = line
        parsed.append((line, agencies[r["agency"]], values))
    _raise_errors(errors, "人员信息")
    created = updated = unchanged = 0
    with transaction.atomic():
        for agency in sorted({a.pk: a for _, a, _ in parsed}.values(), key=lambda a: a.pk):
            try:
                _open_year(agency, year)
            except DomainError as exc:
                errors.append({"line": None, "field": "agency", "message": f"{agency.code}：{exc.message}"})
        _raise_errors(errors, "人员信息")
        for _line, agency, values in parsed:
            salary = values.pop("_salary")
            person = Personnel.objects.filter(agency=agency, fiscal_year=year, id_digest=values["id_digest"]).first()
            if person is None:
                person = Personnel.objects.create(agency=agency, fiscal_year=year, **values)
                _write_salary(person, salary)
                audit.record(user, "basicinfo.personnel.import", person, after=person_snapshot(person))
                created += 1
                continue
            before = person_snapshot(person)
            current_salary = {s.eco_code: s.monthly_amount for s in person.salary_items.all()}
            if not _changed(person, values) and current_salary == {k: v for k, (_, v) in salary.items()}:
                unchanged += 1
                continue
            for k, v in values.items():
                setattr(person, k, v)
            person.save()
            _write_salary(person, salary)
            audit.record(user, "basicinfo.personnel.import", person, before=before, after=person_snapshot(person))
            updated += 1
    return ImportResult(created, updated, unchanged)


def import_vehicles(*, user, file, fiscal_year: int) -> ImportResult:
    from fmis.platform.xlsx import read_rows

    permissions.require(user, fn.IMPORT)
    permissions.require(user, fn.MANAGE)
    year = _year(fiscal_year)
    rows = list(read_rows(file, VEHICLE_COLUMNS, required=["agency", "plate_no"]))
    errors: list[dict] = []
    agencies = _agencies_by_code(user, fn.MANAGE, rows, errors)
    parsed = []
    seen: dict[tuple[str, str], int] = {}
    for line, r in rows:
        if r.get("agency") not in agencies:
            continue
        try:
            values = _clean_vehicle(VehicleInput(
                agency_id=agencies[r["agency"]].pk, fiscal_year=year, plate_no=r.get("plate_no", ""),
                vehicle_type=r.get("vehicle_type", ""), brand=r.get("brand", ""),
                displacement=r.get("displacement", ""), purchase_date=r.get("purchase_date") or None,
                original_value=r.get("original_value") or "0", status=r.get("status", "")))
        except DomainError as exc:
            _line_error(errors, line, exc)
            continue
        key = (r["agency"], values["plate_no"])
        if key in seen:
            errors.append({"line": line, "field": "plate_no", "message": f"第 {line} 行：车牌号与第 {seen[key]} 行重复"})
            continue
        seen[key] = line
        parsed.append((agencies[r["agency"]], values))
    _raise_errors(errors, "车辆信息")
    created = updated = unchanged = 0
    with transaction.atomic():
        for agency in sorted({a.pk: a for a, _ in parsed}.values(), key=lambda a: a.pk):
            try:
                _open_year(agency, year)
            except DomainError as exc:
                errors.append({"line": None, "field": "agency", "message": f"{agency.code}：{exc.message}"})
        _raise_errors(errors, "车辆信息")
        for agency, values in parsed:
            vehicle = Vehicle.objects.filter(agency=agency, fiscal_year=year, plate_no=values["plate_no"]).first()
            if vehicle is None:
                vehicle = Vehicle.objects.create(agency=agency, fiscal_year=year, **values)
                audit.record(user, "basicinfo.vehicle.import", vehicle)
                created += 1
            elif _changed(vehicle, values):
                before = audit.snapshot(vehicle)
                for k, v in values.items():
                    setattr(vehicle, k, v)
                vehicle.save()
                audit.record(user, "basicinfo.vehicle.import", vehicle, before=before)
                updated += 1
            else:
                unchanged += 1
    return ImportResult(created, updated, unchanged)


def import_assets(*, user, file, fiscal_year: int) -> ImportResult:
    """Assets from xlsx (one row an asset). All or nothing; the same file again changes nothing
    (an asset is recognised by agency, year and asset code)."""
    from fmis.platform.xlsx import read_rows

    permissions.require(user, fn.IMPORT)
    permissions.require(user, fn.MANAGE)
    year = _year(fiscal_year)
    rows = list(read_rows(file, ASSET_COLUMNS, required=["agency", "code", "name", "category"]))
    errors: list[dict] = []
    agencies = _agencies_by_code(user, fn.MANAGE, rows, errors)
    parsed = []
    seen: dict[tuple[str, str], int] = {}
    for line, r in rows:
        if r.get("agency") not in agencies:
            continue
        try:
            values = _clean_asset(AssetInput(
                agency_id=agencies[r["agency"]].pk, fiscal_year=year, code=r.get("code", ""), name=r.get("name", ""),
                category=r.get("category", ""), quantity=r.get("quantity") or "1", unit=r.get("unit", ""),
                original_value=r.get("original_value") or "0", net_value=r.get("net_value") or "0",
                acquired_on=r.get("acquired_on") or None, status=r.get("status", "")))
        except DomainError as exc:
            _line_error(errors, line, exc)
            continue
        key = (r["agency"], values["code"])
        if key in seen:
            errors.append({"line": line, "field": "code", "message": f"第 {line} 行：资产编号与第 {seen[key]} 行重复"})
            continue
        seen[key] = line
        parsed.append((agencies[r["agency"]], values))
    _raise_errors(errors, "资产信息")
    created = updated = unchanged = 0
    with transaction.atomic():
        for agency in sorted({a.pk: a for a, _ in parsed}.values(), key=lambda a: a.pk):
            try:
                _open_year(agency, year)
            except DomainError as exc:
                errors.append({"line": None, "field": "agency", "message": f"{agency.code}：{exc.message}"})
        _raise_errors(errors, "资产信息")
        for agency, values in parsed:
            asset = Asset.objects.filter(agency=agency, fiscal_year=year, code=values["code"]).first()
            if asset is None:
                asset = Asset.objects.create(agency=agency, fiscal_year=year, **values)
                audit.record(user, "basicinfo.asset.import", asset)
                created += 1
            elif _changed(asset, values):
                before = audit.snapshot(asset)
                for k, v in values.items():
                    setattr(asset, k, v)
                asset.save()
                audit.record(user, "basicinfo.asset.import", asset, before=before)
                updated += 1
            else:
                unchanged += 1
    return ImportResult(created, updated, unchanged)


def import_standards(*, user, file, region_id: int, fiscal_year: int) -> ImportResult:
    from fmis.platform.xlsx import read_rows

    permissions.require(user, fn.STANDARD_MANAGE)
    _require_finance(user, "支出标准")
    region = _region_in_scope(user, fn.STANDARD_MANAGE, region_id)
    year = _year(fiscal_year)
    rows = list(read_rows(file, STANDARD_COLUMNS, required=["name", "kind", "eco_code", "amount"]))
    errors: list[dict] = []
    parsed = []
    seen: dict[tuple, int] = {}
    for line, r in rows:
        try:
            values = _clean_standard(StandardInput(
                region_id=region.pk, fiscal_year=year, name=r.get("name", ""), kind=r.get("kind", ""),
                eco_code=r.get("eco_code", ""), amount=r.get("amount", ""), basis=r.get("basis", ""),
                person_category=r.get("person_category") or None, agency_type=r.get("agency_type") or None,
                vehicle_type=r.get("vehicle_type") or None, func_code=r.get("func_code") or None))
        except DomainError as exc:
            _line_error(errors, line, exc)
            continue
        key = tuple(values[k] for k in ("kind", "basis", "person_category", "agency_type", "vehicle_type",
                                        "eco_code", "func_code"))
        if key in seen:
            errors.append({"line": line, "field": "eco_code",
                           "message": f"第 {line} 行：与第 {seen[key]} 行的适用范围相同"})
            continue
        seen[key] = line
        parsed.append((key, values))
    _raise_errors(errors, "支出标准")
    created = updated = unchanged = 0
    with transaction.atomic():
        for key, values in parsed:
            natural = dict(zip(("kind", "basis", "person_category", "agency_type", "vehicle_type", "eco_code",
                                "func_code"), key, strict=True))
            std = ExpenditureStandard.objects.select_for_update().filter(
                region=region, fiscal_year=year, **natural).first()
            if std is None:
                std = ExpenditureStandard.objects.create(region=region, fiscal_year=year, **values)
                audit.record(user, "basicinfo.standard.import", std)
                created += 1
            elif _changed(std, values):
                before = audit.snapshot(std)
                for k, v in values.items():
                    setattr(std, k, v)
                std.save()
                audit.record(user, "basicinfo.standard.import", std, before=before)
                updated += 1
            else:
                unchanged += 1
    return ImportResult(created, updated, unchanged)
