"""The bank-side contracts run by the consortium's real executor (signed transactions, roles, one
block of many payments for one merchant account), enabled by the consortium's genesis."""

from __future__ import annotations

import pytest

from fmis.bankside import statements
from fmis.transfers.ledger.consortium import MemberSpec, create_consortium
from fmis.transfers.ledger.executor import Executor, Seen, StateView

MEMBERS = [MemberSpec("990000", "示例省财政厅", "990000", "province", "finance"),
           MemberSpec("B001", "示例代理银行", "990000", "province", "bank")]


BANKSIDE_MODULES = ["fmis.transfers.ledger.contracts", "fmis.bankside.contracts"]


@pytest.fixture(scope="module")
def consortium():
    return create_consortium(consortium="bankside-test", name="代理银行测试联盟", members=MEMBERS, block_max_txs=500,
                             contract_modules=BANKSIDE_MODULES)


class Chain:
    def __init__(self, consortium):
        self.c = consortium
        self.ex = Executor(consortium.config)
        self.store: dict[str, dict] = dict(self.ex.genesis_writes())
        self.number = 0
        self.results: list = []

    def block(self, calls: list[tuple[str, str, dict]]) -> list:
        self.number += 1
        txs = [self.c.tx(self.c.member(who).signer, fn, args) for who, fn, args in calls]
        view = StateView(lambda keys: {k: self.store[k] for k in keys if k in self.store})
        out = self.ex.execute(self.number, 1_700_000_000_000 + self.number,
                              [(i, t.wire) for i, t in enumerate(txs)], view, Seen(lambda pairs: {}))
        self.store.update(view.take_writes())
        self.results += out
        return out

    def movements(self) -> list:
        return [mv for r in self.results if r.valid for mv in r.movements]


def pay(n: int, amount: int, **over) -> dict:
    args = {"voucher_id": f"V{n}", "merchant_no": "M1", "business_type": "utilities", "budget_type": "water",
            "bank_code": "B001", "bank_serial": f"S{n}", "payee_account": "C1", "payee_name": "自来水公司",
            "amount": amount, "currency": "CNY", "date": "2026-11-20", "time": "09:00:00"}
    return {**args, **over}


def test_many_payments_in_one_block_never_overdraw_and_statements_reconcile(consortium):
    chain = Chain(consortium)
    setup = chain.block([
        ("990000", "bankside.define_business_type", {"code": "utilities", "name": "水电费", "budget_types": ["water"]}),
        ("B001", "bankside.register_merchant", {"merchant_no": "M1", "name": "一号单位", "agency_code": "990001",
                                                "agency_name": "一号单位", "account_no": "A-M1", "currency": "CNY",
                                                "managed": True}),
        ("B001", "bankside.open_account", {"account_no": "C1", "name": "自来水公司", "kind": "customer",
                                           "merchant_no": "M1", "currency": "CNY", "managed": True}),
        ("990000", "bankside.set_rule", {"merchant_no": "M1", "business_type": "utilities"}),
        ("B001", "bankside.fund", {"account_no": "A-M1", "amount": 100_000, "currency": "CNY", "reference": "Q1",
                                   "date": "2026-11-19"}),
    ])
    assert [(r.valid, r.reason) for r in setup] == [(True, "")] * 5
    amounts = [(n * 7919) % 5_000 + 1 for n in range(80)]  # 80 payments, about 200,000 fen asked
    out = chain.block([("B001", "bankside.pay", pay(n, a)) for n, a in enumerate(amounts)]
                      + [("B001", "bankside.pay", pay(999, 1, bank_serial="S0")),  # duplicate serial
                         ("990000", "bankside.pay", pay(1000, 1))])  # a finance member cannot pay
    valid = [a for a, r in zip(amounts, out, strict=False) if r.valid]
    assert {r.reason for r in out[:80] if not r.valid} == {"bank.insufficient_funds"}
    assert (out[80].reason, out[81].reason) == ("bank.duplicate_serial", "role.forbidden")
    balance = chain.store["bank/account/A-M1"]["balance"]
    assert balance >= 0 and balance == 100_000 - sum(valid) and balance < min(a for a, r in
                                                                             zip(amounts, out, strict=False)
                                                                             if not r.valid)
    assert chain.store["bank/account/C1"]["balance"] == sum(valid)
    records = [v for k, v in chain.store.items() if k.startswith(("bank/payment/", "bank/funding/"))]
    assert len(records) == 1 + len(valid)
    for account in ("A-M1", "C1"):
        st = statements.account_statement(chain.movements(), account_no=account, day="2026-11-20", previous_days=1)
        assert st.closing == chain.store[f"bank/account/{account}"]["balance"]
        assert statements.reconcile(st, records) == []


def test_a_consortium_without_the_bankside_module_records_bank_transactions_as_invalid():
    plain = create_consortium(consortium="bankside-off", name="未启用代理银行合约的联盟", members=MEMBERS)
    assert plain.config["contract_modules"] == ["fmis.transfers.ledger.contracts"]
    chain = Chain(plain)
    before = dict(chain.store)
    out = chain.block([("B001", "bankside.register_merchant", {"merchant_no": "M1", "name": "一号单位",
                                                               "agency_code": "990001", "agency_name": "一号单位",
                                                               "account_no": "A-M1", "currency": "CNY",
                                                               "managed": True}),
                       ("990000", "transfers.steal", {})])
    assert [(r.valid, r.reason) for r in out] == [(False, "contract.not_enabled"), (False, "contract.unknown")]
    assert "fmis.bankside.contracts" in out[0].detail and "contract_modules" in out[0].detail
    assert out[0].nonce  # the nonce is spent like any refused transaction's
    assert chain.store == before and out[0].movements == []


def test_the_genesis_contract_modules_are_checked():
    from fmis.transfers.ledger.executor import ContractConfigError, Executor

    for bad in (["fmis.bankside.contracts"], ["fmis.transfers.ledger.contracts", "os"],
                ["fmis.transfers.ledger.contracts", "fmis.transfers.ledger.contracts"]):
        with pytest.raises(ContractConfigError):
            create_consortium(consortium="bad", name="配置错误", members=MEMBERS, contract_modules=bad)
    legacy = create_consortium(consortium="legacy", name="旧联盟", members=MEMBERS)
    config = {k: v for k, v in legacy.config.items() if k != "contract_modules"}  # a genesis from before the list
    ex = Executor(config)
    assert set(ex.contracts.functions) == {"membership.admit", "membership.revoke", "transfers.allocate",
                                           "transfers.receive", "transfers.expend", "transfers.recover",
                                           "transfers.correct"}
    view = StateView(lambda keys: {k: v for k, v in ex.genesis_writes().items() if k in keys})
    tx = legacy.tx(legacy.member("B001").signer, "bankside.pay", {"voucher_id": "V1"})
    [r] = ex.execute(1, 0, [(1, tx.wire)], view, Seen(lambda pairs: {}))
    assert (r.valid, r.reason, r.detail) == (False, "contract.unknown", "no function bankside.pay")
