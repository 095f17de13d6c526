import pytest

from fmis.orgs.models import Agency


@pytest.fixture
def province(make_region, make_agency):
    p = make_region("370000", "示例省")
    c1 = make_region("370100", "一市", parent=p)
    k1 = make_region("370102", "一县", parent=c1)
    k2 = make_region("370103", "二县", parent=c1)
    a = {
        "p": make_agency("370000101", p),
        "c1": make_agency("370100101", c1),
        "k1": make_agency("370102101", k1),
        "k1sub": make_agency("370102101001", k1),
        "k2": make_agency("370103101", k2),
    }
    return {"p": p, "c1": c1, "k1": k1, "k2": k2, "a": a}


def codes(qs):
    return sorted(qs.values_list("code", flat=True))


@pytest.mark.django_db
def test_own_region_tree_sees_only_below(province, make_role, make_user):
    role = make_role("city_budget", ["orgs.agency.view"], rules=[("region", "own_region_tree", [])])
    u = make_user("c1user", roles=[role], region=province["c1"])
    assert codes(Agency.objects.restrict(u, "orgs.agency.view")) == [
        "370100101", "370102101", "370102101001", "370103101"]


@pytest.mark.django_db
def test_no_role_with_function_sees_nothing(province, make_role, make_user):
    role = make_role("other", ["iam.user.view"])
    u = make_user("x", roles=[role], region=province["p"])
    assert Agency.objects.restrict(u, "orgs.agency.view").count() == 0


@pytest.mark.django_db
def test_union_across_roles_intersection_within_role(province, make_role, make_user):
    from fmis.iam.models import DataRule

    r1 = make_role("r1", ["orgs.agency.view"], rules=[("region", "subtree", ["370102"])])
    r2 = make_role("r2", ["orgs.agency.view"], rules=[("agency", "values", ["370103101"])])
    u = make_user("u", roles=[r1, r2], region=province["p"])
    assert codes(Agency.objects.restrict(u, "orgs.agency.view")) == ["370102101", "370102101001", "370103101"]
    # narrowing u within r1 to one agency intersects with r1's scope
    DataRule.objects.create(role=r1, user=u, dimension="agency", kind="values", values=["370102101001"])
    u.refresh_from_db()
    from fmis.iam.permissions import clear_cache

    clear_cache(u)
    assert codes(Agency.objects.restrict(u, "orgs.agency.view")) == ["370102101001", "370103101"]


@pytest.mark.django_db
def test_suspended_role_counts_for_nothing(province, make_role, make_user):
    role = make_role("r", ["orgs.agency.view"], status="suspended")
    u = make_user("u", roles=[role], region=province["p"])
    assert Agency.objects.restrict(u, "orgs.agency.view").count() == 0
