"""A consortium using SM3 and SM2 members end to end, on two nodes."""

from __future__ import annotations

import pytest

from fmis.transfers.ledger import proofs
from fmis.transfers.ledger.verify import verify_node
from fmis.transfers.tests.conftest import Chain, allocation_args


@pytest.fixture
def smchain(sm_consortium, make_db):
    ch = Chain(sm_consortium, make_db, nodes=2)
    yield ch
    ch.close()


def test_sm2_sm3_chain_end_to_end(smchain):
    ch = smchain
    a1 = ch.tx("990000", "transfers.allocate", allocation_args())
    ch.run(a1)
    ch.run(ch.tx("990100", "transfers.receive", {"allocation": a1.tx_id}))
    over = ch.tx("990100", "transfers.allocate", allocation_args(from_region="990100", to_region="990101",
                                                                 amount=100_000_001, parent=a1.tx_id))
    ok = ch.tx("990100", "transfers.allocate", allocation_args(from_region="990100", to_region="990101",
                                                               amount=100_000_000, parent=a1.tx_id))
    ch.run(over, ok)
    assert ch.result(over)[:2] == (False, "allocation.over_allocated")
    assert ch.result(ok)[0] is True
    for n in ch.nodes:
        n.catch_up()
    heads = [ch.rows("SELECT hash, state_root FROM transfers_block ORDER BY number", node=i) for i in range(2)]
    assert heads[0] == heads[1]
    # SM3 everywhere: the leaf hash is SM3 of the prefixed leaf
    assert len(heads[0][0][0]) == 32
    for dsn in ch.node_dsns:
        rep = verify_node(dsn)
        assert rep.ok, rep.mismatch
    receipt = proofs.build_receipt(ch.nodes[0].conn, ok.tx_id)
    assert receipt["hash"] == "sm3"
    check = proofs.verify_receipt(receipt, ca_pem=ch.c.ca.certificate_pem)
    assert check.ok, check.problems
