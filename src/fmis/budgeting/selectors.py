"""Reads of budget preparation, every one through the user's data scope: a unit sees its own
lines, a 主管部门 its subordinates' (agency subtree), the budget division its region's.
Summaries are SQL aggregates over the same restricted querysets."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Left

from fmis.budgeting.functions import UNIT_VIEW
from fmis.budgeting.models import Approval, BudgetLine, BudgetRound, ControlNumber, Submission
from fmis.platform.errors import NotFound
from fmis.platform.money import ZERO

ZERO_MONEY = Value(ZERO, output_field=DecimalField(max_digits=20, decimal_places=2))
AMOUNTS = ("amount_applied", "amount_reviewed", "amount_compiled", "amount_approved")


def rounds_for(*, user, q: str = "", function: str = UNIT_VIEW) -> QuerySet[BudgetRound]:
    qs = BudgetRound.objects.restrict(user, function).select_related("region")
    agency = getattr(user, "agency", None)
    if agency is not None and not user.is_superuser:
        qs = qs.filter(region_id=agency.region_id)  # a unit's rounds are its own region's
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(region__name__icontains=q) | Q(region__code=q)
                       | (Q(fiscal_year=int(q)) if q.isdigit() else Q()))
    return qs.order_by("-fiscal_year", "region__code")


def round_detail(*, user, round_id, function: str = UNIT_VIEW) -> BudgetRound:
    rnd = rounds_for(user=user, function=function).filter(pk=round_id).first() if str(round_id).isdigit() else None
    if rnd is None:
        raise NotFound("budgeting.round.not_found", "预算编制批次不存在", field="round")
    return rnd


def lines_for(*, user, rnd: BudgetRound, q: str = "", agency: str = "", kind: str = "",
              function: str = UNIT_VIEW) -> QuerySet[BudgetLine]:
    qs = (BudgetLine.objects.restrict(user, function).filter(round=rnd)
          .select_related("agency", "department", "indicator"))
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(project_code=q) | Q(func_code__startswith=q)
                       | Q(dept_eco_code__startswith=q) | Q(agency__name__icontains=q))
    if agency:
        qs = qs.filter(Q(agency__code__startswith=agency) | Q(agency__name__icontains=agency))
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("agency__code", "kind", "func_code", "dept_eco_code", "pk")


def line_detail(*, user, line_id, function: str = UNIT_VIEW) -> BudgetLine:
    line = (BudgetLine.objects.restrict(user, function).select_related("round", "agency", "indicator", "project")
            .filter(pk=line_id).first()) if str(line_id).isdigit() else None
    if line is None:
        raise NotFound("budgeting.line.not_found", "预算明细不存在", field="line")
    return line


def submission_detail(*, user, submission_id, function: str = UNIT_VIEW) -> Submission:
    sub = (Submission.objects.restrict(user, function).select_related("round", "round__region", "agency", "department")
           .filter(pk=submission_id).first()) if str(submission_id).isdigit() else None
    if sub is None:
        raise NotFound("budgeting.submission.not_found", "预算申报不存在", field="submission")
    return sub


def submissions_for(*, user, rnd: BudgetRound, function: str = UNIT_VIEW) -> QuerySet[Submission]:
    return (Submission.objects.restrict(user, function).filter(round=rnd).select_related("agency", "department")
            .order_by("stage", "agency__code"))


def control_numbers_for(*, user, rnd: BudgetRound, function: str = UNIT_VIEW) -> list[dict]:
    """Control numbers with what each department has compiled against them."""
    rows = list(ControlNumber.objects.restrict(user, function).filter(round=rnd).select_related("department")
                .order_by("department__code", "fund_type"))
    compiled = {}
    for r in (BudgetLine.objects.filter(round=rnd, department_id__in=[c.department_id for c in rows])
              .values("department_id", "fund_type").annotate(s=Coalesce(Sum("amount_compiled"), ZERO_MONEY))):
        compiled[(r["department_id"], r["fund_type"])] = r["s"]
    out = []
    for c in rows:
        if c.fund_type:
            used = compiled.get((c.department_id, c.fund_type), ZERO)
        else:
            used = sum((v for (d, _f), v in compiled.items() if d == c.department_id), start=ZERO)
        out.append({"control": c, "compiled": used, "left": c.amount - used})
    return out


def approvals_for(*, user, rnd: BudgetRound, function: str = UNIT_VIEW) -> QuerySet[Approval]:
    return Approval.objects.restrict(user, function).filter(round=rnd).select_related("department", "approved_by")


def department_progress(*, user, rnd: BudgetRound, function: str = UNIT_VIEW) -> list[dict]:
    """Per department: units, lines, amounts at each stage, submissions reviewed, approval."""
    lines = BudgetLine.objects.restrict(user, function).filter(round=rnd)
    rows = list(lines.values("department_id", "department__code", "department__name")
                .annotate(units=Count("agency_id", distinct=True), lines=Count("id"),
                          **{a: Coalesce(Sum(a), ZERO_MONEY) for a in AMOUNTS})
                .order_by("department__code"))
    subs = {}
    for r in (Submission.objects.restrict(user, function).filter(round=rnd, status=Submission.Status.APPROVED)
              .values("department_id", "stage").annotate(n=Count("id"))):
        subs[(r["department_id"], r["stage"])] = r["n"]
    approved = set(Approval.objects.filter(round=rnd).values_list("department_id", flat=True))
    for r in rows:
        r["up1_done"] = subs.get((r["department_id"], "up1"), 0)
        r["up2_done"] = subs.get((r["department_id"], "up2"), 0)
        r["approved"] = r["department_id"] in approved
    return rows


# --- summaries ----------------------------------------------------------------------------------

def _summary(qs: QuerySet[BudgetLine], key, name_map: dict[str, str] | None = None) -> list[dict]:
    rows = list(qs.annotate(key=key).values("key")
                .annotate(lines=Count("id"), **{a: Coalesce(Sum(a), ZERO_MONEY) for a in AMOUNTS}).order_by("key"))
    for r in rows:
        r["name"] = (name_map or {}).get(r["key"], "")
    return rows


def _names(element: str, codes) -> dict[str, str]:
    from fmis.dictionary.models import Value as DictValue

    return dict(DictValue.objects.filter(element__code=element, code__in=list(codes)).values_list("code", "name"))


def summary_by_department(*, user, rnd: BudgetRound, function: str = UNIT_VIEW) -> list[dict]:
    qs = BudgetLine.objects.restrict(user, function).filter(round=rnd)
    rows = list(qs.values("department__code", "department__name")
                .annotate(lines=Count("id"), **{a: Coalesce(Sum(a), ZERO_MONEY) for a in AMOUNTS})
                .order_by("department__code"))
    for r in rows:
        r["key"], r["name"] = r.pop("department__code"), r.pop("department__name")
    return rows


def summary_by_function(*, user, rnd: BudgetRound, level: int = 3, function: str = UNIT_VIEW) -> list[dict]:
    """By functional class: level 1 类 (3 digits), 2 款 (5), 3 项 (7)."""
    length = {1: 3, 2: 5, 3: 7}.get(level, 7)
    qs = BudgetLine.objects.restrict(user, function).filter(round=rnd)
    rows = _summary(qs, Left("func_code", length))
    names = _names("EXP_FUNC", [r["key"] for r in rows])
    for r in rows:
        r["name"] = names.get(r["key"], "")
    return rows


def summary_by_economic(*, user, rnd: BudgetRound, level: int = 2, gov: bool = False,
                        function: str = UNIT_VIEW) -> list[dict]:
    """By department (or government) economic class: level 1 类 (3 digits), 2 款 (5)."""
    length = 3 if level == 1 else 5
    field = "gov_eco_code" if gov else "dept_eco_code"
    qs = BudgetLine.objects.restrict(user, function).filter(round=rnd)
    rows = _summary(qs, Left(field, length))
    names = _names("GOV_ECO" if gov else "DEPT_ECO", [r["key"] for r in rows])
    for r in rows:
        r["name"] = names.get(r["key"], "")
    return rows


def totals(rows: list[dict]) -> dict[str, Decimal]:
    return {a: sum((r[a] for r in rows), start=ZERO) for a in AMOUNTS}
