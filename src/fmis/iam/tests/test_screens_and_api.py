"""The IAM screens and API end to end: lists limited to what the reader manages, forms that show a
refusal instead of failing, the "why can I" page, and the permission query APIs."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from fmis.iam import services
from fmis.iam.models import DataRule, Delegation, Role, User, UserRole, today
from fmis.iam.services import RoleInput, RuleInput, UserInput

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def mk_user(actor, username, **kw):
    return services.create_user(actor=actor, username=username, password=PASSWORD, password_confirm=PASSWORD,
                                data=UserInput(name=kw.pop("name", username), **kw))


# --- screens -----------------------------------------------------------------------------------


def test_user_list_search_export_and_404_for_unmanaged(admin_a, admin_b):
    mk_user(admin_a, "a_clerk", name="张三")
    other = mk_user(admin_b, "b_clerk")
    c = client_for(admin_a)
    r = c.get("/iam/users/?q=张")
    assert r.status_code == 200 and "a_clerk" in r.content.decode() and "b_clerk" not in r.content.decode()
    r = c.get("/iam/users/?export=xlsx")
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "用户编码" and [row[0] for row in rows[1:]] == ["a_clerk"]
    assert c.get(f"/iam/users/{other.pk}/").status_code == 404


def test_user_create_form_shows_the_refusal(admin_a):
    c = client_for(admin_a)
    r = c.post("/iam/users/new/", {"username": "weak", "name": "弱", "password": "123", "password_confirm": "123",
                                   "user_type": "normal", "org_type": "finance"})
    assert r.status_code == 200 and "密码不符合安全要求" in r.content.decode()
    assert not User.objects.filter(username="weak").exists()
    r = c.post("/iam/users/new/", {"username": "boss", "name": "老板", "password": PASSWORD,
                                   "password_confirm": PASSWORD, "user_type": "super", "org_type": "finance"})
    assert "不能创建级别高于自己的用户" in r.content.decode()
    r = c.post("/iam/users/new/", {"username": "ok1", "name": "好", "password": PASSWORD, "password_confirm": PASSWORD,
                                   "user_type": "normal", "org_type": "finance"})
    assert r.status_code == 302
    assert User.objects.get(username="ok1").manager_id == admin_a.pk


def test_user_status_buttons(admin_a):
    u = mk_user(admin_a, "clerk1")
    c = client_for(admin_a)
    c.post(f"/iam/users/{u.pk}/status/", {"status": "suspended"})
    assert User.objects.get(pk=u.pk).status == "suspended"
    User.objects.filter(pk=u.pk).update(expires_on=today())
    r = c.post(f"/iam/users/{u.pk}/status/", {"status": "active"}, follow=True)
    assert "过期日期" in r.content.decode() and User.objects.get(pk=u.pk).status == "suspended"


def test_role_detail_function_tree_and_grant(admin_a, new_admin):
    limited = new_admin("limited", functions=["iam.role.view", "iam.role.manage", "iam.role.grant"])
    role = services.create_role(actor=limited, data=RoleInput(code="r1", name="经办"))
    c = client_for(limited)
    page = c.get(f"/iam/roles/{role.pk}/").content.decode()
    assert 'value="iam.role.view"' in page
    # a function the admin lacks is shown disabled, and posting it anyway is refused
    assert 'value="iam.user.manage" disabled' in page
    r = c.post(f"/iam/roles/{role.pk}/functions/", {"functions": ["iam.role.view", "iam.user.manage"]}, follow=True)
    assert "不能授予自己不具有的功能" in r.content.decode()
    c.post(f"/iam/roles/{role.pk}/functions/", {"functions": ["iam.role.view"]})
    assert list(role.functions.values_list("code", flat=True)) == ["iam.role.view"]


def test_rules_editor_saves_and_reports_bad_lines(admin_a):
    role = services.create_role(actor=admin_a, data=RoleInput(code="r1", name="经办"))
    c = client_for(admin_a)
    c.post(f"/iam/roles/{role.pk}/rules/", {"dimension": ["region", "agency", ""], "kind": ["subtree", "values", "values"],
                                            "values": ["370100", "370000101，370000102", ""]})
    assert [(r.dimension, r.values) for r in DataRule.objects.filter(role=role).order_by("pk")] == [
        ("region", ["370100"]), ("agency", ["370000101", "370000102"])]
    r = c.post(f"/iam/roles/{role.pk}/rules/", {"dimension": ["region"], "kind": ["values"], "values": [""]})
    assert "须至少填写一个值" in r.content.decode()
    assert DataRule.objects.filter(role=role).count() == 2


def test_delegation_screens(admin_a, give):
    holder = mk_user(admin_a, "holder")
    deputy = mk_user(admin_a, "deputy")
    give(holder, ["iam.delegation.manage", "iam.explain"])
    held = Role.objects.get(user_roles__user=holder)
    c = client_for(holder)
    assert f'value="{held.pk}"' in c.get("/iam/delegations/new/").content.decode()
    r = c.post("/iam/delegations/new/", {"delegates": "deputy nobody", "roles": [held.pk],
                                         "starts_on": today().isoformat(), "ends_on": today().isoformat()})
    assert "nobody" in r.content.decode() and not Delegation.objects.exists()
    r = c.post("/iam/delegations/new/", {"delegates": "deputy", "roles": [held.pk], "starts_on": today().isoformat(),
                                         "ends_on": (today() + dt.timedelta(days=3)).isoformat(),
                                         "dimension": ["agency"], "kind": ["values"], "values": ["370000101"]})
    assert r.status_code == 302
    d = Delegation.objects.get()
    assert list(d.delegates.all()) == [deputy] and d.data_rules.count() == 1
    assert "生效中" in c.get("/iam/delegations/").content.decode()
    c.post(f"/iam/delegations/{d.pk}/revoke/")
    assert Delegation.objects.get().revoked_at is not None


def test_token_page_shows_raw_token_once(admin_a):
    c = client_for(admin_a)
    r = c.post("/iam/tokens/", {"name": "对账脚本"})
    raw = r.context["raw"]
    assert raw.startswith("fmis_") and raw in r.content.decode() and r["Cache-Control"] == "no-store"
    assert raw not in c.get("/iam/tokens/").content.decode()


def test_password_page(admin_a):
    c = client_for(admin_a)
    r = c.post("/iam/password/", {"old_password": PASSWORD, "new_password": "abc", "new_password_confirm": "abc"})
    assert "密码不符合安全要求" in r.content.decode()
    r = c.post("/iam/password/", {"old_password": PASSWORD, "new_password": "N3w!Passwd", "new_password_confirm": "N3w!Passwd"})
    assert r.status_code == 302 and User.objects.get(pk=admin_a.pk).check_password("N3w!Passwd")
    assert c.get("/iam/users/").status_code == 200  # the session survives the change


def test_screens_need_the_function(make_user):
    nobody = make_user("nobody")
    c = client_for(nobody)
    for url in ("/iam/users/", "/iam/roles/", "/iam/delegations/", "/iam/tokens/", "/iam/explain/", "/iam/groups/"):
        assert c.get(url).status_code == 403, url


# --- why can I / why can't I -------------------------------------------------------------------


@pytest.fixture
def explained(admin_a, give, make_region, make_agency):
    p = make_region("370000")
    c1 = make_region("370100", parent=p)
    make_agency("370100101", c1)
    clerk = mk_user(admin_a, "clerk", org_type="finance", region_id=c1.pk)
    give(clerk, ["iam.explain"])
    work = services.create_role(actor=admin_a, data=RoleInput(code="work", name="经办"))
    services.set_role_functions(actor=admin_a, role_id=work.pk, codes=["iam.user.view"])
    services.set_role_rules(actor=admin_a, role_id=work.pk, rules=[RuleInput("region", "own_region_tree", ())])
    stale = services.create_role(actor=admin_a, data=RoleInput(code="stale", name="旧岗位"))
    services.set_role_functions(actor=admin_a, role_id=stale.pk, codes=["iam.role.view"])
    services.set_user_roles(actor=admin_a, user_id=clerk.pk,
                            role_ids=[work.pk, stale.pk, *UserRole.objects.filter(user=clerk).values_list("role_id", flat=True)])
    services.change_role_status(actor=admin_a, role_id=stale.pk, status="suspended")
    return User.objects.get(pk=clerk.pk)


def test_explain_page_lists_functions_roles_and_scopes(explained):
    page = client_for(explained).get("/iam/explain/").content.decode()
    assert "iam.user.view" in page and "经办（work），自有角色" in page
    assert "财政区划: 本区划及下级" in page
    assert "iam.role.view" not in page.split('data-testid="functions"')[1]


def test_explain_answers_yes_with_roles_and_no_with_reasons(explained, admin_a, make_user, give):
    c = client_for(explained)
    yes = c.get("/iam/explain/?function=iam.user.view")
    assert yes.context["answer"].allowed and "经办（work）" in yes.content.decode()
    no = c.get("/iam/explain/?function=iam.role.view").context["answer"]
    assert not no.allowed and any("暂停" in r for r in no.reasons)
    none = c.get("/iam/explain/?function=iam.user.manage").context["answer"]
    assert not none.allowed and "任何角色" in none.reasons[0]
    # an ended delegation is named as the reason
    boss = make_user("boss")
    extra = give(boss, ["iam.token.manage"])
    d = Delegation.objects.create(delegator=boss, starts_on=today() - dt.timedelta(days=5),
                                  ends_on=today() - dt.timedelta(days=1))
    d.delegates.set([explained])
    d.roles.set([extra])
    ended = c.get("/iam/explain/?function=iam.token.manage").context["answer"]
    assert not ended.allowed and "结束" in ended.reasons[0] and "boss" in ended.reasons[0]
    d.ends_on = today() + dt.timedelta(days=1)
    d.save()
    ok = c.get("/iam/explain/?function=iam.token.manage").context["answer"]
    assert ok.allowed and "由" in ok.grant_labels[0] and "boss" in ok.grant_labels[0]


def test_explain_other_users(explained, root, admin_b, admin_a):
    assert client_for(root).get(f"/iam/explain/?user={explained.pk}").status_code == 200
    assert client_for(admin_a).get(f"/iam/explain/?user={explained.pk}").status_code == 200  # its manager
    assert client_for(admin_b).get(f"/iam/explain/?user={explained.pk}").status_code == 404


# --- API ---------------------------------------------------------------------------------------


def test_api_user_lifecycle(admin_a, admin_b):
    c = client_for(admin_a)
    r = c.post("/api/v1/iam/users", content_type="application/json",
               data={"username": "api_u", "name": "接口用户", "password": PASSWORD, "password_confirm": PASSWORD})
    assert r.status_code == 201, r.content
    uid = r.json()["id"]
    assert c.get("/api/v1/iam/users?q=api").json()["count"] == 1
    r = client_for(admin_b).get(f"/api/v1/iam/users/{uid}")
    assert r.status_code == 404 and r.json()["code"] == "iam.user_not_found"
    r = c.put(f"/api/v1/iam/users/{uid}", content_type="application/json", data={"name": "改", "user_type": "super"})
    assert r.status_code == 403 and r.json()["code"] == "iam.upgrade_beyond_manager"
    r = c.post(f"/api/v1/iam/users/{uid}/status", content_type="application/json", data={"status": "suspended"})
    assert r.json()["status"] == "suspended"
    assert c.delete(f"/api/v1/iam/users/{uid}").status_code == 204


def test_api_role_functions_rules_and_effective_permissions(admin_a):
    c = client_for(admin_a)
    rid = c.post("/api/v1/iam/roles", content_type="application/json", data={"code": "r1", "name": "经办"}).json()["id"]
    assert c.put(f"/api/v1/iam/roles/{rid}/functions", content_type="application/json",
                 data={"functions": ["iam.explain"]}).json() == {"functions": ["iam.explain"]}
    r = c.put(f"/api/v1/iam/roles/{rid}/rules", content_type="application/json",
              data={"rules": [{"dimension": "agency", "kind": "bogus", "values": ["1"]}]})
    assert r.status_code == 422 and r.json()["errors"][0]["line"] == 1
    c.put(f"/api/v1/iam/roles/{rid}/rules", content_type="application/json",
          data={"rules": [{"dimension": "agency", "kind": "subtree", "values": ["3701"]}]})
    uid = c.post("/api/v1/iam/users", content_type="application/json",
                 data={"username": "m1", "name": "成员", "password": PASSWORD, "password_confirm": PASSWORD}).json()["id"]
    assert c.put(f"/api/v1/iam/users/{uid}/roles", content_type="application/json",
                 data={"role_ids": [rid]}).json() == {"roles": ["r1"]}
    c.put(f"/api/v1/iam/roles/{rid}/users/{uid}/rules", content_type="application/json",
          data={"rules": [{"dimension": "agency", "kind": "values", "values": ["370100101"]}]})
    doc = c.get(f"/api/v1/iam/roles/{rid}/effective-permissions").json()
    assert doc["rules"][0]["values"] == ["3701"]
    assert doc["members"] == [{"user": "m1", "user_rules": [
        {"dimension": "agency", "kind": "values", "values": ["370100101"], "text": "预算单位: 指定值（370100101）"}]}]


def test_api_user_data_permissions_own_delegated_and_by_element(admin_a, give, make_user):
    member = mk_user(admin_a, "member")
    give(member, ["iam.explain"], rules=[("agency", "subtree", ["3701"]), ("region", "values", ["370100"])])
    boss = make_user("boss")
    lent = give(boss, ["iam.token.manage"], rules=[("agency", "values", ["370200101"])])
    d = Delegation.objects.create(delegator=boss, starts_on=today(), ends_on=today())
    d.delegates.set([member])
    d.roles.set([lent])
    c = client_for(member)
    own = c.get(f"/api/v1/iam/users/{member.pk}/data-permissions/own").json()
    assert [r["delegated"] for r in own["roles"]] == [False]
    delegated = c.get(f"/api/v1/iam/users/{member.pk}/data-permissions/delegated").json()
    assert [(r["role_code"], r["delegated_by"]) for r in delegated["roles"]] == [(lent.code, "boss")]
    el = c.get(f"/api/v1/iam/users/{member.pk}/data-permissions/by-element?dimension=agency").json()
    assert [(r["unrestricted"], r["parts"][0]["subtrees"] or r["parts"][0]["values"]) for r in el["roles"]] == [
        (False, ["3701"]), (False, ["370200101"])]
    fund = c.get(f"/api/v1/iam/users/{member.pk}/data-permissions/by-element?dimension=fund_type").json()
    assert all(r["unrestricted"] for r in fund["roles"])
    only = c.get(f"/api/v1/iam/users/{member.pk}/data-permissions/by-element?dimension=agency"
                 f"&function=iam.token.manage").json()
    assert [r["role_code"] for r in only["roles"]] == [lent.code]
    me = c.get("/api/v1/iam/me/permissions").json()
    assert {f["code"] for f in me["functions"]} == {"iam.explain", "iam.token.manage"}
    assert c.get("/api/v1/iam/me/can?function=iam.user.manage").json()["allowed"] is False


def test_api_delegation_and_groups(admin_a, give):
    holder = mk_user(admin_a, "holder")
    deputy = mk_user(admin_a, "deputy")
    give(holder, ["iam.delegation.manage", "iam.explain"])
    held = Role.objects.get(user_roles__user=holder)
    c = client_for(holder)
    r = c.post("/api/v1/iam/delegations", content_type="application/json",
               data={"delegate_ids": [deputy.pk], "role_ids": [held.pk], "starts_on": today().isoformat(),
                     "ends_on": today().isoformat()})
    assert r.status_code == 201 and r.json()["state"] == "in_force"
    did = r.json()["id"]
    assert c.post(f"/api/v1/iam/delegations/{did}/revoke").json()["state"] == "revoked"
    a = client_for(admin_a)
    root_id = a.post("/api/v1/iam/groups/user", content_type="application/json", data={"name": "全部"}).json()["id"]
    a.post("/api/v1/iam/groups/user", content_type="application/json", data={"name": "预算处", "parent_id": root_id})
    assert [g["name"] for g in a.get("/api/v1/iam/groups/user").json()] == ["全部", "预算处"]
    assert a.get("/api/v1/iam/groups/bogus").status_code == 404


def test_api_requires_the_function(make_user):
    c = client_for(make_user("nobody"))
    assert c.get("/api/v1/iam/users").status_code == 403
    assert c.get("/api/v1/iam/me/permissions").status_code == 403
