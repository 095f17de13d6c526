"""The ``fmis`` command.

  fmis demo [--port 8000] [--scale small]   start the embedded database, migrate, seed, serve the UI
  fmis serve [--host 127.0.0.1] [--port 8000]
  fmis db start|stop|status|psql            manage the embedded PostgreSQL server
  fmis seed [--scale small|medium|large]    load the deterministic demo province
  fmis audit verify                         check the audit log's hash chain
  fmis outbox deliver [--topic T]           deliver pending outbox messages
  fmis test [pytest args]                   run the test suite (installs Chromium if missing)
  fmis manage <django command> [...]        any Django management command
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def _django(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fmis.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["fmis", *argv])


def _db(args: list[str]) -> int:
    from fmis.platform import embedded_db

    cmd = args[0] if args else "status"
    if cmd == "start":
        if os.environ.get("DATABASE_URL"):
            print("DATABASE_URL is set: the embedded server is not used.")
            return 0
        params = embedded_db.ensure_running()
        embedded_db.ensure_database(os.environ.get("FMIS_DB_NAME", "fmis"))
        print(f"embedded PostgreSQL running, socket dir {params['HOST']}, data {embedded_db.pgdata_dir()}")
        return 0
    if cmd == "stop":
        print(embedded_db.stop())
        return 0
    if cmd == "status":
        print(embedded_db.status())
        return 0
    if cmd == "psql":
        return subprocess.call(embedded_db.psql_command(os.environ.get("FMIS_DB_NAME", "fmis")) + args[1:])
    print(f"unknown db command: {cmd} (start|stop|status|psql)", file=sys.stderr)
    return 2


def _ensure_chromium() -> None:
    if shutil.which("chromium") or os.path.exists("/usr/bin/chromium"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit("Chromium is needed for the browser tests: apt-get install -y chromium")
    print("installing Chromium from Debian's packages for the browser tests ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def _test(args: list[str]) -> int:
    _ensure_chromium()
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not os.environ.get("DATABASE_URL"):
        from fmis.platform import embedded_db

        embedded_db.ensure_running()
    import pytest

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    default = ["-n", os.environ.get("FMIS_TEST_WORKERS", "2"), "--dist", "loadfile"]
    return pytest.main(["--rootdir", root, "-c", os.path.join(root, "pyproject.toml"), *default, *args])


def _demo(args: list[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="fmis demo")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", default="8000")
    p.add_argument("--scale", default="small", choices=["small", "medium", "large"])
    ns = p.parse_args(args)
    _db(["start"])
    _django(["migrate", "--noinput", "-v", "0"])
    _django(["seed", "--scale", ns.scale, "--if-empty"])
    _django(["collectstatic", "--noinput", "-v", "0"])
    print(f"\nOpenFMIS demo: http://{ns.host}:{ns.port}/  (API docs: http://{ns.host}:{ns.port}/api/v1/docs)")
    _django(["demo_logins"])
    _django(["runserver", f"{ns.host}:{ns.port}", "--noreload", "--insecure"])
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "db":
        return _db(rest)
    if cmd == "test":
        return _test(rest)
    if cmd == "demo":
        return _demo(rest)
    if cmd == "serve":
        host = rest[rest.index("--host") + 1] if "--host" in rest else "127.0.0.1"
        port = rest[rest.index("--port") + 1] if "--port" in rest else "8000"
        _django(["runserver", f"{host}:{port}", "--noreload", "--insecure"])
        return 0
    if cmd == "manage":
        _django(rest)
        return 0
    if cmd == "audit":
        _django(["audit_verify", *rest[1:]] if rest[:1] == ["verify"] else ["help", "audit_verify"])
        return 0
    if cmd == "outbox":
        _django(["outbox_deliver", *rest[1:]])
        return 0
    # seed and any other management command
    _django([cmd, *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
