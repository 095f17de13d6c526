"""Signed statement bundles on this installation's real local node: a good bundle verifies, and a
changed amount, a dropped line, a forged signature, a wrong proof, a line moved to another account
and a tampered xlsx are each detected."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import zipfile

import pytest
from django.core.management import call_command

from fmis.bankside import bundle as B
from fmis.bankside import functions as F_
from fmis.bankside import selectors, statements
from fmis.bankside.core_banking import CoreBanking, payment_args, refund_args
from fmis.platform.errors import NotFound, ValidationFailed
from fmis.transfers.ledger.encoding import b64, canonical

BANK = "BANK990000"
MODULES = ["fmis.transfers.ledger.contracts", "fmis.bankside.contracts"]
DAY = dt.date(2026, 11, 20)


def _pay(n: int, **over) -> dict:
    args = {"voucher_id": f"V{n}", "merchant_no": "M1", "business_type": "utilities", "budget_type": "water",
            "bank_code": BANK, "bank_serial": f"S{n}", "payee_account": "C1", "payee_name": "自来水公司",
            "amount": 1_000 + n, "currency": "CNY", "date": "2026-11-20", "time": "09:00:00"}
    args.update(over)
    return args


class World:
    """A consortium run by this installation, with bank-side business on it."""

    def __init__(self, users):
        from fmis.transfers import keys as keystore
        from fmis.transfers import local, services
        from fmis.transfers.ledger import envelope as env
        from fmis.transfers.models import MemberKey

        self.local, self.env = local, env
        founders = [services.Founder("990000", "示例省财政厅"), services.Founder("990000", "示例代理银行", role="bank")]
        self.cfg = services.create_consortium(user=users["prov"], consortium="990000-bank", name="示例省联盟",
                                              quorum=1, founders=founders, contract_modules=MODULES)
        local.flush()
        self.signers = {(BANK if k.role == "bank" else k.identity_id): env.Signer(k.cert_id, k.suite,
                                                                                  keystore.unseal(k.private_key))
                        for k in MemberKey.objects.all()}
        self.core = CoreBanking(BANK)
        self.core.open("A-M2", balance=100_000)
        self.core.open("EXT")

    def run(self, *calls: tuple[str, str, dict]) -> list[str]:
        ids = []
        for who, fn, args in calls:
            tx = self.env.make_tx(signer=self.signers[who], consortium=self.cfg.consortium,
                                  hash_name=self.cfg.hash_name, function=fn, args=args)
            self.local.orderer().submit(tx.wire, msg_id=tx.tx_id)
            ids.append(tx.tx_id)
        assert self.local.apply_pending() is True
        self.local.apply_pending()  # read back the co-signatures of the last block
        return ids

    def build(self) -> None:
        self.run(
            ("990000", "bankside.define_business_type", {"code": "utilities", "name": "水电费", "budget_types": ["water"]}),
            (BANK, "bankside.register_merchant", {"merchant_no": "M1", "name": "一号单位", "agency_code": "990001",
                                                  "agency_name": "一号单位", "account_no": "A-M1", "currency": "CNY",
                                                  "managed": True}),
            (BANK, "bankside.register_merchant", {"merchant_no": "M2", "name": "二号单位", "agency_code": "990002",
                                                  "agency_name": "二号单位", "account_no": "A-M2", "currency": "CNY",
                                                  "managed": False}),
            (BANK, "bankside.open_account", {"account_no": "C1", "name": "自来水公司", "kind": "customer",
                                             "merchant_no": "M1", "currency": "CNY", "managed": True}),
            (BANK, "bankside.open_account", {"account_no": "BGL-CNY", "name": "待清算款项", "kind": "suspense",
                                             "currency": "CNY"}),
            ("990000", "bankside.set_rule", {"merchant_no": "M1", "business_type": "utilities"}),
            ("990000", "bankside.set_rule", {"merchant_no": "M2", "business_type": "utilities"}),
            (BANK, "bankside.fund", {"account_no": "A-M1", "amount": 100_000, "currency": "CNY", "reference": "Q1",
                                     "date": "2026-11-19"}),
        )
        pays = [(BANK, "bankside.pay", _pay(n)) for n in range(1, 6)]
        pays.append((BANK, "bankside.pay", _pay(6, payee_account="EXT", payee_name="外行客户", amount=700)))
        pays.append((BANK, "bankside.pay", payment_args(self.core, _pay(7, merchant_no="M2", amount=900),
                                                        merchant_account="A-M2")))
        ids = self.run(*pays)
        suspense = {"id": ids[5], "payee_account": "EXT", "amount": 700, "currency": "CNY"}
        self.run((BANK, "bankside.refund_suspense", refund_args(self.core, suspense, day="2026-11-20")))
        # the next day, exception cases: a return of a ledger payment, a return of the suspense
        # payment (the core debits the external payee), and a collection under an authorisation
        back = self.core.debit(request_id="return-EXT", account_no="EXT", amount=300, currency="CNY")
        [auth] = self.run((BANK, "bankside.register_authorisation", {
            "merchant_no": "M1", "business_type": "utilities", "budget_type": "water", "customer_account": "C1",
            "customer_name": "自来水公司", "limit": 5_000, "valid_from": "2026-11-01", "reference": "AUTH-1"}))
        self.cases = self.run(
            (BANK, "bankside.return_payment", {"payment": ids[0], "amount": 400, "date": "2026-11-21",
                                               "reason": "收款人退回", "bank_serial": "R1"}),
            (BANK, "bankside.return_payment", {"payment": ids[5], "amount": 300, "date": "2026-11-21",
                                               "reason": "收款人退回", "bank_serial": "R2", "core": back.as_args()}),
            (BANK, "bankside.collect", {"authorisation": auth, "amount": 2_000, "currency": "CNY",
                                        "date": "2026-11-21", "purpose": "水费", "bank_serial": "K1"}),
        )


@pytest.fixture
def world(users, make_role, make_user):
    from fmis.transfers import local
    from fmis.transfers.tests.conftest import _empty_ledger_tables

    local.reset()
    _empty_ledger_tables()
    w = World(users)
    try:
        w.build()
        w.reader = make_user("bundle_reader", roles=[make_role("BR", [F_.STATEMENT_VIEW])])
        yield w
    finally:
        local.reset()
        _empty_ledger_tables()


def _resign(bundle: dict) -> dict:
    """Sign a changed bundle again with the node key: what a dishonest installation could do."""
    from fmis.transfers.local import node_signer

    body = {k: v for k, v in bundle.items() if k != "signature"}
    return {**body, "signature": {**bundle["signature"], "sig": b64(node_signer().sign(canonical(body)))}}


@pytest.mark.django_db(transaction=True)
def test_a_good_bundle_verifies_and_every_kind_of_tampering_is_detected(world):
    good = B.build_bundle(user=world.reader, account_no="A-M1", day=DAY, previous_days=1)
    s = good["statement"]
    assert (s["opening"], s["increase"], s["decrease"]) == (0, 100_000, sum(1_000 + n for n in range(1, 6)) + 700)
    assert s["closing"] == s["opening"] + s["increase"] - s["decrease"] and s["line_count"] == len(good["lines"]) == 7
    assert statements.reconcile_with_ledger("A-M1", s["first_day"], s["last_day"]) == []
    # one checkpoint for every transaction: the lines' eight and the account's registration
    assert len(good["transactions"]) == 8 and good["account_tx"] in good["transactions"]
    assert good["checkpoint"]["tree_size"] == s["tree_size"] > max(t["log_index"] for t in good["transactions"].values())
    check = B.verify_bundle(json.loads(B.bundle_bytes(good)))
    assert check.ok, check.problems
    assert (check.account_no, check.lines, check.transactions, len(check.co_signers)) == ("A-M1", 7, 8, 1)

    def problems(b: dict) -> list[str]:
        out = B.verify_bundle(b)
        assert not out.ok
        return out.problems

    # a changed amount: the signature fails; re-signed, the totals and the transaction's amount still disagree
    changed = copy.deepcopy(good)
    changed["lines"][2]["amount"] += 100
    assert any("signature" in p for p in problems(changed))
    found = problems(_resign(changed))
    assert any(p.startswith("decrease:") for p in found)
    assert any(p.startswith("line 3: amount") for p in found)
    changed["statement"]["decrease"] += 100
    changed["statement"]["closing"] -= 100
    amount = changed["lines"][2]["amount"]
    assert problems(_resign(changed)) == [f"line 3: amount {amount} differs from the transaction's {amount - 100}"]

    # a dropped line
    dropped = copy.deepcopy(good)
    del dropped["lines"][3]
    assert any("signature" in p for p in problems(dropped))
    assert {p.split(":")[0] for p in problems(_resign(dropped))} == {"decrease", "closing", "line_count"}

    # a forged signature: another key, or another member's certificate
    forged = copy.deepcopy(good)
    forged["signature"]["sig"] = b64(world.signers[BANK].sign(canonical({k: v for k, v in good.items()
                                                                          if k != "signature"})))
    assert problems(forged) == ["signature: the installation's signature does not verify"]

    # a wrong proof: a path of another transaction, or a path hash changed
    wrong = copy.deepcopy(good)
    a, b = sorted(wrong["transactions"])[:2]
    wrong["transactions"][a]["path"] = good["transactions"][b]["path"]
    found = problems(_resign(wrong))
    assert any(f"transaction {a[:16]}" in p and "inclusion proof" in p for p in found)
    bent = copy.deepcopy(good)
    t = bent["transactions"][good["lines"][0]["tx"]]
    t["path"][0] = ("00" if t["path"][0][:2] != "00" else "11") + t["path"][0][2:]
    assert any("inclusion proof" in p for p in problems(_resign(bent)))

    # a line moved to another transaction, or the statement claimed for another account
    moved = copy.deepcopy(good)
    pays = [ln for ln in moved["lines"] if ln["kind"] == "bank.decrease"]
    pays[0]["tx"], pays[0]["ref"] = pays[1]["tx"], pays[1]["ref"]
    pays[0]["n"] = 5
    assert any(p.startswith("line") and "differs" in p for p in problems(_resign(moved)))
    other = copy.deepcopy(good)
    other["statement"]["account_no"] = "C1"
    assert any("opening transaction is for another account" in p for p in problems(_resign(other)))

    # a transaction recorded as invalid, and a trust anchor that is not the bundle's CA
    invalid = copy.deepcopy(good)
    invalid["transactions"][good["lines"][0]["tx"]]["valid"] = False
    assert any("inclusion proof" in p for p in problems(_resign(invalid)))
    from fmis.transfers.ledger.membership import RootCA

    stranger = RootCA.create(consortium="another").certificate_pem
    assert any("another CA" in p for p in B.verify_bundle(good, ca_pem=stranger).problems)
    assert B.verify_bundle(good, ca_pem=good["ca_certificate"]).ok


@pytest.mark.django_db(transaction=True)
def test_bundles_of_customer_suspense_and_core_accounts_verify(world):
    for account, kinds in (("C1", {"bank.increase"}), ("BGL-CNY", {"bank.increase", "bank.decrease"}),
                           ("EXT", {"bank.core_credit"}), ("A-M2", {"bank.core_debit"})):
        bundle = B.build_bundle(user=world.reader, account_no=account, day=DAY)
        assert {ln["kind"] for ln in bundle["lines"]} == kinds
        check = B.verify_bundle(bundle)
        assert check.ok, (account, check.problems)
    ext = B.build_bundle(user=world.reader, account_no="EXT", day=DAY)
    assert ext["account_tx"] is None  # not a ledger account: tied to the payment's payee account instead
    [line] = ext["lines"]
    assert line["ref"] in ext["transactions"] and line["tx"] in ext["transactions"] and line["ref"] != line["tx"]
    moved = copy.deepcopy(ext)
    moved["statement"]["account_no"] = "EXT2"
    assert any("line 1: account" in p for p in B.verify_bundle(_resign(moved)).problems)


@pytest.mark.django_db(transaction=True)
def test_the_zip_carries_the_xlsx_the_bundle_signed_and_the_command_verifies_it(world, tmp_path, capsys):
    name, data = B.build_bundle_zip(user=world.reader, account_no="A-M1", day=DAY, previous_days=1)
    assert name == "签名对账单-A-M1-2026-11-19-2026-11-20.zip"
    check = B.verify_file(data)
    assert check.ok, check.problems
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        bundle = json.loads(zf.read(B.JSON_NAME))
        xlsx = zf.read(B.XLSX_NAME)
    assert set(bundle["attachments"]) == {B.XLSX_NAME}
    swapped = io.BytesIO()
    with zipfile.ZipFile(swapped, "w") as zf:
        zf.writestr(B.JSON_NAME, json.dumps(bundle))
        zf.writestr(B.XLSX_NAME, xlsx + b"x")
    assert B.verify_file(swapped.getvalue()).problems == [f"{B.XLSX_NAME}: its content is not the one the bundle signed"]
    assert not B.verify_file(b"not a bundle").ok

    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    good.write_bytes(data)
    bad.write_bytes(swapped.getvalue())
    call_command("bankside_verify_statement", str(good))
    assert "OK" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        call_command("bankside_verify_statement", str(bad))
    assert "FAIL" in capsys.readouterr().out

    out = tmp_path / "m1.json"
    call_command("bankside_statement_bundle", "--account", "A-M1", "--date", "2026-11-20", "--previous", "1",
                 "--out", str(out))
    assert B.verify_file(out.read_bytes()).ok


@pytest.mark.django_db(transaction=True)
def test_a_bundle_follows_the_readers_scope(world, make_role, make_user):
    unit2 = make_user("unit2", roles=[make_role("U2", [F_.STATEMENT_VIEW], rules=[("agency", "values", ["990002"])])])
    with pytest.raises(NotFound):
        B.build_bundle(user=unit2, account_no="A-M1", day=DAY)
    assert B.verify_bundle(B.build_bundle(user=unit2, account_no="A-M2", day=DAY)).ok
    st = selectors.statement(user=world.reader, account_no="A-M1", day=DAY)
    assert st.line_count == 6


@pytest.mark.django_db(transaction=True)
def test_a_statement_too_long_for_one_bundle_is_refused(world, monkeypatch):
    monkeypatch.setattr(B, "MAX_BUNDLE_LINES", 5)
    with pytest.raises(ValidationFailed) as exc:
        B.build_bundle(user=world.reader, account_no="A-M1", day=DAY)
    assert exc.value.code == "bankside.bundle_too_large" and "6 行" in exc.value.message
    assert B.verify_bundle(B.build_bundle(user=world.reader, account_no="C1", day=DAY)).ok  # 5 lines


@pytest.mark.django_db(transaction=True)
def test_bundles_with_exception_cases_verify_and_a_case_line_is_checked(world):
    from fmis.transfers.models import LedgerTx

    assert list(LedgerTx.objects.filter(tx_id__in=world.cases).values_list("reason", flat=True)) == ["", "", ""]
    day = dt.date(2026, 11, 21)
    expected = {"A-M1": {"bank.increase", "bank.decrease"}, "C1": {"bank.increase", "bank.decrease"},
                "EXT": {"bank.core_debit"}, "BGL-CNY": {"bank.increase", "bank.decrease"}}
    bundles = {}
    for account, kinds in expected.items():
        bundles[account] = bundle = B.build_bundle(user=world.reader, account_no=account, day=day)
        assert {ln["kind"] for ln in bundle["lines"]} == kinds
        check = B.verify_bundle(bundle)
        assert check.ok, (account, check.problems)
        s = bundle["statement"]
        assert statements.reconcile_with_ledger(account, s["first_day"], s["last_day"]) == []
    m1 = bundles["A-M1"]["statement"]
    assert (m1["increase"], m1["decrease"]) == (400 + 300, 2_000)
    # the case's payment or authorisation is proven with it; a line claimed for another payee is caught
    c1 = copy.deepcopy(bundles["C1"])
    assert any(ln["ref"] in world.cases for ln in c1["lines"])
    c1["statement"]["account_no"] = "C2"
    found = B.verify_bundle(_resign(c1)).problems
    assert any("opening transaction is for another account" in p for p in found)
    ext = copy.deepcopy(bundles["EXT"])
    ext["lines"][0]["core_serial"] = "FORGED"
    assert any("core serial" in p for p in B.verify_bundle(_resign(ext)).problems)


@pytest.mark.django_db(transaction=True)
def test_the_statement_screen_and_api_give_the_signed_bundle_and_it_verifies(world, client):
    client.force_login(world.reader)
    base = f"account=A-M1&date={DAY.isoformat()}&previous=1"
    page = client.get(f"/bankside/statements/?{base}").content.decode()
    assert 'data-testid="statement-bundle"' in page
    r = client.get(f"/bankside/statements/?{base}&export=bundle")
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    assert B.verify_file(r.content).ok
    api = client.get(f"/api/v1/bankside/statements/bundle?account=A-M1&date={DAY.isoformat()}&previous_days=1")
    assert api.status_code == 200
    check = B.verify_bundle(api.json())
    assert check.ok, check.problems
    # out of scope: the same answer as an unknown account
    assert client.get("/api/v1/bankside/statements/bundle?account=NOPE&date=2026-11-20").status_code == 404
