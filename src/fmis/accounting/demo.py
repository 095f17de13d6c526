"""Demo books for the demo province (``fmis seed`` calls ``seed_demo``).

Every agency that has a demo unit accountant gets its primary account set for the current year
(standard chart, the 记 voucher category, machine vouchers posted automatically), opened by the
province's accounting centre through ``create_account_set``, so the quota arrivals and payments of
the demo post machine vouchers into the unit's books. Idempotent: an agency that already has a
primary account set is left alone (a later year is opened when the set stops at the year before).
Each set's opening balances of the year (bank deposit, fixed assets and their depreciation, the
accumulated surplus; 资金结存 against 非财政拨款结余) are entered and posted once, when the year has
none yet.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.db.models import Max
from django.utils import timezone

from fmis.indicators.demo import province_plan
from fmis.orgs import demo as orgs_demo


def account_set_code(agency_code: str) -> str:
    return f"U{agency_code}"


def seed_demo(*, scale: str, write: Callable[[str], object] | None = None) -> dict[str, int]:
    """Open the demo units' books. Returns how many account sets were created and years opened."""
    from fmis.accounting import services
    from fmis.accounting.models import AccountSet
    from fmis.iam.models import User
    from fmis.orgs.models import Agency

    year = timezone.localdate().year
    p = province_plan(scale)
    codes = [u.agency_code for u in p.users if u.role_code == "unit_accountant" and u.agency_code]
    clerk_name = next((u.username for u in p.users if u.role_code == "accounting"
                       and u.region_code == orgs_demo.DEMO_PROVINCE_CODE), orgs_demo.SUPERUSER)
    clerk = User.objects.get(username=clerk_name)
    agencies = {a.code: a for a in Agency.objects.filter(code__in=codes)}
    primary = {s.agency_id: s for s in AccountSet.objects.filter(agency__code__in=codes, is_primary=True)
               .annotate(last_year=Max("periods__year"))}
    created = opened = 0
    for code in codes:
        agency = agencies[code]
        aset = primary.get(agency.pk)
        if aset is None:
            services.create_account_set(user=clerk, data=services.AccountSetInput(
                code=account_set_code(code), name=f"{agency.name}账套", start_year=year, agency_id=agency.pk,
                supervisor="财务负责人", note="演示数据"))
            created += 1
        elif aset.last_year is not None and aset.last_year == year - 1:
            services.open_year(account_set_id=aset.pk, year=year, user=clerk)
            opened += 1
    openings = 0
    for aset in AccountSet.objects.filter(agency__code__in=codes, is_primary=True):
        openings += _seed_openings(aset, year, clerk)
    return {"created": created, "opened": opened, "openings": openings}


def opening_figures(agency_code: str) -> list[tuple[str, Decimal]]:
    """Balanced demo openings (account code, amount in the account's balance direction)."""
    n = int(agency_code[-3:]) if agency_code[-3:].isdigit() else 1
    bank = Decimal(180_000 + 7_500 * n)
    assets = Decimal(1_200_000 + 50_000 * n)
    depreciation = (assets * Decimal("0.35")).quantize(Decimal("0.01"))
    surplus = bank + assets - depreciation
    return [("1002", bank), ("1601", assets), ("1602", depreciation), ("3001", surplus),
            ("800102", bank), ("820204", bank)]


def _seed_openings(aset, year: int, clerk) -> int:
    from fmis.accounting import services
    from fmis.accounting.models import FiscalYear, OpeningBalance, Period

    if not Period.objects.filter(account_set=aset, year=year).exists():
        return 0
    if (OpeningBalance.objects.filter(account_set=aset, year=year).exists()
            or FiscalYear.objects.filter(account_set=aset, year=year).exclude(opening_status="draft").exists()):
        return 0
    for code, amount in opening_figures(aset.agency.code):
        services.set_opening_balance(account_set_id=aset.pk, year=year, user=clerk,
                                     row=services.OpeningInput(account_code=code, amount=amount))
    services.post_opening_balances(account_set_id=aset.pk, year=year, user=clerk)
    return 1
