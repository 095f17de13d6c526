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


# --- persisted core banking --------------------------------------------------------------------


class DbCoreBanking:
    """The simulated core of one bank on the tables ``CoreAccount`` / ``CoreEntry``: the same
    methods and results as ``CoreBanking``. A debit is one conditional UPDATE (``balance >= amount``,
    plus the balance CHECK), never read-then-write; a request and its result are one row, unique per
    (bank, request id), written in the same database transaction as the balance change, so a
    repeated request returns the recorded result and concurrent repeats apply once. Core serials
    come from the entry's id (a database sequence), unique per bank."""

    def __init__(self, bank_code: str):
        self.bank_code = bank_code

    # accounts

    def open(self, account_no: str, *, currency: str = "CNY", balance: int = 0, name: str = ""):
        from django.db import IntegrityError, transaction

        from fmis.bankside.models import CoreAccount as Row
        from fmis.platform.money import from_fen

        if balance < 0:
            raise ValueError("an opening balance cannot be negative")
        try:
            with transaction.atomic():
                return Row.objects.create(bank=self.bank_code, account_no=account_no, name=name or account_no,
                                          currency=currency, balance=from_fen(balance))
        except IntegrityError:
            raise ValueError(f"core account {account_no} already exists") from None

    def balance(self, account_no: str) -> int:
        from fmis.bankside.models import CoreAccount as Row
        from fmis.platform.money import to_fen

        return to_fen(Row.objects.get(bank=self.bank_code, account_no=account_no).balance)

    # requests

    def debit(self, *, request_id: str, account_no: str, amount: int, currency: str) -> CoreResult:
        return self._apply("debit", request_id, account_no, amount, currency)

    def credit(self, *, request_id: str, account_no: str, amount: int, currency: str) -> CoreResult:
        return self._apply("credit", request_id, account_no, amount, currency)

    def refund(self, *, request_id: str, original_request_id: str) -> CoreResult:
        """Reverse an earlier successful debit (credit the same account with the same amount), once."""
        from django.db import IntegrityError, transaction
        from django.db.models import F

        from fmis.bankside.models import CoreAccount as Row
        from fmis.bankside.models import CoreEntry
        from fmis.platform.money import to_fen

        key = ("refund", "", 0, "", original_request_id)
        done = self._recorded(request_id, key)
        if done is not None:
            return done
        orig = CoreEntry.objects.filter(bank=self.bank_code, request_id=original_request_id).first()
        if orig is None or orig.operation != "debit" or orig.status != "ok":
            return self._insert(request_id, key, "refund", "", 0, "", "failed", "core.refund_no_debit",
                                f"no successful debit {original_request_id} to refund", original=original_request_id)
        amount = to_fen(orig.amount)
        try:
            with transaction.atomic():
                result = self._insert(request_id, key, "refund", orig.account_no, amount, orig.currency, "ok", "", "",
                                      original=original_request_id, atomic=False)
                Row.objects.filter(bank=self.bank_code, account_no=orig.account_no).update(
                    balance=F("balance") + orig.amount)
                return result
        except IntegrityError:
            done = self._recorded(request_id, key)
            if done is not None:
                return done
            by = (CoreEntry.objects.filter(bank=self.bank_code, operation="refund", status="ok",
                                           original_request_id=original_request_id)
                  .values_list("request_id", flat=True).first())
            return self._insert(request_id, key, "refund", orig.account_no, amount, orig.currency, "failed",
                                "core.already_refunded", f"debit {original_request_id} was refunded by {by}",
                                original=original_request_id)

    def _apply(self, op: str, request_id: str, account_no: str, amount: int, currency: str) -> CoreResult:
        from django.db import IntegrityError, transaction
        from django.db.models import F

        from fmis.bankside.models import CoreAccount as Row
        from fmis.platform.money import from_fen

        key = (op, account_no, amount, currency, "")
        done = self._recorded(request_id, key)
        if done is not None:
            return done
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return self._insert(request_id, key, op, account_no, 0, currency, "failed", "core.amount_invalid",
                                "amount must be a positive integer in fen")
        value = from_fen(amount)
        rows = Row.objects.filter(bank=self.bank_code, account_no=account_no, currency=currency, frozen=False)
        try:
            with transaction.atomic():
                if op == "debit":
                    n = rows.filter(balance__gte=value).update(balance=F("balance") - value)
                else:
                    n = rows.update(balance=F("balance") + value)
                if n == 1:
                    return self._insert(request_id, key, op, account_no, amount, currency, "ok", "", "", atomic=False)
        except IntegrityError:
            done = self._recorded(request_id, key)
            if done is None:
                raise
            return done
        code, message = self._explain(account_no, currency)
        return self._insert(request_id, key, op, account_no, amount, currency, "failed", code, message)

    def _explain(self, account_no: str, currency: str) -> tuple[str, str]:
        from fmis.bankside.models import CoreAccount as Row

        acct = Row.objects.filter(bank=self.bank_code, account_no=account_no).first()
        if acct is None:
            return "core.account_unknown", f"account {account_no} is not held at bank {self.bank_code}"
        if acct.currency != currency:
            return "core.currency_mismatch", f"account {account_no} is in {acct.currency}"
        if acct.frozen:
            return "core.account_frozen", f"account {account_no} is frozen"
        return "core.insufficient_funds", f"account {account_no} has {acct.balance} yuan"

    # the journal

    @staticmethod
    def _result(e) -> CoreResult:
        from fmis.platform.money import to_fen

        return CoreResult(e.request_id, e.operation, e.account_no, to_fen(e.amount), e.currency, e.status,
                          e.core_serial, e.code, e.message)

    def _recorded(self, request_id: str, key: tuple) -> CoreResult | None:
        from fmis.bankside.models import CoreEntry
        from fmis.platform.money import to_fen

        e = CoreEntry.objects.filter(bank=self.bank_code, request_id=request_id).first()
        if e is None:
            return None
        op, account_no, amount, currency, original = key
        if e.operation == "refund" or op == "refund":
            same = e.operation == op and e.original_request_id == original
        else:
            same = (e.operation, e.account_no, e.currency) == (op, account_no, currency) and (
                to_fen(e.amount) == amount or (e.code == "core.amount_invalid" and e.amount == 0))
        if not same:
            raise CoreConflict(request_id)
        return self._result(e)

    def _insert(self, request_id: str, key: tuple, op: str, account_no: str, amount: int, currency: str,
                status: str, code: str, message: str, *, original: str = "", atomic: bool = True) -> CoreResult:
        """Record a result; the core serial of a success is derived from the entry's own id. With
        ``atomic`` (a failure, nothing else to write), a concurrent repeat of the same request returns
        the row that won."""
        from django.db import IntegrityError, connection, transaction

        from fmis.bankside.models import CoreEntry
        from fmis.platform.money import from_fen

        def write() -> CoreResult:
            with connection.cursor() as cur:
                cur.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [CoreEntry._meta.db_table])
                pk = cur.fetchone()[0]
            serial = f"{self.bank_code}C{pk:010d}" if status == "ok" else ""
            e = CoreEntry.objects.create(
                id=pk, bank=self.bank_code, request_id=request_id, operation=op, account_no=account_no,
                amount=from_fen(amount if isinstance(amount, int) and not isinstance(amount, bool) else 0),
                currency=currency[:3], status=status, core_serial=serial, code=code, message=message[:200],
                original_request_id=original)
            return self._result(e)

        if not atomic:
            return write()
        try:
            with transaction.atomic():
                return write()
        except IntegrityError:
            done = self._recorded(request_id, key)
            if done is None:
                raise
            return done

    def journal(self):
        """The core journal of this bank, oldest first (a queryset of ``CoreEntry``)."""
        from fmis.bankside.models import CoreEntry

        return CoreEntry.objects.filter(bank=self.bank_code).order_by("id")


def db_core(bank_code: str) -> DbCoreBanking:
    """The persisted simulated core banking of `bank_code`."""
    return DbCoreBanking(bank_code)
