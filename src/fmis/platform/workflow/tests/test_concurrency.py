import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from fmis.iam.models import User
from fmis.platform.errors import Conflict
from fmis.platform.models import AuditRecord
from fmis.platform.workflow import services
from fmis.platform.workflow.models import ReviewAction, ReviewInstance


def _run_concurrently(fns):
    barrier = threading.Barrier(len(fns))

    def run(fn):
        try:
            barrier.wait()
            fn()
            return "ok"
        except Conflict as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(len(fns)) as pool:
        return list(pool.map(run, fns))


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_of_the_same_step_only_one_wins(world):
    doc = world.docs["a1"]
    services.submit(document=doc, user=world.clerk_a)
    reviewers = [world.treasury_a.pk, world.treasury_a2.pk] * 4

    def approve_as(pk):
        return lambda: services.approve(document=doc, user=User.objects.get(pk=pk), comment=f"by {pk}", step=1)

    results = _run_concurrently([approve_as(pk) for pk in reviewers])
    assert results.count("ok") == 1
    assert set(results) - {"ok"} <= {"workflow.conflict", "workflow.step_changed"}
    inst = ReviewInstance.objects.get()
    assert (inst.status, inst.step_no, inst.version) == ("pending", 2, 2)
    approvals = ReviewAction.objects.filter(action="approve")
    assert approvals.count() == 1
    assert AuditRecord.objects.filter(action="workflow.approve").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_approve_and_return_only_one_wins(world):
    doc = world.docs["a1"]
    services.submit(document=doc, user=world.clerk_a)
    a, a2 = world.treasury_a.pk, world.treasury_a2.pk
    results = _run_concurrently([
        lambda: services.approve(document=doc, user=User.objects.get(pk=a), step=1),
        lambda: services.return_(document=doc, user=User.objects.get(pk=a2), reason="退回补充", step=1),
        lambda: services.withdraw(document=doc, user=User.objects.get(pk=world.clerk_a.pk)),
    ])
    assert results.count("ok") == 1
    inst = ReviewInstance.objects.get()
    assert ReviewAction.objects.filter(instance=inst).exclude(action="submit").count() == 1
    last = ReviewAction.objects.filter(instance=inst).order_by("-version").first()
    expected = {"approve": ("pending", 2), "return": ("returned", 1), "withdraw": ("withdrawn", 1)}
    assert (inst.status, inst.step_no) == expected[last.action]
