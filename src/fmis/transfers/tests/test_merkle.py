"""RFC 9162 Merkle tree: known vectors, proofs for many sizes, and agreement with pymerkle."""

from __future__ import annotations

import hashlib

import pymerkle
import pytest

from fmis.transfers.ledger import merkle
from fmis.transfers.ledger.merkle import Frontier, Hasher

H = Hasher("sha256")

# The leaves of the RFC 6962 / certificate-transparency reference test (merkle_tree_test.cc)
LEAVES = [bytes.fromhex(x) for x in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                      "606162636465666768696a6b6c6d6e6f"]]
# MTH(D[0:n]) for n = 1..8 from that reference
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, path) from the same reference
INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
# (old size, new size, proof)
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]

LEAF_HASHES = [H.leaf(x) for x in LEAVES]


def test_empty_tree_and_prefixes():
    assert merkle.root_of(H, []) == hashlib.sha256(b"").digest()
    assert H.leaf(b"") == hashlib.sha256(b"\x00").digest()
    assert H.node(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()


@pytest.mark.parametrize("n", range(1, 9))
def test_reference_roots(n):
    assert merkle.root_of(H, LEAF_HASHES[:n]).hex() == ROOTS[n - 1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_reference_inclusion_proofs(index, size, path):
    proof = merkle.inclusion_proof(H, LEAF_HASHES[:size], index)
    assert [p.hex() for p in proof] == path
    root = bytes.fromhex(ROOTS[size - 1])
    assert merkle.verify_inclusion(H, index, size, LEAF_HASHES[index], proof, root)
    # a wrong leaf, index, size or path element does not verify
    assert not merkle.verify_inclusion(H, index, size, H.leaf(b"other"), proof, root)
    if size > 1:
        assert not merkle.verify_inclusion(H, (index + 1) % size, size, LEAF_HASHES[index], proof, root)
        assert not merkle.verify_inclusion(H, index, size, LEAF_HASHES[index], proof[:-1], root)
        bad = [bytes(32)] + proof[1:]
        assert not merkle.verify_inclusion(H, index, size, LEAF_HASHES[index], bad, root)


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_reference_consistency_proofs(old, new, path):
    proof = merkle.consistency_proof(H, LEAF_HASHES[:new], old)
    assert [p.hex() for p in proof] == path
    old_root, new_root = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
    assert merkle.verify_consistency(H, old, new, old_root, new_root, proof)
    if old != new:
        assert not merkle.verify_consistency(H, old, new, new_root, old_root, proof)
        assert not merkle.verify_consistency(H, old, new, old_root, new_root, proof[:-1])


def test_frontier_matches_full_computation_and_stores_every_complete_subtree():
    leaves = [H.leaf(b"%d" % i) for i in range(70)]
    f = Frontier(H)
    stored = {}
    for i, leaf in enumerate(leaves):
        for level, idx, h in f.append(leaf):
            stored[(level, idx)] = h
        assert f.root() == merkle.root_of(H, leaves[: i + 1])
        # a frontier rebuilt from the stored nodes gives the same root
        parts = Frontier.parts_for(i + 1)
        assert Frontier(H, i + 1, [stored[p] for p in parts]).root() == f.root()
    for (level, idx), h in stored.items():
        assert h == merkle.root_of(H, leaves[idx << level:(idx + 1) << level])


def test_store_oracle_proofs_equal_in_memory_proofs():
    leaves = [H.leaf(b"x%d" % i) for i in range(37)]
    f = Frontier(H)
    stored = {}
    for leaf in leaves:
        stored.update({(lv, ix): h for lv, ix, h in f.append(leaf)})

    def perfect(a, b):
        return stored[((b - a).bit_length() - 1, a // (b - a))]

    for size in (1, 2, 5, 16, 37):
        for i in range(size):
            ranges = merkle.inclusion_ranges(i, size)
            assert [merkle.range_hash(H, a, b, perfect) for a, b in ranges] == \
                merkle.inclusion_proof(H, leaves[:size], i)
        for old in range(1, size + 1):
            ranges = merkle.consistency_ranges(old, size)
            assert [merkle.range_hash(H, a, b, perfect) for a, b in ranges] == \
                merkle.consistency_proof(H, leaves[:size], old)


def _pymerkle_tree(entries):
    t = pymerkle.InmemoryTree(algorithm="sha256")
    for e in entries:
        t.append_entry(e)
    return t


@pytest.mark.parametrize("size", [*range(1, 34), 64, 65, 100, 127, 128, 129, 255, 256, 257, 1000])
def test_agrees_with_pymerkle(size):
    entries = [b"entry-%d" % i for i in range(size)]
    leaves = [H.leaf(e) for e in entries]
    tree = _pymerkle_tree(entries)
    assert tree.get_root(size) == merkle.root_of(H, leaves)
    for i in sorted({0, size // 3, size // 2, size - 1}):
        ours = merkle.inclusion_proof(H, leaves, i)
        theirs = tree.prove_inclusion(i + 1, size)  # pymerkle counts from 1
        pymerkle.verify_inclusion(leaves[i], merkle.root_of(H, leaves), theirs)
        # pymerkle's path is the leaf followed by the same siblings, bottom up
        assert [bytes.fromhex(h) for h in theirs.serialize()["path"][1:]] == ours
        assert merkle.verify_inclusion(H, i, size, leaves[i], ours, tree.get_root(size))
    for old in sorted({1, size // 2 or 1, size - 1 or 1}):
        proof = merkle.consistency_proof(H, leaves, old)
        assert merkle.verify_consistency(H, old, size, tree.get_root(old), tree.get_root(size), proof)
        theirs = tree.prove_consistency(old, size)
        pymerkle.verify_consistency(tree.get_root(old), tree.get_root(size), theirs)


def test_sm3_tree_uses_sm3():
    sm = Hasher("sm3")
    leaves = [sm.leaf(b"a"), sm.leaf(b"b"), sm.leaf(b"c")]
    root = merkle.root_of(sm, leaves)
    assert root != merkle.root_of(H, [H.leaf(b"a"), H.leaf(b"b"), H.leaf(b"c")])
    proof = merkle.inclusion_proof(sm, leaves, 2)
    assert merkle.verify_inclusion(sm, 2, 3, leaves[2], proof, root)
