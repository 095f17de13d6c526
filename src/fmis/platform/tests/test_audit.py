import itertools
import json
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from fmis.platform import audit
from fmis.platform.models import AuditRecord


def write(n: int, actor=None, action="test.write") -> list[AuditRecord]:
    with transaction.atomic():
        return [audit.record(actor, action, object_type="test.thing", object_id=str(i),
                             object_repr=f"物品{i}", before={"amount": str(i)}, after={"amount": str(i + 1)})
                for i in range(n)]


@pytest.mark.django_db
def test_chain_links_every_record_and_verifies(make_user):
    user = make_user("writer")
    write(60, actor=user)
    rows = list(AuditRecord.objects.order_by("id"))
    assert len(rows) == 60
    assert rows[0].prev_hash == audit.GENESIS
    for before, after in itertools.pairwise(rows):
        assert after.prev_hash == before.hash
        assert after.pk > before.pk
    assert all(r.hash == audit.compute_hash(r) for r in rows)
    assert rows[5].actor_id == user.pk and rows[5].actor_name == "writer"
    result = audit.verify(batch=7)  # several batches
    assert result.ok and result.checked == 60 and result.broken_id is None
    assert audit.head() == (rows[-1].pk, rows[-1].hash)


@pytest.mark.django_db
def test_empty_log_verifies():
    assert audit.verify().ok and audit.verify().checked == 0
    assert audit.head() is None


@pytest.mark.django_db
def test_snapshot_of_a_model(make_region, make_user):
    region = make_region("370000", "示例省")
    user = make_user("snap", region=region)
    snap = audit.snapshot(user)
    assert "password" not in snap
    assert snap["username"] == "snap"
    assert snap["region"] == region.pk  # foreign keys by id
    with transaction.atomic():
        rec = audit.record(user, "iam.user.update", user, before={"name": "旧名", "limit": Decimal("1.50")})
    rec.refresh_from_db()
    assert rec.object_type == "iam.user" and rec.object_id == str(user.pk)
    assert rec.before == {"name": "旧名", "limit": "1.50"}
    assert rec.after["username"] == "snap"
    rows = {r["field"]: r for r in audit.diff(rec)}
    assert rows["name"]["changed"] and rows["name"]["before"] == "旧名" and rows["name"]["after"] == "snap"
    assert rows["limit"]["changed"] and rows["limit"]["after"] is None
    assert audit.verify().ok


@pytest.mark.django_db
def test_floats_never_enter_the_log():
    with pytest.raises(TypeError), transaction.atomic():
        audit.record(None, "x.float", object_type="t", after={"amount": 1.5})
    assert AuditRecord.objects.count() == 0


@pytest.mark.django_db
def test_modified_row_detected_at_that_row(tamper):
    recs = write(10)
    victim = recs[4]
    with tamper() as cur:
        cur.execute("UPDATE platform_auditrecord SET after = %s::jsonb WHERE id = %s", ['{"amount": "999"}', victim.pk])
    result = audit.verify()
    assert not result.ok
    assert result.broken_id == victim.pk and result.kind == "modified" and result.checked == 4


@pytest.mark.django_db
def test_modified_actor_detected(tamper):
    recs = write(5)
    with tamper() as cur:
        cur.execute("UPDATE platform_auditrecord SET actor_name = 'someone_else' WHERE id = %s", [recs[2].pk])
    result = audit.verify()
    assert (result.ok, result.broken_id, result.kind) == (False, recs[2].pk, "modified")


@pytest.mark.django_db
def test_deleted_row_detected_at_the_next_row(tamper):
    recs = write(10)
    with tamper() as cur:
        cur.execute("DELETE FROM platform_auditrecord WHERE id = %s", [recs[6].pk])
    result = audit.verify()
    assert (result.ok, result.broken_id, result.kind) == (False, recs[7].pk, "deleted")
    assert result.checked == 6


@pytest.mark.django_db
def test_deleting_the_first_rows_is_detected(tamper):
    recs = write(4)
    with tamper() as cur:
        cur.execute("DELETE FROM platform_auditrecord WHERE id = %s", [recs[0].pk])
    result = audit.verify()
    assert (result.ok, result.broken_id, result.kind) == (False, recs[1].pk, "deleted")


@pytest.mark.django_db
def test_forged_row_inserted_in_a_gap_is_detected_at_the_forged_row(tamper):
    first = write(3)
    # a rolled-back record leaves a gap in the ids, as happens in real life
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(None, "test.rolled_back", object_type="t")
        raise RuntimeError("rollback")
    rest = write(3)
    gap = first[-1].pk + 1
    assert rest[0].pk == gap + 1
    assert audit.verify().ok  # a gap alone is not a break
    forged = AuditRecord(id=gap, at=first[-1].at, actor_name="mallory", action="test.write", object_type="test.thing",
                         object_id="x", object_repr="伪造", before=None, after={"amount": "1000000"},
                         prev_hash=first[-1].hash)
    forged.hash = audit.compute_hash(forged)  # self-consistent and linked to its predecessor
    with tamper() as cur:
        cur.execute("INSERT INTO platform_auditrecord (id, at, actor_id, actor_name, action, object_type, object_id, "
                    "object_repr, before, after, prev_hash, hash) VALUES (%s, %s, NULL, %s, %s, %s, %s, %s, NULL, "
                    "%s::jsonb, %s, %s)",
                    [forged.id, forged.at, forged.actor_name, forged.action, forged.object_type, forged.object_id,
                     forged.object_repr, '{"amount": "1000000"}', forged.prev_hash, forged.hash])
    result = audit.verify()
    assert (result.ok, result.broken_id, result.kind) == (False, gap, "inserted")
    assert result.checked == 3


@pytest.mark.django_db
def test_forged_row_with_made_up_hash_detected_at_itself(tamper):
    first = write(2)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(None, "test.rolled_back", object_type="t")
        raise RuntimeError("rollback")
    write(2)
    gap = first[-1].pk + 1
    with tamper() as cur:
        cur.execute("INSERT INTO platform_auditrecord (id, at, actor_name, action, object_type, object_id, "
                    "object_repr, prev_hash, hash) VALUES (%s, now(), 'x', 'a.b', '', '', '', %s, %s)",
                    [gap, first[-1].hash, "f" * 64])
    result = audit.verify()
    assert (result.ok, result.broken_id, result.kind) == (False, gap, "modified")


@pytest.mark.django_db
def test_rewritten_suffix_is_caught_by_an_anchor(tamper):
    recs = write(6)
    anchor = {recs[3].pk: recs[3].hash}
    # an attacker who rewrites a record and recomputes every hash after it keeps the chain consistent ...
    prev = recs[1].hash
    with tamper() as cur:
        for r in AuditRecord.objects.filter(pk__gte=recs[2].pk).order_by("id"):
            if r.pk == recs[2].pk:
                r.after = {"amount": "0"}
            r.prev_hash = prev
            r.hash = prev = audit.compute_hash(r)
            cur.execute("UPDATE platform_auditrecord SET after = %s::jsonb, prev_hash = %s, hash = %s WHERE id = %s",
                        [json.dumps(r.after), r.prev_hash, r.hash, r.pk])
    assert audit.verify().ok  # ... which the chain alone cannot see
    result = audit.verify(anchors=anchor)
    assert (result.ok, result.broken_id, result.kind) == (False, recs[3].pk, "anchor")
    # an anchored record that was deleted from the end is reported too
    with tamper() as cur:
        cur.execute("DELETE FROM platform_auditrecord WHERE id = %s", [recs[5].pk])
    result = audit.verify(anchors={recs[5].pk: recs[5].hash})
    assert (result.ok, result.broken_id, result.kind) == (False, recs[5].pk, "anchor")


@pytest.mark.django_db
@pytest.mark.parametrize("sql", [
    "UPDATE platform_auditrecord SET actor_name = 'x'",
    "DELETE FROM platform_auditrecord",
])
def test_trigger_refuses_update_and_delete(sql):
    write(3)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql)
    assert AuditRecord.objects.filter(actor_name="x").count() == 0
    assert AuditRecord.objects.count() == 3


@pytest.mark.django_db
def test_trigger_refuses_orm_update_delete_and_truncate():
    recs = write(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditRecord.objects.filter(pk=recs[0].pk).update(action="x.y")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditRecord.objects.filter(pk=recs[0].pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        # the test runner's connections may truncate (to empty tables between tests); others may not
        cur.execute("SET LOCAL fmis.allow_truncate = 'off'")
        cur.execute("TRUNCATE platform_auditrecord")
    assert AuditRecord.objects.count() == 2
    assert audit.verify().ok


@pytest.mark.django_db
def test_records_of_a_rolled_back_savepoint_vanish_without_breaking_the_chain():
    write(2)
    with pytest.raises(ValueError), transaction.atomic():
        audit.record(None, "test.doomed", object_type="t")
        raise ValueError("business rule failed")
    write(2)
    assert not AuditRecord.objects.filter(action="test.doomed").exists()
    assert audit.verify().ok and audit.verify().checked == 4


@pytest.mark.django_db
def test_record_refuses_oversized_identifiers():
    with pytest.raises(ValueError), transaction.atomic():
        audit.record(None, "x" * 101)
    with pytest.raises(ValueError), transaction.atomic():
        audit.record(None, "a.b", object_type="t", object_id="9" * 65)
