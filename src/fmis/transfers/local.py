"""This installation's link to the ledger: its orderer, its local node, the outbox sender.

The local node's database is the installation's own (Django's ``default``), where migration 0001
created the node's tables and the single-node orderer's tables. ``FMIS_CHAIN_ORDERER`` selects
another orderer: ``pg:<dsn>`` for a single-node orderer elsewhere, or ``factory:<module>:<callable>``
with ``FMIS_CHAIN_ORDERER_CONFIG`` (JSON keyword arguments), e.g. the NATS JetStream orderer.
"""

from __future__ import annotations

import base64
import json
import os
import threading

from fmis.platform import outbox
from fmis.transfers.ledger import dbutil
from fmis.transfers.ledger import envelope as env
from fmis.transfers.ledger.node import Node, NodeBusy
from fmis.transfers.ledger.noded import make_orderer
from fmis.transfers.ledger.ordering import Orderer

TOPIC = "transfers.ledger"
_lock = threading.Lock()
_orderer: Orderer | None = None


def orderer_from_spec(spec: str, config: dict | None = None) -> Orderer:
    """``pg:<dsn>`` or ``factory:<module>:<callable>`` (called with `config` as keyword arguments)."""
    return make_orderer(spec, config)


def local_dsn() -> str:
    return dbutil.django_dsn()


def orderer() -> Orderer:
    global _orderer
    with _lock:
        if _orderer is None:
            spec = os.environ.get("FMIS_CHAIN_ORDERER") or f"pg:{local_dsn()}"
            config = json.loads(os.environ.get("FMIS_CHAIN_ORDERER_CONFIG") or "{}")
            _orderer = orderer_from_spec(spec, config)
        return _orderer


def reset() -> None:
    """Forget the cached orderer (tests, or after the database changed)."""
    global _orderer
    with _lock:
        if _orderer is not None:
            _orderer.close()
        _orderer = None


def node_signer() -> env.Signer | None:
    from fmis.transfers.keys import unseal
    from fmis.transfers.models import ConsortiumConfig, MemberKey

    cfg = ConsortiumConfig.objects.first()
    if cfg is None or not cfg.node_cert_id:
        return None
    key = MemberKey.objects.filter(cert_id=cfg.node_cert_id).first()
    if key is None:
        return None
    return env.Signer(key.cert_id, key.suite, unseal(key.private_key))


def project_bankside(block: int, writes: dict, movements: list) -> None:
    """After the local node commits a block: project its bank-side results (idempotent)."""
    if not any(k.startswith("bank/") for k in writes) and not any(mv.kind.startswith("bank.")
                                                                  for _, _, mv in movements):
        return
    from fmis.bankside.projection import project_block

    project_block(block=block, writes=writes, movements=movements)


def apply_pending(*, max_seconds: float = 30.0) -> bool:
    """Run the local node in this process until it has applied what is in the order, projecting
    the bank-side results of every block it commits.

    Returns False when a node process already runs on this database (it applies the order itself).
    """
    try:
        node = Node(dsn=local_dsn(), orderer=orderer(), signer=node_signer(), cut_after=0.0,
                    after_commit=project_bankside)
    except NodeBusy:
        return False
    try:
        node.catch_up(idle_rounds=2, timeout=0.02, max_seconds=max_seconds)
    finally:
        node.close()
    return True


def flush() -> tuple[int, bool]:
    """Deliver pending ledger submissions, then let the local node apply them."""
    sent, _ = outbox.deliver(topic=TOPIC, limit=1000)
    return sent, apply_pending()


def register_sender() -> None:
    """Ledger submissions leave the outbox in batches: one round trip to the ordering service for
    up to 500 envelopes (idempotent on their message ids, so a batch sent twice is ordered once)."""

    @outbox.register_batch_sender(TOPIC, size=500)
    def send(messages) -> list:
        items = [(base64.b64decode(m.payload["wire"]), m.payload["msg_id"]) for m in messages]
        o = orderer()
        submit_many = getattr(o, "submit_many", None)
        if submit_many is not None:
            submit_many(items)
            return [None] * len(items)
        out: list = []
        for wire, msg_id in items:
            try:
                o.submit(wire, msg_id=msg_id)
                out.append(None)
            except Exception as exc:  # noqa: BLE001 - recorded on that message, which is retried
                out.append(exc)
        return out
