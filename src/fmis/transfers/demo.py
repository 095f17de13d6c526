"""Demo consortium for the demo province (``fmis seed`` calls ``seed_demo``).

The province's finance department runs the membership service; every finance department of the
demo province (province, cities, counties) is a founding member whose node this installation
operates. A few central-style allocations go from the province to the cities (one of them direct
funds), are confirmed, passed down to the counties and partly spent, and one is partly recovered.
Idempotent: nothing happens once the consortium exists.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.utils import timezone

from fmis.orgs import demo as orgs_demo


def _treasury_user():
    from fmis.iam.models import User
    from fmis.indicators.demo import province_plan

    p = province_plan("small")
    name = next((u.username for u in p.users if u.role_code == "treasury_division"
                 and u.region_code == orgs_demo.DEMO_PROVINCE_CODE), orgs_demo.SUPERUSER)
    return User.objects.filter(username=name).first() or User.objects.get(username=orgs_demo.SUPERUSER)


FUNDS = [
    # fund code, direct, functional class, purpose, document, amount per city (yuan); {y}: the year
    ("ZD{y}-SHBZ", True, "2082001", "困难群众救助补助资金", "示财社〔{y}〕12号", Decimal("8000000.00")),
    ("ZY{y}-JYFZ", False, "2050299", "义务教育薄弱环节改善资金", "示财教〔{y}〕7号", Decimal("5000000.00")),
]


def seed_demo(*, scale: str, write: Callable[[str], object] | None = None) -> dict[str, int]:
    from fmis.orgs.models import FinanceDepartment, Region
    from fmis.transfers import local, services
    from fmis.transfers.models import Allocation, ConsortiumConfig

    if ConsortiumConfig.objects.exists():
        return {"created": 0}
    user = _treasury_user()
    province = Region.objects.get(code=orgs_demo.DEMO_PROVINCE_CODE)
    depts = (FinanceDepartment.objects.select_related("region").filter(region__code__startswith="99")
             .order_by("region__code"))
    founders = [services.Founder(d.region.code, d.name) for d in depts if len(d.region.code) == 6]
    services.create_consortium(user=user, consortium=f"{province.code}-transfers",
                               name=f"{province.name}转移支付联盟", founders=founders, quorum=1, block_max_txs=500,
                               node_region=province.code,
                               contract_modules=["fmis.transfers.ledger.contracts", "fmis.bankside.contracts"])
    local.flush()
    if write:
        write(f"transfers: consortium with {len(founders)} finance departments\n")
    cities = [r for r in Region.objects.filter(parent=province).order_by("code")]
    tops: list[tuple[str, Region, tuple]] = []
    year = timezone.localdate().year
    funds = [(code.format(y=year), direct, func, purpose, doc.format(y=year), amount)
             for code, direct, func, purpose, doc, amount in FUNDS]
    for fund in funds:
        code, direct, func, purpose, doc, amount = fund
        for city in cities:
            tx = services.allocate(user=user, from_region=province.code, to_region=city.code, amount=amount,
                                   fund_code=code, direct=direct, func_code=func, purpose=purpose, doc_no=doc,
                                   fiscal_year=year)
            tops.append((tx, city, fund))
    local.flush()
    for tx, _city, _fund in tops:
        services.confirm_receipt(user=user, allocation_id=tx)
    local.flush()
    downs = []
    for tx, city, fund in tops:
        counties = list(Region.objects.filter(parent=city).order_by("code"))
        if not counties:
            continue
        share = (fund[5] * Decimal("0.8") / len(counties)).quantize(Decimal("0.01"))
        for county in counties:
            downs.append(services.allocate(user=user, from_region=city.code, to_region=county.code, amount=share,
                                           fund_code=fund[0], direct=fund[1], func_code=fund[2], purpose=fund[3],
                                           doc_no=fund[4].replace("示财", f"{city.name}财"), fiscal_year=year,
                                           parent_id=tx))
    local.flush()
    for tx in downs:
        services.confirm_receipt(user=user, allocation_id=tx)
    local.flush()
    for i, tx in enumerate(downs):
        a = Allocation.objects.get(pk=tx)
        for j in range(1 + i % 3):
            services.record_expenditure(user=user, allocation_id=tx,
                                        amount=(Decimal(a.amount) / 100 * Decimal("0.15")).quantize(Decimal("0.01")),
                                        payee=f"{a.to_region}民政局" if a.direct else f"{a.to_region}第{j + 1}中学",
                                        voucher_no=f"ZF{a.to_region}{i:03d}{j}")
    if downs:
        services.recover(user=user, allocation_id=downs[-1], amount=Decimal("100000.00"), reason="项目调整收回")
    local.flush()
    if write:
        write(f"transfers: {len(tops)} allocations to cities, {len(downs)} to counties\n")
    return {"created": 1, "allocations": len(tops) + len(downs)}
