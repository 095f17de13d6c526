"""Exception-flow services through a real local consortium (finance members and a bank member),
the local node applying each submission and projecting it into the finance side's tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from fmis.bankside import cases, selectors, statements
from fmis.bankside import functions as F_
from fmis.bankside.core_banking import CoreBanking
from fmis.bankside.models import CaseApplication, CollectionAuthorisation, ExceptionCase, Payment
from fmis.platform.errors import DomainError, NotFound, PermissionDenied, ValidationFailed

MODULES = ["fmis.transfers.ledger.contracts", "fmis.bankside.contracts"]
BANK = "BANK990000"
DAY = dt.date(2026, 11, 21)


def _setup_calls(core: CoreBanking) -> list[tuple[str, str, dict]]:
    pay = {"business_type": "utilities", "budget_type": "water", "bank_code": BANK, "payee_name": "自来水公司",
           "currency": "CNY", "date": "2026-11-20", "time": "09:00:00", "func_class": "2010301", "purpose": "水费"}
    debit = core.debit(request_id="pay-S3", account_no="A-M2", amount=20_000, currency="CNY")
    return [
        ("990000", "bankside.define_business_type", {"code": "utilities", "name": "水电费",
                                                     "budget_types": ["water", "electricity"]}),
        ("bank", "bankside.register_merchant", {"merchant_no": "M1", "name": "一号单位", "agency_code": "990001",
                                                "agency_name": "一号单位", "account_no": "A-M1", "currency": "CNY",
                                                "managed": True}),
        ("bank", "bankside.register_merchant", {"merchant_no": "M2", "name": "二号单位", "agency_code": "990002",
                                                "agency_name": "二号单位", "account_no": "A-M2", "currency": "CNY",
                                                "managed": False}),
        ("bank", "bankside.open_account", {"account_no": "C1", "name": "自来水公司", "kind": "customer",
                                           "merchant_no": "M1", "currency": "CNY", "managed": True}),
        ("bank", "bankside.open_account", {"account_no": "C2", "name": "电力公司", "kind": "customer",
                                           "merchant_no": "M1", "currency": "CNY", "managed": False}),
        ("bank", "bankside.open_account", {"account_no": "BGL-CNY", "name": "待清算款项", "kind": "suspense",
                                           "currency": "CNY"}),
        ("990000", "bankside.set_rule", {"merchant_no": "M1", "business_type": "utilities"}),
        ("990000", "bankside.set_rule", {"merchant_no": "M2", "business_type": "utilities",
                                         "exceptions": {"return": "direct"}}),
        ("bank", "bankside.fund", {"account_no": "A-M1", "amount": 1_000_000, "currency": "CNY", "reference": "Q1",
                                   "date": "2026-11-19"}),
        ("bank", "bankside.pay", {**pay, "voucher_id": "V1", "merchant_no": "M1", "bank_serial": "S1",
                                  "payee_account": "C1", "amount": 10_000}),
        ("bank", "bankside.pay", {**pay, "voucher_id": "V2", "merchant_no": "M1", "bank_serial": "S2",
                                  "payee_account": "C1", "amount": 8_000}),
        ("bank", "bankside.pay", {**pay, "voucher_id": "V3", "merchant_no": "M2", "bank_serial": "S3",
                                  "payee_account": "C1", "amount": 20_000, "core": debit.as_args()}),
    ]


@pytest.fixture
def core():
    c = CoreBanking(BANK)
    c.open("A-M2", balance=100_000)
    c.open("C2")
    return c


@pytest.fixture
def consortium(users, core):
    """The province's consortium with its bank member, run by this installation (one local node)."""
    from fmis.transfers import keys as keystore
    from fmis.transfers import local, services
    from fmis.transfers.ledger import envelope as env
    from fmis.transfers.models import MemberKey
    from fmis.transfers.tests.conftest import _empty_ledger_tables

    local.reset()
    _empty_ledger_tables()
    founders = [services.Founder("990000", "示例省财政厅"), services.Founder("990100", "一市财政局"),
                services.Founder("990000", "示例代理银行", role="bank")]
    cfg = services.create_consortium(user=users["prov"], consortium="990000-bank", name="示例省联盟", quorum=1,
                                     founders=founders, contract_modules=MODULES)
    local.flush()
    signers = {("bank" if k.role == "bank" else k.identity_id): env.Signer(k.cert_id, k.suite,
                                                                          keystore.unseal(k.private_key))
               for k in MemberKey.objects.all()}
    for who, fn, args in _setup_calls(core):
        tx = env.make_tx(signer=signers[who], consortium=cfg.consortium, hash_name=cfg.hash_name, function=fn,
                         args=args)
        local.orderer().submit(tx.wire, msg_id=tx.tx_id)
    assert local.apply_pending() is True
    assert Payment.objects.count() == 3
    yield
    local.reset()
    _empty_ledger_tables()


@pytest.fixture
def people(consortium, users, make_role, make_user):
    from fmis.orgs.models import Bank, Region

    bank = Bank.objects.create(code=BANK, name="示例代理银行")
    codes = [f.code for f in cases.CASE_FUNCTIONS]
    operator = make_role("bank_op", [c for c in codes if c != cases.CASE_APPLICATION_REVIEW]
                         + [F_.STATEMENT_VIEW, F_.PAYMENT_VIEW], rules=[("bank", "own_bank", [])])
    treasury = make_role("treasury_div", [cases.CASE_APPLICATION_REVIEW, cases.CASE_APPLICATION_VIEW,
                                          cases.CASE_VIEW, F_.STATEMENT_VIEW],
                         rules=[("region", "own_region_tree", [])])
    unit = make_role("unit", [cases.CASE_VIEW], rules=[("agency", "values", ["990002"])])
    regions = {r.code: r for r in Region.objects.all()}
    return {
        "bank": make_user("bank_op", [operator], org_type="bank", bank=bank, region=regions["990000"]),
        "fin": make_user("fin_prov", [treasury], region=regions["990000"]),
        "city": make_user("fin_city", [treasury], region=regions["990100"]),
        "unit2": make_user("unit2", [unit]),
    }


def pid(voucher: str) -> str:
    return Payment.objects.get(voucher_id=voucher).ledger_id


def written():
    """What a refused request must leave untouched: outbox, audit log, ledger transactions, cases."""
    from fmis.platform.models import AuditRecord, OutboxMessage
    from fmis.transfers.models import LedgerTx

    return (OutboxMessage.objects.count(), AuditRecord.objects.count(), LedgerTx.objects.count(),
            ExceptionCase.objects.count(), CaseApplication.objects.count(), CollectionAuthorisation.objects.count())


def refused(exc_type, code, fn, **kw):
    before = written()
    with pytest.raises(exc_type) as exc:
        fn(**kw)
    assert exc.value.code == code, exc.value
    assert exc.value.message
    assert written() == before, "a refused request wrote something"
    return exc.value


def ledger_records() -> list[dict]:
    from fmis.transfers.models import StateEntry

    return [e.value for e in StateEntry.objects.filter(key__regex=r"^bank/(payment|funding|case)/")]


@pytest.mark.django_db(transaction=True)
def test_return_then_over_return_refused_with_nothing_written(people):
    bank = people["bank"]
    out = cases.return_payment(user=bank, payment=pid("V1"), amount=Decimal("40.00"), date=DAY, bank_serial="R1",
                               reason="收款人账户已销户")
    assert out.status == "valid"
    c = ExceptionCase.objects.get(ledger_id=out.tx_id)
    assert (c.kind, c.status, c.mode, c.branch, c.amount) == ("return", "booked", "direct", "ledger",
                                                              Decimal("40.00"))
    p = Payment.objects.get(voucher_id="V1")
    assert (p.status, p.returned_amount) == ("partly_returned", Decimal("40.00"))
    e = refused(DomainError, "bank.over_return", cases.return_payment, user=bank, payment=pid("V1"),
                amount=Decimal("60.01"), date=DAY, bank_serial="R2", reason="退票")
    assert "退回金额超过" in e.message
    refused(ValidationFailed, "bankside.amount_not_positive", cases.return_payment, user=bank, payment=pid("V1"),
            amount="0", date=DAY, bank_serial="R2", reason="退票")
    refused(ValidationFailed, "bankside.field_required", cases.return_payment, user=bank, payment=pid("V1"),
            amount="1", date=DAY, bank_serial="R2", reason=" ")
    refused(DomainError, "bank.duplicate_serial", cases.return_payment, user=bank, payment=pid("V1"),
            amount="1", date=DAY, bank_serial="R1", reason="退票")
    refused(NotFound, "bankside.payment_not_found", cases.return_payment, user=bank, payment="f" * 64,
            amount="1", date=DAY, bank_serial="R2", reason="退票")
    # the finance side cannot book a return; a unit user sees only its own merchant's cases
    refused(PermissionDenied, "iam.function_denied", cases.return_payment, user=people["fin"], payment=pid("V1"),
            amount="1", date=DAY, bank_serial="R2", reason="退票")
    assert list(cases.cases(user=people["unit2"])) == []
    assert [x.ledger_id for x in cases.cases(user=bank)] == [out.tx_id]
    # statements from the projection reconcile with the bookkeeping on the ledger
    for account in ("A-M1", "C1"):
        st = selectors.statement(user=bank, account_no=account, day=DAY, previous_days=2)
        assert statements.reconcile(st, ledger_records()) == []
    assert selectors.statement(user=bank, account_no="C1", day=DAY, previous_days=2).closing == 10_000 + 8_000 - 4_000


@pytest.mark.django_db(transaction=True)
def test_mistaken_refund_needs_an_application_approved_by_the_rules_region(people):
    bank, fin = people["bank"], people["fin"]
    refused(DomainError, "bank.case_application_required", cases.refund_mistaken, user=bank, payment=pid("V2"),
            amount="80.00", date=DAY, bank_serial="E1", reason="收款人错误")
    rejected = cases.submit_case_application(user=bank, kind="mistaken_refund", payment=pid("V2"), amount="80.00",
                                             reason="收款人错误").tx_id
    app = CaseApplication.objects.get(ledger_id=rejected)
    assert (app.status, app.approver_region, app.amount) == ("submitted", "990000", Decimal("80.00"))
    # the city's finance department neither sees nor reviews the province's applications
    refused(NotFound, "bankside.case_application_not_found", cases.review_case_application, user=people["city"],
            application=rejected, decision="approved")
    refused(ValidationFailed, "bankside.comment_required", cases.review_case_application, user=fin,
            application=rejected, decision="rejected")
    cases.review_case_application(user=fin, application=rejected, decision="rejected", comment="证明材料不全")
    assert CaseApplication.objects.get(ledger_id=rejected).status == "rejected"
    refused(DomainError, "bank.case_application_not_approved", cases.refund_mistaken, user=bank, payment=pid("V2"),
            amount="80.00", date=DAY, bank_serial="E1", reason="收款人错误", application=rejected)
    refused(PermissionDenied, "iam.function_denied", cases.review_case_application, user=bank,
            application=rejected, decision="approved")

    approved = cases.submit_case_application(user=bank, kind="mistaken_refund", payment=pid("V2"), amount="80.00",
                                             reason="收款人错误").tx_id
    cases.review_case_application(user=fin, application=approved, decision="approved")
    out = cases.refund_mistaken(user=bank, payment=pid("V2"), amount="80.00", date=DAY, bank_serial="E1",
                                reason="收款人错误", application=approved)
    c = ExceptionCase.objects.get(ledger_id=out.tx_id)
    assert (c.kind, c.mode, c.application.ledger_id) == ("mistaken_refund", "approval", approved)
    assert CaseApplication.objects.get(ledger_id=approved).case_ledger_id == out.tx_id
    assert Payment.objects.get(voucher_id="V2").status == "returned"
    assert [a.ledger_id for a in cases.applications(user=fin, status="approved")] == [approved]


@pytest.mark.django_db(transaction=True)
def test_return_of_a_core_payment_goes_through_the_core(people, core):
    out = cases.return_payment(user=people["bank"], payment=pid("V3"), amount="200.00", date=DAY, bank_serial="R9",
                               reason="退票", core=core)
    c = ExceptionCase.objects.get(ledger_id=out.tx_id)
    assert (c.branch, c.status) == ("core", "booked") and c.core_serial
    assert core.balance("A-M2") == 100_000
    assert [r.request_id for r in core.journal] == ["pay-S3", "return-R9"]
    # fully returned: refused before the core is asked again
    refused(DomainError, "bank.payment_not_returnable", cases.return_payment, user=people["bank"],
            payment=pid("V3"), amount="1", date=DAY, bank_serial="R10", reason="退票", core=core)
    assert len(core.journal) == 2


@pytest.mark.django_db(transaction=True)
def test_collections_under_an_authorisation_and_its_revocation(people, core):
    bank = people["bank"]
    reg = {"user": bank, "merchant_no": "M1", "business_type": "utilities", "budget_type": "water",
           "customer_account": "C1", "customer_name": "自来水公司", "limit": "50.00", "total_limit": "80.00",
           "valid_from": dt.date(2026, 11, 1), "reference": "AUTH-1"}
    auth = cases.register_authorisation(**reg).tx_id
    a = CollectionAuthorisation.objects.get(ledger_id=auth)
    assert (a.status, a.limit, a.total_limit, a.collected) == ("active", Decimal("50.00"), Decimal("80.00"), 0)
    refused(DomainError, "bank.duplicate_reference", cases.register_authorisation, **reg)
    cases.collect(user=bank, authorisation=auth, amount="50.00", date=DAY, bank_serial="K1", purpose="水费")
    refused(DomainError, "bank.over_limit", cases.collect, user=bank, authorisation=auth, amount="30.01", date=DAY,
            bank_serial="K2", purpose="水费")
    assert CollectionAuthorisation.objects.get(ledger_id=auth).collected == Decimal("50.00")
    # an unmanaged customer is paid through the suspense account by the core
    auth2 = cases.register_authorisation(**{**reg, "customer_account": "C2", "customer_name": "电力公司",
                                            "budget_type": "electricity", "reference": "AUTH-2"}).tx_id
    out = cases.collect(user=bank, authorisation=auth2, amount="12.00", date=DAY, bank_serial="K3", purpose="电费",
                        core=core)
    c = ExceptionCase.objects.get(ledger_id=out.tx_id)
    assert (c.kind, c.branch, c.status) == ("collection", "suspense", "booked")
    assert core.balance("C2") == 1_200
    cases.revoke_authorisation(user=bank, authorisation=auth, reason="合同终止")
    refused(DomainError, "bank.authorisation_inactive", cases.collect, user=bank, authorisation=auth, amount="1",
            date=DAY, bank_serial="K4", purpose="水费")
    for account in ("A-M1", "C1", "BGL-CNY", "C2"):
        st = selectors.statement(user=bank, account_no=account, day=DAY, previous_days=2)
        assert statements.reconcile(st, ledger_records()) == [], account
    assert selectors.statement(user=bank, account_no="BGL-CNY", day=DAY).closing == 0
    assert [x.reference for x in cases.authorisations(user=bank, status="revoked")] == ["AUTH-1"]


@pytest.mark.django_db(transaction=True)
def test_correction_under_approval_keeps_before_and_after(people):
    bank, fin = people["bank"], people["fin"]
    changes = {"func_class": "2010302", "purpose": "水费（更正）"}
    refused(DomainError, "bank.case_application_required", cases.correct_payment, user=bank, payment=pid("V1"),
            changes=changes, date=DAY, reason="功能分类错误")
    refused(ValidationFailed, "bankside.correction_field", cases.correct_payment, user=bank, payment=pid("V1"),
            changes={"amount": "1"}, date=DAY, reason="x")
    app = cases.submit_case_application(user=bank, kind="correction", payment=pid("V1"), changes=changes,
                                        reason="功能分类错误").tx_id
    cases.review_case_application(user=fin, application=app, decision="approved")
    out = cases.correct_payment(user=bank, payment=pid("V1"), changes=changes, date=DAY, reason="功能分类错误",
                                application=app)
    c = ExceptionCase.objects.get(ledger_id=out.tx_id)
    assert (c.before, c.after, c.amount) == ({"func_class": "2010301", "purpose": "水费"}, changes, 0)
    p = Payment.objects.get(voucher_id="V1")
    assert (p.func_class, p.purpose, p.corrections, p.amount) == ("2010302", "水费（更正）", 1, Decimal("100.00"))
    assert cases.case(user=fin, ledger_id=out.tx_id).kind == "correction"


@pytest.mark.django_db(transaction=True)
def test_the_persisted_core_is_used_by_default_and_the_ledger_reconciles(people):
    from fmis.bankside.core_banking import db_core

    db = db_core(BANK)
    db.open("A-M2", balance=0)
    out = cases.return_payment(user=people["bank"], payment=pid("V3"), amount="150.00", date=DAY, bank_serial="R7",
                               reason="退票")
    c = ExceptionCase.objects.get(ledger_id=out.tx_id)
    assert (c.branch, c.status) == ("core", "booked") and c.core_serial
    assert db.balance("A-M2") == 15_000
    cases.return_payment(user=people["bank"], payment=pid("V1"), amount="30.00", date=DAY, bank_serial="R8",
                         reason="退票")
    for account in ("A-M1", "C1", "A-M2"):
        assert statements.reconcile_with_ledger(account, "2026-11-19", DAY) == [], account


@pytest.mark.django_db(transaction=True)
def test_parallel_returns_of_one_payment_never_exceed_what_was_paid(people):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from fmis.transfers import local
    from fmis.transfers.models import LedgerTx

    bank, payment = people["bank"], pid("V1")  # 100.00 paid

    def attempt(n: int) -> str:
        try:
            out = cases.return_payment(user=bank, payment=payment, amount="30.00", date=DAY, bank_serial=f"P{n}",
                                       reason="退票")
            return out.status
        except DomainError as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(attempt, range(6)))
    local.flush()  # whatever a busy node left pending
    booked = ExceptionCase.objects.filter(kind="return", status="booked")
    p = Payment.objects.get(ledger_id=payment)
    assert booked.count() == 3, results
    assert p.returned_amount == sum(c.amount for c in booked) == Decimal("90.00")
    # three went through; each other attempt was refused, before submission or by the ledger
    txs = LedgerTx.objects.filter(function="return_payment")
    assert txs.filter(valid=True).count() == 3
    assert set(txs.filter(valid=False).values_list("reason", flat=True)) <= {"bank.over_return"}
    assert 3 - results.count("bank.over_return") <= txs.filter(valid=False).count() <= 3
    assert set(results) <= {"valid", "pending", "bank.over_return"}
    st = selectors.statement(user=bank, account_no="C1", day=DAY, previous_days=2)
    assert st.closing == 18_000 - 9_000 and statements.reconcile(st, ledger_records()) == []


@pytest.mark.django_db(transaction=True)
def test_finance_configures_the_exception_flows_per_rule_through_the_service(people, make_role, make_user):
    from fmis.bankside import services
    from fmis.bankside.models import FlowRule

    bank = people["bank"]
    rules = make_role("rules_div", [F_.RULE_SET, F_.RULE_VIEW], rules=[("region", "own_region_tree", [])])
    fin = make_user("fin_rules", [rules], region=people["fin"].region)
    refused(ValidationFailed, "args.invalid", services.set_rule, user=fin, merchant_no="M1",
            business_type="utilities", exceptions={"return": "sometimes"}, reason="调整")
    refused(ValidationFailed, "args.invalid", services.set_rule, user=fin, merchant_no="M1",
            business_type="utilities", exceptions={"refund_everything": "direct"}, reason="调整")
    out = services.set_rule(user=fin, merchant_no="M1", business_type="utilities", reason="退回须审核、禁止委托收款",
                            exceptions={"return": "approval", "collection": "forbidden"})
    assert out.status == "valid"
    rule = FlowRule.objects.get(merchant__merchant_no="M1", business_type__code="utilities", current=True)
    assert rule.exceptions == {"return": "approval", "collection": "forbidden", "correction": "approval",
                               "mistaken_refund": "approval"}
    assert dict(rule.exception_modes)["资金退回"] == "须经财政审核"
    # a return now needs an approved case application
    refused(DomainError, "bank.case_application_required", cases.return_payment, user=bank, payment=pid("V1"),
            amount=Decimal("1.00"), date=DAY, bank_serial="R9", reason="退票")
