import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fmis.iam.permissions import clear_cache
from fmis.platform.workflow import selectors, services

pytestmark = pytest.mark.django_db


def pending(user):
    clear_cache(user)
    return sorted(i.title for i in selectors.inbox_pending(user=user))


def test_inbox_shows_exactly_the_actionable_items_for_each_user(world):
    d = world.docs
    services.submit(document=d["a1"], user=world.clerk_a)
    services.submit(document=d["a2"], user=world.clerk_a2)
    services.submit(document=d["b1"], user=world.clerk_b)
    assert pending(world.treasury_a) == ["甲县卫健局", "甲县教育局"]
    assert pending(world.treasury_a2) == ["甲县卫健局", "甲县教育局"]
    assert pending(world.treasury_b) == ["乙县教育局"]
    assert pending(world.city) == []
    assert pending(world.clerk_a) == []
    assert pending(world.admin) == []

    services.approve(document=d["a1"], user=world.treasury_a)
    services.return_(document=d["b1"], user=world.treasury_b, reason="附件不全")
    assert pending(world.treasury_a) == ["甲县卫健局"]
    assert pending(world.treasury_a2) == ["甲县卫健局"]
    assert pending(world.treasury_b) == []
    assert pending(world.city) == ["甲县教育局"]
    assert [i.title for i in selectors.inbox_returned(user=world.clerk_b)] == ["乙县教育局"]

    counts = selectors.inbox_counts(user=world.treasury_a)
    assert [(c.type_name, c.step_name, c.count) for c in counts] == [("测试单据", "县级审核", 1)]

    services.approve(document=d["a1"], user=world.city)
    assert pending(world.city) == []
    done_a = [(i.title, i.action_name) for i in selectors.inbox_done(user=world.treasury_a)]
    assert done_a == [("甲县教育局", "审核通过")]
    done_b = [(i.title, i.action_name) for i in selectors.inbox_done(user=world.treasury_b)]
    assert done_b == [("乙县教育局", "退回")]
    assert [i.title for i in selectors.inbox_done(user=world.clerk_a)] == ["甲县教育局"]
    assert list(selectors.inbox_done(user=world.treasury_a2)) == []


def test_superuser_sees_every_pending_review(world):
    from fmis.iam.models import User

    services.submit(document=world.docs["a1"], user=world.clerk_a)
    services.submit(document=world.docs["b1"], user=world.clerk_b)
    root = User.objects.create_superuser("root", "Passw0rd!x")
    assert pending(root) == ["乙县教育局", "甲县教育局"]


def test_inbox_query_count_does_not_grow_with_documents(world, make_agency):
    def measure(user):
        clear_cache(user)
        with CaptureQueriesContext(connection) as ctx:
            items = list(selectors.inbox_pending(user=user))
            titles = [i.title for i in items]
        return len(ctx.captured_queries), titles

    services.submit(document=world.docs["a1"], user=world.clerk_a)
    few_queries, few = measure(world.treasury_a)
    root = type(world.admin).objects.create_superuser("root", "Passw0rd!x")
    for n in range(20):
        services.submit(document=make_agency(f"370102{200 + n}", world.regions["ka"]), user=root)
    many_queries, many = measure(world.treasury_a)
    assert len(few) == 1 and len(many) == 21
    assert many_queries == few_queries


def test_inbox_of_a_user_whose_dynamic_scope_resolves_to_nothing(world, make_role, make_user):
    # "own agency" for a finance user without an agency gives an empty scope, not an error
    r = make_role("odd", ["test.doc.review1"], rules=[("agency", "own_agency", [])])
    u = make_user("odd_user", roles=[r], region=world.regions["ka"])
    services.submit(document=world.docs["a1"], user=world.clerk_a)
    assert pending(u) == []
