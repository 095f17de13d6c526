"""Demo agent-bank budget business for the demo province (``fmis seed`` calls ``seed_demo``).

The first demo agent bank (中国工商银行, code 901) joins the demo consortium as a member; the
province's treasury division defines the business types and flow rules; the bank registers six
province-level budget units as merchants (four with the management function, two without), the
customers they pay (water, power, telecom, tax) and its suspense account, credits the managed
merchants' accounts and opens the traditional core-banking accounts of the rest; then a few days of
budget payments run through every branch of seed 004: ledger increase/decrease, the suspense account
with its refund, the traditional core path, a pre-application approved and used, one waiting for
review and one rejected.

Everything goes through the bank-side services with the demo users (the province treasury
division, the bank's operator), so rules, signatures, the ledger and the projection apply.
Idempotent: nothing happens once merchants exist, or when the consortium does not run the
bank-side contracts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.utils import timezone

from fmis.orgs import demo as orgs_demo

BANK_CODE = orgs_demo.BANKS[0][0]
BANK_OPERATOR = f"{orgs_demo.BANKS[0][2]}_operator"
SUSPENSE = f"BGL{BANK_CODE}CNY"

BUSINESS_TYPES = [
    # code, name, budget types
    ("utilities", "水电费", ["water", "electricity"]),
    ("telecom", "网络通讯费", ["network", "telephone"]),
    ("tax", "代扣个人所得税", ["iit"]),
]
CUSTOMERS = [
    # account, name, managed (has the management function), business type, budget type
    ("C{m}-WATER", "示例市自来水有限公司", True, "utilities", "water"),
    ("C{m}-POWER", "国网示例供电公司", False, "utilities", "electricity"),
    ("C{m}-NET", "示例通信有限公司", True, "telecom", "network"),
    ("C{m}-TAX", "国家税务总局示例省税务局", True, "tax", "iit"),
]


def _users():
    from fmis.iam.models import User
    from fmis.indicators.demo import province_plan

    plan = province_plan("small")
    treasury = next((u.username for u in plan.users if u.role_code == "treasury_division"
                     and u.region_code == orgs_demo.DEMO_PROVINCE_CODE), None)
    finance = User.objects.filter(username=treasury).first() if treasury else None
    bank = User.objects.filter(username=BANK_OPERATOR).first()
    admin = User.objects.filter(username=orgs_demo.SUPERUSER).first()
    return finance, bank, admin


def _consortium_runs_bankside() -> bool:
    from fmis.transfers.ledger.encoding import decode
    from fmis.transfers.models import ConsortiumConfig

    cfg = ConsortiumConfig.objects.first()
    if cfg is None:
        return False
    modules = decode(bytes(cfg.genesis))["config"].get("contract_modules") or []
    return "fmis.bankside.contracts" in modules


def _ok(outcome, what: str) -> None:
    if outcome.status != "valid":
        raise RuntimeError(f"bankside demo: {what} was not accepted by the ledger: {outcome.reason} {outcome.detail}")


def seed_demo(*, scale: str, write: Callable[[str], object] | None = None) -> dict[str, int]:
    from fmis.bankside import ledger, services
    from fmis.bankside.models import Merchant, Payment, PreApplication
    from fmis.orgs.models import Agency
    from fmis.transfers import local
    from fmis.transfers import services as transfers
    from fmis.transfers.models import JoinRequest, Member

    if Merchant.objects.exists() or not _consortium_runs_bankside():
        return {"created": 0}
    finance, bank, admin = _users()
    if finance is None or bank is None or admin is None:
        return {"created": 0}
    province = orgs_demo.DEMO_PROVINCE_CODE

    if not Member.objects.filter(identity_id=BANK_CODE, role="bank", revoked_block__isnull=True).exists():
        jr = JoinRequest.objects.filter(identity_id=BANK_CODE, status=JoinRequest.Status.PENDING).first()
        if jr is None:
            jr = services.join_consortium_as_bank(user=admin, bank_code=BANK_CODE)
        transfers.approve_join_request(user=finance, request_id=jr.pk, comment="代理银行入盟")
        local.flush()

    for code, name, budget_types in BUSINESS_TYPES:
        _ok(services.define_business_type(user=finance, code=code, name=name, budget_types=budget_types),
            f"business type {code}")
    _ok(services.open_account(user=bank, kind="suspense", account_no=SUSPENSE, name="待清算财政款项（内部账户）"),
        "suspense account")

    agencies = list(Agency.objects.filter(region__code=province, status=Agency.Status.ACTIVE)
                    .order_by("code")[:6])
    today = timezone.localdate()
    days = [today - dt.timedelta(days=n) for n in (3, 2, 1, 0)]
    merchants: list[tuple[Agency, str, bool]] = []
    for i, agency in enumerate(agencies):
        managed = i < 4
        merchant_no = f"M{agency.code}"
        account = f"62220{agency.code}"
        _ok(services.register_merchant(user=bank, merchant_no=merchant_no, name=agency.name, agency_code=agency.code,
                                       agency_name=agency.name, account_no=account, managed=managed),
            f"merchant {merchant_no}")
        if managed:
            _ok(services.fund(user=bank, account_no=account, amount=Decimal("800000.00"),
                              reference=f"ZB{days[0]:%Y%m%d}{agency.code}", date=days[0]), f"funds of {merchant_no}")
        else:
            services.open_core_account(user=bank, account_no=account, name=agency.name,
                                       opening_balance=Decimal("500000.00"))
        for acct, name, c_managed, _bt, _budget in CUSTOMERS:
            no = acct.format(m=agency.code)
            _ok(services.open_account(user=bank, kind="customer", account_no=no, name=name, merchant_no=merchant_no,
                                      managed=c_managed), f"customer {no}")
            if not c_managed:
                services.open_core_account(user=bank, account_no=no, name=name)
        _ok(services.set_rule(user=finance, merchant_no=merchant_no, business_type="utilities",
                              limit=Decimal("200000.00")), f"rule utilities {merchant_no}")
        _ok(services.set_rule(user=finance, merchant_no=merchant_no, business_type="telecom",
                              required_fields=["voucher_no", "purpose"]), f"rule telecom {merchant_no}")
        _ok(services.set_rule(user=finance, merchant_no=merchant_no, business_type="tax",
                              pre_application="pre_application", required_fields=["taxpayer_id"]),
            f"rule tax {merchant_no}")
        merchants.append((agency, merchant_no, managed))

    serial = 0

    def pay(agency: Agency, merchant_no: str, customer: tuple, amount: str, day: dt.date, **extra):
        nonlocal serial
        serial += 1
        acct, name, _m, bt, budget = customer
        return services.pay(
            user=bank, voucher_id=f"ZF{day:%Y%m%d}{serial:05d}", voucher_type="预算支付凭证",
            voucher_no=f"{day:%Y%m%d}{serial:05d}", fund_nature="111", payment_method="直接支付",
            func_class="2010101", settlement_method="转账", payee_account=acct.format(m=agency.code),
            payee_name=name, taxpayer_id="91990000MA0000001X", budget_type=budget, business_type=bt,
            purpose=f"{agency.name}{name}{day:%m}月费用", bank_serial=f"{BANK_CODE}{day:%Y%m%d}{serial:06d}",
            amount=Decimal(amount), currency="CNY", rate="1", date=day, time=f"{9 + serial % 8:02d}:{serial % 60:02d}:00",
            merchant_no=merchant_no, agency_code=agency.code, agency_name=agency.name, **extra)

    queued = []  # submitted together, applied by one run of the local node
    for n, (agency, merchant_no, _managed) in enumerate(merchants):
        for d, day in enumerate(days):
            queued.append(pay(agency, merchant_no, CUSTOMERS[0], f"{1200 + 37 * n + 11 * d}.50", day, apply=False))
            queued.append(pay(agency, merchant_no, CUSTOMERS[1], f"{3400 + 53 * n + 7 * d}.00", day, apply=False))
            if d % 2 == 0:
                queued.append(pay(agency, merchant_no, CUSTOMERS[2], f"{880 + 13 * n}.00", day, apply=False))
    local.flush()
    for q in queued:
        _ok(ledger.outcome(q.tx_id), f"payment {q.tx_id[:12]}")

    # suspense bookings (customer without the management function) are refunded through the core,
    # except today's, which wait for the bank's refund run
    for p in Payment.objects.filter(status=Payment.Status.SUSPENSE_BOOKED, date__lt=today).order_by("date", "block"):
        _ok(services.refund_suspense(user=bank, payment=p.ledger_id, date=p.date), "suspense refund")

    # individual income tax needs an approved pre-application
    agency, merchant_no, _ = merchants[0]
    pre = services.submit_pre_application(user=bank, merchant_no=merchant_no, business_type="tax",
                                          amount=Decimal("56000.00"), purpose=f"{today:%m}月代扣个人所得税")
    _ok(pre, "tax pre-application")
    _ok(services.review_pre_application(user=finance, pre_application=pre.tx_id, approve=True, comment="同意"),
        "approval")
    _ok(pay(agency, merchant_no, CUSTOMERS[3], "55832.16", today, pre_application=pre.tx_id), "tax payment")
    agency, merchant_no, _ = merchants[1]
    waiting = services.submit_pre_application(user=bank, merchant_no=merchant_no, business_type="tax",
                                              amount=Decimal("43000.00"), purpose=f"{today:%m}月代扣个人所得税")
    _ok(waiting, "waiting pre-application")
    rejected = services.submit_pre_application(user=bank, merchant_no=merchant_no, business_type="tax",
                                               amount=Decimal("990000.00"), purpose="代扣个人所得税（金额有误）")
    _ok(rejected, "rejected pre-application")
    _ok(services.review_pre_application(user=finance, pre_application=rejected.tx_id, approve=False,
                                        comment="金额与工资表不符，请核实后重新提交"), "rejection")
    counts = {"created": 1, "merchants": Merchant.objects.count(), "payments": Payment.objects.count(),
              "pre_applications": PreApplication.objects.count()}
    if write:
        write(f"bankside: {counts['merchants']} merchants at bank {BANK_CODE}, {counts['payments']} payments, "
              f"{counts['pre_applications']} pre-applications\n")
    return counts
