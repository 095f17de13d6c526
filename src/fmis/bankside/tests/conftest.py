"""Ledger fixtures shared with the transfer-payment tests (node databases, regions, users)."""

from fmis.transfers.tests.conftest import admin_dsn, ledger_db, make_db, province, users  # noqa: F401
