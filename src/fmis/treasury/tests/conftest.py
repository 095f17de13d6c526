"""A small treasury world: a region, a unit with an executable indicator, an agent bank with its
zero-balance accounts, and the three kinds of users (unit accountant, treasury division, bank)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from fmis.indicators import ledger
from fmis.indicators.models import Indicator, Movement

PASSWORD = "Passw0rd!x"


@dataclass
class World:
    region: object
    agency: object
    other_agency: object
    bank: object
    indicator: Indicator
    accountant: object
    treasurer: object
    banker: object
    admin: object
    token: str

    def indicator_like(self, code: str, amount: str = "10000.00", **kw) -> Indicator:
        return make_indicator(self, code, amount, **kw)


def make_indicator(w, code: str, amount: str = "10000.00", *, agency=None, status="executable", **kw) -> Indicator:
    fields = {"fiscal_year": 2026, "region": w.region, "agency": agency or w.agency, "code": code, "title": f"指标{code}",
                  "func_code": "2010101", "gov_eco_code": "50201", "dept_eco_code": "30201", "fund_type": "1",
                  "indicator_type": "1", "pay_mode": Indicator.PayMode.AUTHORIZED, "status": status, "created_by": w.admin}
    fields.update(kw)
    ind = Indicator.objects.create(**fields)
    ledger.move(indicator_id=ind.pk, kind=Movement.Kind.ISSUE, amount=Decimal(amount), user=w.admin)
    return ind


def make_token(user) -> str:
    from fmis.iam.models import ApiToken
    from fmis.iam.tokens import hash_token, new_raw_token

    raw = new_raw_token()
    ApiToken.objects.create(user=user, name="bank", prefix=raw[:12], key_hash=hash_token(raw))
    return raw


@pytest.fixture
def world(make_region, make_agency, make_role, make_user) -> World:
    from fmis.dictionary.services import preload_standard
    from fmis.iam.functions import all_functions
    from fmis.iam.models import User
    from fmis.orgs.models import Bank
    from fmis.treasury import services

    preload_standard()
    region = make_region("990100", "示例市")
    agency = make_agency("990100101", region, "示例局")
    other = make_agency("990100102", region, "另一单位")
    bank = Bank.objects.create(code="B01", name="示例银行")
    codes = [f.code for f in all_functions()]
    unit_role = make_role("unit_acc", [c for c in codes if c.startswith(("treasury.application.", "treasury.plan."))]
                          + ["workflow.inbox"],
                          rules=[("agency", "own_agency_tree", [])])
    treasury_role = make_role("treasury", [c for c in codes if c.startswith("treasury.")] + ["workflow.inbox"],
                              rules=[("region", "own_region_tree", [])])
    bank_role = make_role("bank_op", [c for c in codes if c.startswith("treasury.bank.")]
                          + ["treasury.voucher.view"], rules=[("bank", "own_bank", [])])
    admin = make_user("trs_admin", user_type=User.UserType.SUPER, region=region)
    accountant = make_user("acc1", roles=[unit_role], agency=agency, name="单位会计")
    treasurer = make_user("trs1", roles=[treasury_role], region=region, org_type=User.OrgType.FINANCE, name="国库处")
    banker = make_user("bank1", roles=[bank_role], bank=bank, org_type=User.OrgType.BANK, name="银行经办")
    services.set_payer_account(region_id=region.pk, agency_id=agency.pk, pay_mode="authorized", bank_id=bank.pk,
                               account_no="6222000011112222", account_name="示例局零余额账户", user=admin)
    services.set_payer_account(region_id=region.pk, agency_id=None, pay_mode="direct", bank_id=bank.pk,
                               account_no="6222000099990000", account_name="示例市财政零余额账户", user=admin)
    w = World(region, agency, other, bank, None, accountant, treasurer, banker, admin, make_token(banker))
    w.indicator = make_indicator(w, "IND-1")
    return w


def apply(w: World, amount="100.00", indicator=None, **kw):
    from fmis.treasury import services

    fields = {"user": w.accountant, "indicator_id": (indicator or w.indicator).pk, "payee_name": "某某公司",
                  "payee_account": "6228480012345678", "payee_bank": "示例银行营业部", "amount": amount, "settle_mode": "1",
                  "purpose": "办公用品", "plan_month": 3}
    fields.update(kw)
    return services.create_application(**fields)


def to_voucher(w: World, amount="100.00", indicator=None, **kw):
    """Create, submit and approve an application; its voucher."""
    from fmis.treasury import services

    app = apply(w, amount, indicator, **kw)
    services.submit_application(application_id=app.pk, user=w.accountant)
    services.approve_application(application_id=app.pk, user=w.treasurer)
    app.refresh_from_db()
    return app.voucher


def receipt(voucher, serial: str, amount: str, result: str = "success", **kw) -> dict:
    msg = {"message_type": "receipt", "version": "1.0", "bank_code": voucher.bank.code, "serial_no": serial,
           "voucher_no": voucher.number, "result": result, "amount": amount, "value_date": "2026-03-15"}
    if result == "failed":
        msg["reason"] = "收款账户状态异常"
    msg.update(kw)
    return msg


def make_user_like(user, username: str):
    """Another user with the same organisation and roles as `user`."""
    from fmis.iam.models import User, UserRole

    other = User.objects.create_user(username, PASSWORD, name=username, org_type=user.org_type,
                                     region=user.region, agency=user.agency, bank=user.bank)
    for ur in UserRole.objects.filter(user=user):
        UserRole.objects.create(user=other, role=ur.role)
    return other


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fmis_command() -> list[str]:
    exe = Path(sys.executable).parent / "fmis"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("fmis")
    return [found] if found else [sys.executable, "-c", "from fmis.cli import main; main()"]


@pytest.fixture
def banksim(live_server, world):
    """start(fail_rate=…, partial_rate=…, seed=…) runs the simulator process on a free port of
    127.0.0.1, points the bank's endpoint at it and returns its URL; stopped after the test."""
    procs: list[subprocess.Popen] = []

    def start(*, fail_rate: float = 0.0, partial_rate: float = 0.0, seed: int = 1) -> str:
        from fmis.treasury import services

        port = free_port()
        proc = subprocess.Popen(
            [*fmis_command(), "manage", "banksim", "--port", str(port), "--callback",
             f"{live_server.url}/api/v1/treasury/bank", "--token", world.token, "--fail-rate", str(fail_rate),
             "--partial-rate", str(partial_rate), "--seed", str(seed)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ.copy(), text=True)
        procs.append(proc)
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    raise RuntimeError(f"banksim did not start: {proc.stdout.read() if proc.stdout else ''}") from None
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}"
        services.set_bank_endpoint(bank_id=world.bank.pk, url=f"{url}/vouchers", user=world.admin)
        return url

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def wait_for(predicate, seconds: float = 60, what: str = "condition"):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
