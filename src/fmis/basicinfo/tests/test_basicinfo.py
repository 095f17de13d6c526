"""Personnel, vehicles, standards, the agency-year review, imports and change history."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from fmis.basicinfo import selectors, services
from fmis.basicinfo.models import ExpenditureStandard, InfoSubmission, Personnel, SalaryItem, Vehicle
from fmis.basicinfo.services import StandardInput
from fmis.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fmis.platform.models import AuditRecord

from .conftest import id_number, xlsx

pytestmark = pytest.mark.django_db


def test_identity_number_is_stored_masked_only(world):
    number = id_number()
    p = services.create_person(user=world.unit_user, data=world.person(id_number=number))
    assert p.id_number_masked == number[:4] + "*" * 10 + number[-4:]
    row = Personnel.objects.filter(pk=p.pk).values().get()
    assert number not in json.dumps(row, default=str)
    rec = AuditRecord.objects.get(action="basicinfo.personnel.create")
    assert number not in json.dumps([rec.before, rec.after], default=str)
    assert "id_digest" not in rec.after
    assert {s.eco_code: s.monthly_amount for s in SalaryItem.objects.filter(personnel=p)} == {
        "30101": Decimal("4500.00"), "30102": Decimal("1200.00")}


@pytest.mark.parametrize(("change", "field"), [
    ({"id_number": "370102198001011230"}, "id_number"),  # wrong check digit
    ({"id_number": "12345"}, "id_number"),
    ({"name": ""}, "name"),
    ({"category": "学生"}, "category"),
    ({"salary": {"30201": "100"}}, "salary"),
    ({"salary": {"30101": 1.5}}, "salary"),
])
def test_bad_person_input_names_field_and_writes_nothing(world, change, field):
    with pytest.raises(ValidationFailed) as exc:
        services.create_person(user=world.unit_user, data=world.person(**change))
    assert exc.value.field == field
    assert not Personnel.objects.exists()


def test_same_person_twice_in_a_year_is_refused(world):
    services.create_person(user=world.unit_user, data=world.person())
    with pytest.raises(Conflict) as exc:
        services.create_person(user=world.unit_user, data=world.person(name="张三丰"))
    assert exc.value.code == "basicinfo.person_exists"
    assert Personnel.objects.count() == 1


def test_review_chain_locks_edits_and_returns_with_reason(world):
    p = services.create_person(user=world.unit_user, data=world.person())
    sub = services.submit_year(user=world.unit_user, agency_id=world.unit.pk, fiscal_year=2026)
    assert sub.status == InfoSubmission.Status.SUBMITTED
    with pytest.raises(Conflict) as exc:
        services.update_person(user=world.unit_user, person_id=p.pk, data=world.person(name="李四"))
    assert exc.value.code == "basicinfo.year_locked"
    with pytest.raises(Conflict):
        services.create_vehicle(user=world.unit_user, data=world.vehicle())
    assert Personnel.objects.get(pk=p.pk).name == "张三" and not Vehicle.objects.exists()
    # the division cannot act before the supervising department
    with pytest.raises(PermissionDenied):
        services.review_year(user=world.finance, submission_id=sub.pk, action="approve")
    services.review_year(user=world.supervisor, submission_id=sub.pk, action="approve", text="同意")
    sub = services.review_year(user=world.finance, submission_id=sub.pk, action="return", text="人员类别有误")
    assert sub.status == InfoSubmission.Status.RETURNED and sub.return_reason == "人员类别有误"
    services.update_person(user=world.unit_user, person_id=p.pk, data=world.person(category="retired"))
    services.submit_year(user=world.unit_user, agency_id=world.unit.pk, fiscal_year=2026)
    services.review_year(user=world.supervisor, submission_id=sub.pk, action="approve", text="同意")
    sub = services.review_year(user=world.finance, submission_id=sub.pk, action="approve", text="同意")
    assert sub.status == InfoSubmission.Status.APPROVED
    n = AuditRecord.objects.count()
    with pytest.raises(Conflict):
        services.delete_person(user=world.unit_user, person_id=p.pk)
    assert Personnel.objects.filter(pk=p.pk).exists() and AuditRecord.objects.count() == n


def test_unit_cannot_take_supervisor_step_for_itself(world, make_role, make_user):
    role = make_role("b_unit_sup", ["basicinfo.submission.view", "basicinfo.review.supervisor", "workflow.inbox"],
                     rules=[("agency", "own_agency", [])])
    peer = make_user("b_peer", roles=[role], agency=world.unit)
    services.create_person(user=world.unit_user, data=world.person())
    sub = services.submit_year(user=world.unit_user, agency_id=world.unit.pk, fiscal_year=2026)
    with pytest.raises(PermissionDenied) as exc:
        services.review_year(user=peer, submission_id=sub.pk, action="approve")
    assert exc.value.code == "basicinfo.not_supervisor"
    assert InfoSubmission.objects.get(pk=sub.pk).status == InfoSubmission.Status.SUBMITTED


def test_empty_year_cannot_be_submitted(world):
    with pytest.raises(ValidationFailed) as exc:
        services.submit_year(user=world.unit_user, agency_id=world.unit.pk, fiscal_year=2026)
    assert exc.value.code == "basicinfo.nothing_to_submit"


def test_history_shows_before_and_after_including_deletes(world):
    p = services.create_person(user=world.unit_user, data=world.person())
    services.update_person(user=world.unit_user, person_id=p.pk, data=world.person(post="校长"))
    services.delete_person(user=world.unit_user, person_id=p.pk)
    recs = list(selectors.history(user=world.supervisor, agency_id=world.unit.pk, fiscal_year=2026))
    assert [r.action for r in recs] == ["basicinfo.personnel.delete", "basicinfo.personnel.update",
                                        "basicinfo.personnel.create"]
    assert (recs[1].before["post"], recs[1].after["post"]) == ("教师", "校长")
    with pytest.raises(NotFound):
        selectors.history(user=world.unit2_user, agency_id=world.unit.pk, fiscal_year=2026)


def test_data_scope(world):
    mine = services.create_person(user=world.unit_user, data=world.person())
    other = services.create_person(user=world.unit2_user, data=world.person(agency_id=world.dept2.pk, name="王五"))
    assert [p.pk for p in selectors.personnel(user=world.unit_user)] == [mine.pk]
    assert [p.pk for p in selectors.personnel(user=world.supervisor)] == [mine.pk]
    assert {p.pk for p in selectors.personnel(user=world.finance)} == {mine.pk, other.pk}
    assert list(selectors.personnel(user=world.outsider)) == []
    with pytest.raises(ValidationFailed):
        services.create_person(user=world.unit_user, data=world.person(agency_id=world.dept2.pk))
    with pytest.raises(NotFound):
        services.update_person(user=world.unit2_user, person_id=mine.pk, data=world.person())


def test_standards_are_kept_by_finance(world):
    data = StandardInput(region_id=world.region.pk, fiscal_year=2026, name="在职人员公用经费", kind="public",
                         eco_code="30201", amount="6000.00", person_category="active", agency_type="inst")
    std = services.create_standard(user=world.finance, data=data)
    assert std.basis == "per_person"
    with pytest.raises(Conflict):
        services.create_standard(user=world.finance, data=data)
    with pytest.raises(PermissionDenied):
        services.create_standard(user=world.unit_user, data=data)
    with pytest.raises(ValidationFailed) as exc:
        services.create_standard(user=world.finance, data=StandardInput(
            region_id=world.region.pk, fiscal_year=2026, name="车辆", kind="vehicle", eco_code="30231",
            amount="20000", person_category="active"))
    assert exc.value.field == "person_category"
    with pytest.raises(ValidationFailed):
        services.create_standard(user=world.outsider, data=data)
    assert ExpenditureStandard.objects.count() == 1


PERSON_HEADERS = ["单位编码", "姓名", "身份证号", "人员类别", "职务", "级别", "基本工资", "津贴补贴"]


def test_personnel_import_is_all_or_nothing_with_line_errors(world):
    rows = [
        ["990100101001", "赵一", id_number(seq=1), "在职", "教师", "十级", "5000", "800"],
        ["990100101001", "钱二", "370102198001011230", "在职", "", "", "5000", ""],
        ["990100102", "孙三", id_number(seq=3), "在职", "", "", "", ""],
        ["990100101001", "李四", id_number(seq=4), "学生", "", "", "", ""],
        ["990100101001", "周五", id_number(seq=1), "离退休", "", "", "", ""],
    ]
    with pytest.raises(ValidationFailed) as exc:
        services.import_personnel(user=world.unit_user, file=xlsx(PERSON_HEADERS, rows), fiscal_year=2026)
    lines = {(e["line"], e["field"]) for e in exc.value.errors}
    assert lines == {(3, "id_number"), (4, "agency"), (5, "category"), (6, "id_number")}
    assert not Personnel.objects.exists() and not InfoSubmission.objects.exists()


def test_personnel_import_is_idempotent(world):
    rows = [["990100101001", "赵一", id_number(seq=1), "在职", "教师", "十级", "5000", "800"],
            ["990100101001", "钱二", id_number(seq=2), "离退休", "", "", "", ""]]
    r1 = services.import_personnel(user=world.unit_user, file=xlsx(PERSON_HEADERS, rows), fiscal_year=2026)
    assert (r1.created, r1.updated, r1.unchanged) == (2, 0, 0)
    n = AuditRecord.objects.count()
    r2 = services.import_personnel(user=world.unit_user, file=xlsx(PERSON_HEADERS, rows), fiscal_year=2026)
    assert (r2.created, r2.updated, r2.unchanged) == (0, 0, 2)
    assert AuditRecord.objects.count() == n and Personnel.objects.count() == 2
    rows[1][4] = "门卫"
    r3 = services.import_personnel(user=world.unit_user, file=xlsx(PERSON_HEADERS, rows), fiscal_year=2026)
    assert (r3.created, r3.updated, r3.unchanged) == (0, 1, 1)
    assert Personnel.objects.get(name="赵一").salary_items.count() == 2


def test_vehicle_and_standard_imports(world):
    headers = ["单位编码", "车牌号", "车辆类型", "品牌型号", "购置日期", "原值"]
    rows = [["990100101001", "鲁A00001", "一般公务用车", "大众", "2020-05-01", "150000"],
            ["990100101001", "鲁A00002", "执法执勤用车", "丰田", "", "200000.50"]]
    r = services.import_vehicles(user=world.unit_user, file=xlsx(headers, rows), fiscal_year=2026)
    assert r.created == 2
    assert services.import_vehicles(user=world.unit_user, file=xlsx(headers, rows), fiscal_year=2026).unchanged == 2
    bad = [*rows, ["990100101001", "鲁A00001", "", "", "", ""]]
    with pytest.raises(ValidationFailed) as exc:
        services.import_vehicles(user=world.unit_user, file=xlsx(headers, bad), fiscal_year=2026)
    assert exc.value.errors[0]["line"] == 4
    sh = ["标准名称", "标准类别", "计算依据", "人员类别", "单位类型", "车辆类型", "经济分类", "功能分类", "定额"]
    srows = [["在职人员公用经费", "公用经费", "按人", "在职", "", "", "30201", "", "6000"],
             ["公务用车运行维护", "车辆运行", "按车", "", "", "一般公务用车", "30231", "", "25000"]]
    assert services.import_standards(user=world.finance, file=xlsx(sh, srows), region_id=world.region.pk,
                                     fiscal_year=2026).created == 2
    again = services.import_standards(user=world.finance, file=xlsx(sh, srows), region_id=world.region.pk,
                                      fiscal_year=2026)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
