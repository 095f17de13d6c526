"""Writes of budget preparation (二上二下).

Stages: 一上 (units declare: basic expenditure computed from personnel and vehicles × expenditure
standards, plus projects from the library; review 主管部门 → 预算处), 一下 (the budget division
sets control numbers per department), 二上 (units compile within the control numbers: a hard check
under a row lock on the control number), 二下 (approval per department or for the whole round,
which issues the executable indicators in the same transaction).

Every service checks the acting user's function and data scope, runs in one transaction and
writes an audit record. Review transitions arrive through the platform workflow's callback
(``on_submission_review``) inside the workflow's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from fmis.budgeting.functions import APPROVE, CONTROL, MANAGE, REVIEW, UNIT_DECLARE, UNIT_REVIEW
from fmis.budgeting.models import (
    STAGE_ORDER,
    Approval,
    BudgetLine,
    BudgetRound,
    ControlNumber,
    Stage,
    Submission,
)
from fmis.dictionary.selectors import validate_value
from fmis.iam import permissions
from fmis.platform import audit, events
from fmis.platform.db import retry_on_conflict
from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.money import ZERO, fmt, to_money
from fmis.platform.workflow import services as workflow

DOC_SUBMISSION = "budgeting.submission"
LINE_SOURCE_TYPE = "budgeting.budgetline"
EVENT_APPROVED = "budgeting.approved"
APPROVED_INDICATOR_TYPE = "12"  # BGT_TYPE 年初批复指标
DEFAULT_FUND_TYPE = "11"  # FUND_TYPE 一般公共预算资金

S = Submission.Status
L = BudgetLine


# --- helpers ------------------------------------------------------------------------------------

def department_of(agency):
    """The first-level agency (一级预算单位) above `agency` (itself when it has no parent)."""
    from fmis.orgs.models import Agency

    current, seen = agency, set()
    while current.parent_id is not None and current.pk not in seen:
        seen.add(current.pk)
        current = Agency.objects.only("pk", "parent_id", "code", "name", "region_id").get(pk=current.parent_id)
    return current


def _round_in_scope(user, round_id, function: str, *, lock: bool = False) -> BudgetRound:
    permissions.require(user, function)
    qs = BudgetRound.objects.restrict(user, function).select_related("region")
    if lock:
        qs = qs.select_for_update(of=("self",))
    rnd = qs.filter(pk=round_id).first() if str(round_id).isdigit() else None
    if rnd is None:
        raise NotFound("budgeting.round.not_found", "预算编制批次不存在", field="round")
    return rnd


def _agency_in_scope(user, agency_id, function: str, rnd: BudgetRound):
    from fmis.orgs.models import Agency

    agency = Agency.objects.restrict(user, function).filter(pk=agency_id).first() if str(agency_id).isdigit() else None
    if agency is None:
        raise NotFound("budgeting.agency.not_found", "预算单位不存在或不在您的数据权限范围内", field="agency")
    if agency.region_id != rnd.region_id:
        raise ValidationFailed("budgeting.agency.region", f"预算单位 {agency.code} 不属于财政区划 {rnd.region.code}",
                               field="agency")
    return agency


def _require_stage(rnd: BudgetRound, *stages: str) -> None:
    if rnd.status == BudgetRound.Status.APPROVED:
        raise Conflict("budgeting.round.approved", f"{rnd.fiscal_year} 年预算已批复，不能再修改", field="round")
    if rnd.stage not in stages:
        names = "、".join(str(Stage(s).label) for s in stages)
        raise Conflict("budgeting.round.wrong_stage",
                       f"当前阶段为“{rnd.get_stage_display()}”，此操作只能在“{names}”阶段进行", field="stage",
                       stage=rnd.stage)


def _lock_submission(rnd: BudgetRound, agency, stage: str) -> Submission:
    """The agency's submission for `stage`, created on first use, locked for the transaction."""
    dept = department_of(agency)
    Submission.objects.get_or_create(round=rnd, agency=agency, stage=stage, defaults={"department": dept})
    return Submission.objects.select_for_update().get(round=rnd, agency=agency, stage=stage)


def _require_editable(rnd: BudgetRound, agency, stage: str) -> Submission:
    sub = _lock_submission(rnd, agency, stage)
    if sub.status in (S.SUBMITTED, S.APPROVED):
        raise Conflict("budgeting.submission.locked",
                       f"{agency.name} 的{Stage(stage).label}已{sub.get_status_display()}，不能再修改明细", field="lines",
                       status=sub.status)
    if Approval.objects.filter(round=rnd, department_id=sub.department_id).exists():
        raise Conflict("budgeting.line.approved", f"{agency.name} 所属部门的预算已批复，不能再修改", field="lines")
    return sub


def _validate_codes(values: Mapping[str, str]) -> None:
    elements = {"func_code": "EXP_FUNC", "gov_eco_code": "GOV_ECO", "dept_eco_code": "DEPT_ECO",
                "fund_type": "FUND_TYPE"}
    for field, element in elements.items():
        validate_value(element_code=element, code=(values.get(field) or "").strip(), field=field)


def _positive_or_zero(amount, field: str = "amount") -> Decimal:
    amount = to_money(amount, field=field)
    if amount < 0:
        raise ValidationFailed("budgeting.amount_negative", f"金额不能为负数：{fmt(amount)}", field=field)
    return amount


# Department economic class → government economic class, by agency kind (行政 / 事业). The longest
# matching prefix wins; used in SQL as a VALUES list, so the basic computation stays set-based.
GOV_ECO_MAP: tuple[tuple[str, str, str], ...] = (
    # (dept prefix, administrative, institution)
    ("301", "50199", "50501"), ("30101", "50101", "50501"), ("30102", "50101", "50501"),
    ("30103", "50101", "50501"), ("30106", "50101", "50501"), ("30107", "50101", "50501"),
    ("30108", "50102", "50501"), ("30109", "50102", "50501"), ("30110", "50102", "50501"),
    ("30111", "50102", "50501"), ("30112", "50102", "50501"), ("30113", "50103", "50501"),
    ("302", "50299", "50502"), ("30201", "50201", "50502"), ("30202", "50201", "50502"),
    ("30205", "50201", "50502"), ("30206", "50201", "50502"), ("30207", "50201", "50502"),
    ("30208", "50201", "50502"), ("30209", "50201", "50502"), ("30211", "50201", "50502"),
    ("30215", "50202", "50502"), ("30216", "50203", "50502"), ("30218", "50204", "50502"),
    ("30227", "50205", "50502"), ("30217", "50206", "50502"), ("30212", "50207", "50502"),
    ("30231", "50208", "50502"), ("30213", "50209", "50502"),
    ("303", "50999", "50999"), ("30301", "50905", "50905"), ("30302", "50905", "50905"),
    ("30305", "50901", "50901"), ("30306", "50901", "50901"), ("30308", "50902", "50902"),
    ("310", "50399", "50601"), ("31001", "50301", "50601"), ("31002", "50306", "50601"),
    ("31003", "50306", "50601"), ("31005", "50302", "50601"), ("31006", "50307", "50601"),
    ("31007", "50306", "50601"), ("31013", "50303", "50601"),
    ("309", "50499", "50601"), ("399", "59999", "59999"),
)


def gov_eco_for(dept_eco_code: str, agency_kind: str) -> str:
    """The government economic class for a department economic class (see GOV_ECO_MAP)."""
    best = None
    for prefix, admin, inst in GOV_ECO_MAP:
        if dept_eco_code.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, admin, inst)
    if best is None:
        return ""
    return best[2] if agency_kind == "inst" else best[1]


# --- rounds and stages --------------------------------------------------------------------------

@retry_on_conflict
def open_round(*, user, region_id: int, fiscal_year: int, name: str = "") -> BudgetRound:
    """Open the budget round of a region and year, at stage 一上."""
    from fmis.orgs.models import Region

    permissions.require(user, MANAGE)
    if not (2000 <= int(fiscal_year or 0) <= 2100):
        raise ValidationFailed("budgeting.round.year_invalid", f"预算年度不正确：{fiscal_year}", field="fiscal_year")
    region = Region.objects.filter(pk=region_id).first() if str(region_id).isdigit() else None
    if region is None:
        raise ValidationFailed("budgeting.round.region_missing", "财政区划不存在", field="region")
    name = (name or "").strip()[:100] or f"{region.name}{fiscal_year}年部门预算"
    with transaction.atomic():
        try:
            with transaction.atomic():
                rnd = BudgetRound.objects.create(region=region, fiscal_year=int(fiscal_year), name=name,
                                                 created_by=user)
        except IntegrityError:
            raise Conflict("budgeting.round.exists", f"{region.name} {fiscal_year} 年的预算编制批次已存在",
                           field="fiscal_year") from None
        try:
            permissions.require_object(user, MANAGE, rnd)
        except PermissionDenied:
            raise PermissionDenied("budgeting.round.out_of_scope", "该财政区划不在您的数据权限范围内",
                                   field="region") from None
        audit.record(user, "budgeting.round.open", rnd)
    return rnd


def _stage_blockers(rnd: BudgetRound, to: str) -> list[str]:
    """Why the round may not move to stage `to` (empty when it may)."""
    problems: list[str] = []
    lines = BudgetLine.objects.filter(round=rnd)
    if to == Stage.DOWN1:
        agencies = set(lines.values_list("agency_id", flat=True).distinct())
        if not agencies:
            problems.append("尚无任何单位申报预算")
        done = set(Submission.objects.filter(round=rnd, stage=Stage.UP1, status=S.APPROVED)
                   .values_list("agency_id", flat=True))
        missing = agencies - done
        if missing:
            from fmis.orgs.models import Agency

            names = list(Agency.objects.filter(pk__in=missing).order_by("code").values_list("name", flat=True)[:5])
            problems.append(f"有 {len(missing)} 个单位的一上申报尚未审核通过：{'、'.join(names)}"
                            + ("等" if len(missing) > 5 else ""))
    elif to == Stage.UP2:
        depts = set(lines.values_list("department_id", flat=True).distinct())
        with_control = set(ControlNumber.objects.filter(round=rnd, fund_type="").values_list("department_id", flat=True))
        missing = depts - with_control
        if missing:
            from fmis.orgs.models import Agency

            names = list(Agency.objects.filter(pk__in=missing).order_by("code").values_list("name", flat=True)[:5])
            problems.append(f"有 {len(missing)} 个部门尚未下达控制数：{'、'.join(names)}"
                            + ("等" if len(missing) > 5 else ""))
    elif to == Stage.DOWN2:
        pending = Submission.objects.filter(round=rnd, stage=Stage.UP2, status=S.SUBMITTED).count()
        if pending:
            problems.append(f"有 {pending} 个单位的二上编报正在审核中")
        if not Submission.objects.filter(round=rnd, stage=Stage.UP2, status=S.APPROVED).exists():
            problems.append("尚无审核通过的二上编报")
    return problems


@retry_on_conflict
def advance_stage(*, user, round_id: int, to: str) -> BudgetRound:
    """Move the round to the next stage (一上 → 一下 → 二上 → 二下), after its checks."""
    with transaction.atomic():
        rnd = _round_in_scope(user, round_id, MANAGE, lock=True)
        if to not in Stage.values:
            raise ValidationFailed("budgeting.stage.invalid", f"阶段不正确：{to}", field="stage")
        if rnd.status == BudgetRound.Status.APPROVED:
            raise Conflict("budgeting.round.approved", "预算已批复，不能再变更阶段", field="stage")
        current = STAGE_ORDER.index(Stage(rnd.stage))
        if STAGE_ORDER.index(Stage(to)) != current + 1:
            raise Conflict("budgeting.stage.not_next",
                           f"当前阶段为“{rnd.get_stage_display()}”，只能进入下一阶段", field="stage")
        problems = _stage_blockers(rnd, to)
        if problems:
            raise Conflict("budgeting.stage.blocked", f"不能进入“{Stage(to).label}”：" + "；".join(problems),
                           field="stage", errors=[{"line": None, "field": "stage", "message": p} for p in problems])
        before = audit.snapshot(rnd)
        if to == Stage.UP2:
            # 二上 starts from the finance-reviewed amounts
            BudgetLine.objects.filter(round=rnd, amount_reviewed__isnull=True).update(amount_reviewed=0)
        BudgetRound.objects.filter(pk=rnd.pk, stage=rnd.stage).update(stage=to, stage_changed_at=timezone.now())
        rnd.refresh_from_db()
        audit.record(user, "budgeting.round.stage", rnd, before=before)
    return rnd


# --- 一上: basic expenditure computed from basic information --------------------------------------

@dataclass(frozen=True)
class ComputeResult:
    lines: int
    removed: int
    total: Decimal
    agencies: int = 1
    skipped: int = 0


def _eco_map_values() -> str:
    for row in GOV_ECO_MAP:
        if not all(v.isdigit() for v in row):
            raise ValueError(f"GOV_ECO_MAP codes must be digits: {row}")
    return ", ".join(f"('{p}', '{a}', '{i}')" for p, a, i in GOV_ECO_MAP)


# One statement for any number of agencies: counts of active personnel and of vehicles in use ×
# the matching standards, grouped per agency, functional and economic class; computed lines are
# upserted (unchanged ones are not touched) and computed lines no longer produced are deleted.
_COMPUTE_SQL = """
WITH ag AS (
    SELECT t.agency_id, t.department_id, t.func, a.kind
    FROM unnest(%(agencies)s::bigint[], %(departments)s::bigint[], %(funcs)s::text[])
         AS t(agency_id, department_id, func)
    JOIN orgs_agency a ON a.id = t.agency_id
), std AS (
    SELECT s.id, s.kind, s.basis, s.person_category, s.agency_type, s.vehicle_type, s.eco_code, s.func_code,
           s.amount, s.name
    FROM basicinfo_expenditurestandard s
    WHERE s.region_id = %(region)s AND s.fiscal_year = %(year)s AND s.is_active
), people AS (  -- counted once per agency and category, then matched to the standards
    SELECT p.agency_id, p.category, count(*) AS n
    FROM basicinfo_personnel p JOIN ag ON ag.agency_id = p.agency_id
    WHERE p.fiscal_year = %(year)s AND p.status = 'active'
    GROUP BY p.agency_id, p.category
), vehicles AS (
    SELECT v.agency_id, v.vehicle_type, count(*) AS n
    FROM basicinfo_vehicle v JOIN ag ON ag.agency_id = v.agency_id
    WHERE v.fiscal_year = %(year)s AND v.status <> 'disposed'
    GROUP BY v.agency_id, v.vehicle_type
), counts AS (
    SELECT ag.agency_id, s.id AS std_id, sum(x.n) AS n
    FROM ag JOIN std s ON s.basis = 'per_person'
                      AND (s.agency_type IS NULL OR s.agency_type = '' OR s.agency_type = ag.kind)
    JOIN people x ON x.agency_id = ag.agency_id
                 AND (s.person_category IS NULL OR s.person_category = '' OR s.person_category = x.category)
    GROUP BY ag.agency_id, s.id
    UNION ALL
    SELECT ag.agency_id, s.id, sum(x.n)
    FROM ag JOIN std s ON s.basis = 'per_vehicle'
                      AND (s.agency_type IS NULL OR s.agency_type = '' OR s.agency_type = ag.kind)
    JOIN vehicles x ON x.agency_id = ag.agency_id
                   AND (s.vehicle_type IS NULL OR s.vehicle_type = '' OR s.vehicle_type = x.vehicle_type)
    GROUP BY ag.agency_id, s.id
), grouped AS (
    SELECT c.agency_id, ag.department_id, ag.kind AS agency_kind, COALESCE(NULLIF(s.func_code, ''), ag.func) AS func_code,
           s.eco_code, sum(s.amount * c.n) AS amount,
           CASE WHEN bool_or(s.kind = 'staff') THEN '1' ELSE '21' END AS pro_kind,
           left(string_agg(s.name || '：' || c.n || (CASE s.basis WHEN 'per_person' THEN '人' ELSE '辆' END)
                           || '×' || s.amount, '；' ORDER BY s.name), 300) AS basis
    FROM counts c JOIN std s ON s.id = c.std_id JOIN ag ON ag.agency_id = c.agency_id
    GROUP BY c.agency_id, ag.department_id, ag.kind, COALESCE(NULLIF(s.func_code, ''), ag.func), s.eco_code
), eco_names AS (
    SELECT v.code, v.name FROM dictionary_value v JOIN dictionary_dataelement e ON e.id = v.element_id
    WHERE e.code = 'DEPT_ECO'
), eco_gov AS (  -- the government class of each economic class used, longest prefix first
    SELECT DISTINCT ON (x.eco_code) x.eco_code, m.admin_code, m.inst_code
    FROM (SELECT DISTINCT eco_code FROM std) x
    JOIN (VALUES {eco_map}) AS m(prefix, admin_code, inst_code) ON x.eco_code LIKE m.prefix || '%%'
    ORDER BY x.eco_code, length(m.prefix) DESC
), mapped AS (
    SELECT g.*, COALESCE(n.name, g.eco_code) AS title,
           COALESCE(CASE WHEN g.agency_kind = 'inst' THEN eg.inst_code ELSE eg.admin_code END, '') AS gov_eco_code
    FROM grouped g LEFT JOIN eco_names n ON n.code = g.eco_code LEFT JOIN eco_gov eg ON eg.eco_code = g.eco_code
), deleted AS (
    DELETE FROM budgeting_budgetline b USING ag
    WHERE b.round_id = %(round)s AND b.agency_id = ag.agency_id AND b.source = 'computed'
      AND NOT EXISTS (SELECT 1 FROM mapped m WHERE m.agency_id = b.agency_id AND m.func_code = b.func_code
                        AND m.gov_eco_code = b.gov_eco_code AND m.eco_code = b.dept_eco_code
                        AND b.fund_type = %(fund)s)
    RETURNING b.id
), upserted AS (
    INSERT INTO budgeting_budgetline (round_id, agency_id, department_id, kind, source, project_code, pro_kind, title,
        func_code, gov_eco_code, dept_eco_code, fund_type, amount_applied, basis, created_at, updated_at)
    SELECT %(round)s, m.agency_id, m.department_id, 'basic', 'computed', '', m.pro_kind, left(m.title, 200),
           m.func_code, m.gov_eco_code, m.eco_code, %(fund)s, m.amount, m.basis, now(), now()
    FROM mapped m
    ON CONFLICT (round_id, agency_id, func_code, gov_eco_code, dept_eco_code, fund_type) WHERE source = 'computed'
    DO UPDATE SET amount_applied = EXCLUDED.amount_applied, basis = EXCLUDED.basis, pro_kind = EXCLUDED.pro_kind,
                  title = EXCLUDED.title, updated_at = now()
    WHERE (budgeting_budgetline.amount_applied, budgeting_budgetline.basis)
          IS DISTINCT FROM (EXCLUDED.amount_applied, EXCLUDED.basis)
    RETURNING id
)
SELECT (SELECT count(*) FROM upserted), (SELECT count(*) FROM deleted)
"""


def compute_sql() -> str:
    """The set-based computation (see ``_COMPUTE_SQL``); parameters: round, region, year, fund and
    the arrays agencies, departments, funcs (the function code for standards without one)."""
    return _COMPUTE_SQL.replace("{eco_map}", _eco_map_values())


def _run_compute(rnd: BudgetRound, rows: list[tuple[int, int, str]], fund_type: str) -> tuple[int, int]:
    """(lines written, lines removed) for the (agency id, department id, func code) rows."""
    with connection.cursor() as cur:
        cur.execute(compute_sql(), {
            "round": rnd.pk, "region": rnd.region_id, "year": rnd.fiscal_year, "fund": fund_type,
            "agencies": [r[0] for r in rows], "departments": [r[1] for r in rows], "funcs": [r[2] for r in rows]})
        written, removed = cur.fetchone()
    return written, removed


def _require_func_for_blank_standards(rnd: BudgetRound, func_code: str) -> None:
    if func_code:
        return
    from fmis.basicinfo.models import ExpenditureStandard

    blank = (ExpenditureStandard.objects.filter(region_id=rnd.region_id, fiscal_year=rnd.fiscal_year, is_active=True)
             .filter(Q(func_code__isnull=True) | Q(func_code="")).values_list("name", flat=True).first())
    if blank:
        raise ValidationFailed("budgeting.compute.func_required",
                               f"支出标准“{blank}”未指定支出功能分类，请指定单位基本支出的功能分类", field="func_code")


@retry_on_conflict
def compute_basic(*, user, round_id: int, agency_id: int, func_code: str = "",
                  fund_type: str = DEFAULT_FUND_TYPE) -> ComputeResult:
    """(Re)compute an agency's basic expenditure (基本支出) for 一上 from its personnel and vehicles
    × the region's expenditure standards, one line per functional and economic class. Idempotent:
    computing again with unchanged basic information changes nothing; computed lines no longer
    backed by the basic information are removed. `func_code` is used for standards without one."""
    func_code = (func_code or "").strip()
    if func_code:
        validate_value(element_code="EXP_FUNC", code=func_code, field="func_code")
    validate_value(element_code="FUND_TYPE", code=fund_type, field="fund_type")
    with transaction.atomic():
        rnd = _round_in_scope(user, round_id, UNIT_DECLARE)
        _require_stage(rnd, Stage.UP1)
        agency = _agency_in_scope(user, agency_id, UNIT_DECLARE, rnd)
        sub = _require_editable(rnd, agency, Stage.UP1)
        _require_func_for_blank_standards(rnd, func_code)
        lines = BudgetLine.objects.filter(round=rnd, agency=agency, source=L.Source.COMPUTED).order_by("id")
        before = list(lines.values("id", "func_code", "dept_eco_code", "amount_applied"))
        written, removed = _run_compute(rnd, [(agency.pk, sub.department_id, func_code)], fund_type)
        after = list(lines.values("id", "func_code", "dept_eco_code", "amount_applied"))
        if written or removed:
            audit.record(user, "budgeting.line.compute", sub, before={"lines": before}, after={"lines": after},
                         object_repr=f"{rnd} {agency.name} 基本支出测算")
    return ComputeResult(lines=len(after), removed=removed,
                         total=sum((ln["amount_applied"] for ln in after), start=ZERO))


def departments_by_agency(region_id: int) -> dict[int, int]:
    """agency id → its first-level agency's id, for every agency of the region (one query)."""
    from fmis.orgs.models import Agency

    parent = dict(Agency.objects.filter(region_id=region_id).values_list("pk", "parent_id"))
    out = {}
    for pk in parent:
        current, hops = pk, 0
        while parent.get(current) is not None and hops < 20:
            current, hops = parent[current], hops + 1
        out[pk] = current
    return out


@retry_on_conflict
def compute_basic_round(*, user, round_id: int, func_codes: Mapping[int, str] | None = None,
                        default_func_code: str = "", fund_type: str = DEFAULT_FUND_TYPE) -> ComputeResult:
    """Compute the basic expenditure of every agency of the round's region in the user's scope in
    one statement (e.g. the budget division after the basic information is complete). Agencies
    whose declaration is submitted or approved are skipped. `func_codes` gives an agency's function
    code for standards without one (default: `default_func_code`)."""
    func_codes = dict(func_codes or {})
    default_func_code = (default_func_code or "").strip()
    for code in {*func_codes.values(), default_func_code} - {""}:
        validate_value(element_code="EXP_FUNC", code=code, field="func_code")
    validate_value(element_code="FUND_TYPE", code=fund_type, field="fund_type")
    from fmis.orgs.models import Agency

    with transaction.atomic():
        rnd = _round_in_scope(user, round_id, UNIT_DECLARE, lock=True)  # submits take the round FOR SHARE
        _require_stage(rnd, Stage.UP1)
        locked = set(Submission.objects.filter(round=rnd, stage=Stage.UP1, status__in=[S.SUBMITTED, S.APPROVED])
                     .values_list("agency_id", flat=True))
        if Approval.objects.filter(round=rnd).exists():
            raise Conflict("budgeting.line.approved", "预算已批复，不能再测算", field="round")
        agencies = [pk for pk in Agency.objects.restrict(user, UNIT_DECLARE).filter(region_id=rnd.region_id)
                    .order_by("pk").values_list("pk", flat=True) if pk not in locked]
        if not default_func_code and any(not func_codes.get(a) for a in agencies):
            _require_func_for_blank_standards(rnd, "")
        depts = departments_by_agency(rnd.region_id)
        rows = [(a, depts[a], func_codes.get(a) or default_func_code) for a in agencies]
        written, removed = _run_compute(rnd, rows, fund_type)
        agg = BudgetLine.objects.filter(round=rnd, source=L.Source.COMPUTED).aggregate(n=Count("id"),
                                                                                       total=Sum("amount_applied"))
        n_lines, total = agg["n"], agg["total"] or ZERO
        audit.record(user, "budgeting.line.compute_round", rnd, after={
            "agencies": len(agencies), "skipped": len(locked), "written": written, "removed": removed,
            "lines": n_lines, "total": total}, object_repr=f"{rnd} 基本支出测算")
    return ComputeResult(lines=n_lines, removed=removed, total=total, agencies=len(agencies), skipped=len(locked))


# --- 一上: project lines and entered lines ---------------------------------------------------------

@dataclass(frozen=True)
class ProjectChoice:
    project_id: int
    amount: Decimal | str | int | None = None  # default: the library's plan amount for the year
    dept_eco_code: str = ""  # default: the project's economic class
    fund_type: str = ""  # default: the project's fund type, else 11


@retry_on_conflict
def add_project_lines(*, user, round_id: int, agency_id: int, choices: Iterable[ProjectChoice]) -> list[BudgetLine]:
    """Choose projects from the agency's library for the round's year (one line per project)."""
    from fmis.projects import selectors as project_selectors

    choices = list(choices)
    if not choices:
        raise ValidationFailed("budgeting.project.none", "请选择至少一个项目", field="projects")
    with transaction.atomic():
        rnd = _round_in_scope(user, round_id, UNIT_DECLARE)
        _require_stage(rnd, Stage.UP1)
        agency = _agency_in_scope(user, agency_id, UNIT_DECLARE, rnd)
        sub = _require_editable(rnd, agency, Stage.UP1)
        library = {e.project_id: e for e in project_selectors.library(user=user, fiscal_year=rnd.fiscal_year,
                                                                    agency_id=agency.pk).select_related("project")}
        errors: list[dict] = []
        rows = []
        for i, ch in enumerate(choices, start=1):
            entry = library.get(ch.project_id) if str(ch.project_id).isdigit() else None
            if entry is None:
                errors.append({"line": i, "field": "project",
                               "message": f"第 {i} 行：项目不在本单位 {rnd.fiscal_year} 年度项目库中"})
                continue
            if entry.status != "reserved":
                errors.append({"line": i, "field": "project",
                               "message": f"第 {i} 行：项目 {entry.project.code} 在项目库中为“{entry.get_status_display()}”，不能选择"})
                continue
            project = entry.project
            try:
                amount = entry.plan_amount if ch.amount in (None, "") else _positive_or_zero(ch.amount)
            except ValidationFailed as exc:
                errors.append({"line": i, "field": "amount", "message": f"第 {i} 行：{exc.message}"})
                continue
            if amount <= 0:
                errors.append({"line": i, "field": "amount", "message": f"第 {i} 行：项目 {project.code} 申报金额必须大于零"})
                continue
            if amount > entry.remaining_amount:
                errors.append({"line": i, "field": "amount", "message": f"第 {i} 行：项目 {project.code} 申报金额 "
                               f"{fmt(amount)} 超过项目剩余计划数 {fmt(entry.remaining_amount)}"})
                continue
            dept_eco = (ch.dept_eco_code or project.eco_code or "30299").strip()
            values = {"func_code": project.func_code, "dept_eco_code": dept_eco,
                      "gov_eco_code": gov_eco_for(dept_eco, agency.kind),
                      "fund_type": (ch.fund_type or project.fund_type or DEFAULT_FUND_TYPE).strip()}
            try:
                _validate_codes(values)
            except ValidationFailed as exc:
                errors.append({"line": i, "field": exc.field, "message": f"第 {i} 行：{exc.message}"})
                continue
            rows.append(BudgetLine(round=rnd, agency=agency, department=sub.department, kind=L.Kind.PROJECT,
                                   source=L.Source.PROJECT, project=project, project_code=project.code,
                                   pro_kind=project.category_id, title=project.name[:200], amount_applied=amount,
                                   basis=f"项目库 {rnd.fiscal_year} 年计划数 {fmt(entry.plan_amount)}", **values))
        if errors:
            raise ValidationFailed("budgeting.project.invalid", errors[0]["message"], field="projects", errors=errors)
        try:
            with transaction.atomic():
                created = BudgetLine.objects.bulk_create(rows)
        except IntegrityError:
            raise Conflict("budgeting.project.duplicate", "所选项目已在本单位的预算中", field="projects") from None
        for ln in created:
            audit.record(user, "budgeting.line.add_project", ln)
    return created


@dataclass
class LineInput:
    kind: str
    title: str
    func_code: str
    dept_eco_code: str
    amount: Decimal | str | int
    fund_type: str = DEFAULT_FUND_TYPE
    gov_eco_code: str = ""


@retry_on_conflict
def add_line(*, user, round_id: int, agency_id: int, data: LineInput) -> BudgetLine:
    """A line entered by the unit in 一上 (e.g. basic expenditure not covered by a standard)."""
    if data.kind not in L.Kind.values:
        raise ValidationFailed("budgeting.line.kind_invalid", f"支出类型不正确：{data.kind}", field="kind")
    if data.kind == L.Kind.PROJECT:
        raise ValidationFailed("budgeting.line.project_from_library", "项目支出请从项目库选择", field="kind")
    title = (data.title or "").strip()
    if not title:
        raise ValidationFailed("budgeting.line.title_required", "名称不能为空", field="title")
    amount = _positive_or_zero(data.amount)
    if amount <= 0:
        raise ValidationFailed("budgeting.line.amount_not_positive", "申报金额必须大于零", field="amount")
    with transaction.atomic():
        rnd = _round_in_scope(user, round_id, UNIT_DECLARE)
        _require_stage(rnd, Stage.UP1)
        agency = _agency_in_scope(user, agency_id, UNIT_DECLARE, rnd)
        sub = _require_editable(rnd, agency, Stage.UP1)
        dept_eco = (data.dept_eco_code or "").strip()
        values = {"func_code": (data.func_code or "").strip(), "dept_eco_code": dept_eco,
                  "gov_eco_code": (data.gov_eco_code or "").strip() or gov_eco_for(dept_eco, agency.kind),
                  "fund_type": (data.fund_type or DEFAULT_FUND_TYPE).strip()}
        _validate_codes(values)
        line = BudgetLine.objects.create(round=rnd, agency=agency, department=sub.department, kind=data.kind,
                                         source=L.Source.ENTERED, pro_kind="21", title=title[:200],
                                         amount_applied=amount, **values)
        audit.record(user, "budgeting.line.add", line)
    return line


def _line_for_unit(user, line_id, *, lock: bool = True) -> BudgetLine:
    permissions.require(user, UNIT_DECLARE)
    qs = BudgetLine.objects.restrict(user, UNIT_DECLARE).select_related("round", "round__region", "agency")
    if lock:
        qs = qs.select_for_update(of=("self",))
    line = qs.filter(pk=line_id).first() if str(line_id).isdigit() else None
    if line is None:
        raise NotFound("budgeting.line.not_found", "预算明细不存在", field="line")
    return line


def _refuse_approved(line: BudgetLine) -> None:
    if line.amount_approved is not None:
        raise Conflict("budgeting.line.approved", f"预算明细“{line.title}”已批复，不能再修改", field="line")


@retry_on_conflict
def update_line_amount(*, user, line_id: int, amount) -> BudgetLine:
    """Change the declared amount (申报数) of a line in 一上."""
    amount = _positive_or_zero(amount)
    with transaction.atomic():
        line = _line_for_unit(user, line_id)
        _refuse_approved(line)
        _require_stage(line.round, Stage.UP1)
        _require_editable(line.round, line.agency, Stage.UP1)
        before = audit.snapshot(line)
        BudgetLine.objects.filter(pk=line.pk).update(amount_applied=amount, updated_at=timezone.now())
        line.refresh_from_db()
        audit.record(user, "budgeting.line.update", line, before=before)
    return line


@retry_on_conflict
def delete_line(*, user, line_id: int) -> None:
    with transaction.atomic():
        line = _line_for_unit(user, line_id)
        _refuse_approved(line)
        _require_stage(line.round, Stage.UP1)
        _require_editable(line.round, line.agency, Stage.UP1)
        before = audit.snapshot(line)
        BudgetLine.objects.filter(pk=line.pk).delete()
        audit.record(user, "budgeting.line.delete", None, before=before, object_type="budgeting.budgetline",
                     object_id=line_id, object_repr=str(line))


# --- submissions and their review ---------------------------------------------------------------

@retry_on_conflict
def submit(*, user, round_id: int, agency_id: int, comment: str = "") -> Submission:
    """Send the agency's declaration (一上) or compilation (二上) for review (主管部门 → 预算处)."""
    with transaction.atomic():
        rnd = _round_in_scope(user, round_id, UNIT_DECLARE)
        with connection.cursor() as cur:  # a round-wide computation holds the round FOR UPDATE
            cur.execute("SELECT 1 FROM budgeting_budgetround WHERE id = %s FOR SHARE", [rnd.pk])
        _require_stage(rnd, Stage.UP1, Stage.UP2)
        agency = _agency_in_scope(user, agency_id, UNIT_DECLARE, rnd)
        sub = _lock_submission(rnd, agency, rnd.stage)
        lines = BudgetLine.objects.filter(round=rnd, agency=agency)
        if not lines.exists():
            raise ValidationFailed("budgeting.submission.empty", f"{agency.name} 没有预算明细，不能送审", field="lines")
        if rnd.stage == Stage.UP2 and lines.filter(amount_compiled__isnull=True).exists():
            n = lines.filter(amount_compiled__isnull=True).count()
            raise ValidationFailed("budgeting.submission.not_compiled", f"{agency.name} 有 {n} 行预算明细尚未填写二上编报数",
                                   field="lines")
        workflow.submit(document=sub, user=user, comment=comment, doc_type=DOC_SUBMISSION)
    sub.refresh_from_db()
    return sub


def review(*, user, submission_id: int, action: str, text: str = "", step: int | None = None):
    """Approve / return (with a reason) / withdraw a submission; the chain's callback does the rest."""
    from fmis.budgeting import selectors

    sub = selectors.submission_detail(user=user, submission_id=submission_id)
    return workflow.perform(action, document=sub, user=user, text=text, step=step, doc_type=DOC_SUBMISSION)


def _acted_step_function(instance) -> str:
    last = instance.actions.order_by("-version").first()
    if last is None or not 1 <= last.step_no <= len(instance.steps):
        return instance.step_function
    return instance.steps[last.step_no - 1]["function"]


def check_reviewer(user, agency, step_function: str) -> None:
    """The 主管部门 step is taken by the supervising department (an agency above the declaring one,
    or the declaring first-level agency itself); the 预算处 step by finance-department staff."""
    if getattr(user, "is_superuser", False):
        return
    if step_function == UNIT_REVIEW:
        own = getattr(user, "agency", None)
        ok = own is not None and ((agency.code.startswith(own.code) and own.code != agency.code)
                                  or (own.pk == agency.pk and agency.parent_id is None))
        if not ok:
            raise PermissionDenied("budgeting.review.not_supervisor",
                                   f"“主管部门审核”环节须由 {agency.name} 的主管部门办理", function=step_function)
    elif step_function == REVIEW and getattr(user, "org_type", "") != "finance":
        raise PermissionDenied("budgeting.review.not_finance", "“预算处审核”环节须由财政部门人员办理",
                               function=step_function)


def on_submission_review(event: str, *, document, instance, user) -> None:
    """Workflow callback: the submission's status follows its review; a completed 一上 review sets
    the finance-reviewed amounts that the budget division did not set itself."""
    sub = Submission.objects.select_for_update().select_related("round", "agency").get(pk=document.pk)
    before = audit.snapshot(sub)
    rnd = sub.round
    if event in (workflow.EVENT_APPROVED, workflow.EVENT_COMPLETED, workflow.EVENT_RETURNED):
        check_reviewer(user, sub.agency, _acted_step_function(instance))
    if event == workflow.EVENT_SUBMITTED:
        if rnd.stage != sub.stage or rnd.status == BudgetRound.Status.APPROVED:
            raise Conflict("budgeting.round.wrong_stage", f"当前阶段为“{rnd.get_stage_display()}”，不能送审"
                           f"{sub.get_stage_display()}", field="stage")
        expect, to = [S.DRAFT, S.RETURNED], S.SUBMITTED
    elif event == workflow.EVENT_COMPLETED:
        expect, to = [S.SUBMITTED], S.APPROVED
    elif event == workflow.EVENT_RETURNED:
        expect, to = [S.SUBMITTED], S.RETURNED
    elif event == workflow.EVENT_WITHDRAWN:
        expect, to = [S.SUBMITTED], S.DRAFT
    elif event == workflow.EVENT_REJECTED:
        raise ValidationFailed("budgeting.review.reject_not_allowed", "预算申报不能“不予通过”，请退回并说明原因",
                               field="action")
    else:
        return
    if Submission.objects.filter(pk=sub.pk, status__in=expect).update(status=to, updated_at=timezone.now()) == 0:
        raise Conflict("budgeting.submission.status_changed", "申报状态已变化，请刷新后重试", field="status")
    if event == workflow.EVENT_COMPLETED and sub.stage == Stage.UP1:
        BudgetLine.objects.filter(round=rnd, agency=sub.agency, amount_reviewed__isnull=True).update(
            amount_reviewed=F("amount_applied"))
    sub.refresh_from_db()
    audit.record(user, f"budgeting.submission.{event.split('.')[-1]}", sub, before=before)


def lock_for_review(document) -> None:
    """Workflow ``prepare`` hook: take the submission's row lock before the chain's locks."""
    Submission.objects.select_for_update().filter(pk=document.pk).values_list("pk", flat=True).first()


# --- finance review amounts (预算处) --------------------------------------------------------------

@retry_on_conflict
def set_reviewed_amount(*, user, line_id: int, amount) -> BudgetLine:
    """The budget division's reviewed amount (财政审核数) of a line, during 一上 or 一下."""
    amount = _positive_or_zero(amount)
    permissions.require(user, REVIEW)
    with transaction.atomic():
        line = (BudgetLine.objects.restrict(user, REVIEW).select_for_update(of=("self",))
                .select_related("round").filter(pk=line_id).first()) if str(line_id).isdigit() else None
        if line is None:
            raise NotFound("budgeting.line.not_found", "预算明细不存在", field="line")
        _refuse_approved(line)
        _require_stage(line.round, Stage.UP1, Stage.DOWN1)
        before = audit.snapshot(line)
        BudgetLine.objects.filter(pk=line.pk).update(amount_reviewed=amount, updated_at=timezone.now())
        line.refresh_from_db()
        audit.record(user, "budgeting.line.review_amount", line, before=before)
    return line


# --- 一下: control numbers -----------------------------------------------------------------------

@retry_on_conflict
def set_control_number(*, user, round_id: int, department_id: int, amount, fund_type: str = "",
                       note: str = "") -> ControlNumber:
    """Set (or change) a department's control number. A department's total must stay ≥ what its
    units have already compiled."""
    amount = _positive_or_zero(amount)
    fund_type = (fund_type or "").strip()
    if fund_type:
        validate_value(element_code="FUND_TYPE", code=fund_type, field="fund_type")
    with transaction.atomic():
        rnd = _round_in_scope(user, round_id, CONTROL)
        _require_stage(rnd, Stage.DOWN1, Stage.UP2)
        dept = _agency_in_scope(user, department_id, CONTROL, rnd)
        if dept.parent_id is not None:
            raise ValidationFailed("budgeting.control.not_department", f"{dept.name} 不是一级预算单位，控制数下达到一级预算单位",
                                   field="department")
        ControlNumber.objects.get_or_create(round=rnd, department=dept, fund_type=fund_type,
                                            defaults={"amount": amount, "updated_by": user, "note": note[:200]})
        cn = ControlNumber.objects.select_for_update().get(round=rnd, department=dept, fund_type=fund_type)
        before = audit.snapshot(cn)
        compiled = _compiled_sum(rnd.pk, dept.pk, fund_type)
        if compiled > amount:
            raise Conflict("budgeting.control.below_compiled",
                           f"{dept.name} 已编报 {fmt(compiled)}，控制数不能低于已编报数", field="amount")
        ControlNumber.objects.filter(pk=cn.pk).update(amount=amount, note=(note or "")[:200], updated_by=user,
                                                      updated_at=timezone.now())
        cn.refresh_from_db()
        audit.record(user, "budgeting.control.set", cn, before=before if before != audit.snapshot(cn) else None)
    return cn


def _compiled_sum(round_id: int, department_id: int, fund_type: str = "") -> Decimal:
    sql = ("SELECT COALESCE(sum(amount_compiled), 0) FROM budgeting_budgetline "
           "WHERE round_id = %s AND department_id = %s")
    params: list = [round_id, department_id]
    if fund_type:
        sql += " AND fund_type = %s"
        params.append(fund_type)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


# --- 二上: compile within the control numbers -----------------------------------------------------

@retry_on_conflict
def compile_lines(*, user, round_id: int, agency_id: int,
                  amounts: Mapping[int, Decimal | str | int] | None = None) -> list[BudgetLine]:
    """Set the agency's 二上 amounts (编报数): `amounts` by line id, or, when None, every line at its
    finance-reviewed amount. Hard check: the department's compiled total (and per fund type, where
    a control number for it exists) never exceeds its control number. The control number rows are
    locked first, so concurrent compiles of the department's units are serialized and cannot
    together exceed it."""
    with transaction.atomic():
        rnd = _round_in_scope(user, round_id, UNIT_DECLARE)
        _require_stage(rnd, Stage.UP2)
        agency = _agency_in_scope(user, agency_id, UNIT_DECLARE, rnd)
        dept = department_of(agency)
        controls = list(ControlNumber.objects.select_for_update().filter(round=rnd, department=dept)
                        .order_by("fund_type"))
        total_control = next((c for c in controls if c.fund_type == ""), None)
        if total_control is None:
            raise Conflict("budgeting.control.missing", f"{dept.name} 尚未下达控制数，不能编报", field="department")
        sub = _require_editable(rnd, agency, Stage.UP2)
        lines = {ln.pk: ln for ln in BudgetLine.objects.select_for_update().filter(round=rnd, agency=agency)}
        if not lines:
            raise ValidationFailed("budgeting.compile.no_lines", f"{agency.name} 没有预算明细", field="lines")
        errors: list[dict] = []
        new: dict[int, Decimal] = {}
        if amounts is None:
            new = {pk: (ln.amount_reviewed if ln.amount_reviewed is not None else ln.amount_applied)
                   for pk, ln in lines.items()}
        else:
            for i, (line_id, value) in enumerate(amounts.items(), start=1):
                ln = lines.get(int(line_id)) if str(line_id).isdigit() else None
                if ln is None:
                    errors.append({"line": i, "field": "line", "message": f"第 {i} 行：预算明细不存在"})
                    continue
                try:
                    new[ln.pk] = _positive_or_zero(value)
                except ValidationFailed as exc:
                    errors.append({"line": i, "field": "amount", "message": f"第 {i} 行（{ln.title}）：{exc.message}"})
        if errors:
            raise ValidationFailed("budgeting.compile.invalid", errors[0]["message"], field="lines", errors=errors)
        before = {pk: str(lines[pk].amount_compiled) for pk in new}
        changed = [(pk, v) for pk, v in new.items() if lines[pk].amount_compiled != v]
        if changed:
            with connection.cursor() as cur:
                cur.execute(
                    "UPDATE budgeting_budgetline b SET amount_compiled = v.amount, updated_at = now() "
                    "FROM unnest(%s::bigint[], %s::numeric[]) AS v(id, amount) WHERE b.id = v.id",
                    [[pk for pk, _v in changed], [v for _pk, v in changed]])
        for c in [total_control, *[c for c in controls if c.fund_type]]:
            compiled = _compiled_sum(rnd.pk, dept.pk, c.fund_type)
            if compiled > c.amount:
                what = f"资金性质 {c.fund_type} " if c.fund_type else ""
                raise Conflict("budgeting.compile.over_control",
                               f"{dept.name} {what}二上编报合计 {fmt(compiled)} 超过控制数 {fmt(c.amount)}，"
                               f"超出 {fmt(compiled - c.amount)}", field="amount", compiled=compiled, control=c.amount)
        result = list(BudgetLine.objects.filter(pk__in=list(new)).order_by("pk"))
        audit.record(user, "budgeting.line.compile", sub, before={"compiled": before},
                     after={"compiled": {ln.pk: str(ln.amount_compiled) for ln in result}},
                     object_repr=f"{rnd} {agency.name} 二上编报")
    return result


# --- 二下: approval issues the indicators --------------------------------------------------------

@dataclass(frozen=True)
class ApprovalResult:
    approvals: list[Approval]
    indicators: int
    amount: Decimal


_ISSUE_SQL = """
WITH src AS (
    SELECT l.id, l.agency_id, l.kind, l.title, l.project_code, l.func_code, l.gov_eco_code, l.dept_eco_code,
           l.fund_type, l.amount_compiled AS amount,
           'YS' || %(year)s::text || lpad(l.id::text, 10, '0') AS code  -- the line id from position 7
    FROM budgeting_budgetline l
    WHERE l.round_id = %(round)s AND l.department_id = ANY(%(departments)s)
      AND l.amount_approved IS NULL AND l.indicator_id IS NULL AND l.amount_compiled > 0
    ORDER BY l.id
    FOR UPDATE
), ins AS (
    INSERT INTO indicators_indicator (fiscal_year, region_id, agency_id, code, doc_no, title, project_code, func_code,
        gov_eco_code, dept_eco_code, fund_type, indicator_type, pay_mode, source_id, status, amount, to_distribute,
        doc_date, confirmed_at, total, frozen, reserved, consumed, created_by_id, created_at, updated_at)
    SELECT %(year)s, %(region)s, s.agency_id, s.code, %(doc_no)s, left(s.title, 200), s.project_code, s.func_code,
           s.gov_eco_code, s.dept_eco_code, s.fund_type, %(indicator_type)s,
           CASE s.kind WHEN 'project' THEN 'direct' ELSE 'authorized' END, NULL, 'executable', s.amount,
           false, %(doc_date)s, now(), s.amount, 0, 0, 0, %(user)s, now(), now()
    FROM src s
    RETURNING id, code, total
), mv AS (
    INSERT INTO indicators_movement (indicator_id, kind, d_total, d_frozen, d_reserved, d_consumed, counterpart_id,
        source_type, source_id, source_no, note, created_by_id, created_at)
    SELECT i.id, 'issue', i.total, 0, 0, 0, NULL, %(source_type)s, substr(i.code, 7)::bigint, %(source_no)s,
           '预算批复下达', %(user)s, now()
    FROM ins i
    RETURNING indicator_id, source_id
)
UPDATE budgeting_budgetline l
SET amount_approved = l.amount_compiled, indicator_id = mv.indicator_id, updated_at = now()
FROM mv WHERE l.id = mv.source_id
RETURNING l.indicator_id
"""


def issue_indicators_sql(*, rnd: BudgetRound, department_ids: list[int], user_id: int, doc_no: str,
                         doc_date: dt.date) -> tuple[str, dict]:
    """二下 for the compiled lines with an amount, set-based: one INSERT … SELECT of the executable
    indicators, one of their issue movements (figures = sum of movements), and one UPDATE of the
    lines (approved amount = compiled amount, link to the indicator), in one statement."""
    return _ISSUE_SQL, {"year": rnd.fiscal_year, "round": rnd.pk, "departments": list(department_ids),
                        "region": rnd.region_id, "doc_no": doc_no[:100], "indicator_type": APPROVED_INDICATOR_TYPE,
                        "doc_date": doc_date, "user": user_id, "source_type": LINE_SOURCE_TYPE,
                        "source_no": (doc_no or f"{rnd.fiscal_year}年预算批复")[:60]}


def _check_issued(indicator_ids: list[int]) -> None:
    """The indicator invariant for what was just issued: figures equal the sums of movements."""
    if not indicator_ids:
        return
    with connection.cursor() as cur:
        cur.execute("""
            SELECT i.code FROM indicators_indicator i
            LEFT JOIN (SELECT indicator_id, sum(d_total) t, sum(d_frozen) f, sum(d_reserved) r, sum(d_consumed) c
                       FROM indicators_movement WHERE indicator_id = ANY(%s) GROUP BY indicator_id) m
              ON m.indicator_id = i.id
            WHERE i.id = ANY(%s) AND (m.t IS DISTINCT FROM i.total OR m.f <> i.frozen OR m.r <> i.reserved
                                      OR m.c <> i.consumed)
            LIMIT 1""", [indicator_ids, indicator_ids])
        bad = cur.fetchone()
    if bad:
        raise Conflict("budgeting.issue.ledger_mismatch", f"指标 {bad[0]} 的金额与指标账不一致，批复未执行", field="round")


def _validate_line_codes(rnd: BudgetRound, department_ids: list[int]) -> None:
    """Every classification code of the lines to approve exists and is enabled (checked per
    distinct code, not per line)."""
    qs = BudgetLine.objects.filter(round=rnd, department_id__in=department_ids, amount_approved__isnull=True,
                                   amount_compiled__gt=0)
    for field, element in (("func_code", "EXP_FUNC"), ("gov_eco_code", "GOV_ECO"), ("dept_eco_code", "DEPT_ECO"),
                           ("fund_type", "FUND_TYPE")):
        for code in qs.values_list(field, flat=True).distinct():
            try:
                validate_value(element_code=element, code=code, field=field)
            except ValidationFailed as exc:
                line = qs.filter(**{field: code}).order_by("pk").first()
                raise ValidationFailed(exc.code, f"预算明细“{line.title}”（{line.agency_id}）：{exc.message}",
                                       field=field) from None


@retry_on_conflict
def approve(*, user, round_id: int, department_id: int | None = None, doc_no: str = "",
            doc_date: dt.date | None = None) -> ApprovalResult:
    """Approve (批复) one department's budget, or every department not yet approved when
    `department_id` is None: the compiled amounts become the approved amounts and, in the same
    transaction, each line with an approved amount becomes an executable indicator (年初批复指标)
    with lineage back to the line and its project; projects are marked scheduled. Running it again
    is a no-op."""
    doc_no = (doc_no or "").strip()[:100]
    doc_date = doc_date or timezone.localdate()
    with transaction.atomic():
        rnd = _round_in_scope(user, round_id, APPROVE, lock=True)
        if rnd.stage != Stage.DOWN2:
            raise Conflict("budgeting.round.wrong_stage",
                           f"当前阶段为“{rnd.get_stage_display()}”，批复只能在“{Stage.DOWN2.label}”阶段进行", field="stage")
        approved_depts = set(Approval.objects.filter(round=rnd).values_list("department_id", flat=True))
        if department_id is not None:
            dept = _agency_in_scope(user, department_id, APPROVE, rnd)
            if dept.pk in approved_depts:
                return ApprovalResult(approvals=[], indicators=0, amount=ZERO)
            if not BudgetLine.objects.filter(round=rnd, department=dept).exists():
                raise ValidationFailed("budgeting.approve.no_lines", f"{dept.name} 没有预算明细", field="department")
            targets = [dept.pk]
        else:
            in_scope = BudgetLine.objects.restrict(user, APPROVE).filter(round=rnd)
            targets = sorted(set(in_scope.values_list("department_id", flat=True).distinct()) - approved_depts)
            if not targets:
                return ApprovalResult(approvals=[], indicators=0, amount=ZERO)
        _check_compiled(rnd, targets)
        # 二下: the compiled amounts are approved as they stand; lines with an amount become indicators
        _validate_line_codes(rnd, targets)
        sql, params = issue_indicators_sql(rnd=rnd, department_ids=targets, user_id=user.pk, doc_no=doc_no,
                                           doc_date=doc_date)
        try:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql, params)
                issued = [r[0] for r in cur.fetchall()]
        except IntegrityError as exc:
            raise Conflict("budgeting.issue.code_taken", f"生成指标时编号冲突，批复未执行：{exc}".splitlines()[0],
                           field="round") from None
        _check_issued(issued)
        BudgetLine.objects.filter(round=rnd, department_id__in=targets, amount_approved__isnull=True).update(
            amount_approved=Coalesce("amount_compiled", ZERO), updated_at=timezone.now())  # nothing to issue
        approvals, issued_by = [], {}
        total = ZERO
        for dept_id in targets:
            agg = list(BudgetLine.objects.filter(round=rnd, department_id=dept_id).values_list(
                "amount_approved", "indicator_id"))
            amount = sum((a or ZERO for a, _i in agg), start=ZERO)
            ids = sorted(i for _a, i in agg if i)
            ap = Approval.objects.create(round=rnd, department_id=dept_id, doc_no=doc_no, approved_by=user,
                                         amount=amount, lines=len(agg), indicators=len(ids))
            approvals.append(ap)
            issued_by[ap.pk] = ids
            total += amount
        _schedule_projects(rnd, targets, user)
        all_depts = set(BudgetLine.objects.filter(round=rnd).values_list("department_id", flat=True).distinct())
        before = audit.snapshot(rnd)
        if all_depts <= approved_depts | set(targets):
            BudgetRound.objects.filter(pk=rnd.pk).update(status=BudgetRound.Status.APPROVED, doc_no=doc_no)
        rnd.refresh_from_db()
        for ap in approvals:
            audit.record(user, "budgeting.approve", ap, after={**audit.snapshot(ap), "indicator_ids": issued_by[ap.pk]})
        if before != audit.snapshot(rnd):
            audit.record(user, "budgeting.round.approved", rnd, before=before)
        publish_quota_arrived(issued)
        events.publish(EVENT_APPROVED, {"round_id": rnd.pk, "fiscal_year": rnd.fiscal_year,
                                        "region": rnd.region.code, "departments": targets,
                                        "indicators": len(issued), "amount": total, "doc_no": doc_no})
    return ApprovalResult(approvals=approvals, indicators=len(issued), amount=total)


def _check_compiled(rnd: BudgetRound, department_ids: list[int]) -> None:
    """Every unit of the departments with lines has its 二上 compilation approved."""
    from fmis.orgs.models import Agency

    agencies = set(BudgetLine.objects.filter(round=rnd, department_id__in=department_ids)
                   .values_list("agency_id", flat=True).distinct())
    done = set(Submission.objects.filter(round=rnd, stage=Stage.UP2, status=S.APPROVED, agency_id__in=agencies)
               .values_list("agency_id", flat=True))
    missing = agencies - done
    if missing:
        names = list(Agency.objects.filter(pk__in=missing).order_by("code").values_list("name", flat=True)[:5])
        raise Conflict("budgeting.approve.not_compiled",
                       f"有 {len(missing)} 个单位的二上编报尚未审核通过：{'、'.join(names)}" + ("等" if len(missing) > 5 else ""),
                       field="department")


def publish_quota_arrived(indicator_ids: list[int]) -> None:
    """``indicators.quota_arrived`` for each issued indicator (accounting books the quota)."""
    from fmis.indicators.ledger import SourceRef
    from fmis.indicators.models import Indicator
    from fmis.indicators.services import EVENT_QUOTA_ARRIVED, quota_payload

    if not indicator_ids:
        return
    lines = dict(BudgetLine.objects.filter(indicator_id__in=indicator_ids).values_list("indicator_id", "pk"))
    for ind in (Indicator.objects.filter(pk__in=indicator_ids).select_related("region", "agency").order_by("pk")
                .iterator(chunk_size=2000)):
        src = SourceRef(LINE_SOURCE_TYPE, lines.get(ind.pk), ind.doc_no or ind.code)
        events.publish(EVENT_QUOTA_ARRIVED, quota_payload(ind, ind.total, kind="issue", source=src,
                                                          on=ind.doc_date))


def _schedule_projects(rnd: BudgetRound, department_ids: list[int], user) -> None:
    """Mark the approved projects scheduled into the budget year, through the project library."""
    from django.db.models import Sum

    from fmis.indicators.ledger import SourceRef
    from fmis.projects import services as project_services

    rows = (BudgetLine.objects.filter(round=rnd, department_id__in=department_ids, project__isnull=False,
                                      amount_approved__gt=0)
            .values("project_id").annotate(amount=Sum("amount_approved")).order_by("project_id"))
    for r in rows:
        project_services.schedule(project_id=r["project_id"], fiscal_year=rnd.fiscal_year, amount=r["amount"],
                                  user=user, source=SourceRef("budgeting.round", rnd.pk, rnd.doc_no or str(rnd)))
