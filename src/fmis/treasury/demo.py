"""Demo treasury set-up and payments for the demo province (``fmis seed`` calls ``seed_demo``).

* the treasury configuration of every demo region for the current year (no plan control, SM2);
* the zero-balance accounts payments are made from: the finance direct-payment account of each
  region and the authorized-payment account of each agency with demo indicators, all at the
  first demo agent bank (中国工商银行, code 901), whose voucher endpoint is the bank simulator
  (``http://127.0.0.1:<FMIS_BANKSIM_PORT, default 8765>/vouchers``);
* a handful of payment applications of the first two demo units, one in each state a visitor
  should find: a draft, one submitted and waiting in the treasury division's inbox, and one paid
  with the bank's receipt (the seed plays the bank: it applies the receipt through the bank
  service and marks the voucher message delivered, so the simulator does not pay it twice).

Everything goes through the treasury services with the demo users (province treasury division,
unit accountants, the bank operator), so rules, the indicator ledger, audit and machine vouchers
apply. Idempotent: what exists is taken from its current state onwards.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from fmis.indicators.demo import province_plan
from fmis.orgs import demo as orgs_demo

BANKSIM_PORT_ENV = "FMIS_BANKSIM_PORT"
DEFAULT_BANKSIM_PORT = 8765
DEMO_BANK_CODE = orgs_demo.BANKS[0][0]
DEMO_BANK_OPERATOR = f"{orgs_demo.BANKS[0][2]}_operator"
TOKEN_NAME = "banksim-demo"


@dataclass(frozen=True)
class ApplicationSpec:
    target: str  # draft / submitted / paid
    indicator_suffix: str  # "01" authorized, "02" direct
    payee_name: str
    payee_account: str
    payee_bank: str
    purpose: str
    amount: Decimal


APPLICATIONS = (
    ApplicationSpec("paid", "01", "示例印务有限公司", "6222021001000012345", "中国工商银行示例省分行营业部",
                    "演示：印制政策宣传资料", Decimal("23500.00")),
    ApplicationSpec("submitted", "02", "示例建筑工程有限公司", "6228480012000067890", "中国农业银行示例省分行营业部",
                    "演示：办公楼屋面防水维修", Decimal("56000.00")),
    ApplicationSpec("draft", "01", "示例办公用品有限公司", "6217001003000024680", "中国建设银行示例省分行营业部",
                    "演示：购置办公用品", Decimal("12800.00")),
)
UNITS_WITH_APPLICATIONS = 2


def banksim_port() -> int:
    return int(os.environ.get(BANKSIM_PORT_ENV) or DEFAULT_BANKSIM_PORT)


def banksim_url(port: int | None = None) -> str:
    """Where the simulator accepts voucher messages."""
    return f"http://127.0.0.1:{port or banksim_port()}/vouchers"


def _digits(code: str) -> str:
    return "".join(ch for ch in code if ch.isdigit())


def payer_account_no(region_code: str, agency_code: str | None) -> str:
    """A deterministic zero-balance account number (16–20 digits)."""
    return f"{DEMO_BANK_CODE}{_digits(agency_code or region_code + '000')}01"


def _user(username: str):
    from fmis.iam.models import User

    return User.objects.get(username=username)


def point_bank_at_simulator(*, port: int | None = None) -> bool:
    """Set the demo bank's voucher endpoint to the simulator (as the province treasury division).
    Returns whether anything changed."""
    from fmis.orgs.models import Bank
    from fmis.treasury import services
    from fmis.treasury.models import BankEndpoint

    url = banksim_url(port)
    bank = Bank.objects.get(code=DEMO_BANK_CODE)
    if BankEndpoint.objects.filter(bank=bank, url=url, is_active=True).exists():
        return False
    services.set_bank_endpoint(bank_id=bank.pk, url=url, user=_province_treasurer())
    return True


def banksim_token() -> str:
    """A fresh API token named ``banksim-demo`` for the demo bank operator, for the simulator that
    ``fmis demo`` starts; the operator's earlier tokens of that name are revoked. Returns the raw
    token (shown only now, never stored)."""
    from fmis.iam import services as iam_services
    from fmis.iam.models import ApiToken

    operator = _user(DEMO_BANK_OPERATOR)
    for token_id in ApiToken.objects.filter(user=operator, name=TOKEN_NAME, revoked_at__isnull=True
                                            ).values_list("pk", flat=True):
        iam_services.revoke_token(user=operator, token_id=token_id)
    return iam_services.create_token(user=operator, name=TOKEN_NAME)[1]


def _province_treasurer():
    """The province treasury division's demo user (its scope covers the whole demo province)."""
    from fmis.indicators.demo import division_user

    return _user(division_user(province_plan("small"), "treasury_division", orgs_demo.DEMO_PROVINCE_CODE))


def _seed_config(p: orgs_demo.Plan, year: int, user) -> int:
    from fmis.indicators.demo import demo_agency_codes
    from fmis.orgs.models import Agency, Bank, Region
    from fmis.treasury import services
    from fmis.treasury.models import PayerAccount, TreasuryConfig

    changed = 0
    regions = dict(Region.objects.filter(code__in=[r.code for r in p.regions]).values_list("code", "id"))
    have_config = set(TreasuryConfig.objects.filter(region_id__in=regions.values(), fiscal_year=year)
                      .values_list("region_id", flat=True))
    for r in p.regions:
        if regions[r.code] not in have_config:
            services.set_config(region_id=regions[r.code], fiscal_year=year, payment_plan_enabled=False,
                                procurement_plan_enabled=False, signing_suite="sm2", user=user)
            changed += 1
    bank = Bank.objects.get(code=DEMO_BANK_CODE)
    agencies = {a.code: a for a in p.agencies}
    agency_ids = dict(Agency.objects.filter(code__in=demo_agency_codes(p.scale)).values_list("code", "id"))
    wanted = [(r.code, None, "direct", f"{orgs_demo.finance_department_name(r)}零余额账户") for r in p.regions]
    wanted += [(agencies[c].region_code, c, "authorized", f"{agencies[c].name}零余额账户")
               for c in demo_agency_codes(p.scale)]
    existing = {(a.region_id, a.agency_id, a.pay_mode): (a.bank_id, a.account_no, a.account_name)
                for a in PayerAccount.objects.filter(region_id__in=regions.values())}
    for region_code, agency_code, pay_mode, name in wanted:
        agency_id = agency_ids[agency_code] if agency_code else None
        number = payer_account_no(region_code, agency_code)
        if existing.get((regions[region_code], agency_id, pay_mode)) == (bank.pk, number, name):
            continue
        services.set_payer_account(region_id=regions[region_code], agency_id=agency_id, pay_mode=pay_mode,
                                   bank_id=bank.pk, account_no=number, account_name=name, user=user)
        changed += 1
    return changed


def _seed_applications(p: orgs_demo.Plan, year: int) -> int:
    from fmis.indicators.demo import division_user, unit_agency_codes
    from fmis.indicators.models import Indicator
    from fmis.platform.models import OutboxMessage
    from fmis.treasury import services
    from fmis.treasury.models import PaymentApplication, PaymentVoucher

    A = PaymentApplication.Status
    steps = 0
    accountants = {u.agency_code: u.username for u in p.users if u.role_code == "unit_accountant"}
    banker = _user(DEMO_BANK_OPERATOR)
    units = [c for c in unit_agency_codes(p.scale) if len(c) == 9][:UNITS_WITH_APPLICATIONS]
    for code in units:
        accountant = _user(accountants[code])
        treasurer = _user(division_user(p, "treasury_division", accountant.region.code))
        for spec in APPLICATIONS:
            ind = Indicator.objects.get(fiscal_year=year, code=f"ZB{year}{code}{spec.indicator_suffix}",
                                        agency__code=code)
            app = PaymentApplication.objects.filter(fiscal_year=year, agency_id=ind.agency_id,
                                                    purpose=spec.purpose).first()
            if app is None:
                app = services.create_application(
                    user=accountant, indicator_id=ind.pk, payee_name=spec.payee_name,
                    payee_account=spec.payee_account, payee_bank=spec.payee_bank, amount=spec.amount,
                    settle_mode="1", purpose=spec.purpose)
                steps += 1
            if spec.target == "draft":
                continue
            if app.status == A.DRAFT:
                app = services.submit_application(application_id=app.pk, user=accountant, comment="请审核")
                steps += 1
            if spec.target == "submitted":
                continue
            if app.status == A.SUBMITTED:
                app = services.approve_application(application_id=app.pk, user=treasurer, comment="同意支付")
                steps += 1
            if app.status == A.VOUCHER_ISSUED:
                voucher = PaymentVoucher.objects.select_related("bank").get(application=app)
                services.apply_receipt(user=banker, message={
                    "message_type": "receipt", "version": "1.0", "bank_code": voucher.bank.code,
                    "serial_no": f"DEMO{voucher.number}", "voucher_no": voucher.number, "result": "success",
                    "amount": str(voucher.amount), "value_date": timezone.localdate().isoformat()})
                OutboxMessage.objects.filter(topic="bank.voucher", key=voucher.number,
                                             status=OutboxMessage.Status.PENDING).update(
                    status=OutboxMessage.Status.SENT, sent_at=timezone.now(), last_error="")
                steps += 1
    return steps


def seed_demo(*, scale: str, write: Callable[[str], object] | None = None) -> dict[str, int]:
    """Treasury configuration, the simulator endpoint and the demo applications (see the module
    docstring). Returns how many configuration rows and application steps were written."""
    from fmis.indicators import demo as indicators_demo

    indicators_demo.seed_demo(scale=scale, write=write)  # the indicators (and books) the payments need
    p = province_plan(scale)
    year = timezone.localdate().year
    user = _province_treasurer()
    config = _seed_config(p, year, user) + int(point_bank_at_simulator())
    return {"config": config, "applications": _seed_applications(p, year)}
