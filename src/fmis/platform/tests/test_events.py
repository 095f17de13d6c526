from decimal import Decimal

import pytest
from django.db import transaction

from fmis.platform import events, outbox
from fmis.platform.models import EventRecord, OutboxMessage


@pytest.fixture
def handler():
    seen = []

    def on_paid(name, payload):
        seen.append((name, payload, transaction.get_connection().in_atomic_block))
        # a subscriber's consequence: a message for another system, written in the same transaction
        outbox.enqueue(topic="test.bank", key=f"pay-{payload['id']}", payload=payload)

    events.subscribe("test.paid")(on_paid)
    yield seen
    events.unsubscribe("test.paid", on_paid)


@pytest.mark.django_db
def test_handler_runs_in_the_publishing_transaction(handler):
    with transaction.atomic():
        rec = events.publish("test.paid", {"id": 7, "amount": Decimal("12.50")})
    assert handler == [("test.paid", {"id": 7, "amount": "12.50"}, True)]
    assert EventRecord.objects.get(pk=rec.pk).payload == {"id": 7, "amount": "12.50"}
    assert OutboxMessage.objects.filter(topic="test.bank", key="pay-7").exists()


@pytest.mark.django_db
def test_wildcard_and_unsubscribe():
    seen = []

    def spy(name, payload):
        seen.append(name)

    events.subscribe("*")(spy)
    events.subscribe("*")(spy)  # subscribing twice registers once
    try:
        with transaction.atomic():
            events.publish("test.a", {})
            events.publish("test.b", {})
    finally:
        events.unsubscribe("*", spy)
    with transaction.atomic():
        events.publish("test.c", {})
    assert seen == ["test.a", "test.b"]


@pytest.mark.django_db
def test_publish_needs_a_transaction_and_refuses_floats():
    with pytest.raises(TypeError), transaction.atomic():
        events.publish("test.float", {"amount": 1.5})
    assert not EventRecord.objects.filter(name="test.float").exists()


@pytest.mark.django_db(transaction=True)
def test_publish_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        events.publish("test.paid", {"id": 1})
    assert EventRecord.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_publisher_rollback_rolls_back_handler_writes_and_the_event(handler):
    with pytest.raises(ValueError), transaction.atomic():
        events.publish("test.paid", {"id": 8})
        assert OutboxMessage.objects.filter(key="pay-8").exists()  # visible inside the transaction
        raise ValueError("the publisher fails after publishing")
    assert len(handler) == 1  # the handler did run ...
    assert EventRecord.objects.count() == 0  # ... but nothing of it survived
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_failing_handler_rolls_back_the_publisher():
    from fmis.platform import audit
    from fmis.platform.models import AuditRecord

    def refuse(name, payload):
        raise RuntimeError("subscriber refuses")

    events.subscribe("test.refused")(refuse)
    try:
        with pytest.raises(RuntimeError, match="subscriber refuses"), transaction.atomic():
            audit.record(None, "test.business_write", object_type="t")
            events.publish("test.refused", {"id": 1})
    finally:
        events.unsubscribe("test.refused", refuse)
    assert AuditRecord.objects.count() == 0
    assert EventRecord.objects.count() == 0
