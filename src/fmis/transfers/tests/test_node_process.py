"""A node as its own process (no Django), and one node per database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from fmis.transfers.ledger.node import Node, NodeBusy
from fmis.transfers.ledger.noded import read_key_file, write_key_file
from fmis.transfers.tests.conftest import Chain, allocation_args

SRC = str(Path(__file__).resolve().parents[3])


def test_a_second_node_on_the_same_database_is_refused(chain):
    with pytest.raises(NodeBusy):
        Node(dsn=chain.node_dsns[0], orderer=chain.orderer)


def test_key_file_round_trip(consortium, tmp_path):
    signer = consortium.members[0].signer
    path = tmp_path / "k.json"
    write_key_file(str(path), signer)
    assert read_key_file(str(path)) == signer
    assert os.stat(path).st_mode & 0o077 == 0


def test_node_process_applies_the_order_and_stops_on_sigterm(consortium, make_db, tmp_path):
    ch = Chain(consortium, make_db, nodes=0)
    try:
        dsn = make_db("proc")
        key = tmp_path / "n.json"
        write_key_file(str(key), consortium.members[0].signer)
        proc = subprocess.Popen([sys.executable, "-m", "fmis.transfers.ledger.noded", "--dsn", dsn, "--orderer",
                                 f"pg:{ch.orderer.dsn}", "--key-file", str(key), "--cut-after", "0.05"],
                                env={**os.environ, "PYTHONPATH": SRC}, stderr=subprocess.DEVNULL)
        try:
            a = ch.tx("990000", "transfers.allocate", allocation_args())
            ch.submit(a)
            deadline = time.monotonic() + 30
            found = None
            while time.monotonic() < deadline and found is None:
                time.sleep(0.1)
                try:
                    with psycopg.connect(dsn) as conn:
                        found = conn.execute("SELECT valid FROM transfers_tx WHERE tx_id = %s",
                                             (a.tx_id,)).fetchone()
                except psycopg.errors.UndefinedTable:
                    pass
            assert found == (True,)
        finally:
            proc.terminate()
            assert proc.wait(15) == 0
    finally:
        ch.close()
