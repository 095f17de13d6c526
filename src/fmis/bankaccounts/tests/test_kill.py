"""An import killed with SIGKILL leaves all or none of its message: the child process importing a
large file is killed in the middle of the COPY and again after the INSERT, before COMMIT."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from django.db import connection

from fmis.bankaccounts.models import AccountDay, BankFlow, ImportBatch
from fmis.banksim import flows as sim

DAY = dt.date(2026, 3, 2)
LINES = 60_000

CHILD = textwrap.dedent("""
    import sys, django
    django.setup()
    from fmis.bankaccounts import services
    from fmis.iam.models import User
    stop_at = sys.argv[2]

    def hold(where):
        print(where, flush=True)
        sys.stdin.readline()  # wait here until the parent kills this process

    if stop_at == "insert":
        original = services._insert_flows
        def insert_then_hold(*args):
            n = original(*args)
            hold("inserted %d" % n)
            return n
        services._insert_flows = insert_then_hold
    seen = []
    def progress(records):
        if stop_at == "copy" and not seen and records > 0:
            seen.append(records)
            hold("copying %d" % records)
    with open(sys.argv[1], "rb") as fh:
        r = services.import_message(user=User.objects.get(username="treasury"), stream=fh, progress=progress)
    print("done", r.inserted, flush=True)
""")


def _write_file(path) -> None:
    accounts = [f"62220000{i:08d}" for i in range(200)]
    rows = (sim.Flow(accounts[i % 200], f"K{i:09d}", dt.datetime.combine(DAY, dt.time(9)), "C" if i % 3 else "D",
                     sim.Decimal("12.34"), "CNY", sim.Decimal("0"), "对方单位", "6200000000001", "测试")
            for i in range(LINES))
    with open(path, "wb") as fh:
        fh.writelines(sim.iter_flows_csv("901", DAY, rows))


def _child(path, stop_at: str) -> subprocess.Popen:
    env = {**os.environ, "FMIS_DB_NAME": connection.settings_dict["NAME"], "PYTHONUNBUFFERED": "1"}
    env.pop("FMIS_TESTING", None)
    return subprocess.Popen([sys.executable, "-c", CHILD, str(path), stop_at], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _counts():
    return BankFlow.objects.count(), AccountDay.objects.count(), ImportBatch.objects.count()


@pytest.mark.django_db(transaction=True)
def test_sigkill_midway_leaves_all_or_none(world, tmp_path):
    from fmis.bankaccounts.tests.conftest import register

    for i in range(0, 200, 20):  # some of the accounts are registered: daily totals are written too
        register(world, number=f"62220000{i:08d}")
    path = tmp_path / "flows.csv"
    _write_file(path)
    for stop_at in ("copy", "insert"):
        proc = _child(path, stop_at)
        line = proc.stdout.readline()
        assert line.startswith("copying" if stop_at == "copy" else "inserted"), (line, proc.stderr.read())
        if stop_at == "insert":
            assert int(line.split()[1]) == LINES  # the rows were written, only not committed
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert _counts() == (0, 0, 0)
    proc = _child(path, "none")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert out.strip() == f"done {LINES}"
    flows, days, batches = _counts()
    assert (flows, batches) == (LINES, 1) and days == 10
