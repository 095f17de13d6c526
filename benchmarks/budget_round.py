"""A province-sized budget round (二上二下): basic expenditure computed and 二下 approval issuing
the indicators, each against a plain INSERT … SELECT of the same rows.

Run: .venv/bin/python benchmarks/budget_round.py [--agencies 2000] [--people 100] [--projects 1] [--project-lines 4] [--events 2000]

Uses its own database (``fmis_bench_budget`` on the embedded server, or ``FMIS_DB_NAME``), dropped
and rebuilt on every run. Builds a province with ``--agencies`` agencies (first-level agencies of
20 agencies each: the department and 19 subordinates), ``--people`` personnel per agency (85 %
active, 12 % retired, 3 % contract staff), 2 vehicles per agency, 29 expenditure standards (21
apply to each agency: 21 basic-expenditure lines per agency) and ``--projects`` reserved projects
per agency in the budget year's library, each declared as ``--project-lines`` lines (one per
economic class). With the defaults: 2,000 agencies, 200,000 personnel, 42,000 basic lines +
2,000 projects × 4 = 8,000 project lines = 50,000 budget lines.

Timed through the services (one transaction each):
- the basic-expenditure computation of the whole round (``compute_basic_round``: one INSERT …
  SELECT from personnel and vehicles × standards, grouped per agency, function and economic
  class), against a plain INSERT … SELECT of the same 42,000 rows into the same table (its
  indexes, constraints, foreign keys and triggers; rolled back);
- 二上: every agency compiles at its reviewed amounts (``compile_lines``, the control-number lock
  and check per call), for information;
- 二下: ``approve`` of the whole round: 50,000 executable indicators and their issue movements in
  set-based statements (figures = sum of movements, checked), the lines linked, projects marked
  scheduled, against a plain INSERT … SELECT of the same indicator and movement rows into the
  same tables (rolled back);
- the ``indicators.quota_arrived`` events that ``approve`` publishes, one per indicator with
  every subscriber (e.g. accounting): timed apart, for ``--events`` of the indicators, as a rate.

Not timed (written directly as set-up, since they are not what is measured): personnel,
vehicles, projects and their library rows, project lines, and the reviews of the declarations
(the submissions are written as approved with the finance-reviewed amounts the review sets).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("FMIS_DB_NAME", "fmis_bench_budget")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fmis.settings")

REGION = "970000"
YEAR = 2031
DEPT_SIZE = 20
PROJECT_ECO = (("31002", "50306", "50601"), ("31003", "50306", "50601"), ("30227", "50205", "50502"),
               ("30213", "50209", "50502"), ("31007", "50306", "50601"), ("30218", "50204", "50502"))
DEPT_FUNCS = ("2010101", "2050101", "2100101", "2040201")
SUB_FUNCS = ("2010150", "2050204", "2100201", "2040250")


def setup_django() -> None:
    name = os.environ["FMIS_DB_NAME"]
    if not os.environ.get("DATABASE_URL"):
        import psycopg

        from fmis.platform import embedded_db

        params = embedded_db.ensure_running()
        with psycopg.connect(host=params["HOST"], user=params["USER"], dbname="postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        embedded_db.ensure_database(name)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def standards(region) -> list:
    from fmis.basicinfo.models import ExpenditureStandard as ES

    def staff(name, eco, amount, cat="active", func=None, agency_type=None):
        return ES(region=region, fiscal_year=YEAR, name=name, kind="staff", basis="per_person", person_category=cat,
                  agency_type=agency_type, eco_code=eco, func_code=func, amount=amount)

    def public(name, eco, admin_amount, inst_amount):
        return [ES(region=region, fiscal_year=YEAR, name=f"{name}（行政）", kind="public", basis="per_person",
                   person_category="active", agency_type="admin", eco_code=eco, amount=admin_amount),
                ES(region=region, fiscal_year=YEAR, name=f"{name}（事业）", kind="public", basis="per_person",
                   person_category="active", agency_type="inst", eco_code=eco, amount=inst_amount)]

    rows = [
        staff("基本工资", "30101", 42000), staff("津贴补贴", "30102", 30000), staff("奖金", "30103", 3600),
        staff("绩效工资", "30107", 24000), staff("养老保险缴费", "30108", 9600, func="2080505"),
        staff("职业年金缴费", "30109", 4800, func="2080506"), staff("职工基本医疗保险缴费", "30110", 4200),
        staff("其他社会保障缴费", "30112", 600), staff("住房公积金", "30113", 8400),
        staff("其他工资福利支出", "30199", 1200),
        staff("退休费（行政）", "30302", 48000, cat="retired", func="2080501", agency_type="admin"),
        staff("退休费（事业）", "30302", 45000, cat="retired", func="2080502", agency_type="inst"),
        staff("离退休人员生活补助", "30305", 3000, cat="retired"),
        staff("编外人员劳务费", "30226", 36000, cat="contract"),
        ES(region=region, fiscal_year=YEAR, name="公务用车运行维护费", kind="vehicle", basis="per_vehicle",
           eco_code="30231", amount=25000),
    ]
    for name, eco, a, i in (("办公费", "30201", 5000, 3000), ("水费", "30205", 300, 240), ("电费", "30206", 900, 700),
                            ("邮电费", "30207", 600, 400), ("差旅费", "30211", 3000, 2000),
                            ("工会经费", "30228", 1400, 1400), ("福利费", "30229", 1000, 800)):
        rows.extend(public(name, eco, a, i))
    return rows


def build(n_agencies: int, people: int, projects: int) -> dict:
    from django.db import connection, transaction

    from fmis.basicinfo.models import ExpenditureStandard
    from fmis.dictionary.services import preload_standard
    from fmis.iam.functions import sync_functions
    from fmis.iam.models import User
    from fmis.orgs.models import Agency, Region

    preload_standard()
    sync_functions()
    with transaction.atomic():
        region = Region.objects.create(code=REGION, name="压测省", level=1)
        admin = User.objects.create_user("bench_admin", "Bench@2026x", name="压测管理员", user_type=User.UserType.SUPER,
                                         region=region)
        depts = Agency.objects.bulk_create([
            Agency(code=f"{REGION}{101 + d:03d}", name=f"压测部门{d + 1}", region=region, kind="admin")
            for d in range((n_agencies + DEPT_SIZE - 1) // DEPT_SIZE)])
        subs = []
        for d, dept in enumerate(depts):
            for s in range(1, DEPT_SIZE):
                if len(depts) + len(subs) >= n_agencies:
                    break
                subs.append(Agency(code=f"{dept.code}{s:03d}", name=f"{dept.name}下属{s}", region=region,
                                   parent=dept, kind="inst" if s % 3 else "admin"))
        Agency.objects.bulk_create(subs, batch_size=2000)
        ExpenditureStandard.objects.bulk_create(standards(region))
        with connection.cursor() as cur:
            cur.execute("""
                INSERT INTO basicinfo_personnel (agency_id, fiscal_year, name, id_number_masked, id_digest, category,
                    post, grade, status, created_at, updated_at)
                SELECT a.id, %s, '人员' || g, '9700**********' || lpad((g %% 1000)::text, 3, '0') || '1',
                       md5(a.id || '-' || g),
                       CASE WHEN g %% 100 < 85 THEN 'active' WHEN g %% 100 < 97 THEN 'retired' ELSE 'contract' END,
                       '', '', 'active', now(), now()
                FROM orgs_agency a CROSS JOIN generate_series(0, %s - 1) g WHERE a.region_id = %s""",
                        [YEAR, people, region.pk])
            cur.execute("""
                INSERT INTO basicinfo_vehicle (agency_id, fiscal_year, plate_no, vehicle_type, brand, displacement,
                    original_value, status, created_at, updated_at)
                SELECT a.id, %s, '压' || a.id || '-' || g, 'general', '', '', 180000, 'in_use', now(), now()
                FROM orgs_agency a CROSS JOIN generate_series(1, 2) g WHERE a.region_id = %s""", [YEAR, region.pk])
            # reserved projects with a one-year plan in the budget year's library
            cur.execute("""
                INSERT INTO projects_project (code, name, agency_id, region_id, category_id, func_code, eco_code,
                    fund_type, start_year, end_year, total_amount, status, is_transfer, tags, basis, summary,
                    return_reason, terminate_reason, reserved_at, created_at, updated_at)
                SELECT %s || right(%s::text, 2) || substr(a.code, 7, 3) || 'P000' || lpad((a.id * 10 + g)::text, 6, '0'),
                       a.name || '专项' || g, a.id, a.region_id, '31', '2010199', '31002', '11', %s, %s,
                       100000 + 10000 * g, 'reserved', false, '{}', '', '', '', '', now(), now(), now()
                FROM orgs_agency a CROSS JOIN generate_series(1, %s) g WHERE a.region_id = %s""",
                        [REGION, YEAR, YEAR, YEAR, projects, region.pk])
            cur.execute("""
                INSERT INTO projects_projectplan (project_id, year, amount)
                SELECT p.id, %s, p.total_amount FROM projects_project p WHERE p.region_id = %s""", [YEAR, region.pk])
            cur.execute("""
                INSERT INTO projects_libraryentry (project_id, library_year, plan_amount, remaining_amount, status,
                    source_type, source_id, created_at)
                SELECT p.id, %s, p.total_amount, p.total_amount, 'reserved', '', '', now()
                FROM projects_project p WHERE p.region_id = %s""", [YEAR, region.pk])
        agencies = list(Agency.objects.filter(region=region).order_by("pk").values_list("pk", "parent_id"))
    funcs = {}
    for i, (pk, parent) in enumerate(agencies):
        funcs[pk] = (DEPT_FUNCS if parent is None else SUB_FUNCS)[(i // DEPT_SIZE) % len(DEPT_FUNCS)]
    return {"region": region, "admin": admin, "funcs": funcs}


def timed(fn):
    t = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t


def plain_insert(statements: list[tuple[str, list]], timed_from: int = 0) -> tuple[int, float]:
    """Plain INSERT … SELECT statements into the real tables (their indexes, constraints, foreign
    keys and triggers), in a transaction that is rolled back; returns (rows of the timed
    statements, seconds of the timed statements: those from index `timed_from` on)."""
    from django.db import connection, transaction

    rows, seconds = 0, 0.0
    with transaction.atomic():
        with connection.cursor() as cur:
            for i, (sql, params) in enumerate(statements):
                t = time.perf_counter()
                cur.execute(sql, params)
                if i >= timed_from:
                    seconds += time.perf_counter() - t
                    rows += cur.rowcount
        transaction.set_rollback(True)
    return rows, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agencies", type=int, default=2000)
    ap.add_argument("--people", type=int, default=100, help="personnel per agency")
    ap.add_argument("--projects", type=int, default=1, help="projects per agency")
    ap.add_argument("--project-lines", type=int, default=4, help="budget lines per project (economic classes)")
    ap.add_argument("--events", type=int, default=2000, help="quota_arrived events to publish and time")
    args = ap.parse_args()
    setup_django()

    from django.db import connection, transaction
    from django.db.models import Sum

    from fmis.budgeting import services
    from fmis.budgeting.models import BudgetLine, ControlNumber, Stage, Submission

    t0 = time.perf_counter()
    world = build(args.agencies, args.people, args.projects)
    eco_lines = PROJECT_ECO[: args.project_lines]
    admin, region = world["admin"], world["region"]
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM basicinfo_personnel p JOIN orgs_agency a ON a.id = p.agency_id "
                    "WHERE a.region_id = %s", [region.pk])
        n_people = cur.fetchone()[0]
    print(f"built {args.agencies:,} agencies, {n_people:,} personnel in {time.perf_counter() - t0:.1f} s", flush=True)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")

    rnd = services.open_round(user=admin, region_id=region.pk, fiscal_year=YEAR)
    res, t_compute = timed(lambda: services.compute_basic_round(user=admin, round_id=rnd.pk,
                                                                func_codes=world["funcs"]))
    line_cols = ("department_id, kind, source, project_id, project_code, pro_kind, title, func_code, gov_eco_code, "
                 "dept_eco_code, fund_type, amount_applied, amount_reviewed, amount_compiled, amount_approved, basis, "
                 "indicator_id, created_at, updated_at")
    n_plain, t_plain = plain_insert([
        (("INSERT INTO budgeting_budgetround (region_id, fiscal_year, name, stage, status, doc_no, created_by_id, "
         "created_at, stage_changed_at) VALUES (%s, %s, 'plain', 'up1', 'open', '', %s, now(), now())"),
         [region.pk, YEAR + 1, admin.pk]),
        ((f"INSERT INTO budgeting_budgetline (round_id, agency_id, {line_cols}) "
         f"SELECT (SELECT id FROM budgeting_budgetround WHERE fiscal_year = %s), agency_id, {line_cols} "
         f"FROM budgeting_budgetline WHERE round_id = %s AND source = 'computed'"), [YEAR + 1, rnd.pk])], timed_from=1)
    print(f"computed {res.lines:,} basic lines in {t_compute:.2f} s", flush=True)
    again, t_again = timed(lambda: services.compute_basic_round(user=admin, round_id=rnd.pk,
                                                                func_codes=world["funcs"]))
    assert again.lines == res.lines and again.total == res.total

    # set-up: project lines, the reviewed declarations
    with transaction.atomic(), connection.cursor() as cur:
        depts = services.departments_by_agency(region.pk)
        cur.execute("""
            INSERT INTO budgeting_budgetline (round_id, agency_id, department_id, kind, source, project_id,
                project_code, pro_kind, title, func_code, gov_eco_code, dept_eco_code, fund_type, amount_applied,
                basis, created_at, updated_at)
            SELECT %s, p.agency_id, d.dept, 'project', 'project', p.id, p.code, p.category_id, p.name, p.func_code,
                   CASE WHEN a.kind = 'inst' THEN x.inst_gov ELSE x.admin_gov END, x.eco, p.fund_type,
                   round(e.plan_amount / %s, 2), '项目库', now(), now()
            FROM projects_libraryentry e JOIN projects_project p ON p.id = e.project_id
            JOIN orgs_agency a ON a.id = p.agency_id
            JOIN unnest(%s::bigint[], %s::bigint[]) AS d(agency, dept) ON d.agency = p.agency_id
            CROSS JOIN unnest(%s::text[], %s::text[], %s::text[]) AS x(eco, admin_gov, inst_gov)
            WHERE e.library_year = %s AND p.region_id = %s""",
                    [rnd.pk, len(eco_lines), list(depts), list(depts.values()), [x[0] for x in eco_lines],
                     [x[1] for x in eco_lines], [x[2] for x in eco_lines], YEAR, region.pk])
        cur.execute("UPDATE budgeting_budgetline SET amount_reviewed = amount_applied WHERE round_id = %s", [rnd.pk])
        cur.execute("""
            INSERT INTO budgeting_submission (round_id, agency_id, department_id, stage, status, updated_at)
            SELECT %s, d.agency, d.dept, 'up1', 'approved', now() FROM unnest(%s::bigint[], %s::bigint[]) AS d(agency, dept)
            """, [rnd.pk, list(depts), list(depts.values())])
    n_lines = BudgetLine.objects.filter(round=rnd).count()
    services.advance_stage(user=admin, round_id=rnd.pk, to=Stage.DOWN1)
    reviewed = {r["department_id"]: r["s"] for r in BudgetLine.objects.filter(round=rnd).values("department_id")
                .annotate(s=Sum("amount_reviewed"))}
    for dept_id, amount in reviewed.items():
        services.set_control_number(user=admin, round_id=rnd.pk, department_id=dept_id, amount=amount)
    services.advance_stage(user=admin, round_id=rnd.pk, to=Stage.UP2)

    def compile_all():
        for agency_id in depts:
            services.compile_lines(user=admin, round_id=rnd.pk, agency_id=agency_id)

    _, t_compile = timed(compile_all)
    print(f"compiled {len(depts):,} agencies in {t_compile:.2f} s", flush=True)
    with connection.cursor() as cur:
        cur.execute("""
            INSERT INTO budgeting_submission (round_id, agency_id, department_id, stage, status, updated_at)
            SELECT %s, d.agency, d.dept, 'up2', 'approved', now() FROM unnest(%s::bigint[], %s::bigint[]) AS d(agency, dept)
            ON CONFLICT (round_id, agency_id, stage) DO UPDATE SET status = 'approved'
            """, [rnd.pk, list(depts), list(depts.values())])
    services.advance_stage(user=admin, round_id=rnd.pk, to=Stage.DOWN2)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE budgeting_budgetline")

    # 二下 timed without its two per-object parts, which are timed on their own below: the
    # quota_arrived events (one per indicator) and the project library's schedule (one per project)
    publish, schedule, deferred_ids, deferred_sched = services.publish_quota_arrived, services._schedule_projects, [], []
    services.publish_quota_arrived = deferred_ids.extend
    services._schedule_projects = lambda r, depts_, u: deferred_sched.append((r, depts_, u))
    try:
        approval, t_issue = timed(lambda: services.approve(user=admin, round_id=rnd.pk, doc_no=f"压财预〔{YEAR}〕1号"))
    finally:
        services.publish_quota_arrived, services._schedule_projects = publish, schedule

    print(f"approved: {approval.indicators:,} indicators in {t_issue:.2f} s", flush=True)

    def schedule_all():
        with transaction.atomic():
            for args_ in deferred_sched:
                services._schedule_projects(*args_)

    _, t_schedule = timed(schedule_all)
    n_projects = BudgetLine.objects.filter(round=rnd, project__isnull=False).values("project_id").distinct().count()
    ind_cols = ("fiscal_year, region_id, agency_id, doc_no, title, project_code, func_code, gov_eco_code, "
                "dept_eco_code, fund_type, indicator_type, pay_mode, source_id, status, amount, to_distribute, doc_date, "
                "confirmed_at, total, frozen, reserved, consumed, created_by_id, created_at, updated_at")
    mv_cols = ("indicator_id, kind, d_total, d_frozen, d_reserved, d_consumed, counterpart_id, source_type, source_id, "
               "source_no, note, created_by_id, created_at")
    n_plain_rows, t_plain_issue = plain_insert([
        ((f"INSERT INTO indicators_indicator (code, {ind_cols}) SELECT code || 'P', {ind_cols} FROM indicators_indicator "
         "WHERE fiscal_year = %s AND region_id = %s"), [YEAR, region.pk]),
        (f"INSERT INTO indicators_movement ({mv_cols}) SELECT {mv_cols} FROM indicators_movement WHERE source_type = %s",
         [services.LINE_SOURCE_TYPE])])
    assert n_plain_rows == 2 * approval.indicators
    with connection.cursor() as cur:
        cur.execute("""
            SELECT count(*) FROM indicators_indicator i
            JOIN (SELECT indicator_id, sum(d_total) t FROM indicators_movement GROUP BY indicator_id) m
              ON m.indicator_id = i.id
            WHERE i.fiscal_year = %s AND i.region_id = %s AND m.t <> i.total""", [YEAR, region.pk])
        mismatched = cur.fetchone()[0]
    issued_ids = deferred_ids[: args.events]
    assert len(deferred_ids) == approval.indicators

    def publish_some():
        with transaction.atomic():
            services.publish_quota_arrived(issued_ids)

    _, t_events = timed(publish_some) if issued_ids else (None, 0.0)
    again_approve = services.approve(user=admin, round_id=rnd.pk)

    def rate(n, t):
        return n / t if t else float("inf")

    print()
    print(f"budget lines: {n_lines:,} ({res.lines:,} basic from {n_people:,} personnel, {n_lines - res.lines:,} project)")
    print(f"basic-expenditure computation: {res.lines:,} lines in {t_compute:.2f} s = {rate(res.lines, t_compute):,.0f} rows/s"
          f"; plain INSERT … SELECT of the same rows: {rate(n_plain, t_plain):,.0f} rows/s"
          f"; ratio {rate(res.lines, t_compute) / rate(n_plain, t_plain):.2f}")
    print(f"  recomputation with nothing changed: {t_again:.2f} s")
    print(f"二上 compile, {len(depts):,} agencies one service call each: {t_compile:.2f} s "
          f"({t_compile / len(depts) * 1000:.1f} ms per agency)")
    print(f"二下 approval issuing {approval.indicators:,} indicators (+ {approval.indicators:,} movements): "
          f"{t_issue:.2f} s = {rate(approval.indicators, t_issue):,.0f} indicators/s"
          f"; plain INSERT … SELECT of the same indicator and movement rows: "
          f"{rate(approval.indicators, t_plain_issue):,.0f} indicators/s"
          f"; ratio {rate(approval.indicators, t_issue) / rate(approval.indicators, t_plain_issue):.2f}")
    print(f"  indicators whose total differs from their movements: {mismatched}; approving again: "
          f"{again_approve.indicators} indicators")
    print(f"  marking {n_projects:,} projects scheduled (projects.services.schedule, one call per project): "
          f"{t_schedule:.2f} s = {rate(n_projects, t_schedule):,.0f} projects/s")
    if issued_ids:
        print(f"  quota_arrived events (all subscribers): {len(issued_ids):,} in {t_events:.2f} s = "
              f"{rate(len(issued_ids), t_events):,.0f} events/s")
    assert ControlNumber.objects.filter(round=rnd).count() == len(reviewed)
    assert Submission.objects.filter(round=rnd).count() == 2 * len(depts)


if __name__ == "__main__":
    main()
