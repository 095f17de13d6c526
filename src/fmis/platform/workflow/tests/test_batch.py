"""批量审核: many documents approved in one action, each with its own history, audit and event."""

import pytest

from fmis.platform import audit
from fmis.platform.errors import ValidationFailed
from fmis.platform.models import AuditRecord, EventRecord
from fmis.platform.workflow import services
from fmis.platform.workflow.models import ReviewAction, ReviewInstance
from fmis.platform.workflow.tests.fixtures import DOC

pytestmark = pytest.mark.django_db


def test_approve_many_approves_what_it_may_and_lists_the_rest(world, recorder):
    a1, a2, b1 = world.docs["a1"], world.docs["a2"], world.docs["b1"]
    services.submit(document=a1, user=world.clerk_a)
    services.submit(document=a2, user=world.clerk_a2)
    services.submit(document=b1, user=world.clerk_b)  # county B: not treasury_a's scope
    before = AuditRecord.objects.count()
    result = services.approve_many(items=[(DOC, a2.pk), (DOC, b1.pk), (DOC, a1.pk), ("no.such", 1)],
                                   user=world.treasury_a, comment="同意")
    assert result["approved"] == [{"doc_type": DOC, "object_id": a2.pk}, {"doc_type": DOC, "object_id": a1.pk}]
    assert [(f["object_id"], f["code"]) for f in result["failed"]] == [(b1.pk, "workflow.out_of_scope"),
                                                                       (1, "workflow.unknown_document_type")]
    steps = dict(ReviewInstance.objects.filter(doc_type=DOC).values_list("object_id", "step_no"))
    assert steps == {a1.pk: 2, a2.pk: 2, b1.pk: 1}
    assert ReviewAction.objects.filter(action="approve", comment="同意").count() == 2
    assert AuditRecord.objects.count() - before == 2
    assert EventRecord.objects.filter(name="workflow.approved").count() == 2
    assert [c for c in recorder.calls if c[0] == "workflow.approved"] == [
        ("workflow.approved", a1.pk, "pending"), ("workflow.approved", a2.pk, "pending")]  # processed by id
    assert audit.verify().ok


def test_a_refusing_callback_leaves_only_its_document_unchanged(world, recorder):
    a1, a2 = world.docs["a1"], world.docs["a2"]
    services.submit(document=a1, user=world.clerk_a)
    services.submit(document=a2, user=world.clerk_a2)
    services.approve(document=a1, user=world.treasury_a)
    services.approve(document=a2, user=world.treasury_a)
    recorder.fail_on = "workflow.completed"
    records = AuditRecord.objects.count()
    result = services.approve_many(items=[(DOC, a1.pk), (DOC, a2.pk)], user=world.city)
    assert result["approved"] == [] and {f["code"] for f in result["failed"]} == {"test.callback_refused"}
    assert set(ReviewInstance.objects.values_list("status", flat=True)) == {"pending"}
    assert AuditRecord.objects.count() == records  # the refused transitions' audit records are gone too
    assert audit.verify().ok


def test_approve_many_refuses_empty_and_malformed_input(world):
    with pytest.raises(ValidationFailed):
        services.approve_many(items=[], user=world.treasury_a)
    with pytest.raises(ValidationFailed):
        services.approve_many(items=[(DOC, "x")], user=world.treasury_a)


def test_inbox_batch_form_and_api(client, world):
    a1, a2 = world.docs["a1"], world.docs["a2"]
    services.submit(document=a1, user=world.clerk_a)
    services.submit(document=a2, user=world.clerk_a2)
    client.force_login(world.treasury_a)
    html = client.get("/workflow/inbox/").content.decode()
    assert 'data-testid="batch-approve"' in html and f'value="{DOC}:{a1.pk}"' in html
    r = client.post("/workflow/inbox/approve/", {"item": [f"{DOC}:{a1.pk}"], "comment": "批量同意"})
    assert r.status_code == 302
    assert ReviewInstance.objects.get(object_id=a1.pk).step_no == 2
    r = client.post("/api/v1/workflow/approve-batch", {"items": [{"doc_type": DOC, "object_id": a2.pk}]},
                    content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["approved"] == [{"doc_type": DOC, "object_id": a2.pk}]
    assert ReviewInstance.objects.get(object_id=a2.pk).step_no == 2
