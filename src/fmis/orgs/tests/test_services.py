"""Services: validation with errors naming the field, nothing written on failure, audit on success,
scope checks on every write, and the hierarchy rules enforced by the database itself."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from fmis.orgs import services
from fmis.orgs.models import Agency, Bank, BankBranch, FinanceDepartment, Region
from fmis.platform.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.models import AuditRecord


def audit_actions() -> list[str]:
    return list(AuditRecord.objects.order_by("id").values_list("action", flat=True))


def assert_refused(exc_type, error_code: str, field: str | None, fn, /, **kwargs) -> DomainError:
    """`fn(**kwargs)` raises `exc_type` with `code` naming `field`, and writes nothing at all."""
    counts = {m: m.objects.count() for m in (Region, FinanceDepartment, Agency, Bank, BankBranch, AuditRecord)}
    with pytest.raises(exc_type) as info:
        fn(**kwargs)
    assert info.value.code == error_code, info.value
    assert info.value.field == field
    assert info.value.message and info.value.message != error_code
    assert {m: m.objects.count() for m in counts} == counts
    return info.value


# --- pure code rules ---------------------------------------------------------------------------

@pytest.mark.parametrize("code,level", [
    ("990000", Region.Level.PROVINCE), ("990100", Region.Level.CITY), ("990101", Region.Level.COUNTY),
    ("990000000", Region.Level.PROVINCE), ("990100000", Region.Level.CITY), ("990101000", Region.Level.COUNTY),
    ("990100001", Region.Level.COUNTY),  # a county-level zone directly under a city
    ("990101001", None), ("000000", None), ("99010", None), ("99010a", None),
])
def test_region_level_for_code(code, level):
    assert services.region_level_for_code(code) == level


# --- regions -----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_create_region_with_finance_department_and_audit(world, users):
    before = AuditRecord.objects.count()
    region = services.create_region(user=users["c1_admin"], code="990103", name="一市三县", level=3,
                                    parent_code="990100")
    assert region.parent == world["r"]["c1"] and region.level == Region.Level.COUNTY
    assert region.finance_department.name == "一市三县财政局"
    assert region.finance_department.code == "990103"
    assert audit_actions()[before:] == ["orgs.region.create", "orgs.finance_department.create"]
    rec = AuditRecord.objects.get(action="orgs.region.create")
    assert rec.actor_name == "c1_admin" and rec.after["code"] == "990103" and rec.before is None


@pytest.mark.django_db
@pytest.mark.parametrize("kwargs,exc,code,field", [
    ({"code": "99013", "level": 3, "parent_code": "990100"}, ValidationFailed, "orgs.region.bad_code", "code"),
    ({"code": "99010x", "level": 3, "parent_code": "990100"}, ValidationFailed, "orgs.region.bad_code", "code"),
    ({"code": "990103", "level": 2, "parent_code": "990000"}, ValidationFailed, "orgs.region.level_mismatch", "level"),
    ({"code": "990103", "level": 7, "parent_code": "990100"}, ValidationFailed, "orgs.region.bad_level", "level"),
    ({"code": "990103", "level": 3}, ValidationFailed, "orgs.region.parent_required", "parent"),
    ({"code": "990103", "level": 3, "parent_code": "990000"}, ValidationFailed, "orgs.region.parent_level", "parent"),
    ({"code": "990103", "level": 3, "parent_code": "990101"}, ValidationFailed, "orgs.region.parent_level", "parent"),
    ({"code": "990203", "level": 3, "parent_code": "990100"}, ValidationFailed, "orgs.region.parent_prefix", "code"),
    ({"code": "980300", "level": 2, "parent_code": "990000"}, ValidationFailed, "orgs.region.parent_prefix", "code"),
    ({"code": "990101", "level": 3, "parent_code": "990100"}, Conflict, "orgs.region.duplicate_code", "code"),
    ({"code": "990101000", "level": 3, "parent_code": "990100"}, Conflict, "orgs.region.duplicate_code", "code"),
    ({"code": "990103", "level": 3, "parent_code": "990999"}, NotFound, "orgs.region.parent_not_found", "parent"),
    ({"code": "990103", "level": 3, "parent_code": "990100", "name": " "}, ValidationFailed, "orgs.region.name_required",
     "name"),
])
def test_create_region_refusals(world, users, kwargs, exc, code, field):
    kwargs = {"name": "新区划", **kwargs}
    assert_refused(exc, code, field, services.create_region, user=users["p_admin"], **kwargs)


@pytest.mark.django_db
def test_county_admin_cannot_create_region_outside_own_tree(world, users):
    # the parent city lies outside a county admin's scope: it reads as not found
    assert_refused(NotFound, "orgs.region.parent_not_found", "parent", services.create_region,
                   user=users["k1_admin"], code="990103", name="一市三县", level=3, parent_code="990100")
    # a province has no parent to check, but the new row itself would be out of scope
    assert_refused(PermissionDenied, "orgs.region.out_of_scope", "parent", services.create_region,
                   user=users["c1_admin"], code="980000", name="别省", level=1)


@pytest.mark.django_db
def test_region_services_need_the_manage_function(world, users):
    err = assert_refused(PermissionDenied, "iam.function_denied", None, services.create_region,
                         user=users["k1_viewer"], code="990103", name="x", level=3, parent_code="990100")
    assert "orgs.region.manage" in err.message


@pytest.mark.django_db
def test_update_region_renames_both_and_is_scoped(world, users):
    k1 = world["r"]["k1"]
    services.update_region(user=users["k1_admin"], region_id=k1.pk, name="一县新名", finance_department_name="新财政局")
    k1.refresh_from_db()
    assert k1.name == "一县新名" and k1.finance_department.name == "新财政局"
    rec = AuditRecord.objects.filter(action="orgs.region.update").get()
    assert rec.before["name"] == "一市一县" and rec.after["name"] == "一县新名"
    assert_refused(NotFound, "orgs.region.not_found", None, services.update_region,
                   user=users["k1_admin"], region_id=world["r"]["k2"].pk, name="偷改")


@pytest.mark.django_db
def test_disable_region_refused_while_it_has_active_children_or_agencies(world, users):
    r = world["r"]
    assert_refused(Conflict, "orgs.region.has_active_children", "is_active", services.disable_region,
                   user=users["p_admin"], region_id=r["c2"].pk)
    assert_refused(Conflict, "orgs.region.has_active_agencies", "is_active", services.disable_region,
                   user=users["p_admin"], region_id=r["k3"].pk)
    services.disable_agency(user=users["p_admin"], agency_id=world["a"]["k3"].pk)
    services.disable_region(user=users["p_admin"], region_id=r["k3"].pk)
    services.disable_region(user=users["p_admin"], region_id=r["c2"].pk)
    assert not Region.objects.get(pk=r["c2"].pk).is_active
    # nothing new may be created below a disabled region, and its children stay disabled until it returns
    assert_refused(ValidationFailed, "orgs.region.parent_inactive", "parent", services.create_region,
                   user=users["p_admin"], code="990202", name="二市二县", level=3, parent_code="990200")
    assert_refused(Conflict, "orgs.region.parent_inactive", "parent", services.enable_region,
                   user=users["p_admin"], region_id=r["k3"].pk)
    services.enable_region(user=users["p_admin"], region_id=r["c2"].pk)
    services.enable_region(user=users["p_admin"], region_id=r["k3"].pk)
    assert Region.objects.get(pk=r["k3"].pk).is_active


# --- agencies ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_create_first_level_and_subordinate_agency(world, users):
    dept = services.create_agency(user=users["k1_admin"], code="990101103", name="一市一县公安局",
                                  region_code="990101")
    assert dept.parent is None and dept.region == world["r"]["k1"] and dept.kind == Agency.Kind.ADMINISTRATIVE
    sub = services.create_agency(user=users["k1_admin"], code="990101103001", name="一市一县第一派出所",
                                 parent_code="990101103", kind=Agency.Kind.INSTITUTION)
    assert sub.parent == dept and sub.region == dept.region
    assert audit_actions()[-2:] == ["orgs.agency.create", "orgs.agency.create"]


@pytest.mark.django_db
@pytest.mark.parametrize("kwargs,exc,code,field", [
    ({"code": "99010110A", "region_code": "990101"}, ValidationFailed, "orgs.agency.bad_code", "code"),
    ({"code": "990102103", "region_code": "990101"}, ValidationFailed, "orgs.agency.code_region_prefix", "code"),
    ({"code": "9901011031", "region_code": "990101"}, ValidationFailed, "orgs.agency.code_region_prefix", "code"),
    ({"code": "990101103001", "region_code": "990101"}, ValidationFailed, "orgs.agency.parent_required", "parent"),
    ({"code": "990101101", "region_code": "990101"}, Conflict, "orgs.agency.duplicate_code", "code"),
    ({"code": "990101102001", "parent_code": "990101101"}, ValidationFailed, "orgs.agency.parent_prefix", "code"),
    ({"code": "99010110101", "parent_code": "990101101"}, ValidationFailed, "orgs.agency.parent_prefix", "code"),
    ({"code": "990101101002", "region_code": "990102", "parent_code": "990101101"}, ValidationFailed,
     "orgs.agency.parent_region_mismatch", "region"),
    ({"code": "990101101002", "parent_code": "990101999"}, NotFound, "orgs.agency.parent_not_found", "parent"),
    ({"code": "990109101", "region_code": "990109"}, NotFound, "orgs.agency.region_not_found", "region"),
    ({"code": "990101103"}, ValidationFailed, "orgs.agency.region_required", "region"),
    ({"code": "990101103", "region_code": "990101", "kind": "gov"}, ValidationFailed, "orgs.agency.bad_kind", "kind"),
    ({"code": "990101103", "region_code": "990101", "name": ""}, ValidationFailed, "orgs.agency.name_required", "name"),
])
def test_create_agency_refusals(world, users, kwargs, exc, code, field):
    kwargs = {"name": "新单位", **kwargs}
    assert_refused(exc, code, field, services.create_agency, user=users["p_admin"], **kwargs)


@pytest.mark.django_db
def test_county_admin_cannot_create_agency_in_another_county(world, users):
    assert_refused(NotFound, "orgs.agency.region_not_found", "region", services.create_agency,
                   user=users["k1_admin"], code="990102103", name="越权单位", region_code="990102")
    assert_refused(NotFound, "orgs.agency.parent_not_found", "parent", services.create_agency,
                   user=users["k1_admin"], code="990102101002", name="越权单位", parent_code="990102101")


@pytest.mark.django_db
def test_unit_user_creates_only_below_own_agency(world, users):
    unit = users["k1_unit"]
    sub = services.create_agency(user=unit, code="990101101002", name="一市一县第二中学", parent_code="990101101",
                                 kind="inst")
    assert sub.parent_id == world["a"]["k1"].pk
    # the region is visible (regions carry no agency dimension), but the new agency would be out of scope
    assert_refused(PermissionDenied, "orgs.agency.out_of_scope", "region", services.create_agency,
                   user=unit, code="990101109", name="越权单位", region_code="990101")
    assert_refused(NotFound, "orgs.agency.parent_not_found", "parent", services.create_agency,
                   user=unit, code="990101102001", name="越权单位", parent_code="990101102")


@pytest.mark.django_db
def test_update_agency_and_scope(world, users):
    a = world["a"]["k1"]
    services.update_agency(user=users["k1_admin"], agency_id=a.pk, name="一市一县教育和体育局")
    a.refresh_from_db()
    assert a.name == "一市一县教育和体育局" and a.kind == Agency.Kind.ADMINISTRATIVE
    rec = AuditRecord.objects.get(action="orgs.agency.update")
    assert (rec.before["name"], rec.after["name"]) == ("一市一县教育局", "一市一县教育和体育局")
    assert_refused(NotFound, "orgs.agency.not_found", None, services.update_agency,
                   user=users["k1_admin"], agency_id=world["a"]["k2"].pk, name="偷改")
    assert_refused(ValidationFailed, "orgs.agency.bad_kind", "kind", services.update_agency,
                   user=users["k1_admin"], agency_id=a.pk, kind="x")


@pytest.mark.django_db
def test_disable_and_enable_agency(world, users):
    a = world["a"]
    admin = users["k1_admin"]
    assert_refused(Conflict, "orgs.agency.has_active_children", "status", services.disable_agency,
                   user=admin, agency_id=a["k1"].pk)
    services.disable_agency(user=admin, agency_id=a["k1sub"].pk)
    services.disable_agency(user=admin, agency_id=a["k1"].pk)
    assert Agency.objects.get(pk=a["k1"].pk).status == Agency.Status.DISABLED
    assert_refused(ValidationFailed, "orgs.agency.parent_inactive", "parent", services.create_agency,
                   user=admin, code="990101101009", name="新单位", parent_code="990101101")
    assert_refused(Conflict, "orgs.agency.parent_inactive", "parent", services.enable_agency,
                   user=admin, agency_id=a["k1sub"].pk)
    services.enable_agency(user=admin, agency_id=a["k1"].pk)
    services.enable_agency(user=admin, agency_id=a["k1sub"].pk)
    assert audit_actions()[-4:] == ["orgs.agency.disable", "orgs.agency.disable", "orgs.agency.enable",
                                    "orgs.agency.enable"]


# --- banks and branches ------------------------------------------------------------------------

@pytest.mark.django_db
def test_banks_and_branches(world, users):
    admin = users["c1_admin"]
    bank = services.create_bank(user=admin, code="903", name="中国建设银行")
    branch = services.create_branch(user=admin, bank_code="903", code="903990101001", name="中国建设银行一市一县支行",
                                    region_code="990101")
    assert branch.bank == bank and branch.region == world["r"]["k1"]
    assert_refused(Conflict, "orgs.bank.duplicate_code", "code", services.create_bank, user=admin, code="903",
                   name="重复")
    assert_refused(ValidationFailed, "orgs.bank.bad_code", "code", services.create_bank, user=admin, code="9 03",
                   name="坏编码")
    assert_refused(Conflict, "orgs.branch.duplicate_code", "code", services.create_branch, user=admin,
                   bank_code="903", code="903990101001", name="重复", region_code="990101")
    # a city admin cannot place a branch in another city
    assert_refused(NotFound, "orgs.branch.region_not_found", "region", services.create_branch, user=admin,
                   bank_code="903", code="903990201001", name="越权", region_code="990201")
    assert_refused(NotFound, "orgs.branch.bank_not_found", "bank", services.create_branch, user=admin,
                   bank_code="999", code="999990101001", name="无此银行", region_code="990101")
    assert_refused(Conflict, "orgs.bank.has_active_branches", "is_active", services.disable_bank, user=admin,
                   bank_id=bank.pk)
    services.disable_branch(user=admin, branch_id=branch.pk)
    services.disable_bank(user=admin, bank_id=bank.pk)
    assert_refused(ValidationFailed, "orgs.branch.bank_inactive", "bank", services.create_branch, user=admin,
                   bank_code="903", code="903990102001", name="停用银行", region_code="990102")
    assert_refused(Conflict, "orgs.branch.bank_inactive", "bank", services.enable_branch, user=admin,
                   branch_id=branch.pk)
    services.update_bank(user=admin, bank_id=bank.pk, name="建设银行", is_agent=False)
    bank.refresh_from_db()
    assert (bank.name, bank.is_agent, bank.is_active) == ("建设银行", False, False)


@pytest.mark.django_db
def test_branch_cannot_be_moved_out_of_scope(world, users):
    admin = users["c1_admin"]
    branch = world["br"]["icbc_k1"]
    services.update_branch(user=admin, branch_id=branch.pk, region_code="990102")
    assert BankBranch.objects.get(pk=branch.pk).region == world["r"]["k2"]
    assert_refused(NotFound, "orgs.branch.region_not_found", "region", services.update_branch, user=admin,
                   branch_id=branch.pk, region_code="990201")
    assert_refused(NotFound, "orgs.branch.not_found", None, services.update_branch, user=admin,
                   branch_id=world["br"]["icbc_c2"].pk, name="偷改")


@pytest.mark.django_db
def test_bank_user_cannot_create_other_banks(world, users, make_role, make_user):
    role = make_role("bank_mgr", ["orgs.bank.view", "orgs.bank.manage"], rules=[("bank", "own_bank", [])])
    u = make_user("icbc_mgr", roles=[role], org_type="bank", bank=world["b"]["icbc"], region=world["r"]["p"])
    assert_refused(PermissionDenied, "orgs.bank.out_of_scope", "code", services.create_bank, user=u, code="909",
                   name="别的银行")
    services.update_bank(user=u, bank_id=world["b"]["icbc"].pk, name="工商银行")
    assert_refused(NotFound, "orgs.bank.not_found", None, services.update_bank, user=u,
                   bank_id=world["b"]["abc"].pk, name="偷改")


# --- the database enforces the hierarchy on its own --------------------------------------------

@pytest.mark.django_db
def test_database_refuses_agency_outside_parent_tree_or_region(world):
    a, r = world["a"], world["r"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Agency.objects.create(code="990101102001", name="x", region=r["k1"], parent=a["k1"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Agency.objects.create(code="990101101005", name="x", region=r["k2"], parent=a["k1"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Agency.objects.filter(pk=a["k1"].pk).update(code="990101109")  # would orphan its subordinate's code
    with pytest.raises(IntegrityError), transaction.atomic():
        Region.objects.create(code="990201", name="x", level=3, parent=r["c1"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Region.objects.create(code="99010", name="x", level=3, parent=r["c1"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Region.objects.create(code="990100000", name="同一市", level=2, parent=r["p"])


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_of_one_code_give_one_agency_and_one_clear_refusal(world, users):
    admin = users["k1_admin"]
    barrier = threading.Barrier(4)
    results: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        try:
            barrier.wait()
            services.create_agency(user=admin, code="990101107", name=f"并发单位{i}", region_code="990101")
            outcome = "ok"
        except Conflict as exc:
            outcome = exc.code
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok"] + ["orgs.agency.duplicate_code"] * 3
    assert Agency.objects.filter(code="990101107").count() == 1
    assert AuditRecord.objects.filter(action="orgs.agency.create", object_repr__startswith="990101107").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_disable_and_create_subordinate_never_leave_active_child_under_disabled_parent(world, users):
    admin = users["k1_admin"]
    services.disable_agency(user=admin, agency_id=world["a"]["k1sub"].pk)
    parent = world["a"]["k1"]
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def disable() -> None:
        try:
            barrier.wait()
            services.disable_agency(user=admin, agency_id=parent.pk)
            outcomes["disable"] = "ok"
        except DomainError as exc:
            outcomes["disable"] = exc.code
        finally:
            connection.close()

    def create() -> None:
        try:
            barrier.wait()
            services.create_agency(user=admin, code="990101101003", name="新学校", parent_code=parent.code)
            outcomes["create"] = "ok"
        except DomainError as exc:
            outcomes["create"] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=disable), threading.Thread(target=create)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    parent.refresh_from_db()
    active_children = Agency.objects.filter(parent=parent, status=Agency.Status.ACTIVE).count()
    assert not (parent.status == Agency.Status.DISABLED and active_children)
    assert sorted(outcomes.values()) in (["ok", "orgs.agency.has_active_children"],
                                         ["ok", "orgs.agency.parent_inactive"])
