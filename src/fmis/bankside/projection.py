"""Writes of the finance side's projection: applying a ledger block's bank-side results.

``project_block`` is what a node calls, in the transaction that applies a block, with the
block's world-state writes and the movements of its valid transactions. It only upserts (ON
CONFLICT) and is idempotent: applying the same block again changes nothing. The ledger stays the
source of truth; a projection can be rebuilt by applying every block in order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from fmis.bankside.models import (
    BusinessType,
    CaseApplication,
    CollectionAuthorisation,
    ExceptionCase,
    FlowRule,
    Merchant,
    Payment,
    PreApplication,
    ProjectionMark,
    StatementLine,
)
from fmis.platform import audit
from fmis.platform.money import from_fen


def _prefix(writes: dict[str, dict], prefix: str) -> list[tuple[str, dict]]:
    return sorted((k, v) for k, v in writes.items() if k.startswith(prefix))


def _upsert(model, rows: list, unique: list[str]) -> None:
    if not rows:
        return
    fields = [f.name for f in model._meta.concrete_fields if not f.primary_key and f.name not in unique]
    model.objects.bulk_create(rows, update_conflicts=True, unique_fields=unique, update_fields=fields)


def project_block(*, block: int, writes: dict[str, dict], movements: Iterable[tuple[str, int, Any]]) -> dict:
    """Apply one block: ``writes`` = its world-state writes (any keys; ``bank/…`` ones are used),
    ``movements`` = (tx id, index within the tx, ``Movement``) of its valid transactions.
    Returns counts of what was projected."""
    movements = [(tx, n, mv) for tx, n, mv in movements if mv.kind.startswith("bank.")]
    with transaction.atomic():
        _upsert(BusinessType, [BusinessType(code=v["code"], name=v["name"], budget_types=v["budget_types"],
                                            version=v["version"])
                               for _, v in _prefix(writes, "bank/biztype/")], ["code"])
        merchants = {v["merchant_no"]: v for _, v in _prefix(writes, "bank/merchant/")}
        balances = {v["merchant_no"]: v["balance"] for _, v in _prefix(writes, "bank/account/")
                    if v["kind"] == "merchant"}
        for no in set(balances) - set(merchants):
            Merchant.objects.filter(merchant_no=no).update(balance=from_fen(balances[no]))
        _upsert(Merchant, [Merchant(merchant_no=no, name=v["name"], agency_code=v["agency_code"],
                                    agency_name=v["agency_name"], bank=v["bank"], account_no=v["account_no"],
                                    currency=v["currency"], managed=v["managed"],
                                    balance=from_fen(balances.get(no, 0)))
                           for no, v in merchants.items()], ["merchant_no"])
        m_ids = dict(Merchant.objects.values_list("merchant_no", "id"))
        bt_ids = dict(BusinessType.objects.values_list("code", "id"))

        rules = [v for k, v in _prefix(writes, "bank/rule/") if k.count("/") == 4]
        for r in rules:
            FlowRule.objects.filter(merchant_id=m_ids[r["merchant_no"]], business_type_id=bt_ids[r["business_type"]],
                                    current=True).exclude(version=r["version"]).update(current=False)
        _upsert(FlowRule, [FlowRule(merchant_id=m_ids[r["merchant_no"]], business_type_id=bt_ids[r["business_type"]],
                                    version=r["version"], current=True, pre_application=r["pre_application"],
                                    limit=None if r["limit"] is None else from_fen(r["limit"]),
                                    required_fields=r["required_fields"], approver_region=r["approver_region"],
                                    reason=r["reason"], exceptions=r.get("exceptions") or {}, block=r["block"])
                           for r in rules], ["merchant", "business_type", "version"])

        _upsert(PreApplication, [PreApplication(
            ledger_id=v["id"], kind=v["kind"], merchant_id=m_ids[v["merchant_no"]],
            business_type_id=bt_ids[v["business_type"]], amount=from_fen(v["amount"]), currency=v["currency"],
            purpose=v["purpose"], rule_version=v["rule_version"], approver_region=v["approver_region"],
            status=v["status"], comment=v["comment"], payment_ledger_id=v["payment"] or "",
            submitted_block=v["submitted_block"], reviewed_block=v["reviewed_block"])
            for _, v in _prefix(writes, "bank/preapp/")], ["ledger_id"])
        pre_ids = dict(PreApplication.objects.filter(
            ledger_id__in=[v["pre_application"] for _, v in _prefix(writes, "bank/payment/") if v["pre_application"]]
        ).values_list("ledger_id", "id"))

        _upsert(Payment, [Payment(
            ledger_id=v["id"], merchant_id=m_ids[v["merchant_no"]], business_type_id=bt_ids[v["business_type"]],
            **{f: v[f] for f in ("voucher_id", "voucher_type", "voucher_no", "fund_nature", "payment_method",
                                 "func_class", "settlement_method", "bank_code", "payee_account", "payee_name",
                                 "taxpayer_id", "budget_type", "purpose", "bank_serial", "currency", "rate",
                                 "agency_code", "agency_name", "branch", "status", "rule_version", "block")},
            amount=from_fen(v["amount"]), date=dt.date.fromisoformat(v["date"]),
            time=dt.time.fromisoformat(v["time"]), pre_application_id=pre_ids.get(v["pre_application"]),
            core_serial=(v["core"] or {}).get("core_serial", ""),
            refund_core_serial=(v["refund"] or {}).get("core_serial", ""),
            returned_amount=from_fen(v.get("returned", 0)), corrections=v.get("corrections", 0))
            for _, v in _prefix(writes, "bank/payment/")], ["ledger_id"])
        _project_cases(writes, m_ids, bt_ids)

        agencies = dict(Merchant.objects.filter(merchant_no__in={mv.detail["merchant"] for _, _, mv in movements})
                        .values_list("merchant_no", "agency_code"))
        banks = dict(Merchant.objects.filter(merchant_no__in=agencies).values_list("merchant_no", "bank"))
        seq: dict[str, int] = {}  # the transactions in block order
        for tx, _, _ in movements:
            seq.setdefault(tx, len(seq))
        lines = [StatementLine(
            block=block, tx_id=tx, seq=seq[tx], n=n, ref=mv.allocation, account_no=mv.detail["account"],
            party=mv.detail["party"], merchant_no=mv.detail["merchant"],
            agency_code=agencies.get(mv.detail["merchant"], ""), bank=banks.get(mv.detail["merchant"], ""),
            kind=mv.kind, amount=from_fen(mv.amount),
            balance=None if mv.detail.get("balance") is None else from_fen(mv.detail["balance"]),
            date=dt.date.fromisoformat(mv.detail["date"]), serial=mv.detail.get("serial", ""),
            core_serial=mv.detail.get("core_serial", "")) for tx, n, mv in movements]
        StatementLine.objects.bulk_create(lines, ignore_conflicts=True)
        counts = {"keys": sum(1 for k in writes if k.startswith("bank/")), "lines": len(lines)}
        mark, _ = ProjectionMark.objects.get_or_create(name="bankside")
        ProjectionMark.objects.filter(pk=mark.pk, last_block__lt=block).update(last_block=block)
        if counts["keys"] or counts["lines"]:
            audit.record(None, "bankside.project_block", object_type="bankside.block", object_id=block,
                         object_repr=f"区块 {block}", after=counts)
    return counts


def _ids(model, ledger_ids) -> dict[str, int]:
    wanted = {i for i in ledger_ids if i}
    return dict(model.objects.filter(ledger_id__in=wanted).values_list("ledger_id", "id")) if wanted else {}


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _project_cases(writes: dict[str, dict], m_ids: dict[str, int], bt_ids: dict[str, int]) -> None:
    """Collection authorisations, case applications and exception cases (seed 004 §54)."""
    auths = [v for _, v in _prefix(writes, "bank/auth/")]
    _upsert(CollectionAuthorisation, [CollectionAuthorisation(
        ledger_id=v["id"], merchant_id=m_ids[v["merchant_no"]], business_type_id=bt_ids[v["business_type"]],
        budget_type=v["budget_type"], customer_account=v["customer_account"], customer_name=v["customer_name"],
        currency=v["currency"], reference=v["reference"], limit=from_fen(v["limit"]),
        total_limit=None if v["total_limit"] is None else from_fen(v["total_limit"]),
        collected=from_fen(v["collected"]), collections=v["count"], valid_from=_date(v["valid_from"]),
        valid_to=_date(v["valid_to"]), status=v["status"], revoke_reason=v["revoke_reason"], block=v["block"],
        revoked_block=v["revoked_block"]) for v in auths], ["ledger_id"])

    apps = [v for _, v in _prefix(writes, "bank/caseapp/")]
    cases = [v for _, v in _prefix(writes, "bank/case/")]
    pay_ids = _ids(Payment, [v["payment"] for v in (*apps, *cases)])
    auth_ids = _ids(CollectionAuthorisation, [v["authorisation"] for v in (*apps, *cases)])
    _upsert(CaseApplication, [CaseApplication(
        ledger_id=v["id"], kind=v["kind"], merchant_id=m_ids[v["merchant_no"]],
        business_type_id=bt_ids[v["business_type"]], payment_id=pay_ids.get(v["payment"]),
        authorisation_id=auth_ids.get(v["authorisation"]), amount=from_fen(v["amount"]), changes=v["changes"],
        reason=v["reason"], rule_version=v["rule_version"], approver_region=v["approver_region"],
        status=v["status"], reviewer=v["reviewer"], comment=v["comment"], case_ledger_id=v["case"] or "",
        submitted_block=v["submitted_block"], reviewed_block=v["reviewed_block"]) for v in apps], ["ledger_id"])

    app_ids = _ids(CaseApplication, [v["application"] for v in cases])
    _upsert(ExceptionCase, [ExceptionCase(
        ledger_id=v["id"], kind=v["kind"], merchant_id=m_ids[v["merchant_no"]],
        business_type_id=bt_ids[v["business_type"]], payment_id=pay_ids.get(v["payment"]),
        authorisation_id=auth_ids.get(v["authorisation"]), amount=from_fen(v["amount"]), currency=v["currency"],
        date=_date(v["date"]), bank_serial=v["bank_serial"], reason=v["reason"], branch=v["branch"], mode=v["mode"],
        status=v["status"], application_id=app_ids.get(v["application"]), rule_version=v["rule_version"],
        before=v["before"], after=v["after"], core_serial=(v["core"] or {}).get("core_serial", ""),
        block=v["block"]) for v in cases], ["ledger_id"])


def last_projected_block() -> int:
    """The last ledger block whose bank-side results are in the projection (0: none yet)."""
    return ProjectionMark.objects.filter(name="bankside").values_list("last_block", flat=True).first() or 0
