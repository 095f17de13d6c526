"""TLS material for the consortium's transport: server and client certificates issued by a CA.

The ordering servers (NATS) and the nodes talk over mutual TLS: each side presents a certificate
issued by the consortium's CA and checks the other's against it. The CA here is any CA certificate
and key that ``cryptography`` can sign with (ECDSA P-256 by default; Ed25519 works too).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of one party: its certificate, its key and the CA to check peers against."""

    cert: Path
    key: Path
    ca: Path

    def client_context(self) -> ssl.SSLContext:
        """A client-side context presenting this certificate and trusting only the CA."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca))
        ctx.load_cert_chain(str(self.cert), str(self.key))
        return ctx


def _sign_hash(key) -> hashes.HashAlgorithm | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def new_ca(common_name: str = "OpenFMIS consortium transport CA") -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A self-signed CA (ECDSA P-256) for a transport that has no membership CA of its own."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, _sign_hash(key))
    )
    return cert, key


def issue(ca_cert: x509.Certificate, ca_key, *, common_name: str, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
          server: bool = True, client: bool = True) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A leaf certificate (ECDSA P-256 key generated here) for a server, a client, or both."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    usages = [u for u, on in ((ExtendedKeyUsageOID.SERVER_AUTH, server), (ExtendedKeyUsageOID.CLIENT_AUTH, client)) if on]
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, _sign_hash(ca_key)), key


def _write(path: Path, data: bytes, *, private: bool = False) -> Path:
    path.write_bytes(data)
    if private:
        path.chmod(0o600)
    return path


def write_pair(directory: Path, name: str, ca_cert: x509.Certificate, cert: x509.Certificate, key) -> TlsFiles:
    """Write ``<name>.crt``, ``<name>.key`` and ``ca.crt`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    return TlsFiles(
        cert=_write(directory / f"{name}.crt", cert.public_bytes(pem)),
        key=_write(directory / f"{name}.key", key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                                serialization.NoEncryption()), private=True),
        ca=_write(directory / "ca.crt", ca_cert.public_bytes(pem)),
    )


@dataclass(frozen=True)
class TransportPki:
    """The files a local cluster needs: one server pair (all servers on loopback share it) and one
    client pair for the nodes."""

    server: TlsFiles
    client: TlsFiles


def make_transport_pki(directory: Path, ca_cert: x509.Certificate | None = None, ca_key=None) -> TransportPki:
    """Issue a loopback server certificate and a client certificate from the given CA (a new one if
    none is given) into ``directory``."""
    if ca_cert is None or ca_key is None:
        ca_cert, ca_key = new_ca()
    server_cert, server_key = issue(ca_cert, ca_key, common_name="nats-server", server=True, client=True)
    client_cert, client_key = issue(ca_cert, ca_key, common_name="ledger-node", hosts=(), server=False, client=True)
    return TransportPki(server=write_pair(directory, "server", ca_cert, server_cert, server_key),
                        client=write_pair(directory, "client", ca_cert, client_cert, client_key))
