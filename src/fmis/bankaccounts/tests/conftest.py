"""Fixtures: a province with a county, a supervising department and a unit under it, two banks,
and users for each role of the account workflow (unit, 主管部门, 国库处, bank, readers)."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import pytest

from fmis.bankaccounts import functions as F

UNIT_FUNCTIONS = [F.ACCOUNT_VIEW, F.APPLICATION_VIEW, F.INSPECTION_VIEW, F.APPLY, "workflow.inbox"]
READER_FUNCTIONS = [c for c in (F.ACCOUNT_VIEW, F.APPLICATION_VIEW, F.INSPECTION_VIEW, F.CHANGE_VIEW, F.EXCHANGE_VIEW,
                                F.ABSENCE_VIEW, F.EXCEPTION_VIEW, F.RECONCILE_VIEW, F.REPORT_DEPT, F.REPORT_UNIT,
                                F.REPORT_BANK, F.REPORT_INITIAL, F.REPORT_FLOWS, F.REPORT_BALANCES, F.REPORT_COUNTS,
                                F.REPORT_CHANGES, F.REPORT_CHANGE_DETAIL)]


@dataclass
class World:
    province: object
    county: object
    dept: object  # supervising department (province)
    unit: object  # subordinate unit of dept
    county_dept: object
    bank: object
    bank2: object
    branch: object
    applicant: object
    supervisor: object
    treasury: object
    county_reader: object
    province_reader: object
    operator: object
    county_unit_user: object


@pytest.fixture
def world(make_region, make_agency, make_role, make_user) -> World:
    from fmis.bankaccounts.functions import FUNCTIONS
    from fmis.orgs.models import Bank, BankBranch

    province = make_region("990000", "示例省")
    county = make_region("990101", "一市一县", level=3, parent=province)
    dept = make_agency("990000101", province, "示例省教育厅")
    unit = make_agency("990000101001", province, "示例省第一中学", parent=dept)
    county_dept = make_agency("990101101", county, "一县教育局")
    bank = Bank.objects.create(code="901", name="中国工商银行")
    bank2 = Bank.objects.create(code="902", name="中国农业银行")
    branch = BankBranch.objects.create(bank=bank, code="901990000001", name="工行示例省分行", region=province)
    all_codes = [f.code for f in FUNCTIONS] + ["workflow.inbox"]
    r_unit = make_role("ba_unit", UNIT_FUNCTIONS, rules=[("agency", "own_agency", [])])
    r_sup = make_role("ba_sup", [*UNIT_FUNCTIONS, F.UNIT_REVIEW], rules=[("agency", "own_agency_tree", [])])
    r_tre = make_role("ba_treasury", all_codes, rules=[("region", "own_region_tree", [])])
    r_read = make_role("ba_reader", [*READER_FUNCTIONS], rules=[("region", "own_region_tree", [])])
    r_bank = make_role("ba_bank", [F.BANK_DELIVER], rules=[("bank", "own_bank", [])])

    def user(name, role, **kw):  # no password: hashing would dominate the test time
        return make_user(name, roles=[role], password=None, **kw)

    return World(
        province=province, county=county, dept=dept, unit=unit, county_dept=county_dept, bank=bank, bank2=bank2,
        branch=branch,
        applicant=user("applicant", r_unit, agency=unit),
        supervisor=user("supervisor", r_sup, agency=dept),
        treasury=user("treasury", r_tre, region=province),
        county_reader=user("county_reader", r_read, region=county),
        province_reader=user("province_reader", r_read, region=province),
        operator=user("icbc_op", r_bank, region=province, bank=bank),
        county_unit_user=user("county_unit", r_unit, agency=county_dept),
    )


def register(world, *, agency=None, number="6222000000000001", nature="general", bank=None, opening=None,
             currency="CNY", opened_on=dt.date(2020, 1, 2)):
    from fmis.bankaccounts import services

    data = services.AccountData(agency_id=(agency or world.unit).pk, number=number, name="测试账户",
                                bank_id=(bank or world.bank).pk, nature=nature, opened_on=opened_on,
                                currency=currency)
    op = services.OpeningItems(initialized_on=opened_on, items=opening) if opening else None
    return services.register_account(user=world.treasury, data=data, opening=op)


def flows_csv(bank_code: str, day: dt.date, rows: list[tuple], *, encoding: str = "UTF-8") -> bytes:
    """rows: (account_no, serial, direction, amount[, time]) → a CSV flows message."""
    head = (f"# fmis-bank-message; type=flows; version=1.0; bank={bank_code}; date={day.isoformat()}; "
            f"encoding={encoding}\n"
            "account_no,serial_no,tx_time,direction,amount,currency,balance,counterparty_name,counterparty_account,"
            "summary\n")
    body = "".join(f"{r[0]},{r[1]},{r[4] if len(r) > 4 else day.isoformat() + 'T10:00:00'},{r[2]},{r[3]},CNY,,"
                   f"对方单位,6200000000001,摘要\n" for r in rows)
    codec = "gbk" if encoding.upper() == "GBK" else "utf-8"
    return (head + body).encode(codec)


def do_import(user, data: bytes, **kw):
    from fmis.bankaccounts import services

    return services.import_message(user=user, stream=io.BytesIO(data), **kw)
