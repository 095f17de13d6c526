"""The consortium's ordering service on NATS JetStream (a replicated stream on a 3-server cluster).

The stream's sequence is the order: the stream keeps every message (limits retention with no limits,
deletion and purging denied), so its sequence numbers are consecutive. Time comes from JetStream's
own timestamp of each message, so every node that reads the order sees the same time.

Envelopes submitted one at a time travel as one stream message each, the envelope's id as
``Nats-Msg-Id``: a re-submission inside the stream's duplicate window is acknowledged with the first
message's sequence and stored once. Envelopes submitted together (``submit_many``, or ``submit``
calls from several threads within ``linger`` of the client's previous message) travel as one
*bundle* message of up to ``BUNDLE_MAX`` envelopes, framed by length, with the header
``Fmis-Bundle`` (their count) and the bundle's own ``Nats-Msg-Id`` (a hash of its envelopes' ids), so
that a bundle published again after a lost acknowledgement is stored once. Every message costs the
servers, the submitter and each reading node far more than its bytes do (replication, the
acknowledgement, one delivery per node), so bundles are what lets the order carry thousands of
envelopes a second. An envelope's position in the order is ``stream sequence × SLOTS + its place
in the message`` (0 for a message of one envelope): positions increase strictly and say where to
resume reading. The client remembers the positions of the ids it had acknowledged, so submitting
one of them again returns its position; a copy that reaches the order in another message anyway
(another client, or after a submit that gave up) is a replay, which every node records as invalid.

nats-py is asynchronous; this class runs one event loop in a background thread and offers the
synchronous ``Orderer`` interface. Every wait has a timeout: an acknowledgement that never comes
(a server that died with the publish in flight) is retried with the same message id, which the
stream de-duplicates, until the submit's own deadline.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import hashlib
import ssl
import struct
import threading
import time
from collections.abc import Sequence
from typing import Self

import nats
from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import api
from nats.js.errors import APIError, NoStreamResponseError, NotFoundError

from fmis.transfers.ledger.ordering import Ordered, OrderingError
from fmis.transfers.ledger.tls import TlsFiles

MSG_ID = "Nats-Msg-Id"
BUNDLE = "Fmis-Bundle"  # header of a bundle message: how many envelopes it carries
SLOTS = 10_000  # positions per stream message
BUNDLE_MAX = 1_000  # envelopes per bundle (fewer than SLOTS)
BUNDLE_BYTES = 900_000  # bytes per bundle, under NATS's default max_payload of 1 MB
IN_FLIGHT = 8  # messages of ``submit`` calls awaiting their acknowledgement at once
ACKED_KEEP = 100_000  # acknowledged ids whose positions the client remembers
PIPELINE = 2000  # publishes in flight at once (nats-py allows 4,000 pending)
_FRAME = struct.Struct(">HI")  # id length, envelope length
_RETRYABLE = (NoStreamResponseError, NatsTimeout, asyncio.TimeoutError, TimeoutError, NoRespondersError,
              ConnectionClosedError, APIError)


def pack(items: Sequence[tuple[bytes, str]]) -> bytes:
    """A bundle's body: per envelope, the lengths of its id and data, the id, the data."""
    parts = []
    for data, msg_id in items:
        mid = msg_id.encode()
        parts += (_FRAME.pack(len(mid), len(data)), mid, data)
    return b"".join(parts)


def unpack(body: bytes, count: int) -> list[tuple[str, bytes]] | None:
    """(id, envelope) pairs of a bundle, or None if the body is not ``count`` whole frames."""
    out, at, end, size = [], 0, len(body), _FRAME.size
    try:
        while at < end:
            id_len, data_len = _FRAME.unpack_from(body, at)
            at += size
            msg_id = body[at:at + id_len].decode()
            at += id_len
            out.append((msg_id, body[at:at + data_len]))
            at += data_len
    except (struct.error, UnicodeDecodeError):
        return None
    return out if at == end and len(out) == count else None


def bundle_id(ids: Sequence[str]) -> str:
    return "bundle-" + hashlib.sha256("\n".join(ids).encode()).hexdigest()


def groups(items: Sequence[tuple[bytes, str]]) -> list[list[tuple[bytes, str]]]:
    """Consecutive runs of ``items`` that each fit one message."""
    out: list[list[tuple[bytes, str]]] = []
    size = 0
    for item in items:
        cost = len(item[0]) + len(item[1]) + _FRAME.size
        if not out or len(out[-1]) >= BUNDLE_MAX or (size + cost > BUNDLE_BYTES and out[-1]):
            out.append([])
            size = 0
        out[-1].append(item)
        size += cost
    return out


def message_for(group: Sequence[tuple[bytes, str]]) -> tuple[bytes, dict[str, str]]:
    """The stream message carrying ``group``: the envelope itself, or a bundle."""
    if len(group) == 1:
        data, msg_id = group[0]
        return data, {MSG_ID: msg_id}
    return pack(group), {MSG_ID: bundle_id([m for _, m in group]), BUNDLE: str(len(group))}


def expand(seq: int, data: bytes, headers: dict | None, time_ms: int) -> list[Ordered]:
    """The envelopes of stream message ``seq`` at their positions. A message that claims to be a
    bundle but is not well framed is one opaque envelope, as it would be without the header:
    every node sees the same bytes and decides alike."""
    headers = headers or {}
    count = headers.get(BUNDLE)
    base = seq * SLOTS
    if count is not None and count.isdigit() and 1 < int(count) <= BUNDLE_MAX:
        frames = unpack(data, int(count))
        if frames is not None:
            return [Ordered(seq=base + i, msg_id=mid, data=env, time_ms=time_ms)
                    for i, (mid, env) in enumerate(frames)]
    return [Ordered(seq=base, msg_id=headers.get(MSG_ID, ""), data=data, time_ms=time_ms)]


class _Pending:
    __slots__ = ("data", "deadline", "future", "msg_id")

    def __init__(self, data: bytes, msg_id: str, deadline: float):
        self.data, self.msg_id, self.deadline = data, msg_id, deadline
        self.future: concurrent.futures.Future = concurrent.futures.Future()


class NatsOrderer:
    """``Orderer`` over a JetStream stream. ``tls`` is the client's TlsFiles or an SSLContext."""

    def __init__(self, urls: Sequence[str] | str, *, stream: str = "LEDGER", subject: str = "ledger.order",
                 tls: TlsFiles | ssl.SSLContext | None = None, replicas: int = 3,
                 duplicate_window: float = 600.0, connect_timeout: float = 30.0, linger: float = 0.02):
        """``linger``: the least time between two messages of ``submit`` calls, in which concurrent
        calls gather into one bundle (a submit after a quiet spell leaves at once)."""
        self.linger = linger
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        self.stream, self.subject, self.replicas = stream, subject, replicas
        self.duplicate_window = duplicate_window
        self._tls = tls.client_context() if isinstance(tls, TlsFiles) else tls
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"nats-orderer-{stream}", daemon=True)
        self._thread.start()
        self._lock = threading.Lock()  # one read cursor at a time
        self._sub = None
        self._stream_seq = 0  # the stream sequence the subscription delivered last
        self._position: int | None = None  # the position ``read`` returned last
        self._buffer: collections.deque[Ordered] = collections.deque()  # expanded, not yet returned
        self._read_deadline = 10.0
        self._queue: collections.deque[_Pending] = collections.deque()  # ``submit`` calls not yet published
        self._qlock = threading.Lock()
        self._signalled = False  # the sender was woken for what is queued
        self._acked: collections.OrderedDict[str, int] = collections.OrderedDict()
        self._closed = False
        try:
            self._call(self._connect(connect_timeout), timeout=connect_timeout + 5)
        except BaseException:
            self._stop_loop()
            raise

    # -- plumbing -------------------------------------------------------------------------------

    def _call(self, coro, *, timeout: float):
        if self._closed:
            coro.close()
            raise OrderingError("the orderer is closed")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result(timeout)
        except TimeoutError as exc:
            fut.cancel()
            raise OrderingError(f"no answer from the ordering service within {timeout:.1f} s") from exc

    async def _connect(self, connect_timeout: float = 30.0) -> None:
        self._nc = await nats.connect(servers=self.urls, tls=self._tls, connect_timeout=2,
                                      max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                                      allow_reconnect=True, name=f"fmis-orderer-{self.stream}")
        self._js = self._nc.jetstream(timeout=5)
        self._wake = asyncio.Event()
        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                await self._ensure_stream()
                break
            except _RETRYABLE:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.3)
        self._in_flight = asyncio.Semaphore(IN_FLIGHT)
        self._sending: set[asyncio.Task] = set()
        self._sender_task = asyncio.ensure_future(self._sender())

    async def _ensure_stream(self) -> None:
        try:
            info = await self._js.stream_info(self.stream)
        except NotFoundError:
            config = api.StreamConfig(
                name=self.stream, subjects=[self.subject], retention=api.RetentionPolicy.LIMITS,
                storage=api.StorageType.FILE, num_replicas=self.replicas, duplicate_window=self.duplicate_window,
                max_msgs=-1, max_bytes=-1, max_age=0, deny_delete=True, deny_purge=True,
                discard=api.DiscardPolicy.NEW)
            await self._js.add_stream(config)
            return
        cfg = info.config
        if self.subject not in (cfg.subjects or []) or not cfg.deny_delete or (cfg.max_age or 0) > 0 \
                or (cfg.max_msgs or -1) > 0:
            raise OrderingError(f"stream {self.stream} is not an append-only order of {self.subject}")

    def _remember(self, group: Sequence[tuple[bytes, str]], positions: Sequence[int]) -> None:
        acked = self._acked
        for (_, msg_id), position in zip(group, positions, strict=True):
            acked[msg_id] = position
        while len(acked) > ACKED_KEEP:
            acked.popitem(last=False)

    # -- publishing -----------------------------------------------------------------------------

    async def _publish(self, data: bytes, headers: dict[str, str], deadline: float) -> int:
        """Publish one stream message and wait for its acknowledgement, again with the same message
        id (de-duplicated by the stream) after a leader change or a lost server, until ``deadline``."""
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                ack = await self._js.publish(self.subject, data, timeout=min(2.0, max(deadline - time.monotonic(), 0.1)),
                                             stream=self.stream, headers=headers)
                return ack.seq
            except _RETRYABLE as exc:
                last = exc
                await asyncio.sleep(0.2)
        raise OrderingError(f"message {headers[MSG_ID]} not acknowledged within the deadline: {last!r}")

    async def _publish_group(self, group: Sequence[tuple[bytes, str]], deadline: float) -> list[int]:
        data, headers = message_for(group)
        seq = await self._publish(data, headers, deadline)
        positions = [seq * SLOTS + i for i in range(len(group))]
        self._remember(group, positions)
        return positions

    # -- Orderer --------------------------------------------------------------------------------

    def submit(self, data: bytes, *, msg_id: str, timeout: float = 10.0) -> int:
        """Concurrent calls are published together: what the threads submit within ``linger`` of the
        client's previous message leaves as one bundle (each caller still returns only once its
        envelope is acknowledged)."""
        if self._closed:
            raise OrderingError("the orderer is closed")
        known = self._acked.get(msg_id)
        if known is not None:
            return known
        mine = _Pending(bytes(data), msg_id, time.monotonic() + timeout)
        with self._qlock:
            self._queue.append(mine)
            wake = not self._signalled
            self._signalled = True
        if wake:
            self._loop.call_soon_threadsafe(self._wake.set)
        try:
            return mine.future.result(timeout + 5)
        except concurrent.futures.TimeoutError:
            raise OrderingError(f"message {msg_id} not acknowledged within {timeout:.1f} s") from None

    def _take_queued(self) -> list[_Pending]:
        taken: list[_Pending] = []
        size = 0
        with self._qlock:
            queue = self._queue
            while queue and len(taken) < BUNDLE_MAX:
                cost = len(queue[0].data) + len(queue[0].msg_id) + _FRAME.size
                if taken and size + cost > BUNDLE_BYTES:
                    break
                taken.append(queue.popleft())
                size += cost
            if not queue:
                self._signalled = False
                self._wake.clear()
        return taken

    async def _sender(self) -> None:
        """Publishes what ``submit`` queued as one message, at most one message per ``linger``
        seconds (the first after a quiet spell at once), with up to IN_FLIGHT awaiting their
        acknowledgements."""
        loop = asyncio.get_running_loop()
        last = -self.linger
        while True:
            await self._wake.wait()
            gap = self.linger - (loop.time() - last)
            if gap > 0:
                await asyncio.sleep(gap)
            batch = self._take_queued()
            if not batch:
                continue
            last = loop.time()
            await self._in_flight.acquire()
            task = asyncio.ensure_future(self._send(batch))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[_Pending]) -> None:
        try:
            positions = await self._publish_group([(p.data, p.msg_id) for p in batch],
                                                  max(min(p.deadline for p in batch), time.monotonic() + 1))
        except asyncio.CancelledError:
            for p in batch:
                p.future.set_exception(OrderingError("the orderer is closed"))
            raise
        except Exception as exc:  # noqa: BLE001 - every caller in the batch learns it
            error = exc if isinstance(exc, OrderingError) else OrderingError(repr(exc))
            for p in batch:
                p.future.set_exception(error)
        else:
            for p, position in zip(batch, positions, strict=True):
                p.future.set_result(position)
        finally:
            self._in_flight.release()

    def submit_many(self, items: Sequence[tuple[bytes, str]], *, timeout: float = 30.0) -> list[int]:
        """Submit many envelopes, bundled and pipelined; returns their positions in the given order.
        Bundles whose acknowledgement does not arrive are published again with the same id."""
        return self._call(self._submit_many(list(items), timeout), timeout=timeout + 5)

    async def _submit_many(self, items: list[tuple[bytes, str]], timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        position = {msg_id: self._acked[msg_id] for _, msg_id in items if msg_id in self._acked}
        once: dict[str, bytes] = {}  # an id given twice goes once, with its first envelope
        for data, msg_id in items:
            if msg_id not in position:
                once.setdefault(msg_id, data)
        todo = groups([(data, msg_id) for msg_id, data in once.items()])
        for start in range(0, len(todo), PIPELINE):
            window = todo[start:start + PIPELINE]
            for group, positions in zip(window, await self._submit_window(window, deadline), strict=True):
                position.update(zip([m for _, m in group], positions, strict=True))
        return [position[msg_id] for _, msg_id in items]

    async def _submit_window(self, window: list[list[tuple[bytes, str]]], deadline: float) -> list[list[int]]:
        # At most PIPELINE publishes in flight, below nats-py's pending limit, so publish_async never
        # waits for its semaphore (a wait_stall timeout would cost an event-loop round per message).
        futures = []
        for group in window:
            data, headers = message_for(group)
            try:
                futures.append(await self._js.publish_async(self.subject, data, stream=self.stream, headers=headers))
            except _RETRYABLE:
                futures.append(None)
        pending = [f for f in futures if f is not None]
        if pending:
            await asyncio.wait(pending, timeout=max(min(10.0, deadline - time.monotonic()), 0.1))
        out: list[list[int]] = []
        for group, fut in zip(window, futures, strict=True):
            if fut is not None and fut.done() and not fut.cancelled() and fut.exception() is None:
                seq = fut.result().seq
                positions = [seq * SLOTS + i for i in range(len(group))]
                self._remember(group, positions)
                out.append(positions)
                continue
            if fut is not None and not fut.done():
                fut.cancel()
            # no acknowledgement: the same message again, de-duplicated by the stream
            out.append(await self._publish_group(group, max(deadline, time.monotonic() + 1)))
        return out

    def read(self, *, after: int, max_count: int = 1000, timeout: float = 1.0) -> list[Ordered]:
        with self._lock:
            self._read_deadline = timeout + 5  # for (re)subscribing, within the call's own limit
            return self._call(self._read(after, max_count, timeout), timeout=timeout + 15)

    async def _subscribe(self, after: int) -> None:
        """Deliver from the message holding position ``after`` (the rest of a bundle read in part)."""
        if self._sub is not None:
            with contextlib.suppress(Exception):  # a dead subscription is replaced either way
                await asyncio.wait_for(self._sub.unsubscribe(), timeout=5)
            self._sub = None
        start = max(after // SLOTS, 1)
        config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start)
        # Creating the consumer fails or hangs while the stream elects a new leader: try again, each
        # attempt bounded, until the read's own deadline.
        deadline = time.monotonic() + self._read_deadline
        while True:
            try:
                self._sub = await asyncio.wait_for(
                    self._js.subscribe(self.subject, stream=self.stream, ordered_consumer=True, config=config,
                                       idle_heartbeat=2.0), timeout=5)
                break
            except _RETRYABLE as exc:
                if time.monotonic() > deadline:
                    raise OrderingError(f"could not read stream {self.stream}: {exc!r}") from None
                await asyncio.sleep(0.3)
        self._stream_seq = start - 1
        self._buffer.clear()

    async def _ready_msg(self):
        """The next message already delivered to the subscription, or None: taken from its queue
        without the task and timer ``next_msg`` costs per message, with the same bookkeeping
        (pending size, queue accounting, and the flow-control reply once the messages before a
        flow-control request are consumed, so the servers still pace delivery to the reader)."""
        sub = self._sub
        queue = sub._pending_queue
        if queue.empty():
            return None
        msg = queue.get_nowait()
        sub._pending_size -= len(msg.data)
        queue.task_done()
        jsi = getattr(sub._sub, "_jsi", None)
        if jsi is not None:
            jsi._active = True
            if jsi._fcr and jsi.get_js_delivered() >= jsi._fciseq:
                fc_reply, jsi._fcr = jsi._fcr, None
                await self._nc.publish(fc_reply)
        return msg

    async def _read(self, after: int, max_count: int, timeout: float) -> list[Ordered]:
        try:
            return await self._read_from(after, max_count, timeout)
        except BaseException:  # failed or cancelled half-way: the next read starts again from its position
            self._position = None
            raise

    async def _read_from(self, after: int, max_count: int, timeout: float) -> list[Ordered]:
        if self._sub is None or self._position != after:
            await self._subscribe(after)
        out: list[Ordered] = []
        buffer = self._buffer
        floor = after  # the last position taken: anything at or before it was read already
        wait = timeout
        while len(out) < max_count:
            if buffer:
                item = buffer.popleft()
                if item.seq > floor:
                    out.append(item)
                    floor = item.seq
                continue
            msg = await self._ready_msg()
            if msg is None:
                try:
                    msg = await self._sub.next_msg(timeout=wait)
                except (NatsTimeout, TimeoutError):
                    break
            meta = msg.metadata
            seq = meta.sequence.stream
            if seq <= self._stream_seq:  # a redelivery after the ordered consumer reset
                continue
            if seq != self._stream_seq + 1:
                await self._subscribe(floor)  # never skip: start again from the gap
                continue
            self._stream_seq = seq
            buffer.extend(expand(seq, msg.data, msg.headers, int(meta.timestamp.timestamp() * 1000)))
            wait = 0.005 if out or buffer else timeout  # the first waits; the rest take what has arrived
        if out:
            self._position = floor
        return out

    def last_seq(self) -> int:
        """The position of the last envelope in the order (0 when empty)."""
        return self._call(self._last_seq(), timeout=15)

    async def _last_seq(self) -> int:
        deadline = time.monotonic() + 10
        while True:
            try:
                last = (await self._js.stream_info(self.stream)).state.last_seq
                if not last:
                    return 0
                msg = await self._js.get_msg(self.stream, seq=last)
                return expand(last, msg.data or b"", msg.headers, 0)[-1].seq
            except _RETRYABLE:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    def close(self) -> None:
        if self._closed:
            return
        try:
            self._call(self._close(), timeout=10)
        except OrderingError:
            pass
        self._closed = True
        self._stop_loop()
        with self._qlock:
            left, self._queue = list(self._queue), collections.deque()
        for p in left:
            if not p.future.done():
                p.future.set_exception(OrderingError("the orderer is closed"))

    async def _close(self) -> None:
        # Everything submitted was acknowledged already, so nothing is left to flush: close, don't
        # drain (draining an ordered consumer waits for its heartbeats).
        tasks = [self._sender_task, *self._sending]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._sub is not None:
            with contextlib.suppress(Exception):  # the connection may be gone already
                await self._sub.unsubscribe()
        await self._nc.close()

    def _stop_loop(self) -> None:
        async def cancel_rest() -> None:
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in rest:
                t.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        with contextlib.suppress(Exception):  # stopping regardless
            asyncio.run_coroutine_threadsafe(cancel_rest(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
