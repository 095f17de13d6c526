"""The ordering service interface of the consortium ledger.

An orderer gives every submitted envelope one place in a single total order; every node reads the
same sequence and cuts the same blocks from it. Two implementations: the single-node orderer on the
node's PostgreSQL (the embedded default) and NATS JetStream (a replicated stream on a 3-server
cluster; an envelope sent alone has its own id as the message id, envelopes sent together share
one message, a bundle with an id of its own, so that re-submission is de-duplicated).

The orderer does not look inside an envelope: signed transactions and block-cut markers are both
opaque bytes to it. Validation is the nodes' business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Ordered:
    """One envelope at its place in the total order."""

    seq: int  # position in the order: strictly increasing (consecutive from 1 on the PostgreSQL orderer;
    #           stream sequence × 10,000 + place in a bundle on NATS)
    msg_id: str  # the submitter's id (transaction id or marker id)
    data: bytes  # the envelope exactly as submitted
    time_ms: int  # the ordering side's timestamp (milliseconds since the epoch)


class OrderingError(Exception):
    """The orderer could not accept or deliver messages (unreachable, no quorum, timed out)."""


@runtime_checkable
class Orderer(Protocol):
    def submit(self, data: bytes, *, msg_id: str, timeout: float = 10.0) -> int:
        """Append an envelope and return its position once the order is durable.

        Idempotent on ``msg_id``: submitting the same id again returns the first position and
        appends nothing (within the orderer's de-duplication window; a copy that gets in anyway is
        a replay, which every node records as invalid)."""

    def read(self, *, after: int, max_count: int = 1000, timeout: float = 1.0) -> list[Ordered]:
        """Up to ``max_count`` envelopes with ``seq > after``, in order; ``after`` is 0 or a position
        read before. Waits up to ``timeout`` seconds for the first one and returns an empty list if
        none arrived."""

    def last_seq(self) -> int:
        """The position of the last envelope in the order (0 when empty)."""

    def close(self) -> None:
        """Release connections; the orderer is not used afterwards."""
