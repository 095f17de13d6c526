import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from fmis.dictionary import selectors, services
from fmis.dictionary.models import Value, ValueVersion

D1 = dt.date(2025, 3, 1)
D2 = dt.date(2025, 3, 2)


@pytest.fixture
def on_day(monkeypatch):
    def set_day(day):
        monkeypatch.setattr(services, "_today", lambda: day)

    set_day(D1)
    return set_day


def val(element, code):
    return Value.objects.get(element=element, code=code)


@pytest.mark.django_db
def test_same_day_changes_keep_one_row_with_first_before_and_last_after(admin, func_element, on_day):
    pk = val(func_element, "20101").pk
    services.update_value(user=admin, value_id=pk, name="人大事务A")
    services.update_value(user=admin, value_id=pk, name="人大事务B")
    services.update_value(user=admin, value_id=pk, name="人大事务C")
    rows = list(ValueVersion.objects.filter(value_id=pk))
    assert len(rows) == 1
    assert rows[0].day == D1
    assert rows[0].before == {"name": "人大事务"} and rows[0].after == {"name": "人大事务C"}


@pytest.mark.django_db
def test_only_increments_and_only_version_fields(admin, func_element, on_day):
    pk = val(func_element, "20101").pk
    services.update_value(user=admin, value_id=pk, note="备注改了", sort_order=5)  # not version fields
    assert not ValueVersion.objects.exists()
    services.update_value(user=admin, value_id=pk, name="新名称")
    on_day(D2)
    services.update_value(user=admin, value_id=pk, name="新名称")  # no change at all
    services.update_value(user=admin, value_id=pk, name="再改")
    rows = list(ValueVersion.objects.filter(value_id=pk).order_by("day"))
    assert [(r.day, r.before, r.after) for r in rows] == [
        (D1, {"name": "人大事务"}, {"name": "新名称"}),
        (D2, {"name": "新名称"}, {"name": "再改"}),
    ]
    # history: as of the end of D1 the name was 新名称, before D1 the original
    assert selectors.value_as_of(func_element.code, "20101", D1)["name"] == "新名称"
    assert selectors.value_as_of(func_element.code, "20101", dt.date(2025, 2, 28))["name"] == "人大事务"


@pytest.mark.django_db
def test_changes_that_cancel_out_within_a_day_leave_no_version(admin, func_element, on_day):
    pk = val(func_element, "20101").pk
    services.update_value(user=admin, value_id=pk, name="临时")
    services.update_value(user=admin, value_id=pk, name="人大事务")
    assert not ValueVersion.objects.filter(value_id=pk).exists()


@pytest.mark.django_db
def test_version_field_configuration_applies_to_new_changes_only(admin, func_element, on_day):
    pk = val(func_element, "20101").pk
    services.update_value(user=admin, value_id=pk, name="名称一")
    services.set_version_fields(user=admin, element_code=func_element.code, fields=["status", "note"])
    on_day(D2)
    services.update_value(user=admin, value_id=pk, name="名称二", note="说明")
    rows = {r.day: r for r in ValueVersion.objects.filter(value_id=pk)}
    assert rows[D1].after == {"name": "名称一"}          # kept
    assert rows[D2].before == {"note": ""} and rows[D2].after == {"note": "说明"}


@pytest.mark.django_db
def test_code_change_is_versioned_and_versions_can_be_deleted(admin, func_element, on_day):
    pk = val(func_element, "2010102").pk
    services.update_value(user=admin, value_id=pk, code="2010103")
    version = ValueVersion.objects.get(value_id=pk)
    assert version.before == {"code": "2010102"} and version.after == {"code": "2010103"}
    assert version.changed_fields == ["code"]
    services.delete_version(user=admin, version_id=version.pk)
    assert not ValueVersion.objects.filter(value_id=pk).exists()


@pytest.mark.django_db(transaction=True)
def test_parallel_renames_of_one_value_keep_one_row_per_day(admin, func_element, on_day):
    from django.db import connection

    pk = val(func_element, "20101").pk
    names = [f"名称{i}" for i in range(12)]

    def rename(name):
        try:
            services.update_value(user=admin, value_id=pk, name=name)
            return "ok"
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(rename, names))
    assert results.count("ok") == len(names)
    rows = list(ValueVersion.objects.filter(value_id=pk))
    assert len(rows) == 1
    final = Value.objects.get(pk=pk).name
    assert rows[0].before == {"name": "人大事务"} and rows[0].after == {"name": final}
