"""Bank-side contracts on real nodes: enabled by the genesis, kept out of the transfer projections,
replayed by ``verify``, and projected by this installation's local node."""

from __future__ import annotations

import pytest

from fmis.transfers.ledger.consortium import MemberSpec, create_consortium
from fmis.transfers.ledger.node import Node
from fmis.transfers.ledger.verify import verify_node
from fmis.transfers.tests.conftest import Chain

MEMBERS = [MemberSpec("990000", "示例省财政厅", "990000", "province", "finance"),
           MemberSpec("B001", "示例代理银行", "990000", "province", "bank")]
MODULES = ["fmis.transfers.ledger.contracts", "fmis.bankside.contracts"]


def setup_calls(account: str = "A-M1") -> list[tuple[str, str, dict]]:
    return [
        ("990000", "bankside.define_business_type", {"code": "utilities", "name": "水电费", "budget_types": ["water"]}),
        ("B001", "bankside.register_merchant", {"merchant_no": "M1", "name": "一号单位", "agency_code": "990001",
                                                "agency_name": "一号单位", "account_no": account, "currency": "CNY",
                                                "managed": True}),
        ("B001", "bankside.open_account", {"account_no": "C1", "name": "自来水公司", "kind": "customer",
                                           "merchant_no": "M1", "currency": "CNY", "managed": True}),
        ("990000", "bankside.set_rule", {"merchant_no": "M1", "business_type": "utilities"}),
        ("B001", "bankside.fund", {"account_no": account, "amount": 10_000, "currency": "CNY", "reference": "Q1",
                                   "date": "2026-11-19"}),
        ("B001", "bankside.pay", {"voucher_id": "V1", "merchant_no": "M1", "business_type": "utilities",
                                  "budget_type": "water", "bank_code": "B001", "bank_serial": "S1",
                                  "payee_account": "C1", "payee_name": "自来水公司", "amount": 2_500,
                                  "currency": "CNY", "date": "2026-11-20", "time": "09:00:00"}),
    ]


def _chain(consortium, make_db, **node_kw) -> Chain:
    chain = Chain(consortium, make_db, nodes=0)
    dsn = make_db("n0")
    chain.nodes.append(Node(dsn=dsn, orderer=chain.orderer, signer=consortium.members[0].signer, cut_after=0.0,
                            **node_kw))
    chain.node_dsns.append(dsn)
    return chain


def test_a_node_whose_genesis_lists_the_bankside_module_runs_it_and_verify_replays_it(make_db):
    c = create_consortium(consortium="bank-node", name="代理银行联盟", members=MEMBERS, contract_modules=MODULES)
    committed = []
    chain = _chain(c, make_db, after_commit=lambda block, writes, mvs: committed.append((block, writes, mvs)))
    try:
        txs = [chain.tx(who, fn, args) for who, fn, args in setup_calls()]
        chain.run(*txs)
        assert [chain.result(t)[:2] for t in txs] == [(True, "")] * len(txs)
        assert chain.row("SELECT count(*) FROM transfers_movement") == (0,)  # bank movements have their own tables
        assert chain.row("SELECT value->>'balance' FROM transfers_state WHERE key = 'bank/account/A-M1'") == ("7500",)
        [(block, writes, mvs)] = committed
        assert block == 1 and writes["bank/account/C1"]["balance"] == 2_500
        assert {mv.kind for _, _, mv in mvs} >= {"bank.increase", "bank.decrease"}
        assert all(tx in {t.tx_id for t in txs} for tx, _, _ in mvs)
        report = verify_node(chain.node_dsns[0])
        assert report.ok, report.mismatch
    finally:
        chain.close()


def test_a_node_whose_genesis_does_not_list_it_records_bank_transactions_as_invalid(make_db):
    c = create_consortium(consortium="plain-node", name="转移支付联盟", members=MEMBERS)
    chain = _chain(c, make_db)
    try:
        txs = [chain.tx(who, fn, args) for who, fn, args in setup_calls()]
        chain.run(*txs)
        for t in txs:
            valid, reason, detail = chain.result(t)
            assert (valid, reason) == (False, "contract.not_enabled")
            assert f"{t.function} belongs to fmis.bankside.contracts" in detail
        assert chain.row("SELECT count(*) FROM transfers_state WHERE key LIKE 'bank/%%'") == (0,)
        report = verify_node(chain.node_dsns[0])
        assert report.ok, report.mismatch
    finally:
        chain.close()


@pytest.mark.django_db(transaction=True)
def test_the_local_node_projects_bank_side_blocks(users):
    from fmis.bankside.models import Merchant, Payment, StatementLine
    from fmis.transfers import keys as keystore
    from fmis.transfers import local, services
    from fmis.transfers.ledger import envelope as env
    from fmis.transfers.ledger.encoding import decode
    from fmis.transfers.models import ConsortiumConfig, MemberKey, Movement
    from fmis.transfers.tests.conftest import _empty_ledger_tables

    local.reset()
    _empty_ledger_tables()
    try:
        founders = [services.Founder("990000", "示例省财政厅"), services.Founder("990000", "示例代理银行", role="bank")]
        cfg = services.create_consortium(user=users["prov"], consortium="990000-bank", name="示例省联盟", quorum=1,
                                         founders=founders, contract_modules=MODULES)
        assert decode(bytes(cfg.genesis))["config"]["contract_modules"] == MODULES
        local.flush()
        signers = {}
        for key in MemberKey.objects.all():
            signers["B001" if key.role == "bank" else key.identity_id] = env.Signer(
                key.cert_id, key.suite, keystore.unseal(key.private_key))
        for who, fn, args in setup_calls():
            tx = env.make_tx(signer=signers[who], consortium=cfg.consortium, hash_name=cfg.hash_name, function=fn,
                             args={**args, "bank_code": "BANK990000"} if "bank_code" in args else args)
            local.orderer().submit(tx.wire, msg_id=tx.tx_id)
        assert local.apply_pending() is True
        m = Merchant.objects.get(merchant_no="M1")
        assert (m.bank, str(m.balance)) == ("BANK990000", "75.00")
        assert str(Payment.objects.get().amount) == "25.00"
        assert StatementLine.objects.filter(account_no="C1").exists()
        assert not Movement.objects.exists()
        assert local.apply_pending() is True  # nothing new: the projection stays as it is
        assert Merchant.objects.count() == 1 and Payment.objects.count() == 1
        assert ConsortiumConfig.objects.count() == 1
    finally:
        local.reset()
        _empty_ledger_tables()
