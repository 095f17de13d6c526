"""Fixtures for the accounting tests: the standard dictionary, a unit with an account set, users
holding the accounting functions (an entrant and an auditor), and line helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest

from fmis.accounting import services
from fmis.accounting.services import LineInput

ACCOUNTANT = ["accounting.set.view", "accounting.voucher.view", "accounting.voucher.create",
              "accounting.voucher.audit", "accounting.voucher.post", "accounting.voucher.reverse",
              "accounting.ledger.view", "accounting.close", "accounting.chart.manage", "accounting.opening.view",
              "accounting.opening.manage", "accounting.voucher.template", "accounting.voucher.renumber",
              "accounting.close.carry_forward", "accounting.close.year"]
ADMIN = [*ACCOUNTANT, "accounting.set.manage", "accounting.rule.manage"]
YEAR = 2026


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Books:
    region: object
    agency: object
    other_agency: object
    aset: object
    entrant: object
    auditor: object
    admin: object
    outsider: object

    def voucher(self, lines, *, on=dt.date(YEAR, 3, 15), user=None, **kw):
        return services.create_voucher(account_set_id=self.aset.pk, date=on, lines=lines, user=user or self.entrant,
                                       **kw)

    def post(self, lines, **kw):
        v = self.voucher(lines, **kw)
        services.audit_voucher(voucher_id=v.pk, user=self.auditor)
        return services.post_voucher(voucher_id=v.pk, user=self.auditor)


def dr(code, amount, aux=None, summary="测试"):
    return LineInput(account_code=code, debit=Decimal(str(amount)), summary=summary, aux=aux or {})


def cr(code, amount, aux=None, summary="测试"):
    return LineInput(account_code=code, credit=Decimal(str(amount)), summary=summary, aux=aux or {})


@pytest.fixture
def dictionary(db):
    from fmis.dictionary.services import preload_standard

    preload_standard()


def build_books(make_region, make_agency, make_role, make_user, *, kind="inst") -> Books:
    prov = make_region("980000", "测试省")
    region = make_region("980100", "测试市", parent=prov)
    agency = make_agency("980100101", region, "测试事业单位", kind=kind)
    other = make_agency("980100102", region, "另一单位")
    admin_role = make_role("acc_admin", ADMIN, rules=[("region", "own_region_tree", [])])
    unit_role = make_role("acc_unit", ACCOUNTANT, rules=[("agency", "own_agency", [])])
    admin = make_user("accadmin", roles=[admin_role], region=region)
    entrant = make_user("entrant", roles=[unit_role], agency=agency)
    auditor = make_user("auditor", roles=[unit_role], agency=agency)
    outsider = make_user("outsider", roles=[unit_role], agency=other)
    aset = services.create_account_set(
        data=services.AccountSetInput(code="1001", name="测试事业单位账套", start_year=YEAR, agency_id=agency.pk),
        user=admin)
    return Books(region, agency, other, aset, entrant, auditor, admin, outsider)


@pytest.fixture
def books(dictionary, make_region, make_agency, make_role, make_user) -> Books:
    return build_books(make_region, make_agency, make_role, make_user)
