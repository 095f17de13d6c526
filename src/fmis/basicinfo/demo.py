"""Demo basic information for the demo province (``fmis seed`` calls ``seed_demo``).

Expenditure standards of the province for the current fiscal year (staff, public and vehicle
quotas), and personnel with salary items, vehicles and assets for the province's first three
departments and the demo subordinate unit (which also gets last year). Written through the
services as the demo users, so change history and review are real: the unit's last year is
approved (主管部门 → 预算处), this year is approved by its supervising department and waits in the
budget division's inbox; the departments' years are drafts. Idempotent: an agency-year that
already has personnel is left alone, and so is a submission already sent.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.utils import timezone

from fmis.orgs import demo as orgs_demo

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("建国", "秀英", "志强", "海燕", "立新", "丽娟", "文博", "晓东", "雪梅", "俊杰", "红霞", "国栋")
POSTS = (("处长", "四级调研员"), ("科长", "一级主任科员"), ("科员", "二级主任科员"), ("教师", "专业技术十级"),
         ("会计", "专业技术十一级"), ("工勤人员", "技术工二级"))
STANDARDS = (  # (name, kind, person category, agency type, vehicle type, eco, amount)
    ("在职人员基本工资（行政）", "staff", "active", "admin", None, "30101", "60000.00"),
    ("在职人员津贴补贴（行政）", "staff", "active", "admin", None, "30102", "36000.00"),
    ("在职人员基本工资（事业）", "staff", "active", "inst", None, "30101", "54000.00"),
    ("在职人员绩效工资（事业）", "staff", "active", "inst", None, "30107", "30000.00"),
    ("离退休人员退休费", "staff", "retired", None, None, "30302", "48000.00"),
    ("在职人员办公费", "public", "active", None, None, "30201", "3000.00"),
    ("在职人员差旅费", "public", "active", None, None, "30211", "2500.00"),
    ("在职人员工会经费", "public", "active", None, None, "30228", "1200.00"),
    ("离退休人员公用经费", "public", "retired", None, None, "30299", "1500.00"),
    ("一般公务用车运行维护费", "vehicle", None, None, "general", "30231", "25000.00"),
    ("执法执勤用车运行维护费", "vehicle", None, None, "enforcement", "30231", "32000.00"),
)


def _id_number(region_code: str, n: int) -> str:
    from fmis.basicinfo.identity import check_digit

    birth = f"{1965 + n % 35:04d}{1 + n % 12:02d}{1 + n % 28:02d}"
    first17 = f"{region_code[:6]}{birth}{n % 1000:03d}"
    return first17 + check_digit(first17)


def seed_demo(*, scale: str, write: Callable[[str], object] | None = None) -> dict[str, int]:
    from fmis.basicinfo import services
    from fmis.basicinfo.models import ExpenditureStandard, InfoSubmission, Personnel
    from fmis.iam.models import User
    from fmis.orgs.models import Agency, Region

    year = timezone.localdate().year
    province = Region.objects.filter(code=orgs_demo.DEMO_PROVINCE_CODE).first()
    budget = User.objects.filter(username="prov_budget").first()
    if province is None or budget is None:
        return {"standards": 0, "personnel": 0}
    dept_code = f"{province.code}101"
    unit_code = f"{dept_code}001"
    supervisor = User.objects.filter(username=f"unit_{dept_code}_acct").first()
    unit_user = User.objects.filter(username=f"unit_{unit_code}_acct").first()
    out = {"standards": 0, "personnel": 0, "vehicles": 0, "assets": 0}

    existing = set(ExpenditureStandard.objects.filter(region=province, fiscal_year=year)
                   .values_list("kind", "eco_code", "person_category", "agency_type", "vehicle_type"))
    for name, kind, cat, atype, vtype, eco, amount in STANDARDS:
        if (kind, eco, cat, atype, vtype) in existing:
            continue
        services.create_standard(user=budget, data=services.StandardInput(
            region_id=province.pk, fiscal_year=year, name=name, kind=kind, eco_code=eco, amount=amount,
            person_category=cat, agency_type=atype, vehicle_type=vtype))
        out["standards"] += 1

    codes = [dept_code, unit_code, f"{province.code}102", f"{province.code}103"]
    agencies = {a.code: a for a in Agency.objects.filter(code__in=codes)}
    unit = agencies.get(unit_code)
    plan = [(code, year) for code in codes if code in agencies]
    if unit is not None:
        plan.insert(0, (unit_code, year - 1))
    for code, fy in plan:
        agency = agencies[code]
        actor = unit_user if code == unit_code and unit_user else supervisor if code == dept_code and supervisor \
            else budget
        if Personnel.objects.filter(agency=agency, fiscal_year=fy).exists():
            continue
        for key, count in _seed_agency_year(services, agency, fy, actor, province.code).items():
            out[key] += count

    # review: last year's submission of the subordinate unit approved (主管部门 → 预算处); this year's
    # approved by the supervising department and waiting in the budget division's inbox
    if unit is not None and unit_user and supervisor:
        for fy, final in ((year - 1, True), (year, False)):
            if InfoSubmission.objects.filter(agency=unit, fiscal_year=fy).exclude(status="draft").exists():
                continue
            sub = services.submit_year(user=unit_user, agency_id=unit.pk, fiscal_year=fy, comment=f"{fy} 年基础信息")
            services.review_year(user=supervisor, submission_id=sub.pk, action="approve", text="主管部门审核通过")
            if final:
                services.review_year(user=budget, submission_id=sub.pk, action="approve", text="同意")
    return out


def _seed_agency_year(services, agency, year: int, actor, region_code: str) -> dict[str, int]:
    out = {"personnel": 0, "vehicles": 0, "assets": 0}
    code = agency.code
    size = 12 if agency.parent_id is None else 8
    for i in range(size):
        n = int(code[-3:]) * 50 + i + 1
        retired = i % 6 == 5
        post, grade = POSTS[i % len(POSTS)]
        base = Decimal(4200 + (i % 5) * 350)
        salary = {"30101": base, "30102": Decimal(1800 + (i % 3) * 200)} if not retired else {"30302": base}
        if agency.kind == "inst" and not retired:
            salary["30107"] = Decimal(1500)
        services.create_person(user=actor, data=services.PersonInput(
            agency_id=agency.pk, fiscal_year=year, name=SURNAMES[(n * 7) % len(SURNAMES)] + GIVEN[n % len(GIVEN)],
            id_number=_id_number(region_code, n), category="retired" if retired else "active",
            post="" if retired else post, grade="" if retired else grade, salary=salary))
        out["personnel"] += 1
    for j in range(2 if agency.parent_id is None else 1):
        services.create_vehicle(user=actor, data=services.VehicleInput(
            agency_id=agency.pk, fiscal_year=year, plate_no=f"示A{code[-4:]}{j}",
            vehicle_type="general" if j == 0 else "enforcement", brand="红旗H5" if j == 0 else "比亚迪汉",
            displacement="1.8T" if j == 0 else "电动", purchase_date=f"{year - 3 - j}-06-01",
            original_value=Decimal("168000.00") + j * 20000))
        out["vehicles"] += 1
    for k, (aname, cat, value) in enumerate((("办公楼", "building", "12800000.00"), ("服务器", "general", "260000.00"),
                                             ("办公桌椅", "furniture", "86000.00"))):
        services.create_asset(user=actor, data=services.AssetInput(
            agency_id=agency.pk, fiscal_year=year, code=f"ZC{code[-6:]}{k + 1:03d}", name=aname, category=cat,
            quantity=1 if cat != "furniture" else 40, unit="栋" if cat == "building" else "台" if k == 1 else "套",
            original_value=value, net_value=(Decimal(value) * Decimal("0.7")).quantize(Decimal("0.01")),
            acquired_on=f"{year - 6 + k}-03-15"))
        out["assets"] += 1
    return out
