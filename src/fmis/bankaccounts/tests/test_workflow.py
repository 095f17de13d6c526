"""Opening, changing and closing accounts and annual inspections on the review chain
单位 → 主管部门 → 国库处, with returns, and the account history they leave."""

from __future__ import annotations

import datetime as dt

import pytest

from fmis.bankaccounts import services
from fmis.bankaccounts.models import AccountChange, Application, BankAccount, BankFlow, Inspection
from fmis.bankaccounts.tests.conftest import do_import, flows_csv, register
from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

pytestmark = pytest.mark.django_db


def _open(world, number="6222000000000009", nature="special"):
    data = services.AccountData(agency_id=world.unit.pk, number=number, name="第一中学专项资金户",
                                bank_id=world.bank.pk, branch_id=world.branch.pk, nature=nature,
                                opened_on=dt.date(2026, 1, 5), purpose="专项资金核算", approval_doc="示财库〔2026〕1号")
    return services.apply_open(user=world.applicant, data=data, reason="专项资金需单独核算")


def _approve_both(world, app):
    services.act_on_application(user=world.supervisor, application_id=app.pk, action="approve", text="同意")
    return services.act_on_application(user=world.treasury, application_id=app.pk, action="approve", text="准予")


def test_open_goes_through_unit_department_treasury_and_creates_the_account(world):
    app = _open(world)
    assert app.status == Application.Status.DRAFT and app.number.startswith("KH")
    app = services.act_on_application(user=world.applicant, application_id=app.pk, action="submit")
    assert app.status == Application.Status.PENDING
    # the treasury cannot act before the supervising department
    with pytest.raises(PermissionDenied):
        services.act_on_application(user=world.treasury, application_id=app.pk, action="approve")
    services.act_on_application(user=world.supervisor, application_id=app.pk, action="approve", text="同意")
    assert not BankAccount.objects.filter(number="6222000000000009").exists()
    app = services.act_on_application(user=world.treasury, application_id=app.pk, action="approve")
    assert app.status == Application.Status.APPROVED
    acct = BankAccount.objects.get(number="6222000000000009")
    assert (acct.agency, acct.department, acct.nature, acct.status) == (world.unit, world.dept, "special", "active")
    assert app.account_id == acct.pk
    fields = set(AccountChange.objects.filter(account=acct, kind="open").values_list("field", flat=True))
    assert {"number", "name", "bank_id", "nature", "currency", "purpose", "approval_doc", "opened_on"} <= fields
    ch = AccountChange.objects.filter(account=acct, field="name").get()
    assert ch.requested_by == world.applicant and ch.changed_by == world.treasury and ch.new_value == "第一中学专项资金户"


def test_return_with_reason_then_correct_and_resubmit(world):
    app = _open(world)
    services.act_on_application(user=world.applicant, application_id=app.pk, action="submit")
    with pytest.raises(ValidationFailed) as exc:
        services.act_on_application(user=world.supervisor, application_id=app.pk, action="return", text="")
    assert exc.value.code == "workflow.reason_required"
    app = services.act_on_application(user=world.supervisor, application_id=app.pk, action="return",
                                      text="缺少批准文件")
    assert app.status == Application.Status.RETURNED and app.return_reason == "缺少批准文件"
    services.update_application(user=world.applicant, application_id=app.pk, reason="补充了批准文件")
    services.act_on_application(user=world.applicant, application_id=app.pk, action="submit")
    services.act_on_application(user=world.supervisor, application_id=app.pk, action="approve")
    app = services.act_on_application(user=world.treasury, application_id=app.pk, action="return",
                                      text="账户性质应为专用")
    assert app.status == Application.Status.RETURNED
    assert not BankAccount.objects.filter(number=app.account_number).exists()
    services.act_on_application(user=world.applicant, application_id=app.pk, action="submit")
    app = _approve_both(world, app)
    assert app.status == Application.Status.APPROVED and BankAccount.objects.filter(number=app.account_number).exists()


def test_approved_application_cannot_be_edited_and_duplicate_opening_refused(world):
    app = _open(world)
    with pytest.raises(Conflict):
        _open(world)  # an opening of the same number is in progress
    services.act_on_application(user=world.applicant, application_id=app.pk, action="submit")
    _approve_both(world, app)
    with pytest.raises(Conflict) as exc:
        services.update_application(user=world.applicant, application_id=app.pk, reason="x")
    assert exc.value.code == "bankaccounts.application_locked"
    with pytest.raises(Conflict) as exc:
        _open(world)
    assert exc.value.code == "bankaccounts.number_exists"


def test_change_writes_each_changed_field_to_the_history(world):
    acct = register(world)
    app = services.apply_change(user=world.applicant, account_id=acct.pk, reason="单位更名",
                                change=services.ChangeData(name="示例省第一中学基本户", purpose="日常经费"))
    services.act_on_application(user=world.applicant, application_id=app.pk, action="submit")
    _approve_both(world, app)
    acct.refresh_from_db()
    assert acct.name == "示例省第一中学基本户" and acct.purpose == "日常经费"
    rows = {c.field: (c.old_value, c.new_value) for c in AccountChange.objects.filter(account=acct, kind="change")}
    assert rows == {"name": ("测试账户", "示例省第一中学基本户"), "purpose": ("", "日常经费")}


def test_change_with_nothing_changed_is_refused(world):
    acct = register(world)
    with pytest.raises(ValidationFailed):
        services.apply_change(user=world.applicant, account_id=acct.pk, reason="x",
                              change=services.ChangeData(name="测试账户"))


def test_one_basic_account_per_unit(world):
    register(world, nature="basic")
    data = services.AccountData(agency_id=world.unit.pk, number="6222000000000077", name="第二基本户",
                                bank_id=world.bank2.pk, nature="basic", opened_on=dt.date(2026, 1, 5))
    app = services.apply_open(user=world.applicant, data=data, reason="再开一个")
    services.act_on_application(user=world.applicant, application_id=app.pk, action="submit")
    services.act_on_application(user=world.supervisor, application_id=app.pk, action="approve")
    with pytest.raises(Conflict) as exc:
        services.act_on_application(user=world.treasury, application_id=app.pk, action="approve")
    assert exc.value.code == "bankaccounts.basic_exists"
    assert Application.objects.get(pk=app.pk).status == Application.Status.PENDING


def test_close_then_the_account_refuses_new_flows(world):
    acct = register(world)
    day = dt.date(2026, 3, 1)
    do_import(world.treasury, flows_csv("901", day, [(acct.number, "S1", "C", "100.00")]))
    app = services.apply_close(user=world.applicant, account_id=acct.pk, closed_on=dt.date(2026, 3, 10),
                               reason="项目结束")
    services.act_on_application(user=world.applicant, application_id=app.pk, action="submit")
    _approve_both(world, app)
    acct.refresh_from_db()
    assert acct.status == "closed" and acct.closed_on == dt.date(2026, 3, 10)
    assert AccountChange.objects.filter(account=acct, kind="close", field="status").exists()
    # flows of a day before closing are still accepted; after it, the whole message is refused
    do_import(world.treasury, flows_csv("901", dt.date(2026, 3, 9), [(acct.number, "S2", "D", "50.00")]))
    with pytest.raises(ValidationFailed) as exc:
        do_import(world.treasury, flows_csv("901", dt.date(2026, 3, 11), [(acct.number, "S3", "D", "5.00")]))
    assert "已于 2026-03-10 销户" in exc.value.message and exc.value.line == 3
    assert BankFlow.objects.filter(account=acct).count() == 2
    # no further applications on a closed account
    with pytest.raises(Conflict):
        services.apply_change(user=world.applicant, account_id=acct.pk, reason="x",
                              change=services.ChangeData(name="新名称"))


def test_closing_before_existing_flows_is_refused_at_approval(world):
    acct = register(world)
    do_import(world.treasury, flows_csv("901", dt.date(2026, 3, 20), [(acct.number, "S1", "C", "10.00")]))
    app = services.apply_close(user=world.applicant, account_id=acct.pk, closed_on=dt.date(2026, 3, 10), reason="x")
    services.act_on_application(user=world.applicant, application_id=app.pk, action="submit")
    services.act_on_application(user=world.supervisor, application_id=app.pk, action="approve")
    with pytest.raises(Conflict) as exc:
        services.act_on_application(user=world.treasury, application_id=app.pk, action="approve")
    assert exc.value.code == "bankaccounts.flows_after_close"
    assert BankAccount.objects.get(pk=acct.pk).status == "active"


def test_annual_inspection_on_the_chain_with_return(world):
    acct = register(world)
    insp = services.create_inspection(user=world.applicant, account_id=acct.pk, year=2025, usage="正常使用")
    with pytest.raises(Conflict):
        services.create_inspection(user=world.applicant, account_id=acct.pk, year=2025, usage="again")
    services.act_on_inspection(user=world.applicant, inspection_id=insp.pk, action="submit")
    insp = services.act_on_inspection(user=world.supervisor, inspection_id=insp.pk, action="return",
                                      text="请说明资金余额情况")
    assert insp.status == Inspection.Status.RETURNED and insp.return_reason == "请说明资金余额情况"
    services.update_inspection(user=world.applicant, inspection_id=insp.pk, usage="正常使用，余额 10 万元")
    services.act_on_inspection(user=world.applicant, inspection_id=insp.pk, action="submit")
    services.act_on_inspection(user=world.supervisor, inspection_id=insp.pk, action="approve")
    insp = services.act_on_inspection(user=world.treasury, inspection_id=insp.pk, action="approve")
    assert insp.status == Inspection.Status.APPROVED
    acct.refresh_from_db()
    assert acct.last_inspection_year == 2025
    assert AccountChange.objects.filter(account=acct, kind="inspection", inspection=insp).exists()


def test_out_of_scope_users_cannot_apply_or_review(world):
    acct = register(world)
    with pytest.raises(NotFound):
        services.apply_change(user=world.county_unit_user, account_id=acct.pk, reason="x",
                              change=services.ChangeData(name="y"))
    data = services.AccountData(agency_id=world.unit.pk, number="6222000000000055", name="x", bank_id=world.bank.pk,
                                nature="general", opened_on=dt.date(2026, 1, 1))
    with pytest.raises(NotFound):
        services.apply_open(user=world.county_unit_user, data=data, reason="x")
    app = _open(world)
    services.act_on_application(user=world.applicant, application_id=app.pk, action="submit")
    with pytest.raises(NotFound):
        services.act_on_application(user=world.county_unit_user, application_id=app.pk, action="approve")
    # the applicant cannot review their own step
    with pytest.raises(PermissionDenied):
        services.act_on_application(user=world.applicant, application_id=app.pk, action="approve")


def test_registration_relinks_flows_received_before(world):
    day = dt.date(2026, 2, 1)
    do_import(world.treasury, flows_csv("901", day, [("6222000000000123", "A1", "C", "80.00")]))
    assert BankFlow.objects.get(serial_no="A1").account_id is None
    acct = register(world, number="6222000000000123")
    assert BankFlow.objects.get(serial_no="A1").account_id == acct.pk
