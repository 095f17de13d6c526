"""DSNs and databases for nodes on one PostgreSQL server (several nodes, one database each)."""

from __future__ import annotations

import re

import psycopg
from psycopg.conninfo import make_conninfo

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def dsn_for(dbname: str, *, host: str, port: str | int = "", user: str = "postgres", password: str = "") -> str:
    parts = {"dbname": dbname, "host": host, "user": user}
    if port:
        parts["port"] = str(port)
    if password:
        parts["password"] = password
    return make_conninfo(**parts)


def with_dbname(dsn: str, dbname: str) -> str:
    return make_conninfo(dsn, dbname=dbname)


def django_dsn(alias: str = "default") -> str:
    """The DSN of the Django database (the installation's local node)."""
    from django.db import connections

    s = connections[alias].settings_dict
    name = connections[alias].settings_dict["NAME"]
    return dsn_for(name, host=s["HOST"], port=s.get("PORT") or "", user=s["USER"], password=s.get("PASSWORD") or "")


def create_database(admin_dsn: str, dbname: str, *, replace: bool = False) -> str:
    """Create `dbname` on the server of `admin_dsn`; returns its DSN."""
    if not _NAME.match(dbname):
        raise ValueError(f"bad database name {dbname!r}")
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        if replace:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{dbname}"')
    return with_dbname(admin_dsn, dbname)


def drop_database(admin_dsn: str, dbname: str) -> None:
    if not _NAME.match(dbname):
        raise ValueError(f"bad database name {dbname!r}")
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
