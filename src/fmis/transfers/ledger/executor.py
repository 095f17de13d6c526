"""Deterministic block execution, shared by the node (apply) and by ``verify`` (replay).

Given the ordered messages of one block and a view of the world state, produce for every
transaction its validity and reason, the state writes of the valid ones, the movements for the
projections, and the block's leaf hashes. Nothing here reads a clock, a random source or a
database directly: state comes through ``StateView``'s loader, replay protection through
``Seen``.
"""

from __future__ import annotations

import base64
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from fmis.platform import crypto
from fmis.transfers.ledger import contracts, membership
from fmis.transfers.ledger.encoding import MAX_SAFE_INT, EncodingError, b64, canonical, hash_bytes
from fmis.transfers.ledger.envelope import Tx, parse
from fmis.transfers.ledger.merkle import Hasher

# The contract modules a genesis configuration may name (``config["contract_modules"]``); a chain
# whose genesis names none runs the transfer contracts only. A genesis never makes a node import
# anything outside this list.
TRANSFERS_CONTRACTS = "fmis.transfers.ledger.contracts"
KNOWN_CONTRACT_MODULES = (TRANSFERS_CONTRACTS, "fmis.bankside.contracts")
DEFAULT_CONTRACT_MODULES = (TRANSFERS_CONTRACTS,)


class ContractConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ContractTables:
    """The function, role and argument-key tables built from a genesis's contract modules."""

    modules: tuple[str, ...]
    functions: dict[str, Callable]
    roles: dict[str, frozenset[str]]
    key_functions: dict[str, Callable[[str, dict], list[str]]]  # function code -> its module's arg_keys

    def arg_keys(self, function: str, args) -> list[str]:
        keys = self.key_functions.get(function)
        return keys(function, args) if keys is not None and isinstance(args, dict) else []


def contract_modules(config: dict) -> tuple[str, ...]:
    """The contract modules named by a genesis configuration, checked (order kept, as written)."""
    names = config.get("contract_modules", list(DEFAULT_CONTRACT_MODULES))
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise ContractConfigError("contract_modules must be a list of module names")
    if len(set(names)) != len(names):
        raise ContractConfigError("contract_modules names a module twice")
    unknown = [n for n in names if n not in KNOWN_CONTRACT_MODULES]
    if unknown:
        raise ContractConfigError(f"unknown contract module(s): {', '.join(unknown)}")
    if TRANSFERS_CONTRACTS not in names:
        raise ContractConfigError(f"contract_modules must include {TRANSFERS_CONTRACTS} (membership)")
    return tuple(names)


def contract_module_of(function: str) -> str | None:
    """The known contract module that defines `function`, if any."""
    for name in KNOWN_CONTRACT_MODULES:
        if function in importlib.import_module(name).FUNCTIONS:
            return name
    return None


def build_contract_tables(config: dict) -> ContractTables:
    """Merge the modules' ``FUNCTIONS``/``ROLES``/``arg_keys``; a function defined twice is an error."""
    names = contract_modules(config)
    functions: dict[str, Callable] = {}
    roles: dict[str, frozenset[str]] = {}
    key_functions: dict[str, Callable] = {}
    for name in names:
        module = importlib.import_module(name)
        if set(module.FUNCTIONS) != set(module.ROLES):
            raise ContractConfigError(f"{name}: FUNCTIONS and ROLES name different functions")
        for code, fn in module.FUNCTIONS.items():
            if code in functions:
                raise ContractConfigError(f"function {code} is defined by more than one contract module")
            functions[code] = fn
            roles[code] = frozenset(module.ROLES[code])
            key_functions[code] = module.arg_keys
    return ContractTables(names, functions, roles, key_functions)


class StateView:
    """World state as seen while executing: committed values (loaded on demand) + this block's writes."""

    def __init__(self, loader: Callable[[list[str]], dict[str, dict]]):
        self.loader = loader
        self.cache: dict[str, dict | None] = {}
        self.writes: dict[str, dict] = {}

    def prefetch(self, keys: Iterable[str]) -> None:
        missing = [k for k in set(keys) if k not in self.cache and k not in self.writes]
        if missing:
            found = self.loader(missing)
            for k in missing:
                self.cache[k] = found.get(k)

    def get(self, key: str) -> dict | None:
        if key in self.writes:
            return self.writes[key]
        if key not in self.cache:
            self.prefetch([key])
        return self.cache[key]

    def take_writes(self) -> dict[str, dict]:
        w, self.writes = self.writes, {}
        self.cache.update(w)
        return w


class Seen:
    """The (creator, nonce) pairs already spent on the ledger, with the transaction that spent each.

    A pair is spent only by a transaction whose signature and certificate were good, so a forged
    copy of a transaction can neither burn its nonce nor make the genuine one look like a replay."""

    def __init__(self, nonce_lookup: Callable[[list[tuple[str, str]]], dict[tuple[str, str], str]]):
        self.nonce_lookup = nonce_lookup
        self.nonces: dict[tuple[str, str], str] = {}

    def prefetch(self, txs: list[Tx]) -> None:
        self.nonces.update(self.nonce_lookup([(t.creator, t.body["nonce"]) for t in txs]))


@dataclass
class TxResult:
    seq: int
    wire: bytes
    tx_id: str
    contract: str
    function: str
    creator: str
    valid: bool
    reason: str = ""
    detail: str = ""
    movements: list = field(default_factory=list)
    nonce: str = ""  # set when this transaction spent its (creator, nonce) pair


def leaf_data(block: int, result: TxResult) -> bytes:
    """What the Merkle log commits to for one transaction: its exact envelope and its outcome,
    ``canonical({"block": …, "envelope": base64, "reason": …, "valid": …})``. The usual case is
    written directly in the canonical form (keys in order, base64 needs no escaping, the reason
    encoded as ``canonical`` encodes a string); the tests compare it with ``canonical``."""
    valid, reason = result.valid, result.reason
    if type(block) is int and -MAX_SAFE_INT <= block <= MAX_SAFE_INT and type(reason) is str \
            and (valid is True or valid is False):
        return b'{"block":%d,"envelope":"%s","reason":%s,"valid":%s}' % (
            block, base64.b64encode(result.wire), canonical(reason), b"true" if valid else b"false")
    return canonical({"block": block, "envelope": b64(result.wire), "valid": valid, "reason": reason})


def block_header(*, number: int, prev_hash: bytes, tx_root: bytes, tx_count: int, log_size: int, log_root: bytes,
                 state_root: bytes, time_ms: int, first_seq: int, last_seq: int) -> dict:
    return {"number": number, "prev_hash": prev_hash.hex(), "tx_root": tx_root.hex(), "tx_count": tx_count,
            "log_size": log_size, "log_root": log_root.hex(), "state_root": state_root.hex(), "time_ms": time_ms,
            "first_seq": first_seq, "last_seq": last_seq}


def block_hash(hash_name: str, header: dict) -> bytes:
    return hash_bytes(hash_name, canonical(header))


def state_root(hash_name: str, prev_root: bytes, writes: dict[str, dict]) -> bytes:
    """The state commitment: a hash chain over each block's sorted write set."""
    delta = canonical([[k, writes[k]] for k in sorted(writes)])
    return hash_bytes(hash_name, prev_root + hash_bytes(hash_name, delta))


class Executor:
    def __init__(self, config: dict):
        self.config = config
        self.hash_name = config["hash"]
        self.hasher = Hasher(self.hash_name)
        self.consortium = config["consortium"]
        self.ca_public_key = membership.ca_public_key(config["ca_certificate"])
        self.contracts = build_contract_tables(config)

    def genesis_writes(self) -> dict[str, dict]:
        """The initial members named in the genesis configuration."""
        writes: dict[str, dict] = {}
        for pem in self.config.get("members", []):
            identity = membership.read_certificate(pem, self.config["ca_certificate"])
            cid = membership.certificate_id(self.hash_name, pem)
            writes[f"member/{cid}"] = {**identity.as_json(), "certificate": pem, "admitted_block": 0,
                                       "revoked_block": None, "revoke_reason": ""}
        return writes

    def execute(self, number: int, time_ms: int, messages: list[tuple[int, bytes]], state: StateView,
                seen: Seen) -> list[TxResult]:
        parsed: list[tuple[int, bytes, Tx | None, str]] = []
        for seq, wire in messages:
            try:
                kind, obj = parse(wire, self.hash_name)
                if kind != "tx":
                    raise EncodingError(f"a {kind} message is not a transaction")
                parsed.append((seq, wire, obj, ""))
            except EncodingError as exc:
                parsed.append((seq, wire, None, str(exc)))
        txs = [t for _, _, t, _ in parsed if t is not None]
        seen.prefetch(txs)
        keys = {f"member/{t.creator}" for t in txs}
        for t in txs:
            keys.update(self.contracts.arg_keys(t.function, t.body["args"]))
        state.prefetch(keys)
        out = []
        for seq, wire, tx, error in parsed:
            if tx is None:
                out.append(TxResult(seq, wire, hash_bytes(self.hash_name, wire).hex(), "", "", "", False,
                                    "envelope.malformed", error))
                continue
            out.append(self._execute_one(number, time_ms, seq, tx, state, seen))
        return out

    def _execute_one(self, number: int, time_ms: int, seq: int, tx: Tx, state: StateView, seen: Seen) -> TxResult:
        body = tx.body
        r = TxResult(seq, tx.wire, tx.tx_id, body["contract"], body["function"], body["creator"], False)

        def refuse(code: str, message: str) -> TxResult:
            r.reason, r.detail = code, message
            return r

        if body["consortium"] != self.consortium:
            return refuse("tx.wrong_consortium", "the transaction names another consortium")
        if tx.creator == membership.CA_CREATOR:
            member, role, public_key, suite = None, "ca", self.ca_public_key, "ed25519"
        else:
            member = state.get(f"member/{tx.creator}")
            if member is None:
                return refuse("certificate.unknown", "the creator's certificate is not a member's")
            role, public_key, suite = member["role"], bytes.fromhex(member["public_key"]), member["suite"]
        if not crypto.verify(suite, public_key, tx.body_bytes, tx.signature):
            return refuse("signature.invalid", "the signature does not verify with the creator's key")
        if member is not None and member["revoked_block"] is not None:
            return refuse("certificate.revoked", f"certificate revoked in block {member['revoked_block']}")
        key = (tx.creator, body["nonce"])
        spent_by = seen.nonces.get(key)
        if spent_by == tx.tx_id:
            return refuse("tx.replayed", "this transaction is already on the ledger")
        if spent_by is not None:
            return refuse("nonce.reused", "this creator already used this nonce")
        seen.nonces[key] = tx.tx_id
        r.nonce = body["nonce"]  # spent from here on, whatever the contract decides
        fn = self.contracts.functions.get(tx.function)
        if fn is None:
            if "contract_modules" in self.config:
                owner = contract_module_of(tx.function)
                if owner is not None:
                    return refuse("contract.not_enabled", f"{tx.function} belongs to {owner}, which this "
                                                          "consortium's genesis does not list in contract_modules")
            # a genesis without the list (created before it existed) keeps its original reasons
            return refuse("contract.unknown", f"no function {tx.function}")
        if role not in self.contracts.roles[tx.function]:
            return refuse("role.forbidden", f"role {role} may not call {tx.function}")
        overlay: dict[str, dict] = {}
        movements: list[contracts.Movement] = []

        def get(k: str) -> dict | None:
            return overlay[k] if k in overlay else state.get(k)

        call = contracts.Call(tx.tx_id, body["args"], tx.creator, member, number, time_ms, self.config, get,
                              overlay.__setitem__, movements)
        try:
            fn(call)
        except contracts.Refused as exc:
            return refuse(exc.code, exc.message)
        state.writes.update(overlay)
        r.valid, r.movements = True, movements
        return r
