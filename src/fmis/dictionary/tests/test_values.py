import pytest

from fmis.dictionary import selectors, services
from fmis.dictionary.models import Value
from fmis.platform.errors import Conflict, NotFound, ValidationFailed

pytestmark = pytest.mark.django_db


def v(element, code):
    return Value.objects.get(element=element, code=code)


def test_hierarchy_level_parent_and_leaf(func_element):
    assert v(func_element, "2010101").parent == v(func_element, "20101")
    assert v(func_element, "2010101").level == 3
    assert not v(func_element, "201").is_leaf and not v(func_element, "20101").is_leaf
    assert v(func_element, "2010101").is_leaf and v(func_element, "20502").is_leaf


@pytest.mark.parametrize("code, field, words", [
    ("2010", "code", "不符合编码格式"),          # length 4 fits no level of 3-2-2
    ("201010101", "code", "不符合编码格式"),
    ("20a-1", "code", "只能包含"),
    ("2019901", "parent_code", "20199 不存在"),  # parent derived from the scheme is missing
    ("", "code", "不能为空"),
])
def test_code_breaking_scheme_or_missing_parent_refused(admin, func_element, code, field, words):
    before = Value.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.add_value(user=admin, element_code=func_element.code, code=code, name="x")
    assert exc.value.field == field and words in exc.value.message
    assert Value.objects.count() == before


def test_given_parent_must_match_scheme(admin, func_element):
    with pytest.raises(ValidationFailed) as exc:
        services.add_value(user=admin, element_code=func_element.code, code="2010103", name="x", parent_code="205")
    assert exc.value.field == "parent_code"


def test_duplicate_code_refused_by_database_constraint(admin, func_element):
    with pytest.raises(ValidationFailed) as exc:
        services.add_value(user=admin, element_code=func_element.code, code="20101", name="again")
    assert exc.value.field == "code" and "已存在" in exc.value.message
    assert Value.objects.filter(element=func_element, code="20101").count() == 1


def test_flat_element_refuses_parent(admin, flat_element):
    with pytest.raises(ValidationFailed) as exc:
        services.add_value(user=admin, element_code=flat_element.code, code="C3", name="丙", parent_code="A1")
    assert exc.value.field == "parent_code"


def test_sequential_codes_are_digits(admin):
    services.create_element(user=admin, code="SEQ", name="顺序码", code_format_type="1", length=3)
    services.add_value(user=admin, element_code="SEQ", code="001", name="一")
    with pytest.raises(ValidationFailed) as exc:
        services.add_value(user=admin, element_code="SEQ", code="00A", name="二")
    assert exc.value.field == "code"
    with pytest.raises(ValidationFailed):
        services.add_value(user=admin, element_code="SEQ", code="0001", name="过长")


def test_disable_parent_with_active_children_refused(admin, func_element):
    with pytest.raises(Conflict) as exc:
        services.set_value_status(user=admin, value_id=v(func_element, "20101").pk, status="9")
    assert exc.value.field == "status"
    for code in ("2010101", "2010102"):
        services.set_value_status(user=admin, value_id=v(func_element, code).pk, status="9")
    services.set_value_status(user=admin, value_id=v(func_element, "20101").pk, status="9")
    assert v(func_element, "20101").status == "9"
    with pytest.raises(ValidationFailed) as exc:
        services.add_value(user=admin, element_code=func_element.code, code="2010103", name="新")
    assert exc.value.field == "parent_code" and "停用" in exc.value.message


def test_delete_refuses_children_and_restores_leaf(admin, func_element):
    with pytest.raises(Conflict) as exc:
        services.delete_value(user=admin, value_id=v(func_element, "20101").pk)
    assert "下级值" in exc.value.message and "停用" in exc.value.message
    services.delete_value(user=admin, value_id=v(func_element, "20502").pk)
    assert not Value.objects.filter(element=func_element, code="20502").exists()
    assert v(func_element, "205").is_leaf


def test_delete_refuses_value_referenced_by_another_module(admin, func_element):
    def checker(code):
        return "指标 3 条" if code == "2010101" else None

    services.register_reference_checker(func_element.code, checker)
    try:
        with pytest.raises(Conflict) as exc:
            services.delete_value(user=admin, value_id=v(func_element, "2010101").pk)
        assert "指标 3 条" in exc.value.message and "9-停用" in exc.value.message
        with pytest.raises(Conflict) as exc:
            services.update_value(user=admin, value_id=v(func_element, "2010101").pk, code="2010109")
        assert exc.value.field == "code"
        services.delete_value(user=admin, value_id=v(func_element, "2010102").pk)
    finally:
        services.unregister_reference_checker(func_element.code, checker)
    assert Value.objects.filter(element=func_element, code="2010101").exists()


def test_delete_refuses_value_with_versions(admin, func_element):
    val = v(func_element, "2010102")
    services.update_value(user=admin, value_id=val.pk, name="一般行政管理")
    with pytest.raises(Conflict) as exc:
        services.delete_value(user=admin, value_id=val.pk)
    assert "历史版本" in exc.value.message


def test_code_change_moves_value_and_keeps_tree_consistent(admin, func_element):
    val = services.update_value(user=admin, value_id=v(func_element, "2010102").pk, code="2050201")
    assert val.parent.code == "20502" and val.level == 3
    assert not v(func_element, "20502").is_leaf
    with pytest.raises(Conflict):
        services.update_value(user=admin, value_id=v(func_element, "20101").pk, code="20102")


def test_preset_values_cannot_change_or_go(admin):
    services.preload_standard()
    val = Value.objects.get(element__code="EXP_FUNC", code="2010101")
    for call in (lambda: services.update_value(user=admin, value_id=val.pk, name="改"),
                 lambda: services.set_value_status(user=admin, value_id=val.pk, status="9"),
                 lambda: services.delete_value(user=admin, value_id=val.pk)):
        with pytest.raises(Conflict) as exc:
            call()
        assert "系统预设" in exc.value.message
    val.refresh_from_db()
    assert val.name == "行政运行" and val.status == "0"
    # local extensions below preset values are allowed
    services.add_value(user=admin, element_code="EXP_FUNC", code="2010198", name="本地扩展")


def test_values_preset_element_refuses_all_value_writes(admin):
    services.create_element(user=admin, code="LOCKED", name="全预设", values_preset=True)
    with pytest.raises(Conflict) as exc:
        services.add_value(user=admin, element_code="LOCKED", code="1", name="x")
    assert "系统预设" in exc.value.message


def test_view_element_values_are_read_only(admin, func_element):
    services.create_view(user=admin, code="T_VIEW", name="视图", source_code=func_element.code)
    with pytest.raises(Conflict):
        services.add_value(user=admin, element_code="T_VIEW", code="201", name="x")
    with pytest.raises(NotFound):
        services.add_value(user=admin, element_code="NOPE", code="201", name="x")


def test_selectors_for_other_modules(admin, func_element):
    assert selectors.get_value(func_element.code, "20101").name == "人大事务"
    assert selectors.get_value(func_element.code, "999") is None
    assert selectors.validate_value(element_code=func_element.code, code="2010101", field="func_code").code == \
        "2010101"
    with pytest.raises(ValidationFailed) as exc:
        selectors.validate_value(element_code=func_element.code, code="2019999", field="func_code")
    assert exc.value.field == "func_code" and "不存在" in exc.value.message
    services.set_value_status(user=admin, value_id=v(func_element, "20502").pk, status="9")
    with pytest.raises(ValidationFailed) as exc:
        selectors.validate_value(element_code=func_element.code, code="20502", field="func_code")
    assert exc.value.field == "func_code" and "已停用" in exc.value.message
    assert [x.code for x in selectors.values(func_element.code)] == ["201", "20101", "2010101", "2010102", "205"]
    assert len(selectors.values(func_element.code, active_only=False)) == 6
    assert selectors.is_descendant(func_element.code, "2010101", "201")
    assert selectors.is_descendant(func_element.code, "2010101", "20101")
    assert not selectors.is_descendant(func_element.code, "2010101", "205")
    assert not selectors.is_descendant(func_element.code, "201", "201")
    assert selectors.is_descendant(func_element.code, "201", "201", include_self=True)
    assert not selectors.is_descendant(func_element.code, "2019999", "201")


def test_disabled_element_has_no_active_values(admin, flat_element):
    services.update_element(user=admin, code=flat_element.code, status="9")
    assert list(selectors.values(flat_element.code)) == []
    with pytest.raises(ValidationFailed) as exc:
        selectors.validate_value(element_code=flat_element.code, code="A1", field="x")
    assert "已停用" in exc.value.message
