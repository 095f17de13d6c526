import datetime as dt
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections, transaction
from django.utils import timezone

from fmis.platform import audit, outbox
from fmis.platform.errors import Conflict
from fmis.platform.models import AuditRecord, OutboxMessage

TOPIC = "test.bank"


@pytest.fixture
def sender():
    sent: list[tuple[str, dict]] = []
    lock = threading.Lock()

    @outbox.register_sender(TOPIC)
    def send(msg):
        with lock:
            sent.append((msg.key, msg.payload))

    yield sent
    outbox.unregister_sender(TOPIC)


@pytest.fixture
def failing_sender():
    calls = []

    @outbox.register_sender(TOPIC)
    def send(msg):
        calls.append(msg.key)
        raise ConnectionError("bank gateway down")

    yield calls
    outbox.unregister_sender(TOPIC)


def enqueue(key, payload=None, topic=TOPIC):
    with transaction.atomic():
        return outbox.enqueue(topic=topic, key=key, payload=payload or {"key": key})


@pytest.mark.django_db
def test_enqueue_is_idempotent_on_topic_and_key():
    a = enqueue("v-1", {"amount": "10.00"})
    b = enqueue("v-1", {"amount": "10.00"})
    c = enqueue("v-1", {"amount": "10.00"}, topic="test.other")
    assert a.pk == b.pk != c.pk
    assert OutboxMessage.objects.filter(topic=TOPIC).count() == 1
    with pytest.raises(Conflict) as exc:
        enqueue("v-1", {"amount": "99.00"})
    assert exc.value.code == "outbox.key_reused"
    assert OutboxMessage.objects.get(pk=a.pk).payload == {"amount": "10.00"}


@pytest.mark.django_db
def test_deliver_sends_and_marks_sent(sender):
    for i in range(3):
        enqueue(f"v-{i}")
    assert outbox.deliver() == (3, 0)
    assert [k for k, _ in sender] == ["v-0", "v-1", "v-2"]
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    assert all(m.sent_at and m.attempts == 1 for m in OutboxMessage.objects.all())
    assert outbox.deliver() == (0, 0)  # nothing is sent twice
    assert len(sender) == 3


@pytest.mark.django_db
def test_messages_without_a_sender_stay_pending(sender):
    enqueue("x-1", topic="test.nobody")
    enqueue("v-1")
    assert outbox.deliver() == (1, 0)
    assert outbox.deliver(topic="test.nobody") == (0, 0)
    msg = OutboxMessage.objects.get(topic="test.nobody")
    assert (msg.status, msg.attempts) == ("pending", 0)


@pytest.mark.django_db
def test_failing_sender_is_retried_with_backoff_then_failed(failing_sender):
    enqueue("v-1")
    now = timezone.now()
    assert outbox.deliver(max_attempts=3, now=now) == (0, 1)
    msg = OutboxMessage.objects.get()
    assert (msg.status, msg.attempts) == ("pending", 1)
    assert "ConnectionError: bank gateway down" in msg.last_error
    assert msg.next_attempt_at == now + outbox.backoff(1)
    # not due yet: not tried again
    assert outbox.deliver(max_attempts=3, now=now + dt.timedelta(seconds=1)) == (0, 0)
    assert len(failing_sender) == 1
    later = msg.next_attempt_at
    assert outbox.deliver(max_attempts=3, now=later) == (0, 1)
    msg.refresh_from_db()
    assert msg.attempts == 2 and msg.next_attempt_at == later + outbox.backoff(2)
    assert outbox.deliver(max_attempts=3, now=msg.next_attempt_at) == (0, 1)
    msg.refresh_from_db()
    assert (msg.status, msg.attempts, msg.next_attempt_at) == ("failed", 3, None)
    assert outbox.deliver(max_attempts=3, now=now + dt.timedelta(days=1)) == (0, 0)
    assert len(failing_sender) == 3


def test_backoff_grows_and_is_capped():
    assert outbox.backoff(1) == dt.timedelta(seconds=30)
    assert outbox.backoff(2) == dt.timedelta(seconds=60)
    assert outbox.backoff(3) == dt.timedelta(seconds=120)
    assert outbox.backoff(50) == dt.timedelta(hours=1)


@pytest.mark.django_db
def test_failed_message_can_be_retried_by_an_operator(failing_sender, make_user):
    enqueue("v-1")
    outbox.deliver(max_attempts=1)
    msg = OutboxMessage.objects.get()
    assert msg.status == "failed"
    operator = make_user("ops")
    assert outbox.retry(message_id=msg.pk, user=operator) is True
    msg.refresh_from_db()
    assert (msg.status, msg.attempts) == ("pending", 0)
    assert outbox.retry(message_id=msg.pk, user=operator) is False  # only failed messages
    rec = AuditRecord.objects.get(action="platform.outbox.retry")
    assert rec.actor_id == operator.pk and rec.before["status"] == "failed" and rec.after["status"] == "pending"


@pytest.mark.django_db
def test_a_failing_senders_own_writes_roll_back():
    @outbox.register_sender(TOPIC)
    def send(msg):
        audit.record(None, "test.sender_wrote", object_type="t")
        raise ConnectionError("after writing")

    try:
        enqueue("v-1")
        assert outbox.deliver() == (0, 1)
    finally:
        outbox.unregister_sender(TOPIC)
    assert not AuditRecord.objects.filter(action="test.sender_wrote").exists()
    assert OutboxMessage.objects.get().attempts == 1


@pytest.mark.django_db
def test_outbox_deliver_command(sender):
    from io import StringIO

    from django.core.management import call_command

    enqueue("v-1")
    out = StringIO()
    call_command("outbox_deliver", "--topic", TOPIC, stdout=out)
    assert out.getvalue().strip() == "sent 1, failed 0"


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        outbox.enqueue(topic=TOPIC, key="k", payload={})


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliverers_never_send_the_same_message_twice():
    n_messages, n_workers = 40, 4
    with transaction.atomic():
        for i in range(n_messages):
            outbox.enqueue(topic=TOPIC, key=f"v-{i}", payload={"i": i})
    sends: Counter = Counter()
    by_worker: dict[str, int] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(n_workers)

    @outbox.register_sender(TOPIC)
    def slow_send(msg):
        with lock:
            sends[msg.key] += 1
            by_worker[threading.current_thread().name] += 1
        time.sleep(0.005)  # hold the row lock long enough for the others to want it

    def worker(_):
        try:
            barrier.wait(timeout=30)
            return outbox.deliver(limit=n_messages)
        finally:
            connections.close_all()

    try:
        with ThreadPoolExecutor(n_workers) as pool:
            results = list(pool.map(worker, range(n_workers)))
    finally:
        outbox.unregister_sender(TOPIC)
    assert sum(s for s, _ in results) == n_messages
    assert sum(f for _, f in results) == 0
    assert set(sends) == {f"v-{i}" for i in range(n_messages)}
    assert max(sends.values()) == 1  # never twice
    assert len(by_worker) > 1  # the work really was shared
    assert OutboxMessage.objects.filter(status="sent").count() == n_messages


@pytest.mark.django_db
def test_a_batch_sender_gets_the_due_messages_in_batches_and_each_outcome_is_recorded():
    for i in range(7):
        enqueue(f"b-{i}")
    batches: list[list[str]] = []

    @outbox.register_batch_sender(TOPIC, size=3)
    def send(messages):
        batches.append([m.key for m in messages])
        return [ConnectionError("refused") if m.key == "b-4" else None for m in messages]

    try:
        assert outbox.deliver(topic=TOPIC, limit=100) == (6, 1)
    finally:
        outbox.unregister_sender(TOPIC)
    assert batches == [["b-0", "b-1", "b-2"], ["b-3", "b-4", "b-5"], ["b-6"]]
    failed = OutboxMessage.objects.get(key="b-4")
    assert (failed.status, failed.attempts, failed.next_attempt_at is not None) == ("pending", 1, True)
    assert "refused" in failed.last_error
    assert OutboxMessage.objects.filter(status="sent").count() == 6


@pytest.mark.django_db
def test_a_batch_sender_that_raises_leaves_the_whole_batch_for_a_retry_and_limit_is_kept():
    for i in range(5):
        enqueue(f"r-{i}")

    @outbox.register_batch_sender(TOPIC, size=10)
    def send(messages):
        raise TimeoutError("orderer unreachable")

    try:
        assert outbox.deliver(topic=TOPIC, limit=4) == (0, 4)  # at most `limit` messages tried
    finally:
        outbox.unregister_sender(TOPIC)
    assert OutboxMessage.objects.filter(status="pending", attempts=1).count() == 4
    assert OutboxMessage.objects.filter(status="pending", attempts=0).count() == 1
