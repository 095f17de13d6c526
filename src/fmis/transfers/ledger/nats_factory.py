"""The NATS JetStream orderer from JSON-able settings, for a node run as its own process:

    python -m fmis.transfers.ledger.noded --dsn DSN --key-file n1.key.json \\
        --orderer factory:fmis.transfers.ledger.nats_factory:orderer \\
        --orderer-config '{"urls": ["tls://127.0.0.1:4222"], "stream": "LEDGER", "subject": "ledger.order",
                           "tls_cert": "client.crt", "tls_key": "client.key", "tls_ca": "ca.crt"}'

``config_for(urls, tls=..., ...)`` builds that dictionary from a ``TlsFiles`` (e.g. a local
cluster's ``client_tls``), so callers never spell the keys by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fmis.transfers.ledger.nats_orderer import NatsOrderer
from fmis.transfers.ledger.tls import TlsFiles

_TLS_KEYS = ("tls_cert", "tls_key", "tls_ca")


def config_for(urls: Sequence[str] | str, *, tls: TlsFiles | None = None, stream: str = "LEDGER",
               subject: str = "ledger.order", replicas: int = 3, connect_timeout: float = 30.0,
               linger: float | None = None) -> dict:
    """The keyword arguments of ``orderer`` as plain JSON values."""
    config: dict = {"urls": [urls] if isinstance(urls, str) else list(urls), "stream": stream, "subject": subject,
                    "replicas": replicas, "connect_timeout": connect_timeout}
    if linger is not None:
        config["linger"] = linger
    if tls is not None:
        config.update(tls_cert=str(tls.cert), tls_key=str(tls.key), tls_ca=str(tls.ca))
    return config


def orderer(*, urls: Sequence[str] | str, stream: str = "LEDGER", subject: str = "ledger.order",
            tls_cert: str = "", tls_key: str = "", tls_ca: str = "", replicas: int = 3,
            duplicate_window: float = 600.0, connect_timeout: float = 30.0, linger: float = 0.02) -> NatsOrderer:
    """A connected ``NatsOrderer``. TLS is mutual: the three file paths come together or not at all."""
    given = [bool(v) for v in (tls_cert, tls_key, tls_ca)]
    if any(given) and not all(given):
        missing = [k for k, v in zip(_TLS_KEYS, given, strict=True) if not v]
        raise ValueError(f"TLS needs tls_cert, tls_key and tls_ca; missing {', '.join(missing)}")
    tls = TlsFiles(cert=Path(tls_cert), key=Path(tls_key), ca=Path(tls_ca)) if all(given) else None
    if tls is not None:
        for key, path in zip(_TLS_KEYS, (tls.cert, tls.key, tls.ca), strict=True):
            if not path.is_file():
                raise FileNotFoundError(f"{key}: no such file {path}")
    return NatsOrderer(urls, stream=stream, subject=subject, tls=tls, replicas=replicas,
                       duplicate_window=duplicate_window, connect_timeout=connect_timeout, linger=linger)
