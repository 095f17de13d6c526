"""The consortium's membership service: root CA, member certificates, revocation lists.

Certificates are X.509 (``cryptography``), issued and signed by the consortium root CA with an
Ed25519 key. Every certificate carries a ``ledger identity`` extension (a non-critical extension
under the OID below) holding, in canonical JSON: identity id, organisation, region, level, role,
signature suite and the member's *ledger* public key. That key is what transactions and
checkpoints are verified with. For an Ed25519 member it is also the certificate's
SubjectPublicKeyInfo. X.509 tooling cannot hold an SM2 key in the SubjectPublicKeyInfo here
(``cryptography`` has no SM2 curve), so an SM2 member supplies two public keys: its SM2 ledger
key (carried in the extension) and an Ed25519 transport key (the SubjectPublicKeyInfo, usable
for TLS). The CA never sees a private key: members generate their keys and send public keys in
a join request.

Certificate id = hex of the consortium hash of the certificate's DER encoding.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID

from fmis.platform import crypto
from fmis.transfers.ledger import regions
from fmis.transfers.ledger.encoding import EncodingError, canonical, decode, hash_bytes

# 2.25.<UUID> (ITU-T X.667): an OID that needs no registration.
LEDGER_IDENTITY_OID = x509.ObjectIdentifier("2.25.238954730317201283765447283165023650193")
ROLES = ("finance", "supervision", "bank")
CA_CREATOR = "ca"


class MembershipError(ValueError):
    pass


@dataclass(frozen=True)
class Identity:
    identity_id: str
    organisation: str
    region: str
    level: str  # national / province / city / county
    role: str  # finance / supervision / bank
    suite: str  # ed25519 / sm2
    public_key: bytes  # the ledger key

    def as_json(self) -> dict:
        return {"identity_id": self.identity_id, "organisation": self.organisation, "region": self.region,
                "level": self.level, "role": self.role, "suite": self.suite, "public_key": self.public_key.hex()}

    @classmethod
    def from_json(cls, d: dict) -> Identity:
        return cls(d["identity_id"], d["organisation"], d["region"], d["level"], d["role"], d["suite"],
                   bytes.fromhex(d["public_key"]))


LEVEL_OF_NAME = {"national": 0, "province": 1, "city": 2, "county": 3}


def check_identity(identity: Identity) -> None:
    if not identity.identity_id or not identity.organisation:
        raise MembershipError("identity id and organisation are required")
    if identity.role not in ROLES:
        raise MembershipError(f"role must be one of {ROLES}")
    if identity.level not in LEVEL_OF_NAME:
        raise MembershipError(f"level must be one of {tuple(LEVEL_OF_NAME)}")
    if not regions.valid(identity.region):
        raise MembershipError("region code must have 6 or 9 digits")
    if identity.role == "finance" and regions.level_of(identity.region) != LEVEL_OF_NAME[identity.level]:
        raise MembershipError("a finance department's level must match its region code")
    suite = crypto.get_suite(identity.suite)
    if len(identity.public_key) != suite.public_key_size:
        raise MembershipError(f"a {identity.suite} public key has {suite.public_key_size} bytes")
    if identity.suite == "sm2":
        suite._check_public(identity.public_key)  # a point on the curve


def _name(cn: str, org: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)])


@dataclass(frozen=True)
class RootCA:
    """The consortium root CA. Its private key stays with the membership service."""

    certificate_pem: str
    private_key: bytes  # Ed25519 seed

    @classmethod
    def create(cls, *, consortium: str, valid_days: int = 3650, now: dt.datetime | None = None) -> RootCA:
        key = Ed25519PrivateKey.generate()
        now = now or dt.datetime.now(dt.UTC)
        name = _name(f"{consortium} root CA", consortium)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=valid_days))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .sign(key, None))
        return cls(cert.public_bytes(serialization.Encoding.PEM).decode(), key.private_bytes_raw())

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem.encode())

    @property
    def public_key(self) -> bytes:
        return ca_public_key(self.certificate_pem)

    def issue(self, identity: Identity, *, transport_public_key: bytes | None = None, valid_days: int = 825,
              now: dt.datetime | None = None) -> str:
        """A member certificate (PEM) for an approved join request."""
        check_identity(identity)
        if identity.suite == "ed25519":
            spki = identity.public_key
        else:
            if transport_public_key is None:
                raise MembershipError("an SM2 member also supplies an Ed25519 transport key")
            spki = transport_public_key
        ca_cert = self.certificate
        now = now or dt.datetime.now(dt.UTC)
        key = Ed25519PrivateKey.from_private_bytes(self.private_key)
        cert = (x509.CertificateBuilder().subject_name(_name(identity.identity_id, identity.organisation))
                .issuer_name(ca_cert.subject).public_key(Ed25519PublicKey.from_public_bytes(spki))
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=valid_days))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.UnrecognizedExtension(LEDGER_IDENTITY_OID, canonical(identity.as_json())),
                               critical=False)
                .sign(key, None))
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    def sign(self, data: bytes) -> bytes:
        return crypto.sign("ed25519", self.private_key, data)


def ca_public_key(ca_pem: str) -> bytes:
    pk = x509.load_pem_x509_certificate(ca_pem.encode()).public_key()
    if not isinstance(pk, Ed25519PublicKey):
        raise MembershipError("the consortium CA key must be Ed25519")
    return pk.public_bytes_raw()


def certificate_id(hash_name: str, cert_pem: str) -> str:
    der = x509.load_pem_x509_certificate(cert_pem.encode()).public_bytes(serialization.Encoding.DER)
    return hash_bytes(hash_name, der).hex()


def read_certificate(cert_pem: str, ca_pem: str) -> Identity:
    """The identity in a member certificate, after checking the CA's signature on it.

    Validity dates are not checked here: contracts must not read a clock; nodes compare the
    dates with block time where it matters."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
        ca = x509.load_pem_x509_certificate(ca_pem.encode())
    except ValueError as exc:
        raise MembershipError(f"not a certificate: {exc}") from None
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise MembershipError("certificate not issued by the consortium CA") from None
    try:
        ext = cert.extensions.get_extension_for_oid(LEDGER_IDENTITY_OID)
        identity = Identity.from_json(decode(ext.value.value))
    except (x509.ExtensionNotFound, EncodingError, KeyError, ValueError):
        raise MembershipError("certificate carries no ledger identity") from None
    check_identity(identity)
    if identity.suite == "ed25519":
        spki = cert.public_key()
        if not isinstance(spki, Ed25519PublicKey) or spki.public_bytes_raw() != identity.public_key:
            raise MembershipError("the certificate's key does not match its ledger identity")
    return identity


def revocation_list(*, ca: RootCA, number: int, revoked: list[dict]) -> dict:
    """A CA-signed revocation list: [{"cert_id": ..., "reason": "exit"|"compromised"|...}]."""
    body = {"number": number, "revoked": sorted(revoked, key=lambda r: r["cert_id"])}
    return {"body": body, "signature": ca.sign(canonical(body)).hex()}


def check_revocation_list(crl: dict, ca_pem: str) -> list[dict]:
    body = crl.get("body")
    if not isinstance(body, dict) or not isinstance(body.get("revoked"), list):
        raise MembershipError("malformed revocation list")
    try:
        sig = bytes.fromhex(crl.get("signature", ""))
    except ValueError:
        raise MembershipError("malformed revocation list signature") from None
    if not crypto.verify("ed25519", ca_public_key(ca_pem), canonical(body), sig):
        raise MembershipError("revocation list not signed by the consortium CA")
    return body["revoked"]
