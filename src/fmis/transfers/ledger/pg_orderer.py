"""The single-node orderer: the total order kept in a PostgreSQL table.

``submit`` takes the next number from a one-row counter inside the same transaction as the insert:
the row lock serialises submitters, and a rolled-back insert rolls the counter back too, so
sequence numbers have no gaps. ``msg_id`` is unique: re-submitting returns the first number.
Readers are woken by ``NOTIFY transfers_order`` (sent on commit) and fall back to polling.
Timestamps come from the database server's clock: the ordering side's time.

Concurrent ``submit`` calls from threads of one process are combined: the first caller becomes the
leader and writes everything queued so far in one database transaction (one commit, one fsync),
the others wait for their numbers. Each caller still returns only once its envelope is durable.
"""

from __future__ import annotations

import select
import threading
import time

import psycopg

from fmis.transfers.ledger.ordering import Ordered, OrderingError
from fmis.transfers.ledger.schema import install_orderer

CHANNEL = "transfers_order"
POLL_FALLBACK = 1.0  # seconds a reader waits for a notification before querying anyway


class _Pending:
    __slots__ = ("data", "error", "event", "msg_id", "seq")

    def __init__(self, data: bytes, msg_id: str):
        self.data, self.msg_id = data, msg_id
        self.seq: int | None = None
        self.error: BaseException | None = None
        self.event = threading.Event()


class PgOrderer:
    max_batch = 500

    def __init__(self, dsn: str, *, install: bool = True):
        self.dsn = dsn
        self._queue: list[_Pending] = []
        self._qlock = threading.Lock()
        self._flushing = False
        self._local = threading.local()
        self._listen: psycopg.Connection | None = None
        self._lock = threading.Lock()
        self._conns: list[psycopg.Connection] = []
        if install:
            install_orderer(self._conn())

    def _conn(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            try:
                conn = psycopg.connect(self.dsn)
            except psycopg.OperationalError as exc:
                raise OrderingError(f"orderer database unreachable: {exc}") from None
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def submit(self, data: bytes, *, msg_id: str, timeout: float = 10.0) -> int:
        mine = _Pending(bytes(data), msg_id)
        with self._qlock:
            self._queue.append(mine)
            leader = not self._flushing
            if leader:
                self._flushing = True
        if leader:
            self._lead(timeout)
        if not mine.event.wait(timeout):
            raise OrderingError("submit timed out")
        if mine.error is not None:
            if isinstance(mine.error, OrderingError | psycopg.Error):
                raise mine.error
            raise OrderingError(str(mine.error))
        return mine.seq

    def _lead(self, timeout: float) -> None:
        while True:
            with self._qlock:
                batch = self._queue[:self.max_batch]
                del self._queue[:len(batch)]
                if not batch:
                    self._flushing = False
                    return
            try:
                if len(batch) == 1:
                    seqs = [self._submit_one(batch[0].data, batch[0].msg_id, timeout)]
                else:
                    seqs = self._submit_batch([(p.data, p.msg_id) for p in batch], timeout)
            except BaseException as exc:  # every waiter learns the failure
                for p in batch:
                    p.error = exc
                    p.event.set()
                if not isinstance(exc, Exception):
                    raise
            else:
                for p, seq in zip(batch, seqs, strict=True):
                    p.seq = seq
                    p.event.set()

    def _submit_one(self, data: bytes, msg_id: str, timeout: float) -> int:
        conn = self._conn()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT seq FROM transfers_order_log WHERE msg_id = %s", (msg_id,))
                    row = cur.fetchone()
                    if row:
                        conn.commit()
                        return row[0]
                    cur.execute("UPDATE transfers_order_head SET seq = seq + 1 WHERE id = 1 RETURNING seq")
                    seq = cur.fetchone()[0]
                    cur.execute(
                        "INSERT INTO transfers_order_log (seq, msg_id, data, time_ms) VALUES "
                        "(%s, %s, %s, (extract(epoch FROM clock_timestamp()) * 1000)::bigint) "
                        "ON CONFLICT (msg_id) DO NOTHING RETURNING seq", (seq, msg_id, bytes(data)))
                    if cur.fetchone() is None:  # a concurrent submitter took this msg_id first
                        conn.rollback()
                        continue
                    cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(seq)))
                conn.commit()
                return seq
            except psycopg.OperationalError as exc:
                conn.close()
                if time.monotonic() > deadline:
                    raise OrderingError(f"submit failed: {exc}") from None
                conn = self._conn()
            except psycopg.Error:
                conn.rollback()
                raise

    def submit_many(self, items: list[tuple[bytes, str]], *, timeout: float = 10.0) -> list[int]:
        """Several envelopes in one database transaction (a gateway batching its clients)."""
        return self._submit_batch(items, timeout)

    def _submit_batch(self, items: list[tuple[bytes, str]], timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._write_batch(self._conn(), items)
            except psycopg.OperationalError as exc:
                self._drop_conn()
                if time.monotonic() > deadline:
                    raise OrderingError(f"submit failed: {exc}") from None
                time.sleep(0.1)
            except psycopg.errors.UniqueViolation:
                continue  # a concurrent submitter of one of these ids committed first: look again

    def _write_batch(self, conn, items: list[tuple[bytes, str]]) -> list[int]:
        out = []
        try:
            with conn.cursor() as cur:
                # take the counter's row lock first: ids committed by others are visible after it
                cur.execute("SELECT seq FROM transfers_order_head WHERE id = 1 FOR UPDATE")
                cur.execute("SELECT msg_id, seq FROM transfers_order_log WHERE msg_id = ANY(%s)",
                            ([m for _, m in items],))
                known = dict(cur.fetchall())
                fresh, seen = [], set()
                for data, mid in items:
                    if mid not in known and mid not in seen:
                        seen.add(mid)
                        fresh.append((data, mid))
                if fresh:
                    cur.execute("UPDATE transfers_order_head SET seq = seq + %s WHERE id = 1 RETURNING seq",
                                (len(fresh),))
                    last = cur.fetchone()[0]
                    first = last - len(fresh) + 1
                    cur.execute("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")
                    now = cur.fetchone()[0]
                    with cur.copy("COPY transfers_order_log (seq, msg_id, data, time_ms) FROM STDIN") as cp:
                        for i, (data, mid) in enumerate(fresh):
                            cp.write_row((first + i, mid, bytes(data), now))
                            known[mid] = first + i
                    cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(last)))
                out = [known[m] for _, m in items]
            conn.commit()
        except psycopg.Error:
            conn.rollback()
            raise
        return out

    def _drop_conn(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _listener(self) -> psycopg.Connection:
        if self._listen is None or self._listen.closed:
            self._listen = psycopg.connect(self.dsn, autocommit=True)
            self._listen.execute(f"LISTEN {CHANNEL}")
        return self._listen

    def read(self, *, after: int, max_count: int = 1000, timeout: float = 1.0) -> list[Ordered]:
        listener = self._listener()
        deadline = time.monotonic() + timeout
        conn = self._conn()
        while True:
            for _ in listener.notifies(timeout=0, stop_after=0):
                pass
            with conn.cursor() as cur:
                cur.execute("SELECT seq, msg_id, data, time_ms FROM transfers_order_log WHERE seq > %s "
                            "ORDER BY seq LIMIT %s", (after, max_count))
                rows = cur.fetchall()
            conn.commit()
            if rows:
                # a gap can only be a transaction still committing: deliver up to it
                out = []
                expected = after + 1
                for seq, mid, data, tms in rows:
                    if seq != expected:
                        break
                    out.append(Ordered(seq, mid, bytes(data), tms))
                    expected += 1
                if out:
                    return out
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            # sleep until a NOTIFY arrives (every commit of the log sends one); look again at
            # least once a second in case the listening connection missed one
            select.select([listener.fileno()], [], [], min(left, POLL_FALLBACK))

    def last_seq(self) -> int:
        conn = self._conn()
        with conn.cursor() as cur:
            cur.execute("SELECT seq FROM transfers_order_head WHERE id = 1")
            seq = cur.fetchone()[0]
        conn.commit()
        return seq

    def close(self) -> None:
        with self._lock:
            for c in self._conns:
                c.close()
            self._conns.clear()
        if self._listen is not None:
            self._listen.close()
        self._local = threading.local()
