import pytest

from fmis.dictionary import services
from fmis.dictionary.models import DataElement
from fmis.platform.errors import Conflict, ValidationFailed

pytestmark = pytest.mark.django_db


def test_create_element_with_hierarchical_format(admin):
    el = services.create_element(user=admin, code="EXP1", name="功能", code_format_type="2", code_format="3-2-2")
    assert el.code_format == "3-2-2" and el.version_fields == ["code", "name"]
    assert el.maintained_in_dictionary and not el.is_preset


@pytest.mark.parametrize("kwargs, field", [
    ({"code": "BAD-CODE"}, "code"),
    ({"code": "A" * 31}, "code"),
    ({"code": ""}, "code"),
    ({"name": "名" * 51}, "name"),
    ({"data_type": "X"}, "data_type"),
    ({"data_type": "S"}, "length"),
    ({"data_type": "D", "length": 8}, "length"),
    ({"data_type": "S", "length": 10, "decimals": 2}, "decimals"),
    ({"data_type": "N", "length": 4, "decimals": 4}, "decimals"),
    ({"code_format_type": "2"}, "code_format"),
    ({"code_format_type": "2", "code_format": "3-x-2"}, "code_format"),
    ({"code_format_type": "2", "code_format": "3-2-2", "length": 5}, "length"),
    ({"code_format_type": "0", "code_format": "3-2"}, "code_format"),
    ({"data_type": "S", "length": 10, "is_element": True}, "is_element"),
    ({"data_type": "S", "length": 10, "code_format_type": "1"}, "code_format_type"),
    ({"valid_from": "2024-05-01", "valid_to": "2024-01-01"}, "valid_to"),
    ({"status": "5"}, "status"),
    ({"version_fields": ["colour"]}, "version_fields"),
])
def test_bad_element_input_names_the_field_and_writes_nothing(admin, kwargs, field):
    args = {"code": "OK1", "name": "好"} | kwargs
    with pytest.raises(ValidationFailed) as exc:
        services.create_element(user=admin, **args)
    assert exc.value.field == field
    assert not DataElement.objects.filter(name="好").exists()


def test_code_and_name_unique(admin):
    services.create_element(user=admin, code="DUP", name="重复")
    with pytest.raises(ValidationFailed) as exc:
        services.create_element(user=admin, code="DUP", name="另一个")
    assert exc.value.field == "code" and "已被" in exc.value.message
    with pytest.raises(ValidationFailed) as exc:
        services.create_element(user=admin, code="DUP2", name="重复")
    assert exc.value.field == "name"
    assert DataElement.objects.count() == 1


def test_database_rejects_inconsistent_rows_directly():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        DataElement.objects.create(code="X1", name="x1", data_type="S", length=5, is_element=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        DataElement.objects.create(code="X-2", name="x2")
    with pytest.raises(IntegrityError), transaction.atomic():
        DataElement.objects.create(code="X3", name="x3", code_format_type="2", code_format="")


def test_preset_element_is_view_only(admin):
    services.preload_standard()
    with pytest.raises(Conflict) as exc:
        services.update_element(user=admin, code="EXP_FUNC", name="改名")
    assert "系统预设" in exc.value.message
    with pytest.raises(Conflict):
        services.delete_element(user=admin, code="EXP_FUNC")
    assert DataElement.objects.get(code="EXP_FUNC").name == "支出功能分类科目"
    # the version-change field configuration is a separate function and stays available
    services.set_version_fields(user=admin, element_code="EXP_FUNC", fields=["name", "status"])
    assert DataElement.objects.get(code="EXP_FUNC").version_fields == ["name", "status"]


def test_value_set_shape_locked_once_values_exist(admin, func_element):
    with pytest.raises(Conflict) as exc:
        services.update_element(user=admin, code=func_element.code, code_format="3-3")
    assert exc.value.field == "code_format"
    el = services.update_element(user=admin, code=func_element.code, name="改过的名称", description="说明")
    assert el.name == "改过的名称"


def test_delete_element_refused_when_referenced(admin, func_element):
    with pytest.raises(Conflict) as exc:
        services.delete_element(user=admin, code=func_element.code)
    assert "值集中有 6 个值" in exc.value.message and "停用" in exc.value.message
    empty = services.create_element(user=admin, code="EMPTY", name="空")
    services.delete_element(user=admin, code=empty.code)
    assert not DataElement.objects.filter(code="EMPTY").exists()


def test_delete_element_asks_other_modules(admin):
    el = services.create_element(user=admin, code="USED", name="被引用")

    def checker(code):
        return "会计科目辅助核算 2 个" if code == "USED" else None

    services.register_element_reference_checker(checker)
    try:
        with pytest.raises(Conflict) as exc:
            services.delete_element(user=admin, code=el.code)
        assert "会计科目辅助核算 2 个" in exc.value.message
    finally:
        services.unregister_element_reference_checker(checker)


def test_every_write_is_audited(admin):
    from fmis.platform.models import AuditRecord

    el = services.create_element(user=admin, code="AUD", name="审计")
    services.update_element(user=admin, code="AUD", name="审计2")
    actions = list(AuditRecord.objects.filter(object_id=str(el.pk), object_type="dictionary.dataelement")
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["dictionary.element.create", "dictionary.element.update"]


def test_length_cannot_shrink_below_existing_codes(admin, flat_element):
    with pytest.raises(Conflict) as exc:
        services.update_element(user=admin, code=flat_element.code, length=1)
    assert exc.value.field == "length"
    assert services.update_element(user=admin, code=flat_element.code, length=2).length == 2
