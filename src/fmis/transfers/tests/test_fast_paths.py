"""The node's fast paths give exactly what the general code gives: hashing, canonical decoding,
envelope parsing, leaf data, message classification; checkpoints signed once per interval."""

from __future__ import annotations

import json
import os

import pytest

from fmis.platform import crypto
from fmis.transfers.ledger import envelope as env
from fmis.transfers.ledger import proofs
from fmis.transfers.ledger.encoding import (
    EncodingError,
    b64,
    canonical,
    decode,
    decode_canonical,
    hash_bytes,
    hash_function,
)
from fmis.transfers.ledger.executor import TxResult, leaf_data
from fmis.transfers.ledger.merkle import Hasher
from fmis.transfers.ledger.node import _classify
from fmis.transfers.ledger.verify import verify_node
from fmis.transfers.tests.conftest import Chain, allocation_args


@pytest.mark.parametrize("name", ["sha256", "sm3"])
def test_hash_functions_match_the_platform_digests(name):
    for size in (0, 1, 55, 56, 64, 1000):
        data = os.urandom(size)
        assert hash_bytes(name, data) == crypto.digest(name, data)
        assert hash_function(name)(data) == crypto.digest(name, data)
    h = Hasher(name)
    assert h.leaf(b"x") == crypto.digest(name, b"\x00x")
    assert h.node(b"a" * 32, b"b" * 32) == crypto.digest(name, b"\x01" + b"a" * 32 + b"b" * 32)
    assert h.empty() == crypto.digest(name, b"")
    with pytest.raises(ValueError):
        hash_bytes("md5", b"")


def test_decode_canonical_takes_only_canonical_text():
    value = {"b": [1, "二", None, True], "a": {"y": -5, "x": ""}}
    text = canonical(value)
    assert decode_canonical(text) == value
    for other in (b'{"a":{"x":"","y":-5}, "b":[1,"\xe4\xba\x8c",null,true]}',  # whitespace
                  b'{"b":[1,"\\u4e8c",null,true],"a":{"x":"","y":-5}}',  # key order, escapes
                  b'{"a":1,"a":1}',  # a duplicate key
                  b'{"a":1.0}', b'{"a":NaN}', b'{"a":9007199254740993}',  # float, constant, unsafe integer
                  b"not json", b"\xff\xfe"):
        assert decode_canonical(other) is None
    with pytest.raises(EncodingError):
        decode(b'{"a":1,"a":1}')


def _tx(consortium, args):
    return consortium.tx(consortium.member("990100").signer, "transfers.expend", args)


def test_parse_gives_the_same_transaction_for_any_encoding_of_the_envelope(consortium):
    args = {"allocation": "a" * 64, "amount": 12, "payee": "收款人", "voucher_no": "ZF1",
            "\U0001d11e键": "astral key", "\uff21": "BMP key"}  # keys whose UTF-16 and code-point orders differ
    tx = _tx(consortium, args)
    kind, fast = env.parse(tx.wire, consortium.hash_name)
    assert kind == "tx"
    assert fast.body_bytes == canonical(tx.body) == tx.body_bytes
    assert fast.tx_id == tx.tx_id and fast.signature == tx.signature and fast.wire == tx.wire
    # the same envelope written differently: parsed strictly, same body, id and signature
    loose = json.dumps({"sig": b64(tx.signature), "type": "tx", "body": tx.body}, indent=1).encode()
    assert decode_canonical(loose) is None
    _, slow = env.parse(loose, consortium.hash_name)
    assert (slow.tx_id, slow.body, slow.body_bytes, slow.signature) == (tx.tx_id, tx.body, tx.body_bytes,
                                                                        tx.signature)
    assert slow.wire == loose
    # a duplicated key is refused however the envelope ends
    dup = tx.wire[:-1] + b',"type":"tx"}'
    with pytest.raises(EncodingError):
        env.parse(dup, consortium.hash_name)


def test_leaf_data_is_the_canonical_encoding():
    cases = [(1, True, "", b'{"type":"tx"}'), (0, False, "signature.invalid", os.urandom(300)),
             (2**40, False, "原因\u2028\"\\\x01", b""), (7, False, "\U0001d11e", b"\x00")]
    for block, valid, reason, wire in cases:
        r = TxResult(1, wire, "id", "", "", "", valid, reason)
        assert leaf_data(block, r) == canonical({"block": block, "envelope": b64(wire), "valid": valid,
                                                 "reason": reason})


def _classify_by_parsing(data: bytes):
    """The classification as the general code does it: parse, look at the type."""
    try:
        msg = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return "tx"
    kind = msg.get("type") if isinstance(msg, dict) else None
    if kind in ("cut", "cosign", "genesis"):
        try:
            return env.parse(data, "sha256")[0]
        except EncodingError:
            return "tx"
    return "tx"


def test_classification_without_parsing_agrees_with_parsing(consortium):
    tx = _tx(consortium, {"allocation": "a", "amount": 1, "payee": "p", "voucher_no": "v"})
    cosign, _ = env.cosign_message(consortium.member("990000").signer, "c", 3, b"\x01" * 32)
    messages = [
        tx.wire, env.cut_marker(4, 9)[0], cosign, consortium.genesis,
        b'{"block":4,"type":"cut"}', b'{ "type" : "cut", "block" : 4 }',
        b'{"body":1,"type":"cut","type":"tx"}',  # the parser keeps the last duplicate
        b'{"body":1,"type":"tx","type":"cut"}',
        b'{"body":{"type":"tx"}}', b'{"x":"\\",\\"type\\":\\"tx\\"}', b'{"type":"cut","block":"x"}',
        b'[1,2]', b"garbage", b'{"type":"tx"}', b"",
    ]
    for data in messages:
        assert _classify(data)[0] == _classify_by_parsing(data), data


# --- checkpoints once per interval -----------------------------------------------------------


def _burst(ch, n):
    """Allocation and receipt, then `n` expenditures submitted at once and applied in one go."""
    from fmis.transfers.ledger.envelope import cut_marker

    a1 = ch.tx("990000", "transfers.allocate", allocation_args())
    ch.run(a1)
    ch.run(ch.tx("990100", "transfers.receive", {"allocation": a1.tx_id}))
    spends = [ch.tx("990100", "transfers.expend", {"allocation": a1.tx_id, "amount": 10 + i, "payee": f"收款人{i}",
                                                   "voucher_no": f"ZF{i:06d}"}) for i in range(n)]
    before = ch.nodes[0].number
    for t in spends:
        ch.submit(t)
    data, mid = cut_marker(before + n // ch.c.config["block_max_txs"] + 1, ch.orderer.last_seq())
    ch.orderer.submit(data, msg_id=mid)
    for _ in range(2):  # the second round reads the others' checkpoint signatures
        for node in ch.nodes:
            node.catch_up(idle_rounds=2, timeout=0.01)
    return spends, before


def _signed_sizes(ch, after_block):
    log_size = ch.row("SELECT log_size FROM transfers_block WHERE number = %s", (after_block,))[0]
    return {r[0] for r in ch.rows("SELECT DISTINCT tree_size FROM transfers_cosign WHERE tree_size > %s",
                                  (log_size,))}


@pytest.fixture
def chain3_hourly(consortium, make_db):
    ch = Chain(consortium, make_db, nodes=3)
    for node in ch.nodes:
        node.cosign_interval_ms = 3_600_000
    yield ch
    ch.close()


def test_with_an_interval_nodes_sign_the_idle_head_and_receipts_still_verify(chain3_hourly):
    ch = chain3_hourly
    spends, before = _burst(ch, 130)  # three blocks: 50, 50 and 30 transactions
    blocks = ch.rows("SELECT number, log_size FROM transfers_block WHERE number > %s ORDER BY number", (before,))
    assert [b[0] for b in blocks] == [before + 1, before + 2, before + 3]
    head_size = blocks[-1][1]
    signed = _signed_sizes(ch, before)
    # blocks applied while the order still had more are not signed (unless one began a new hour)
    assert head_size in signed and len(signed) <= 2
    counts = dict(ch.rows("SELECT tree_size, count(*) FROM transfers_cosign GROUP BY tree_size"))
    assert counts[head_size] == 3  # every node signed the same head: a quorum
    receipt = proofs.build_receipt(ch.nodes[0].conn, spends[3].tx_id)
    ch.nodes[0].conn.commit()
    check = proofs.verify_receipt(json.loads(json.dumps(receipt)), ca_pem=ch.c.ca.certificate_pem)
    assert check.ok, check.problems
    assert all(h == ch.rows("SELECT hash FROM transfers_block ORDER BY number", node=0)
               for h in (ch.rows("SELECT hash FROM transfers_block ORDER BY number", node=i) for i in range(3)))
    assert verify_node(ch.node_dsns[1]).ok


def test_without_an_interval_every_block_is_signed(consortium, make_db):
    ch = Chain(consortium, make_db, nodes=2)
    try:
        _spends, before = _burst(ch, 130)
        sizes = [r[0] for r in ch.rows("SELECT log_size FROM transfers_block WHERE number > %s", (before,))]
        assert set(sizes) <= _signed_sizes(ch, before)
    finally:
        ch.close()


def test_a_lone_surrogate_is_a_malformed_envelope_not_a_stopped_node(chain):
    good = chain.tx("990000", "transfers.allocate", allocation_args())
    text = good.wire.decode().replace('"purpose":"', '"purpose":"\\ud800', 1).encode()
    with pytest.raises(EncodingError):
        canonical(json.loads(text))
    with pytest.raises(EncodingError):
        env.parse(text, chain.c.hash_name)
    chain.orderer.submit(text, msg_id="surrogate")
    chain.run(good)
    rows = chain.rows("SELECT valid, reason, envelope FROM transfers_tx WHERE block_number > 0 ORDER BY log_index")
    assert [(r[0], r[1], bytes(r[2])) for r in rows] == [(False, "envelope.malformed", text), (True, "", good.wire)]
    assert verify_node(chain.node_dsns[0]).ok


def test_checkpoint_signatures_without_a_canonical_form_are_dropped_not_fatal(chain):
    bad = [b'{"type":"cosign","tree_size":1,"root":"00","signer":"\\ud800","sig":"AAAA"}',
           b'{"type":"cosign","tree_size":1180591620717411303424,"root":"00","signer":"x","sig":"AAAA"}']
    for i, data in enumerate(bad):
        assert _classify(data)[0] == "cosign"
        chain.orderer.submit(data, msg_id=f"bad-{i}")
    good = chain.tx("990000", "transfers.allocate", allocation_args())
    chain.run(good)
    assert chain.result(good)[0] is True
    assert chain.row("SELECT count(*) FROM transfers_cosign WHERE signer IN ('x', 'ud800')")[0] == 0
    assert verify_node(chain.node_dsns[0]).ok
