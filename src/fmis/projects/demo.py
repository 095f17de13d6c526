"""Demo project library for the demo province (``fmis seed`` calls ``seed_demo``).

Projects of the demo subordinate unit and its supervising department in several states: reserved
(a three-year project that went through 主管部门 → 业务处室 → 绩效处 → 评审中心), under review at
the business division (in the budget division's inbox), returned with a reason, a draft, a
terminated one, and a transfer-payment project declared for a city. Written through the services
as the demo users. Idempotent: an agency that already has projects is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.utils import timezone

from fmis.orgs import demo as orgs_demo

TARGETS = {
    "31": [("output", "数量指标", "培训教师人次", "≥", "1200", "人次"), ("output", "质量指标", "培训合格率", "≥", "95", "%"),
           ("benefit", "社会效益指标", "教学质量提升", "定性", "明显提升", ""),
           ("satisfaction", "服务对象满意度指标", "教师满意度", "≥", "90", "%")],
    "32": [("output", "数量指标", "资助学生人数", "≥", "3000", "人"), ("output", "时效指标", "资金拨付及时率", "=", "100", "%"),
           ("satisfaction", "服务对象满意度指标", "受助学生满意度", "≥", "92", "%")],
}


def seed_demo(*, scale: str, write: Callable[[str], object] | None = None) -> dict[str, int]:
    from fmis.iam.models import User
    from fmis.orgs.models import Agency, Region
    from fmis.projects import services
    from fmis.projects.categories import ensure_categories
    from fmis.projects.models import Project

    ensure_categories()
    year = timezone.localdate().year
    province = Region.objects.filter(code=orgs_demo.DEMO_PROVINCE_CODE).first()
    budget = User.objects.filter(username="prov_budget").first()
    if province is None or budget is None:
        return {"projects": 0}
    dept_code = f"{province.code}101"
    unit_code = f"{dept_code}001"
    dept = Agency.objects.filter(code=dept_code).first()
    unit = Agency.objects.filter(code=unit_code).first()
    supervisor = User.objects.filter(username=f"unit_{dept_code}_acct").first()
    unit_user = User.objects.filter(username=f"unit_{unit_code}_acct").first()
    if None in (dept, unit, supervisor, unit_user) or Project.objects.filter(agency__in=[dept, unit]).exists():
        return {"projects": 0}

    def data(agency, name, category, total, plans, *, targets=None, **kw):
        targets = targets if targets is not None else TARGETS.get(category, [])
        return services.ProjectInput(
            name=name, agency_id=agency.pk, category=category, func_code=kw.pop("func_code", "2050203"),
            start_year=min(plans), end_year=max(plans), total_amount=Decimal(total),
            plans={y: Decimal(a) for y, a in plans.items()},
            targets=[services.TargetInput(l1, l2, l3, v, u, c) for l1, l2, l3, c, v, u in targets],
            eco_code=kw.pop("eco_code", "30227"), fund_type="11", **kw)

    def approve(project, steps=4):
        services.review_project(user=supervisor, project_id=project.pk, action="approve", text="主管部门审核同意")
        for label in ("业务处室审核同意", "绩效目标合理", "评审通过")[:steps - 1]:
            services.review_project(user=budget, project_id=project.pk, action="approve", text=label)

    made = []
    p1 = services.create_project(user=unit_user, data=data(
        unit, "教师能力提升培训（三年行动）", "31", "1800000.00",
        {year: "600000.00", year + 1: "700000.00", year + 2: "500000.00"}, func_code="2050801", tags=["教育", "培训"],
        summary="分三年完成全市中小学教师轮训。", basis="《教师队伍建设规划》"))
    services.submit_project(user=unit_user, project_id=p1.pk, comment="请审核")
    approve(p1)
    made.append(p1)

    p2 = services.create_project(user=unit_user, data=data(
        unit, "校园安全监控系统运维", "223", "240000.00", {year: "240000.00"}, targets=[], eco_code="30213",
        tags=["信息化"]))
    services.submit_project(user=unit_user, project_id=p2.pk)
    approve(p2, steps=2)  # waits at 绩效处 in the budget division's inbox
    made.append(p2)

    p3 = services.create_project(user=unit_user, data=data(
        unit, "实验室设备更新", "31", "560000.00", {year: "300000.00", year + 1: "260000.00"}, eco_code="31003"))
    services.submit_project(user=unit_user, project_id=p3.pk)
    services.review_project(user=supervisor, project_id=p3.pk, action="return",
                            text="设备清单与测算表不一致，请补充询价依据")
    made.append(p3)

    made.append(services.create_project(user=unit_user, data=data(
        unit, "图书馆数字化改造", "31", "150000.00", {year + 1: "150000.00"}, summary="草稿，待补充实施方案")))

    p5 = services.create_project(user=unit_user, data=data(
        unit, "家庭经济困难学生资助", "32", "3000000.00", {year: "1500000.00", year + 1: "1500000.00"},
        func_code="2059999", eco_code="30308", tags=["民生", "资助"]))
    services.submit_project(user=unit_user, project_id=p5.pk)
    approve(p5)
    services.terminate_project(user=budget, project_id=p5.pk, reason="政策调整，并入省级统一资助项目")
    made.append(p5)

    city = Region.objects.filter(parent=province).order_by("code").first()
    if city is not None:
        p6 = services.create_project(user=supervisor, data=data(
            dept, f"对{city.name}义务教育薄弱环节改善补助", "32", "5000000.00", {year: "5000000.00"},
            func_code="2050202", eco_code="39999", is_transfer=True, target_region_id=city.pk,
            tags=["转移支付"]))
        made.append(p6)
    return {"projects": len(made)}
