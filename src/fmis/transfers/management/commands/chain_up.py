"""``fmis chain up``: start a local consortium on this machine for demos.

Creates a consortium (CA and one member per node, keys written to ``--dir``), one database per
node on the embedded PostgreSQL server, the orderer (the single-node PostgreSQL orderer by default,
``--nats`` for a 3-server NATS JetStream cluster with mutual TLS started on loopback, or
``--orderer factory:<module>:<callable>`` with ``--orderer-config``), publishes the genesis
and runs each node as its own process (``python -m fmis.transfers.ledger.noded``). Prints where
everything is; Ctrl-C stops the nodes (and the NATS servers it started).

With ``--nats`` the servers' stores live in ``<dir>/nats`` and survive a restart; their TLS
certificates (a new transport CA each start) are written to ``<dir>/nats/tls``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start a local consortium (an orderer and N nodes, each with its own database) for demos"

    def add_arguments(self, parser):
        parser.add_argument("--nodes", type=int, default=4)
        parser.add_argument("--dir", default="", help="where keys and the genesis go (default: <pgdata>/../chain)")
        parser.add_argument("--hash", default="sha256", choices=["sha256", "sm3"])
        parser.add_argument("--suite", default="ed25519", choices=["ed25519", "sm2"])
        parser.add_argument("--orderer", default="", help="factory:<module>:<callable> (default: PostgreSQL)")
        parser.add_argument("--orderer-config", default="{}")
        parser.add_argument("--nats", action="store_true",
                            help="order through a 3-server NATS JetStream cluster with mutual TLS on loopback")
        parser.add_argument("--nats-servers", type=int, default=3, help="servers in the --nats cluster")
        parser.add_argument("--fresh", action="store_true", help="drop the node databases first")

    def handle(self, *args, nodes, dir, hash, suite, orderer, orderer_config, nats, nats_servers, fresh, **opts):
        from fmis.transfers.ledger import dbutil
        from fmis.transfers.ledger.consortium import MemberSpec, create_consortium
        from fmis.transfers.ledger.noded import make_orderer, write_key_file
        from fmis.transfers.local import local_dsn

        if nodes < 1:
            raise SystemExit("--nodes must be at least 1")
        if nats and orderer:
            raise SystemExit("--nats and --orderer exclude each other")
        if nats and nats_servers < 1:
            raise SystemExit("--nats-servers must be at least 1")
        admin = dbutil.with_dbname(local_dsn(), "postgres")
        from fmis.platform.embedded_db import pgdata_dir

        base = dir or str(pgdata_dir().parent / "chain")
        os.makedirs(base, exist_ok=True)
        genesis_path = os.path.join(base, "genesis.json")
        regions = ["990000", *[f"99{i:02d}00" for i in range(1, 100)]]
        if fresh or not os.path.exists(genesis_path):
            specs = [MemberSpec(r, f"{r} 财政部门", r, "province" if i == 0 else "city", "finance", suite)
                     for i, r in enumerate(regions[:nodes])]
            c = create_consortium(consortium="local-chain", name="本机演示联盟", hash_name=hash, members=specs,
                                  quorum=nodes // 2 + 1)
            with open(genesis_path, "wb") as fh:
                fh.write(c.genesis)
            for i, m in enumerate(c.members):
                write_key_file(os.path.join(base, f"node{i}.key.json"), m.signer)
            with open(os.path.join(base, "ca.pem"), "w", encoding="utf-8") as fh:
                fh.write(c.ca.certificate_pem)
            fresh = True
        with open(genesis_path, "rb") as fh:
            genesis = fh.read()
        cluster = None
        try:
            if nats:
                from fmis.transfers.ledger.cluster import start_cluster
                from fmis.transfers.ledger.nats_factory import config_for

                nats_dir = os.path.join(base, "nats")
                if fresh:  # a new consortium starts on an empty stream
                    shutil.rmtree(nats_dir, ignore_errors=True)
                self.stdout.write(f"starting {nats_servers} NATS server(s) with mutual TLS in {nats_dir} ...")
                cluster = start_cluster(nats_dir, size=nats_servers, tls=True)
                spec = "factory:fmis.transfers.ledger.nats_factory:orderer"
                config = config_for(cluster.urls, tls=cluster.client_tls, replicas=min(3, nats_servers))
            elif orderer:
                spec, config = orderer, json.loads(orderer_config)
            else:
                spec, config = "pg:" + dbutil.create_database(admin, "chain_orderer", replace=fresh), {}
            o = make_orderer(spec, config)
            try:
                if o.last_seq() == 0:
                    o.submit(genesis, msg_id="genesis")
                    fresh = True  # an empty order: the nodes' chains start again from its genesis
            finally:
                o.close()
            dsns = [dbutil.create_database(admin, f"chain_node{i}", replace=fresh) for i in range(nodes)]
            self._run_nodes(base, dsns, spec, config, cluster)
        finally:
            if cluster is not None:
                cluster.stop()

    def _run_nodes(self, base, dsns, spec, config, cluster) -> None:
        procs = []
        for i, dsn in enumerate(dsns):
            procs.append(subprocess.Popen([
                sys.executable, "-m", "fmis.transfers.ledger.noded", "--dsn", dsn, "--orderer", spec,
                "--orderer-config", json.dumps(config), "--key-file", os.path.join(base, f"node{i}.key.json")]))
        kind = "NATS JetStream" if cluster else spec.split(":", 1)[0]
        self.stdout.write(f"consortium up: {len(dsns)} node(s), orderer {kind}, keys and genesis in {base}")
        if cluster:
            self.stdout.write(f"  NATS servers: {', '.join(cluster.urls)}; client TLS: {cluster.client_tls.cert}, "
                              f"{cluster.client_tls.key}, CA {cluster.client_tls.ca}; logs in {cluster.directory}")
        for i, dsn in enumerate(dsns):
            self.stdout.write(f"  node {i}: {dsn}   verify: fmis chain verify --node '{dsn}'")
        stopping = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.append(1))
        try:
            while not stopping and all(p.poll() is None for p in procs):
                time.sleep(0.5)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
