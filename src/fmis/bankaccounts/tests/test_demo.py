"""The demo seed: accounts for the demo units, a week of flows with a gap and an exception;
seeding again changes nothing."""

from __future__ import annotations

import pytest

from fmis.bankaccounts import selectors
from fmis.bankaccounts.demo import seed_demo
from fmis.bankaccounts.models import BankAccount, BankFlow, ExceptionMessage, ImportBatch
from fmis.iam.models import User
from fmis.orgs import demo as orgs_demo

pytestmark = pytest.mark.django_db


def test_demo_seed_is_realistic_and_idempotent():
    orgs_demo.seed(scale="small")
    first = seed_demo(scale="small")
    assert first["accounts"] > 40 and first["messages"] > 0 and first["refused"] == 1
    counts = (BankAccount.objects.count(), BankFlow.objects.count(), ImportBatch.objects.count(),
              ExceptionMessage.objects.count())
    assert counts[1] > 0 and counts[3] == 1
    treasury = User.objects.get(username="prov_treasury")
    absent = selectors.absent_yesterday(user=treasury)
    assert [b.code for b in absent] == ["903"]
    again = seed_demo(scale="small")
    assert again == {"accounts": 0, "messages": 0, "refused": 0}
    assert counts == (BankAccount.objects.count(), BankFlow.objects.count(), ImportBatch.objects.count(),
                      ExceptionMessage.objects.count())
    # the banks' reported balances agree with the register's
    import datetime as dt

    from django.utils import timezone

    yesterday = timezone.localdate() - dt.timedelta(days=1)
    assert selectors.balance_mismatches(user=treasury, day=yesterday) == []
