"""A node on the PostgreSQL orderer: contracts, invalid transactions with reasons, blocks."""

from __future__ import annotations

from fmis.transfers.ledger import membership
from fmis.transfers.ledger.envelope import make_tx
from fmis.transfers.tests.conftest import allocation_args


def _flow(chain):
    """Province → city (received) → county (received) → county spends."""
    a1 = chain.tx("990000", "transfers.allocate", allocation_args())
    chain.run(a1)
    assert chain.result(a1)[0] is True, chain.result(a1)
    chain.run(chain.tx("990100", "transfers.receive", {"allocation": a1.tx_id}))
    a2 = chain.tx("990100", "transfers.allocate", allocation_args(from_region="990100", to_region="990101",
                                                                  amount=60_000_000, parent=a1.tx_id))
    chain.run(a2)
    assert chain.result(a2)[0] is True, chain.result(a2)
    chain.run(chain.tx("990101", "transfers.receive", {"allocation": a2.tx_id}))
    e = chain.tx("990101", "transfers.expend", {"allocation": a2.tx_id, "amount": 25_000_000, "payee": "某县民政局",
                                                 "voucher_no": "ZF2026000001"})
    chain.run(e)
    assert chain.result(e)[0] is True, chain.result(e)
    return a1, a2


def test_genesis_block_and_members(chain):
    chain.nodes[0].catch_up()
    assert chain.nodes[0].number == 0
    assert chain.row("SELECT count(*) FROM transfers_member")[0] == len(chain.c.members)
    assert chain.row("SELECT tx_count, log_size FROM transfers_block WHERE number = 0") == (1, 1)


def test_allocation_down_the_levels_and_spending(chain):
    a1, a2 = _flow(chain)
    p, c = chain.alloc(a1.tx_id), chain.alloc(a2.tx_id)
    assert (p["amount"], p["sub_allocated"], p["spent"], p["received"]) == (100_000_000, 60_000_000, 0, True)
    assert (c["amount"], c["spent"], c["root"], c["parent"]) == (60_000_000, 25_000_000, a1.tx_id, a1.tx_id)
    assert chain.row("SELECT spent, sub_allocated FROM transfers_allocation WHERE id = %s",
                     (a2.tx_id,)) == (25_000_000, 0)
    kinds = [r[0] for r in chain.rows("SELECT kind FROM transfers_movement ORDER BY log_index")]
    assert kinds == ["allocate", "receive", "allocate", "receive", "expend"]


def test_recovery_returns_funds_to_the_parent_and_correction_changes_text(chain):
    a1, a2 = _flow(chain)
    r = chain.tx("990100", "transfers.recover", {"allocation": a2.tx_id, "amount": 35_000_000, "reason": "项目结余"})
    chain.run(r)
    assert chain.result(r)[0] is True
    assert chain.alloc(a2.tx_id)["recovered"] == 35_000_000
    assert chain.alloc(a1.tx_id)["sub_allocated"] == 25_000_000
    too_much = chain.tx("990100", "transfers.recover", {"allocation": a2.tx_id, "amount": 1, "reason": "再收回"})
    chain.run(too_much)
    assert chain.result(too_much)[:2] == (False, "allocation.over_recovered")
    fix = chain.tx("990000", "transfers.correct", {"allocation": a1.tx_id, "changes": {"purpose": "困难群众救助"},
                                                   "reason": "文号用途更正"})
    chain.run(fix)
    assert chain.result(fix)[0] is True
    assert chain.alloc(a1.tx_id)["purpose"] == "困难群众救助"


def _state_snapshot(chain):
    return chain.rows("SELECT key, value FROM transfers_state ORDER BY key")


def test_invalid_transactions_are_recorded_with_reasons_and_change_nothing(chain):
    a1, a2 = _flow(chain)
    before = _state_snapshot(chain)
    c = chain.c
    county = c.member("990101")
    # a county allocating on behalf of the province
    behalf = chain.tx("990101", "transfers.allocate", allocation_args(amount=1))
    # over-allocation: the city received 100,000,000 and already passed 60,000,000 down
    over = chain.tx("990100", "transfers.allocate", allocation_args(from_region="990100", to_region="990102",
                                                                    amount=40_000_001, parent=a1.tx_id))
    # forged: signed with another member's key under the county's certificate id
    forged_signer = type(county.signer)(county.cert_id, "ed25519", c.member("990100").keys.private_key)
    forged = make_tx(signer=forged_signer, consortium=c.config["consortium"], hash_name=c.hash_name,
                     function="transfers.expend", args={"allocation": a2.tx_id, "amount": 1, "payee": "x",
                                                        "voucher_no": "1"})
    # the supervision department may read but not allocate
    sup = chain.tx("SUP990000", "transfers.allocate", allocation_args(amount=1))
    # spending more than is available
    overspend = chain.tx("990101", "transfers.expend", {"allocation": a2.tx_id, "amount": 35_000_001,
                                                         "payee": "某单位", "voucher_no": "ZF2"})
    # a nonce used twice (different bodies)
    n1 = chain.tx("990101", "transfers.expend", {"allocation": a2.tx_id, "amount": 1, "payee": "a",
                                                  "voucher_no": "N1"}, nonce="fixed-nonce")
    n2 = chain.tx("990101", "transfers.expend", {"allocation": a2.tx_id, "amount": 2, "payee": "b",
                                                  "voucher_no": "N2"}, nonce="fixed-nonce")
    unknown = chain.tx("990000", "transfers.steal", {})
    chain.run(behalf, over, forged, sup, overspend, n1, n2, unknown)
    assert chain.result(behalf)[:2] == (False, "allocation.not_own_region")
    assert chain.result(over)[:2] == (False, "allocation.over_allocated")
    assert chain.result(forged)[:2] == (False, "signature.invalid")
    assert chain.result(sup)[:2] == (False, "role.forbidden")
    assert chain.result(overspend)[:2] == (False, "allocation.over_spent")
    assert chain.result(n1)[0] is True
    assert chain.result(n2)[:2] == (False, "nonce.reused")
    assert chain.result(unknown)[:2] == (False, "contract.unknown")
    after = _state_snapshot(chain)
    changed = {k for (k, v), (k2, v2) in zip(before, after, strict=True) if v != v2}
    assert changed == {f"alloc/{a2.tx_id}"}  # only n1's 1 fen
    assert chain.alloc(a2.tx_id)["spent"] == 25_000_001
    # a replay: the very same envelope submitted again under another message id
    chain.orderer.submit(n1.wire, msg_id="replay-" + n1.tx_id)
    chain.cut()
    rows = chain.rows("SELECT valid, reason FROM transfers_tx WHERE tx_id = %s ORDER BY log_index", (n1.tx_id,))
    assert rows == [(True, ""), (False, "tx.replayed")]
    assert chain.alloc(a2.tx_id)["spent"] == 25_000_001


def test_a_forged_copy_ordered_first_does_not_block_the_genuine_transaction(chain):
    import base64
    import json

    _a1, a2 = _flow(chain)
    genuine = chain.tx("990101", "transfers.expend", {"allocation": a2.tx_id, "amount": 7, "payee": "p",
                                                       "voucher_no": "G1"})
    forged = json.loads(genuine.wire)
    forged["sig"] = base64.b64encode(b"\x00" * 64).decode()
    from fmis.transfers.ledger.encoding import canonical

    chain.orderer.submit(canonical(forged), msg_id="forged-copy")
    chain.run(genuine)
    rows = chain.rows("SELECT valid, reason FROM transfers_tx WHERE tx_id = %s ORDER BY log_index", (genuine.tx_id,))
    assert rows == [(False, "signature.invalid"), (True, "")]
    assert chain.alloc(a2.tx_id)["spent"] == 25_000_007


def test_revoked_certificate_is_refused_from_the_publishing_block_on(chain):
    _a1, a2 = _flow(chain)
    c = chain.c
    county = c.member("990101")
    ok = chain.tx("990101", "transfers.expend", {"allocation": a2.tx_id, "amount": 1, "payee": "a", "voucher_no": "1"})
    crl = membership.revocation_list(ca=c.ca, number=1, revoked=[{"cert_id": county.cert_id, "reason": "exit"}])
    rev = chain.tx("ca", "membership.revoke", {"crl": crl})
    late = chain.tx("990101", "transfers.expend", {"allocation": a2.tx_id, "amount": 1, "payee": "b",
                                                    "voucher_no": "2"})
    chain.run(ok, rev, late)  # one block: before the revocation, the revocation, after it
    assert chain.result(ok)[0] is True
    assert chain.result(rev)[0] is True
    assert chain.result(late)[:2] == (False, "certificate.revoked")
    assert chain.row("SELECT revoked_block, revoke_reason FROM transfers_member WHERE cert_id = %s",
                     (county.cert_id,)) == (chain.nodes[0].number, "exit")
    # a member cannot publish a revocation list; a forged list is refused
    forged_crl = {"body": crl["body"], "signature": "00" * 64}
    bad = chain.tx("ca", "membership.revoke", {"crl": forged_crl})
    by_member = chain.tx("990000", "membership.revoke", {"crl": crl})
    chain.run(bad, by_member)
    assert chain.result(bad)[:2] == (False, "membership.bad_crl")
    assert chain.result(by_member)[:2] == (False, "role.forbidden")


def test_join_admits_a_new_member_who_can_then_transact(chain):
    from fmis.transfers.ledger.consortium import MemberSpec

    c = chain.c
    a1, _ = _flow(chain)
    new = c.issue(MemberSpec("990200", "二市财政局", "990200", "city", "finance"))
    early = c.tx(new.signer, "transfers.receive", {"allocation": a1.tx_id})
    chain.run(early)
    assert chain.result(early)[:2] == (False, "certificate.unknown")
    chain.run(chain.tx("ca", "membership.admit", {"certificate": new.certificate}))
    a3 = chain.tx("990000", "transfers.allocate", allocation_args(to_region="990200", amount=5))
    chain.run(a3)
    rec = c.tx(new.signer, "transfers.receive", {"allocation": a3.tx_id})
    chain.run(rec)
    assert chain.result(rec)[0] is True
    # a certificate from another CA is refused
    from fmis.transfers.ledger.consortium import create_consortium

    other = create_consortium(consortium="other", name="x", members=[MemberSpec("1", "x", "990300", "city",
                                                                                "finance")])
    bad = chain.tx("ca", "membership.admit", {"certificate": other.members[0].certificate})
    chain.run(bad)
    assert chain.result(bad)[:2] == (False, "membership.bad_certificate")


def test_blocks_are_cut_by_count_and_markers_are_harmless(chain):
    from fmis.transfers.ledger.envelope import cut_marker

    node = chain.nodes[0]
    node.cut_after = 3600  # only the test asks for cuts
    node.catch_up()
    txs = [chain.tx("990000", "transfers.allocate", allocation_args(amount=i + 1)) for i in range(120)]
    for t in txs[:60]:
        chain.submit(t)
    node.catch_up()
    assert node.number == 1  # 50 per block: one full block, 10 waiting
    # stale (block 1) and future (block 9) markers change nothing; the right one cuts
    for n in (1, 9):
        data, mid = cut_marker(n, 999)
        chain.orderer.submit(data, msg_id=mid)
    node.catch_up()
    assert node.number == 1
    chain.cut()
    assert node.number == 2
    assert chain.rows("SELECT number, tx_count FROM transfers_block ORDER BY number") == [(0, 1), (1, 50), (2, 10)]
    # a duplicate marker for a block already cut is harmless
    data, _ = cut_marker(2)
    chain.orderer.submit(data, msg_id="dup-cut-2")
    for t in txs[60:]:
        chain.submit(t)
    node.catch_up()
    assert chain.rows("SELECT number, tx_count FROM transfers_block ORDER BY number")[3] == (3, 50)
    times = [r[0] for r in chain.rows("SELECT time_ms FROM transfers_block ORDER BY number")]
    assert times == sorted(times)


def test_malformed_envelope_is_recorded_invalid(chain):
    chain.orderer.submit(b'{"type":"tx","body":1}', msg_id="junk")
    chain.orderer.submit(b"not json", msg_id="junk2")
    chain.cut()
    rows = chain.rows("SELECT valid, reason FROM transfers_tx WHERE block_number = 1 ORDER BY position")
    assert rows == [(False, "envelope.malformed"), (False, "envelope.malformed")]


def test_founders_ask_for_cuts_in_turn(consortium, make_db, monkeypatch):
    """A founder's node waits one more time-to-cut per founder listed before it (three at most), so
    that normally one node asks; a later one still asks when the first does not. The clock the node
    reads to decide when to ask is replaced here, so the test decides what time it is."""
    from types import SimpleNamespace

    import fmis.transfers.ledger.node as node_mod
    from fmis.transfers.tests.conftest import Chain

    chain = Chain(consortium, make_db, nodes=0)
    try:
        nodes = [chain.add_node(m.signer) for m in chain.c.members] + [chain.add_node(None)]
        for n in nodes:
            n.cut_after = 1.0
            n.catch_up()
        assert [n.cut_wait for n in nodes] == [1.0, 2.0, 3.0, 4.0, 4.0, 1.0]  # 5 founders, then no signer

        now = [1000.0]
        monkeypatch.setattr(node_mod, "time", SimpleNamespace(monotonic=lambda: now[0]))  # the node's clock only
        chain.submit(chain.tx("990000", "transfers.allocate", allocation_args()))
        second = nodes[1]
        second.step(timeout=0.05)  # the transaction waits in the block being assembled
        assert len(second.pending) == 1 and second.pending_since == 1000.0
        before = chain.orderer.last_seq()

        def markers() -> list[bytes]:
            return [m.data for m in chain.orderer.read(after=before, max_count=100, timeout=0.01)
                    if b'"type":"cut"' in m.data]

        now[0] = 1001.5  # past the first founder's turn, not the second's
        second.step(timeout=0.01)
        assert markers() == [] and second.number == 0
        now[0] = 1002.1  # nobody asked: the second founder does, and the block is cut
        second.step(timeout=0.01)
        second.step(timeout=0.05)
        assert markers() == [b'{"block":1,"type":"cut"}'] and second.number == 1
    finally:
        chain.close()
