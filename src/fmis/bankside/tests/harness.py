"""Execute the bank-side contracts directly, as the executor would, on an in-memory world state.

Writes go straight into the state dict (no overlay), so a contract that wrote before refusing
would show in the state: the tests compare snapshots to prove a refusal changes nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from fmis.bankside import contracts
from fmis.transfers.ledger.contracts import Call, Movement, Refused

FINANCE = {"identity_id": "990000", "organisation": "990000财政厅", "region": "990000", "level": "province",
           "role": "finance"}
CITY_FINANCE = {"identity_id": "990100", "organisation": "990100财政局", "region": "990100", "level": "city",
                "role": "finance"}
BANK = {"identity_id": "B001", "organisation": "B001", "region": "990000", "level": "province", "role": "bank"}
OTHER_BANK = {"identity_id": "B002", "organisation": "B002", "region": "990000", "level": "province",
              "role": "bank"}


@dataclass
class Harness:
    state: dict = field(default_factory=dict)
    movements: list[Movement] = field(default_factory=list)
    block: int = 0
    log: list[tuple[int, str, dict, list[Movement]]] = field(default_factory=list)  # block, tx, writes, movements

    def call(self, function: str, args: dict, member: dict) -> str:
        """Run one transaction; return its id. Raises ``Refused`` like the contract does."""
        if member["role"] not in contracts.ROLES[function]:
            raise Refused("role.forbidden", f"role {member['role']} may not call {function}")
        self.block += 1
        tx_id = f"{self.block:064x}"
        out: list[Movement] = []
        writes: dict[str, dict] = {}

        def put(key: str, value: dict) -> None:
            self.state[key] = value
            writes[key] = value

        call = Call(tx_id, copy.deepcopy(args), member["identity_id"], member, self.block, 1_700_000_000_000 + self.block,
                    {}, self.state.get, put, out)
        contracts.FUNCTIONS[function](call)
        self.movements.extend(out)
        self.log.append((self.block, tx_id, copy.deepcopy(writes), out))
        return tx_id

    def snapshot(self) -> tuple[dict, int]:
        return copy.deepcopy(self.state), len(self.movements)

    def balance(self, account_no: str) -> int:
        return self.state[f"bank/account/{account_no}"]["balance"]

    def payment(self, pid: str) -> dict:
        return self.state[f"bank/payment/{pid}"]

    def records(self) -> list[dict]:
        """Every record carrying bookkeeping results: payments, fundings and exception cases."""
        return [v for k, v in self.state.items() if k.startswith(("bank/payment/", "bank/funding/", "bank/case/"))]

    def case(self, cid: str) -> dict:
        return self.state[f"bank/case/{cid}"]


def payment_args(n: int, **over) -> dict:
    """Budget information for a utilities payment of merchant M1 to its customer C1."""
    args = {
        "voucher_id": f"V{n:06d}", "voucher_type": "PAY", "voucher_no": f"NO{n:06d}", "fund_nature": "111",
        "payment_method": "direct", "func_class": "2010301", "settlement_method": "transfer",
        "bank_code": "B001", "payee_account": "C1", "payee_name": "自来水公司", "taxpayer_id": "91990000X",
        "budget_type": "water", "business_type": "utilities", "purpose": "水费", "bank_serial": f"S{n:08d}",
        "amount": 10_000, "currency": "CNY", "rate": "1", "date": "2026-11-20", "time": "10:00:00",
        "merchant_no": "M1", "agency_code": "990001", "agency_name": "一号预算单位",
    }
    args.update(over)
    return args


def build_world() -> Harness:
    h = Harness()
    h.call("bankside.define_business_type", {"code": "utilities", "name": "水电费",
                                             "budget_types": ["water", "electricity"]}, FINANCE)
    h.call("bankside.define_business_type", {"code": "tax", "name": "个税", "budget_types": ["iit"]}, FINANCE)
    h.call("bankside.register_merchant", {"merchant_no": "M1", "name": "一号预算单位", "agency_code": "990001",
                                          "agency_name": "一号预算单位", "account_no": "A-M1", "currency": "CNY",
                                          "managed": True}, BANK)
    h.call("bankside.register_merchant", {"merchant_no": "M2", "name": "二号预算单位", "agency_code": "990002",
                                          "agency_name": "二号预算单位", "account_no": "A-M2", "currency": "CNY",
                                          "managed": False}, BANK)
    h.call("bankside.open_account", {"account_no": "C1", "name": "自来水公司", "kind": "customer",
                                     "merchant_no": "M1", "currency": "CNY", "managed": True}, BANK)
    h.call("bankside.open_account", {"account_no": "C2", "name": "电力公司", "kind": "customer",
                                     "merchant_no": "M1", "currency": "CNY", "managed": False}, BANK)
    h.call("bankside.open_account", {"account_no": "BGL-CNY", "name": "待清算款项", "kind": "suspense",
                                     "currency": "CNY"}, BANK)
    h.call("bankside.set_rule", {"merchant_no": "M1", "business_type": "utilities"}, FINANCE)
    h.call("bankside.set_rule", {"merchant_no": "M1", "business_type": "tax", "pre_application": "pre_application",
                                 "required_fields": ["taxpayer_id"]}, FINANCE)
    h.call("bankside.set_rule", {"merchant_no": "M2", "business_type": "utilities"}, FINANCE)
    h.call("bankside.fund", {"account_no": "A-M1", "amount": 1_000_000, "currency": "CNY", "reference": "Q-1",
                             "date": "2026-11-19"}, BANK)
    return h
