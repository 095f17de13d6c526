"""Audit records chained at the end of a block (``audit.deferred``) and in one statement each."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections, transaction

from fmis.platform import audit
from fmis.platform.models import AuditRecord

STRANGE = {"名称": "引号\"、反斜杠\\、换行\n、制表\t", "nested": {"b": [1, "二", None, True], "a": "😀"},
           "html": "<a href='x'>&</a>", "empty": "", "amount": "12.30"}


@pytest.mark.django_db
def test_database_hash_matches_the_python_definition_for_awkward_content(make_user):
    user = make_user("写入人")
    with transaction.atomic():
        rec = audit.record(user, "test.strange", object_type="t", object_id="1", object_repr="对象\"<x>",
                           before=STRANGE, after={"list": [STRANGE]})
        with audit.deferred():
            queued = audit.record(None, "test.strange", object_type="t", object_id="2", before=STRANGE)
    rows = list(AuditRecord.objects.order_by("id"))
    assert [r.pk for r in rows] == [rec.pk, queued.pk]
    assert all(r.hash == audit.compute_hash(r) for r in rows)
    assert (rows[0].prev_hash, rows[1].prev_hash) == (audit.GENESIS, rows[0].hash)
    assert (rec.hash, queued.hash) == (rows[0].hash, rows[1].hash)
    assert audit.verify().ok


@pytest.mark.django_db
def test_deferred_records_are_chained_in_order_at_the_end_of_the_block():
    with transaction.atomic():
        audit.record(None, "test.before", object_type="t")
        with audit.deferred():
            first = audit.record(None, "test.deferred", object_type="t", object_id="1")
            assert first.pk is None and not first.hash  # not chained yet
            with audit.deferred():  # nested blocks join the outer one
                second = audit.record(None, "test.deferred", object_type="t", object_id="2")
            assert second.pk is None
            assert not AuditRecord.objects.filter(action="test.deferred").exists()
        assert second.pk == first.pk + 1 and second.prev_hash == first.hash
    assert list(AuditRecord.objects.order_by("id").values_list("object_id", flat=True)) == ["", "1", "2"]
    assert audit.verify().ok and audit.head() == (second.pk, second.hash)


@pytest.mark.django_db
def test_records_of_rolled_back_savepoints_and_failed_blocks_are_dropped():
    with transaction.atomic(), audit.deferred():
        audit.record(None, "test.kept", object_type="t", object_id="1")
        try:
            with transaction.atomic():
                audit.record(None, "test.doomed", object_type="t", object_id="x")
                raise ValueError("this part failed")
        except ValueError:
            pass
        audit.record(None, "test.kept", object_type="t", object_id="2")
    with pytest.raises(RuntimeError), transaction.atomic(), audit.deferred():
        audit.record(None, "test.doomed", object_type="t", object_id="y")
        raise RuntimeError("the whole block failed")
    assert list(AuditRecord.objects.order_by("id").values_list("action", "object_id")) == [
        ("test.kept", "1"), ("test.kept", "2")]
    assert audit.verify().ok


def test_deferred_needs_a_transaction():
    with pytest.raises(RuntimeError), audit.deferred():
        pass


@pytest.mark.django_db(transaction=True)
def test_concurrent_deferred_writers_keep_one_chain_with_each_transaction_adjacent():
    threads, per_thread = 6, 6
    barrier = threading.Barrier(threads)

    def writer(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            for i in range(per_thread):
                with transaction.atomic(), audit.deferred():
                    for part in "abc":
                        audit.record(None, "test.concurrent", object_type="t", object_id=f"{n}-{i}{part}")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(writer, range(threads)))
    result = audit.verify()
    assert result.ok and result.checked == threads * per_thread * 3
    ids = list(AuditRecord.objects.order_by("id").values_list("object_id", flat=True))
    for i in range(0, len(ids), 3):  # each transaction's three records are adjacent, in order
        assert [x[-1] for x in ids[i:i + 3]] == ["a", "b", "c"]
        assert len({x[:-1] for x in ids[i:i + 3]}) == 1
