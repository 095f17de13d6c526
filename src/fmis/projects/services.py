"""Writes of the project library: declare and edit projects, review (主管部门 → 业务处室 → 绩效处
→ 评审中心) on the platform workflow, reserve (储备) on approval, schedule into a budget year,
roll the library to the next year, terminate, import.

Every service checks the acting user's function and data scope, runs in one transaction and
leaves an audit record. A project may be edited only while it is a draft or returned; the
database also refuses yearly plans that do not add up to the total (deferred trigger).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from fmis.iam import permissions
from fmis.platform import audit, events
from fmis.platform.db import retry_on_conflict
from fmis.platform.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.money import ZERO, fmt, to_money
from fmis.platform.workflow import services as workflow
from fmis.projects import codes
from fmis.projects import functions as fn
from fmis.projects.models import (
    LibraryEntry,
    PerformanceTarget,
    Project,
    ProjectCategory,
    ProjectPlan,
)

S = Project.Status
LS = LibraryEntry.Status
DOC_PROJECT = "projects.project"
EVENT_RESERVED = "projects.reserved"
EVENT_SCHEDULED = "projects.scheduled"
EVENT_TERMINATED = "projects.terminated"

MIN_YEAR, MAX_YEAR = 2000, 2999
MAX_YEARS = 10
MAX_TAGS = 10
COMPARATORS = ("≥", "≤", "=", ">", "<", "定性")
SUPERVISOR_STEPS = (fn.REVIEW_SUPERVISOR,)
FINANCE_STEPS = (fn.REVIEW_DIVISION, fn.REVIEW_PERFORMANCE, fn.REVIEW_CENTER)
DEFAULT_STEPS = (
    ("主管部门审核", fn.REVIEW_SUPERVISOR),
    ("业务处室审核", fn.REVIEW_DIVISION),
    ("绩效处审核", fn.REVIEW_PERFORMANCE),
    ("评审中心审核", fn.REVIEW_CENTER),
)


# --- inputs -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TargetInput:
    level1: str
    level2: str
    level3: str
    target_value: str
    unit: str = ""
    comparator: str = "≥"


@dataclass(frozen=True)
class ProjectInput:
    name: str
    agency_id: int
    category: str
    func_code: str
    start_year: int
    end_year: int
    total_amount: Decimal | str | int
    plans: dict[int, Decimal | str | int]
    targets: Sequence[TargetInput] = ()
    code: str = ""  # empty: issue the next code
    eco_code: str = ""
    fund_type: str = ""
    is_transfer: bool = False
    target_region_id: int | None = None
    tags: Sequence[str] = ()
    basis: str = ""
    summary: str = ""


@dataclass
class _Clean:
    values: dict
    plans: dict[int, Decimal]
    targets: list[TargetInput] = field(default_factory=list)


# --- helpers ------------------------------------------------------------------------------------

def snapshot(project: Project) -> dict:
    """The project with its plans and targets, for audit before/after and the history page."""
    data = audit.snapshot(project)
    data["plans"] = {str(p.year): str(p.amount) for p in ProjectPlan.objects.filter(project=project).order_by("year")}
    data["targets"] = [f"{t.get_level1_display()}/{t.level2}/{t.level3} {t.comparator}{t.target_value}{t.unit}"
                       for t in PerformanceTarget.objects.filter(project=project).order_by("pk")]
    return data


def _project_in_scope(user, function: str, project_id, *, lock: bool = False) -> Project:
    """The project if `user` holds `function` for it; missing and out-of-scope alike are NotFound."""
    permissions.require(user, function)
    qs = Project.objects.restrict(user, function).select_related("agency", "region", "category")
    if lock:
        qs = qs.select_for_update(of=("self",))
    project = qs.filter(pk=project_id).first() if str(project_id).isdigit() else None
    if project is None:
        raise NotFound("projects.not_found", "项目不存在", field="project")
    return project


def _agency_in_scope(user, function: str, agency_id):
    from fmis.orgs.models import Agency

    agency = (Agency.objects.restrict(user, function).select_related("region")
              .filter(pk=agency_id).first()) if str(agency_id or "").isdigit() else None
    if agency is None:
        raise ValidationFailed("projects.agency_out_of_scope", "项目单位不存在或不在您的数据权限范围内",
                               field="agency")
    if agency.status != agency.Status.ACTIVE:
        raise ValidationFailed("projects.agency_disabled", f"项目单位 {agency} 已停用", field="agency")
    return agency


def _year(value, field_name: str, label: str) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed("projects.bad_year", f"{label}必须是四位年度", field=field_name) from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed("projects.bad_year", f"{label} {value} 不是有效年度", field=field_name)
    return year


def _validate(data: ProjectInput, *, agency) -> _Clean:
    """Check every field of `data`; the first problem is raised with the field it concerns."""
    from fmis.dictionary.selectors import validate_value
    from fmis.orgs.models import Region

    name = (data.name or "").strip()
    if not name:
        raise ValidationFailed("projects.name_required", "项目名称不能为空", field="name")
    if len(name) > 200:
        raise ValidationFailed("projects.name_too_long", "项目名称不能超过 200 个字符", field="name")
    category = ProjectCategory.objects.filter(code=(data.category or "").strip()).first()
    if category is None:
        raise ValidationFailed("projects.bad_category", f"项目类别 {data.category} 不存在", field="category")
    if not category.is_leaf:
        raise ValidationFailed("projects.category_not_leaf",
                               f"项目类别“{category}”有下级类别，请选择末级类别", field="category")
    validate_value(element_code="EXP_FUNC", code=data.func_code, field="func_code")
    if data.eco_code:
        validate_value(element_code="DEPT_ECO", code=data.eco_code, field="eco_code")
    if data.fund_type:
        validate_value(element_code="FUND_TYPE", code=data.fund_type, field="fund_type")
    start = _year(data.start_year, "start_year", "起始年度")
    end = _year(data.end_year, "end_year", "结束年度")
    if end < start:
        raise ValidationFailed("projects.end_before_start", f"结束年度 {end} 早于起始年度 {start}", field="end_year")
    if end - start + 1 > MAX_YEARS:
        raise ValidationFailed("projects.too_many_years", f"项目期限不能超过 {MAX_YEARS} 年", field="end_year")
    total = to_money(data.total_amount, field="total_amount")
    if total <= 0:
        raise ValidationFailed("projects.total_not_positive", "项目总额必须大于 0", field="total_amount")
    plans: dict[int, Decimal] = {}
    for raw_year, raw_amount in (data.plans or {}).items():
        year = _year(raw_year, "plans", "计划年度")
        if not start <= year <= end:
            raise ValidationFailed("projects.plan_outside_years",
                                   f"分年支出计划的年度 {year} 不在项目期限 {start}–{end} 内", field="plans", year=year)
        amount = to_money(raw_amount, field="plans")
        if amount < 0:
            raise ValidationFailed("projects.plan_negative", f"{year} 年计划金额不能为负数", field="plans", year=year)
        plans[year] = plans.get(year, ZERO) + amount
    plan_sum = sum(plans.values(), ZERO)
    if plan_sum != total:
        raise ValidationFailed("projects.plan_sum_mismatch",
                               f"分年支出计划合计 {fmt(plan_sum)} 与项目总额 {fmt(total)} 不一致",
                               field="plans", plan_sum=plan_sum, total=total)
    target_region = None
    if data.is_transfer:
        target_region = Region.objects.filter(pk=data.target_region_id).first() if data.target_region_id else None
        if target_region is None:
            raise ValidationFailed("projects.target_region_required", "转移支付项目必须选择下级财政区划",
                                   field="target_region")
        own = agency.region
        if target_region.level <= own.level or not target_region.code.startswith(own.code[:2 * own.level]):
            raise ValidationFailed("projects.target_region_not_lower",
                                   f"{target_region} 不是 {own} 的下级区划", field="target_region")
    elif data.target_region_id:
        raise ValidationFailed("projects.target_region_not_transfer", "只有转移支付项目可以选择下级财政区划",
                               field="target_region")
    tags = []
    for t in data.tags or ():
        t = str(t).strip()
        if not t:
            continue
        if len(t) > 30:
            raise ValidationFailed("projects.tag_too_long", f"项目标签“{t}”超过 30 个字符", field="tags")
        if t not in tags:
            tags.append(t)
    if len(tags) > MAX_TAGS:
        raise ValidationFailed("projects.too_many_tags", f"项目标签不能超过 {MAX_TAGS} 个", field="tags")
    targets = []
    seen = set()
    for i, t in enumerate(data.targets or (), start=1):
        if t.level1 not in PerformanceTarget.Level1.values:
            raise ValidationFailed("projects.bad_target", f"第 {i} 个绩效目标的一级指标 {t.level1} 不正确",
                                   field="targets", line=i)
        if not (t.level2 or "").strip() or not (t.level3 or "").strip():
            raise ValidationFailed("projects.bad_target", f"第 {i} 个绩效目标的二级、三级指标不能为空",
                                   field="targets", line=i)
        if not (t.target_value or "").strip():
            raise ValidationFailed("projects.bad_target", f"第 {i} 个绩效目标“{t.level3}”的指标值不能为空",
                                   field="targets", line=i)
        if t.comparator not in COMPARATORS:
            raise ValidationFailed("projects.bad_target", f"第 {i} 个绩效目标的比较方式 {t.comparator} 不正确",
                                   field="targets", line=i)
        key = (t.level1, t.level2.strip(), t.level3.strip())
        if key in seen:
            raise ValidationFailed("projects.duplicate_target", f"第 {i} 个绩效目标“{t.level3}”重复",
                                   field="targets", line=i)
        seen.add(key)
        targets.append(TargetInput(t.level1, t.level2.strip(), t.level3.strip(), t.target_value.strip(),
                                   (t.unit or "").strip(), t.comparator))
    if category.top_class == "3" and not targets:
        raise ValidationFailed("projects.targets_required", "特定目标类项目必须填写绩效目标", field="targets")
    values = {
        "name": name, "agency": agency, "region": agency.region, "category": category,
        "func_code": data.func_code.strip(), "eco_code": (data.eco_code or "").strip(),
        "fund_type": (data.fund_type or "").strip(), "start_year": start, "end_year": end, "total_amount": total,
        "is_transfer": bool(data.is_transfer), "target_region": target_region, "tags": tags,
        "basis": (data.basis or "").strip(), "summary": (data.summary or "").strip(),
    }
    return _Clean(values=values, plans=plans, targets=targets)


def _write_children(project: Project, clean: _Clean) -> None:
    ProjectPlan.objects.filter(project=project).delete()
    PerformanceTarget.objects.filter(project=project).delete()
    ProjectPlan.objects.bulk_create([ProjectPlan(project=project, year=y, amount=a)
                                     for y, a in sorted(clean.plans.items())])
    PerformanceTarget.objects.bulk_create([
        PerformanceTarget(project=project, level1=t.level1, level2=t.level2, level3=t.level3,
                          comparator=t.comparator, target_value=t.target_value, unit=t.unit)
        for t in clean.targets])


def _constraint_of(exc: IntegrityError) -> str:
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") or ""


def _integrity(exc: IntegrityError, *, code: str = "") -> DomainError:
    name = _constraint_of(exc)
    if name == "projects_project_code_key":
        return Conflict("projects.code_taken", f"项目代码 {code} 已存在", field="code")
    if name in ("proj_plan_sum_total", "proj_plan_within_years"):
        return ValidationFailed("projects.plan_sum_mismatch", "分年支出计划与项目总额或项目期限不一致", field="plans")
    return Conflict("projects.integrity", f"数据不满足约束（{name or exc}）")


def _check_plans_now() -> None:
    """Run the deferred plan-total check at once, so a violation is a clear error here."""
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS projects_plan_total_on_plan, projects_plan_total_on_project IMMEDIATE")
        cur.execute("SET CONSTRAINTS projects_plan_total_on_plan, projects_plan_total_on_project DEFERRED")


# --- create and edit ----------------------------------------------------------------------------

def create_project(*, user, data: ProjectInput) -> Project:
    """Declare a project (草稿). With no `data.code` the next code is issued for the agency."""
    permissions.require(user, fn.MANAGE)
    agency = _agency_in_scope(user, fn.MANAGE, data.agency_id)
    clean = _validate(data, agency=agency)
    given = (data.code or "").strip()
    if given:
        codes.validate(given, agency=agency, start_year=clean.values["start_year"])
    try:
        with transaction.atomic():
            if given:
                codes.note_used(given)
                code = given
            else:
                code = codes.next_code(agency=agency, start_year=clean.values["start_year"])
            project = Project.objects.create(code=code, status=S.DRAFT, created_by=user, **clean.values)
            _write_children(project, clean)
            _check_plans_now()
            audit.record(user, "projects.project.create", project, after=snapshot(project))
    except IntegrityError as exc:
        raise _integrity(exc, code=given) from None
    return project


def update_project(*, user, project_id: int, data: ProjectInput) -> Project:
    """Edit a draft or returned project. Its code, agency and start year stay as they are."""
    with transaction.atomic():
        project = _project_in_scope(user, fn.MANAGE, project_id, lock=True)
        if not project.editable:
            raise Conflict("projects.not_editable",
                           f"项目 {project.code} 当前状态为“{project.get_status_display()}”，不能修改",
                           field="status", status=project.status)
        if int(data.agency_id) != project.agency_id:
            raise ValidationFailed("projects.agency_fixed", "项目单位不能修改", field="agency")
        if int(data.start_year) != project.start_year:
            raise ValidationFailed("projects.start_year_fixed",
                                   "起始年度是项目代码的一部分，不能修改（如需更改请重新申报）", field="start_year")
        clean = _validate(data, agency=project.agency)
        before = snapshot(project)
        for k, v in clean.values.items():
            setattr(project, k, v)
        project.save()
        _write_children(project, clean)
        try:
            _check_plans_now()
        except IntegrityError as exc:
            raise _integrity(exc) from None
        audit.record(user, "projects.project.update", project, before=before, after=snapshot(project))
    return project


def delete_project(*, user, project_id: int) -> None:
    """Delete a draft project that was never submitted."""
    with transaction.atomic():
        project = _project_in_scope(user, fn.MANAGE, project_id, lock=True)
        if project.status != S.DRAFT or project.submitted_at is not None:
            raise Conflict("projects.not_deletable", f"项目 {project.code} 已送审过，不能删除，可申请终止",
                           field="status")
        before = snapshot(project)
        audit.record(user, "projects.project.delete", None, before=before, object_type="projects.project",
                     object_id=project.pk, object_repr=str(project))
        project.delete()


# --- review -------------------------------------------------------------------------------------

@retry_on_conflict
def submit_project(*, user, project_id: int, comment: str = "") -> Project:
    with transaction.atomic():
        project = _project_in_scope(user, fn.SUBMIT, project_id, lock=True)
        if not project.editable:
            raise Conflict("projects.not_submittable",
                           f"项目 {project.code} 当前状态为“{project.get_status_display()}”，不能送审", field="status")
        workflow.submit(document=project, user=user, comment=comment, doc_type=DOC_PROJECT)
    project.refresh_from_db()
    return project


def review_project(*, user, project_id: int, action: str, text: str = "", step: int | None = None) -> Project:
    """Approve / return / reject / withdraw the project's current review step."""
    project = _project_in_scope(user, fn.VIEW, project_id)
    workflow.perform(action, document=project, user=user, text=text, step=step, doc_type=DOC_PROJECT)
    project.refresh_from_db()
    return project


def lock_for_review(document) -> None:
    """Workflow ``prepare`` hook: lock the project row before the transition."""
    list(Project.objects.select_for_update(of=("self",)).filter(pk=document.pk).values_list("pk", flat=True))


def _last_action(instance):
    return instance.actions.order_by("-version").first()


def _acted_step_function(instance) -> str:
    """The function of the step the latest action was taken on."""
    last = _last_action(instance)
    if last is None or not 1 <= last.step_no <= len(instance.steps):
        return instance.step_function
    return instance.steps[last.step_no - 1]["function"]


def check_reviewer(user, agency, step_function: str, *, supervisor_steps: Iterable[str],
                   finance_steps: Iterable[str]) -> None:
    """A 主管部门 step is taken by the supervising department (an agency above the declaring one, or
    the declaring first-level agency itself); finance steps by finance-department staff."""
    if getattr(user, "is_superuser", False):
        return
    if step_function in supervisor_steps:
        own = getattr(user, "agency", None)
        ok = own is not None and (
            (agency.code.startswith(own.code) and own.code != agency.code)
            or (own.pk == agency.pk and agency.parent_id is None))
        if not ok:
            raise PermissionDenied("projects.not_supervisor",
                                   f"“主管部门审核”环节须由 {agency} 的主管部门办理", function=step_function)
    elif step_function in finance_steps and getattr(user, "org_type", "") != "finance":
        raise PermissionDenied("projects.not_finance", "该审核环节须由财政部门人员办理", function=step_function)


def _require_finance(user, what: str) -> None:
    """Library management belongs to the finance department, whatever functions a unit role holds."""
    if getattr(user, "is_superuser", False) or getattr(user, "org_type", "") == "finance":
        return
    raise PermissionDenied("projects.finance_only", f"{what}由财政部门办理")


def _set_status(project: Project, *, expect: Sequence[str], to: str, **extra) -> None:
    updated = Project.objects.filter(pk=project.pk, status__in=list(expect)).update(status=to, **extra)
    if updated == 0:
        current = Project.objects.filter(pk=project.pk).values_list("status", flat=True).first()
        label = S(current).label if current else "不存在"
        raise Conflict("projects.status_changed",
                       f"项目 {project.code} 当前状态为“{label}”，不能执行此操作，请刷新后重试", field="status",
                       status=current)


def on_project_review(event: str, *, document, instance, user) -> None:
    """Workflow callback: keep the project's status in step with its review; reserve on approval."""
    project = Project.objects.select_for_update(of=("self",)).select_related("agency").get(pk=document.pk)
    before = snapshot(project)
    now = timezone.now()
    if event in (workflow.EVENT_APPROVED, workflow.EVENT_COMPLETED, workflow.EVENT_RETURNED,
                 workflow.EVENT_REJECTED):
        check_reviewer(user, project.agency, _acted_step_function(instance),
                       supervisor_steps=SUPERVISOR_STEPS, finance_steps=FINANCE_STEPS)
    last = _last_action(instance)
    reason = last.comment if last is not None else ""
    if event == workflow.EVENT_SUBMITTED:
        _set_status(project, expect=[S.DRAFT, S.RETURNED], to=S.SUBMITTED, submitted_at=now, return_reason="")
    elif event == workflow.EVENT_RETURNED:
        _set_status(project, expect=[S.SUBMITTED], to=S.RETURNED, return_reason=reason[:500])
    elif event == workflow.EVENT_WITHDRAWN:
        _set_status(project, expect=[S.SUBMITTED], to=S.DRAFT)
    elif event == workflow.EVENT_REJECTED:
        _set_status(project, expect=[S.SUBMITTED], to=S.TERMINATED, terminated_at=now,
                    terminate_reason=f"审核不予通过：{reason}"[:500])
    elif event == workflow.EVENT_COMPLETED:
        _set_status(project, expect=[S.SUBMITTED], to=S.RESERVED, reserved_at=now)
        _enter_library(project, project.start_year)
        events.publish(EVENT_RESERVED, {"project_id": project.pk, "code": project.code,
                                        "region_id": project.region_id, "year": project.start_year})
    else:
        return
    project.refresh_from_db()
    audit.record(user, f"projects.project.{event.split('.')[-1]}", project, before=before, after=snapshot(project))


def _plan_amounts(project_id: int, year: int) -> tuple[Decimal, Decimal]:
    """(plan amount for `year`, plan amounts from `year` on)."""
    plan, remaining = ZERO, ZERO
    for y, amount in ProjectPlan.objects.filter(project_id=project_id, year__gte=year).values_list("year", "amount"):
        remaining += amount
        if y == year:
            plan = amount
    return plan, remaining


def _enter_library(project: Project, year: int) -> LibraryEntry:
    plan, remaining = _plan_amounts(project.pk, year)
    entry, _ = LibraryEntry.objects.get_or_create(
        project=project, library_year=year,
        defaults={"plan_amount": plan, "remaining_amount": remaining, "status": LS.RESERVED})
    return entry


# --- library: schedule, roll over, terminate ----------------------------------------------------

@dataclass(frozen=True)
class SourceRef:
    type: str
    id: str | int
    no: str = ""


def _source_parts(source) -> tuple[str, str]:
    if source is None:
        return "", ""
    if isinstance(source, dict):
        return str(source.get("type", ""))[:60], str(source.get("id", ""))[:64]
    return str(getattr(source, "type", ""))[:60], str(getattr(source, "id", ""))[:64]


def schedule(*, project_id: int, fiscal_year: int, amount, user, source=None) -> LibraryEntry:
    """Mark the project scheduled (已纳入预算) into budget year `fiscal_year` with `amount`.

    Idempotent: the same call again changes nothing; a new amount replaces the previous one. The
    amount may not exceed what remains of the project's plan from that year on."""
    amount = to_money(amount, field="amount")
    if amount <= 0:
        raise ValidationFailed("projects.schedule_amount_not_positive", "纳入预算金额必须大于 0", field="amount")
    year = _year(fiscal_year, "fiscal_year", "预算年度")
    with transaction.atomic():
        project = _project_in_scope(user, fn.SCHEDULE, project_id, lock=True)
        entry = (LibraryEntry.objects.select_for_update().filter(project=project, library_year=year).first())
        if entry is None:
            raise NotFound("projects.not_in_library",
                           f"项目 {project.code} 不在 {year} 年度项目库中（未审核入库或尚未滚动到该年度）",
                           field="fiscal_year")
        if project.status not in (S.RESERVED, S.SCHEDULED) or entry.status == LS.TERMINATED:
            raise Conflict("projects.not_schedulable",
                           f"项目 {project.code} 当前状态为“{project.get_status_display()}”，不能纳入预算",
                           field="status")
        src_type, src_id = _source_parts(source)
        if (entry.status == LS.SCHEDULED and entry.scheduled_amount == amount
                and entry.source_type == src_type and entry.source_id == src_id):
            return entry
        if amount > entry.remaining_amount:
            raise ValidationFailed("projects.schedule_over_remaining",
                                   f"纳入预算金额 {fmt(amount)} 超过项目 {project.code} 的剩余计划数 "
                                   f"{fmt(entry.remaining_amount)}", field="amount")
        before = audit.snapshot(entry)
        entry.status = LS.SCHEDULED
        entry.scheduled_amount = amount
        entry.scheduled_at = timezone.now()
        entry.source_type, entry.source_id = src_type, src_id
        entry.save(update_fields=["status", "scheduled_amount", "scheduled_at", "source_type", "source_id"])
        if project.status != S.SCHEDULED:
            _set_status(project, expect=[S.RESERVED, S.SCHEDULED], to=S.SCHEDULED)
        audit.record(user, "projects.library.schedule", entry, before=before,
                     object_repr=f"{project.code} {year}")
        events.publish(EVENT_SCHEDULED, {"project_id": project.pk, "code": project.code, "year": year,
                                         "amount": str(amount), "source_type": src_type, "source_id": src_id})
    return entry


ROLL_SQL = """
INSERT INTO projects_libraryentry (project_id, library_year, plan_amount, remaining_amount, status,
                                   source_type, source_id, rolled_from_id, created_at)
SELECT e.project_id, %(to_year)s,
       coalesce((SELECT pl.amount FROM projects_projectplan pl
                 WHERE pl.project_id = e.project_id AND pl.year = %(to_year)s), 0),
       coalesce((SELECT sum(pl.amount) FROM projects_projectplan pl
                 WHERE pl.project_id = e.project_id AND pl.year >= %(to_year)s), 0),
       'reserved', '', '', e.id, now()
  FROM projects_libraryentry e
  JOIN projects_project p ON p.id = e.project_id
 WHERE e.library_year = %(from_year)s AND p.region_id = %(region_id)s
   AND e.status IN ('reserved', 'scheduled') AND p.status IN ('reserved', 'scheduled')
   AND p.end_year > %(from_year)s
ON CONFLICT (project_id, library_year) DO NOTHING
RETURNING project_id
"""


def roll_over(*, region_id: int, from_year: int, user) -> int:
    """Roll the region's library from `from_year` to the next year: every unfinished multi-year
    project gets one entry in the next year's library with its plan for that year and the plan
    amounts that remain; projects that ended in `from_year` after being scheduled are completed.
    Idempotent: returns the number of entries created (0 when run again)."""
    from fmis.orgs.models import Region

    permissions.require(user, fn.LIBRARY_MANAGE)
    _require_finance(user, "项目库年度滚动")
    year = _year(from_year, "from_year", "滚动年度")
    region = Region.objects.restrict(user, fn.LIBRARY_MANAGE).filter(pk=region_id).first() \
        if str(region_id).isdigit() else None
    if region is None:
        raise NotFound("projects.region_not_found", "财政区划不存在或不在您的数据权限范围内", field="region")
    with transaction.atomic():
        # lock the region's projects in the library in id order, so roll-over and reviews do not interleave
        list(Project.objects.select_for_update(of=("self",))
             .filter(region=region, library_entries__library_year=year).order_by("pk").values_list("pk", flat=True))
        with connection.cursor() as cur:
            cur.execute(ROLL_SQL, {"to_year": year + 1, "from_year": year, "region_id": region.pk})
            rolled = sorted(r[0] for r in cur.fetchall())
        completed = list(Project.objects.filter(
            region=region, status=S.SCHEDULED, end_year__lte=year,
            library_entries__library_year=year, library_entries__status=LS.SCHEDULED).values_list("pk", flat=True))
        if completed:
            Project.objects.filter(pk__in=completed, status=S.SCHEDULED).update(status=S.COMPLETED)
        if rolled or completed:
            audit.record(user, "projects.library.roll_over", region, before=None,
                         after={"from_year": year, "to_year": year + 1, "rolled": rolled, "completed": completed},
                         object_repr=f"{region} {year}→{year + 1}")
    return len(rolled)


def terminate_project(*, user, project_id: int, reason: str) -> Project:
    """Terminate a reserved or scheduled project: it leaves every library year not yet scheduled."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("projects.reason_required", "终止项目必须填写原因", field="reason")
    if len(reason) > 500:
        raise ValidationFailed("projects.reason_too_long", "终止原因不能超过 500 个字符", field="reason")
    with transaction.atomic():
        project = _project_in_scope(user, fn.TERMINATE, project_id, lock=True)
        _require_finance(user, "项目终止")
        before = snapshot(project)
        _set_status(project, expect=[S.RESERVED, S.SCHEDULED], to=S.TERMINATED, terminated_at=timezone.now(),
                    terminate_reason=reason)
        LibraryEntry.objects.filter(project=project, status=LS.RESERVED).update(status=LS.TERMINATED)
        project.refresh_from_db()
        audit.record(user, "projects.project.terminate", project, before=before, after=snapshot(project))
        events.publish(EVENT_TERMINATED, {"project_id": project.pk, "code": project.code, "reason": reason})
    return project


def domain_error_lines(exc: DomainError, line: int) -> list[dict]:
    return [{"line": line, "field": exc.field or "", "message": f"第 {line} 行：{exc.message}"}]


# --- import -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


IMPORT_COLUMNS = {"项目代码": "code", "项目名称": "name", "单位编码": "agency", "项目类别": "category",
                  "功能分类": "func_code", "经济分类": "eco_code", "资金性质": "fund_type", "起始年度": "start_year",
                  "结束年度": "end_year", "项目总额": "total_amount", "分年计划": "plans", "绩效目标": "targets",
                  "项目标签": "tags", "项目概述": "summary"}
_FK_FIELDS = frozenset({"agency", "region", "category", "target_region"})
LEVEL1_BY_NAME = {str(label): value for value, label in PerformanceTarget.Level1.choices}


def parse_plans(text: str) -> dict[int, str]:
    """``2026:100000; 2027:120000`` → {2026: "100000", 2027: "120000"}."""
    plans: dict[int, str] = {}
    for part in str(text or "").replace("；", ";").replace("：", ":").split(";"):
        part = part.strip()
        if not part:
            continue
        year, sep, amount = part.partition(":")
        if not sep or not year.strip().isdigit():
            raise ValidationFailed("projects.bad_plans", f"分年计划“{part}”应写成“年度:金额”，多年用分号隔开", field="plans")
        if int(year) in plans:
            raise ValidationFailed("projects.bad_plans", f"分年计划的年度 {year} 重复", field="plans")
        plans[int(year)] = amount.strip().replace(",", "")
    return plans


def parse_targets(text: str) -> list[TargetInput]:
    """``产出指标/数量指标/培训教师人次/≥/500/人次; ...`` → targets."""
    out = []
    for part in str(text or "").replace("；", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        bits = [b.strip() for b in part.split("/")]
        if len(bits) not in (5, 6):
            raise ValidationFailed("projects.bad_targets",
                                   f"绩效目标“{part}”应写成“一级指标/二级指标/三级指标/比较方式/指标值/单位”", field="targets")
        level1 = LEVEL1_BY_NAME.get(bits[0], bits[0])
        out.append(TargetInput(level1, bits[1], bits[2], bits[4], bits[5] if len(bits) == 6 else "", bits[3]))
    return out


def import_projects(*, user, file) -> ImportResult:
    """Projects from xlsx, one row a project. All or nothing with line errors; idempotent: a row is
    matched by its code, or (without a code) by agency, start year and name; an unchanged row
    changes nothing, a changed one updates a draft or returned project and is refused otherwise."""
    from fmis.orgs.models import Agency
    from fmis.platform.xlsx import read_rows

    permissions.require(user, fn.IMPORT)
    permissions.require(user, fn.MANAGE)
    rows = list(read_rows(file, IMPORT_COLUMNS, required=["name", "agency", "category", "func_code",
                                                          "start_year", "end_year", "total_amount", "plans"]))
    errors: list[dict] = []
    agencies = {a.code: a for a in Agency.objects.restrict(user, fn.MANAGE).select_related("region")
                .filter(code__in={r.get("agency") for _, r in rows})}
    parsed = []
    seen: dict[tuple, int] = {}
    for line, r in rows:
        agency = agencies.get(r.get("agency"))
        if agency is None:
            errors.append({"line": line, "field": "agency",
                           "message": f"第 {line} 行：单位编码 {r.get('agency') or '（空）'} 不存在或不在您的数据权限范围内"})
            continue
        try:
            data = ProjectInput(
                name=r.get("name", ""), agency_id=agency.pk, category=r.get("category", ""),
                func_code=r.get("func_code", ""), start_year=r.get("start_year", ""), end_year=r.get("end_year", ""),
                total_amount=str(r.get("total_amount", "")).replace(",", ""), plans=parse_plans(r.get("plans", "")),
                targets=parse_targets(r.get("targets", "")), code=r.get("code", ""), eco_code=r.get("eco_code", ""),
                fund_type=r.get("fund_type", ""), summary=r.get("summary", ""),
                tags=[t for t in str(r.get("tags", "")).replace("，", ",").split(",") if t.strip()])
            clean = _validate(data, agency=agency)
            if data.code:
                codes.validate(data.code, agency=agency, start_year=clean.values["start_year"])
        except DomainError as exc:
            errors.extend(domain_error_lines(exc, line))
            continue
        key = ("code", data.code) if data.code else ("name", agency.pk, clean.values["start_year"], clean.values["name"])
        if key in seen:
            errors.append({"line": line, "field": "code" if data.code else "name",
                           "message": f"第 {line} 行：与第 {seen[key]} 行是同一项目"})
            continue
        seen[key] = line
        parsed.append((line, data, clean))
    if errors:
        raise ValidationFailed("projects.import_failed", f"项目导入未通过校验（{len(errors)} 处错误），未导入任何数据",
                               errors=errors)
    created = updated = unchanged = 0
    with transaction.atomic():
        for line, data, clean in parsed:
            qs = Project.objects.select_for_update(of=("self",))
            existing = (qs.filter(code=data.code).first() if data.code else
                        qs.filter(agency=clean.values["agency"], start_year=clean.values["start_year"],
                                  name=clean.values["name"]).first())
            if existing is None:
                code = data.code or codes.next_code(agency=clean.values["agency"],
                                                    start_year=clean.values["start_year"])
                if data.code:
                    codes.note_used(data.code)
                project = Project.objects.create(code=code, status=S.DRAFT, created_by=user, **clean.values)
                _write_children(project, clean)
                audit.record(user, "projects.project.import", project, after=snapshot(project))
                created += 1
                continue
            if existing.agency_id != clean.values["agency"].pk:
                errors.append({"line": line, "field": "code", "message": f"第 {line} 行：项目代码 {data.code} 已属于其他单位"})
                continue
            before = snapshot(existing)
            probe = {k: (v.pk if k in _FK_FIELDS and v is not None else v) for k, v in clean.values.items()}
            current = {k: getattr(existing, f"{k}_id" if k in _FK_FIELDS else k) for k in clean.values}
            plans_now = {int(y): Decimal(a) for y, a in before["plans"].items()}
            targets_now = [(t.level1, t.level2, t.level3, t.comparator, t.target_value, t.unit)
                           for t in existing.performance_targets.order_by("pk")]
            targets_new = [(t.level1, t.level2, t.level3, t.comparator, t.target_value, t.unit) for t in clean.targets]
            if probe == current and plans_now == clean.plans and targets_now == targets_new:
                unchanged += 1
                continue
            if not existing.editable:
                errors.append({"line": line, "field": "status",
                               "message": f"第 {line} 行：项目 {existing.code} 当前状态为“{existing.get_status_display()}”，不能修改"})
                continue
            for k, v in clean.values.items():
                setattr(existing, k, v)
            existing.save()
            _write_children(existing, clean)
            audit.record(user, "projects.project.import", existing, before=before, after=snapshot(existing))
            updated += 1
        if errors:
            transaction.set_rollback(True)
        else:
            try:
                _check_plans_now()
            except IntegrityError as exc:
                raise _integrity(exc) from None
    if errors:
        raise ValidationFailed("projects.import_failed", f"项目导入未通过校验（{len(errors)} 处错误），未导入任何数据",
                               errors=errors)
    return ImportResult(created, updated, unchanged)
