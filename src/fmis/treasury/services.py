"""Every write of the treasury: plans, applications, vouchers, bank messages, refunds,
corrections, clearing and configuration.

Each public function is one transaction, retried as a whole on serialization failures and
deadlocks (``retry_on_conflict``), so no request fails with a raw database error. Amounts are
guarded in the database: the indicator by the ledger's conditional updates, plans and vouchers by
conditional updates here and CHECK constraints in ``models.py``. Review transitions run through
the platform's review chains; the state changes they cause live in the callbacks below
(``on_application_review`` / ``on_correction_review``), which run in the transition's transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from fmis.iam import permissions
from fmis.indicators import ledger
from fmis.indicators.models import Indicator, Movement
from fmis.orgs.models import Bank
from fmis.platform import audit, crypto, db, events, outbox
from fmis.platform.db import retry_on_conflict
from fmis.platform.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.jsonutil import canonical
from fmis.platform.money import ZERO, fmt, to_money
from fmis.platform.workflow import services as review
from fmis.treasury import messages
from fmis.treasury.models import (
    BankEndpoint,
    BankReceipt,
    BankStatement,
    ClearingStatement,
    Correction,
    PayerAccount,
    PaymentApplication,
    PaymentPlan,
    PaymentVoucher,
    PayMode,
    ProcurementPlan,
    Refund,
    SigningKey,
    TreasuryConfig,
)

K = Movement.Kind
AppStatus = PaymentApplication.Status
VStatus = PaymentVoucher.Status

APP_DOC = "treasury.payment_application"
CORRECTION_DOC = "treasury.correction"
VOUCHER_TOPIC = "bank.voucher"

EVENT_SETTLED = "treasury.payment_settled"
EVENT_REFUNDED = "treasury.payment_refunded"
EVENT_CORRECTED = "treasury.payment_corrected"

ACCOUNT_RE = re.compile(r"^[0-9]{8,32}$")
# a voucher's changing figures: refreshed alone, so the related rows already loaded stay cached
MONEY_FIELDS = ["paid", "released", "refunded", "corrected", "status", "settled_at"]


# --- helpers ------------------------------------------------------------------------------------

def next_number(*, region, fiscal_year: int, kind: str, prefix: str) -> str:
    """The next document number of `kind` in (region, year); one atomic upsert, no gaps by races."""
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO treasury_counter (region_id, fiscal_year, kind, value) VALUES (%s, %s, %s, 1) "
            "ON CONFLICT (region_id, fiscal_year, kind) DO UPDATE SET value = treasury_counter.value + 1 "
            "RETURNING value", [region.pk, fiscal_year, kind])
        n = cur.fetchone()[0]
    return f"{prefix}{region.code}{fiscal_year}{n:08d}"


def config_for(region_id: int, fiscal_year: int) -> TreasuryConfig | None:
    """The region's configuration for a year (read once per service transaction)."""
    return db.cached(("treasury.config", region_id, fiscal_year),
                     lambda: TreasuryConfig.objects.filter(region_id=region_id, fiscal_year=fiscal_year).first())


def _text(value, *, field: str, label: str, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed("treasury.field_required", f"{label}不能为空", field=field)
    if len(value) > max_length:
        raise ValidationFailed("treasury.field_too_long", f"{label}不能超过 {max_length} 个字符", field=field)
    return value


def _positive(amount, field: str = "amount") -> Decimal:
    amount = to_money(amount, field=field)
    if amount <= 0:
        raise ValidationFailed("treasury.amount_not_positive", f"金额必须大于零：{fmt(amount)}", field=field)
    return amount


def _event_payload(voucher: PaymentVoucher, *, amount: Decimal, source_type: str, source_id: int, source_no: str,
                   date: dt.date, indicator: Indicator | None = None, **extra) -> dict:
    app = voucher.application
    ind = indicator or voucher.indicator
    return {
        "amount": amount, "fiscal_year": voucher.fiscal_year, "region_code": voucher.region.code,
        "agency_code": voucher.agency.code, "agency_name": voucher.agency.name,
        "func_code": ind.func_code if indicator else app.func_code,
        "gov_eco_code": ind.gov_eco_code if indicator else app.gov_eco_code,
        "dept_eco_code": ind.dept_eco_code if indicator else app.dept_eco_code,
        "fund_type": ind.fund_type if indicator else app.fund_type, "pay_mode": app.pay_mode,
        "settle_mode": app.settle_mode, "indicator_id": ind.pk, "indicator_code": ind.code,
        "voucher_id": voucher.pk, "voucher_no": voucher.number, "application_id": app.pk,
        "application_no": app.number, "bank_code": voucher.bank.code, "payee_name": app.payee_name,
        "payee_account": app.payee_account, "source_type": source_type, "source_id": source_id,
        "source_no": source_no, "date": date, **extra,
    }


# --- configuration ------------------------------------------------------------------------------

@retry_on_conflict
def set_config(*, region_id: int, fiscal_year: int, payment_plan_enabled: bool, procurement_plan_enabled: bool,
               signing_suite: str = "sm2", user) -> TreasuryConfig:
    """Turn plan control on or off and choose the voucher signing suite for a region and year."""
    permissions.require(user, "treasury.config.manage")
    from fmis.orgs.models import Region

    region = Region.objects.restrict(user, "treasury.config.manage").filter(pk=region_id).first()
    if region is None:
        raise NotFound("treasury.region_not_found", "财政区划不存在", field="region")
    if signing_suite not in TreasuryConfig.Suite.values:
        raise ValidationFailed("treasury.suite_unknown", f"签名算法 {signing_suite} 不受支持", field="signing_suite")
    if not 2000 <= int(fiscal_year) <= 2100:
        raise ValidationFailed("treasury.year_invalid", f"预算年度不正确：{fiscal_year}", field="fiscal_year")
    cfg = TreasuryConfig.objects.select_for_update().filter(region=region, fiscal_year=fiscal_year).first()
    before = audit.snapshot(cfg)
    if cfg is None:
        cfg = TreasuryConfig(region=region, fiscal_year=fiscal_year)
    cfg.payment_plan_enabled = bool(payment_plan_enabled)
    cfg.procurement_plan_enabled = bool(procurement_plan_enabled)
    cfg.signing_suite = signing_suite
    cfg.save()
    db.invalidate(("treasury.config", region.pk, int(fiscal_year)))
    audit.record(user, "treasury.config.set", cfg, before=before)
    return cfg


@retry_on_conflict
def set_bank_endpoint(*, bank_id: int, url: str, is_active: bool = True, user) -> BankEndpoint:
    """Where `bank` receives voucher messages."""
    permissions.require(user, "treasury.config.manage")
    bank = Bank.objects.filter(pk=bank_id).first()
    if bank is None:
        raise NotFound("treasury.bank_not_found", "代理银行不存在", field="bank")
    url = _text(url, field="url", label="报文接收地址", max_length=300)
    if not re.match(r"^https?://[^\s/]+(/\S*)?$", url):
        raise ValidationFailed("treasury.url_invalid", f"报文接收地址格式不正确：{url}", field="url")
    ep = BankEndpoint.objects.select_for_update().filter(bank=bank).first()
    before = audit.snapshot(ep)
    if ep is None:
        ep = BankEndpoint(bank=bank)
    ep.url, ep.is_active = url, bool(is_active)
    ep.save()
    audit.record(user, "treasury.bank_endpoint.set", ep, before=before)
    return ep


@retry_on_conflict
def set_payer_account(*, region_id: int, agency_id: int | None, pay_mode: str, bank_id: int, account_no: str,
                      account_name: str, user) -> PayerAccount:
    """The zero-balance account payments of `pay_mode` are made from (agency empty = the finance account)."""
    permissions.require(user, "treasury.config.manage")
    from fmis.orgs.models import Agency, Region

    region = Region.objects.restrict(user, "treasury.config.manage").filter(pk=region_id).first()
    if region is None:
        raise NotFound("treasury.region_not_found", "财政区划不存在", field="region")
    agency = None
    if agency_id:
        agency = Agency.objects.filter(pk=agency_id, region=region).first()
        if agency is None:
            raise NotFound("treasury.agency_not_found", "预算单位不存在或不属于该区划", field="agency")
    if pay_mode not in PayMode.values:
        raise ValidationFailed("treasury.pay_mode_invalid", f"支付方式不正确：{pay_mode}", field="pay_mode")
    bank = Bank.objects.filter(pk=bank_id, is_agent=True, is_active=True).first()
    if bank is None:
        raise NotFound("treasury.bank_not_found", "代理银行不存在或已停用", field="bank")
    account_no = (account_no or "").strip()
    if not ACCOUNT_RE.match(account_no):
        raise ValidationFailed("treasury.account_invalid", f"账号格式不正确（8–32 位数字）：{account_no}",
                               field="account_no")
    account_name = _text(account_name, field="account_name", label="户名", max_length=200)
    acc = (PayerAccount.objects.select_for_update()
           .filter(region=region, agency=agency, pay_mode=pay_mode).first())
    before = audit.snapshot(acc)
    if acc is None:
        acc = PayerAccount(region=region, agency=agency, pay_mode=pay_mode)
    acc.bank, acc.account_no, acc.account_name = bank, account_no, account_name
    acc.save()
    db.invalidate(("treasury.payer_account", region.pk, agency.pk if agency else None, pay_mode))
    audit.record(user, "treasury.payer_account.set", acc, before=before)
    return acc


def payer_account_for(indicator: Indicator, pay_mode: str) -> PayerAccount | None:
    """The unit's account for authorized payment; the finance account for direct payment."""
    qs = PayerAccount.objects.select_related("bank").filter(region_id=indicator.region_id, pay_mode=pay_mode)
    if pay_mode == PayMode.AUTHORIZED:
        agency_id = indicator.agency_id
        qs = qs.filter(agency_id=agency_id)
    else:
        agency_id = None
        qs = qs.filter(agency__isnull=True)
    return db.cached(("treasury.payer_account", indicator.region_id, agency_id, pay_mode), qs.first)


# --- plans --------------------------------------------------------------------------------------

def _indicator_in_scope(user, function: str, indicator_id) -> Indicator:
    ind = (Indicator.objects.restrict(user, function).select_related("region", "agency")
           .filter(pk=indicator_id).first())
    if ind is None:
        raise NotFound("treasury.indicator_not_found", "指标不存在或不在您的权限范围内", field="indicator")
    return ind


@retry_on_conflict
def create_payment_plan(*, indicator_id: int, month: int, amount, user) -> PaymentPlan:
    """A unit applies for a monthly payment plan (用款计划) against one of its indicators."""
    permissions.require(user, "treasury.plan.create")
    ind = _indicator_in_scope(user, "treasury.plan.create", indicator_id)
    if ind.agency_id is None:
        raise ValidationFailed("treasury.indicator_no_agency", "指标尚未分配到预算单位", field="indicator")
    if not isinstance(month, int) or not 1 <= month <= 12:
        raise ValidationFailed("treasury.month_invalid", f"月份必须是 1–12：{month}", field="month")
    amount = _positive(amount)
    try:
        with transaction.atomic():
            plan = PaymentPlan.objects.create(region_id=ind.region_id, fiscal_year=ind.fiscal_year,
                                              agency_id=ind.agency_id, indicator=ind, month=month, applied=amount,
                                              created_by=user)
    except IntegrityError:
        raise Conflict("treasury.plan_exists", f"指标 {ind.code} 的 {month} 月用款计划已存在", field="month") from None
    audit.record(user, "treasury.plan.create", plan)
    return plan


@retry_on_conflict
def approve_payment_plan(*, plan_id: int, approved, user) -> PaymentPlan:
    """The treasury division approves (or re-approves) a monthly plan; never below what is used."""
    permissions.require(user, "treasury.review.plan")
    approved = to_money(approved, field="approved")
    if approved < 0:
        raise ValidationFailed("treasury.amount_negative", "批复金额不能为负数", field="approved")
    plan = PaymentPlan.objects.restrict(user, "treasury.review.plan").filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("treasury.plan_not_found", "用款计划不存在", field="plan")
    before = audit.snapshot(plan)
    n = PaymentPlan.objects.filter(pk=plan.pk, used__lte=approved).update(
        approved=approved, status=PaymentPlan.Status.APPROVED)
    if n == 0:
        plan.refresh_from_db()
        raise Conflict("treasury.plan_below_used", f"批复金额 {fmt(approved)} 少于已使用的 {fmt(plan.used)}",
                       field="approved")
    plan.refresh_from_db()
    audit.record(user, "treasury.plan.approve", plan, before=before)
    return plan


@retry_on_conflict
def create_procurement_plan(*, indicator_id: int, number: str, item: str, amount, user) -> ProcurementPlan:
    """A unit records a government procurement plan (政府采购计划) against one of its indicators."""
    permissions.require(user, "treasury.plan.create")
    ind = _indicator_in_scope(user, "treasury.plan.create", indicator_id)
    if ind.agency_id is None:
        raise ValidationFailed("treasury.indicator_no_agency", "指标尚未分配到预算单位", field="indicator")
    number = _text(number, field="number", label="采购计划编号", max_length=40)
    item = _text(item, field="item", label="采购品目", max_length=200)
    amount = _positive(amount)
    try:
        with transaction.atomic():
            plan = ProcurementPlan.objects.create(region_id=ind.region_id, fiscal_year=ind.fiscal_year,
                                                  agency_id=ind.agency_id, indicator=ind, number=number, item=item,
                                                  amount=amount, created_by=user)
    except IntegrityError:
        raise Conflict("treasury.procurement_exists", f"采购计划编号 {number} 已存在", field="number") from None
    audit.record(user, "treasury.procurement.create", plan)
    return plan


def _charge_plans(app: PaymentApplication) -> None:
    """When plan control is on, take the amount from the month's approved plan (and the procurement plan)."""
    cfg = config_for(app.region_id, app.fiscal_year)
    charged = {}
    if _plan_required(app.indicator):
        n = (PaymentPlan.objects
             .filter(indicator_id=app.indicator_id, month=app.plan_month, status=PaymentPlan.Status.APPROVED,
                     approved__gte=F("used") + app.amount)
             .update(used=F("used") + app.amount))
        if n == 0:
            plan = PaymentPlan.objects.filter(indicator_id=app.indicator_id, month=app.plan_month).first()
            if plan is None or plan.status != PaymentPlan.Status.APPROVED:
                raise Conflict("treasury.plan_missing", f"指标 {app.indicator.code} 没有已批复的 {app.plan_month} 月用款计划",
                               field="plan_month")
            raise Conflict("treasury.plan_insufficient",
                           f"{app.plan_month} 月用款计划余额 {fmt(plan.balance)} 不足 {fmt(app.amount)}", field="amount")
        charged["plan_charged"] = True
    if cfg and cfg.procurement_plan_enabled and app.procurement_plan_id:
        n = (ProcurementPlan.objects.filter(pk=app.procurement_plan_id, amount__gte=F("used") + app.amount)
             .update(used=F("used") + app.amount))
        if n == 0:
            p = ProcurementPlan.objects.get(pk=app.procurement_plan_id)
            raise Conflict("treasury.procurement_insufficient",
                           f"政府采购计划 {p.number} 余额 {fmt(p.amount - p.used)} 不足 {fmt(app.amount)}",
                           field="procurement_plan")
        charged["procurement_charged"] = True
    if charged:
        PaymentApplication.objects.filter(pk=app.pk).update(**charged)
        for k, v in charged.items():
            setattr(app, k, v)


def _uncharge_plans(app: PaymentApplication, amount: Decimal, *, reset: bool) -> None:
    """Give `amount` back to the plans the application was charged to."""
    if amount <= 0:
        return
    if app.plan_charged:
        PaymentPlan.objects.filter(indicator_id=app.indicator_id, month=app.plan_month,
                                   used__gte=amount).update(used=F("used") - amount)
    if app.procurement_charged and app.procurement_plan_id:
        ProcurementPlan.objects.filter(pk=app.procurement_plan_id, used__gte=amount).update(used=F("used") - amount)
    if reset and (app.plan_charged or app.procurement_charged):
        PaymentApplication.objects.filter(pk=app.pk).update(plan_charged=False, procurement_charged=False)
        app.plan_charged = app.procurement_charged = False


# --- payment applications -----------------------------------------------------------------------

def _controls():
    """The indicators' control table module, when it provides ``check_application``."""
    try:
        from fmis.indicators import controls
    except ImportError:
        return None
    return controls if hasattr(controls, "check_application") else None


def _plan_available(ind: Indicator, month: int):
    plan = PaymentPlan.objects.filter(indicator=ind, month=month, status=PaymentPlan.Status.APPROVED).first()
    return plan.balance if plan else None


def _plan_required(ind: Indicator) -> bool:
    cfg = config_for(ind.region_id, ind.fiscal_year)
    if cfg and cfg.payment_plan_enabled:
        return True
    controls = _controls()
    return bool(controls and hasattr(controls, "rule_for") and controls.rule_for(ind).require_plan)


_LABELS = {"func_code": "支出功能分类", "gov_eco_code": "政府支出经济分类", "dept_eco_code": "部门支出经济分类",
           "fund_type": "资金性质", "pay_mode": "支付方式"}
_ELEMENTS = {"func_code": "EXP_FUNC", "gov_eco_code": "GOV_ECO", "dept_eco_code": "DEPT_ECO"}


def _check_classifications(ind: Indicator, *, amount: Decimal, plan_month: int, **given) -> tuple[dict, list]:
    """The application's classifications (the indicator's where not given) and the control warnings.

    With the indicators' control table the applicable control rule decides (hard stop, warning or
    none; exact or subtree match); without it every classification must equal the indicator's.
    """
    values = {k: (v.strip() if isinstance(v, str) and v.strip() else getattr(ind, k)) for k, v in given.items()}
    for k, element in _ELEMENTS.items():
        if values[k] != getattr(ind, k):
            from fmis.dictionary.selectors import validate_value

            validate_value(element_code=element, code=values[k], field=k)
    controls = _controls()
    if controls is not None:
        # the month's plan matters only where the applicable rule requires one
        plan = _plan_available(ind, plan_month) if controls.rule_for(ind).require_plan else None
        found = controls.check_application(indicator=ind, amount=amount, agency_id=ind.agency_id,
                                           plan_available=plan, **values)
        return values, [{"code": w.code, "message": w.message, "field": w.field} for w in found or []]
    for k, v in values.items():
        if v != getattr(ind, k):
            raise ValidationFailed("treasury.classification_mismatch",
                                   f"{_LABELS[k]} {v} 与指标 {ind.code} 的 {getattr(ind, k)} 不一致", field=k)
    return values, []


@retry_on_conflict
def create_application(*, user, indicator_id: int, payee_name: str, payee_account: str, payee_bank: str, amount,
                       settle_mode: str, purpose: str, pay_mode: str | None = None, func_code: str | None = None,
                       gov_eco_code: str | None = None, dept_eco_code: str | None = None,
                       fund_type: str | None = None, plan_month: int | None = None,
                       procurement_plan_id: int | None = None) -> PaymentApplication:
    """A unit's payment application (支付申请) against an executable indicator, in draft.

    Classifications default to the indicator's; given ones must equal them, unless the indicators'
    control rules allow the economic classifications to differ.
    """
    permissions.require(user, "treasury.application.create")
    ind = _indicator_in_scope(user, "treasury.application.create", indicator_id)
    fields, values, warnings, proc = _application_fields(
        ind, payee_name=payee_name, payee_account=payee_account, payee_bank=payee_bank, amount=amount,
        settle_mode=settle_mode, purpose=purpose, pay_mode=pay_mode, func_code=func_code, gov_eco_code=gov_eco_code,
        dept_eco_code=dept_eco_code, fund_type=fund_type, plan_month=plan_month, procurement_plan_id=procurement_plan_id)
    number = next_number(region=ind.region, fiscal_year=ind.fiscal_year, kind="application", prefix="SQ")
    app = PaymentApplication.objects.create(
        region_id=ind.region_id, fiscal_year=ind.fiscal_year, number=number, agency_id=ind.agency_id, indicator=ind,
        procurement_plan=proc, control_warnings=warnings, created_by=user, **fields, **values)
    audit.record(user, "treasury.application.create", app)
    return app


def _application_fields(ind: Indicator, *, payee_name, payee_account, payee_bank, amount, settle_mode, purpose,
                        pay_mode, func_code, gov_eco_code, dept_eco_code, fund_type, plan_month,
                        procurement_plan_id) -> tuple[dict, dict, list, ProcurementPlan | None]:
    """Validate an application's fields against its indicator (create and edit alike)."""
    if ind.status != Indicator.Status.EXECUTABLE:
        raise Conflict("treasury.indicator_not_executable",
                       f"指标 {ind.code} 不是可执行状态（{ind.get_status_display()}），不能申请支付", field="indicator")
    if ind.agency_id is None:
        raise ValidationFailed("treasury.indicator_no_agency", "指标尚未分配到预算单位", field="indicator")
    amount = _positive(amount)
    payee_name = _text(payee_name, field="payee_name", label="收款人名称", max_length=200)
    payee_account = re.sub(r"\s+", "", payee_account or "")
    if not ACCOUNT_RE.match(payee_account):
        raise ValidationFailed("treasury.payee_account_invalid",
                               f"收款人账号格式不正确：应为 8–32 位数字，收到“{payee_account[:40]}”", field="payee_account")
    payee_bank = _text(payee_bank, field="payee_bank", label="收款人开户行", max_length=200)
    purpose = _text(purpose, field="purpose", label="用途", max_length=300)
    settle_mode = _text(settle_mode, field="settle_mode", label="结算方式", max_length=10)
    from fmis.dictionary.selectors import validate_value

    validate_value(element_code="SETTLE_MODE", code=settle_mode, field="settle_mode")
    if plan_month is None:
        plan_month = timezone.localdate().month
    if not isinstance(plan_month, int) or not 1 <= plan_month <= 12:
        raise ValidationFailed("treasury.month_invalid", f"用款月份必须是 1–12：{plan_month}", field="plan_month")
    values, warnings = _check_classifications(ind, amount=amount, plan_month=plan_month, func_code=func_code,
                                              gov_eco_code=gov_eco_code, dept_eco_code=dept_eco_code,
                                              fund_type=fund_type, pay_mode=pay_mode)
    proc = None
    if procurement_plan_id:
        proc = ProcurementPlan.objects.filter(pk=procurement_plan_id, indicator=ind).first()
        if proc is None:
            raise NotFound("treasury.procurement_not_found", "政府采购计划不存在或不属于该指标", field="procurement_plan")
    return ({"payee_name": payee_name, "payee_account": payee_account, "payee_bank": payee_bank, "amount": amount,
             "settle_mode": settle_mode, "purpose": purpose, "plan_month": plan_month}, values, warnings, proc)


@retry_on_conflict
def update_application(*, user, application_id: int, payee_name: str, payee_account: str, payee_bank: str, amount,
                       settle_mode: str, purpose: str, pay_mode: str | None = None, func_code: str | None = None,
                       gov_eco_code: str | None = None, dept_eco_code: str | None = None,
                       fund_type: str | None = None, plan_month: int | None = None,
                       procurement_plan_id: int | None = None) -> PaymentApplication:
    """Edit an application in draft (new, withdrawn or returned with a reason) before (re)submitting it.
    The indicator stays; everything else is validated as on creation. Only a draft changes: the
    update is conditional on the status, so an application submitted meanwhile is refused."""
    permissions.require(user, "treasury.application.create")
    app = _application(application_id, user, "treasury.application.create")
    if app.status != AppStatus.DRAFT:
        raise Conflict("treasury.application_state",
                       f"支付申请 {app.number} 当前状态为“{app.get_status_display()}”，只有录入状态可以修改")
    fields, values, warnings, proc = _application_fields(
        app.indicator, payee_name=payee_name, payee_account=payee_account, payee_bank=payee_bank, amount=amount,
        settle_mode=settle_mode, purpose=purpose, pay_mode=pay_mode, func_code=func_code, gov_eco_code=gov_eco_code,
        dept_eco_code=dept_eco_code, fund_type=fund_type, plan_month=plan_month, procurement_plan_id=procurement_plan_id)
    before = audit.snapshot(app)
    changes = {**fields, **values, "procurement_plan": proc, "control_warnings": warnings}
    n = PaymentApplication.objects.filter(pk=app.pk, status=AppStatus.DRAFT).update(updated_at=timezone.now(),
                                                                                    **changes)
    if n == 0:
        app.refresh_from_db()
        raise Conflict("treasury.application_state",
                       f"支付申请 {app.number} 当前状态为“{app.get_status_display()}”，只有录入状态可以修改")
    app.refresh_from_db()
    audit.record(user, "treasury.application.update", app, before=before)
    return app


def _lock_indicators(*ids: int) -> None:
    """Lock the indicator rows a review transition will move, in id order, before the transition:
    every treasury transaction then takes its row locks before the audit chain's lock (which
    services take last, when their deferred audit records are sealed), so two of them cannot wait
    on each other."""
    list(Indicator.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


def _application(application_id: int, user, function: str) -> PaymentApplication:
    app = (PaymentApplication.objects.restrict(user, function).select_related("indicator", "region", "agency")
           .filter(pk=application_id).first())
    if app is None:
        raise NotFound("treasury.application_not_found", "支付申请不存在", field="application")
    return app


# Review transitions whose business effects the calling service has already applied. The review
# callback skips them; the service writes its audit records after the transition. (Every service's
# audit records are sealed together at its end, ``audit.deferred()`` in ``retry_on_conflict``, so
# the audit chain's lock is held only from then to the commit.)
_prepared: ContextVar[frozenset] = ContextVar("treasury_prepared", default=frozenset())


@contextmanager
def _already_done(doc_type: str, pk: int, event: str):
    token = _prepared.set(_prepared.get() | {(doc_type, pk, event)})
    try:
        yield
    finally:
        _prepared.reset(token)


def _submitted(app: PaymentApplication, user) -> None:
    _set_app_status(app, [AppStatus.DRAFT], AppStatus.SUBMITTED, return_reason="")
    ledger.move(indicator_id=app.indicator_id, kind=K.RESERVE, amount=app.amount, user=user,
                source=ledger.SourceRef(APP_DOC, app.pk, app.number))
    _charge_plans(app)


@retry_on_conflict
def submit_application(*, application_id: int, user, comment: str = "") -> PaymentApplication:
    """Submit for review: the amount is reserved on the indicator (and plans) in this transaction."""
    app = _application(application_id, user, "treasury.application.submit")
    before = audit.snapshot(app)
    _submitted(app, user)
    with _already_done(APP_DOC, app.pk, review.EVENT_SUBMITTED):
        review.submit(document=app, user=user, comment=comment, doc_type=APP_DOC)
    # `app` already carries every field this transaction wrote (status, updated_at, plan flags)
    audit.record(user, "treasury.application.submit", app, before=before)
    return app


@retry_on_conflict
def withdraw_application(*, application_id: int, user, comment: str = "") -> PaymentApplication:
    app = _application(application_id, user, "treasury.application.submit")
    _lock_indicators(app.indicator_id)
    review.withdraw(document=app, user=user, comment=comment, doc_type=APP_DOC)
    app.refresh_from_db()
    return app


def _review_act(action: str, *, application_id: int, user, text: str = "", step: int | None = None):
    app = _application(application_id, user, "treasury.application.view")
    if action in ("return", "reject"):
        _lock_indicators(app.indicator_id)
    review.perform(action, document=app, user=user, text=text, step=step, doc_type=APP_DOC)
    app.refresh_from_db()
    return app


@retry_on_conflict
def approve_application(*, application_id: int, user, comment: str = "", step: int | None = None):
    """Approve the current review step; after the last one the voucher is generated and queued."""
    return _approve(application_id, user, comment, step)[0]


def _approve(application_id: int, user, comment: str, step: int | None):
    """(application, voucher issued or None) for one approval, in the caller's transaction."""
    app = _application(application_id, user, "treasury.application.view")
    from fmis.platform.workflow import registry
    from fmis.platform.workflow.models import ReviewInstance

    spec = registry.get(APP_DOC)
    inst = ReviewInstance.objects.filter(doc_type=APP_DOC, object_id=app.pk).first()
    final = (inst is not None and inst.status == ReviewInstance.Status.PENDING and inst.step_no >= len(inst.steps)
             and (step is None or step == inst.step_no) and review.actor_refusal(user, inst, spec) is None)
    if not final:
        return _review_act("approve", application_id=application_id, user=user, text=comment, step=step), None
    before = audit.snapshot(app)
    # submitted → voucher issued in one guarded update (approved is never visible outside)
    voucher = _issue_voucher(app, user, from_status=[AppStatus.SUBMITTED])
    with _already_done(APP_DOC, app.pk, review.EVENT_COMPLETED):
        review.approve(document=app, user=user, comment=comment, step=step, doc_type=APP_DOC)
    audit.record(user, "treasury.application.approve", app, before=before)
    audit.record(user, "treasury.voucher.issue", voucher)
    return app, voucher


VOUCHER_BATCH_TOPIC = "bank.voucher_batch"
# set while a batch approval runs: vouchers are collected here and sent per bank in one message
_voucher_batch: ContextVar[list | None] = ContextVar("treasury_voucher_batch", default=None)


@retry_on_conflict
def approve_applications(*, application_ids: list[int], user, comment: str = "") -> dict:
    """批量审核: approve the current review step of many applications in one action and transaction.

    Each application is approved exactly as ``approve_application`` approves it (its own review
    step and history, voucher, SM2 signature, movements, events and audit records). One that
    cannot be approved (not found, not submitted, not at a step the user may approve, ...) changes
    nothing and is listed in ``failed`` with its error; the others are approved. The vouchers this
    action issues are sent per agent bank in one batch message (批量发送, ``bank.voucher_batch``),
    each voucher inside it signed on its own. Returns ``{"approved": [ids], "failed": [{...}],
    "vouchers": n, "messages": [batch numbers]}``.
    """
    permissions.require(user, "treasury.review.application")
    try:
        ids = list(dict.fromkeys(int(i) for i in application_ids))
    except (TypeError, ValueError):
        raise ValidationFailed("treasury.batch_ids_invalid", "支付申请编号必须是整数", field="application_ids") from None
    if not ids:
        raise ValidationFailed("treasury.batch_empty", "请选择要审核的支付申请", field="application_ids")
    if len(ids) > messages.MAX_BATCH:
        raise ValidationFailed("treasury.batch_too_large", f"一次最多审核 {messages.MAX_BATCH} 笔支付申请",
                               field="application_ids")
    approved: list[int] = []
    failed: list[dict] = []
    issued: list[PaymentVoucher] = []
    token = _voucher_batch.set([])
    try:
        for pk in sorted(ids):  # one lock order for concurrent batch approvals
            try:
                with transaction.atomic():
                    app, voucher = _approve(pk, user, comment, None)
            except DomainError as exc:
                failed.append({"application_id": pk, "code": exc.code, "message": exc.message})
                continue
            approved.append(app.pk)
            if voucher is not None:
                issued.append(voucher)
    finally:
        _voucher_batch.reset(token)
    numbers = _send_voucher_batches(issued)
    order = {pk: i for i, pk in enumerate(ids)}
    approved.sort(key=order.__getitem__)
    failed.sort(key=lambda f: order[f["application_id"]])
    return {"approved": approved, "failed": failed, "vouchers": len(issued), "messages": numbers}


def _send_voucher_batches(vouchers: list[PaymentVoucher]) -> list[str]:
    """One outbox message per agent bank carrying its vouchers (each already signed)."""
    by_bank: dict[str, list[PaymentVoucher]] = {}
    for v in vouchers:
        by_bank.setdefault(v.message["bank_code"], []).append(v)
    numbers = []
    for bank_code, group in sorted(by_bank.items()):
        for start in range(0, len(group), messages.MAX_BATCH):
            part = group[start:start + messages.MAX_BATCH]
            first = part[0]
            batch_no = next_number(region=first.region, fiscal_year=first.fiscal_year, kind="voucher_batch",
                                   prefix="PB")
            payload = {"message_type": "voucher_batch", "version": messages.VERSION, "batch_no": batch_no,
                       "bank_code": bank_code, "count": len(part), "vouchers": [v.message for v in part]}
            messages.validate("voucher_batch", payload)
            outbox.enqueue(topic=VOUCHER_BATCH_TOPIC, key=batch_no, payload=payload)
            numbers.append(batch_no)
    return numbers


@retry_on_conflict
def return_application(*, application_id: int, user, reason: str, step: int | None = None):
    """Send back to the unit with a reason: back to draft, reservation released."""
    return _review_act("return", application_id=application_id, user=user, text=reason, step=step)


@retry_on_conflict
def reject_application(*, application_id: int, user, reason: str, step: int | None = None):
    """Refuse for good: reservation released."""
    return _review_act("reject", application_id=application_id, user=user, text=reason, step=step)


def _set_app_status(app: PaymentApplication, frm: list[str], to: str, **extra) -> None:
    now = timezone.now()
    n = PaymentApplication.objects.filter(pk=app.pk, status__in=frm).update(status=to, updated_at=now, **extra)
    if n == 0:
        app.refresh_from_db()
        raise Conflict("treasury.application_state",
                       f"支付申请 {app.number} 当前状态为“{app.get_status_display()}”，不能执行此操作")
    app.status, app.updated_at = to, now
    for k, v in extra.items():
        setattr(app, k, v)


def on_application_review(event: str, *, document: PaymentApplication, instance, user) -> None:
    """Review chain callback: the application's state and money follow its review."""
    if (APP_DOC, document.pk, event) in _prepared.get():
        return
    app = PaymentApplication.objects.select_related("indicator", "region", "agency").get(pk=document.pk)
    src = ledger.SourceRef(APP_DOC, app.pk, app.number)
    before = audit.snapshot(app)
    if event == review.EVENT_SUBMITTED:
        _submitted(app, user)
        audit.record(user, "treasury.application.submit", app, before=before)
    elif event in (review.EVENT_RETURNED, review.EVENT_WITHDRAWN, review.EVENT_REJECTED):
        reason = ""
        if event != review.EVENT_WITHDRAWN:
            last = instance.actions.order_by("-id").first()
            reason = last.comment if last else ""
        to = AppStatus.REJECTED if event == review.EVENT_REJECTED else AppStatus.DRAFT
        _set_app_status(app, [AppStatus.SUBMITTED], to, return_reason=reason[:2000])
        ledger.move(indicator_id=app.indicator_id, kind=K.RELEASE, amount=app.amount, user=user, source=src,
                    note=reason[:300])
        _uncharge_plans(app, app.amount, reset=True)
        audit.record(user, f"treasury.application.{event.split('.')[-1]}", app, before=before)
    elif event == review.EVENT_COMPLETED:
        _set_app_status(app, [AppStatus.SUBMITTED], AppStatus.APPROVED)
        voucher = _issue_voucher(app, user)
        audit.record(user, "treasury.application.approve", app, before=before)
        audit.record(user, "treasury.voucher.issue", voucher)


# --- vouchers -----------------------------------------------------------------------------------

def _signing_key(agency, suite: str) -> SigningKey:
    cache = db.transaction_cache()
    key = cache.get(("treasury.signing_key", agency.pk)) if cache is not None else None
    if key is None:
        key = SigningKey.objects.filter(agency=agency).first()
    if key is not None:
        if cache is not None:  # only a key that existed before: a new one may still be rolled back
            cache[("treasury.signing_key", agency.pk)] = key
        return key
    pair = crypto.generate_keypair(suite)
    try:
        with transaction.atomic():
            key = SigningKey.objects.create(agency=agency, suite=suite, private_key=pair.private_key,
                                            public_key=pair.public_key)
    except IntegrityError:
        return SigningKey.objects.get(agency=agency)
    audit.record(None, "treasury.signing_key.create", key, object_repr=f"{agency.code} {suite}")
    return key


def signed_bytes(message: dict) -> bytes:
    """What a voucher's signature covers: the canonical JSON of the message without ``signature``."""
    return canonical({k: v for k, v in message.items() if k != "signature"}).encode("utf-8")


def verify_voucher_message(message: dict) -> bool:
    sig = message.get("signature") or {}
    try:
        return crypto.verify(sig["suite"], bytes.fromhex(sig["public_key"]), signed_bytes(message),
                             bytes.fromhex(sig["value"]))
    except (KeyError, ValueError, TypeError):
        return False


def _issue_voucher(app: PaymentApplication, user, *, from_status=(AppStatus.APPROVED,)) -> PaymentVoucher:
    _set_app_status(app, list(from_status), AppStatus.VOUCHER_ISSUED)
    account = payer_account_for(app.indicator, app.pay_mode)
    if account is None:
        what = "本单位授权支付零余额账户" if app.pay_mode == PayMode.AUTHORIZED else "财政直接支付零余额账户"
        raise ValidationFailed("treasury.payer_account_missing", f"尚未设置{what}，无法生成支付凭证",
                               field="payer_account")
    cfg = config_for(app.region_id, app.fiscal_year)
    key = _signing_key(app.agency, cfg.signing_suite if cfg else TreasuryConfig.Suite.SM2)
    number = next_number(region=app.region, fiscal_year=app.fiscal_year, kind="voucher", prefix="PZ")
    now = timezone.now()
    message = {
        "message_type": "voucher", "version": messages.VERSION, "voucher_no": number,
        "bank_code": account.bank.code, "fiscal_year": app.fiscal_year, "region_code": app.region.code,
        "agency_code": app.agency.code, "agency_name": app.agency.name, "pay_mode": app.pay_mode,
        "settle_mode": app.settle_mode,
        "payer": {"account_no": account.account_no, "account_name": account.account_name},
        "payee": {"name": app.payee_name, "account_no": app.payee_account, "bank": app.payee_bank},
        "amount": str(app.amount), "purpose": app.purpose,
        "classification": {"func_code": app.func_code, "gov_eco_code": app.gov_eco_code,
                           "dept_eco_code": app.dept_eco_code, "fund_type": app.fund_type},
        "issued_at": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    signature = crypto.sign(key.suite, bytes(key.private_key), signed_bytes(message))
    message["signature"] = {"suite": key.suite, "public_key": bytes(key.public_key).hex(), "value": signature.hex()}
    messages.validate("voucher", message)
    voucher = PaymentVoucher.objects.create(
        application=app, region_id=app.region_id, fiscal_year=app.fiscal_year, number=number,
        agency_id=app.agency_id, indicator_id=app.indicator_id, bank=account.bank, payer_account=account.account_no,
        payer_name=account.account_name, amount=app.amount, message=message, signature=signature.hex())
    if _voucher_batch.get() is None:  # in a batch approval the batch sends it (one message per bank)
        outbox.enqueue(topic=VOUCHER_TOPIC, key=number, payload=message)
    voucher.region = app.region
    return voucher


# --- bank messages: receipts --------------------------------------------------------------------

def _bank_of(user, message: dict) -> Bank:
    bank = getattr(user, "bank", None)
    if bank is None:
        raise PermissionDenied("treasury.not_bank_user", "只有代理银行的用户可以报送银行报文")
    if message.get("bank_code") != bank.code:
        raise PermissionDenied("treasury.bank_mismatch",
                               f"报文中的银行 {message.get('bank_code')} 与令牌所属银行 {bank.code} 不一致",
                               field="bank_code")
    return bank


def _voucher_of_bank(user, bank: Bank, number: str, function: str) -> PaymentVoucher:
    v = (PaymentVoucher.objects.restrict(user, function)
         .select_related("application", "region", "agency", "indicator", "bank")
         .filter(number=number, bank=bank).first())
    if v is None:
        raise NotFound("treasury.voucher_unknown", f"支付凭证 {number} 不存在（或不是本银行的凭证）",
                       field="voucher_no")
    return v


def _same_message(stored: dict, message: dict) -> bool:
    return canonical(stored) == canonical(message)


def _duplicate(row, message: dict, what: str) -> dict:
    if not _same_message(row.message, message):
        raise Conflict("treasury.serial_reused",
                       f"银行流水号 {row.serial_no} 已用于另一笔{what}，内容不同", field="serial_no")
    return {**row.response, "duplicate": True}


def _parse_date(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("treasury.bank_message_invalid", f"字段 {field} 不是有效日期：{value}",
                               field=field) from None


@retry_on_conflict
def apply_receipt(*, message: dict, user) -> dict:
    """Apply a bank receipt (回单). Idempotent per (bank, serial_no): a repeat answers the first result.

    ``result = success`` pays ``amount`` of the voucher (consumes the reservation);
    ``result = failed`` ends the voucher: what is still unpaid is released to the indicator.
    """
    permissions.require(user, "treasury.bank.receipt")
    messages.validate("receipt", message)
    bank = _bank_of(user, message)
    return _apply_receipt(message=message, bank=bank, user=user)


def _apply_receipt(*, message: dict, bank: Bank, user, existing: BankReceipt | None = None,
                   voucher: PaymentVoucher | None = None) -> dict:
    """One validated receipt message of `bank` (``existing`` / ``voucher`` when already looked up)."""
    value_date = _parse_date(message["value_date"], "value_date")
    if existing is None:
        existing = BankReceipt.objects.filter(bank=bank, serial_no=message["serial_no"]).first()
    if existing is not None:
        return _duplicate(existing, message, "回单")
    if voucher is None:
        voucher = _voucher_of_bank(user, bank, message["voucher_no"], "treasury.bank.receipt")
    amount = to_money(message["amount"], field="amount")
    try:
        with transaction.atomic():
            receipt = BankReceipt.objects.create(
                bank=bank, serial_no=message["serial_no"], voucher=voucher, result=message["result"], amount=amount,
                value_date=value_date, reason=message.get("reason", "")[:300], message=message, response={})
    except IntegrityError:
        return _duplicate(BankReceipt.objects.get(bank=bank, serial_no=message["serial_no"]), message, "回单")
    app = voucher.application
    src = ledger.SourceRef("treasury.payment_voucher", voucher.pk, voucher.number)
    before = audit.snapshot(voucher)
    open_states = [VStatus.ISSUED, VStatus.PARTLY_PAID]
    if message["result"] == BankReceipt.Result.SUCCESS:
        if amount <= 0:
            raise ValidationFailed("treasury.receipt_amount_zero", "支付成功的回单金额必须大于零", field="amount")
        with connection.cursor() as cur:
            # the guarded payment and the voucher's new status in one statement
            cur.execute(
                "UPDATE treasury_paymentvoucher SET paid = paid + %s, settled_at = %s, "
                "status = CASE WHEN paid + %s = amount THEN %s ELSE %s END "
                "WHERE id = %s AND status IN (%s, %s) AND released = 0 AND amount >= paid + %s "
                "RETURNING paid, released, refunded, corrected, status, settled_at",
                [amount, timezone.now(), amount, VStatus.PAID.value, VStatus.PARTLY_PAID.value, voucher.pk,
                 *(str(x) for x in open_states), amount])
            row = cur.fetchone()
        if row is None:
            voucher.refresh_from_db(fields=MONEY_FIELDS)
            if voucher.status not in open_states or voucher.released > 0:
                raise Conflict("treasury.voucher_closed",
                               f"支付凭证 {voucher.number} 已{voucher.get_status_display()}，不能再支付", field="voucher_no")
            raise Conflict("treasury.receipt_exceeds",
                           f"回单金额 {fmt(amount)} 超过支付凭证 {voucher.number} 未支付金额 {fmt(voucher.remaining)}",
                           field="amount", remaining=voucher.remaining)
        for f, v in zip(MONEY_FIELDS, row, strict=True):
            setattr(voucher, f, v)
        ledger.move(indicator_id=voucher.indicator_id, kind=K.CONSUME, amount=amount, user=user, source=src,
                    note=f"回单 {receipt.serial_no}")
        status = voucher.status
    else:
        locked = PaymentVoucher.objects.select_for_update().get(pk=voucher.pk)
        remaining = locked.amount - locked.paid - locked.released
        if locked.status not in open_states or locked.released > 0 or remaining <= 0:
            raise Conflict("treasury.voucher_closed",
                           f"支付凭证 {voucher.number} 已{locked.get_status_display()}，没有待支付金额", field="voucher_no")
        if amount not in (ZERO, remaining):
            raise Conflict("treasury.receipt_failed_amount",
                           f"失败回单金额 {fmt(amount)} 与未支付金额 {fmt(remaining)} 不一致", field="amount")
        PaymentVoucher.objects.filter(pk=voucher.pk).update(released=F("released") + remaining)
        ledger.move(indicator_id=voucher.indicator_id, kind=K.RELEASE, amount=remaining, user=user, source=src,
                    note=f"支付失败 {receipt.serial_no} {message.get('reason', '')}"[:300])
        _uncharge_plans(app, remaining, reset=False)
        voucher.refresh_from_db(fields=MONEY_FIELDS)
        status = VStatus.PARTLY_PAID if voucher.paid > 0 else VStatus.FAILED
        PaymentVoucher.objects.filter(pk=voucher.pk).update(status=status)
        voucher.status = status
    app_status = {VStatus.PAID: AppStatus.PAID, VStatus.PARTLY_PAID: AppStatus.PARTLY_PAID,
                  VStatus.FAILED: AppStatus.FAILED}[status]
    PaymentApplication.objects.filter(pk=app.pk).update(status=app_status, updated_at=timezone.now())
    if message["result"] == BankReceipt.Result.SUCCESS:
        events.publish(EVENT_SETTLED, _event_payload(voucher, amount=amount, source_type="treasury.bank_receipt",
                                                     source_id=receipt.pk, source_no=receipt.serial_no,
                                                     date=value_date, paid_total=voucher.paid))
    response = {"receipt_id": receipt.pk, "voucher_no": voucher.number, "voucher_status": status,
                "paid": str(voucher.paid), "remaining": str(voucher.remaining), "duplicate": False}
    BankReceipt.objects.filter(pk=receipt.pk).update(response=response)
    audit.record(user, "treasury.voucher.receipt", voucher, before=before, after=audit.snapshot(voucher))
    return response


RECEIPT_FIELDS = ("serial_no", "voucher_no", "result", "amount", "value_date", "reason")


def receipt_of_batch(batch: dict, item: dict) -> dict:
    """The single receipt message an entry of a receipt batch stands for: what is stored and
    compared, so a receipt is the same whether it came alone or in a batch."""
    return {"message_type": "receipt", "version": batch["version"], "bank_code": batch["bank_code"],
            **{k: item[k] for k in RECEIPT_FIELDS if k in item}}


@retry_on_conflict
def apply_receipts(*, message: dict, user) -> dict:
    """A bank message carrying many receipts (回单批量报文), all-or-nothing, in one transaction.

    Each entry is applied exactly as ``apply_receipt`` applies a single receipt (its own receipt
    row, voucher and indicator movements, settlement event and audit record) and is idempotent per
    (bank, serial_no): an entry already applied with the same content is answered as a duplicate and
    changes nothing; sending the whole message again changes nothing. If any entry is refused
    (unknown voucher, amount over the unpaid rest, serial reused with other content, ...) nothing of
    the message is applied and ``ValidationFailed`` lists every refused entry by line (1-based).
    Entries are applied grouped by indicator (in message order within each), so concurrent batches
    take the indicator rows' locks in one order.
    """
    permissions.require(user, "treasury.bank.receipt")
    messages.validate("receipt_batch", message)
    bank = _bank_of(user, message)
    items = message["receipts"]
    seen: dict[str, int] = {}
    for line, item in enumerate(items, start=1):
        if item["serial_no"] in seen:
            raise ValidationFailed("treasury.batch_duplicate_serial",
                                   f"第 {line} 条回单的流水号 {item['serial_no']} 与第 {seen[item['serial_no']]} 条重复",
                                   field="receipts", line=line)
        seen[item["serial_no"]] = line
    singles = [receipt_of_batch(message, item) for item in items]
    existing = {r.serial_no: r for r in BankReceipt.objects.filter(bank=bank, serial_no__in=list(seen))}
    numbers = {m["voucher_no"] for m in singles if m["serial_no"] not in existing}
    vouchers = {v.number: v for v in (PaymentVoucher.objects.restrict(user, "treasury.bank.receipt")
                                      .select_related("application", "region", "agency", "indicator", "bank")
                                      .filter(bank=bank, number__in=numbers))}
    order = sorted(range(len(singles)), key=lambda i: (
        vouchers[singles[i]["voucher_no"]].indicator_id if singles[i]["voucher_no"] in vouchers else 0, i))
    results: list[dict | None] = [None] * len(singles)
    errors: list[dict] = []
    for i in order:
        single = singles[i]
        try:
            with transaction.atomic():
                results[i] = _apply_receipt(message=single, bank=bank, user=user,
                                            existing=existing.get(single["serial_no"]),
                                            voucher=vouchers.get(single["voucher_no"]))
        except DomainError as exc:
            errors.append({"line": i + 1, "field": exc.field or "receipts", "code": exc.code,
                           "serial_no": single["serial_no"], "message": f"第 {i + 1} 条回单：{exc.message}"})
    if errors:
        errors.sort(key=lambda e: e["line"])
        raise ValidationFailed("treasury.receipt_batch_refused",
                               f"回单批量报文 {message['batch_no']} 有 {len(errors)} 条回单不能处理，整批未处理："
                               f"{errors[0]['message']}", field="receipts", line=errors[0]["line"], errors=errors)
    return {"batch_no": message["batch_no"], "count": len(results),
            "duplicates": sum(1 for r in results if r and r.get("duplicate")), "results": results}


# --- refunds ------------------------------------------------------------------------------------

def _refund(*, voucher: PaymentVoucher, bank: Bank, serial_no: str, amount: Decimal, value_date: dt.date,
            reason: str, message: dict | None, user) -> dict:
    before = audit.snapshot(voucher)
    try:
        with transaction.atomic():
            refund = Refund.objects.create(
                region_id=voucher.region_id, fiscal_year=voucher.fiscal_year,
                number=next_number(region=voucher.region, fiscal_year=voucher.fiscal_year, kind="refund",
                                   prefix="TK"),
                voucher=voucher, bank=bank, serial_no=serial_no, amount=amount, value_date=value_date,
                reason=reason, message=message, created_by=user)
    except IntegrityError:
        existing = Refund.objects.get(bank=bank, serial_no=serial_no)
        if message is None:
            raise Conflict("treasury.serial_reused", f"银行流水号 {serial_no} 已登记过退款", field="serial_no") from None
        return _duplicate(existing, message, "退款")
    n = (PaymentVoucher.objects.filter(pk=voucher.pk, paid__gte=F("refunded") + F("corrected") + amount)
         .update(refunded=F("refunded") + amount))
    if n == 0:
        voucher.refresh_from_db(fields=MONEY_FIELDS)
        raise Conflict("treasury.refund_exceeds",
                       f"退款金额 {fmt(amount)} 超过支付凭证 {voucher.number} 可退金额 {fmt(voucher.refundable)}"
                       f"（已支付 {fmt(voucher.paid)}，已退款 {fmt(voucher.refunded)}）", field="amount")
    ledger.move(indicator_id=voucher.indicator_id, kind=K.REFUND, amount=amount, user=user,
                source=ledger.SourceRef("treasury.refund", refund.pk, refund.number), note=reason[:300])
    voucher.refresh_from_db(fields=MONEY_FIELDS)
    events.publish(EVENT_REFUNDED, _event_payload(voucher, amount=amount, source_type="treasury.refund",
                                                  source_id=refund.pk, source_no=refund.number, date=value_date,
                                                  bank_serial_no=serial_no, reason=reason))
    response = {"refund_id": refund.pk, "refund_no": refund.number, "voucher_no": voucher.number,
                "refunded": str(voucher.refunded), "duplicate": False}
    Refund.objects.filter(pk=refund.pk).update(response=response)
    audit.record(user, "treasury.refund.create", refund)
    audit.record(user, "treasury.voucher.refund", voucher, before=before, after=audit.snapshot(voucher))
    return response


@retry_on_conflict
def apply_refund_message(*, message: dict, user) -> dict:
    """A refund message from the agent bank (退款): idempotent per (bank, serial_no)."""
    permissions.require(user, "treasury.bank.refund")
    messages.validate("refund", message)
    bank = _bank_of(user, message)
    value_date = _parse_date(message["value_date"], "value_date")
    existing = Refund.objects.filter(bank=bank, serial_no=message["serial_no"]).first()
    if existing is not None:
        return _duplicate(existing, message, "退款")
    voucher = _voucher_of_bank(user, bank, message["voucher_no"], "treasury.bank.refund")
    return _refund(voucher=voucher, bank=bank, serial_no=message["serial_no"],
                   amount=to_money(message["amount"]), value_date=value_date, reason=message["reason"],
                   message=message, user=user)


@retry_on_conflict
def record_refund(*, voucher_id: int, amount, serial_no: str, reason: str, value_date: dt.date | None = None,
                  user) -> Refund:
    """The treasury division registers a refund advised by the bank outside the message channel."""
    permissions.require(user, "treasury.refund.create")
    voucher = (PaymentVoucher.objects.restrict(user, "treasury.refund.create")
               .select_related("application", "region", "agency", "indicator", "bank").filter(pk=voucher_id).first())
    if voucher is None:
        raise NotFound("treasury.voucher_not_found", "支付凭证不存在", field="voucher")
    amount = _positive(amount)
    serial_no = _text(serial_no, field="serial_no", label="银行流水号", max_length=64)
    reason = _text(reason, field="reason", label="退款原因", max_length=300)
    response = _refund(voucher=voucher, bank=voucher.bank, serial_no=serial_no, amount=amount,
                       value_date=value_date or timezone.localdate(), reason=reason, message=None, user=user)
    return Refund.objects.get(pk=response["refund_id"])


# --- corrections --------------------------------------------------------------------------------

@retry_on_conflict
def create_correction(*, voucher_id: int, to_indicator_id: int, amount, reason: str, user) -> Correction:
    """A correction (更正) in draft: move `amount` of a paid voucher to another indicator."""
    permissions.require(user, "treasury.correction.create")
    voucher = (PaymentVoucher.objects.restrict(user, "treasury.correction.create")
               .select_related("region", "indicator").filter(pk=voucher_id).first())
    if voucher is None:
        raise NotFound("treasury.voucher_not_found", "支付凭证不存在", field="voucher")
    target = _indicator_in_scope(user, "treasury.correction.create", to_indicator_id)
    if target.pk == voucher.indicator_id:
        raise ValidationFailed("treasury.correction_same_indicator", "更正后的指标不能与原指标相同", field="to_indicator")
    if target.agency_id != voucher.agency_id or target.fiscal_year != voucher.fiscal_year:
        raise ValidationFailed("treasury.correction_other_agency", "更正后的指标必须是同一单位、同一年度的指标",
                               field="to_indicator")
    if target.status != Indicator.Status.EXECUTABLE:
        raise Conflict("treasury.indicator_not_executable", f"指标 {target.code} 不是可执行状态", field="to_indicator")
    amount = _positive(amount)
    if amount > voucher.refundable:
        raise Conflict("treasury.correction_exceeds",
                       f"更正金额 {fmt(amount)} 超过支付凭证 {voucher.number} 可更正金额 {fmt(voucher.refundable)}",
                       field="amount")
    reason = _text(reason, field="reason", label="更正原因", max_length=300)
    corr = Correction.objects.create(
        region_id=voucher.region_id, fiscal_year=voucher.fiscal_year,
        number=next_number(region=voucher.region, fiscal_year=voucher.fiscal_year, kind="correction", prefix="GZ"),
        voucher=voucher, agency_id=voucher.agency_id, from_indicator_id=voucher.indicator_id, to_indicator=target,
        amount=amount, reason=reason, created_by=user)
    audit.record(user, "treasury.correction.create", corr)
    return corr


def _correction(correction_id: int, user, function: str) -> Correction:
    c = Correction.objects.restrict(user, function).filter(pk=correction_id).first()
    if c is None:
        raise NotFound("treasury.correction_not_found", "更正单不存在", field="correction")
    return c


@retry_on_conflict
def submit_correction(*, correction_id: int, user, comment: str = "") -> Correction:
    c = _correction(correction_id, user, "treasury.correction.submit")
    review.submit(document=c, user=user, comment=comment, doc_type=CORRECTION_DOC)
    c.refresh_from_db()
    return c


@retry_on_conflict
def act_on_correction(*, correction_id: int, action: str, user, text: str = "", step: int | None = None):
    c = _correction(correction_id, user, "treasury.correction.view")
    if action == "approve":
        _lock_indicators(c.from_indicator_id, c.to_indicator_id)
    review.perform(action, document=c, user=user, text=text, step=step, doc_type=CORRECTION_DOC)
    c.refresh_from_db()
    return c


def on_correction_review(event: str, *, document: Correction, instance, user) -> None:
    c = Correction.objects.select_related("voucher", "voucher__application", "voucher__region", "voucher__agency",
                                          "voucher__bank", "to_indicator", "from_indicator").get(pk=document.pk)
    before = audit.snapshot(c)

    def move_status(frm, to, **extra):
        n = Correction.objects.filter(pk=c.pk, status__in=frm).update(status=to, **extra)
        if n == 0:
            raise Conflict("treasury.correction_state", f"更正单 {c.number} 当前状态为“{c.get_status_display()}”")

    if event == review.EVENT_SUBMITTED:
        move_status([Correction.Status.DRAFT], Correction.Status.SUBMITTED)
    elif event in (review.EVENT_RETURNED, review.EVENT_WITHDRAWN):
        move_status([Correction.Status.SUBMITTED], Correction.Status.DRAFT)
    elif event == review.EVENT_REJECTED:
        move_status([Correction.Status.SUBMITTED], Correction.Status.REJECTED)
    elif event == review.EVENT_COMPLETED:
        now = timezone.now()
        move_status([Correction.Status.SUBMITTED], Correction.Status.DONE, done_at=now)
        n = (PaymentVoucher.objects.filter(pk=c.voucher_id, paid__gte=F("refunded") + F("corrected") + c.amount)
             .update(corrected=F("corrected") + c.amount))
        if n == 0:
            v = PaymentVoucher.objects.get(pk=c.voucher_id)
            raise Conflict("treasury.correction_exceeds",
                           f"更正金额 {fmt(c.amount)} 超过支付凭证 {v.number} 可更正金额 {fmt(v.refundable)}",
                           field="amount")
        ledger.move_between(from_id=c.from_indicator_id, to_id=c.to_indicator_id, out_kind=K.CORRECT_OUT,
                            in_kind=K.CORRECT_IN, amount=c.amount, user=user,
                            source=ledger.SourceRef(CORRECTION_DOC, c.pk, c.number), note=c.reason)
        voucher = c.voucher
        voucher.refresh_from_db()
        payload = _event_payload(voucher, amount=c.amount, source_type=CORRECTION_DOC, source_id=c.pk,
                                 source_no=c.number, date=timezone.localdate(), indicator=c.to_indicator,
                                 reason=c.reason)
        src = c.from_indicator
        payload["from"] = {"indicator_id": src.pk, "indicator_code": src.code, "func_code": src.func_code,
                           "gov_eco_code": src.gov_eco_code, "dept_eco_code": src.dept_eco_code,
                           "fund_type": src.fund_type}
        payload["to"] = {"indicator_id": c.to_indicator.pk, "indicator_code": c.to_indicator.code,
                         "func_code": c.to_indicator.func_code, "gov_eco_code": c.to_indicator.gov_eco_code,
                         "dept_eco_code": c.to_indicator.dept_eco_code, "fund_type": c.to_indicator.fund_type}
        events.publish(EVENT_CORRECTED, payload)
    c.refresh_from_db()
    audit.record(user, f"treasury.correction.{event.split('.')[-1]}", c, before=before)


# --- daily statements and clearing --------------------------------------------------------------

@retry_on_conflict
def receive_statement(*, message: dict, user) -> dict:
    """The bank's daily statement (对账单): stored per (bank, date); a resend replaces it."""
    permissions.require(user, "treasury.bank.statement")
    messages.validate("statement", message)
    bank = _bank_of(user, message)
    date = _parse_date(message["date"], "date")
    serials = [e["serial_no"] for e in message["entries"]]
    if len(serials) != len(set(serials)):
        dup = next(s for s in serials if serials.count(s) > 1)
        raise ValidationFailed("treasury.statement_duplicate_serial", f"对账单中流水号 {dup} 重复", field="entries")
    row = BankStatement.objects.select_for_update().filter(bank=bank, date=date).first()
    before = audit.snapshot(row)
    if row is not None and _same_message(row.message, message):
        return {"statement_id": row.pk, "entries": len(row.entries), "duplicate": True}
    if row is None:
        row = BankStatement(bank=bank, date=date)
    row.entries, row.message = message["entries"], message
    row.save()
    audit.record(user, "treasury.statement.receive", row, before=before)
    return {"statement_id": row.pk, "entries": len(row.entries), "duplicate": False}


@retry_on_conflict
def run_clearing(*, region_id: int, bank_id: int, date: dt.date, user) -> ClearingStatement:
    """清算: summarise one agent bank's payments and refunds of a day in a region, reconciled with the
    bank's statement; differences are listed line by line. Running it again refreshes it."""
    permissions.require(user, "treasury.clearing.run")
    from fmis.orgs.models import Region

    region = Region.objects.restrict(user, "treasury.clearing.run").filter(pk=region_id).first()
    if region is None:
        raise NotFound("treasury.region_not_found", "财政区划不存在", field="region")
    bank = Bank.objects.filter(pk=bank_id).first()
    if bank is None:
        raise NotFound("treasury.bank_not_found", "代理银行不存在", field="bank")
    receipts = list(BankReceipt.objects.filter(bank=bank, value_date=date, voucher__region=region,
                                               result=BankReceipt.Result.SUCCESS)
                    .select_related("voucher").order_by("id"))
    refunds = list(Refund.objects.filter(bank=bank, value_date=date, region=region).select_related("voucher")
                   .order_by("id"))
    ours = {r.serial_no: ("pay", r.voucher.number, r.amount) for r in receipts}
    ours.update({r.serial_no: ("refund", r.voucher.number, r.amount) for r in refunds})
    by_voucher: dict[str, dict] = {}
    for r in receipts:
        line = by_voucher.setdefault(r.voucher.number, {"voucher_no": r.voucher.number, "paid": ZERO,
                                                        "refunded": ZERO, "receipts": []})
        line["paid"] += r.amount
        line["receipts"].append(r.serial_no)
    for r in refunds:
        line = by_voucher.setdefault(r.voucher.number, {"voucher_no": r.voucher.number, "paid": ZERO,
                                                        "refunded": ZERO, "receipts": []})
        line["refunded"] += r.amount
    paid_total = sum((r.amount for r in receipts), ZERO)
    refund_total = sum((r.amount for r in refunds), ZERO)
    statement = BankStatement.objects.filter(bank=bank, date=date).first()
    differences: list[dict] = []
    bank_total = None
    if statement is not None:
        region_vouchers = set(PaymentVoucher.objects.filter(bank=bank, region=region, number__in=[
            e["voucher_no"] for e in statement.entries]).values_list("number", flat=True))
        theirs = {e["serial_no"]: (e["kind"], e["voucher_no"], Decimal(e["amount"])) for e in statement.entries
                  if e["voucher_no"] in region_vouchers or e["serial_no"] in ours}
        bank_total = sum((a if k == "pay" else -a for k, _, a in theirs.values()), ZERO)
        for serial, (kind, vno, amt) in sorted(ours.items()):
            if serial not in theirs:
                differences.append({"serial_no": serial, "voucher_no": vno, "kind": kind, "ours": str(amt),
                                    "bank": None, "message": "银行对账单中没有这笔"})
            elif theirs[serial] != (kind, vno, amt):
                differences.append({"serial_no": serial, "voucher_no": vno, "kind": kind, "ours": str(amt),
                                    "bank": str(theirs[serial][2]), "message": "金额、凭证或类型不一致"})
        for serial, (kind, vno, amt) in sorted(theirs.items()):
            if serial not in ours:
                differences.append({"serial_no": serial, "voucher_no": vno, "kind": kind, "ours": None,
                                    "bank": str(amt), "message": "财政没有收到这笔回单或退款"})
    lines = [{**v, "paid": str(v["paid"]), "refunded": str(v["refunded"])} for _, v in sorted(by_voucher.items())]
    values = {"paid_count": len(receipts), "paid_total": paid_total, "refund_count": len(refunds),
              "refund_total": refund_total, "net_total": paid_total - refund_total, "bank_total": bank_total,
              "reconciled": statement is not None and not differences, "lines": lines,
              "differences": differences, "created_by": user}
    row = ClearingStatement.objects.select_for_update().filter(region=region, bank=bank, date=date).first()
    before = audit.snapshot(row)
    if row is None:
        row = ClearingStatement(region=region, bank=bank, date=date,
                                number=next_number(region=region, fiscal_year=date.year, kind="clearing", prefix="QS"))
    for k, v in values.items():
        setattr(row, k, v)
    row.save()
    audit.record(user, "treasury.clearing.run", row, before=before)
    return row


def payments_of_indicator(indicator_id: int):
    """Aggregate paid amount of an indicator's vouchers (for cross-checks and reports)."""
    return PaymentVoucher.objects.filter(indicator_id=indicator_id).aggregate(
        paid=Sum("paid"), refunded=Sum("refunded"), corrected=Sum("corrected"))
