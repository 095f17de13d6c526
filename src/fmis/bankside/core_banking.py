"""A simulated traditional core-banking system (银行传统核心) for the bank-side flow.

The branches of seed 004 that leave the ledger go through it: the debit of a merchant that lacks
the management function, and the payout (退款) that clears a suspense booking to a customer that
lacks it. It is deterministic (core serial numbers count up; no clock, no randomness) and
idempotent on the request id: repeating a request returns the recorded result without applying
it again, and reusing a request id for another request is refused. Every result is recorded in
``journal``; a failed request is a result too (status ``failed`` with a code), not an exception.

``payment_args`` and ``refund_args`` build the contract arguments that carry a result onto the
ledger (``bankside.pay`` for the traditional path, ``bankside.refund_suspense``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


class CoreConflict(Exception):
    """A request id reused for a different request."""

    def __init__(self, request_id: str):
        super().__init__(f"core.request_conflict: request {request_id} was already used for another request")
        self.code = "core.request_conflict"
        self.request_id = request_id


@dataclass
class CoreAccount:
    account_no: str
    currency: str
    balance: int = 0
    frozen: bool = False


@dataclass(frozen=True)
class CoreResult:
    request_id: str
    operation: str  # debit / credit / refund
    account_no: str
    amount: int
    currency: str
    status: str  # ok / failed
    core_serial: str
    code: str
    message: str

    def as_args(self) -> dict:
        """The ``core`` argument of the bank-side contracts."""
        return {"request_id": self.request_id, "status": self.status, "core_serial": self.core_serial,
                "message": self.message, "amount": self.amount}


@dataclass
class CoreBanking:
    bank_code: str
    accounts: dict[str, CoreAccount] = field(default_factory=dict)
    journal: list[CoreResult] = field(default_factory=list)
    _by_request: dict[str, tuple[tuple, CoreResult]] = field(default_factory=dict)
    _refunded: dict[str, str] = field(default_factory=dict)
    _seq: int = 0

    def open(self, account_no: str, *, currency: str = "CNY", balance: int = 0) -> CoreAccount:
        if account_no in self.accounts:
            raise ValueError(f"core account {account_no} already exists")
        if balance < 0:
            raise ValueError("an opening balance cannot be negative")
        self.accounts[account_no] = acct = CoreAccount(account_no, currency, balance)
        return acct

    def balance(self, account_no: str) -> int:
        return self.accounts[account_no].balance

    def debit(self, *, request_id: str, account_no: str, amount: int, currency: str) -> CoreResult:
        return self._apply("debit", request_id, account_no, amount, currency)

    def credit(self, *, request_id: str, account_no: str, amount: int, currency: str) -> CoreResult:
        return self._apply("credit", request_id, account_no, amount, currency)

    def refund(self, *, request_id: str, original_request_id: str) -> CoreResult:
        """Reverse an earlier successful debit (credit the same account with the same amount), once."""
        key = ("refund", original_request_id)
        done = self._by_request.get(request_id)
        if done is not None:
            if done[0] != key:
                raise CoreConflict(request_id)
            return done[1]
        orig = self._by_request.get(original_request_id)
        if orig is None or orig[1].operation != "debit" or orig[1].status != "ok":
            return self._record(request_id, key, "refund", "", 0, "", "failed", "core.refund_no_debit",
                                f"no successful debit {original_request_id} to refund")
        d = orig[1]
        if original_request_id in self._refunded:
            return self._record(request_id, key, "refund", d.account_no, d.amount, d.currency, "failed",
                                "core.already_refunded",
                                f"debit {original_request_id} was refunded by {self._refunded[original_request_id]}")
        self.accounts[d.account_no].balance += d.amount
        self._refunded[original_request_id] = request_id
        return self._record(request_id, key, "refund", d.account_no, d.amount, d.currency, "ok", "", "")

    def _apply(self, op: str, request_id: str, account_no: str, amount: int, currency: str) -> CoreResult:
        key = (op, account_no, amount, currency)
        done = self._by_request.get(request_id)
        if done is not None:
            if done[0] != key:
                raise CoreConflict(request_id)
            return done[1]
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return self._record(request_id, key, op, account_no, amount, currency, "failed", "core.amount_invalid",
                                "amount must be a positive integer in fen")
        acct = self.accounts.get(account_no)
        if acct is None:
            return self._record(request_id, key, op, account_no, amount, currency, "failed", "core.account_unknown",
                                f"account {account_no} is not held at bank {self.bank_code}")
        if acct.currency != currency:
            return self._record(request_id, key, op, account_no, amount, currency, "failed",
                                "core.currency_mismatch", f"account {account_no} is in {acct.currency}")
        if acct.frozen:
            return self._record(request_id, key, op, account_no, amount, currency, "failed", "core.account_frozen",
                                f"account {account_no} is frozen")
        if op == "debit":
            if acct.balance < amount:
                return self._record(request_id, key, op, account_no, amount, currency, "failed",
                                    "core.insufficient_funds", f"account {account_no} has {acct.balance} fen")
            acct.balance -= amount
        else:
            acct.balance += amount
        return self._record(request_id, key, op, account_no, amount, currency, "ok", "", "")

    def _record(self, request_id: str, key: tuple, op: str, account_no: str, amount: int, currency: str,
                status: str, code: str, message: str) -> CoreResult:
        serial = ""
        if status == "ok":
            self._seq += 1
            serial = f"{self.bank_code}C{self._seq:010d}"
        result = CoreResult(request_id, op, account_no, amount, currency, status, serial, code, message)
        self._by_request[request_id] = (key, result)
        self.journal.append(result)
        return result


def payment_args(core: CoreBanking, args: dict, *, merchant_account: str) -> dict:
    """Traditional path (the merchant lacks the management function): debit the merchant's core
    account first, then the payment carries the result onto the ledger. Request id = the bank serial,
    so a retried payment never debits twice."""
    result = core.debit(request_id=f"pay-{args['bank_serial']}", account_no=merchant_account,
                        amount=args["amount"], currency=args["currency"])
    return {**args, "core": result.as_args()}


def refund_args(core: CoreBanking, payment: dict, *, day: str) -> dict:
    """Suspense path: pay the customer out of the bank's suspense account through the core, and
    give the arguments of ``bankside.refund_suspense`` (request id = the payment id)."""
    result = core.credit(request_id=f"refund-{payment['id']}", account_no=payment["payee_account"],
                         amount=payment["amount"], currency=payment["currency"])
    return {"payment": payment["id"], "date": day, "core": result.as_args()}
