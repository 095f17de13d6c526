"""Signed statement bundles (签名对账单): one statement with the ledger's proof of every line.

A bundle is a JSON document::

    {"format": "fmis-bankside-statement/1", "consortium": ..., "hash": "sha256"|"sm3", "quorum": n,
     "ca_certificate": PEM,
     "statement": {"account_no", "first_day", "last_day", "opening", "increase", "decrease", "closing",
                   "core_debit", "core_credit", "line_count", "tree_size": N},       # amounts in fen
     "account_tx": id of the transaction that opened the account on the ledger | null,
     "lines": [{"date", "kind", "amount", "balance", "ref", "tx", "n", "party", "merchant",
                "serial", "core_serial"}, ...],
     "checkpoint": {"tree_size": N, "root": hex, "signatures": [{"signer", "certificate", "sig"}, ...]},
     "certificates": {cert id: PEM},                       # the transactions' creators
     "transactions": {tx id: {"block", "log_index", "envelope", "valid", "reason", "creator",
                              "path": [hex, ...]}},        # inclusion in the log of size N
     "attachments": {"statement.xlsx": hex hash} | {},
     "signature": {"signer": cert id, "certificate": PEM, "sig": b64}}

The transactions are those that emitted the lines, the payments that suspense refunds settle,
the payment or authorisation an exception case names, and the one that opened the account. Every inclusion path leads to the one co-signed checkpoint
(``fmis.transfers.ledger.proofs``: the receipt of the last transaction gives the checkpoint, the
others get their paths against the same tree size). The installation's node member key signs the
canonical JSON of everything but ``signature``.

``verify_bundle`` needs nothing but the bundle (and, to pin the trust anchor, the CA certificate):
it checks the signature, recomputes the totals from the lines, verifies each transaction as a
receipt against the checkpoint (inclusion, validity, creator's signature; the co-signatures once),
and checks that each line's account, amount, date and serial follow from its transaction's
arguments. ``LINE_CHECKS`` holds one check per contract function that emits statement lines.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fmis.bankside import statements
from fmis.platform import crypto
from fmis.platform.errors import Conflict, DomainError, ValidationFailed
from fmis.transfers.ledger import envelope as env
from fmis.transfers.ledger import membership, merkle, proofs
from fmis.transfers.ledger.encoding import EncodingError, b64, canonical, decode, hash_bytes, unb64
from fmis.transfers.ledger.store import NodeStore

FORMAT = "fmis-bankside-statement/1"
MAX_BUNDLE_LINES = 20_000
JSON_NAME = "statement.json"
XLSX_NAME = "statement.xlsx"
OPENING_FUNCTIONS = ("bankside.register_merchant", "bankside.open_account")
REFERRING_ARGS = ("payment", "authorisation")  # arguments of case transactions naming another transaction
HEADER_FIGURES = ("opening", "increase", "decrease", "closing", "core_debit", "core_credit", "line_count")


# --- building ----------------------------------------------------------------------------------------


def _line_json(ln: statements.Line) -> dict:
    return {"date": ln.date, "kind": ln.kind, "amount": ln.amount, "balance": ln.balance, "ref": ln.payment,
            "tx": ln.tx, "n": ln.n, "party": ln.party, "merchant": ln.merchant, "serial": ln.serial,
            "core_serial": ln.core_serial}


def _account_tx(conn, account_no: str, hash_name: str) -> str | None:
    """The transaction that opened `account_no` on the ledger (None: not a ledger account)."""
    row = conn.execute("SELECT value->>'block' FROM transfers_state WHERE key = %s",
                       (f"bank/account/{account_no}",)).fetchone()
    if row is None or row[0] is None:
        return None
    rows = conn.execute("SELECT tx_id, envelope FROM transfers_tx WHERE block_number = %s AND valid "
                        "AND contract || '.' || function = ANY(%s) ORDER BY log_index",
                        (int(row[0]), list(OPENING_FUNCTIONS))).fetchall()
    for tx_id, wire in rows:
        _, tx = env.parse(bytes(wire), hash_name)
        if tx.body["args"].get("account_no") == account_no:
            return tx_id
    return None


def _transactions(conn, ids: set[str]) -> dict[str, tuple]:
    """tx id -> (tx id, log index, block, envelope, valid, reason, creator) of its first occurrence."""
    if not ids:
        return {}
    rows = conn.execute(
        "SELECT DISTINCT ON (tx_id) tx_id, log_index, block_number, envelope, valid, reason, creator "
        "FROM transfers_tx WHERE tx_id = ANY(%s) ORDER BY tx_id, log_index", (sorted(ids),)).fetchall()
    return {r[0]: r for r in rows}


def _connect():
    import psycopg

    from fmis.transfers.local import local_dsn

    return psycopg.connect(local_dsn())


def bundle_for_statement(st: statements.ProjectedStatement, *, attachments: dict[str, str] | None = None,
                         conn=None) -> dict:
    """The signed bundle of a projected statement (read from this installation's node database,
    or `conn`'s). Raises ``Conflict`` when the lines' transactions are not yet covered by a
    checkpoint with a quorum of co-signatures, ``DomainError`` without a node key."""
    from fmis.transfers.local import node_signer

    if st.line_count > MAX_BUNDLE_LINES:
        raise ValidationFailed("bankside.bundle_too_large",
                               f"对账单明细 {st.line_count} 行，超过签名对账单上限 {MAX_BUNDLE_LINES} 行，请缩短期间",
                               field="previous_days")
    signer = node_signer()
    if signer is None:
        raise DomainError("bankside.no_node_key", "本系统没有节点成员密钥，无法签署对账单")
    lines = [_line_json(ln) for ln in st.iter_lines()]
    own = conn is None
    conn = _connect() if own else conn
    try:
        return _build(conn, st, lines, signer, attachments or {})
    finally:
        if own:
            conn.close()


def _build(conn, st, lines: list[dict], signer: env.Signer, attachments: dict[str, str]) -> dict:
    store = NodeStore(conn)
    genesis = store.genesis_wire()
    if genesis is None:
        raise DomainError("bankside.no_chain", "本系统的账本节点尚无区块，无法签署对账单")
    config = decode(genesis)["config"]
    hash_name = config["hash"]
    account_tx = _account_tx(conn, st.account_no, hash_name)
    wanted = {ln["tx"] for ln in lines} | {ln["ref"] for ln in lines} | ({account_tx} if account_tx else set())
    found = _transactions(conn, wanted)
    # a case line is proven with the payment or the authorisation the case names
    named = set()
    for r in found.values():
        args = env.parse(bytes(r[3]), hash_name)[1].body["args"]
        named |= {args[k] for k in REFERRING_ARGS if isinstance(args.get(k), str)}
    found.update(_transactions(conn, named - set(found)))
    missing = {ln["tx"] for ln in lines} - set(found)
    if missing:
        raise Conflict("bankside.bundle_tx_missing",
                       f"对账单明细所依据的交易 {min(missing)[:16]} 不在本节点的账本中，请稍后再试")
    conn.commit()
    if found:
        last_tx = max(found.values(), key=lambda r: r[1])[0]
        try:
            receipt = proofs.build_receipt(conn, last_tx)
        except proofs.ReceiptError as exc:
            raise Conflict("bankside.bundle_not_checkpointed",
                           f"对账单所含交易尚未形成多方共同签署的检查点，请稍后再试（{exc}）") from None
        checkpoint = receipt["checkpoint"]
        size = checkpoint["tree_size"]
    else:
        head = store.head()
        size = (proofs.quorum_checkpoint(store, at_least=head.log_size, quorum=config["quorum"])
                or proofs.quorum_checkpoint(store, at_least=0, quorum=config["quorum"]) or 0)
        checkpoint = {"tree_size": size, "root": proofs.tree_root(store, merkle.Hasher(hash_name), size).hex(),
                      "signatures": []}
    hasher = merkle.Hasher(hash_name)
    ranges = {tx_id: merkle.inclusion_ranges(r[1], size) for tx_id, r in found.items()}
    perfect = store.range_oracle([rg for rgs in ranges.values() for rg in rgs])
    creators = sorted({r[6] for r in found.values()} | {signer.creator})
    certs = dict(conn.execute("SELECT cert_id, certificate FROM transfers_member WHERE cert_id = ANY(%s)",
                              (creators,)).fetchall())
    conn.commit()
    if signer.creator not in certs:
        raise DomainError("bankside.node_not_member", "本节点的成员证书不在账本中，无法签署对账单")
    transactions = {
        tx_id: {"block": r[2], "log_index": r[1], "envelope": b64(bytes(r[3])), "valid": r[4], "reason": r[5],
                "creator": r[6], "path": [merkle.range_hash(hasher, a, b, perfect).hex() for a, b in ranges[tx_id]]}
        for tx_id, r in sorted(found.items())}
    body = {
        "format": FORMAT, "consortium": config["consortium"], "hash": hash_name, "quorum": config["quorum"],
        "ca_certificate": config["ca_certificate"],
        "statement": {**st.header(), "tree_size": size},
        "account_tx": account_tx,
        "lines": lines,
        "checkpoint": checkpoint,
        "certificates": {c: certs[c] for c in sorted({r[6] for r in found.values()}) if c in certs},
        "transactions": transactions,
        "attachments": dict(sorted(attachments.items())),
    }
    sig = signer.sign(canonical(body))
    return {**body, "signature": {"signer": signer.creator, "certificate": certs[signer.creator], "sig": b64(sig)}}


def build_bundle(*, user, account_no: str, day: dt.date, previous_days: int = 0) -> dict:
    """The signed bundle (JSON document) of the statement `user` sees for `account_no`."""
    from fmis.bankside import selectors

    st = selectors.statement(user=user, account_no=account_no, day=day, previous_days=previous_days)
    return bundle_for_statement(st)


def zip_for_statement(st: statements.ProjectedStatement, *, conn=None) -> bytes:
    """A .zip with the statement's xlsx and its signed bundle, which names the xlsx's hash."""
    xlsx = statements.xlsx_bytes(st)
    own = conn is None
    conn = _connect() if own else conn
    try:
        genesis = NodeStore(conn).genesis_wire()
        hash_name = decode(genesis)["config"]["hash"] if genesis else "sha256"
        conn.commit()
        bundle = bundle_for_statement(st, attachments={XLSX_NAME: hash_bytes(hash_name, xlsx).hex()}, conn=conn)
    finally:
        if own:
            conn.close()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(JSON_NAME, bundle_bytes(bundle))
        zf.writestr(XLSX_NAME, xlsx)
    return buf.getvalue()


def build_bundle_zip(*, user, account_no: str, day: dt.date, previous_days: int = 0) -> tuple[str, bytes]:
    """(file name, .zip bytes) of the signed statement `user` sees, with its xlsx."""
    from fmis.bankside import selectors

    st = selectors.statement(user=user, account_no=account_no, day=day, previous_days=previous_days)
    return f"签名对账单-{st.account_no}-{st.first_day}-{st.last_day}.zip", zip_for_statement(st)


def bundle_filename(bundle: dict) -> str:
    s = bundle["statement"]
    return f"签名对账单-{s['account_no']}-{s['first_day']}-{s['last_day']}.json"


def bundle_bytes(bundle: dict) -> bytes:
    """The bundle as a JSON file (UTF-8; any layout verifies: the signature is over canonical JSON)."""
    return json.dumps(bundle, ensure_ascii=False, indent=1).encode("utf-8")


# --- verifying ---------------------------------------------------------------------------------------


@dataclass
class BundleCheck:
    ok: bool
    problems: list[str] = field(default_factory=list)
    account_no: str = ""
    first_day: str = ""
    last_day: str = ""
    tree_size: int = 0
    lines: int = 0
    transactions: int = 0
    signer: str = ""
    ca_fingerprint: str = ""
    co_signers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Account:
    """What the bundle proves about the statement's account: how it was opened on the ledger."""

    account_no: str
    kind: str  # merchant / customer / suspense; "" when the account is not on the ledger
    merchant_no: str


@dataclass
class _Ctx:
    account: Account
    txs: dict[str, tuple[str, dict]]  # tx id -> (function, args) of the bundle's transactions


LineCheck = Callable[[dict, str, dict, _Ctx], list[str]]
LINE_CHECKS: dict[str, LineCheck] = {}


def line_check(function: str) -> Callable[[LineCheck], LineCheck]:
    """Register the check of the lines a contract function emits: ``check(line, tx id, args, ctx)``
    returns what does not follow from the transaction's arguments (empty: the line is right)."""

    def register(fn: LineCheck) -> LineCheck:
        LINE_CHECKS[function] = fn
        return fn

    return register


def _expect(out: list[str], what: str, line_value: Any, tx_value: Any) -> None:
    if line_value != tx_value:
        out.append(f"{what} {line_value!r} differs from the transaction's {tx_value!r}")


def _own_account(out: list[str], ctx: _Ctx, kind: str, merchant_no: str | None = None) -> None:
    acct = ctx.account
    if acct.kind != kind or (merchant_no is not None and acct.merchant_no != merchant_no):
        out.append(f"the account is not the {kind} account" + (f" of merchant {merchant_no}" if merchant_no else ""))


@line_check("bankside.pay")
def _check_pay(line: dict, tx_id: str, args: dict, ctx: _Ctx) -> list[str]:
    out: list[str] = []
    _expect(out, "ref", line["ref"], tx_id)
    _expect(out, "amount", line["amount"], args.get("amount"))
    _expect(out, "merchant", line["merchant"], args.get("merchant_no"))
    _expect(out, "date", line["date"], args.get("date"))
    _expect(out, "serial", line["serial"], args.get("bank_serial"))
    party, kind = line["party"], line["kind"]
    if party == "customer" and kind == "bank.increase":
        _expect(out, "account", ctx.account.account_no, args.get("payee_account"))
    elif party == "suspense" and kind == "bank.increase":
        _own_account(out, ctx, "suspense")
    elif party == "merchant" and kind == "bank.decrease":
        _own_account(out, ctx, "merchant", args.get("merchant_no"))
    elif party == "merchant" and kind == "bank.core_debit":
        _own_account(out, ctx, "merchant", args.get("merchant_no"))
        core = args.get("core") or {}
        _expect(out, "core serial", line["core_serial"], core.get("core_serial"))
    else:
        out.append(f"a payment emits no {kind} line for a {party} account")
    return out


@line_check("bankside.refund_suspense")
def _check_refund(line: dict, tx_id: str, args: dict, ctx: _Ctx) -> list[str]:
    out: list[str] = []
    core = args.get("core") or {}
    _expect(out, "ref", line["ref"], args.get("payment"))
    _expect(out, "amount", line["amount"], core.get("amount"))
    _expect(out, "date", line["date"], args.get("date"))
    paid = ctx.txs.get(line["ref"])
    if paid is None or paid[0] != "bankside.pay":
        out.append("the payment it refunds is not in the bundle")
        return out
    pay_args = paid[1]
    _expect(out, "amount", line["amount"], pay_args.get("amount"))
    _expect(out, "merchant", line["merchant"], pay_args.get("merchant_no"))
    _expect(out, "serial", line["serial"], pay_args.get("bank_serial"))
    party, kind = line["party"], line["kind"]
    if party == "suspense" and kind == "bank.decrease":
        _own_account(out, ctx, "suspense")
    elif party == "customer" and kind == "bank.core_credit":
        _expect(out, "account", ctx.account.account_no, pay_args.get("payee_account"))
        _expect(out, "core serial", line["core_serial"], core.get("core_serial"))
    elif party == "merchant" and kind == "bank.increase":
        _own_account(out, ctx, "merchant", pay_args.get("merchant_no"))
    else:
        out.append(f"a suspense refund emits no {kind} line for a {party} account")
    return out


@line_check("bankside.fund")
def _check_fund(line: dict, tx_id: str, args: dict, ctx: _Ctx) -> list[str]:
    out: list[str] = []
    _expect(out, "ref", line["ref"], tx_id)
    _expect(out, "account", ctx.account.account_no, args.get("account_no"))
    _expect(out, "amount", line["amount"], args.get("amount"))
    _expect(out, "date", line["date"], args.get("date"))
    _expect(out, "serial", line["serial"], args.get("reference"))
    if (line["party"], line["kind"]) != ("merchant", "bank.increase"):
        out.append(f"funds emit no {line['kind']} line for a {line['party']} account")
    return out


def _case_line(out: list[str], line: dict, tx_id: str, args: dict) -> None:
    """What every line of an exception case carries from the case's own arguments."""
    _expect(out, "ref", line["ref"], tx_id)
    _expect(out, "amount", line["amount"], args.get("amount"))
    _expect(out, "date", line["date"], args.get("date"))
    _expect(out, "serial", line["serial"], args.get("bank_serial"))
    if line["kind"] in statements.CORE_KINDS:
        _expect(out, "core serial", line["core_serial"], (args.get("core") or {}).get("core_serial"))


def _named(out: list[str], ctx: _Ctx, args: dict, name: str, function: str) -> dict | None:
    found = ctx.txs.get(args.get(name) or "")
    if found is None or found[0] != function:
        out.append(f"the {name} it refers to is not in the bundle")
        return None
    return found[1]


@line_check("bankside.return_payment")
@line_check("bankside.refund_mistaken")
def _check_give_back(line: dict, tx_id: str, args: dict, ctx: _Ctx) -> list[str]:
    """资金退回 / 错缴资金退回: the payee gives (part of) a payment back to the merchant."""
    out: list[str] = []
    _case_line(out, line, tx_id, args)
    paid = _named(out, ctx, args, "payment", "bankside.pay")
    if paid is None:
        return out
    _expect(out, "merchant", line["merchant"], paid.get("merchant_no"))
    party, kind = line["party"], line["kind"]
    if party == "customer" and kind in ("bank.decrease", "bank.core_debit"):
        _expect(out, "account", ctx.account.account_no, paid.get("payee_account"))
    elif party == "merchant" and kind in ("bank.increase", "bank.core_credit"):
        _own_account(out, ctx, "merchant", paid.get("merchant_no"))
    elif party == "suspense" and kind in statements.LEDGER_KINDS:
        _own_account(out, ctx, "suspense")
    else:
        out.append(f"a return emits no {kind} line for a {party} account")
    return out


@line_check("bankside.collect")
def _check_collect(line: dict, tx_id: str, args: dict, ctx: _Ctx) -> list[str]:
    """委托收款: the customer collects from the merchant under its authorisation."""
    out: list[str] = []
    _case_line(out, line, tx_id, args)
    auth = _named(out, ctx, args, "authorisation", "bankside.register_authorisation")
    if auth is None:
        return out
    _expect(out, "merchant", line["merchant"], auth.get("merchant_no"))
    party, kind = line["party"], line["kind"]
    if party == "merchant" and kind in ("bank.decrease", "bank.core_debit"):
        _own_account(out, ctx, "merchant", auth.get("merchant_no"))
    elif party == "customer" and kind in ("bank.increase", "bank.core_credit"):
        _expect(out, "account", ctx.account.account_no, auth.get("customer_account"))
    elif party == "suspense" and kind in statements.LEDGER_KINDS:
        _own_account(out, ctx, "suspense")
    else:
        out.append(f"a collection emits no {kind} line for a {party} account")
    return out


def _recompute(out: BundleCheck, header: dict, lines: list[dict]) -> None:
    """The header's totals from the lines; every line inside the period, each (tx, n) once."""
    totals = dict.fromkeys((*statements.LEDGER_KINDS, *statements.CORE_KINDS), 0)
    seen: set[tuple[str, int]] = set()
    for i, ln in enumerate(lines, 1):
        if ln["kind"] not in totals or not isinstance(ln["amount"], int) or ln["amount"] <= 0:
            out.problems.append(f"line {i}: not a statement line ({ln['kind']}, {ln['amount']!r})")
            continue
        if not header["first_day"] <= ln["date"] <= header["last_day"]:
            out.problems.append(f"line {i}: dated {ln['date']}, outside the statement's period")
        if (ln["tx"], ln["n"]) in seen:
            out.problems.append(f"line {i}: listed twice")
        seen.add((ln["tx"], ln["n"]))
        totals[ln["kind"]] += ln["amount"]
    got = {"increase": totals["bank.increase"], "decrease": totals["bank.decrease"],
           "core_debit": totals["bank.core_debit"], "core_credit": totals["bank.core_credit"],
           "line_count": len(lines)}
    got["closing"] = header["opening"] + got["increase"] - got["decrease"]
    for name, value in got.items():
        if header[name] != value:
            out.problems.append(f"{name}: the header says {header[name]}, the lines give {value}")


def _check_signature(out: BundleCheck, bundle: dict, ca: str, hash_name: str) -> None:
    s = bundle["signature"]
    try:
        ident = membership.read_certificate(s["certificate"], ca)
    except membership.MembershipError:
        out.problems.append("signature: the signer's certificate is not issued by the CA")
        return
    if membership.certificate_id(hash_name, s["certificate"]) != s["signer"]:
        out.problems.append("signature: the signer's certificate id does not match")
        return
    body = {k: v for k, v in bundle.items() if k != "signature"}
    if not crypto.verify(ident.suite, ident.public_key, canonical(body), unb64(s["sig"])):
        out.problems.append("signature: the installation's signature does not verify")
        return
    out.signer = f"{ident.organisation} ({s['signer'][:16]})"


def _verify_transactions(out: BundleCheck, bundle: dict, ca_pem: str | None) -> dict[str, tuple[str, dict]]:
    """Each transaction as a receipt against the bundle's checkpoint; returns (function, args) of
    those that verify and are valid on the ledger."""
    cp, txs, certs = bundle["checkpoint"], bundle["transactions"], bundle["certificates"]
    if bundle["statement"]["tree_size"] != cp["tree_size"]:
        out.problems.append("the header's tree size is not the checkpoint's")
    parsed: dict[str, tuple[str, dict]] = {}
    co_signed = False
    for tx_id, t in txs.items():
        receipt = {
            "format": proofs.FORMAT, "consortium": bundle["consortium"], "hash": bundle["hash"],
            "quorum": bundle["quorum"] if not co_signed else 0, "ca_certificate": bundle["ca_certificate"],
            "transaction": {"tx_id": tx_id, "block": t["block"], "log_index": t["log_index"],
                            "envelope": t["envelope"], "valid": t["valid"], "reason": t["reason"],
                            "creator_certificate": certs.get(t["creator"])},
            "inclusion": {"tree_size": cp["tree_size"], "path": t["path"]},
            # the co-signatures are checked with the first transaction; the root is the same for all
            "checkpoint": cp if not co_signed else {**cp, "signatures": []},
        }
        check = proofs.verify_receipt(receipt, ca_pem=ca_pem, min_quorum=0 if co_signed else 1)
        if not co_signed:
            out.co_signers = check.signers
            co_signed = True
        if not check.ok:
            out.problems += [f"transaction {tx_id[:16]}: {p}" for p in check.problems]
            continue
        if not t["valid"]:
            out.problems.append(f"transaction {tx_id[:16]}: the ledger recorded it as invalid ({t['reason']})")
            continue
        _, tx = env.parse(unb64(t["envelope"]), bundle["hash"])
        parsed[tx_id] = (tx.function, tx.body["args"])
    return parsed


def _account(bundle: dict, parsed: dict[str, tuple[str, dict]], out: BundleCheck) -> Account:
    account_no = bundle["statement"]["account_no"]
    tx_id = bundle.get("account_tx")
    if tx_id is None:
        return Account(account_no, "", "")
    if tx_id not in parsed:
        out.problems.append("the transaction that opened the account is not proven in the bundle")
        return Account(account_no, "", "")
    function, args = parsed[tx_id]
    if function not in OPENING_FUNCTIONS or args.get("account_no") != account_no:
        out.problems.append("the account's opening transaction is for another account")
        return Account(account_no, "", "")
    kind = "merchant" if function == "bankside.register_merchant" else str(args.get("kind", ""))
    return Account(account_no, kind, str(args.get("merchant_no", "")))


def verify_bundle(bundle: dict, *, ca_pem: str | None = None) -> BundleCheck:
    """Check a signed statement bundle offline (see the module's description); ``ok`` with no
    problems when everything holds. `ca_pem`: the consortium CA you trust (default: the bundle's)."""
    out = BundleCheck(False)
    try:
        if bundle.get("format") != FORMAT:
            out.problems.append("not a signed statement of this format")
            return out
        header, lines = bundle["statement"], bundle["lines"]
        out.account_no, out.first_day, out.last_day = header["account_no"], header["first_day"], header["last_day"]
        out.tree_size, out.lines, out.transactions = header["tree_size"], len(lines), len(bundle["transactions"])
        ca = ca_pem or bundle["ca_certificate"]
        if ca_pem is not None and bundle["ca_certificate"].strip() != ca_pem.strip():
            out.problems.append("the bundle names another CA than the trusted one")
        out.ca_fingerprint = membership.certificate_id("sha256", ca)
        _check_signature(out, bundle, ca, bundle["hash"])
        _recompute(out, header, lines)
        parsed = _verify_transactions(out, bundle, ca_pem)
        ctx = _Ctx(_account(bundle, parsed, out), parsed)
        for i, ln in enumerate(lines, 1):
            if ln["tx"] not in bundle["transactions"]:
                out.problems.append(f"line {i}: its transaction is not in the bundle")
                continue
            if ln["tx"] not in parsed:
                continue  # its transaction's problem is already reported
            function, args = parsed[ln["tx"]]
            check = LINE_CHECKS.get(function)
            if check is None:
                out.problems.append(f"line {i}: no check for lines of {function}")
                continue
            out.problems += [f"line {i}: {p}" for p in check(ln, ln["tx"], args, ctx)]
    except (KeyError, TypeError, ValueError, AttributeError, EncodingError, membership.MembershipError) as exc:
        out.problems.append(f"malformed bundle: {exc!r}")
    out.ok = not out.problems
    return out


def read_bundle_file(data: bytes) -> tuple[dict, dict[str, bytes]]:
    """(bundle, attachments by name) from a .json bundle or a .zip holding one."""
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if JSON_NAME not in names:
                raise ValueError(f"the archive holds no {JSON_NAME}")
            bundle = json.loads(zf.read(JSON_NAME))
            return bundle, {n: zf.read(n) for n in names - {JSON_NAME}}
    return json.loads(data), {}


def verify_file(data: bytes, *, ca_pem: str | None = None) -> BundleCheck:
    """``verify_bundle`` of a .json or .zip file's content; in a .zip, every attachment the bundle
    names must be there with the hash it names."""
    try:
        bundle, files = read_bundle_file(data)
    except (ValueError, zipfile.BadZipFile) as exc:
        return BundleCheck(False, [f"not a bundle file: {exc}"])
    out = verify_bundle(bundle, ca_pem=ca_pem)
    if files or data[:2] == b"PK":
        named = bundle.get("attachments") or {}
        for name, digest in sorted(named.items()):
            if name not in files:
                out.problems.append(f"{name}: missing from the archive")
            elif hash_bytes(bundle.get("hash", "sha256"), files[name]).hex() != digest:
                out.problems.append(f"{name}: its content is not the one the bundle signed")
        for name in sorted(set(files) - set(named)):
            out.problems.append(f"{name}: not named by the bundle")
        out.ok = not out.problems
    return out
