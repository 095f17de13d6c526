"""The RFC 9162 Merkle tree: leaf and node hashing, inclusion and consistency proofs.

    leaf hash  = H(0x00 || data)
    node hash  = H(0x01 || left || right)
    MTH({})    = H()          (the hash of the empty string)

The hash is the consortium's (SHA-256 or SM3). Proof generation works over a *range oracle*:
a function giving MTH(D[start:end]) for the ranges the proof needs. In memory the oracle hashes a
list of leaf hashes; on a node it reads the stored hashes of complete subtrees (``NodeStore``),
so a proof costs O(log² n) stored hashes and never reads the whole log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from fmis.transfers.ledger.encoding import hash_function


class ProofError(ValueError):
    """A proof that does not verify or is malformed."""


def largest_power_of_two_below(n: int) -> int:
    """The largest power of two k with k < n (n >= 2)."""
    if n < 2:
        raise ValueError("n must be at least 2")
    return 1 << ((n - 1).bit_length() - 1)


@dataclass(frozen=True)
class Hasher:
    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash_function(self.name))

    def empty(self) -> bytes:
        return self._hash(b"")

    def leaf(self, data: bytes) -> bytes:
        return self._hash(b"\x00" + bytes(data))

    def node(self, left: bytes, right: bytes) -> bytes:
        return self._hash(b"\x01" + left + right)


# --- pure range arithmetic ------------------------------------------------------------------


def is_perfect(start: int, end: int) -> bool:
    size = end - start
    return size > 0 and size & (size - 1) == 0 and start % size == 0


def perfect_parts(start: int, end: int, out: list[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """The complete (aligned, power-of-two) subtrees MTH(D[start:end]) is built from."""
    out = [] if out is None else out
    if is_perfect(start, end):
        out.append((start, end))
        return out
    k = largest_power_of_two_below(end - start)
    perfect_parts(start, start + k, out)
    perfect_parts(start + k, end, out)
    return out


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form PATH(index, D[0:size]), leaf-side first (RFC 9162 2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError("index out of range")
    out: list[tuple[int, int]] = []

    def path(m: int, lo: int, hi: int) -> None:
        n = hi - lo
        if n == 1:
            return
        k = largest_power_of_two_below(n)
        if m < k:
            path(m, lo, lo + k)
            out.append((lo + k, hi))
        else:
            path(m - k, lo + k, hi)
            out.append((lo, lo + k))

    path(index, 0, size)
    return out


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form PROOF(old, D[0:new]) (RFC 9162 2.1.4.1)."""
    if not 0 < old <= new:
        raise ValueError("sizes out of range")
    out: list[tuple[int, int]] = []
    if old == new:
        return out

    def subproof(m: int, lo: int, hi: int, complete: bool) -> None:
        n = hi - lo
        if m == n:
            if not complete:
                out.append((lo, hi))
            return
        k = largest_power_of_two_below(n)
        if m <= k:
            subproof(m, lo, lo + k, complete)
            out.append((lo + k, hi))
        else:
            subproof(m - k, lo + k, hi, False)
            out.append((lo, lo + k))

    subproof(old, 0, new, True)
    return out


def range_hash(hasher: Hasher, start: int, end: int, perfect: Callable[[int, int], bytes]) -> bytes:
    """MTH(D[start:end]) from the hashes of complete subtrees."""
    if is_perfect(start, end):
        return perfect(start, end)
    k = largest_power_of_two_below(end - start)
    return hasher.node(range_hash(hasher, start, start + k, perfect),
                       range_hash(hasher, start + k, end, perfect))


# --- in memory ------------------------------------------------------------------------------


def root_of(hasher: Hasher, leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes."""
    if not leaf_hashes:
        return hasher.empty()
    return _mth(hasher, leaf_hashes, 0, len(leaf_hashes))


def _mth(hasher: Hasher, leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 1:
        return leaves[lo]
    k = largest_power_of_two_below(hi - lo)
    return hasher.node(_mth(hasher, leaves, lo, lo + k), _mth(hasher, leaves, lo + k, hi))


def inclusion_proof(hasher: Hasher, leaf_hashes: Sequence[bytes], index: int, size: int | None = None) -> list[bytes]:
    size = len(leaf_hashes) if size is None else size
    return [_mth(hasher, leaf_hashes, a, b) for a, b in inclusion_ranges(index, size)]


def consistency_proof(hasher: Hasher, leaf_hashes: Sequence[bytes], old: int, new: int | None = None) -> list[bytes]:
    new = len(leaf_hashes) if new is None else new
    return [_mth(hasher, leaf_hashes, a, b) for a, b in consistency_ranges(old, new)]


# --- verification (RFC 9162 2.1.3.2 and 2.1.4.2) --------------------------------------------


def root_from_inclusion(hasher: Hasher, index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]) -> bytes:
    if not 0 <= index < size:
        raise ProofError("index out of range")
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("proof too long")
        if fn & 1 or fn == sn:
            r = hasher.node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hasher.node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof too short")
    return r


def verify_inclusion(hasher: Hasher, index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes],
                     root: bytes) -> bool:
    try:
        return root_from_inclusion(hasher, index, size, leaf_hash, proof) == root
    except ProofError:
        return False


def verify_consistency(hasher: Hasher, old: int, new: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    if not 0 < old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    proof = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is the first node of the path
        proof = [old_root, *proof]
    if not proof:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = hasher.node(c, fr)
            sr = hasher.node(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hasher.node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# --- appending: the frontier of complete subtrees ---------------------------------------------


class Frontier:
    """The right edge of a growing tree: one complete subtree hash per set bit of the size.

    ``append`` returns the new complete-subtree hashes (level, index, hash) so that a store can
    keep them; ``root`` folds the frontier into MTH(D[0:size]).
    """

    def __init__(self, hasher: Hasher, size: int = 0, hashes: Iterable[bytes] = ()):
        self.hasher = hasher
        self.size = size
        self.stack: list[tuple[int, bytes]] = []  # (level, hash), largest first
        hs = list(hashes)
        levels = [b for b in range(size.bit_length() - 1, -1, -1) if size >> b & 1]
        if len(hs) != len(levels):
            raise ValueError("frontier hashes do not match the size")
        self.stack = list(zip(levels, hs, strict=True))

    @staticmethod
    def parts_for(size: int) -> list[tuple[int, int]]:
        """(level, index) of the complete subtrees forming the frontier of a tree of `size`."""
        out, start = [], 0
        for b in range(size.bit_length() - 1, -1, -1):
            if size >> b & 1:
                out.append((b, start >> b))
                start += 1 << b
        return out

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        new = [(0, self.size, leaf_hash)]
        level, h, idx = 0, leaf_hash, self.size
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            h = self.hasher.node(left, h)
            level += 1
            idx >>= 1
            new.append((level, idx, h))
        self.stack.append((level, h))
        self.size += 1
        return new

    def root(self) -> bytes:
        if not self.stack:
            return self.hasher.empty()
        r = self.stack[-1][1]
        for _, h in reversed(self.stack[:-1]):
            r = self.hasher.node(h, r)
        return r
