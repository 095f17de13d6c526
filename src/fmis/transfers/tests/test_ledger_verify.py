"""Several nodes agree; restart and new-node sync; verify names tampering; receipts verify offline."""

from __future__ import annotations

import json

import pytest

from fmis.transfers.ledger import proofs
from fmis.transfers.ledger.verify import verify_node
from fmis.transfers.tests.conftest import Chain, allocation_args


def _workload(chain, n=30):
    a1 = chain.tx("990000", "transfers.allocate", allocation_args())
    chain.run(a1)
    chain.run(chain.tx("990100", "transfers.receive", {"allocation": a1.tx_id}))
    a2 = chain.tx("990100", "transfers.allocate", allocation_args(from_region="990100", to_region="990101",
                                                                  amount=60_000_000, parent=a1.tx_id))
    chain.run(a2, chain.tx("990100", "transfers.allocate", allocation_args(
        from_region="990100", to_region="990102", amount=50_000_000, parent=a1.tx_id)))  # the second is over
    chain.run(chain.tx("990101", "transfers.receive", {"allocation": a2.tx_id}))
    spends = [chain.tx("990101", "transfers.expend", {"allocation": a2.tx_id, "amount": 1_000_000 + i,
                                                      "payee": f"收款人{i}", "voucher_no": f"ZF{i:06d}"})
              for i in range(n)]
    chain.run(*spends)
    return a1, a2, spends


def _heads(chain):
    return [chain.rows("SELECT number, hash, state_root, log_root FROM transfers_block ORDER BY number", node=i)
            for i in range(len(chain.nodes))]


@pytest.fixture
def chain3(consortium, make_db):
    ch = Chain(consortium, make_db, nodes=3)
    yield ch
    ch.close()


def test_nodes_agree_restart_catches_up_and_a_new_node_syncs_from_genesis(chain3):
    ch = chain3
    _workload(ch, 10)
    # node 2 goes down; work continues
    down_dsn = ch.node_dsns[2]
    ch.nodes[2].close()
    ch.nodes = ch.nodes[:2]
    _, _a2, _ = _workload(ch, 70)  # more than one block by count
    # it comes back and catches up from the stream; a brand-new node syncs from genesis
    ch.nodes.append(ch.Node(dsn=down_dsn, orderer=ch.orderer, signer=ch.c.members[2].signer, cut_after=0.0))
    ch.add_node(ch.c.members[3].signer)
    for n in ch.nodes:
        n.catch_up()
    heads = _heads(ch)
    assert len(heads[0]) > 5
    assert all(h == heads[0] for h in heads)
    for dsn in ch.node_dsns:
        rep = verify_node(dsn)
        assert rep.ok, rep.mismatch
    states = [ch.rows("SELECT key, value FROM transfers_state ORDER BY key", node=i) for i in range(4)]
    assert all(s == states[0] for s in states)


def test_verify_passes_on_an_honest_node(chain):
    _workload(chain)
    rep = verify_node(chain.node_dsns[0])
    assert rep.ok, rep.mismatch
    assert rep.blocks == chain.nodes[0].number + 1
    assert rep.head_hash == chain.row("SELECT hash FROM transfers_block ORDER BY number DESC LIMIT 1")[0].hex()


def _tamper(chain, sql, params=()):
    conn = chain.nodes[0].conn
    conn.execute(sql, params)
    conn.commit()


def test_verify_names_a_changed_amount_in_a_stored_transaction(chain):
    _, _, spends = _workload(chain)
    victim = spends[3]
    wire = victim.wire.replace(b'"amount":1000003', b'"amount":9000003')
    assert wire != victim.wire
    _tamper(chain, "UPDATE transfers_tx SET envelope = %s WHERE tx_id = %s", (wire, victim.tx_id))
    rep = verify_node(chain.node_dsns[0])
    m = rep.mismatch
    assert m is not None and m.where == "transaction"
    block, index = chain.row("SELECT block_number, log_index FROM transfers_tx WHERE tx_id = %s", (victim.tx_id,))
    assert (m.block, m.log_index) == (block, index)
    assert f"block {block}, transaction {index}" in str(m)


def test_verify_names_a_changed_block_header(chain):
    _workload(chain)
    _tamper(chain, "UPDATE transfers_block SET time_ms = time_ms + 1 WHERE number = 3")
    m = verify_node(chain.node_dsns[0]).mismatch
    assert (m.where, m.block) == ("block", 3)  # the time feeds the state (allocation times) and the hash


def test_verify_names_a_changed_state_root_in_a_header(chain):
    _workload(chain)
    _tamper(chain, "UPDATE transfers_block SET state_root = %s WHERE number = 2", (b"\x01" * 32,))
    m = verify_node(chain.node_dsns[0]).mismatch
    assert (m.where, m.block) == ("block", 2) and "state_root" in m.what


def test_verify_names_a_changed_world_state_row(chain):
    _, a2, _ = _workload(chain)
    _tamper(chain, "UPDATE transfers_state SET value = jsonb_set(value, '{spent}', '1') WHERE key = %s",
            (f"alloc/{a2.tx_id}",))
    m = verify_node(chain.node_dsns[0]).mismatch
    assert m.where == "state" and a2.tx_id in m.what


def test_verify_names_a_changed_projection_row(chain):
    _, a2, _ = _workload(chain)
    _tamper(chain, "UPDATE transfers_allocation SET amount = amount + 100 WHERE id = %s", (a2.tx_id,))
    m = verify_node(chain.node_dsns[0]).mismatch
    assert m.where == "projection" and a2.tx_id[:16] in m.what


def test_verify_names_a_flipped_validity(chain):
    _a1, _a2, _spends = _workload(chain)
    over = chain.row("SELECT tx_id, block_number FROM transfers_tx WHERE reason = 'allocation.over_allocated'")
    _tamper(chain, "UPDATE transfers_tx SET valid = true, reason = '' WHERE tx_id = %s", (over[0],))
    m = verify_node(chain.node_dsns[0]).mismatch
    assert (m.where, m.block, m.tx_id) == ("transaction", over[1], over[0])


def test_receipt_verifies_offline_and_detects_changes(chain3):
    ch = chain3
    _, _a2, spends = _workload(ch)
    for n in ch.nodes:  # let every node read the others' checkpoint signatures
        n.catch_up()
    receipt = proofs.build_receipt(ch.nodes[0].conn, spends[5].tx_id)
    data = json.loads(json.dumps(receipt))  # as read back from a file
    check = proofs.verify_receipt(data, ca_pem=ch.c.ca.certificate_pem)
    assert check.ok, check.problems
    assert len(check.signers) >= ch.c.config["quorum"]
    # another node gives an equivalent receipt for the same checkpoint
    other = proofs.build_receipt(ch.nodes[1].conn, spends[5].tx_id)
    assert other["checkpoint"]["root"] == receipt["checkpoint"]["root"]
    # a changed amount in the envelope breaks the proof and the signature
    bad = json.loads(json.dumps(receipt))
    import base64

    env = base64.b64decode(bad["transaction"]["envelope"]).replace(b'"amount":1000005', b'"amount":9000005')
    bad["transaction"]["envelope"] = base64.b64encode(env).decode()
    assert not proofs.verify_receipt(bad).ok
    # a claimed validity change breaks the proof
    bad = json.loads(json.dumps(receipt))
    bad["transaction"]["valid"] = False
    assert any("inclusion" in p for p in proofs.verify_receipt(bad).problems)
    # too few co-signatures
    bad = json.loads(json.dumps(receipt))
    bad["checkpoint"]["signatures"] = bad["checkpoint"]["signatures"][:1]
    assert any("co-signatures" in p for p in proofs.verify_receipt(bad).problems)
    # another CA as trust anchor
    from fmis.transfers.ledger.membership import RootCA

    assert not proofs.verify_receipt(receipt, ca_pem=RootCA.create(consortium="x").certificate_pem).ok


def test_consistency_proofs_from_the_store(chain):
    from fmis.transfers.ledger import merkle
    from fmis.transfers.ledger.store import NodeStore

    _workload(chain)
    store = NodeStore(chain.nodes[0].conn)
    hasher = merkle.Hasher("sha256")
    sizes = [r[0] for r in chain.rows("SELECT log_size FROM transfers_block ORDER BY number")]
    roots = {s: bytes(r) for s, r in chain.rows("SELECT log_size, log_root FROM transfers_block")}
    for old in sizes:
        for new in sizes:
            if old <= new:
                proof = proofs.consistency_path(store, hasher, old, new)
                assert merkle.verify_consistency(hasher, old, new, roots[old], roots[new], proof)
        assert proofs.tree_root(store, hasher, old) == roots[old]


def test_no_receipt_without_a_quorum(chain):
    chain.nodes[0].cosign = False
    a1 = chain.tx("990000", "transfers.allocate", allocation_args())
    chain.run(a1)
    with pytest.raises(proofs.ReceiptError):
        proofs.build_receipt(chain.nodes[0].conn, a1.tx_id)
