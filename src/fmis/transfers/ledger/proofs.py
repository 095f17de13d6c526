"""Receipts: a transaction, its inclusion proof and a co-signed checkpoint, verifiable offline.

A receipt is a JSON document::

    {"format": "fmis-transfers-receipt/1", "consortium": ..., "hash": "sha256"|"sm3", "quorum": n,
     "ca_certificate": PEM,
     "transaction": {"block": n, "log_index": i, "envelope": b64, "valid": bool, "reason": code,
                     "creator_certificate": PEM | null},
     "inclusion": {"tree_size": s, "path": [hex, ...]},
     "checkpoint": {"tree_size": s, "root": hex,
                    "signatures": [{"signer": cert id, "certificate": PEM, "sig": b64}, ...]}}

``verify_receipt`` recomputes the leaf from the envelope and outcome, the root from the path,
and checks the co-signatures (certificates issued by the CA, a quorum of distinct members) and
the creator's signature on the transaction. The CA certificate is the trust anchor: pass the one
you trust (``ca_pem``) or check the fingerprint the verifier prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fmis.platform import crypto
from fmis.transfers.ledger import envelope as env
from fmis.transfers.ledger import membership, merkle
from fmis.transfers.ledger.encoding import EncodingError, b64, canonical, decode, unb64
from fmis.transfers.ledger.executor import TxResult, leaf_data
from fmis.transfers.ledger.store import NodeStore

FORMAT = "fmis-transfers-receipt/1"


class ReceiptError(LookupError):
    pass


def _config(store: NodeStore) -> dict:
    genesis = store.genesis_wire()
    if genesis is None:
        raise ReceiptError("this node has no chain yet")
    return decode(genesis)["config"]


def quorum_checkpoint(store: NodeStore, *, at_least: int, quorum: int) -> int | None:
    """The smallest tree size >= at_least with a quorum of co-signatures matching this node's log."""
    row = store.conn.execute(
        "SELECT c.tree_size FROM transfers_cosign c JOIN transfers_block b "
        "ON b.log_size = c.tree_size AND b.log_root = c.root WHERE c.tree_size >= %s "
        "GROUP BY c.tree_size HAVING count(*) >= %s ORDER BY c.tree_size LIMIT 1", (at_least, quorum)).fetchone()
    return row[0] if row else None


def inclusion_path(store: NodeStore, hasher: merkle.Hasher, index: int, size: int) -> list[bytes]:
    ranges = merkle.inclusion_ranges(index, size)
    perfect = store.range_oracle(ranges)
    return [merkle.range_hash(hasher, a, b, perfect) for a, b in ranges]


def consistency_path(store: NodeStore, hasher: merkle.Hasher, old: int, new: int) -> list[bytes]:
    ranges = merkle.consistency_ranges(old, new)
    perfect = store.range_oracle(ranges)
    return [merkle.range_hash(hasher, a, b, perfect) for a, b in ranges]


def tree_root(store: NodeStore, hasher: merkle.Hasher, size: int) -> bytes:
    if size == 0:
        return hasher.empty()
    perfect = store.range_oracle([(0, size)])
    return merkle.range_hash(hasher, 0, size, perfect)


def build_receipt(conn, tx_id: str) -> dict:
    """The receipt of transaction `tx_id` (its first occurrence) from a node's database."""
    store = NodeStore(conn)
    config = _config(store)
    hasher = merkle.Hasher(config["hash"])
    row = conn.execute("SELECT log_index, block_number, envelope, valid, reason, creator FROM transfers_tx "
                       "WHERE tx_id = %s ORDER BY log_index LIMIT 1", (tx_id,)).fetchone()
    if row is None:
        raise ReceiptError("no such transaction on this node")
    index, block, wire, valid, reason, creator = row
    size = quorum_checkpoint(store, at_least=index + 1, quorum=config["quorum"])
    if size is None:
        raise ReceiptError("no checkpoint covering this transaction has a quorum of co-signatures yet")
    root = bytes(conn.execute("SELECT log_root FROM transfers_block WHERE log_size = %s LIMIT 1",
                              (size,)).fetchone()[0])
    sigs = conn.execute("SELECT c.signer, c.signature, m.certificate FROM transfers_cosign c "
                        "JOIN transfers_member m ON m.cert_id = c.signer WHERE c.tree_size = %s AND c.root = %s "
                        "ORDER BY c.signer", (size, root)).fetchall()
    cert = conn.execute("SELECT certificate FROM transfers_member WHERE cert_id = %s", (creator,)).fetchone()
    conn.commit()
    path = inclusion_path(store, hasher, index, size)
    conn.commit()
    return {
        "format": FORMAT, "consortium": config["consortium"], "hash": config["hash"], "quorum": config["quorum"],
        "ca_certificate": config["ca_certificate"],
        "transaction": {"tx_id": tx_id, "block": block, "log_index": index, "envelope": b64(bytes(wire)),
                        "valid": valid, "reason": reason, "creator_certificate": cert[0] if cert else None},
        "inclusion": {"tree_size": size, "path": [p.hex() for p in path]},
        "checkpoint": {"tree_size": size, "root": root.hex(),
                       "signatures": [{"signer": s, "sig": b64(bytes(sig)), "certificate": pem}
                                      for s, sig, pem in sigs]},
    }


@dataclass
class ReceiptCheck:
    ok: bool
    problems: list[str] = field(default_factory=list)
    tx_id: str = ""
    ca_fingerprint: str = ""
    signers: list[str] = field(default_factory=list)


def verify_receipt(receipt: dict, *, ca_pem: str | None = None, min_quorum: int = 1) -> ReceiptCheck:
    out = ReceiptCheck(False)
    try:
        if receipt.get("format") != FORMAT:
            out.problems.append("not a receipt of this format")
            return out
        hash_name = receipt["hash"]
        hasher = merkle.Hasher(hash_name)
        ca = ca_pem or receipt["ca_certificate"]
        if ca_pem is not None and receipt["ca_certificate"].strip() != ca_pem.strip():
            out.problems.append("the receipt names another CA than the trusted one")
        out.ca_fingerprint = membership.certificate_id("sha256", ca)
        t, inc, cp = receipt["transaction"], receipt["inclusion"], receipt["checkpoint"]
        wire = unb64(t["envelope"])
        kind, tx = env.parse(wire, hash_name)
        if kind != "tx":
            out.problems.append("the envelope is not a transaction")
            return out
        out.tx_id = tx.tx_id
        if t.get("tx_id") not in (None, tx.tx_id):
            out.problems.append("the transaction id does not match the envelope")
        result = TxResult(0, wire, tx.tx_id, "", "", "", bool(t["valid"]), t["reason"])
        leaf = hasher.leaf(leaf_data(t["block"], result))
        size, root = cp["tree_size"], bytes.fromhex(cp["root"])
        if inc["tree_size"] != size:
            out.problems.append("the proof is for another tree size than the checkpoint")
        path = [bytes.fromhex(p) for p in inc["path"]]
        if not merkle.verify_inclusion(hasher, t["log_index"], size, leaf, path, root):
            out.problems.append("the inclusion proof does not lead to the checkpoint's root")
        # the creator's signature
        if tx.creator == membership.CA_CREATOR:
            ok = crypto.verify("ed25519", membership.ca_public_key(ca), tx.body_bytes, tx.signature)
        elif t.get("creator_certificate"):
            ident = membership.read_certificate(t["creator_certificate"], ca)
            ok = (membership.certificate_id(hash_name, t["creator_certificate"]) == tx.creator
                  and crypto.verify(ident.suite, ident.public_key, tx.body_bytes, tx.signature))
        else:
            ok = False
        if not ok and t["valid"]:
            out.problems.append("the creator's signature on the transaction does not verify")
        # the co-signatures
        data = env.checkpoint_bytes(receipt["consortium"], size, root)
        good = set()
        for s in cp["signatures"]:
            try:
                ident = membership.read_certificate(s["certificate"], ca)
            except membership.MembershipError:
                out.problems.append(f"co-signer {s['signer'][:16]}: certificate not from the CA")
                continue
            if membership.certificate_id(hash_name, s["certificate"]) != s["signer"]:
                out.problems.append(f"co-signer {s['signer'][:16]}: certificate id mismatch")
                continue
            if crypto.verify(ident.suite, ident.public_key, data, unb64(s["sig"])):
                good.add(s["signer"])
            else:
                out.problems.append(f"co-signer {s['signer'][:16]}: signature does not verify")
        out.signers = sorted(good)
        needed = max(int(receipt["quorum"]), min_quorum)
        if len(good) < needed:
            out.problems.append(f"{len(good)} valid co-signatures, {needed} needed")
    except (KeyError, TypeError, ValueError, EncodingError, membership.MembershipError) as exc:
        out.problems.append(f"malformed receipt: {exc}")
    out.ok = not out.problems
    return out


def receipt_bytes(receipt: dict) -> bytes:
    return canonical(receipt)
