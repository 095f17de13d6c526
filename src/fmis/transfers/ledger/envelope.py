"""What goes through the ordering service: signed transactions and the nodes' control messages.

Every envelope is canonical JSON (RFC 8785) with a ``type``:

``tx``       ``{"type": "tx", "body": {...}, "sig": "<base64>"}``; the body holds consortium,
             contract, function, args, creator (certificate id, or ``ca`` for the membership
             service), nonce and timestamp (ms, informative); the signature is the creator's over
             the canonical body; the transaction id is the consortium hash of the canonical body.
``genesis``  ``{"type": "genesis", "config": {...}}``: the first message of the order.
``cut``      ``{"type": "cut", "block": n}``: a time-to-cut marker asking for block n to be cut.
``cosign``   ``{"type": "cosign", "tree_size": n, "root": hex, "signer": cert id, "sig": b64}``:
             a node's signature over a checkpoint.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from fmis.platform import crypto
from fmis.transfers.ledger.encoding import (
    EncodingError,
    b64,
    canonical,
    decode,
    decode_canonical,
    hash_bytes,
    unb64,
)

BODY_KEYS = {"consortium", "contract", "function", "args", "creator", "nonce", "timestamp"}


@dataclass(frozen=True)
class Signer:
    """A member's (or the CA's) key, held by the member; used to sign transactions and checkpoints."""

    creator: str  # certificate id, or "ca"
    suite: str
    private_key: bytes

    def sign(self, data: bytes) -> bytes:
        return crypto.sign(self.suite, self.private_key, data)


@dataclass(frozen=True)
class Tx:
    tx_id: str
    body: dict
    signature: bytes
    body_bytes: bytes
    wire: bytes

    @property
    def function(self) -> str:
        return f"{self.body['contract']}.{self.body['function']}"

    @property
    def creator(self) -> str:
        return self.body["creator"]


def make_tx(*, signer: Signer, consortium: str, hash_name: str, function: str, args: dict[str, Any],
            nonce: str | None = None, timestamp: int = 0) -> Tx:
    contract, _, fn = function.partition(".")
    body = {"consortium": consortium, "contract": contract, "function": fn, "args": args,
            "creator": signer.creator, "nonce": nonce or secrets.token_hex(16), "timestamp": int(timestamp)}
    body_bytes = canonical(body)
    sig = signer.sign(body_bytes)
    wire = canonical({"type": "tx", "body": body, "sig": b64(sig)})
    return Tx(hash_bytes(hash_name, body_bytes).hex(), body, sig, body_bytes, wire)


def tx_id_of(hash_name: str, body: dict) -> str:
    return hash_bytes(hash_name, canonical(body)).hex()


def parse(data: bytes, hash_name: str) -> tuple[str, Any]:
    """(type, object) of an ordered message; for a transaction the object is a ``Tx``.

    Raises EncodingError for anything malformed: the node records it as an invalid message.
    An envelope that is already canonical (as ``make_tx`` writes them) is parsed once and its
    signed body is the slice of it between ``{"body":`` and ``,"sig":``; any other is decoded
    strictly and its body re-encoded. Both give the same ``Tx``."""
    data = bytes(data)
    msg = decode_canonical(data)
    wire_is_canonical = msg is not None
    if msg is None:
        msg = decode(data)
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise EncodingError("message without a type")
    kind = msg["type"]
    if kind == "tx":
        body, sig = msg.get("body"), msg.get("sig")
        if set(msg) != {"type", "body", "sig"} or not isinstance(body, dict) or set(body) != BODY_KEYS:
            raise EncodingError("malformed transaction")
        if not all(isinstance(body[k], str) for k in ("consortium", "contract", "function", "creator", "nonce")):
            raise EncodingError("malformed transaction")
        if not isinstance(body["args"], dict) or not isinstance(body["timestamp"], int):
            raise EncodingError("malformed transaction")
        if not isinstance(sig, str):
            raise EncodingError("malformed signature")
        body_bytes = _body_of_canonical(data, sig) if wire_is_canonical else None
        if body_bytes is None:
            body_bytes = canonical(body)
        return kind, Tx(hash_bytes(hash_name, body_bytes).hex(), body, unb64(sig), body_bytes, data)
    if kind == "cut":
        if not isinstance(msg.get("block"), int):
            raise EncodingError("malformed marker")
        return kind, msg
    if kind == "cosign":
        if not (isinstance(msg.get("tree_size"), int) and isinstance(msg.get("root"), str)
                and isinstance(msg.get("signer"), str) and isinstance(msg.get("sig"), str)):
            raise EncodingError("malformed co-signature")
        return kind, msg
    if kind == "genesis":
        if not isinstance(msg.get("config"), dict):
            raise EncodingError("malformed genesis")
        return kind, msg
    raise EncodingError(f"unknown message type {kind!r}")


_TX_HEAD = b'{"body":'


def _body_of_canonical(data: bytes, sig: str) -> bytes | None:
    """canonical(body) cut out of a canonical transaction envelope: RFC 8785 encodes an object
    member by member, so the canonical envelope is ``{"body":`` + canonical(body) + ``,"sig":`` +
    the signature string + ``,"type":"tx"}``. A signature string that JSON escapes would not
    match the tail built here: the caller then encodes the body."""
    tail = b',"sig":"' + sig.encode() + b'","type":"tx"}'
    if data.startswith(_TX_HEAD) and data.endswith(tail) and len(data) > len(_TX_HEAD) + len(tail):
        return data[len(_TX_HEAD):len(data) - len(tail)]
    return None


def cut_marker(block: int, after_seq: int = 0) -> tuple[bytes, str]:
    """A marker asking for block `block` to be cut; `after_seq` (the last transaction the asker saw)
    makes the message id, so that nodes asking at the same point are de-duplicated while a later
    request is a new message."""
    return canonical({"type": "cut", "block": block}), f"cut-{block}-{after_seq}"


def checkpoint_bytes(consortium: str, tree_size: int, root: bytes) -> bytes:
    return canonical({"checkpoint": {"consortium": consortium, "tree_size": tree_size, "root": root.hex()}})


def cosign_message(signer: Signer, consortium: str, tree_size: int, root: bytes) -> tuple[bytes, str]:
    sig = signer.sign(checkpoint_bytes(consortium, tree_size, root))
    msg = {"type": "cosign", "tree_size": tree_size, "root": root.hex(), "signer": signer.creator, "sig": b64(sig)}
    return canonical(msg), f"cosign-{tree_size}-{signer.creator[:32]}"


def genesis_message(config: dict) -> tuple[bytes, str]:
    data = canonical({"type": "genesis", "config": config})
    return data, "genesis"
