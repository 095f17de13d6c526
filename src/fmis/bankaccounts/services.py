"""Every write of bank account supervision: registration of existing accounts and their initial
balances, applications to open / change / close (review chain 单位 → 主管部门 → 国库处), annual
inspections on the same chain, and the exchange centre's imports of bank messages (read by
``fmis.bankaccounts.formats``, loaded here).

Review transitions run through the platform's review chains; what they change lives in the
callbacks (``on_application_review``, ``on_inspection_review``), which run inside the transition's
transaction. Every change of an account's fields is written to ``AccountChange`` there, with the
applicant, the approver and the time, so the account's history is complete by construction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from fmis.bankaccounts import functions as F
from fmis.bankaccounts.models import (
    AccountChange,
    Application,
    BankAccount,
    BankFlow,
    Currency,
    Inspection,
    Nature,
    OpeningBalanceItem,
    ReportedBalance,
)
from fmis.iam import permissions
from fmis.orgs.models import Agency, Bank, BankBranch
from fmis.platform import audit
from fmis.platform.db import retry_on_conflict
from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.money import ZERO, to_money
from fmis.platform.workflow import services as review

APPLICATION_DOC = "bankaccounts.application"
INSPECTION_DOC = "bankaccounts.inspection"
REVIEW_STEPS = (("主管部门审核", F.UNIT_REVIEW), ("国库处审批", F.TREASURY_REVIEW))

# the fields an approved application writes to the account, with their labels for the history
ACCOUNT_FIELDS: tuple[tuple[str, str], ...] = (
    ("number", "账号"), ("name", "账户名称"), ("bank_id", "开户银行"), ("branch_id", "开户网点"),
    ("nature", "账户性质"), ("currency", "币种"), ("purpose", "用途"), ("approval_doc", "批准文号"),
    ("opened_on", "开户日期"),
)
CHANGEABLE = ("name", "branch_id", "nature", "purpose", "approval_doc")
_PREFIX = {Application.Kind.OPEN: "KH", Application.Kind.CHANGE: "BG", Application.Kind.CLOSE: "XH"}


@dataclass
class AccountData:
    """What an opening application or a registration names."""

    agency_id: int
    number: str
    name: str
    bank_id: int
    nature: str
    opened_on: dt.date
    currency: str = Currency.CNY
    branch_id: int | None = None
    purpose: str = ""
    approval_doc: str = ""


@dataclass
class ChangeData:
    """The fields a change application may set (None: unchanged)."""

    name: str | None = None
    branch_id: int | None = None
    nature: str | None = None
    purpose: str | None = None
    approval_doc: str | None = None


@dataclass
class OpeningItems:
    initialized_on: dt.date
    items: dict[str, Decimal] = field(default_factory=dict)


# --- helpers ------------------------------------------------------------------------------------

def _agency_in_scope(user, agency_id: int, function: str) -> Agency:
    permissions.require(user, function)
    agency = permissions.restrict(Agency.objects.filter(pk=agency_id), user, function).select_related(
        "region").first()
    if agency is None:
        raise NotFound("bankaccounts.agency_not_found", "预算单位不存在或不在您的数据权限范围内", field="agency_id")
    return agency


def department_of(agency: Agency) -> Agency:
    """The first-level agency (一级预算单位) above `agency` (itself if it is one)."""
    current, seen = agency, set()
    while current.parent_id is not None and current.pk not in seen:
        seen.add(current.pk)
        current = Agency.objects.only("pk", "parent_id").get(pk=current.parent_id)
    return current


def _text(value, *, field: str, label: str, max_length: int, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed("bankaccounts.required", f"{label}必须填写", field=field)
    if len(text) > max_length:
        raise ValidationFailed("bankaccounts.too_long", f"{label}不能超过 {max_length} 个字符", field=field)
    return text


def _check_account_fields(*, number: str, name: str, bank_id: int, branch_id: int | None, nature: str,
                          currency: str, purpose: str, approval_doc: str) -> dict:
    import re

    number = (number or "").strip()
    if not re.fullmatch(r"[0-9]{8,32}", number):
        raise ValidationFailed("bankaccounts.number_invalid", "账号应为 8 至 32 位数字", field="number")
    name = _text(name, field="name", label="账户名称", max_length=200, required=True)
    if nature not in Nature.values:
        raise ValidationFailed("bankaccounts.nature_invalid", "账户性质应为基本、一般、专用、零余额或临时存款账户",
                               field="nature")
    if currency not in Currency.values:
        raise ValidationFailed("bankaccounts.currency_invalid", f"不支持的币种：{currency}", field="currency")
    bank = Bank.objects.filter(pk=bank_id, is_active=True).first()
    if bank is None:
        raise ValidationFailed("bankaccounts.bank_invalid", "开户银行不存在或已停用", field="bank_id")
    if branch_id is not None and not BankBranch.objects.filter(pk=branch_id, bank=bank, is_active=True).exists():
        raise ValidationFailed("bankaccounts.branch_invalid", "开户网点不属于所选银行或已停用", field="branch_id")
    if nature == Nature.ZERO_BALANCE and currency != Currency.CNY:
        raise ValidationFailed("bankaccounts.zero_balance_currency", "零余额账户只能是人民币账户", field="currency")
    return {"number": number, "name": name, "bank_id": bank.pk, "branch_id": branch_id, "nature": nature,
            "currency": currency, "purpose": _text(purpose, field="purpose", label="用途", max_length=300),
            "approval_doc": _text(approval_doc, field="approval_doc", label="批准文号", max_length=100)}


def display_value(field_name: str, value) -> str:
    """A field's value as the history and the screens show it (names for banks, branches, codes)."""
    if value is None:
        return ""
    if field_name == "bank_id":
        return Bank.objects.filter(pk=value).values_list("name", flat=True).first() or str(value)
    if field_name == "branch_id":
        return BankBranch.objects.filter(pk=value).values_list("name", flat=True).first() or str(value)
    if field_name == "nature":
        return str(Nature(value).label)
    if field_name == "currency":
        return str(Currency(value).label) if value in Currency.values else value
    return str(value)


def _history(account: BankAccount, *, kind: str, user, at, application: Application | None = None,
             inspection: Inspection | None = None, rows: list[tuple[str, str, str, str]] = ()) -> None:
    requested_by = (application.created_by if application else inspection.created_by if inspection else None)
    common = {"account": account, "agency_id": account.agency_id, "region_id": account.region_id, "kind": kind,
              "application": application, "inspection": inspection, "requested_by": requested_by,
              "changed_by": user, "changed_at": at}
    if not rows:
        AccountChange.objects.create(**common)
        return
    AccountChange.objects.bulk_create([AccountChange(**common, field=f, field_label=label, old_value=old,
                                                     new_value=new) for f, label, old, new in rows])


def _relink(account: BankAccount) -> int:
    """Attach flows and balances already received for this bank and number to the account, and
    rebuild its daily totals and running totals from them (set-based, under the bank's flows lock
    so that no import of the same bank interleaves)."""
    from django.db import connection

    with connection.cursor() as cur:
        _lock_bank_flows(cur, account.bank_id)
    n = (BankFlow.objects.filter(bank_id=account.bank_id, account_no=account.number, account__isnull=True)
         .update(account=account, agency_id=account.agency_id, region_id=account.region_id))
    ReportedBalance.objects.filter(bank_id=account.bank_id, account_no=account.number, account__isnull=True).update(
        account=account, agency_id=account.agency_id, region_id=account.region_id)
    if n:
        with connection.cursor() as cur:
            cur.execute("DELETE FROM bankaccounts_accountday WHERE account_id = %s", [account.pk])
            cur.execute(
                """INSERT INTO bankaccounts_accountday
                       (account_id, day, income, expenditure, flows, cum_income, cum_expenditure)
                   SELECT account_id, tx_date, income, expenditure, flows,
                          SUM(income) OVER w, SUM(expenditure) OVER w
                   FROM (SELECT account_id, tx_date,
                                COALESCE(SUM(amount) FILTER (WHERE direction = 'C'), 0) AS income,
                                COALESCE(SUM(amount) FILTER (WHERE direction = 'D'), 0) AS expenditure,
                                COUNT(*) AS flows
                         FROM bankaccounts_bankflow WHERE bank_id = %s AND account_no = %s AND account_id = %s
                         GROUP BY account_id, tx_date) g
                   WINDOW w AS (ORDER BY tx_date)""", [account.bank_id, account.number, account.pk])
    return n


def _create_account(*, agency: Agency, values: dict, opened_on: dt.date) -> BankAccount:
    dept = department_of(agency)
    try:
        with transaction.atomic():
            return BankAccount.objects.create(agency=agency, department=dept, region_id=agency.region_id,
                                              opened_on=opened_on, **values)
    except IntegrityError as exc:
        if "bankacc_account_one_basic" in str(exc):
            raise Conflict("bankaccounts.basic_exists", "该单位已有正在使用的基本存款账户，一个单位只能开立一个基本存款账户",
                           field="nature") from None
        raise Conflict("bankaccounts.number_exists", f"账号 {values['number']} 已在该银行登记",
                       field="number") from None


# --- registration of existing accounts (treasury division) ------------------------------------

@retry_on_conflict
def register_account(*, user, data: AccountData, opening: OpeningItems | None = None) -> BankAccount:
    """Register an account that exists already (存量账户登记), e.g. when the register is first set up;
    optionally with its initial balance composition."""
    agency = _agency_in_scope(user, data.agency_id, F.ACCOUNT_REGISTER)
    values = _check_account_fields(number=data.number, name=data.name, bank_id=data.bank_id,
                                   branch_id=data.branch_id, nature=data.nature, currency=data.currency,
                                   purpose=data.purpose, approval_doc=data.approval_doc)
    if data.opened_on > timezone.localdate():
        raise ValidationFailed("bankaccounts.opened_in_future", "开户日期不能晚于今天", field="opened_on")
    account = _create_account(agency=agency, values=values, opened_on=data.opened_on)
    now = timezone.now()
    _history(account, kind=AccountChange.Kind.REGISTER, user=user, at=now,
             rows=[(f, label, "", display_value(f, getattr(account, f))) for f, label in ACCOUNT_FIELDS])
    if opening is not None:
        _write_opening(account, opening, user=user, at=now)
    _relink(account)
    audit.record(user, "bankaccounts.account.register", account)
    return account


def _write_opening(account: BankAccount, opening: OpeningItems, *, user, at) -> None:
    items: dict[str, Decimal] = {}
    for source, amount in opening.items.items():
        if source not in OpeningBalanceItem.Source.values:
            raise ValidationFailed("bankaccounts.source_invalid", f"未知的资金来源：{source}", field="items")
        value = to_money(amount, field=f"items.{source}")
        if value < 0:
            raise ValidationFailed("bankaccounts.opening_negative", "初始化余额构成的金额不能为负数",
                                   field=f"items.{source}")
        if value:
            items[source] = value
    old_total = account.opening_balance
    OpeningBalanceItem.objects.filter(account=account).delete()
    OpeningBalanceItem.objects.bulk_create([
        OpeningBalanceItem(account=account, agency_id=account.agency_id, region_id=account.region_id, source=s,
                           amount=a) for s, a in sorted(items.items())])
    total = sum(items.values(), ZERO)
    BankAccount.objects.filter(pk=account.pk).update(opening_balance=total, initialized_on=opening.initialized_on)
    account.opening_balance, account.initialized_on = total, opening.initialized_on
    _history(account, kind=AccountChange.Kind.INITIAL, user=user, at=at,
             rows=[("opening_balance", "初始化余额", str(old_total), str(total))])


@retry_on_conflict
def set_opening_balance(*, user, account_id: int, opening: OpeningItems) -> BankAccount:
    """Set (replace) the initial balance composition of an account (账户初始化)."""
    permissions.require(user, F.ACCOUNT_REGISTER)
    account = (BankAccount.objects.restrict(user, F.ACCOUNT_REGISTER).select_for_update()
               .filter(pk=account_id).first())
    if account is None:
        raise NotFound("bankaccounts.account_not_found", "银行账户不存在或不在您的数据权限范围内")
    before = audit.snapshot(account)
    _write_opening(account, opening, user=user, at=timezone.now())
    audit.record(user, "bankaccounts.account.initialize", account, before=before)
    return account


# --- applications ---------------------------------------------------------------------------------

def _application_for_update(user, application_id: int, function: str = F.APPLY) -> Application:
    permissions.require(user, function)
    app = (Application.objects.restrict(user, function).select_for_update(of=("self",))
           .filter(pk=application_id).first())
    if app is None:
        raise NotFound("bankaccounts.application_not_found", "申请不存在或不在您的数据权限范围内")
    return app


def _number(app: Application) -> str:
    return f"{_PREFIX[app.kind]}{timezone.localdate():%Y%m%d}{app.pk:06d}"


@retry_on_conflict
def apply_open(*, user, data: AccountData, reason: str) -> Application:
    """A budget unit applies to open an account (开户申请), saved as a draft."""
    agency = _agency_in_scope(user, data.agency_id, F.APPLY)
    values = _check_account_fields(number=data.number, name=data.name, bank_id=data.bank_id,
                                   branch_id=data.branch_id, nature=data.nature, currency=data.currency,
                                   purpose=data.purpose, approval_doc=data.approval_doc)
    reason = _text(reason, field="reason", label="申请理由", max_length=2000, required=True)
    if BankAccount.objects.filter(bank_id=values["bank_id"], number=values["number"]).exists():
        raise Conflict("bankaccounts.number_exists", f"账号 {values['number']} 已在该银行登记", field="number")
    values["account_number"], values["account_name"] = values.pop("number"), values.pop("name")
    try:
        with transaction.atomic():
            app = Application.objects.create(kind=Application.Kind.OPEN, agency=agency, region_id=agency.region_id,
                                             opened_on=data.opened_on, reason=reason, created_by=user,
                                             number=f"T{uuid.uuid4().hex[:20]}", **values)
    except IntegrityError:
        raise Conflict("bankaccounts.opening_in_progress", f"账号 {values['account_number']} 已有未办结的开户申请",
                       field="number") from None
    app.number = _number(app)
    app.save(update_fields=["number"])
    audit.record(user, "bankaccounts.application.create", app)
    return app


def _account_for_apply(user, account_id: int) -> BankAccount:
    permissions.require(user, F.APPLY)
    account = BankAccount.objects.restrict(user, F.APPLY).filter(pk=account_id).select_related("agency").first()
    if account is None:
        raise NotFound("bankaccounts.account_not_found", "银行账户不存在或不在您的数据权限范围内", field="account_id")
    if account.is_closed:
        raise Conflict("bankaccounts.account_closed", f"账户 {account.number} 已销户", field="account_id")
    return account


def _create_for_account(user, account: BankAccount, *, kind: str, reason: str, **values) -> Application:
    base = {"account_number": account.number, "account_name": account.name, "bank_id": account.bank_id,
            "branch_id": account.branch_id, "nature": account.nature, "currency": account.currency,
            "purpose": account.purpose, "approval_doc": account.approval_doc, "opened_on": account.opened_on}
    base.update(values)
    try:
        with transaction.atomic():
            app = Application.objects.create(kind=kind, agency_id=account.agency_id, region_id=account.region_id,
                                             account=account, reason=reason, created_by=user,
                                             number=f"T{uuid.uuid4().hex[:20]}", **base)
    except IntegrityError:
        raise Conflict("bankaccounts.application_in_progress",
                       f"账户 {account.number} 已有未办结的变更或销户申请", field="account_id") from None
    app.number = _number(app)
    app.save(update_fields=["number"])
    audit.record(user, f"bankaccounts.application.create_{kind}", app)
    return app


def _change_values(account_like, change: ChangeData) -> dict:
    values = {}
    if change.name is not None:
        values["account_name"] = _text(change.name, field="name", label="账户名称", max_length=200, required=True)
    if change.branch_id is not None:
        if not BankBranch.objects.filter(pk=change.branch_id, bank_id=account_like.bank_id, is_active=True).exists():
            raise ValidationFailed("bankaccounts.branch_invalid", "开户网点不属于该账户的开户银行或已停用",
                                   field="branch_id")
        values["branch_id"] = change.branch_id
    if change.nature is not None:
        if change.nature not in Nature.values:
            raise ValidationFailed("bankaccounts.nature_invalid", "账户性质不正确", field="nature")
        if change.nature == Nature.ZERO_BALANCE and account_like.currency != Currency.CNY:
            raise ValidationFailed("bankaccounts.zero_balance_currency", "零余额账户只能是人民币账户", field="nature")
        values["nature"] = change.nature
    if change.purpose is not None:
        values["purpose"] = _text(change.purpose, field="purpose", label="用途", max_length=300)
    if change.approval_doc is not None:
        values["approval_doc"] = _text(change.approval_doc, field="approval_doc", label="批准文号", max_length=100)
    return values


@retry_on_conflict
def apply_change(*, user, account_id: int, change: ChangeData, reason: str) -> Application:
    """A budget unit applies to change an account's name, branch, nature, purpose or approval document."""
    account = _account_for_apply(user, account_id)
    reason = _text(reason, field="reason", label="申请理由", max_length=2000, required=True)
    values = _change_values(account, change)
    current = {"account_name": account.name, "branch_id": account.branch_id, "nature": account.nature,
               "purpose": account.purpose, "approval_doc": account.approval_doc}
    if all(current[k] == v for k, v in values.items()):
        raise ValidationFailed("bankaccounts.nothing_changed", "变更申请没有改变任何项目", field="name")
    return _create_for_account(user, account, kind=Application.Kind.CHANGE, reason=reason, **values)


@retry_on_conflict
def apply_close(*, user, account_id: int, closed_on: dt.date, reason: str) -> Application:
    """A budget unit applies to close an account (销户申请) on `closed_on`."""
    account = _account_for_apply(user, account_id)
    reason = _text(reason, field="reason", label="销户理由", max_length=2000, required=True)
    if closed_on < account.opened_on:
        raise ValidationFailed("bankaccounts.closed_before_opened", "销户日期不能早于开户日期", field="closed_on")
    return _create_for_account(user, account, kind=Application.Kind.CLOSE, reason=reason, closed_on=closed_on)


@retry_on_conflict
def update_application(*, user, application_id: int, reason: str | None = None, data: AccountData | None = None,
                       change: ChangeData | None = None, closed_on: dt.date | None = None) -> Application:
    """Correct a draft, returned or withdrawn application before (re)submitting it."""
    app = _application_for_update(user, application_id)
    if not app.editable:
        raise Conflict("bankaccounts.application_locked", f"申请当前状态为“{app.get_status_display()}”，不能修改")
    before = audit.snapshot(app)
    if reason is not None:
        app.reason = _text(reason, field="reason", label="申请理由", max_length=2000, required=True)
    if app.kind == Application.Kind.OPEN and data is not None:
        values = _check_account_fields(number=data.number, name=data.name, bank_id=data.bank_id,
                                       branch_id=data.branch_id, nature=data.nature, currency=data.currency,
                                       purpose=data.purpose, approval_doc=data.approval_doc)
        app.account_number, app.account_name = values.pop("number"), values.pop("name")
        for k, v in values.items():
            setattr(app, k, v)
        app.opened_on = data.opened_on
    elif app.kind == Application.Kind.CHANGE and change is not None:
        for k, v in _change_values(app, change).items():
            setattr(app, k, v)
    elif app.kind == Application.Kind.CLOSE and closed_on is not None:
        if closed_on < app.opened_on:
            raise ValidationFailed("bankaccounts.closed_before_opened", "销户日期不能早于开户日期", field="closed_on")
        app.closed_on = closed_on
    try:
        with transaction.atomic():
            app.save()
    except IntegrityError:
        raise Conflict("bankaccounts.opening_in_progress", "该账号已有未办结的开户申请", field="number") from None
    audit.record(user, "bankaccounts.application.update", app, before=before)
    return app


def act_on_application(*, user, application_id: int, action: str, text: str = "",
                       step: int | None = None) -> Application:
    """Submit, approve, return (with reason), reject or withdraw an application on its review chain."""
    permissions.require(user, F.APPLICATION_VIEW)
    app = Application.objects.restrict(user, F.APPLICATION_VIEW).filter(pk=application_id).first()
    if app is None:
        raise NotFound("bankaccounts.application_not_found", "申请不存在或不在您的数据权限范围内")
    review.perform(action, document=app, user=user, text=text, step=step, doc_type=APPLICATION_DOC)
    app.refresh_from_db()
    return app


def _last_comment(instance) -> str:
    last = instance.actions.order_by("-version").first()
    return (last.comment if last else "")[:2000]


def check_reviewer(instance, agency: Agency, user) -> None:
    """The 主管部门 step is acted on by a user of the supervising department (an agency at or above
    the applicant in the agency tree), the 国库处 step by finance staff (no agency): holding both
    functions (the treasury division holds ``bankaccounts.*``) never lets one person skip a level."""
    last = instance.actions.order_by("-version").first()
    if last is None or last.action == "submit" or getattr(user, "is_superuser", False):
        return
    steps = instance.steps or []
    function = steps[last.step_no - 1]["function"] if 0 < last.step_no <= len(steps) else ""
    user_agency = getattr(user, "agency", None)
    if function == F.UNIT_REVIEW and (user_agency is None or not agency.code.startswith(user_agency.code)):
        raise PermissionDenied("bankaccounts.not_supervising_department",
                               f"“{last.step_name}”环节须由申请单位的主管部门办理")
    if function == F.TREASURY_REVIEW and user_agency is not None:
        raise PermissionDenied("bankaccounts.not_treasury", f"“{last.step_name}”环节须由财政国库处办理")


def _set_status(model, pk: int, from_states, to: str, **extra) -> None:
    n = model.objects.filter(pk=pk, status__in=list(from_states)).update(status=to, **extra)
    if n == 0:
        raise Conflict("bankaccounts.state_changed", "单据状态已变化，请刷新后重试")


def on_application_review(event: str, *, document: Application, instance, user) -> None:
    """Review chain callback: the application's state follows its review; on completion the
    account is opened, changed or closed, and every field written goes to the history."""
    S = Application.Status
    app = Application.objects.select_related("agency", "account", "created_by").get(pk=document.pk)
    check_reviewer(instance, app.agency, user)
    before = audit.snapshot(app)
    if event == review.EVENT_SUBMITTED:
        _set_status(Application, app.pk, [S.DRAFT, S.RETURNED, S.WITHDRAWN], S.PENDING, return_reason="")
    elif event == review.EVENT_RETURNED:
        _set_status(Application, app.pk, [S.PENDING], S.RETURNED, return_reason=_last_comment(instance))
    elif event == review.EVENT_WITHDRAWN:
        _set_status(Application, app.pk, [S.PENDING], S.WITHDRAWN)
    elif event == review.EVENT_REJECTED:
        _set_status(Application, app.pk, [S.PENDING], S.REJECTED, return_reason=_last_comment(instance),
                    decided_at=timezone.now())
    elif event == review.EVENT_COMPLETED:
        now = timezone.now()
        account = _apply_approved(app, user=user, at=now)
        _set_status(Application, app.pk, [S.PENDING], S.APPROVED, decided_at=now, account=account)
        audit.record(user, f"bankaccounts.account.{app.kind}", account)
    else:
        return
    app.refresh_from_db()
    audit.record(user, f"bankaccounts.application.{event.split('.')[-1]}", app, before=before)


def _apply_approved(app: Application, *, user, at) -> BankAccount:
    if app.kind == Application.Kind.OPEN:
        values = {"number": app.account_number, "name": app.account_name, "bank_id": app.bank_id,
                  "branch_id": app.branch_id, "nature": app.nature, "currency": app.currency,
                  "purpose": app.purpose, "approval_doc": app.approval_doc}
        account = _create_account(agency=app.agency, values=values, opened_on=app.opened_on)
        _history(account, kind=AccountChange.Kind.OPEN, user=user, at=at, application=app,
                 rows=[(f, label, "", display_value(f, getattr(account, f))) for f, label in ACCOUNT_FIELDS])
        _relink(account)
        return account
    account = BankAccount.objects.select_for_update().get(pk=app.account_id)
    if account.is_closed:
        raise Conflict("bankaccounts.account_closed", f"账户 {account.number} 已销户，不能再变更或销户")
    if app.kind == Application.Kind.CHANGE:
        wanted = {"name": app.account_name, "branch_id": app.branch_id, "nature": app.nature,
                  "purpose": app.purpose, "approval_doc": app.approval_doc}
        labels = dict(ACCOUNT_FIELDS)
        rows = [(f, labels[f], display_value(f, getattr(account, f)), display_value(f, v))
                for f, v in wanted.items() if getattr(account, f) != v]
        try:
            with transaction.atomic():
                BankAccount.objects.filter(pk=account.pk).update(updated_at=at, **wanted)
        except IntegrityError:
            raise Conflict("bankaccounts.basic_exists", "该单位已有正在使用的基本存款账户", field="nature") from None
        account.refresh_from_db()
        _history(account, kind=AccountChange.Kind.CHANGE, user=user, at=at, application=app, rows=rows)
        return account
    # close: only an account in use, never twice
    n = (BankAccount.objects.filter(pk=account.pk, status=BankAccount.Status.ACTIVE)
         .update(status=BankAccount.Status.CLOSED, closed_on=app.closed_on, updated_at=at))
    if n == 0:
        raise Conflict("bankaccounts.account_closed", f"账户 {account.number} 已销户")
    if BankFlow.objects.filter(account=account, tx_date__gt=app.closed_on).exists():
        raise Conflict("bankaccounts.flows_after_close",
                       f"账户 {account.number} 在销户日期 {app.closed_on} 之后仍有交易流水，不能以该日期销户",
                       field="closed_on")
    account.refresh_from_db()
    _history(account, kind=AccountChange.Kind.CLOSE, user=user, at=at, application=app,
             rows=[("status", "状态", str(BankAccount.Status.ACTIVE.label), str(BankAccount.Status.CLOSED.label)),
                   ("closed_on", "销户日期", "", str(app.closed_on))])
    return account


# --- annual inspection ------------------------------------------------------------------------

@retry_on_conflict
def create_inspection(*, user, account_id: int, year: int, usage: str, conclusion: str = "compliant",
                      still_needed: bool = True) -> Inspection:
    """A budget unit fills in the annual inspection of an account for `year` (draft)."""
    account = _account_for_apply(user, account_id)
    if not 2000 <= year <= timezone.localdate().year:
        raise ValidationFailed("bankaccounts.year_invalid", "年检年度不正确", field="year")
    if year < account.opened_on.year:
        raise ValidationFailed("bankaccounts.year_before_open", "年检年度早于账户开户年度", field="year")
    if conclusion not in Inspection.Conclusion.values:
        raise ValidationFailed("bankaccounts.conclusion_invalid", "年检结论不正确", field="conclusion")
    usage = _text(usage, field="usage", label="账户使用情况说明", max_length=2000, required=True)
    try:
        with transaction.atomic():
            insp = Inspection.objects.create(account=account, agency_id=account.agency_id,
                                             region_id=account.region_id, year=year, usage=usage,
                                             conclusion=conclusion, still_needed=still_needed, created_by=user)
    except IntegrityError:
        raise Conflict("bankaccounts.inspection_exists", f"账户 {account.number} 的 {year} 年度年检已填报",
                       field="year") from None
    audit.record(user, "bankaccounts.inspection.create", insp)
    return insp


@retry_on_conflict
def update_inspection(*, user, inspection_id: int, usage: str | None = None, conclusion: str | None = None,
                      still_needed: bool | None = None) -> Inspection:
    permissions.require(user, F.APPLY)
    insp = Inspection.objects.restrict(user, F.APPLY).select_for_update(of=("self",)).filter(pk=inspection_id).first()
    if insp is None:
        raise NotFound("bankaccounts.inspection_not_found", "年检不存在或不在您的数据权限范围内")
    if not insp.editable:
        raise Conflict("bankaccounts.inspection_locked", f"年检当前状态为“{insp.get_status_display()}”，不能修改")
    before = audit.snapshot(insp)
    if usage is not None:
        insp.usage = _text(usage, field="usage", label="账户使用情况说明", max_length=2000, required=True)
    if conclusion is not None:
        if conclusion not in Inspection.Conclusion.values:
            raise ValidationFailed("bankaccounts.conclusion_invalid", "年检结论不正确", field="conclusion")
        insp.conclusion = conclusion
    if still_needed is not None:
        insp.still_needed = still_needed
    insp.save()
    audit.record(user, "bankaccounts.inspection.update", insp, before=before)
    return insp


def act_on_inspection(*, user, inspection_id: int, action: str, text: str = "", step: int | None = None) -> Inspection:
    permissions.require(user, F.INSPECTION_VIEW)
    insp = Inspection.objects.restrict(user, F.INSPECTION_VIEW).filter(pk=inspection_id).first()
    if insp is None:
        raise NotFound("bankaccounts.inspection_not_found", "年检不存在或不在您的数据权限范围内")
    review.perform(action, document=insp, user=user, text=text, step=step, doc_type=INSPECTION_DOC)
    insp.refresh_from_db()
    return insp


def on_inspection_review(event: str, *, document: Inspection, instance, user) -> None:
    S = Inspection.Status
    insp = Inspection.objects.select_related("account", "agency", "created_by").get(pk=document.pk)
    check_reviewer(instance, insp.agency, user)
    before = audit.snapshot(insp)
    if event == review.EVENT_SUBMITTED:
        if insp.account.is_closed:
            raise Conflict("bankaccounts.account_closed", f"账户 {insp.account.number} 已销户，不能年检")
        _set_status(Inspection, insp.pk, [S.DRAFT, S.RETURNED, S.WITHDRAWN], S.PENDING, return_reason="")
    elif event == review.EVENT_RETURNED:
        _set_status(Inspection, insp.pk, [S.PENDING], S.RETURNED, return_reason=_last_comment(instance))
    elif event == review.EVENT_WITHDRAWN:
        _set_status(Inspection, insp.pk, [S.PENDING], S.WITHDRAWN)
    elif event == review.EVENT_REJECTED:
        _set_status(Inspection, insp.pk, [S.PENDING], S.REJECTED, return_reason=_last_comment(instance),
                    decided_at=timezone.now())
    elif event == review.EVENT_COMPLETED:
        now = timezone.now()
        _set_status(Inspection, insp.pk, [S.PENDING], S.APPROVED, decided_at=now)
        account = insp.account
        old = account.last_inspection_year
        (BankAccount.objects.filter(pk=account.pk)
         .filter(Q(last_inspection_year__isnull=True) | Q(last_inspection_year__lt=insp.year))
         .update(last_inspection_year=insp.year))
        _history(account, kind=AccountChange.Kind.INSPECTION, user=user, at=now, inspection=insp,
                 rows=[("last_inspection_year", "年检", str(old or ""),
                        f"{insp.year}年度：{insp.get_conclusion_display()}")])
    else:
        return
    insp.refresh_from_db()
    audit.record(user, f"bankaccounts.inspection.{event.split('.')[-1]}", insp, before=before)


def relink_flows(*, user, account_id: int) -> int:
    """Attach flows received before the account was registered (also done on registration)."""
    permissions.require(user, F.ACCOUNT_REGISTER)
    with transaction.atomic():
        account = BankAccount.objects.restrict(user, F.ACCOUNT_REGISTER).filter(pk=account_id).first()
        if account is None:
            raise NotFound("bankaccounts.account_not_found", "银行账户不存在或不在您的数据权限范围内")
        n = _relink(account)
        audit.record(user, "bankaccounts.account.relink", account, after={"flows": n})
    return n



# --- exchange centre: importing flows and balances ---------------------------------------------

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
MAX_LISTED_ERRORS = 50


def max_message_bytes() -> int:
    from django.conf import settings

    return int(getattr(settings, "FMIS_BANK_MESSAGE_MAX_BYTES", DEFAULT_MAX_BYTES))


@dataclass
class ImportResult:
    batch_id: int
    bank_code: str
    kind: str
    business_date: dt.date
    lines: int
    inserted: int
    duplicates: int
    redelivered: bool  # the very same message had been accepted before: nothing was written


# Staging tables: one per message kind, created once per database session (temporary, so never
# WAL-logged and private to the session) and emptied at the start of every message; the identity
# numbers the CSV records from line 3 (after the two header lines).
STAGE = {"flows": "bankacc_stage_flows", "balances": "bankacc_stage_balances"}
_STAGE_COLUMNS = {
    "flows": """account_no text COLLATE "C", serial_no text COLLATE "C", tx_time text, direction text, amount text,
                currency text, balance text, counterparty_name text, counterparty_account text, summary text""",
    "balances": """account_no text COLLATE "C", currency text, balance text""",
}


def _prepare_stage(cur, kind: str) -> str:
    table = STAGE[kind]
    cur.execute(f"""CREATE TEMP TABLE IF NOT EXISTS {table} (
                        line_no bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 3), {_STAGE_COLUMNS[kind]})
                    ON COMMIT DELETE ROWS""")
    # several messages may be imported in one transaction: start from an empty table and line 3
    cur.execute(f"TRUNCATE pg_temp.{table} RESTART IDENTITY")
    return table


# PostgreSQL's regular expressions are slow with bounded repetitions ({8,32}): lengths are checked
# with length() and the patterns use unbounded ones
_AMOUNT_OK = r"^(0|[1-9][0-9]*)(\.[0-9][0-9]?)?$"
_SIGNED_OK = r"^-?(0|[1-9][0-9]*)(\.[0-9][0-9]?)?$"
_ACCOUNT_BAD = r"account_no IS NULL OR length(account_no) NOT BETWEEN 8 AND 32 OR account_no !~ '^[0-9]+$'"
_CURRENCY_BAD = "currency IS NULL OR length(currency) <> 3 OR currency !~ '^[A-Z]+$'"

# (problem code, SQL condition, field, message): the first that holds is reported for a line
_FLOW_CHECKS: tuple[tuple[str, str, str, str], ...] = (
    ("account", _ACCOUNT_BAD, "account_no", "账号应为 8 至 32 位数字"),
    ("serial", "serial_no IS NULL OR length(serial_no) > 64 OR serial_no !~ '^[A-Za-z0-9_.-]+$'", "serial_no",
     "银行流水号应为 1 至 64 位字母、数字或 _ . -"),
    ("time", ("tx_time IS NULL OR length(tx_time) <> 19 OR tx_time !~ '^[0-9-]+[T ][0-9:]+$' "
              "OR NOT pg_input_is_valid(tx_time, 'timestamp')"), "tx_time", "交易时间格式应为 YYYY-MM-DDTHH:MM:SS"),
    ("date", "tx_time::timestamp::date <> %(date)s", "tx_time", "交易日期与报文业务日期不符"),
    ("direction", "direction IS NULL OR direction NOT IN ('C', 'D')", "direction", "收支方向应为 C（收入）或 D（支出）"),
    ("negative", "amount ~ '^\\s*-'", "amount", "金额不能为负数（支出请用方向 D 表示）"),
    ("amount", f"amount IS NULL OR length(split_part(amount, '.', 1)) > 18 OR amount !~ '{_AMOUNT_OK}'", "amount",
     "金额不是有效的数字（元，最多两位小数）"),
    ("zero", "amount::numeric = 0", "amount", "金额必须大于零"),
    ("currency", _CURRENCY_BAD, "currency", "币种应为三位大写字母代码，如 CNY"),
    ("balance", (f"balance IS NOT NULL AND balance <> '' AND (length(split_part(ltrim(balance, '-'), '.', 1)) > 18 "
                 f"OR balance !~ '{_SIGNED_OK}')"),
     "balance", "交易后余额不是有效的数字"),
    ("text", "length(counterparty_name) > 200 OR length(counterparty_account) > 40 OR length(summary) > 200",
     "summary", "对方户名不超过 200 字、对方账号不超过 40 字、摘要不超过 200 字"),
)
_BALANCE_CHECKS: tuple[tuple[str, str, str, str], ...] = (
    ("account", _ACCOUNT_BAD, "account_no", "账号应为 8 至 32 位数字"),
    ("currency", _CURRENCY_BAD, "currency", "币种应为三位大写字母代码，如 CNY"),
    ("balance", f"balance IS NULL OR length(split_part(ltrim(balance, '-'), '.', 1)) > 18 OR balance !~ '{_SIGNED_OK}'",
     "balance",
     "余额不是有效的数字（元，最多两位小数）"),
)

# The fast check of a flows line, for what neither the casts nor the flows table's constraints
# would refuse on their own: the shapes of the account and serial numbers, of the time (on the
# business date) and of the amounts, and the currency code. Everything else (a wrong direction,
# a zero, negative or oversized amount, an impossible date, an over-long field, a missing value)
# makes the insert fail. It is stricter than _FLOW_CHECKS, never laxer (it may flag a leap second
# or an amount quoted in the CSV): a flagged message, or one whose insert fails, is checked line
# by line with _FLOW_CHECKS, which decide and name the lines. The only regular expressions look
# for one character outside a class, which PostgreSQL runs several times faster than anchored
# patterns; positions and lengths are plain string functions. Two dots in an amount, say, pass
# here and fail the cast.
_DECIMALS_OK = ("({v} !~ '[^0-9.]' AND left({v}, 1) <> '.' AND right({v}, 1) <> '.' "
                "AND (strpos({v}, '.') = 0 OR length({v}) - strpos({v}, '.') <= 2) "
                "AND (left({v}, 1) <> '0' OR substr({v}, 2, 1) IN ('.', '')))")
_FLOW_FAST_OK = (
    "s.account_no !~ '[^0-9]' AND length(s.account_no) >= 8 "
    "AND s.serial_no !~ '[^A-Za-z0-9_.-]' AND s.serial_no <> '' "
    "AND length(s.tx_time) = 19 AND left(s.tx_time, 10) = %(date_text)s AND substr(s.tx_time, 11, 1) IN ('T', ' ') "
    "AND right(s.tx_time, 8) !~ '[^0-9:]' AND substr(s.tx_time, 14, 1) = ':' AND substr(s.tx_time, 17, 1) = ':' "
    "AND substr(s.tx_time, 12, 2) < '24' AND substr(s.tx_time, 15, 1) < '6' AND substr(s.tx_time, 18, 1) < '6' "
    f"AND {_DECIMALS_OK.format(v='s.amount')} AND s.amount <> '0' "
    "AND s.currency !~ '[^A-Z]' AND length(s.currency) = 3 "
    "AND (COALESCE(s.balance, '') = '' OR (strpos(substr(s.balance, 2), '-') = 0 "
    f"     AND {_DECIMALS_OK.format(v='ltrim(s.balance, chr(45))')}))"
)

# Imports of flows from one bank run one after another (a transaction-scoped advisory lock on the
# bank): each message's running totals build on the committed totals of the messages before it.
_FLOWS_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('bankaccounts.flows:' || %s::text, 0))"


def _lock_bank_flows(cur, bank_id: int) -> None:
    cur.execute(_FLOWS_LOCK, [bank_id])


def _first_problems(cur, table: str, checks, params: dict) -> tuple[int, list[dict]]:
    case = " ".join(f"WHEN {cond} THEN {i}" for i, (_c, cond, _f, _m) in enumerate(checks))
    cur.execute(f"""SELECT line_no, problem, count(*) OVER () FROM (
                        SELECT line_no, CASE {case} END AS problem FROM {table}) t
                    WHERE problem IS NOT NULL ORDER BY line_no LIMIT {MAX_LISTED_ERRORS}""", params)
    rows = cur.fetchall()
    total = rows[0][2] if rows else 0
    return total, [{"line": line, "field": checks[p][2], "message": f"第 {line} 行：{checks[p][3]}"}
                   for line, p, _n in rows]


def _refuse_lines(total: int, errors: list[dict]) -> None:
    more = f"等共 {total} 行有误" if total > len(errors) else f"共 {total} 行有误"
    from fmis.bankaccounts.formats import MessageError

    raise MessageError("bankaccounts.lines_invalid", f"{errors[0]['message']}（{more}），整个报文未导入",
                       line=errors[0]["line"], field=errors[0]["field"], errors=errors)


def _copy_message(cur, table: str, message, decoder, body_start: int, progress) -> None:
    """Stream the records into the staging table (COPY), chunk by chunk."""
    from psycopg import errors as pgerrors

    from fmis.bankaccounts.formats import MessageError

    cols = message.columns
    raw = cur.cursor if hasattr(cur, "cursor") else cur
    try:
        if message.header.fmt == "csv":
            with raw.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv)") as cp:
                for chunk in message.csv_chunks(decoder, body_start):
                    cp.write(chunk)
                    if progress:
                        progress(message.records)
        else:
            with raw.copy(f"COPY {table} (line_no, {', '.join(cols)}) FROM STDIN") as cp:
                for batch in message.xml_rows(decoder):
                    for row in batch:
                        cp.write_row(row)
                    if progress:
                        progress(message.records)
    except (pgerrors.BadCopyFileFormat, pgerrors.InvalidTextRepresentation, pgerrors.CharacterNotInRepertoire,
            pgerrors.UntranslatableCharacter) as exc:
        import re as _re

        m = _re.search(r"line (\d+)", str(getattr(exc.diag, "context", "") or ""))
        line = int(m.group(1)) + 2 if m else None
        detail = str(exc.diag.message_primary or exc)
        what = {"extra data after last expected column": "列数多于规定的列",
                "missing data for column": "列数少于规定的列",
                "unterminated CSV quoted field": "引号未闭合"}
        reason = next((v for k, v in what.items() if detail.startswith(k)), detail)
        raise MessageError("bankaccounts.csv_malformed", f"第 {line} 行：{reason}" if line else f"CSV 格式错误：{reason}",
                           line=line) from None


def _bank_for(user, code: str, function: str) -> Bank:
    from fmis.bankaccounts.formats import MessageError

    bank = permissions.restrict(Bank.objects.filter(code=code), user, function).first()
    if bank is not None:
        return bank
    if not Bank.objects.filter(code=code).exists():
        raise MessageError("bankaccounts.bank_unknown", f"报文所称银行 {code} 未登记", field="bank")
    raise MessageError("bankaccounts.bank_not_yours", f"您无权以银行 {code} 的名义报送报文", field="bank")


def _receiving_region_id(user):
    if getattr(user, "region_id", None):
        return user.region_id
    agency = getattr(user, "agency", None)
    return agency.region_id if agency is not None else None


def _load(cur, *, user, message, decoder, body_start: int, function: str, source: str, filename: str,
          progress) -> ImportResult:
    from django.conf import settings

    from fmis.bankaccounts.formats import MessageError
    from fmis.bankaccounts.models import ImportBatch

    h = message.header
    bank = _bank_for(user, h.bank_code, function)
    if h.business_date > timezone.localdate():
        raise MessageError("bankaccounts.header_date_future", f"报文业务日期 {h.business_date} 晚于今天", field="date")
    table = _prepare_stage(cur, h.kind)
    _copy_message(cur, table, message, decoder, body_start, progress)
    lines = message.records
    params = {"bank": bank.pk, "date": h.business_date, "date_text": h.business_date.isoformat(),
              "tz": settings.TIME_ZONE, "region": _receiving_region_id(user)}
    if h.kind == "balances":
        total, errors = _first_problems(cur, table, _BALANCE_CHECKS, params)
        if errors:
            _refuse_lines(total, errors)
    now = timezone.now()
    cur.execute("""INSERT INTO bankaccounts_importbatch
                       (bank_id, region_id, agency_id, kind, fmt, source, business_date, filename, sha256, size, lines,
                        inserted, duplicates, received_by_id, received_at)
                   VALUES (%s, %s, NULL, %s, %s, %s, %s, %s, %s, %s, %s, 0, 0, %s, %s)
                   ON CONFLICT (bank_id, kind, sha256) DO NOTHING RETURNING id""",
                [bank.pk, _receiving_region_id(user), h.kind, h.fmt, source, h.business_date, filename[:255],
                 message.reader.sha256, message.reader.size, lines, getattr(user, "pk", None), now])
    row = cur.fetchone()
    if row is None:
        prior = ImportBatch.objects.get(bank=bank, kind=h.kind, sha256=message.reader.sha256)
        return ImportResult(prior.pk, bank.code, h.kind, h.business_date, lines, 0, lines, True)
    batch_id = row[0]
    params["batch"] = batch_id
    if h.kind == "flows":
        inserted = _insert_flows(cur, table, params, lines)
    else:
        inserted = _insert_balances(cur, table, params, lines)
    cur.execute("UPDATE bankaccounts_importbatch SET inserted = %s, duplicates = %s WHERE id = %s RETURNING id",
                [inserted, lines - inserted, batch_id])
    batch = ImportBatch.objects.get(pk=batch_id)
    audit.record(user, f"bankaccounts.exchange.import_{h.kind}", batch)
    return ImportResult(batch_id, bank.code, h.kind, h.business_date, lines, inserted, lines - inserted, False)


def _flows_statement(table: str, *, known: bool) -> str:
    """The one statement that loads a flows message into the flows and the daily totals.

    The fast line check gates everything: a flagged message writes nothing (and is then checked
    line by line). The lines are joined to the register and inserted in index order; the rows
    inserted give each account's income, expenditure and count of the day, and the currencies
    seen, so that lines for a closed account (after its closing date) or in another currency gate
    the daily totals the same way (the caller then refuses the message). The day's totals are
    inserted with the running totals carried on from the account's previous day, and added to the
    running totals of its later days when the bank delivers late (``%(later)s``).

    ``known=False`` (no flow of this bank and day yet): plain inserts, each line probing the unique
    index once; a serial already stored under another day fails the insert and the caller comes
    back with ``known=True``, where the flows are inserted ``ON CONFLICT DO NOTHING`` (a known
    serial is skipped) and the daily totals upserted."""
    on_flow = "ON CONFLICT (bank_id, account_no, serial_no) DO NOTHING" if known else ""
    on_day = ("""ON CONFLICT (account_id, day) DO UPDATE SET
                     income = d.income + EXCLUDED.income, expenditure = d.expenditure + EXCLUDED.expenditure,
                     flows = d.flows + EXCLUDED.flows, cum_income = d.cum_income + EXCLUDED.income,
                     cum_expenditure = d.cum_expenditure + EXCLUDED.expenditure""" if known else "")
    return f"""
    WITH bad AS MATERIALIZED (
        SELECT 1 FROM {table} s WHERE %(check)s AND ({_FLOW_FAST_OK}) IS NOT TRUE LIMIT 1
    ), ins AS (
        INSERT INTO bankaccounts_bankflow
            (bank_id, account_no, account_id, agency_id, region_id, serial_no, tx_time, tx_date, direction, amount,
             currency, balance, counterparty_name, counterparty_account, summary, batch_id)
        SELECT %(bank)s, s.account_no, a.id, a.agency_id, COALESCE(a.region_id, %(region)s), s.serial_no,
               s.tx_time::timestamp AT TIME ZONE %(tz)s, %(date)s, s.direction, s.amount::numeric(20, 2), s.currency,
               NULLIF(s.balance, '')::numeric(20, 2), COALESCE(s.counterparty_name, ''),
               COALESCE(s.counterparty_account, ''), COALESCE(s.summary, ''), %(batch)s
        FROM {table} s
        LEFT JOIN bankaccounts_bankaccount a ON a.bank_id = %(bank)s AND a.number = s.account_no
        WHERE NOT EXISTS (SELECT 1 FROM bad)
        ORDER BY s.account_no, s.serial_no  -- index order: an account's flows enter the indexes together
        {on_flow}
        RETURNING account_id, direction, amount, currency
    ), delta AS (
        SELECT account_id, COALESCE(SUM(amount) FILTER (WHERE direction = 'C'), 0) AS income,
               COALESCE(SUM(amount) FILTER (WHERE direction = 'D'), 0) AS expenditure, COUNT(*) AS flows,
               MIN(currency) AS currency_min, MAX(currency) AS currency_max
        FROM ins WHERE account_id IS NOT NULL GROUP BY account_id
    ), refused AS MATERIALIZED (
        SELECT 1 FROM delta x JOIN bankaccounts_bankaccount a ON a.id = x.account_id
        WHERE x.currency_min <> a.currency OR x.currency_max <> a.currency
           OR (a.closed_on IS NOT NULL AND %(date)s > a.closed_on)
        LIMIT 1
    ), later AS (
        UPDATE bankaccounts_accountday d
        SET cum_income = d.cum_income + x.income, cum_expenditure = d.cum_expenditure + x.expenditure
        FROM delta x
        WHERE %(later)s AND d.account_id = x.account_id AND d.day > %(date)s AND NOT EXISTS (SELECT 1 FROM refused)
        RETURNING 1
    ), days AS (
        INSERT INTO bankaccounts_accountday AS d
            (account_id, day, income, expenditure, flows, cum_income, cum_expenditure)
        SELECT x.account_id, %(date)s, x.income, x.expenditure, x.flows,
               COALESCE(p.cum_income, 0) + x.income, COALESCE(p.cum_expenditure, 0) + x.expenditure
        FROM delta x
        LEFT JOIN LATERAL (SELECT cum_income, cum_expenditure FROM bankaccounts_accountday
                           WHERE account_id = x.account_id AND day < %(date)s
                           ORDER BY day DESC LIMIT 1) p ON true
        WHERE NOT EXISTS (SELECT 1 FROM refused)
        {on_day}
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM bad), (SELECT count(*) FROM refused), (SELECT count(*) FROM ins),
           (SELECT count(*) FROM days), (SELECT count(*) FROM later)"""


class _Flagged(Exception):
    """The fast checks flagged the message: roll back to the savepoint and look line by line."""


def _unique_violation(exc: Exception) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) == "23505" and getattr(getattr(cause, "diag", None), "constraint_name",
                                                                   None) in ("bankacc_flow_serial_uniq",
                                                                             "bankacc_day_uniq")


def _insert_flows(cur, table: str, params: dict, lines: int) -> int:
    """Insert a flows message's lines and maintain the daily totals; refuse (MessageError naming
    the lines) a message with a bad line, a line of a closed or other-currency account, or a known
    serial whose content differs. Runs under the bank's flows lock, so what the bank's earlier
    messages wrote is settled and nothing of the same bank interleaves."""
    from django.db import DataError, IntegrityError

    from fmis.bankaccounts.formats import MessageError

    _lock_bank_flows(cur, params["bank"])
    # which of the bank's days hold flows already: the same day (this message may repeat known
    # serials) or later days (their running totals must include this day)
    cur.execute("""SELECT COALESCE(bool_or(business_date = %(date)s), false),
                          COALESCE(bool_or(business_date > %(date)s), false)
                   FROM bankaccounts_importbatch
                   WHERE kind = 'flows' AND bank_id = %(bank)s AND business_date >= %(date)s AND inserted > 0""",
                params)
    same_day, later = cur.fetchone()
    params = {**params, "later": later}
    known = same_day
    checked = False
    if not known:
        try:
            with transaction.atomic():
                cur.execute(_flows_statement(table, known=False), {**params, "check": True})
                bad, refused, inserted, _days, _later = cur.fetchone()
                if bad or refused:
                    raise _Flagged
            checked = True
        except _Flagged:
            pass
        except (DataError, IntegrityError) as exc:
            if not _unique_violation(exc):
                # a cast or a constraint refused a line: the line checks below name it
                total, errors = _first_problems(cur, table, _FLOW_CHECKS, params)
                if errors:
                    _refuse_lines(total, errors)
                raise
    if not checked:
        total, errors = _first_problems(cur, table, _FLOW_CHECKS, params)
        if errors:
            _refuse_lines(total, errors)
        _refuse_account_lines(cur, table, params)
        cur.execute(_flows_statement(table, known=True), {**params, "check": False})
        bad, refused, inserted, _days, _later = cur.fetchone()
    if inserted < lines:
        # some serials were known: harmless only if the stored flow says the same thing
        cur.execute(f"""
            SELECT s.line_no, s.serial_no FROM {table} s
            JOIN bankaccounts_bankflow f ON f.bank_id = %(bank)s AND f.account_no = s.account_no
                                         AND f.serial_no = s.serial_no
            WHERE f.amount <> s.amount::numeric(20, 2) OR f.direction <> s.direction
               OR f.tx_time <> s.tx_time::timestamp AT TIME ZONE %(tz)s OR f.currency <> s.currency
            ORDER BY s.line_no LIMIT {MAX_LISTED_ERRORS}""", params)
        bad_rows = cur.fetchall()
        if bad_rows:
            errors = [{"line": line, "field": "serial_no",
                       "message": f"第 {line} 行：银行流水号 {serial} 已收到过，但金额、方向、时间或币种与先前不同"}
                      for line, serial in bad_rows]
            raise MessageError("bankaccounts.serial_conflict", f"{errors[0]['message']}，整个报文未导入",
                               line=errors[0]["line"], field="serial_no", errors=errors)
    return inserted


def _refuse_account_lines(cur, table: str, params: dict) -> None:
    """Refuse the message if a line is for a closed account (after its closing date) or in a
    currency other than the registered account's, naming the lines."""
    cur.execute(f"""SELECT s.line_no, a.number, a.closed_on, a.currency, s.currency
                    FROM {table} s JOIN bankaccounts_bankaccount a
                      ON a.bank_id = %(bank)s AND a.number = s.account_no
                    WHERE (a.status = 'closed' AND %(date)s > a.closed_on) OR a.currency <> s.currency
                    ORDER BY s.line_no LIMIT {MAX_LISTED_ERRORS}""", params)
    bad = cur.fetchall()
    if bad:
        errors = [{"line": line, "field": "account_no" if closed and cur_a == cur_s else "currency",
                   "message": (f"第 {line} 行：账户 {number} 已于 {closed} 销户，不接受此后的交易流水"
                               if closed and cur_a == cur_s else
                               f"第 {line} 行：币种 {cur_s} 与登记账户 {number} 的币种 {cur_a} 不符")}
                  for line, number, closed, cur_a, cur_s in bad]
        _refuse_lines(len(errors), errors)


def _insert_balances(cur, table: str, params: dict, lines: int) -> int:
    from fmis.bankaccounts.formats import MessageError

    cur.execute(f"""
        WITH ins AS (
            INSERT INTO bankaccounts_reportedbalance (bank_id, account_no, account_id, agency_id, region_id,
                                                      balance_date, balance, currency, batch_id)
            SELECT %(bank)s, s.account_no, a.id, a.agency_id, COALESCE(a.region_id, %(region)s), %(date)s,
                   s.balance::numeric(20, 2), s.currency, %(batch)s
            FROM {table} s
            LEFT JOIN bankaccounts_bankaccount a ON a.bank_id = %(bank)s AND a.number = s.account_no
            ON CONFLICT (bank_id, account_no, balance_date) DO NOTHING RETURNING 1)
        SELECT count(*) FROM ins""", params)
    inserted = cur.fetchone()[0]
    if inserted < lines:
        cur.execute(f"""
            SELECT s.line_no, s.account_no FROM {table} s
            JOIN bankaccounts_reportedbalance b ON b.bank_id = %(bank)s AND b.account_no = s.account_no
                                               AND b.balance_date = %(date)s
            WHERE b.balance <> s.balance::numeric(20, 2) OR b.currency <> s.currency
            ORDER BY s.line_no LIMIT {MAX_LISTED_ERRORS}""", params)
        bad = cur.fetchall()
        if bad:
            errors = [{"line": line, "field": "balance",
                       "message": f"第 {line} 行：账号 {acct} 当日余额已报送过，且与本次不同"} for line, acct in bad]
            raise MessageError("bankaccounts.balance_conflict", f"{errors[0]['message']}，整个报文未导入",
                               line=errors[0]["line"], field="balance", errors=errors)
    return inserted


def _log_exception(*, user, exc, reader, header, source: str, filename: str):
    from fmis.bankaccounts.formats import RAW_KEEP
    from fmis.bankaccounts.models import ExceptionMessage

    head = bytes(reader.head) if reader is not None else b""
    encoding = header.encoding if header is not None else "utf-8"
    raw = head.decode(encoding, errors="replace").replace("\x00", "\ufffd")
    size = reader.size if reader is not None else 0
    if reader is not None and reader.known_size is not None:
        size = max(size, reader.known_size)
    bank_code = (header.bank_code if header is not None else "")[:40]
    with transaction.atomic():
        entry = ExceptionMessage.objects.create(
            bank=Bank.objects.filter(code=bank_code).first() if bank_code else None, bank_code=bank_code,
            region_id=_receiving_region_id(user), business_date=header.business_date if header else None,
            kind=header.kind if header is not None and header.kind in ("flows", "balances") else "unknown",
            fmt=header.fmt if header is not None else "unknown", source=source, filename=filename[:255],
            code=exc.code[:60], reason=exc.message, errors=exc.errors[:MAX_LISTED_ERRORS], raw=raw,
            raw_truncated=size > len(head) or len(head) >= RAW_KEEP, size=size,
            sha256=reader.sha256 if reader is not None and reader.size == size else "",
            received_by=user if getattr(user, "pk", None) else None, received_at=timezone.now())
        audit.record(user, "bankaccounts.exchange.refuse", entry, object_repr=f"{bank_code} {exc.code}")
    return entry


def import_message(*, user, stream, source: str = "file", filename: str = "", max_bytes: int | None = None,
                   progress=None) -> ImportResult:
    """Import one bank message (flows or balances, XML or CSV) from the binary `stream`.

    All or nothing, in one transaction: the records are streamed into a staging table (COPY),
    then (flows, under the bank's flows lock) one statement checks the lines, inserts them (a flow
    already known by (bank, account, serial) is skipped) and maintains the daily and running
    totals from the rows really inserted; a flagged message is checked line by line and refused
    naming its lines. The same message delivered twice changes nothing. A refused message writes nothing but an entry in the exception message log
    (its own transaction) and raises ``ValidationFailed`` whose ``params`` name that entry.
    """
    from django.db import connection

    from fmis.bankaccounts.formats import MessageError, open_message

    function = F.BANK_DELIVER if source == "api" else F.EXCHANGE_IMPORT
    permissions.require(user, function)
    limit = max_bytes or max_message_bytes()
    reader = header = None
    try:
        with transaction.atomic():
            message, decoder, body_start = open_message(stream, max_bytes=limit)
            reader, header = message.reader, message.header
            with connection.cursor() as cur:
                return _load(cur, user=user, message=message, decoder=decoder, body_start=body_start,
                             function=function, source=source, filename=filename, progress=progress)
    except MessageError as exc:
        reader = reader or getattr(exc, "reader", None)
        header = header or getattr(exc, "header", None)
        entry = _log_exception(user=user, exc=exc, reader=reader, header=header, source=source, filename=filename)
        raise ValidationFailed(exc.code, f"{exc.message}（已记入异常报文日志，编号 {entry.pk}）", field=exc.field,
                               line=exc.line, errors=exc.errors, exception_id=entry.pk) from None
