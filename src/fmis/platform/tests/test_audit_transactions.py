"""The audit chain against real commits, rollbacks and concurrent writers (own connections)."""

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from fmis.platform import audit
from fmis.platform.models import AuditRecord

pytestmark = pytest.mark.django_db(transaction=True)


def test_record_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside a transaction"):
        audit.record(None, "test.autocommit", object_type="t")
    assert AuditRecord.objects.count() == 0


def test_rolled_back_transaction_leaves_no_record_and_no_break():
    with transaction.atomic():
        audit.record(None, "test.kept", object_type="t", object_id="1")
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(None, "test.doomed", object_type="t", object_id="2")
        raise RuntimeError("the business write failed")
    with transaction.atomic():
        kept2 = audit.record(None, "test.kept", object_type="t", object_id="3")
    rows = list(AuditRecord.objects.order_by("id"))
    assert [r.object_id for r in rows] == ["1", "3"]
    assert rows[1].pk > rows[0].pk + 1  # the rolled-back record consumed an id ...
    assert kept2.prev_hash == rows[0].hash  # ... but never became a predecessor
    assert audit.verify().ok


def test_concurrent_writers_keep_one_unbroken_chain():
    threads, per_thread = 6, 8
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def writer(n: int) -> int:
        try:
            barrier.wait(timeout=30)
            for i in range(per_thread):
                with transaction.atomic():
                    audit.record(None, "test.concurrent", object_type="t", object_id=f"{n}-{i}")
                    audit.record(None, "test.concurrent", object_type="t", object_id=f"{n}-{i}b")
                if i % 3 == 2:  # some transactions roll back after writing their records
                    try:
                        with transaction.atomic():
                            audit.record(None, "test.doomed", object_type="t", object_id=f"{n}-{i}x")
                            raise ValueError("rollback")
                    except ValueError:
                        pass
            return n
        except BaseException as exc:  # surfaced below
            errors.append(exc)
            raise
        finally:
            connections.close_all()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(writer, range(threads)))
    assert not errors
    assert AuditRecord.objects.filter(action="test.concurrent").count() == threads * per_thread * 2
    assert not AuditRecord.objects.filter(action="test.doomed").exists()
    result = audit.verify()
    assert result.ok, str(result)
    assert result.checked == threads * per_thread * 2
    # both records of one transaction are adjacent in the chain: nobody interleaved inside a transaction
    rows = list(AuditRecord.objects.order_by("id").values_list("object_id", flat=True))
    for i, oid in enumerate(rows):
        if oid.endswith("b"):
            assert rows[i - 1] == oid[:-1]


def test_audit_verify_command_ok_and_broken():
    with transaction.atomic():
        recs = [audit.record(None, "test.cmd", object_type="t", object_id=str(i)) for i in range(5)]
    out = StringIO()
    call_command("audit_verify", "--head", stdout=out)
    assert "OK: 5 audit records verified" in out.getvalue()
    assert f"head: {recs[-1].pk}:{recs[-1].hash}" in out.getvalue()

    with connection.cursor() as cur:
        cur.execute("ALTER TABLE platform_auditrecord DISABLE TRIGGER USER")
        try:
            cur.execute("UPDATE platform_auditrecord SET object_repr = 'changed' WHERE id = %s", [recs[2].pk])
        finally:
            cur.execute("ALTER TABLE platform_auditrecord ENABLE TRIGGER USER")
    err = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("audit_verify", stdout=StringIO(), stderr=err)
    assert exc.value.code == 1
    assert f"BROKEN at audit record id={recs[2].pk} (modified)" in err.getvalue()
    assert "2 records before it verified" in err.getvalue()

    # the same through the `fmis` command line, as an operator runs it
    fmis = Path(sys.executable).with_name("fmis")
    test_db = connection.settings_dict["NAME"]
    env = {**os.environ, "FMIS_DB_NAME": test_db}
    if env.get("DATABASE_URL"):
        env["DATABASE_URL"] = urlparse(env["DATABASE_URL"])._replace(path=f"/{test_db}").geturl()
    proc = subprocess.run([str(fmis), "audit", "verify"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    assert f"BROKEN at audit record id={recs[2].pk}" in proc.stderr
