"""A member node: reads the total order, cuts blocks, validates, executes and commits them.

    node = Node(dsn="dbname=chain_n1 host=/tmp/pg user=postgres", orderer=orderer, signer=signer)
    node.run(stop=threading.Event())       # or node.step() in a loop

Block cutting is a pure function of the ordered stream, so every node cuts the same blocks:
a block ends after ``block_max_txs`` transactions (from the genesis configuration), or at a
``cut`` marker naming the block number being assembled (stale, future and duplicate markers are
ignored). The block's time is the ordering timestamp of the message that ended it. A node's own
clock decides only *when it asks* for a cut (it publishes a marker when transactions have waited
longer than ``cut_after`` seconds), never what a block contains. A founding member's node waits
one more ``cut_after`` for each founding member listed before it in the genesis (three at most),
so that one marker per block is the rule and the others ask only if it does not come.

Everything of a block (header, transactions, Merkle nodes, nonces, world state, projections) is
committed in one database transaction; ``last_seq`` in the header is where reading resumes after
a restart, so a node that was down catches up from the stream and a new node syncs from genesis.
After each commit the node signs the checkpoint (log size, log root) and publishes the signature
through the order, where every node collects it. With ``cosign_interval`` (seconds, default 0:
every block) the nodes sign only the first block of each interval of order time, which every node
determines alike from the blocks' times, and the head once the order has been idle for a read
timeout, so that a quorum forms on the same tree sizes while a busy chain spends a few
signatures per interval instead of one per block and node (each one checked by every node).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

import psycopg

from fmis.platform import crypto
from fmis.transfers.ledger import envelope as env
from fmis.transfers.ledger import membership
from fmis.transfers.ledger.encoding import EncodingError, canonical, decode, hash_bytes, unb64
from fmis.transfers.ledger.executor import (
    Executor,
    Seen,
    StateView,
    block_hash,
    block_header,
    leaf_data,
    state_root,
)
from fmis.transfers.ledger.merkle import Frontier, root_of
from fmis.transfers.ledger.ordering import Ordered, Orderer, OrderingError
from fmis.transfers.ledger.schema import install_node
from fmis.transfers.ledger.store import NodeStore

log = logging.getLogger("fmis.transfers.node")


# json.dumps(..., ensure_ascii=False, sort_keys=True) with the encoder built once
_detail_json = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


class NodeError(Exception):
    pass


class NodeBusy(NodeError):
    """Another process is already running a node on this database."""


# after_commit(block number, the block's world-state writes, [(tx id, index, Movement)] of its valid
# transactions), called once the block is committed
AfterCommit = Callable[[int, dict, list], None]


class Node:
    def __init__(self, *, dsn: str, orderer: Orderer, signer: env.Signer | None = None, cut_after: float = 0.2,
                 read_batch: int = 5000, expected_genesis: bytes | None = None, cosign: bool = True,
                 wait_for_lock: bool = False, after_commit: AfterCommit | None = None,
                 cosign_interval: float = 0.0):
        """`after_commit` lets the process running the node feed its own projections (the Django
        installation projects bank-side results with it); it runs after the block's commit.
        `cosign_interval`: see the module's description (0 signs every block)."""
        self.dsn = dsn
        self.cosign_interval_ms = max(0, int(cosign_interval * 1000))
        self.signed_size = -1  # the log size of the last checkpoint this node signed
        self.idle_sign_tried = -1  # the head size it last tried to sign because the order was idle
        self.after_commit = after_commit
        self.orderer = orderer
        self.signer = signer
        self.cut_after = cut_after
        self.cut_turn = 1  # this node's turn among the founders asking for cuts (1 to 4)
        self.read_batch = read_batch
        self.expected_genesis = expected_genesis
        self.cosign = cosign and signer is not None
        self.conn = psycopg.connect(dsn)
        # one node per database: a session lock keyed by the schema the node's tables live in
        fn = "pg_advisory_lock" if wait_for_lock else "pg_try_advisory_lock"
        got = self.conn.execute(f"SELECT {fn}(hashtext(current_schema() || '.transfers_node'))").fetchone()[0]
        self.conn.commit()
        if got is False:
            self.conn.close()
            raise NodeBusy("another node is running on this database")
        install_node(self.conn)
        self.store = NodeStore(self.conn)
        self.executor: Executor | None = None
        self.pending: list[Ordered] = []
        self.pending_since: float | None = None
        self.marker_sent_for: tuple[int, int] = (-1, -1)
        self._load()

    # --- state kept in memory between blocks ---------------------------------------------------

    def _load(self) -> None:
        head = self.store.head()
        self.conn.commit()
        self.number = head.number
        self.prev_hash = head.hash
        self.state_root = head.state_root
        self.read_pos = head.last_seq
        self.block_time_ms = head.time_ms
        genesis = self.store.genesis_wire()
        if genesis is not None:
            self._configure(genesis)
            self.frontier = self.store.frontier(self.executor.hasher, head.log_size)
        self.conn.commit()
        self.pending = []
        self.scan_pos = self.read_pos
        if genesis is not None and self.expected_genesis is not None and genesis != self.expected_genesis:
            raise NodeError("this database holds another consortium's chain")

    def _configure(self, genesis_wire: bytes) -> None:
        config = decode(genesis_wire)["config"]
        self.config = config
        self.executor = Executor(config)
        self.block_max = int(config.get("block_max_txs", 500))
        founders = [membership.certificate_id(config["hash"], pem) for pem in config.get("members", [])]
        me = self.signer.creator if self.signer is not None else ""
        self.cut_turn = 1 + min(founders.index(me) if me in founders else 0, 3)

    @property
    def cut_wait(self) -> float:
        """Seconds transactions wait here before this node asks for a cut."""
        return self.cut_after * self.cut_turn

    @property
    def height(self) -> int:
        return self.number

    # --- the loop ----------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None, *, timeout: float = 0.2) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                self.step(timeout=timeout)
            except OrderingError as exc:
                log.warning("ordering service unavailable: %s", exc)
                stop.wait(0.5)

    def step(self, *, timeout: float = 0.2) -> int:
        """Read what is available, commit the blocks it completes; returns the number committed."""
        if self.pending_since is not None and self.cut_wait < 3600:
            # do not sleep past the moment to ask for a cut
            timeout = min(timeout, max(0.005, self.cut_wait - (time.monotonic() - self.pending_since)))
        messages = self.orderer.read(after=self.scan_pos, max_count=self.read_batch, timeout=timeout)
        committed = 0
        cosigns: list[tuple[int, str, bytes, bytes]] = []
        for m in messages:
            committed += self._take(m, cosigns)
            self.scan_pos = m.seq
        if cosigns:
            self.store.add_cosigns(cosigns)
            self.conn.commit()
        if not messages and not self.pending and self.executor is not None \
                and self.idle_sign_tried != self.frontier.size and self.signed_size != self.frontier.size:
            self.idle_sign_tried = self.frontier.size  # once per head, even if the orderer refuses it
            self._publish_cosign()  # the order is idle: sign the head
        self._maybe_ask_for_cut()
        return committed

    def _take(self, m: Ordered, cosigns: list) -> int:
        if self.executor is None:
            return self._genesis(m)
        kind, obj = _classify(m.data)
        if kind == "tx":
            if not self.pending:
                self.pending_since = time.monotonic()
            self.pending.append(m)
            if len(self.pending) >= self.block_max:
                self._commit(self.pending, m)
                return 1
            return 0
        if kind == "cut":
            if obj["block"] == self.number + 1 and self.pending:
                self._commit(self.pending, m)
                return 1
            return 0
        if kind == "cosign":
            row = self._check_cosign(obj)
            if row:
                cosigns.append(row)
            return 0
        return 0  # a second genesis is ignored

    def _genesis(self, m: Ordered) -> int:
        try:
            kind, _obj = env.parse(m.data, "sha256")
        except EncodingError:
            kind = ""
        if kind != "genesis" or self.scan_pos != 0:  # the first message this node reads from the start
            raise NodeError(f"the order does not start with a genesis message (position {m.seq})")
        if self.expected_genesis is not None and m.data != self.expected_genesis:
            raise NodeError("the order's genesis is not the one this node was configured with")
        self._configure(m.data)
        ex = self.executor
        writes = ex.genesis_writes()
        leaf = ex.hasher.leaf(m.data)
        self.frontier = Frontier(ex.hasher)
        nodes = self.frontier.append(leaf)
        sroot = state_root(ex.hash_name, b"\x00" * 32, writes)
        header = block_header(number=0, prev_hash=b"\x00" * 32, tx_root=root_of(ex.hasher, [leaf]), tx_count=1,
                              log_size=1, log_root=self.frontier.root(), state_root=sroot, time_ms=m.time_ms,
                              first_seq=m.seq, last_seq=m.seq)
        bhash = block_hash(ex.hash_name, header)
        tx_row = (0, 0, 0, m.seq, hash_bytes(ex.hash_name, m.data).hex(), "genesis", "genesis", "", True, "", "",
                  m.data)
        self.store.write_block(header=header, block_hash=bhash, txs=[tx_row], merkle_nodes=nodes, nonces=[],
                               writes=writes, movements=[], genesis=m.data)
        self.conn.commit()
        self.number, self.prev_hash, self.state_root, self.read_pos = 0, bhash, sroot, m.seq
        self.block_time_ms = m.time_ms
        self._publish_cosign()
        return 1

    def _commit(self, messages: list[Ordered], cutter: Ordered) -> None:
        ex = self.executor
        number = self.number + 1
        time_ms = cutter.time_ms
        state = StateView(self.store.load_state)
        seen = Seen(self.store.used_nonces)
        try:
            results = ex.execute(number, time_ms, [(m.seq, m.data) for m in messages], state, seen)
            writes = state.take_writes()
            frontier = Frontier(ex.hasher, self.frontier.size, [h for _, h in self.frontier.stack])
            leaves, nodes, tx_rows, movements, nonces = [], [], [], [], []
            for pos, r in enumerate(results):
                leaf = ex.hasher.leaf(leaf_data(number, r))
                index = frontier.size
                leaves.append(leaf)
                nodes.extend(frontier.append(leaf))
                tx_rows.append((index, number, pos, r.seq, r.tx_id, r.contract, r.function, r.creator, r.valid,
                                r.reason, r.detail, r.wire))
                if r.nonce:
                    nonces.append((r.creator, r.nonce, r.tx_id))
                for n, mv in enumerate(r.movements):
                    movements.append((index, n, mv.allocation, mv.kind, mv.amount, mv.region,
                                      _detail_json(mv.detail), number, time_ms))
            sroot = state_root(ex.hash_name, self.state_root, writes)
            header = block_header(number=number, prev_hash=self.prev_hash, tx_root=root_of(ex.hasher, leaves),
                                  tx_count=len(results), log_size=frontier.size, log_root=frontier.root(),
                                  state_root=sroot, time_ms=time_ms, first_seq=messages[0].seq,
                                  last_seq=cutter.seq)
            bhash = block_hash(ex.hash_name, header)
            self.store.write_block(header=header, block_hash=bhash, txs=tx_rows, merkle_nodes=nodes, nonces=nonces,
                                   writes=writes, movements=movements)
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        self.frontier = frontier
        self.number, self.prev_hash, self.state_root, self.read_pos = number, bhash, sroot, cutter.seq
        self.pending = []
        self.pending_since = None
        previous_time, self.block_time_ms = self.block_time_ms, time_ms
        every = self.cosign_interval_ms
        if not every or time_ms // every != previous_time // every:
            self._publish_cosign()
        if self.after_commit is not None:
            self.after_commit(number, writes, [(r.tx_id, n, mv) for r in results if r.valid
                                               for n, mv in enumerate(r.movements)])

    # --- markers and checkpoints ---------------------------------------------------------------

    def _maybe_ask_for_cut(self) -> None:
        if not self.pending or self.pending_since is None:
            return
        wanted = (self.number + 1, self.pending[-1].seq)
        if self.marker_sent_for == wanted or time.monotonic() - self.pending_since < self.cut_wait:
            return
        data, mid = env.cut_marker(*wanted)
        self.orderer.submit(data, msg_id=mid)
        self.marker_sent_for = wanted

    def _publish_cosign(self) -> None:
        if not self.cosign:
            return
        size = self.frontier.size
        data, mid = env.cosign_message(self.signer, self.config["consortium"], size, self.frontier.root())
        try:
            self.orderer.submit(data, msg_id=mid)
        except OrderingError as exc:  # a later block's checkpoint, or the idle head, is signed instead
            log.warning("could not publish a checkpoint signature: %s", exc)
        else:
            self.signed_size = size

    def _check_cosign(self, msg: dict) -> tuple[int, str, bytes, bytes] | None:
        try:
            canonical(msg)  # no lone surrogate for the database, a tree size that fits its column
        except EncodingError:
            return None
        member = self.store.load_state([f"member/{msg['signer']}"]).get(f"member/{msg['signer']}")
        if member is None or member["revoked_block"] is not None:
            return None
        try:
            root, sig = bytes.fromhex(msg["root"]), unb64(msg["sig"])
        except (ValueError, EncodingError):
            return None
        data = env.checkpoint_bytes(self.config["consortium"], msg["tree_size"], root)
        if not crypto.verify(member["suite"], bytes.fromhex(member["public_key"]), data, sig):
            return None
        return (msg["tree_size"], msg["signer"], root, sig)

    def catch_up(self, *, idle_rounds: int = 2, timeout: float = 0.05, max_seconds: float = 60.0) -> None:
        """Apply everything currently in the order (used by tests and tools)."""
        end = time.monotonic() + max_seconds
        idle = 0
        while idle < idle_rounds and time.monotonic() < end:
            before = (self.number, self.scan_pos)
            self.step(timeout=timeout)
            after = (self.number, self.scan_pos)
            idle = idle + 1 if after == before else 0

    def close(self) -> None:
        self.conn.close()


def _classify(data: bytes) -> tuple[str, dict | None]:
    """The message's type without validating it (transactions are parsed fully by the executor);
    anything that is not a control message is treated as a transaction and judged there.

    A message ending in ``,"type":"tx"}`` (every canonical transaction envelope does) is a
    transaction without parsing: JSON strings cannot hold an unescaped quote, so that ending is
    the top-level object's last member, and the parser keeps the last of duplicate keys."""
    if data.endswith(b',"type":"tx"}'):
        return "tx", None
    try:
        msg = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return "tx", None
    kind = msg.get("type") if isinstance(msg, dict) else None
    if kind in ("cut", "cosign", "genesis"):
        try:
            return env.parse(data, "sha256")
        except EncodingError:
            return "tx", None
    return "tx", None


def run_node(*, dsn: str, orderer: Orderer, signer: env.Signer | None = None, stop: threading.Event | None = None,
             cut_after: float = 0.2, expected_genesis: bytes | None = None, cosign_interval: float = 0.0) -> None:
    """Run a node against `orderer` with its own database `dsn` until `stop` is set."""
    node = Node(dsn=dsn, orderer=orderer, signer=signer, cut_after=cut_after, expected_genesis=expected_genesis,
                cosign_interval=cosign_interval)
    try:
        node.run(stop)
    finally:
        node.close()
