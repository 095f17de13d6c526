"""The deterministic demo province 示例省, its organisations, demo roles and demo users.

``seed(scale=...)`` loads it (``fmis seed --scale small|medium|large [--if-empty]``);
``demo_logins()`` lists the demo logins (``fmis demo_logins``). Everything is computed from
the scale alone by ``plan(scale)``, so two seeds of the same scale give the same data, and seeding
again adds only what is missing (a larger scale extends a smaller one).

Codes:
* the province is 990000. No real province code starts with 99, so it cannot be mistaken for
  real data, yet it has the shape of a real 6-digit region code. City i is ``99{i:02}00``,
  county j of city i is ``99{i:02}{j:02}``;
* a first-level agency (主管部门) is its region code + 3 digits (101, 102, ...), a subordinate its
  supervising department's code + 3 digits (001, 002, ...): 990101101, 990101101001;
* agent banks get fictional 3-digit codes (901, 902, 903); a branch is bank code + region code +
  001 (12 digits, the length of a real interbank number).

Roles (``ROLE_DEFINITIONS``) grant functions by ``fnmatch`` patterns over every function code
present after ``sync_functions()``, so roles cover modules added later when the seed runs again.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction

DEMO_PROVINCE_CODE = "990000"
DEMO_PROVINCE_NAME = "示例省"
DEMO_PASSWORD = "Fmis@2026"  # ≥ 8 characters, upper + lower + digit + symbol
SUPERUSER = "admin"

_SEED_LOCK_KEY = 7_302_001  # advisory lock id: one seed at a time


# ---------------------------------------------------------------------------------------------
# Roles


@dataclass(frozen=True)
class RuleDefinition:
    dimension: str
    kind: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoleDefinition:
    code: str
    name: str
    functions: tuple[str, ...]  # fnmatch patterns over function codes
    rules: tuple[RuleDefinition, ...]  # the role's data scope
    note: str = ""

    def function_codes(self, all_codes: Iterable[str]) -> set[str]:
        """The function codes among `all_codes` that this role's patterns match."""
        return {c for c in all_codes if any(fnmatch.fnmatchcase(c, p) for p in self.functions)}


# every demo user may see their own permissions and change their password
SELF_SERVICE = ("iam.explain", "iam.password.change")

REGION_TREE = RuleDefinition("region", "own_region_tree")
AGENCY_TREE = RuleDefinition("agency", "own_agency_tree")
OWN_BANK = RuleDefinition("bank", "own_bank")

# what every finance division may read: the business modules, not user administration
BUSINESS_VIEWS = ("workflow.inbox", "attachments.view", "orgs.*.view", "dictionary.*.view", "basicinfo.*view",
                  "projects.*view", "budgeting.*view", "indicators.*view", "treasury.*view", "accounting.*view",
                  "reports.*view", "bankaccounts.*view", "transfers.*view", "bankside.*view")
BUSINESS_EXPORTS = ("orgs.export", "dictionary.value.export", "indicators.export", "treasury.*export",
                    "accounting.*export", "reports.*export", "basicinfo.*export", "projects.*export",
                    "budgeting.*export", "bankaccounts.*export", "transfers.*export", "bankside.*export")

ROLE_DEFINITIONS: tuple[RoleDefinition, ...] = (
    RoleDefinition(
        "sys_admin", "系统管理员",
        ("system", "iam", "iam.*", "platform.*", "workflow.*", "attachments.*", "dictionary", "dictionary.*",
         "orgs", "orgs.*", *BUSINESS_VIEWS, *SELF_SERVICE),
        (REGION_TREE,), "用户、角色、组织机构与数据字典的维护，限本区划及下级"),
    RoleDefinition(
        "budget_division", "预算处",
        (*BUSINESS_VIEWS, *BUSINESS_EXPORTS, "attachments.upload", "basicinfo.*", "projects.*", "budgeting.*",
         "indicators.*", *SELF_SERVICE),
        (REGION_TREE,), "预算编制、批复与指标管理"),
    RoleDefinition(
        "business_division", "业务处室",
        (*BUSINESS_VIEWS, *BUSINESS_EXPORTS, "attachments.upload", "projects.review.division",
         "basicinfo.review.division", *SELF_SERVICE),
        (REGION_TREE,), "部门预算单位基础信息与项目的业务审核"),
    RoleDefinition(
        "performance_division", "绩效处",
        (*BUSINESS_VIEWS, *BUSINESS_EXPORTS, "projects.review.performance", *SELF_SERVICE),
        (REGION_TREE,), "项目绩效目标审核"),
    RoleDefinition(
        "review_center", "评审中心",
        (*BUSINESS_VIEWS, *BUSINESS_EXPORTS, "projects.review.center", *SELF_SERVICE),
        (REGION_TREE,), "项目评审"),
    RoleDefinition(
        "treasury_division", "国库处",
        (*BUSINESS_VIEWS, *BUSINESS_EXPORTS, "attachments.upload", "treasury.*", "bankaccounts.*",
         "transfers.*", "bankside.finance.*", *SELF_SERVICE),
        (REGION_TREE,), "国库集中支付、清算与银行账户监管"),
    RoleDefinition(
        "accounting", "会计核算",
        (*BUSINESS_VIEWS, *BUSINESS_EXPORTS, "accounting.*", "reports.*", *SELF_SERVICE),
        (REGION_TREE,), "总预算会计核算与报表"),
    RoleDefinition(
        "unit_accountant", "单位会计",
        ("workflow.inbox", "attachments.view", "attachments.upload", "attachments.delete", "orgs.agency.view",
         "indicators.view", "indicators.execution.view", "indicators.confirm",
         "treasury.application.*", "treasury.plan.*", "treasury.*.view", "treasury.*export",
         "projects.*view", "projects.manage", "projects.import", "projects.submit", "projects.review.supervisor",
         "budgeting.unit.*", "basicinfo.*view", "basicinfo.manage", "basicinfo.import", "basicinfo.submit",
         "basicinfo.review.supervisor", "bankaccounts.unit.*",
         "accounting.voucher.*", "accounting.opening.*", "accounting.*view", "reports.*", "receivables.*", "assets.*", *SELF_SERVICE),
        (AGENCY_TREE,), "本单位及下级单位的申报、用款与会计核算"),
    RoleDefinition(
        "unit_cashier", "单位出纳",
        ("workflow.inbox", "attachments.view", "orgs.agency.view", "cashier.*", "treasury.application.view",
         "bankaccounts.*view", *SELF_SERVICE),
        (AGENCY_TREE,), "本单位及下级单位的出纳业务"),
    RoleDefinition(
        "bank_operator", "银行经办",
        ("orgs.bank.view", "bankside.bank.*", "bankside.*view", "bankside.*export", "bankaccounts.bank.*", "treasury.bank.*", "treasury.voucher.view", "iam.token.manage",
         *SELF_SERVICE),
        (OWN_BANK,), "本银行的代理业务"),
    RoleDefinition(
        "account_query", "账户监管查询",
        ("workflow.inbox", "attachments.view", "bankaccounts.*view", "bankaccounts.*export", *SELF_SERVICE),
        (REGION_TREE,), "预算单位银行账户及交易流水的查询（本级及下级，全部或部分单位）"),
    RoleDefinition(
        "leader_auditor", "领导/审计",
        (*BUSINESS_VIEWS, *BUSINESS_EXPORTS, "platform.audit.view", *SELF_SERVICE),
        (REGION_TREE,), "只读：本区划及下级的全部数据与审计日志"),
)

ROLES_BY_CODE = {r.code: r for r in ROLE_DEFINITIONS}


# ---------------------------------------------------------------------------------------------
# Scales and the plan


@dataclass(frozen=True)
class Scale:
    cities: int
    counties: int  # per city
    departments: int  # first-level agencies per region
    subordinates: int  # per first-level agency


SCALES: dict[str, Scale] = {
    "small": Scale(cities=2, counties=2, departments=3, subordinates=1),  # 7 regions, 42 agencies
    "medium": Scale(cities=5, counties=4, departments=25, subordinates=14),  # 26 regions, 9,750 agencies
    "large": Scale(cities=16, counties=8, departments=30, subordinates=22),  # 145 regions, 100,050 agencies
}

# (province-level name, city/county-level name, family of subordinate units)
DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("教育厅", "教育局", "school"),
    ("卫生健康委员会", "卫生健康委员会", "health"),
    ("财政厅", "财政局", "generic"),
    ("人民政府办公厅", "人民政府办公室", "generic"),
    ("发展和改革委员会", "发展和改革委员会", "generic"),
    ("科学技术厅", "科学技术局", "generic"),
    ("公安厅", "公安局", "police"),
    ("民政厅", "民政局", "generic"),
    ("司法厅", "司法局", "generic"),
    ("人力资源和社会保障厅", "人力资源和社会保障局", "generic"),
    ("自然资源厅", "自然资源局", "generic"),
    ("生态环境厅", "生态环境局", "generic"),
    ("住房和城乡建设厅", "住房和城乡建设局", "generic"),
    ("交通运输厅", "交通运输局", "generic"),
    ("水利厅", "水利局", "generic"),
    ("农业农村厅", "农业农村局", "generic"),
    ("商务厅", "商务局", "generic"),
    ("文化和旅游厅", "文化和旅游局", "generic"),
    ("退役军人事务厅", "退役军人事务局", "generic"),
    ("应急管理厅", "应急管理局", "generic"),
    ("审计厅", "审计局", "generic"),
    ("市场监督管理局", "市场监督管理局", "generic"),
    ("统计局", "统计局", "generic"),
    ("医疗保障局", "医疗保障局", "generic"),
    ("林业局", "林业局", "generic"),
    ("体育局", "体育局", "generic"),
    ("机关事务管理局", "机关事务管理局", "generic"),
    ("信访局", "信访局", "generic"),
    ("气象局", "气象局", "generic"),
    ("地方金融管理局", "地方金融管理局", "generic"),
)

# numbered unit names per family: "{n}" is a Chinese numeral
_SUBORDINATES: dict[str, tuple[str, ...]] = {
    "school": ("第{n}中学", "第{n}小学", "第{n}幼儿园", "第{n}职业中等专业学校"),
    "health": ("第{n}人民医院", "第{n}社区卫生服务中心", "第{n}卫生院", "疾病预防控制中心第{n}分中心"),
    "police": ("第{n}派出所", "交通警察大队第{n}中队", "第{n}看守所"),
    "generic": ("机关服务中心", "信息中心", "事务中心", "综合行政执法队", "培训中心", "研究所", "监测站",
                "档案室"),
}

BANKS: tuple[tuple[str, str, str], ...] = (  # (fictional code, name, slug for usernames)
    ("901", "中国工商银行", "icbc"),
    ("902", "中国农业银行", "abc"),
    ("903", "中国建设银行", "ccb"),
)

DEMO_COUNTIES_PER_CITY = 2  # counties (of the first two cities) that get their own demo users
DEMO_CITIES_WITH_COUNTY_USERS = 2


def chinese_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 0 or n >= 100:
        return str(n)
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


@dataclass(frozen=True)
class RegionSpec:
    code: str
    name: str
    level: int
    parent_code: str | None


@dataclass(frozen=True)
class AgencySpec:
    code: str
    name: str
    region_code: str
    parent_code: str | None
    kind: str


@dataclass(frozen=True)
class BankSpec:
    code: str
    name: str
    slug: str


@dataclass(frozen=True)
class BranchSpec:
    code: str
    name: str
    bank_code: str
    region_code: str


@dataclass(frozen=True)
class UserSpec:
    username: str
    name: str
    role_code: str
    org_type: str  # finance / agency / bank
    user_type: str  # admin / normal
    region_code: str
    agency_code: str | None = None
    bank_code: str | None = None
    department: str = ""


@dataclass
class Plan:
    scale: str
    regions: list[RegionSpec] = field(default_factory=list)
    agencies: list[AgencySpec] = field(default_factory=list)
    banks: list[BankSpec] = field(default_factory=list)
    branches: list[BranchSpec] = field(default_factory=list)
    users: list[UserSpec] = field(default_factory=list)


def finance_department_name(region: RegionSpec) -> str:
    return f"{region.name}财政厅" if region.level == 1 else f"{region.name}财政局"


def _subordinate_name(dept_full: str, region_name: str, family: str, k: int) -> str:
    patterns = _SUBORDINATES[family]
    pattern = patterns[k % len(patterns)]
    n = k // len(patterns) + 1
    if family == "generic":
        return f"{dept_full}{pattern}" + ("" if n == 1 else f"第{chinese_number(n)}分部")
    return region_name + pattern.format(n=chinese_number(n))


def _agency_kind(family: str, k: int) -> str:
    if family == "generic" and k % 5 == 4:
        return "other"
    return "inst"


def plan(scale: str) -> Plan:
    """Everything the demo seed creates at `scale`, in insertion order. Pure and deterministic."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    s = SCALES[scale]
    p = Plan(scale=scale)
    province = RegionSpec(DEMO_PROVINCE_CODE, DEMO_PROVINCE_NAME, 1, None)
    p.regions.append(province)
    cities = [RegionSpec(f"99{i:02d}00", f"{chinese_number(i)}市", 2, province.code) for i in range(1, s.cities + 1)]
    for i, city in enumerate(cities, start=1):  # depth first: each city followed by its counties
        p.regions.append(city)
        p.regions.extend(RegionSpec(f"99{i:02d}{j:02d}", f"{city.name}{chinese_number(j)}县", 3, city.code)
                         for j in range(1, s.counties + 1))

    for region in p.regions:
        for d in range(s.departments):
            prov_name, local_name, family = DEPARTMENTS[d % len(DEPARTMENTS)]
            dept_full = f"{region.name}{prov_name if region.level == 1 else local_name}"
            dept_code = f"{region.code}{101 + d:03d}"
            p.agencies.append(AgencySpec(dept_code, dept_full, region.code, None, "admin"))
            for k in range(s.subordinates):
                p.agencies.append(AgencySpec(f"{dept_code}{k + 1:03d}",
                                             _subordinate_name(dept_full, region.name, family, k),
                                             region.code, dept_code, _agency_kind(family, k)))

    p.banks = [BankSpec(code, name, slug) for code, name, slug in BANKS]
    for region in p.regions:
        for bank in p.banks:
            suffix = "支行" if region.level == 3 else "分行"
            p.branches.append(BranchSpec(f"{bank.code}{region.code}001", f"{bank.name}{region.name}{suffix}",
                                         bank.code, region.code))
    p.users = _plan_users(p, cities)
    return p


_DIVISION_USERS = (  # (username suffix, role, name suffix, department)
    ("budget", "budget_division", "预算处", "预算处"),
    ("treasury", "treasury_division", "国库处", "国库处"),
    ("accounting", "accounting", "会计核算中心", "会计核算中心"),
    ("leader", "leader_auditor", "领导", "领导"),
)


def _plan_users(p: Plan, cities: list[RegionSpec]) -> list[UserSpec]:
    users: list[UserSpec] = []
    province = p.regions[0]

    def divisions(prefix: str, region: RegionSpec) -> None:
        for suffix, role, name, dept in _DIVISION_USERS:
            users.append(UserSpec(f"{prefix}_{suffix}", f"{region.name}{name}", role, "finance", "normal",
                                  region.code, department=dept))

    def unit_users(region: RegionSpec) -> None:
        dept = f"{region.code}101"
        sub = f"{dept}001"
        names = {a.code: a.name for a in p.agencies if a.code in (dept, sub)}
        if dept in names:
            users.append(UserSpec(f"unit_{dept}_acct", f"{names[dept]}会计", "unit_accountant", "agency",
                                  "normal", region.code, agency_code=dept, department="财务科"))
            users.append(UserSpec(f"unit_{dept}_cashier", f"{names[dept]}出纳", "unit_cashier", "agency",
                                  "normal", region.code, agency_code=dept, department="财务科"))
        if sub in names:
            users.append(UserSpec(f"unit_{sub}_acct", f"{names[sub]}会计", "unit_accountant", "agency",
                                  "normal", region.code, agency_code=sub, department="财务室"))

    divisions("prov", province)
    for suffix, role, name in (("business", "business_division", "业务处室"),
                               ("performance", "performance_division", "绩效处"),
                               ("review", "review_center", "评审中心"),
                               ("acctquery", "account_query", "账户监管查询")):
        users.append(UserSpec(f"prov_{suffix}", f"{province.name}财政厅{name}", role, "finance", "normal",
                              province.code, department=name))
    unit_users(province)
    counties_by_city = {c.code: [r for r in p.regions if r.parent_code == c.code] for c in cities}
    county_no = 0
    for i, city in enumerate(cities, start=1):
        users.append(UserSpec(f"city{i}_admin", f"{city.name}系统管理员", "sys_admin", "finance", "admin",
                              city.code, department="信息中心"))
        divisions(f"city{i}", city)
        if i > DEMO_CITIES_WITH_COUNTY_USERS:
            continue
        for county in counties_by_city[city.code][:DEMO_COUNTIES_PER_CITY]:
            county_no += 1
            divisions(f"county{county_no}", county)
            unit_users(county)
    for bank in p.banks:
        users.append(UserSpec(f"{bank.slug}_operator", f"{bank.name}经办", "bank_operator", "bank", "normal",
                              province.code, bank_code=bank.code, department="国库代理业务部"))
    return users


# ---------------------------------------------------------------------------------------------
# Progress on the command line


class Progress:
    """A one-line progress bar written with `write` (e.g. to stderr)."""

    def __init__(self, write: Callable[[str], object] | None, label: str, total: int, width: int = 30):
        self.write, self.label, self.total, self.width, self.done = write, label, max(total, 0), width, 0
        self._draw()

    def advance(self, n: int) -> None:
        self.done = min(self.total, self.done + n)
        self._draw()

    def close(self) -> None:
        if self.write is not None:
            self.write("\n")

    def _draw(self) -> None:
        if self.write is None:
            return
        frac = self.done / self.total if self.total else 1.0
        filled = int(frac * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        self.write(f"\r{self.label:<10} [{bar}] {self.done:>7}/{self.total:<7} {int(frac * 100):3d}%")


# ---------------------------------------------------------------------------------------------
# Seeding


@dataclass
class SeedReport:
    scale: str
    skipped: bool = False
    created: dict[str, int] = field(default_factory=dict)
    dictionary_preloaded: bool = False


BATCH = 5000


def _bulk(model, objs: list, *, progress: Progress | None = None) -> None:
    for start in range(0, len(objs), BATCH):
        chunk = objs[start:start + BATCH]
        model.objects.bulk_create(chunk, batch_size=BATCH, ignore_conflicts=True)
        if progress is not None:
            progress.advance(len(chunk))


def demo_exists() -> bool:
    from fmis.orgs.models import Region

    return Region.objects.filter(code=DEMO_PROVINCE_CODE).exists()


def seed(*, scale: str = "small", if_empty: bool = False, write: Callable[[str], object] | None = None,
         with_dictionary: bool = True) -> SeedReport:
    """Load the demo province at `scale`. Idempotent: what exists is left as it is.

    Runs the dictionary's standard preload (``with_dictionary``) and ``sync_functions()`` first.
    With ``if_empty`` nothing happens when the demo province already exists. `write` receives
    progress output (the command passes stderr).
    """
    from fmis.iam.functions import sync_functions
    from fmis.orgs.models import Agency, Bank, BankBranch, FinanceDepartment, Region
    from fmis.platform import audit

    p = plan(scale)
    report = SeedReport(scale=scale)
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_SEED_LOCK_KEY])
        if if_empty and demo_exists():
            report.skipped = True
            return report
        if with_dictionary:
            from fmis.dictionary.services import preload_standard

            preload_standard(user=None)
            report.dictionary_preloaded = True
        sync_functions()
        models = {"regions": Region, "finance_departments": FinanceDepartment, "agencies": Agency,
                  "banks": Bank, "branches": BankBranch}
        before = {k: m.objects.count() for k, m in models.items()}
        before_users, before_roles = _count_users_roles()

        region_ids = _seed_regions(p)
        _seed_agencies(p, region_ids, write)
        bank_ids = _seed_banks(p, region_ids, write)
        _seed_roles()
        _seed_users(p, region_ids, bank_ids)

        report.created = {k: m.objects.count() - before[k] for k, m in models.items()}
        after_users, after_roles = _count_users_roles()
        report.created["users"] = after_users - before_users
        report.created["roles"] = after_roles - before_roles
        audit.record(None, "orgs.demo_seed", object_type="orgs.demo", object_id=DEMO_PROVINCE_CODE,
                     object_repr=f"{DEMO_PROVINCE_NAME} ({scale})", after={"scale": scale, **report.created})
    return report


def _count_users_roles() -> tuple[int, int]:
    from fmis.iam.models import Role, User

    return User.objects.count(), Role.objects.count()


def _seed_regions(p: Plan) -> dict[str, int]:
    from fmis.orgs.models import FinanceDepartment, Region

    ids: dict[str, int] = {}
    for level in (1, 2, 3):
        specs = [r for r in p.regions if r.level == level]
        Region.objects.bulk_create(
            [Region(code=r.code, name=r.name, level=r.level, parent_id=ids.get(r.parent_code or ""))
             for r in specs], ignore_conflicts=True)
        ids.update(Region.objects.filter(code__in=[r.code for r in specs]).values_list("code", "id"))
    FinanceDepartment.objects.bulk_create(
        [FinanceDepartment(region_id=ids[r.code], code=r.code, name=finance_department_name(r)) for r in p.regions],
        ignore_conflicts=True)
    return ids


def _seed_agencies(p: Plan, region_ids: dict[str, int], write) -> None:
    from fmis.orgs.models import Agency

    progress = Progress(write, "预算单位", len(p.agencies))
    first = [a for a in p.agencies if a.parent_code is None]
    _bulk(Agency, [Agency(code=a.code, name=a.name, region_id=region_ids[a.region_code], kind=a.kind)
                   for a in first], progress=progress)
    parent_ids = dict(Agency.objects.filter(code__in=[a.code for a in first]).values_list("code", "id"))
    subs = [a for a in p.agencies if a.parent_code is not None]
    for start in range(0, len(subs), BATCH):
        chunk = subs[start:start + BATCH]
        Agency.objects.bulk_create(
            [Agency(code=a.code, name=a.name, region_id=region_ids[a.region_code], parent_id=parent_ids[a.parent_code],
                    kind=a.kind) for a in chunk], ignore_conflicts=True)
        progress.advance(len(chunk))
    progress.close()


def _seed_banks(p: Plan, region_ids: dict[str, int], write) -> dict[str, int]:
    from fmis.orgs.models import Bank, BankBranch

    Bank.objects.bulk_create([Bank(code=b.code, name=b.name, is_agent=True) for b in p.banks], ignore_conflicts=True)
    bank_ids = dict(Bank.objects.filter(code__in=[b.code for b in p.banks]).values_list("code", "id"))
    progress = Progress(write, "银行网点", len(p.branches))
    _bulk(BankBranch, [BankBranch(code=b.code, name=b.name, bank_id=bank_ids[b.bank_code],
                                  region_id=region_ids[b.region_code]) for b in p.branches], progress=progress)
    progress.close()
    return bank_ids


def _seed_roles() -> None:
    """Create the demo roles; make their functions and role-level data rules match the definitions."""
    from fmis.iam.models import DataRule, Function, Role, RoleFunction

    functions = dict(Function.objects.filter(is_active=True).values_list("code", "id"))
    for definition in ROLE_DEFINITIONS:
        role, _ = Role.objects.get_or_create(code=definition.code,
                                             defaults={"name": definition.name, "note": definition.note})
        wanted = {functions[c] for c in definition.function_codes(functions)}
        have = set(RoleFunction.objects.filter(role=role).values_list("function_id", flat=True))
        RoleFunction.objects.filter(role=role).exclude(function_id__in=wanted).delete()
        RoleFunction.objects.bulk_create([RoleFunction(role=role, function_id=f) for f in sorted(wanted - have)],
                                         ignore_conflicts=True)
        rules = DataRule.objects.filter(role=role, user__isnull=True, delegation__isnull=True)
        current = sorted((r.dimension, r.kind, tuple(r.values)) for r in rules)
        target = sorted((r.dimension, r.kind, r.values) for r in definition.rules)
        if current != target:
            rules.delete()
            DataRule.objects.bulk_create([DataRule(role=role, dimension=r.dimension, kind=r.kind, values=list(r.values))
                                          for r in definition.rules])


def _seed_users(p: Plan, region_ids: dict[str, int], bank_ids: dict[str, int]) -> None:
    from django.contrib.auth.hashers import make_password

    from fmis.iam.models import User
    from fmis.orgs.models import Agency

    existing = set(User.objects.filter(username__in=[u.username for u in p.users] + [SUPERUSER])
                   .values_list("username", flat=True))
    missing = [u for u in p.users if u.username not in existing]
    if missing or SUPERUSER not in existing:
        password = make_password(DEMO_PASSWORD)  # one hash for all demo users: hashing is slow by design
        agency_ids = dict(Agency.objects.filter(code__in=[u.agency_code for u in missing if u.agency_code])
                          .values_list("code", "id"))
        new_users = [
            User(username=u.username, name=u.name, password=password, org_type=u.org_type, user_type=u.user_type,
                 region_id=region_ids[u.region_code], agency_id=agency_ids.get(u.agency_code or ""),
                 bank_id=bank_ids.get(u.bank_code or ""), department=u.department)
            for u in missing]
        if SUPERUSER not in existing:
            new_users.insert(0, User(username=SUPERUSER, name="系统管理员", password=password,
                                     user_type=User.UserType.SUPER, is_builtin=True,
                                     region_id=region_ids[DEMO_PROVINCE_CODE]))
        User.objects.bulk_create(new_users, ignore_conflicts=True)
    _link_roles(p)


def _link_roles(p: Plan) -> None:
    from fmis.iam.models import Role, User, UserRole

    roles = dict(Role.objects.filter(code__in=ROLES_BY_CODE).values_list("code", "id"))
    users = dict(User.objects.filter(username__in=[u.username for u in p.users]).values_list("username", "id"))
    UserRole.objects.bulk_create([UserRole(user_id=users[u.username], role_id=roles[u.role_code]) for u in p.users],
                                 ignore_conflicts=True)


# ---------------------------------------------------------------------------------------------
# Demo logins


@dataclass(frozen=True)
class DemoLogin:
    username: str
    name: str
    roles: str
    organisation: str
    password: str


def demo_logins(*, role: str | None = None) -> list[DemoLogin]:
    """The demo users present in the database (the superuser first, then by role and username).
    The password column shows the demo password only where it still works."""
    from fmis.iam.models import User

    qs = (User.objects.filter(username=SUPERUSER) | User.objects.filter(user_roles__role__code__in=ROLES_BY_CODE))
    if role:
        qs = User.objects.filter(user_roles__role__code=role)
    users = list(qs.distinct().select_related("region", "agency", "bank").prefetch_related("user_roles__role"))
    order = {r.code: i for i, r in enumerate(ROLE_DEFINITIONS)}
    works: dict[str, bool] = {}

    def password_of(u) -> str:
        if u.password not in works:
            works[u.password] = u.check_password(DEMO_PASSWORD)
        return DEMO_PASSWORD if works[u.password] else "（已修改）"

    def sort_key(u):
        codes = [ur.role.code for ur in u.user_roles.all() if ur.role.code in order]
        first = min((order[c] for c in codes), default=-1)
        org_code = u.agency.code if u.agency is not None else u.region.code if u.region is not None else ""
        bank_code = u.bank.code if u.bank is not None else ""
        return (0 if u.username == SUPERUSER else 1, first, bank_code, org_code, u.username)

    rows = []
    for u in sorted(users, key=sort_key):
        if u.agency is not None:
            org = f"{u.agency.code} {u.agency.name}"
        elif u.bank is not None:
            org = u.bank.name
        elif u.region is not None:
            org = f"{u.region.code} {u.region.name}"
        else:
            org = ""
        role_names = "、".join(ur.role.name for ur in u.user_roles.all()) or ("超级用户" if u.is_superuser else "")
        rows.append(DemoLogin(u.username, u.name, role_names, org, password_of(u)))
    return rows
