"""Canonical encoding (RFC 8785 JSON) and the consortium's hash.

Everything that is hashed or signed on the ledger is a JSON object encoded with the JSON
Canonicalization Scheme (RFC 8785): sorted keys, no insignificant whitespace, one representation
per value. Amounts are integers in fen; floats are refused so that no value can round
differently on two nodes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import rfc8785

from fmis.platform.crypto import digest

HASHES = ("sha256", "sm3")
# JSON numbers above 2**53 lose precision in other languages' parsers; amounts stay below.
MAX_SAFE_INT = 2**53 - 1


class EncodingError(ValueError):
    """A value that has no canonical form on the ledger (float, bytes, huge integer, ...)."""


def _scan(value: Any) -> bool:
    """Refuse values without a canonical form; True if some key lies outside the Basic Multilingual
    Plane (RFC 8785 sorts keys by UTF-16 code units, Python by code points: they differ only there)."""
    astral = False
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is str or t is bool or v is None:
            continue
        if t is int:
            if not -MAX_SAFE_INT <= v <= MAX_SAFE_INT:
                raise EncodingError("integer out of the safe range")
            continue
        if t is dict:
            for k, item in v.items():
                if type(k) is not str:
                    raise EncodingError("keys must be strings")
                if not astral and k and not k.isascii() and max(k) > "\uffff":
                    astral = True
                stack.append(item)
            continue
        if t is list or t is tuple:
            stack.extend(v)
            continue
        if t is float:
            raise EncodingError("floats are not allowed (amounts are integers in fen)")
        raise EncodingError(f"{t.__name__} has no canonical JSON form")
    return astral


_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode


def canonical(value: Any) -> bytes:
    """The RFC 8785 encoding of `value` (UTF-8 bytes).

    For the values the ledger allows (strings, safe integers, booleans, null, objects, arrays) the
    standard library's sorted, compact, non-ASCII-escaping encoder produces exactly the RFC 8785
    bytes, except for key order when a key holds characters outside the BMP: those go through the
    ``rfc8785`` package. The tests compare both encoders on generated values."""
    try:
        if _scan(value):
            return rfc8785.dumps(value)
        return _dumps(value).encode("utf-8")
    except (UnicodeEncodeError, rfc8785.CanonicalizationError):
        # a lone surrogate (e.g. parsed from "\ud800"): no UTF-8 form, refused like any malformed value
        raise EncodingError("strings must be valid Unicode (no lone surrogates)") from None


def canonical_reference(value: Any) -> bytes:
    """The ``rfc8785`` package's encoding (for tests and cross-checks)."""
    _scan(value)
    return rfc8785.dumps(value)


def decode(data: bytes | str) -> Any:
    """Parse JSON, refusing floats and duplicate keys (so that decode(canonical(x)) == x)."""

    def no_dupes(pairs):
        out = {}
        for k, v in pairs:
            if k in out:
                raise EncodingError(f"duplicate key {k!r}")
            out[k] = v
        return out

    def no_float(text):
        raise EncodingError(f"floats are not allowed: {text}")

    try:
        return json.loads(data, object_pairs_hook=no_dupes, parse_float=no_float,
                          parse_constant=no_float)
    except (ValueError, TypeError) as exc:
        if isinstance(exc, EncodingError):
            raise
        raise EncodingError(f"not JSON: {exc}") from None


def decode_canonical(data: bytes) -> Any | None:
    """The value `data` encodes if `data` is exactly its canonical encoding, else None.

    The fast path for what the ledger itself wrote: the standard parser without the per-object
    duplicate-key hook, then one comparison with the re-encoding (a text with a duplicate key, a
    float or any other non-canonical form never equals the re-encoding of what it parses to). For
    None, ``decode`` gives the value or the precise error."""
    try:
        value = json.loads(data)  # a float or NaN parses, then ``canonical`` refuses it
        return value if canonical(value) == data else None
    except (ValueError, TypeError, RecursionError):
        return None


def is_canonical(data: bytes) -> bool:
    try:
        return canonical(decode(data)) == bytes(data)
    except EncodingError:
        return False


def _hash_function(name: str) -> Callable[[bytes], bytes]:
    """The fastest implementation of `name` here: hashlib's (OpenSSL) when it has the algorithm,
    else the platform's. The tests check both give the same digests."""
    if name in hashlib.algorithms_available:
        try:
            hashlib.new(name, b"")
        except ValueError:
            pass
        else:
            if name == "sha256":
                sha256 = hashlib.sha256
                return lambda data: sha256(data).digest()
            new = hashlib.new
            return lambda data: new(name, data).digest()
    return lambda data: digest(name, data)


HASH_FUNCTIONS: dict[str, Callable[[bytes], bytes]] = {name: _hash_function(name) for name in HASHES}


def hash_function(hash_name: str) -> Callable[[bytes], bytes]:
    """bytes -> digest for the consortium hash `hash_name` (bind it once, call it per item)."""
    try:
        return HASH_FUNCTIONS[hash_name]
    except KeyError:
        raise ValueError(f"unknown hash {hash_name!r}") from None


def hash_bytes(hash_name: str, data: bytes) -> bytes:
    return hash_function(hash_name)(bytes(data))


def b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise EncodingError("not base64") from None
