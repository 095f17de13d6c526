"""Cost of the data-scope filter on a province-sized agency table.

Run: .venv/bin/python benchmarks/permissions.py [--runs 7] [--agencies 100000] [--fresh]

Uses its own database (``fmis_bench`` on the embedded server, or ``FMIS_DB_NAME``), creates and
migrates it, and bulk-creates a province of regions and agencies once (``--fresh`` rebuilds). A user
holds one role whose data scope has 50 rules: region subtrees, agency subtrees and agency value
lists that together cover a large share of the agencies. The script times, over several runs, the
agency list through ``restrict()`` against the same list unfiltered:

  (a) the list screen: count + first page of 50 ordered by code;
  (b) the export: iterating the whole result.

It prints the median of each and the ratio filtered / unfiltered (target: at most 1.3).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("FMIS_DB_NAME", "fmis_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fmis.settings")

CITIES = 16
COUNTIES_PER_CITY = 10
PROVINCE = "370000"
FUNCTION = "orgs.agency.view"


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL"):
        from fmis.platform import embedded_db

        embedded_db.ensure_database(os.environ["FMIS_DB_NAME"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def region_codes() -> list[tuple[str, int, str | None]]:
    """(code, level, parent code) for a province, its cities and their counties."""
    out: list[tuple[str, int, str | None]] = [(PROVINCE, 1, None)]
    for c in range(1, CITIES + 1):
        city = f"37{c:02d}00"
        out.append((city, 2, PROVINCE))
        for k in range(1, COUNTIES_PER_CITY + 1):
            out.append((f"37{c:02d}{k:02d}", 3, city))
    return out


def build_province(n_agencies: int, fresh: bool) -> None:
    from django.db import connection, transaction

    from fmis.orgs.models import Agency, Region

    if not fresh and Agency.objects.count() == n_agencies:
        print(f"reusing {n_agencies:,} agencies in database {connection.settings_dict['NAME']}")
        return
    t0 = time.perf_counter()
    with transaction.atomic():
        from fmis.iam.models import User

        User.objects.filter(username__startswith="bench_").delete()
        Agency.objects.update(parent=None)
        Agency.objects.all().delete()
        Region.objects.all().delete()
        regions: dict[str, Region] = {}
        for code, level, parent in region_codes():
            regions[code] = Region.objects.create(code=code, name=f"区划{code}", level=level,
                                                  parent=regions.get(parent) if parent else None)
        region_list = list(regions.values())
        # each region: first-level agencies (region + 3 digits), each with subordinates (+ 3 digits)
        per_region = -(-n_agencies // len(region_list))
        subs = 10
        firsts: list[Agency] = []
        plan: list[tuple[Region, int, int]] = []  # (region, first-level no., subordinate count)
        made = 0
        for region in region_list:
            left = min(per_region, n_agencies - made)
            d = 0
            while left > 0:
                d += 1
                k = min(subs, left - 1)
                plan.append((region, d, k))
                left -= 1 + k
                made += 1 + k
        for region, d, _ in plan:
            firsts.append(Agency(code=f"{region.code}{d:03d}", name=f"单位{region.code}{d:03d}", region=region))
        Agency.objects.bulk_create(firsts, batch_size=5000)
        by_code = {a.code: a for a in Agency.objects.filter(parent__isnull=True)}
        children: list[Agency] = []
        for region, d, k in plan:
            parent = by_code[f"{region.code}{d:03d}"]
            for s in range(1, k + 1):
                code = f"{parent.code}{s:03d}"
                children.append(Agency(code=code, name=f"单位{code}", region=region, parent=parent))
        Agency.objects.bulk_create(children, batch_size=5000)
    with connection.cursor() as cur:
        cur.execute("ANALYZE orgs_region")
        cur.execute("ANALYZE orgs_agency")
    print(f"built {Agency.objects.count():,} agencies in {len(regions)} regions "
          f"in {time.perf_counter() - t0:.1f} s")


def scope_rules(seed: int = 20261123) -> list[tuple[str, str, list[str]]]:
    """50 rules: region subtrees, agency subtrees and agency value lists.

    Rules on the same dimension are OR-ed and the two dimensions AND-ed, so the region rules are
    wide (most cities) and the agency rules pick whole cities, counties, departments and single
    units, overlapping as real scopes do.
    """
    from fmis.orgs.models import Agency

    rnd = random.Random(seed)
    rules: list[tuple[str, str, list[str]]] = []
    city = [f"37{c:02d}00" for c in range(1, CITIES + 1)]
    # 10 region rules: 7 of two cities each, 3 of single counties in the last two cities
    for i in range(7):
        rules.append(("region", "subtree", [city[2 * i], city[2 * i + 1]]))
    for c, k in ((15, 1), (15, 2), (16, 3)):
        rules.append(("region", "subtree", [f"37{c:02d}{k:02d}"]))
    # 20 agency subtree rules: 10 whole cities, 5 pairs of counties, 5 departments (first-level units)
    for c in range(10):
        rules.append(("agency", "subtree", [city[c][:4]]))
    counties = [f"37{c:02d}{k:02d}" for c in range(9, 15) for k in range(1, COUNTIES_PER_CITY + 1)]
    picked = rnd.sample(counties, 10)
    for i in range(5):
        rules.append(("agency", "subtree", picked[2 * i: 2 * i + 2]))
    firsts = list(Agency.objects.filter(parent__isnull=True, code__gte="371100").values_list("code", flat=True))
    for code in rnd.sample(firsts, 5):
        rules.append(("agency", "subtree", [code]))
    # 20 value lists of 25 agencies each, drawn from the whole province
    pool = list(Agency.objects.values_list("code", flat=True))
    for _ in range(20):
        rules.append(("agency", "values", rnd.sample(pool, 25)))
    assert len(rules) == 50
    return rules


def make_user(rules):
    from django.db import transaction

    from fmis.iam.functions import sync_functions
    from fmis.iam.models import DataRule, Function, Role, RoleFunction, User, UserRole

    sync_functions()
    with transaction.atomic():
        User.objects.filter(username="bench_user").delete()
        Role.objects.filter(code="bench_role").delete()
        role = Role.objects.create(code="bench_role", name="基准角色")
        RoleFunction.objects.create(role=role, function=Function.objects.get(code=FUNCTION))
        DataRule.objects.bulk_create([DataRule(role=role, dimension=d, kind=k, values=v) for d, k, v in rules])
        user = User.objects.create_user("bench_user", None, name="基准用户")
        UserRole.objects.create(user=user, role=role)
    return user.pk


def fresh_user(pk):
    """The user as a request sees it: loaded, with its permissions calculated once."""
    from fmis.iam.models import User
    from fmis.iam.permissions import function_codes

    user = User.objects.select_related("agency", "region", "bank").get(pk=pk)
    function_codes(user)
    return user


def timed(fn, runs: int) -> tuple[float, object]:
    fn()  # warm-up
    samples = []
    result = None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), result


def county_user(region_code: str) -> int:
    """A user whose role reaches only its own county (own region and below)."""
    from django.db import transaction

    from fmis.iam.models import DataRule, Function, Role, RoleFunction, User, UserRole
    from fmis.orgs.models import Region

    with transaction.atomic():
        User.objects.filter(username="bench_county").delete()
        Role.objects.filter(code="bench_county_role").delete()
        role = Role.objects.create(code="bench_county_role", name="县级经办")
        RoleFunction.objects.create(role=role, function=Function.objects.get(code=FUNCTION))
        DataRule.objects.create(role=role, dimension="region", kind="own_region_tree", values=[])
        user = User.objects.create_user("bench_county", None, name="县级用户",
                                        region=Region.objects.get(code=region_code))
        UserRole.objects.create(user=user, role=role)
    return user.pk


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--agencies", type=int, default=100_000)
    p.add_argument("--fresh", action="store_true", help="rebuild the province")
    p.add_argument("--explain", action="store_true", help="print the query plan of the filtered count")
    p.add_argument("--try-index", action="store_true",
                   help="also time (a) with a temporary covering index orgs_agency (region_id, code), then drop it")
    ns = p.parse_args()

    setup_django()
    from django.db import connection

    from fmis.iam.permissions import restrict
    from fmis.orgs.models import Agency

    build_province(ns.agencies, ns.fresh)
    rules = scope_rules()
    user_pk = make_user(rules)
    county_pk = county_user("370102")
    users = {pk: fresh_user(pk) for pk in (user_pk, county_pk)}

    def base(pk):
        qs = Agency.objects.all()
        return qs if pk is None else restrict(qs, users[pk], FUNCTION)

    def list_screen(pk):
        def run():
            qs = base(pk).order_by("code")
            total = qs.count()
            first = list(qs[:50])
            return total, len(first)
        return run

    def export(pk):
        def run():
            n = 0
            for _ in base(pk).order_by("code").iterator(chunk_size=2000):
                n += 1
            return n
        return run

    if ns.explain:
        with connection.cursor() as cur:
            sql, params = base(user_pk).values("pk").order_by().query.sql_with_params()
            cur.execute("EXPLAIN (ANALYZE, COSTS OFF) SELECT count(*) FROM (" + sql + ") s", params)
            print("\n".join(r[0][:160] for r in cur.fetchall()))

    calc, _ = timed(lambda: fresh_user(user_pk), ns.runs)
    total = Agency.objects.count()
    a_all, (n_all, _) = timed(list_screen(None), ns.runs)
    a_flt, (n_flt, page) = timed(list_screen(user_pk), ns.runs)
    a_cty, (n_cty, _) = timed(list_screen(county_pk), ns.runs)
    b_all, e_all = timed(export(None), ns.runs)
    b_flt, e_flt = timed(export(user_pk), ns.runs)
    assert n_all == total == e_all and n_flt == e_flt and page == min(50, n_flt)

    print(f"agencies: {total:,}; in scope of the 50-rule role: {n_flt:,} ({n_flt / total:.0%}); "
          f"median of {ns.runs} runs")
    print(f"permission calculation for the user (once per request): {calc * 1000:.1f} ms")
    print(f"{'':40}{'unfiltered':>12}{'restrict()':>12}{'ratio':>8}")
    print(f"{'(a) list: count + first 50 by code':40}{a_all * 1000:>10.1f}ms{a_flt * 1000:>10.1f}ms"
          f"{a_flt / a_all:>8.2f}")
    print(f"{'(b) export: iterate the whole result':40}{b_all * 1000:>10.1f}ms{b_flt * 1000:>10.1f}ms"
          f"{b_flt / b_all:>8.2f}")
    print(f"{'    per row exported':40}{b_all / e_all * 1e6:>10.2f}us{b_flt / max(e_flt, 1) * 1e6:>10.2f}us"
          f"{(b_flt / max(e_flt, 1)) / (b_all / e_all):>8.2f}")
    print(f"{'(a) for a one-county user (' + f'{n_cty:,} rows)':40}{a_all * 1000:>10.1f}ms{a_cty * 1000:>10.1f}ms"
          f"{a_cty / a_all:>8.2f}")
    if ns.try_index:
        with connection.cursor() as cur:
            cur.execute("CREATE INDEX bench_agency_region_code ON orgs_agency (region_id, code)")
            cur.execute("VACUUM ANALYZE orgs_agency")
        try:
            i_all, _ = timed(list_screen(None), ns.runs)
            i_flt, _ = timed(list_screen(user_pk), ns.runs)
        finally:
            with connection.cursor() as cur:
                cur.execute("DROP INDEX bench_agency_region_code")
        print(f"{'(a) with index (region_id, code)':40}{i_all * 1000:>10.1f}ms{i_flt * 1000:>10.1f}ms"
              f"{i_flt / i_all:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
