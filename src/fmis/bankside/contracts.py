"""The agent-bank budget business contracts (seed 004), executed identically by every node.

Same shape as ``fmis.transfers.ledger.contracts``: each function takes a ``Call``, reads and
writes the world state through ``call.get``/``call.put``, appends ``Movement`` records for the
projections and refuses with ``Refused(code, message)``. Every function validates everything
before its first write. Money is integers in fen; no clock, no random source.

World state keys (all under ``bank/``):
  ``bank/biztype/<code>``                 business type (业务类型) and the budget types it groups
  ``bank/merchant/<merchant no>``         merchant (商户 = budget unit): bank, account, management function
  ``bank/account/<account no>``           financial account on the ledger: kind merchant / customer /
                                          suspense (BGL/CGL), managed flag, currency, balance
  ``bank/suspense/<bank>/<currency>``     the bank's suspense account for a currency
  ``bank/rule/<merchant>/<biztype>``      current flow rule (智能合约规则); each version also kept at
  ``bank/rule/<merchant>/<biztype>/<n>``
  ``bank/preapp/<id>``                    pre-application (预申请) or application (申请); id = its tx id
  ``bank/payment/<id>``                   a payment (budget information + flow + results); id = its tx id
  ``bank/serial/<bank>/<serial>``         bank serial number index (unique)
  ``bank/voucher/<voucher id>``           payment voucher id index (unique)
  ``bank/funding/<id>``                   funds credited to a managed merchant account; id = its tx id
  ``bank/fundref/<bank>/<reference>``     funding reference index (unique)
  ``bank/auth/<id>``, ``bank/authref/<bank>/<reference>``, ``bank/caseapp/<id>``, ``bank/case/<id>``
                                          exception flows (seed 004 §54), described with their functions

Movements: ``Movement(allocation=<payment or tx id>, kind, amount, region, detail)`` with kinds
  ``bank.increase`` / ``bank.decrease``        增计 / 减计 of a ledger account (changes its balance)
  ``bank.core_debit`` / ``bank.core_credit``   a result of the traditional core banking, recorded
and ``detail`` = {"account", "party", "merchant", "date", "balance" (after, ledger kinds only),
"serial", "core_serial"}; statements (``fmis.bankside.statements``) are derived from them.

Branches of a payment (seed 004, s102–s104, s206–s207):
  * customer and merchant both have the management function: decrease the merchant, increase
    the customer (branch ``ledger``);
  * merchant has it, customer lacks it: increase the bank's suspense account, decrease the
    merchant (branch ``suspense``, status ``suspense_booked``); then ``refund_suspense`` records
    the core banking's payout to the customer and clears the suspense account (or, if the core
    refused, returns the funds to the merchant);
  * merchant lacks it: the traditional core-banking debit, whose result the bank submits with
    the payment, is recorded (branch ``core``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fmis.transfers.ledger.contracts import Call, Movement, Refused
from fmis.transfers.ledger.encoding import MAX_SAFE_INT

__all__ = ["FUNCTIONS", "ROLES", "Call", "Movement", "Refused", "arg_keys"]

ROLES: dict[str, frozenset[str]] = {
    "bankside.define_business_type": frozenset({"finance"}),
    "bankside.set_rule": frozenset({"finance"}),
    "bankside.review_pre_application": frozenset({"finance"}),
    "bankside.register_merchant": frozenset({"bank"}),
    "bankside.open_account": frozenset({"bank"}),
    "bankside.fund": frozenset({"bank"}),
    "bankside.submit_pre_application": frozenset({"bank"}),
    "bankside.pay": frozenset({"bank"}),
    "bankside.refund_suspense": frozenset({"bank"}),
    "bankside.register_authorisation": frozenset({"bank"}),
    "bankside.revoke_authorisation": frozenset({"bank"}),
    "bankside.submit_case_application": frozenset({"bank"}),
    "bankside.review_case_application": frozenset({"finance"}),
    "bankside.return_payment": frozenset({"bank"}),
    "bankside.collect": frozenset({"bank"}),
    "bankside.correct_payment": frozenset({"bank"}),
    "bankside.refund_mistaken": frozenset({"bank"}),
}

FLOW_KINDS = ("none", "pre_application", "application")
# Budget information fields (seed 004 §57). Always required:
CORE_FIELDS = ("voucher_id", "merchant_no", "business_type", "budget_type", "bank_code", "bank_serial",
               "payee_account", "payee_name", "currency", "date", "time")
# Required when the merchant's rule says so:
OPTIONAL_FIELDS = ("voucher_type", "voucher_no", "fund_nature", "payment_method", "func_class",
                   "settlement_method", "taxpayer_id", "purpose", "rate", "agency_code", "agency_name")
FIELD_LENGTHS = {"purpose": 200, "payee_name": 120, "agency_name": 120, "func_class": 20}
ACCOUNT_KINDS = ("customer", "suspense")
# Exception flows (seed 004 §54) and how a rule may configure each: refused outright, booked
# directly by the bank, or only with a case application approved by the rule's approver region.
CASE_KINDS = ("return", "collection", "correction", "mistaken_refund")
CASE_MODES = ("forbidden", "direct", "approval")
DEFAULT_CASE_MODES = {"return": "direct", "collection": "direct", "correction": "approval",
                      "mistaken_refund": "approval"}
# Classification fields of a payment that a correction (支付更正) may change.
CORRECTABLE_FIELDS = ("func_class", "budget_type", "fund_nature", "purpose")
MONEY_CASE_KINDS = ("return", "collection", "mistaken_refund")

_TEXT = re.compile(r"^[^\x00-\x1f]*$")
_CODE = re.compile(r"^[0-9A-Za-z_.\-]{1,60}$")
_REQUEST_ID = re.compile(r"^[0-9A-Za-z_.\-]{1,100}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$")
_RATE = re.compile(r"^\d{1,6}(\.\d{1,8})?$")


# --- argument checks -------------------------------------------------------------------------------


def _text(args: dict, name: str, *, required: bool = True, max_len: int = 60) -> str:
    v = args.get(name, "")
    if v is None:
        v = ""
    if not isinstance(v, str) or len(v) > max_len or not _TEXT.match(v):
        raise Refused("args.invalid", f"{name} must be text of at most {max_len} characters")
    if required and not v.strip():
        raise Refused("bank.field_required", f"{name} is required")
    return v


def _code(args: dict, name: str, pattern: re.Pattern = _CODE) -> str:
    v = args.get(name)
    if not isinstance(v, str) or not pattern.match(v):
        if v in (None, ""):
            raise Refused("bank.field_required", f"{name} is required")
        raise Refused("args.invalid", f"{name} must be a code of letters, digits, '.', '_' or '-'")
    return v


def _amount(args: dict, name: str = "amount") -> int:
    v = args.get(name)
    if not isinstance(v, int) or isinstance(v, bool) or not 0 < v <= MAX_SAFE_INT:
        raise Refused("bank.amount_invalid", f"{name} must be a positive integer in fen")
    return v


def _currency(args: dict, name: str = "currency") -> str:
    v = args.get(name)
    if not isinstance(v, str) or not _CURRENCY.match(v):
        raise Refused("args.invalid", f"{name} must be an ISO 4217 code such as CNY")
    return v


def _bool(args: dict, name: str) -> bool:
    v = args.get(name)
    if not isinstance(v, bool):
        raise Refused("args.invalid", f"{name} must be true or false")
    return v


def _date(args: dict, name: str = "date") -> str:
    v = args.get(name)
    if not isinstance(v, str) or not _DATE.match(v):
        raise Refused("args.invalid", f"{name} must be a date YYYY-MM-DD")
    return v


def _bank(call: Call) -> str:
    """The bank a bank member acts for: its identity id (the bank's code in the consortium)."""
    return call.member["identity_id"]


def _region(call: Call) -> str:
    return call.member["region"] if call.member else ""


def _merchant(call: Call, merchant_no: str) -> dict:
    m = call.get(f"bank/merchant/{merchant_no}")
    if m is None:
        raise Refused("bank.merchant_unknown", f"merchant {merchant_no} is not registered")
    return m


def _business_type(call: Call, code: str) -> dict:
    bt = call.get(f"bank/biztype/{code}")
    if bt is None:
        raise Refused("bank.business_type_unknown", f"business type {code} is not defined")
    return bt


def _own_merchant(call: Call, merchant: dict) -> None:
    if merchant["bank"] != _bank(call):
        raise Refused("bank.not_own_merchant",
                      f"merchant {merchant['merchant_no']} is served by bank {merchant['bank']}")


def _entry(kind: str, amount: int, detail: dict) -> dict:
    """A bookkeeping result as recorded on the payment (or funding) record."""
    return {"kind": kind, "account": detail["account"], "amount": amount, "balance": detail["balance"],
            "date": detail["date"]}


def _mv(call: Call, ref: str, kind: str, amount: int, **detail: Any) -> None:
    call.movements.append(Movement(ref, kind, amount, _region(call), detail))


# --- finance side: business types and flow rules ---------------------------------------------------


def define_business_type(call: Call) -> None:
    """业务类型: a cluster of budget types (e.g. water and electricity → utilities)."""
    code = _code(call.args, "code")
    name = _text(call.args, "name")
    budget_types = call.args.get("budget_types")
    if (not isinstance(budget_types, list) or not budget_types
            or not all(isinstance(b, str) and _CODE.match(b) for b in budget_types)
            or len(set(budget_types)) != len(budget_types)):
        raise Refused("args.invalid", "budget_types must be a non-empty list of distinct codes")
    old = call.get(f"bank/biztype/{code}")
    call.put(f"bank/biztype/{code}", {"code": code, "name": name, "budget_types": sorted(budget_types),
                                      "version": (old["version"] + 1) if old else 1, "block": call.block})


def set_rule(call: Call) -> None:
    """Set the flow rule for a merchant and business type; a new version supersedes the current one.
    The finance member that sets it (its region) is the one that reviews pre-applications under it."""
    a = call.args
    merchant_no = _code(a, "merchant_no")
    code = _code(a, "business_type")
    _merchant(call, merchant_no)
    _business_type(call, code)
    flow = a.get("pre_application", "none")
    if flow not in FLOW_KINDS:
        raise Refused("args.invalid", f"pre_application must be one of {', '.join(FLOW_KINDS)}")
    limit = a.get("limit")
    if limit is not None:
        limit = _amount(a, "limit")
    required = a.get("required_fields", [])
    if not isinstance(required, list) or not all(isinstance(f, str) for f in required) \
            or set(required) - set(OPTIONAL_FIELDS) or len(set(required)) != len(required):
        raise Refused("args.invalid", f"required_fields may name only {', '.join(OPTIONAL_FIELDS)}")
    reason = _text(a, "reason", required=False, max_len=200)
    exceptions = a.get("exceptions", {})
    if (not isinstance(exceptions, dict) or set(exceptions) - set(CASE_KINDS)
            or not all(v in CASE_MODES for v in exceptions.values())):
        raise Refused("args.invalid", f"exceptions must map {', '.join(CASE_KINDS)} to one of "
                                      f"{', '.join(CASE_MODES)}")
    key = f"bank/rule/{merchant_no}/{code}"
    old = call.get(key)
    version = old["version"] + 1 if old else 1
    rule = {"merchant_no": merchant_no, "business_type": code, "version": version, "pre_application": flow,
            "limit": limit, "required_fields": sorted(required), "approver_region": _region(call),
            "exceptions": {**DEFAULT_CASE_MODES, **exceptions},
            "reason": reason, "block": call.block, "tx": call.tx_id}
    call.put(key, rule)
    call.put(f"{key}/{version}", rule)


def _rule(call: Call, merchant_no: str, code: str) -> dict:
    rule = call.get(f"bank/rule/{merchant_no}/{code}")
    if rule is None:
        raise Refused("bank.rule_missing", f"no flow rule for merchant {merchant_no} and business type {code}")
    return rule


# --- bank side: merchants, accounts, funds ----------------------------------------------------------


def register_merchant(call: Call) -> None:
    """A merchant (budget unit) served by the calling bank, with its financial account."""
    a = call.args
    merchant_no = _code(a, "merchant_no")
    name = _text(a, "name", max_len=120)
    agency_code = _text(a, "agency_code", max_len=30)
    agency_name = _text(a, "agency_name", max_len=120)
    account_no = _code(a, "account_no")
    currency = _currency(a)
    managed = _bool(a, "managed")
    if call.get(f"bank/merchant/{merchant_no}") is not None:
        raise Refused("bank.merchant_exists", f"merchant {merchant_no} is already registered")
    if call.get(f"bank/account/{account_no}") is not None:
        raise Refused("bank.account_exists", f"account {account_no} is already open")
    call.put(f"bank/merchant/{merchant_no}", {
        "merchant_no": merchant_no, "name": name, "agency_code": agency_code, "agency_name": agency_name,
        "bank": _bank(call), "account_no": account_no, "currency": currency, "managed": managed,
        "block": call.block})
    call.put(f"bank/account/{account_no}", {
        "account_no": account_no, "name": name, "kind": "merchant", "merchant_no": merchant_no,
        "bank": _bank(call), "managed": managed, "currency": currency, "balance": 0, "block": call.block})


def open_account(call: Call) -> None:
    """A customer's financial account (under a merchant) or the bank's suspense account (BGL/CGL)."""
    a = call.args
    account_no = _code(a, "account_no")
    name = _text(a, "name", max_len=120)
    kind = a.get("kind")
    if kind not in ACCOUNT_KINDS:
        raise Refused("args.invalid", f"kind must be one of {', '.join(ACCOUNT_KINDS)}")
    currency = _currency(a)
    merchant_no = ""
    managed = True
    if kind == "customer":
        merchant_no = _code(a, "merchant_no")
        _own_merchant(call, _merchant(call, merchant_no))
        managed = _bool(a, "managed")
    if call.get(f"bank/account/{account_no}") is not None:
        raise Refused("bank.account_exists", f"account {account_no} is already open")
    if kind == "suspense" and call.get(f"bank/suspense/{_bank(call)}/{currency}") is not None:
        raise Refused("bank.account_exists", f"bank {_bank(call)} already has a {currency} suspense account")
    call.put(f"bank/account/{account_no}", {
        "account_no": account_no, "name": name, "kind": kind, "merchant_no": merchant_no, "bank": _bank(call),
        "managed": managed, "currency": currency, "balance": 0, "block": call.block})
    if kind == "suspense":
        call.put(f"bank/suspense/{_bank(call)}/{currency}", {"account_no": account_no})


def fund(call: Call) -> None:
    """Funds arriving on a managed merchant account (e.g. a quota or a transfer in): 增计."""
    a = call.args
    account_no = _code(a, "account_no")
    amount = _amount(a)
    currency = _currency(a)
    reference = _code(a, "reference")
    day = _date(a)
    acct = call.get(f"bank/account/{account_no}")
    if acct is None:
        raise Refused("bank.account_unknown", f"account {account_no} is not open")
    if acct["bank"] != _bank(call):
        raise Refused("bank.not_own_account", f"account {account_no} is held at bank {acct['bank']}")
    if acct["kind"] != "merchant" or not acct["managed"]:
        raise Refused("bank.account_not_managed", f"account {account_no} is not a managed merchant account")
    if acct["currency"] != currency:
        raise Refused("bank.currency_mismatch", f"account {account_no} is in {acct['currency']}, not {currency}")
    if acct["balance"] + amount > MAX_SAFE_INT:
        raise Refused("bank.amount_invalid", "the balance would exceed the ledger's integer range")
    ref_key = f"bank/fundref/{acct['bank']}/{reference}"
    if call.get(ref_key) is not None:
        raise Refused("bank.duplicate_reference", f"funds with reference {reference} are already recorded")
    call.put(ref_key, {"funding": call.tx_id})
    balance = acct["balance"] + amount
    detail = {"account": account_no, "party": "merchant", "merchant": acct["merchant_no"], "date": day,
              "balance": balance, "serial": reference, "core_serial": ""}
    call.put(f"bank/account/{account_no}", {**acct, "balance": balance})
    call.put(f"bank/funding/{call.tx_id}", {"id": call.tx_id, "account_no": account_no, "amount": amount,
                                            "currency": currency, "reference": reference, "date": day,
                                            "bookkeeping": [_entry("bank.increase", amount, detail)],
                                            "block": call.block})
    _mv(call, call.tx_id, "bank.increase", amount, **detail)


# --- pre-applications ------------------------------------------------------------------------------


def submit_pre_application(call: Call) -> None:
    """The bank puts the merchant's pre-application (预申请) or application (申请) on the ledger."""
    a = call.args
    merchant_no = _code(a, "merchant_no")
    code = _code(a, "business_type")
    amount = _amount(a)
    currency = _currency(a)
    purpose = _text(a, "purpose", max_len=200)
    merchant = _merchant(call, merchant_no)
    _own_merchant(call, merchant)
    _business_type(call, code)
    rule = _rule(call, merchant_no, code)
    if rule["pre_application"] == "none":
        raise Refused("bank.pre_application_not_required",
                      f"the rule for {merchant_no}/{code} (version {rule['version']}) requires no pre-application")
    if merchant["currency"] != currency:
        raise Refused("bank.currency_mismatch", f"merchant {merchant_no} pays in {merchant['currency']}, not {currency}")
    call.put(f"bank/preapp/{call.tx_id}", {
        "id": call.tx_id, "kind": rule["pre_application"], "merchant_no": merchant_no, "business_type": code,
        "amount": amount, "currency": currency, "purpose": purpose, "rule_version": rule["version"],
        "approver_region": rule["approver_region"], "status": "submitted", "reviewer": "", "comment": "",
        "payment": None, "submitted_block": call.block, "reviewed_block": None})


def review_pre_application(call: Call) -> None:
    """The finance side approves or rejects; the result is on the ledger for the bank to read."""
    a = call.args
    pid = a.get("pre_application")
    if not isinstance(pid, str):
        raise Refused("args.invalid", "pre_application must be a pre-application id")
    decision = a.get("decision")
    if decision not in ("approved", "rejected"):
        raise Refused("args.invalid", "decision must be approved or rejected")
    comment = _text(a, "comment", required=decision == "rejected", max_len=200)
    pre = call.get(f"bank/preapp/{pid}")
    if pre is None:
        raise Refused("bank.pre_application_unknown", f"pre-application {pid[:16]} does not exist")
    if pre["approver_region"] != _region(call):
        raise Refused("bank.not_reviewer", f"pre-applications under this rule are reviewed by {pre['approver_region']}")
    if pre["status"] != "submitted":
        raise Refused("bank.pre_application_reviewed", f"pre-application already {pre['status']}")
    call.put(f"bank/preapp/{pid}", {**pre, "status": decision, "reviewer": call.creator, "comment": comment,
                                     "reviewed_block": call.block})


# --- payments --------------------------------------------------------------------------------------


def _core_result(args: dict, name: str = "core") -> dict:
    """A result of the traditional core banking, as the adapter recorded it."""
    core = args.get(name)
    if not isinstance(core, dict):
        raise Refused("bank.core_result_required", f"{name}: the core-banking result is required on this path")
    request_id = _code(core, "request_id", _REQUEST_ID)
    status = core.get("status")
    if status not in ("ok", "failed"):
        raise Refused("args.invalid", f"{name}.status must be ok or failed")
    serial = _text(core, "core_serial", required=status == "ok")
    message = _text(core, "message", required=False, max_len=200)
    amount = _amount(core)
    return {"request_id": request_id, "status": status, "core_serial": serial, "message": message,
            "amount": amount}


def pay(call: Call) -> None:
    """Budget information (预算信息) from a merchant through the bank: derive the flow from the rule,
    check the pre-application, book the branch of the seed's method and record the results."""
    a = call.args
    info: dict[str, Any] = {}
    for name in CORE_FIELDS:
        if name in ("voucher_id", "merchant_no", "business_type", "budget_type", "bank_code", "bank_serial",
                    "payee_account"):
            info[name] = _code(a, name)
        elif name == "currency":
            info[name] = _currency(a)
        elif name == "date":
            info[name] = _date(a)
        elif name == "time":
            if not isinstance(a.get("time"), str) or not _TIME.match(a["time"]):
                raise Refused("args.invalid", "time must be HH:MM:SS")
            info[name] = a["time"]
        else:
            info[name] = _text(a, name, max_len=FIELD_LENGTHS.get(name, 60))
    amount = _amount(a)
    for name in OPTIONAL_FIELDS:
        info[name] = _text(a, name, required=False, max_len=FIELD_LENGTHS.get(name, 60))
    if info["rate"] and not _RATE.match(info["rate"]):
        raise Refused("args.invalid", "rate must be a decimal number such as 1 or 7.1234")

    merchant = _merchant(call, info["merchant_no"])
    _own_merchant(call, merchant)
    if info["bank_code"] != merchant["bank"]:
        raise Refused("bank.not_own_merchant", f"bank_code {info['bank_code']} is not the merchant's bank")
    bt = _business_type(call, info["business_type"])
    if info["budget_type"] not in bt["budget_types"]:
        raise Refused("bank.budget_type_mismatch",
                      f"budget type {info['budget_type']} is not in business type {bt['code']}")
    rule = _rule(call, info["merchant_no"], info["business_type"])
    missing = [f for f in rule["required_fields"] if not info[f].strip()]
    if missing:
        raise Refused("bank.field_required",
                      f"the rule (version {rule['version']}) requires {', '.join(missing)}")
    if merchant["currency"] != info["currency"]:
        raise Refused("bank.currency_mismatch",
                      f"merchant {merchant['merchant_no']} pays in {merchant['currency']}, not {info['currency']}")
    if rule["limit"] is not None and amount > rule["limit"]:
        raise Refused("bank.over_limit", f"the rule limits a payment to {rule['limit']} fen, asked {amount} fen")
    serial_key = f"bank/serial/{merchant['bank']}/{info['bank_serial']}"
    if call.get(serial_key) is not None:
        raise Refused("bank.duplicate_serial", f"bank serial {info['bank_serial']} is already recorded")
    voucher_key = f"bank/voucher/{info['voucher_id']}"
    if call.get(voucher_key) is not None:
        raise Refused("bank.duplicate_voucher", f"payment voucher {info['voucher_id']} is already recorded")

    pre = None
    if rule["pre_application"] != "none":
        pid = a.get("pre_application")
        if not isinstance(pid, str) or not pid:
            raise Refused("bank.pre_application_required",
                          f"the rule (version {rule['version']}) requires an approved {rule['pre_application']}")
        pre = call.get(f"bank/preapp/{pid}")
        if pre is None:
            raise Refused("bank.pre_application_unknown", f"pre-application {pid[:16]} does not exist")
        if pre["merchant_no"] != info["merchant_no"] or pre["business_type"] != info["business_type"]:
            raise Refused("bank.pre_application_mismatch", "the pre-application is for another merchant or business type")
        if pre["status"] != "approved":
            raise Refused("bank.pre_application_not_approved", f"the pre-application is {pre['status']}")
        if pre["payment"] is not None:
            raise Refused("bank.pre_application_used", "the pre-application has already been used by a payment")
        if amount > pre["amount"]:
            raise Refused("bank.pre_application_exceeded",
                          f"approved {pre['amount']} fen, asked {amount} fen")

    m_acct = call.get(f"bank/account/{merchant['account_no']}")
    c_acct = call.get(f"bank/account/{info['payee_account']}")
    if c_acct is not None and c_acct["kind"] == "suspense":
        raise Refused("args.invalid", "a suspense account cannot be the payee")
    if info["payee_account"] == merchant["account_no"]:
        raise Refused("args.invalid", "the payee account is the merchant's own account")
    customer_managed = c_acct is not None and c_acct["managed"]
    if customer_managed and c_acct["currency"] != info["currency"]:
        raise Refused("bank.currency_mismatch", f"payee account is in {c_acct['currency']}, not {info['currency']}")
    if customer_managed and c_acct["balance"] + amount > MAX_SAFE_INT:
        raise Refused("bank.amount_invalid", "the payee's balance would exceed the ledger's integer range")

    pid_ = call.tx_id
    base = {"merchant": info["merchant_no"], "date": info["date"], "serial": info["bank_serial"]}
    bookkeeping: list[dict] = []
    writes: dict[str, dict] = {}
    movements: list[tuple[str, int, dict]] = []
    core = None
    if not merchant["managed"]:
        branch = "core"
        core = _core_result(a)
        if core["amount"] != amount:
            raise Refused("bank.core_result_mismatch", "the core-banking result is for another amount")
        status = "paid" if core["status"] == "ok" else "failed"
        if core["status"] == "ok":
            movements.append(("bank.core_debit", amount, {**base, "account": merchant["account_no"], "party": "merchant",
                                                          "balance": None, "core_serial": core["core_serial"]}))
    else:
        if m_acct["balance"] < amount:
            raise Refused("bank.insufficient_funds",
                          f"account {m_acct['account_no']} has {m_acct['balance']} fen, asked {amount} fen")
        m_new = {**m_acct, "balance": m_acct["balance"] - amount}
        writes[f"bank/account/{m_acct['account_no']}"] = m_new
        if customer_managed:
            branch, status = "ledger", "paid"
            target, party = {**c_acct, "balance": c_acct["balance"] + amount}, "customer"
        else:
            pointer = call.get(f"bank/suspense/{merchant['bank']}/{info['currency']}")
            if pointer is None:
                raise Refused("bank.suspense_missing",
                              f"bank {merchant['bank']} has no {info['currency']} suspense account")
            s_acct = call.get(f"bank/account/{pointer['account_no']}")
            branch, status = "suspense", "suspense_booked"
            target, party = {**s_acct, "balance": s_acct["balance"] + amount}, "suspense"
        writes[f"bank/account/{target['account_no']}"] = target
        movements.append(("bank.decrease", amount, {**base, "account": m_acct["account_no"], "party": "merchant",
                                                    "balance": m_new["balance"], "core_serial": ""}))
        movements.append(("bank.increase", amount, {**base, "account": target["account_no"], "party": party,
                                                    "balance": target["balance"], "core_serial": ""}))
    for kind, amt, detail in movements:
        bookkeeping.append(_entry(kind, amt, detail))

    for k, v in writes.items():
        call.put(k, v)
    call.put(serial_key, {"payment": pid_})
    call.put(voucher_key, {"payment": pid_})
    if pre is not None:
        call.put(f"bank/preapp/{pre['id']}", {**pre, "payment": pid_})
    call.put(f"bank/payment/{pid_}", {
        "id": pid_, **info, "amount": amount, "branch": branch, "status": status,
        "merchant_account": merchant["account_no"], "customer_managed": customer_managed,
        "rule_version": rule["version"], "pre_application": pre["id"] if pre else None,
        "bookkeeping": bookkeeping, "core": core, "refund": None, "block": call.block, "time_ms": call.time_ms})
    for kind, amt, detail in movements:
        _mv(call, pid_, kind, amt, **detail)


def refund_suspense(call: Call) -> None:
    """退款 of a suspense booking through the traditional core: the core's payout to the customer
    clears the suspense account (net zero); a refused payout returns the funds to the merchant."""
    a = call.args
    pid = a.get("payment")
    if not isinstance(pid, str):
        raise Refused("args.invalid", "payment must be a payment id")
    day = _date(a)
    core = _core_result(a)
    pay_ = call.get(f"bank/payment/{pid}")
    if pay_ is None:
        raise Refused("bank.payment_unknown", f"payment {pid[:16]} does not exist")
    merchant = _merchant(call, pay_["merchant_no"])
    _own_merchant(call, merchant)
    if pay_["status"] != "suspense_booked":
        raise Refused("bank.not_in_suspense", f"payment is {pay_['status']}, not awaiting its suspense refund")
    if core["amount"] != pay_["amount"]:
        raise Refused("bank.core_result_mismatch", "the core-banking result is for another amount")
    pointer = call.get(f"bank/suspense/{merchant['bank']}/{pay_['currency']}")
    s_acct = call.get(f"bank/account/{pointer['account_no']}")
    amount = pay_["amount"]
    base = {"merchant": pay_["merchant_no"], "date": day, "serial": pay_["bank_serial"]}
    s_new = {**s_acct, "balance": s_acct["balance"] - amount}
    movements = [("bank.decrease", amount, {**base, "account": s_acct["account_no"], "party": "suspense",
                                            "balance": s_new["balance"], "core_serial": core["core_serial"]})]
    if core["status"] == "ok":
        status = "paid"
        movements.append(("bank.core_credit", amount, {**base, "account": pay_["payee_account"], "party": "customer",
                                                       "balance": None, "core_serial": core["core_serial"]}))
        m_new = None
    else:
        status = "returned"
        m_acct = call.get(f"bank/account/{merchant['account_no']}")
        m_new = {**m_acct, "balance": m_acct["balance"] + amount}
        movements.append(("bank.increase", amount, {**base, "account": m_acct["account_no"], "party": "merchant",
                                                    "balance": m_new["balance"], "core_serial": ""}))
    call.put(f"bank/account/{s_acct['account_no']}", s_new)
    if m_new is not None:
        call.put(f"bank/account/{m_new['account_no']}", m_new)
    bookkeeping = pay_["bookkeeping"] + [_entry(k, amt, d) for k, amt, d in movements]
    call.put(f"bank/payment/{pid}", {**pay_, "status": status, "bookkeeping": bookkeeping,
                                     "refund": {**core, "date": day, "tx": call.tx_id, "block": call.block}})
    for kind, amt, detail in movements:
        _mv(call, pid, kind, amt, **detail)


# --- exception flows (seed 004 §54) ----------------------------------------------------------------
#
# ``bank/auth/<id>``       standing collection authorisation (委托收款授权); id = its tx id
# ``bank/authref/<bank>/<reference>``  its reference index (unique)
# ``bank/caseapp/<id>``    case application (异常业务申请) for a kind the rule puts under approval
# ``bank/case/<id>``       an exception case: fund return (资金退回), entrusted collection (委托收款),
#                          payment correction (支付更正) or mistaken-payment refund (错缴资金退回)
#
# Money moves with the movement kinds of the normal flow, so statements keep working, and every
# case carries ``bookkeeping`` entries in the payments' format. A payment is given back (return or
# mistaken refund) along the branch it was paid on: a ledger payment by decreasing the payee's
# account and increasing the merchant's; a suspense payment by the core's recorded debit of the
# payee, passing the bank's suspense account (net zero) to the merchant; a core payment by the
# core's recorded credit of the merchant's core account. What was given back never exceeds what
# was paid (partial returns add up on the payment's ``returned``).


def case_mode(rule: dict, kind: str) -> str:
    """How `rule` handles exception `kind` (rules set before exception flows existed: the defaults)."""
    return (rule.get("exceptions") or {}).get(kind, DEFAULT_CASE_MODES[kind])


def _ref(call: Call, name: str, prefix: str, code: str, label: str) -> dict:
    rid = call.args.get(name)
    if rid in (None, ""):
        raise Refused("bank.field_required", f"{name} is required")
    if not isinstance(rid, str) or not _REQUEST_ID.match(rid):
        raise Refused("args.invalid", f"{name} must be {label} id")
    rec = call.get(f"{prefix}/{rid}")
    if rec is None:
        raise Refused(code, f"{label} {rid[:16]} does not exist")
    return rec


def _payment(call: Call) -> dict:
    return _ref(call, "payment", "bank/payment", "bank.payment_unknown", "payment")


def _authorisation(call: Call) -> dict:
    return _ref(call, "authorisation", "bank/auth", "bank.authorisation_unknown", "authorisation")


def _allowed_mode(rule: dict, kind: str) -> str:
    mode = case_mode(rule, kind)
    if mode == "forbidden":
        raise Refused("bank.case_forbidden", f"the rule for {rule['merchant_no']}/{rule['business_type']} "
                                             f"(version {rule['version']}) forbids {kind}")
    return mode


def _returnable(pay_: dict, amount: int) -> None:
    if pay_["status"] not in ("paid", "partly_returned"):
        raise Refused("bank.payment_not_returnable", f"payment is {pay_['status']}; only a paid payment goes back")
    returned = pay_.get("returned", 0)
    if amount > pay_["amount"] - returned:
        raise Refused("bank.over_return", f"paid {pay_['amount']} fen, already returned {returned} fen, "
                                          f"asked {amount} fen")


def _changes(call: Call, pay_: dict) -> dict:
    """A correction's new classification values, checked against the payment and its rule."""
    changes = call.args.get("changes")
    if not isinstance(changes, dict) or not changes or set(changes) - set(CORRECTABLE_FIELDS):
        raise Refused("args.invalid", f"changes may name only {', '.join(CORRECTABLE_FIELDS)}")
    out = {}
    for name in CORRECTABLE_FIELDS:
        if name not in changes:
            continue
        if name == "budget_type":
            value = _code(changes, name)
            bt = _business_type(call, pay_["business_type"])
            if value not in bt["budget_types"]:
                raise Refused("bank.budget_type_mismatch",
                              f"budget type {value} is not in business type {bt['code']}")
        else:
            value = _text(changes, name, required=False, max_len=FIELD_LENGTHS.get(name, 60))
        if value == pay_[name]:
            raise Refused("bank.correction_no_change", f"{name} is already {value!r}")
        out[name] = value
    rule = _rule(call, pay_["merchant_no"], pay_["business_type"])
    emptied = [f for f in rule["required_fields"] if f in out and not out[f].strip()]
    if emptied:
        raise Refused("bank.field_required", f"the rule (version {rule['version']}) requires {', '.join(emptied)}")
    return out


def _application(call: Call, mode: str, kind: str, *, payment: str | None = None,
                 authorisation: str | None = None, amount: int = 0, changes: dict | None = None) -> dict | None:
    """The approved, unused case application a kind under approval needs (None when direct)."""
    aid = call.args.get("application")
    if mode != "approval":
        if aid not in (None, ""):
            raise Refused("bank.case_application_not_required", f"the rule books {kind} directly")
        return None
    if aid in (None, ""):
        raise Refused("bank.case_application_required", f"the rule requires an approved case application for {kind}")
    app = _ref(call, "application", "bank/caseapp", "bank.case_application_unknown", "case application")
    if app["kind"] != kind or app["payment"] != payment or app["authorisation"] != authorisation:
        raise Refused("bank.case_application_mismatch", "the case application is for another kind or payment")
    if app["status"] != "approved":
        raise Refused("bank.case_application_not_approved", f"the case application is {app['status']}")
    if app["case"] is not None:
        raise Refused("bank.case_application_used", "the case application has already been used")
    if kind in MONEY_CASE_KINDS and amount > app["amount"]:
        raise Refused("bank.case_application_exceeded", f"approved {app['amount']} fen, asked {amount} fen")
    if kind == "correction" and changes != app["changes"]:
        raise Refused("bank.case_application_mismatch", "the corrections differ from the approved ones")
    return app


def _serial_key(call: Call, merchant: dict) -> tuple[str, str]:
    serial = _code(call.args, "bank_serial")
    key = f"bank/serial/{merchant['bank']}/{serial}"
    if call.get(key) is not None:
        raise Refused("bank.duplicate_serial", f"bank serial {serial} is already recorded")
    return serial, key


def _suspense(call: Call, merchant: dict, currency: str) -> dict:
    pointer = call.get(f"bank/suspense/{merchant['bank']}/{currency}")
    if pointer is None:
        raise Refused("bank.suspense_missing", f"bank {merchant['bank']} has no {currency} suspense account")
    return call.get(f"bank/account/{pointer['account_no']}")


class _Book:
    """Ledger account changes and movements of one case, computed before anything is written."""

    def __init__(self, call: Call, base: dict):
        self.call, self.base = call, base
        self.accounts: dict[str, dict] = {}
        self.movements: list[tuple[str, int, dict]] = []

    def account(self, account_no: str) -> dict:
        return self.accounts.get(account_no) or self.call.get(f"bank/account/{account_no}")

    def ledger(self, kind: str, account_no: str, party: str, amount: int, core_serial: str = "") -> None:
        acct = self.account(account_no)
        balance = acct["balance"] + (amount if kind == "bank.increase" else -amount)
        if balance < 0:
            raise Refused("bank.insufficient_funds",
                          f"account {account_no} has {acct['balance']} fen, asked {amount} fen")
        if balance > MAX_SAFE_INT:
            raise Refused("bank.amount_invalid", "the balance would exceed the ledger's integer range")
        self.accounts[account_no] = {**acct, "balance": balance}
        self.movements.append((kind, amount, {**self.base, "account": account_no, "party": party,
                                              "balance": balance, "core_serial": core_serial}))

    def core(self, kind: str, account_no: str, party: str, amount: int, core_serial: str) -> None:
        self.movements.append((kind, amount, {**self.base, "account": account_no, "party": party,
                                              "balance": None, "core_serial": core_serial}))

    def write(self, ref: str) -> list[dict]:
        for acct in self.accounts.values():
            self.call.put(f"bank/account/{acct['account_no']}", acct)
        for kind, amt, detail in self.movements:
            _mv(self.call, ref, kind, amt, **detail)
        return [_entry(kind, amt, detail) for kind, amt, detail in self.movements]


def _case(call: Call, kind: str, *, merchant_no: str, business_type: str, amount: int, currency: str, day: str,
          serial: str, reason: str, branch: str, mode: str, rule: dict, app: dict | None, status: str,
          bookkeeping: list[dict], payment: str | None = None, authorisation: str | None = None,
          core: dict | None = None, before: dict | None = None, after: dict | None = None) -> None:
    call.put(f"bank/case/{call.tx_id}", {
        "id": call.tx_id, "kind": kind, "merchant_no": merchant_no, "business_type": business_type,
        "payment": payment, "authorisation": authorisation, "amount": amount, "currency": currency, "date": day,
        "bank_serial": serial, "reason": reason, "branch": branch, "mode": mode,
        "application": app["id"] if app else None, "rule_version": rule["version"], "status": status,
        "bookkeeping": bookkeeping, "core": core, "before": before, "after": after, "block": call.block,
        "time_ms": call.time_ms})
    if app is not None and status == "booked":
        call.put(f"bank/caseapp/{app['id']}", {**app, "case": call.tx_id})


def _give_back(call: Call, kind: str) -> None:
    """资金退回 / 错缴资金退回: (part of) a paid payment comes back to the merchant."""
    a = call.args
    pay_ = _payment(call)
    amount = _amount(a)
    day = _date(a)
    reason = _text(a, "reason", max_len=200)
    merchant = _merchant(call, pay_["merchant_no"])
    _own_merchant(call, merchant)
    rule = _rule(call, pay_["merchant_no"], pay_["business_type"])
    mode = _allowed_mode(rule, kind)
    _returnable(pay_, amount)
    if day < pay_["date"]:
        raise Refused("args.invalid", f"date {day} is before the payment's date {pay_['date']}")
    app = _application(call, mode, kind, payment=pay_["id"], amount=amount)
    serial, serial_key = _serial_key(call, merchant)
    book = _Book(call, {"merchant": pay_["merchant_no"], "date": day, "serial": serial})
    core = None
    status = "booked"
    if pay_["branch"] == "ledger":
        book.ledger("bank.decrease", pay_["payee_account"], "customer", amount)
        book.ledger("bank.increase", merchant["account_no"], "merchant", amount)
    else:
        core = _core_result(a)
        if core["amount"] != amount:
            raise Refused("bank.core_result_mismatch", "the core-banking result is for another amount")
        if core["status"] != "ok":
            status = "failed"
        elif pay_["branch"] == "core":
            book.core("bank.core_credit", merchant["account_no"], "merchant", amount, core["core_serial"])
        else:
            suspense = _suspense(call, merchant, pay_["currency"])["account_no"]
            book.core("bank.core_debit", pay_["payee_account"], "customer", amount, core["core_serial"])
            book.ledger("bank.increase", suspense, "suspense", amount, core["core_serial"])
            book.ledger("bank.decrease", suspense, "suspense", amount, core["core_serial"])
            book.ledger("bank.increase", merchant["account_no"], "merchant", amount)

    bookkeeping = book.write(call.tx_id)
    before = {"status": pay_["status"], "returned": pay_.get("returned", 0)}
    returned = before["returned"] + (amount if status == "booked" else 0)
    after = {"status": pay_["status"] if status != "booked" else
             "returned" if returned == pay_["amount"] else "partly_returned", "returned": returned}
    call.put(f"bank/payment/{pay_['id']}", {**pay_, **after, "cases": [*pay_.get("cases", []), call.tx_id]})
    call.put(serial_key, {"case": call.tx_id})
    _case(call, kind, merchant_no=pay_["merchant_no"], business_type=pay_["business_type"], amount=amount,
          currency=pay_["currency"], day=day, serial=serial, reason=reason, branch=pay_["branch"], mode=mode,
          rule=rule, app=app, status=status, bookkeeping=bookkeeping, payment=pay_["id"], core=core,
          before=before, after=after)


def return_payment(call: Call) -> None:
    """资金退回: the payee's bank sends (part of) a paid payment back."""
    _give_back(call, "return")


def refund_mistaken(call: Call) -> None:
    """错缴资金退回: money paid to the wrong payee comes back to the merchant."""
    _give_back(call, "mistaken_refund")


def correct_payment(call: Call) -> None:
    """支付更正: change classification fields of a recorded payment; no money moves, before/after kept."""
    a = call.args
    pay_ = _payment(call)
    day = _date(a)
    reason = _text(a, "reason", max_len=200)
    merchant = _merchant(call, pay_["merchant_no"])
    _own_merchant(call, merchant)
    rule = _rule(call, pay_["merchant_no"], pay_["business_type"])
    mode = _allowed_mode(rule, "correction")
    if pay_["status"] == "failed":
        raise Refused("bank.payment_not_correctable", "a failed payment was never booked and cannot be corrected")
    changes = _changes(call, pay_)
    app = _application(call, mode, "correction", payment=pay_["id"], changes=changes)
    before = {k: pay_[k] for k in changes}
    call.put(f"bank/payment/{pay_['id']}", {**pay_, **changes, "corrections": pay_.get("corrections", 0) + 1,
                                           "cases": [*pay_.get("cases", []), call.tx_id]})
    _case(call, "correction", merchant_no=pay_["merchant_no"], business_type=pay_["business_type"], amount=0,
          currency=pay_["currency"], day=day, serial="", reason=reason, branch=pay_["branch"], mode=mode, rule=rule,
          app=app, status="booked", bookkeeping=[], payment=pay_["id"], before=before, after=changes)


def register_authorisation(call: Call) -> None:
    """A customer's standing authorisation to collect from a merchant (委托收款授权), with limits."""
    a = call.args
    merchant_no = _code(a, "merchant_no")
    code = _code(a, "business_type")
    budget_type = _code(a, "budget_type")
    customer_account = _code(a, "customer_account")
    customer_name = _text(a, "customer_name", max_len=120)
    limit = _amount(a, "limit")
    total_limit = None if a.get("total_limit") is None else _amount(a, "total_limit")
    valid_from = _date(a, "valid_from")
    valid_to = None if a.get("valid_to") in (None, "") else _date(a, "valid_to")
    reference = _code(a, "reference")
    merchant = _merchant(call, merchant_no)
    _own_merchant(call, merchant)
    bt = _business_type(call, code)
    if budget_type not in bt["budget_types"]:
        raise Refused("bank.budget_type_mismatch", f"budget type {budget_type} is not in business type {code}")
    rule = _rule(call, merchant_no, code)
    _allowed_mode(rule, "collection")
    if valid_to is not None and valid_to < valid_from:
        raise Refused("args.invalid", "valid_to is before valid_from")
    if total_limit is not None and total_limit < limit:
        raise Refused("args.invalid", "total_limit is below the limit of one collection")
    if customer_account == merchant["account_no"]:
        raise Refused("args.invalid", "the customer account is the merchant's own account")
    acct = call.get(f"bank/account/{customer_account}")
    if acct is not None and acct["kind"] != "customer":
        raise Refused("args.invalid", "only a customer account can collect")
    if acct is not None and acct["currency"] != merchant["currency"]:
        raise Refused("bank.currency_mismatch", f"account {customer_account} is in {acct['currency']}, "
                                                f"the merchant pays in {merchant['currency']}")
    ref_key = f"bank/authref/{merchant['bank']}/{reference}"
    if call.get(ref_key) is not None:
        raise Refused("bank.duplicate_reference", f"an authorisation with reference {reference} is already registered")
    call.put(ref_key, {"authorisation": call.tx_id})
    call.put(f"bank/auth/{call.tx_id}", {
        "id": call.tx_id, "merchant_no": merchant_no, "business_type": code, "budget_type": budget_type,
        "customer_account": customer_account, "customer_name": customer_name, "currency": merchant["currency"],
        "limit": limit, "total_limit": total_limit, "collected": 0, "count": 0, "valid_from": valid_from,
        "valid_to": valid_to, "reference": reference, "status": "active", "revoke_reason": "",
        "block": call.block, "revoked_block": None})


def revoke_authorisation(call: Call) -> None:
    auth = _authorisation(call)
    reason = _text(call.args, "reason", max_len=200)
    _own_merchant(call, _merchant(call, auth["merchant_no"]))
    if auth["status"] != "active":
        raise Refused("bank.authorisation_inactive", f"the authorisation is {auth['status']}")
    call.put(f"bank/auth/{auth['id']}", {**auth, "status": "revoked", "revoke_reason": reason,
                                         "revoked_block": call.block})


def collect(call: Call) -> None:
    """委托收款: the customer collects from the merchant under its authorisation, along the branch
    the parties' management functions give (as ``pay``: ledger, suspense with the core's payout, core)."""
    a = call.args
    auth = _authorisation(call)
    amount = _amount(a)
    currency = _currency(a)
    day = _date(a)
    purpose = _text(a, "purpose", max_len=200)
    merchant = _merchant(call, auth["merchant_no"])
    _own_merchant(call, merchant)
    rule = _rule(call, auth["merchant_no"], auth["business_type"])
    mode = _allowed_mode(rule, "collection")
    if auth["status"] != "active":
        raise Refused("bank.authorisation_inactive", f"the authorisation is {auth['status']}")
    if day < auth["valid_from"] or (auth["valid_to"] is not None and day > auth["valid_to"]):
        raise Refused("bank.authorisation_expired", f"the authorisation is valid from {auth['valid_from']} "
                                                    f"to {auth['valid_to'] or '(open)'}, not on {day}")
    if currency != auth["currency"]:
        raise Refused("bank.currency_mismatch", f"the authorisation is in {auth['currency']}, not {currency}")
    if amount > auth["limit"]:
        raise Refused("bank.over_limit", f"the authorisation limits a collection to {auth['limit']} fen, "
                                         f"asked {amount} fen")
    if auth["total_limit"] is not None and auth["collected"] + amount > auth["total_limit"]:
        raise Refused("bank.over_limit", f"the authorisation allows {auth['total_limit']} fen in all, "
                                         f"{auth['collected']} fen collected, asked {amount} fen")
    if rule["limit"] is not None and amount > rule["limit"]:
        raise Refused("bank.over_limit", f"the rule limits a payment to {rule['limit']} fen, asked {amount} fen")
    app = _application(call, mode, "collection", authorisation=auth["id"], amount=amount)
    serial, serial_key = _serial_key(call, merchant)
    c_acct = call.get(f"bank/account/{auth['customer_account']}")
    customer_managed = c_acct is not None and c_acct["managed"]
    book = _Book(call, {"merchant": auth["merchant_no"], "date": day, "serial": serial})
    core = None
    status = "booked"
    if not merchant["managed"]:
        branch = "core"
        core = _core_result(a)
        if core["amount"] != amount:
            raise Refused("bank.core_result_mismatch", "the core-banking result is for another amount")
        if core["status"] == "ok":
            book.core("bank.core_debit", merchant["account_no"], "merchant", amount, core["core_serial"])
        else:
            status = "failed"
    elif customer_managed:
        branch = "ledger"
        book.ledger("bank.decrease", merchant["account_no"], "merchant", amount)
        book.ledger("bank.increase", auth["customer_account"], "customer", amount)
    else:
        branch = "suspense"
        suspense = _suspense(call, merchant, currency)["account_no"]
        m_acct = call.get(f"bank/account/{merchant['account_no']}")
        if m_acct["balance"] < amount:
            raise Refused("bank.insufficient_funds",
                          f"account {m_acct['account_no']} has {m_acct['balance']} fen, asked {amount} fen")
        core = _core_result(a)
        if core["amount"] != amount:
            raise Refused("bank.core_result_mismatch", "the core-banking result is for another amount")
        if core["status"] == "ok":
            book.ledger("bank.decrease", merchant["account_no"], "merchant", amount)
            book.ledger("bank.increase", suspense, "suspense", amount)
            book.ledger("bank.decrease", suspense, "suspense", amount, core["core_serial"])
            book.core("bank.core_credit", auth["customer_account"], "customer", amount, core["core_serial"])
        else:
            status = "failed"

    bookkeeping = book.write(call.tx_id)
    if status == "booked":
        call.put(f"bank/auth/{auth['id']}", {**auth, "collected": auth["collected"] + amount,
                                             "count": auth["count"] + 1})
    call.put(serial_key, {"case": call.tx_id})
    _case(call, "collection", merchant_no=auth["merchant_no"], business_type=auth["business_type"], amount=amount,
          currency=currency, day=day, serial=serial, reason=purpose, branch=branch, mode=mode, rule=rule, app=app,
          status=status, bookkeeping=bookkeeping, authorisation=auth["id"], core=core,
          before={"collected": auth["collected"]},
          after={"collected": auth["collected"] + (amount if status == "booked" else 0)})


def submit_case_application(call: Call) -> None:
    """The bank asks the finance side to approve an exception case its rule puts under approval."""
    a = call.args
    kind = a.get("kind")
    if kind not in CASE_KINDS:
        raise Refused("args.invalid", f"kind must be one of {', '.join(CASE_KINDS)}")
    reason = _text(a, "reason", max_len=200)
    payment = authorisation = None
    amount = 0
    changes: dict = {}
    if kind == "collection":
        auth = _authorisation(call)
        authorisation, merchant_no, code = auth["id"], auth["merchant_no"], auth["business_type"]
        amount = _amount(a)
        if auth["status"] != "active":
            raise Refused("bank.authorisation_inactive", f"the authorisation is {auth['status']}")
    else:
        pay_ = _payment(call)
        payment, merchant_no, code = pay_["id"], pay_["merchant_no"], pay_["business_type"]
        if kind == "correction":
            changes = _changes(call, pay_)
        else:
            amount = _amount(a)
            _returnable(pay_, amount)
    _own_merchant(call, _merchant(call, merchant_no))
    rule = _rule(call, merchant_no, code)
    if _allowed_mode(rule, kind) != "approval":
        raise Refused("bank.case_application_not_required",
                      f"the rule for {merchant_no}/{code} (version {rule['version']}) books {kind} directly")
    call.put(f"bank/caseapp/{call.tx_id}", {
        "id": call.tx_id, "kind": kind, "merchant_no": merchant_no, "business_type": code, "payment": payment,
        "authorisation": authorisation, "amount": amount, "changes": changes, "reason": reason,
        "rule_version": rule["version"], "approver_region": rule["approver_region"], "status": "submitted",
        "reviewer": "", "comment": "", "case": None, "submitted_block": call.block, "reviewed_block": None})


def review_case_application(call: Call) -> None:
    """The finance member of the rule's approver region approves or rejects a case application."""
    a = call.args
    decision = a.get("decision")
    if decision not in ("approved", "rejected"):
        raise Refused("args.invalid", "decision must be approved or rejected")
    comment = _text(a, "comment", required=decision == "rejected", max_len=200)
    app = _ref(call, "application", "bank/caseapp", "bank.case_application_unknown", "case application")
    if app["approver_region"] != _region(call):
        raise Refused("bank.not_reviewer", f"case applications under this rule are reviewed by {app['approver_region']}")
    if app["status"] != "submitted":
        raise Refused("bank.case_application_reviewed", f"case application already {app['status']}")
    call.put(f"bank/caseapp/{app['id']}", {**app, "status": decision, "reviewer": call.creator, "comment": comment,
                                           "reviewed_block": call.block})


FUNCTIONS: dict[str, Callable[[Call], None]] = {
    "bankside.define_business_type": define_business_type,
    "bankside.set_rule": set_rule,
    "bankside.review_pre_application": review_pre_application,
    "bankside.register_merchant": register_merchant,
    "bankside.open_account": open_account,
    "bankside.fund": fund,
    "bankside.submit_pre_application": submit_pre_application,
    "bankside.pay": pay,
    "bankside.refund_suspense": refund_suspense,
    "bankside.register_authorisation": register_authorisation,
    "bankside.revoke_authorisation": revoke_authorisation,
    "bankside.submit_case_application": submit_case_application,
    "bankside.review_case_application": review_case_application,
    "bankside.return_payment": return_payment,
    "bankside.collect": collect,
    "bankside.correct_payment": correct_payment,
    "bankside.refund_mistaken": refund_mistaken,
}


def arg_keys(function: str, args: dict[str, Any]) -> list[str]:
    """State keys a transaction will read (for prefetching a block's state in one query)."""
    if not function.startswith("bankside.") or not isinstance(args, dict):
        return []

    def s(name: str) -> str | None:
        v = args.get(name)
        return v if isinstance(v, str) and v else None

    out: list[str] = []
    merchant, bt = s("merchant_no"), s("business_type")
    if merchant:
        out.append(f"bank/merchant/{merchant}")
    if bt:
        out.append(f"bank/biztype/{bt}")
    if function == "bankside.define_business_type" and s("code"):
        out.append(f"bank/biztype/{s('code')}")
    if merchant and bt:
        out.append(f"bank/rule/{merchant}/{bt}")
    for name in ("account_no", "payee_account"):
        if s(name):
            out.append(f"bank/account/{s(name)}")
    if s("pre_application"):
        out.append(f"bank/preapp/{s('pre_application')}")
    if s("payment"):
        out.append(f"bank/payment/{s('payment')}")
    if s("authorisation"):
        out.append(f"bank/auth/{s('authorisation')}")
    if s("application"):
        out.append(f"bank/caseapp/{s('application')}")
    if s("bank_code") and s("bank_serial"):
        out.append(f"bank/serial/{s('bank_code')}/{s('bank_serial')}")
    if s("voucher_id"):
        out.append(f"bank/voucher/{s('voucher_id')}")
    return out
