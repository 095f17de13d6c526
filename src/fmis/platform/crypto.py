"""The platform's signing interface: one protocol, two suites (Ed25519 and SM2), two hashes.

Keys are raw bytes, the form both libraries use and the form stored next to certificates:

=========  =====================  ==============================  =====================
suite      private key            public key                      signature
=========  =====================  ==============================  =====================
ed25519    32 bytes (seed)        32 bytes                        64 bytes (R || S)
sm2        32 bytes (scalar d)    64 bytes (X || Y, no 04 prefix)  DER SEQUENCE {r, s}
=========  =====================  ==============================  =====================

SM2 signatures follow GB/T 32918.2 with the signer id ``1234567812345678`` (GM/T 0009's default):
the signed digest is ``SM3(Z || message)`` with ``Z = SM3(ENTL || ID || a || b || xG || yG || xA
|| yA)``. They interoperate with ``openssl`` given ``-sigopt distid:1234567812345678``. Each suite
also names the hash that goes with it (``sha256`` with Ed25519, ``sm3`` with SM2) for digests of
documents, Merkle trees and blocks. PEM import and export (PKCS#8, SubjectPublicKeyInfo) let keys
move to and from other tools; loading raises ValueError for malformed input and TypeError for a
key of the other suite's algorithm.

    suite = get_suite("sm2")
    pair = generate_keypair(suite)
    sig = sign(suite, pair.private_key, b"data")
    assert verify(suite, pair.public_key, b"data", sig)
"""

from __future__ import annotations

import base64
import functools
import hmac
import textwrap
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HASHES = {"sha256": hashes.SHA256, "sm3": hashes.SM3}


def digest(name: str, data: bytes) -> bytes:
    """SHA-256 or SM3 of `data` (32 bytes)."""
    try:
        algorithm = HASHES[name]()
    except KeyError:
        raise ValueError(f"unknown hash {name!r}; use one of {sorted(HASHES)}") from None
    h = hashes.Hash(algorithm)
    h.update(bytes(data))
    return h.finalize()


@dataclass(frozen=True)
class KeyPair:
    suite: str
    private_key: bytes = field(repr=False)
    public_key: bytes


@runtime_checkable
class SignatureSuite(Protocol):
    """What the treasury and the consortium ledger sign with."""

    name: str
    hash_name: str
    public_key_size: int

    def generate_keypair(self) -> KeyPair: ...

    def public_key(self, private_key: bytes) -> bytes: ...

    def sign(self, private_key: bytes, data: bytes) -> bytes: ...

    def verify(self, public_key: bytes, data: bytes, signature: bytes) -> bool: ...

    def public_key_to_pem(self, public_key: bytes) -> str: ...

    def public_key_from_pem(self, pem: str | bytes) -> bytes: ...

    def private_key_to_pem(self, private_key: bytes) -> str: ...

    def private_key_from_pem(self, pem: str | bytes) -> bytes: ...


def _check_len(what: str, value: bytes, size: int) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)) or len(value) != size:
        got = len(value) if isinstance(value, (bytes, bytearray, memoryview)) else type(value).__name__
        raise ValueError(f"{what} must be {size} bytes, got {got}")
    return bytes(value)


# --- Ed25519 ---------------------------------------------------------------------------------


class Ed25519Suite:
    name = "ed25519"
    hash_name = "sha256"
    public_key_size = 32

    def generate_keypair(self) -> KeyPair:
        sk = Ed25519PrivateKey.generate()
        return KeyPair(self.name, sk.private_bytes_raw(), sk.public_key().public_bytes_raw())

    def _private(self, private_key: bytes) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(_check_len("Ed25519 private key", private_key, 32))

    def public_key(self, private_key: bytes) -> bytes:
        return self._private(private_key).public_key().public_bytes_raw()

    def sign(self, private_key: bytes, data: bytes) -> bytes:
        return self._private(private_key).sign(bytes(data))

    def verify(self, public_key: bytes, data: bytes, signature: bytes) -> bool:
        pk = Ed25519PublicKey.from_public_bytes(_check_len("Ed25519 public key", public_key, 32))
        if not isinstance(signature, (bytes, bytearray)) or len(signature) != 64:
            return False
        try:
            pk.verify(bytes(signature), bytes(data))
        except InvalidSignature:
            return False
        return True

    def public_key_to_pem(self, public_key: bytes) -> str:
        pk = Ed25519PublicKey.from_public_bytes(_check_len("Ed25519 public key", public_key, 32))
        return pk.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def public_key_from_pem(self, pem: str | bytes) -> bytes:
        try:
            pk = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
        except UnsupportedAlgorithm as exc:
            raise ValueError(f"not an Ed25519 public key: {exc}") from None
        if not isinstance(pk, Ed25519PublicKey):
            raise TypeError("not an Ed25519 public key")
        return pk.public_bytes_raw()

    def private_key_to_pem(self, private_key: bytes) -> str:
        return self._private(private_key).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()

    def private_key_from_pem(self, pem: str | bytes) -> bytes:
        try:
            sk = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
        except UnsupportedAlgorithm as exc:
            raise ValueError(f"not an Ed25519 private key: {exc}") from None
        if not isinstance(sk, Ed25519PrivateKey):
            raise TypeError("not an Ed25519 private key")
        return sk.private_bytes_raw()


# --- SM2 (GB/T 32918) -------------------------------------------------------------------------

_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
_GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
_GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

SM2_DEFAULT_SIGNER_ID = b"1234567812345678"

# DER object identifiers
_OID_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")  # 1.2.840.10045.2.1
_OID_SM2_CURVE = bytes.fromhex("06082a811ccf5501822d")  # 1.2.156.10197.1.301


def _jacobian_double(p):
    x, y, z = p
    if y == 0 or z == 0:
        return (0, 1, 0)
    # a = -3: M = 3 (X - Z^2)(X + Z^2)
    zz = z * z % _P
    m = 3 * (x - zz) * (x + zz) % _P
    yy = y * y % _P
    s = 4 * x * yy % _P
    x3 = (m * m - 2 * s) % _P
    y3 = (m * (s - x3) - 8 * yy * yy) % _P
    z3 = 2 * y * z % _P
    return (x3, y3, z3)


def _jacobian_add(p, q):
    if p[2] == 0:
        return q
    if q[2] == 0:
        return p
    x1, y1, z1 = p
    x2, y2, z2 = q
    z1z1, z2z2 = z1 * z1 % _P, z2 * z2 % _P
    u1, u2 = x1 * z2z2 % _P, x2 * z1z1 % _P
    s1, s2 = y1 * z2 * z2z2 % _P, y2 * z1 * z1z1 % _P
    if u1 == u2:
        return _jacobian_double(p) if s1 == s2 else (0, 1, 0)
    h, r = (u2 - u1) % _P, (s2 - s1) % _P
    hh = h * h % _P
    hhh = h * hh % _P
    v = u1 * hh % _P
    x3 = (r * r - hhh - 2 * v) % _P
    y3 = (r * (v - x3) - s1 * hhh) % _P
    z3 = h * z1 * z2 % _P
    return (x3, y3, z3)


def _scalar_base_mult(k: int) -> tuple[int, int]:
    acc, addend = (0, 1, 0), (_GX, _GY, 1)
    while k:
        if k & 1:
            acc = _jacobian_add(acc, addend)
        addend = _jacobian_double(addend)
        k >>= 1
    x, y, z = acc
    zinv = pow(z, -1, _P)
    zinv2 = zinv * zinv % _P
    return x * zinv2 % _P, y * zinv2 * zinv % _P


def _on_curve(x: int, y: int) -> bool:
    return x < _P and y < _P and (y * y - (x * x * x + _A * x + _B)) % _P == 0


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


def _der_read(buf: bytes, pos: int = 0) -> tuple[int, bytes, int]:
    """One TLV at `pos`: (tag, value, position after it)."""
    if pos + 2 > len(buf):
        raise ValueError("truncated DER")
    tag, first = buf[pos], buf[pos + 1]
    pos += 2
    if first < 0x80:
        n = first
    else:
        k = first & 0x7F
        if k == 0 or k > 4 or pos + k > len(buf):
            raise ValueError("bad DER length")
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > len(buf):
        raise ValueError("truncated DER")
    return tag, buf[pos:pos + n], pos + n


def _der_children(value: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(value):
        tag, body, pos = _der_read(value, pos)
        out.append((tag, body))
    return out


def _pem(label: str, der: bytes) -> str:
    b64 = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n"


def _unpem(pem: str | bytes, label: str) -> bytes:
    text = pem.decode() if isinstance(pem, bytes) else pem
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    if begin not in text or end not in text:
        raise ValueError(f"not a PEM {label}")
    body = text.split(begin, 1)[1].split(end, 1)[0]
    return base64.b64decode("".join(body.split()), validate=True)


def _signature_well_formed(sig: bytes) -> bool:
    """DER SEQUENCE of two INTEGERs in [1, n-1], nothing after it."""
    try:
        tag, body, end = _der_read(sig)
        if tag != 0x30 or end != len(sig):
            return False
        parts = _der_children(body)
    except ValueError:
        return False
    if len(parts) != 2 or any(t != 0x02 or not v for t, v in parts):
        return False
    for _, v in parts:
        if v[0] & 0x80 or (len(v) > 1 and v[0] == 0 and not v[1] & 0x80):
            return False  # negative or not minimally encoded
        if not 1 <= int.from_bytes(v, "big") < _N:
            return False
    return True


class SM2Suite:
    name = "sm2"
    hash_name = "sm3"
    public_key_size = 64

    def __init__(self, signer_id: bytes = SM2_DEFAULT_SIGNER_ID):
        if len(signer_id) * 8 > 0xFFFF:
            raise ValueError("SM2 signer id too long")
        self.signer_id = bytes(signer_id)

    @staticmethod
    def _gm():
        import gmssl_pyx

        return gmssl_pyx

    def generate_keypair(self) -> KeyPair:
        public, private = self._gm().sm2_key_generate()
        return KeyPair(self.name, bytes(private), bytes(public))

    @staticmethod
    def _scalar(private_key: bytes) -> int:
        d = int.from_bytes(_check_len("SM2 private key", private_key, 32), "big")
        if not 1 <= d <= _N - 2:
            raise ValueError("SM2 private key out of range")
        return d

    def public_key(self, private_key: bytes) -> bytes:
        return _sm2_public_key(bytes(private_key))

    def _check_public(self, public_key: bytes) -> bytes:
        pk = _check_len("SM2 public key", public_key, 64)
        if not _on_curve(int.from_bytes(pk[:32], "big"), int.from_bytes(pk[32:], "big")):
            raise ValueError("SM2 public key is not a point on the curve")
        return pk

    def z(self, public_key: bytes) -> bytes:
        """Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA)."""
        return _sm2_z(self.signer_id, self._check_public(public_key))

    def message_digest(self, public_key: bytes, data: bytes) -> bytes:
        """e = SM3(Z_A || M): what the signature is computed over."""
        return digest("sm3", self.z(public_key) + bytes(data))

    def sign(self, private_key: bytes, data: bytes) -> bytes:
        self._scalar(private_key)
        e = self.message_digest(self.public_key(private_key), data)
        return bytes(self._gm().sm2_sign_sm3_digest(bytes(private_key), e))

    def verify(self, public_key: bytes, data: bytes, signature: bytes) -> bool:
        e = self.message_digest(public_key, data)
        if not isinstance(signature, (bytes, bytearray)) or not _signature_well_formed(bytes(signature)):
            return False
        try:
            return bool(self._gm().sm2_verify_sm3_digest(bytes(public_key), e, bytes(signature)))
        except self._gm().InvalidValueError:
            return False

    def public_key_to_pem(self, public_key: bytes) -> str:
        pk = self._check_public(public_key)
        algorithm = _der(0x30, _OID_EC_PUBLIC_KEY + _OID_SM2_CURVE)
        return _pem("PUBLIC KEY", _der(0x30, algorithm + _der(0x03, b"\x00\x04" + pk)))

    def public_key_from_pem(self, pem: str | bytes) -> bytes:
        der = _unpem(pem, "PUBLIC KEY")
        tag, body, end = _der_read(der)
        parts = _der_children(body) if tag == 0x30 and end == len(der) else []
        if len(parts) != 2 or parts[0][0] != 0x30 or parts[1][0] != 0x03:
            raise ValueError("not a SubjectPublicKeyInfo")
        if parts[0][1] != _OID_EC_PUBLIC_KEY + _OID_SM2_CURVE:
            raise ValueError("not an SM2 public key")
        bits = parts[1][1]
        if len(bits) != 66 or bits[:2] != b"\x00\x04":
            raise ValueError("SM2 public key must be an uncompressed point")
        return self._check_public(bits[2:])

    def private_key_to_pem(self, private_key: bytes) -> str:
        self._scalar(private_key)
        public = self.public_key(private_key)
        ec_private = _der(0x30, _der(0x02, b"\x01") + _der(0x04, bytes(private_key))
                          + _der(0xA1, _der(0x03, b"\x00\x04" + public)))
        algorithm = _der(0x30, _OID_EC_PUBLIC_KEY + _OID_SM2_CURVE)
        return _pem("PRIVATE KEY", _der(0x30, _der(0x02, b"\x00") + algorithm + _der(0x04, ec_private)))

    def private_key_from_pem(self, pem: str | bytes) -> bytes:
        der = _unpem(pem, "PRIVATE KEY")
        tag, body, end = _der_read(der)
        parts = _der_children(body) if tag == 0x30 and end == len(der) else []
        if len(parts) < 3 or parts[1][0] != 0x30 or parts[2][0] != 0x04:
            raise ValueError("not a PKCS#8 private key")
        if parts[1][1] != _OID_EC_PUBLIC_KEY + _OID_SM2_CURVE:
            raise ValueError("not an SM2 private key")
        tag, ec_body, _ = _der_read(parts[2][1])
        ec_parts = _der_children(ec_body) if tag == 0x30 else []
        if len(ec_parts) < 2 or ec_parts[1][0] != 0x04:
            raise ValueError("not an EC private key")
        raw = ec_parts[1][1].rjust(32, b"\x00")
        self._scalar(raw)
        return raw


@functools.lru_cache(maxsize=1024)
def _sm2_public_key(private_key: bytes) -> bytes:
    x, y = _scalar_base_mult(SM2Suite._scalar(private_key))
    return x.to_bytes(32, "big") + y.to_bytes(32, "big")


@functools.lru_cache(maxsize=4096)
def _sm2_z(signer_id: bytes, public_key: bytes) -> bytes:
    entl = (len(signer_id) * 8).to_bytes(2, "big")
    curve = b"".join(v.to_bytes(32, "big") for v in (_A, _B, _GX, _GY))
    return digest("sm3", entl + signer_id + curve + public_key)


# --- the interface other modules call --------------------------------------------------------

ED25519 = Ed25519Suite()
SM2 = SM2Suite()
SUITES: dict[str, SignatureSuite] = {ED25519.name: ED25519, SM2.name: SM2}


def get_suite(suite: str | SignatureSuite) -> SignatureSuite:
    """The suite named "ed25519" or "sm2" (a suite object is returned as is)."""
    if isinstance(suite, str):
        try:
            return SUITES[suite.lower()]
        except KeyError:
            raise ValueError(f"unknown signature suite {suite!r}; use one of {sorted(SUITES)}") from None
    return suite


def generate_keypair(suite: str | SignatureSuite) -> KeyPair:
    return get_suite(suite).generate_keypair()


def public_key_of(suite: str | SignatureSuite, private_key: bytes) -> bytes:
    return get_suite(suite).public_key(private_key)


def sign(suite: str | SignatureSuite, private_key: bytes, data: bytes) -> bytes:
    return get_suite(suite).sign(private_key, data)


def verify(suite: str | SignatureSuite, public_key: bytes, data: bytes, signature: bytes) -> bool:
    """True only for a valid signature of `data` by the holder of `public_key`'s private key.

    A malformed public key raises ValueError (it is configuration, not input); a malformed or
    wrong signature gives False.
    """
    return get_suite(suite).verify(public_key, data, signature)


def constant_time_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)
