"""Demo books for the demo province (``fmis seed`` calls ``seed_demo``).

Every agency that has a demo unit accountant gets its primary account set for the current year
(standard chart, the 记 voucher category, machine vouchers posted automatically), opened by the
province's accounting centre through ``create_account_set``, so the quota arrivals and payments of
the demo post machine vouchers into the unit's books. Idempotent: an agency that already has a
primary account set is left alone (a later year is opened when the set stops at the year before).
"""

from __future__ import annotations

from collections.abc import Callable

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
    return {"created": created, "opened": opened}
