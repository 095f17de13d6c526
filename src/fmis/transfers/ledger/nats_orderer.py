"""The consortium's ordering service on NATS JetStream (a replicated stream on a 3-server cluster).

The stream's sequence is the order: the stream keeps every message (limits retention with no limits,
deletion and purging denied), so its sequence numbers are consecutive. The envelope's id travels as
``Nats-Msg-Id``: a re-submission inside the stream's duplicate window is acknowledged with the first
message's sequence and stored once. Time comes from JetStream's own timestamp of each message, so
every node that reads the order sees the same time.

nats-py is asynchronous; this class runs one event loop in a background thread and offers the
synchronous ``Orderer`` interface. Every wait has a timeout: an acknowledgement that never comes
(a server that died with the publish in flight) is retried with the same message id, which the
stream de-duplicates, until the submit's own deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
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
PIPELINE = 2000  # publishes in flight at once (nats-py allows 4,000 pending)
_RETRYABLE = (NoStreamResponseError, NatsTimeout, asyncio.TimeoutError, TimeoutError, NoRespondersError,
              ConnectionClosedError, APIError)


class NatsOrderer:
    """``Orderer`` over a JetStream stream. ``tls`` is the client's TlsFiles or an SSLContext."""

    def __init__(self, urls: Sequence[str] | str, *, stream: str = "LEDGER", subject: str = "ledger.order",
                 tls: TlsFiles | ssl.SSLContext | None = None, replicas: int = 3,
                 duplicate_window: float = 600.0, connect_timeout: float = 30.0):
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        self.stream, self.subject, self.replicas = stream, subject, replicas
        self.duplicate_window = duplicate_window
        self._tls = tls.client_context() if isinstance(tls, TlsFiles) else tls
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"nats-orderer-{stream}", daemon=True)
        self._thread.start()
        self._lock = threading.Lock()  # one read cursor at a time
        self._sub = None
        self._cursor: int | None = None  # the seq the cached subscription delivers next minus one
        self._closed = False
        try:
            self._call(self._connect(), timeout=connect_timeout + 5, connect_timeout=connect_timeout)
        except BaseException:
            self._stop_loop()
            raise

    # -- plumbing -------------------------------------------------------------------------------

    def _call(self, coro, *, timeout: float, **kw):
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
        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                await self._ensure_stream()
                return
            except _RETRYABLE:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.3)

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

    # -- Orderer --------------------------------------------------------------------------------

    def submit(self, data: bytes, *, msg_id: str, timeout: float = 10.0) -> int:
        return self._call(self._submit(data, msg_id, timeout), timeout=timeout + 5)

    async def _submit(self, data: bytes, msg_id: str, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                ack = await self._js.publish(self.subject, data, timeout=min(2.0, max(deadline - time.monotonic(), 0.1)),
                                             stream=self.stream, headers={MSG_ID: msg_id})
                return ack.seq
            except _RETRYABLE as exc:  # leader change, server gone: same id again, de-duplicated
                last = exc
                await asyncio.sleep(0.2)
        raise OrderingError(f"message {msg_id} not acknowledged within {timeout:.1f} s: {last!r}")

    def submit_many(self, items: Sequence[tuple[bytes, str]], *, timeout: float = 30.0) -> list[int]:
        """Submit many envelopes pipelined; returns their sequence numbers in the given order.
        Those whose acknowledgement does not arrive are re-submitted one by one with the same id."""
        return self._call(self._submit_many(list(items), timeout), timeout=timeout + 5)

    async def _submit_many(self, items: list[tuple[bytes, str]], timeout: float) -> list[int]:
        out: list[int] = []
        deadline = time.monotonic() + timeout
        for start in range(0, len(items), PIPELINE):
            out.extend(await self._submit_window(items[start:start + PIPELINE], deadline))
        return out

    async def _submit_window(self, items: list[tuple[bytes, str]], deadline: float) -> list[int]:
        # At most PIPELINE publishes in flight, below nats-py's pending limit, so publish_async never
        # waits for its semaphore (a wait_stall timeout would cost an event-loop round per message).
        futures = []
        for data, msg_id in items:
            try:
                futures.append(await self._js.publish_async(self.subject, data, stream=self.stream,
                                                            headers={MSG_ID: msg_id}))
            except _RETRYABLE:
                futures.append(None)
        pending = [f for f in futures if f is not None]
        if pending:
            await asyncio.wait(pending, timeout=max(min(10.0, deadline - time.monotonic()), 0.1))
        out: list[int] = []
        for (data, msg_id), fut in zip(items, futures, strict=True):
            seq = None
            if fut is not None and fut.done() and not fut.cancelled() and fut.exception() is None:
                seq = fut.result().seq
            elif fut is not None and not fut.done():
                fut.cancel()
            if seq is None:  # no acknowledgement: the same id again, de-duplicated by the stream
                seq = await self._submit(data, msg_id, max(deadline - time.monotonic(), 1.0))
            out.append(seq)
        return out

    def read(self, *, after: int, max_count: int = 1000, timeout: float = 1.0) -> list[Ordered]:
        with self._lock:
            return self._call(self._read(after, max_count, timeout), timeout=timeout + 15)

    async def _subscribe(self, after: int) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):  # a dead subscription is replaced either way
                await self._sub.unsubscribe()
        config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1)
        self._sub = await self._js.subscribe(self.subject, stream=self.stream, ordered_consumer=True, config=config,
                                             idle_heartbeat=2.0)
        self._cursor = after

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
        if self._sub is None or self._cursor != after:
            await self._subscribe(after)
        out: list[Ordered] = []
        wait = timeout
        while len(out) < max_count:
            msg = await self._ready_msg()
            if msg is None:
                try:
                    msg = await self._sub.next_msg(timeout=wait)
                except (NatsTimeout, TimeoutError):
                    break
            meta = msg.metadata
            seq = meta.sequence.stream
            if seq <= self._cursor:  # a redelivery after the ordered consumer reset
                continue
            if seq != self._cursor + 1:
                await self._subscribe(self._cursor)  # never skip: start again from the gap
                continue
            out.append(Ordered(seq=seq, msg_id=(msg.headers or {}).get(MSG_ID, ""), data=msg.data,
                               time_ms=int(meta.timestamp.timestamp() * 1000)))
            self._cursor = seq
            wait = 0.005 if out else timeout  # the first waits; the rest take what has arrived
        return out

    def last_seq(self) -> int:
        return self._call(self._last_seq(), timeout=15)

    async def _last_seq(self) -> int:
        deadline = time.monotonic() + 10
        while True:
            try:
                info = await self._js.stream_info(self.stream)
                return info.state.last_seq
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

    async def _close(self) -> None:
        # Everything submitted was acknowledged already, so nothing is left to flush: close, don't
        # drain (draining an ordered consumer waits for its heartbeats).
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
