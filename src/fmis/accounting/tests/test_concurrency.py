"""Threads entering and posting into one account set at once: numbers stay unique and gap-free,
balances exact."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from fmis.accounting import services
from fmis.accounting.models import Balance, Voucher
from fmis.accounting.tests.conftest import build_books, cr, dr


@pytest.mark.django_db(transaction=True)
def test_parallel_entry_and_posting(make_region, make_agency, make_role, make_user):
    from fmis.dictionary.services import preload_standard

    preload_standard()
    books = build_books(make_region, make_agency, make_role, make_user)
    amounts = [Decimal(i) + Decimal("0.25") for i in range(1, 25)]

    def work(amount):
        try:
            v = books.voucher([dr("5001", amount), cr("1011", amount), dr("720101", amount), cr("800101", amount)])
            services.audit_voucher(voucher_id=v.pk, user=books.auditor)
            services.post_voucher(voucher_id=v.pk, user=books.auditor)
            return v.number
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(work, amounts))
    assert sorted(numbers) == list(range(1, len(amounts) + 1))
    assert sorted(Voucher.objects.filter(account_set=books.aset).values_list("number", flat=True)) == \
        list(range(1, len(amounts) + 1))
    b = Balance.objects.get(period__number=3, account__code="720101")
    assert b.debit == sum(amounts) == b.closing
    assert Balance.objects.get(period__number=13, account__code="800101").opening == -sum(amounts)
    assert services.check_balances(books.aset.pk) == []


@pytest.mark.django_db(transaction=True)
def test_parallel_post_unpost_and_close(make_region, make_agency, make_role, make_user):
    """Posting and un-posting the same accounts from many threads while another thread keeps trying
    to close the period: no raw database error, balances exact, and the period only closes when
    everything in it is posted."""
    import random

    from fmis.accounting.models import Period
    from fmis.dictionary.services import preload_standard
    from fmis.platform.errors import DomainError

    preload_standard()
    books = build_books(make_region, make_agency, make_role, make_user)
    lines = [dr("5001", 7), cr("1011", 7), dr("720101", 7), cr("800101", 7)]
    ids = []
    for _ in range(12):
        v = books.voucher(lines)
        services.audit_voucher(voucher_id=v.pk, user=books.auditor)
        ids.append(v.pk)
    march = Period.objects.get(account_set=books.aset, year=2026, number=3)
    for n in (1, 2):
        services.close_period(period_id=Period.objects.get(account_set=books.aset, year=2026, number=n).pk,
                              user=books.auditor)
    raw: list[str] = []

    def flip(seed):
        rnd = random.Random(seed)
        try:
            for _ in range(6):
                pk = rnd.choice(ids)
                try:
                    if Voucher.objects.get(pk=pk).status == "posted":
                        services.unpost_voucher(voucher_id=pk, user=books.auditor)
                    else:
                        services.post_voucher(voucher_id=pk, user=books.auditor)
                except DomainError:
                    pass
                except Exception as exc:  # noqa: BLE001 - a raw error is what this test looks for
                    raw.append(repr(exc))
        finally:
            connection.close()

    def closer():
        try:
            for _ in range(10):
                try:
                    services.close_period(period_id=march.pk, user=books.auditor)
                    return
                except DomainError:
                    pass
                except Exception as exc:  # noqa: BLE001
                    raw.append(repr(exc))
        finally:
            connection.close()

    with ThreadPoolExecutor(7) as pool:
        futures = [pool.submit(flip, s) for s in range(6)] + [pool.submit(closer)]
        for f in futures:
            f.result()
    assert raw == []
    assert services.check_balances(books.aset.pk) == []
    march.refresh_from_db()
    if march.status == "closed":
        assert set(Voucher.objects.filter(period=march).values_list("status", flat=True)) == {"posted"}
    posted = Voucher.objects.filter(pk__in=ids, status="posted").count()
    assert Balance.objects.get(period=march, account__code="720101").closing == Decimal(7) * posted
