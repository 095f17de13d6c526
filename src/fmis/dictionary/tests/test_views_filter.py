import datetime as dt

import pytest

from fmis.dictionary import filters, selectors, services
from fmis.dictionary.models import DataElement, Value
from fmis.platform.errors import Conflict, ValidationFailed

pytestmark = pytest.mark.django_db


@pytest.fixture
def rich(admin, func_element):
    """func_element plus dates, notes and a disabled value for the operators."""
    pk = Value.objects.get(element=func_element, code="2010102").pk
    services.update_value(user=admin, value_id=pk, valid_from=dt.date(2024, 1, 1), note="保留项目")
    pk = Value.objects.get(element=func_element, code="20502").pk
    services.update_value(user=admin, value_id=pk, valid_from=dt.date(2025, 6, 1), status="9")
    return func_element


def codes(element, expr):
    q = filters.compile_q(expr)
    return sorted(Value.objects.filter(element=element).filter(q).values_list("code", flat=True))


@pytest.mark.parametrize("cond, expected", [
    ({"field": "code", "op": "=", "value": "20101"}, ["20101"]),
    ({"field": "level", "op": "<>", "value": "3"}, ["201", "20101", "205", "20502"]),
    ({"field": "level", "op": ">", "value": "2"}, ["2010101", "2010102"]),
    ({"field": "level", "op": ">=", "value": "2"}, ["20101", "2010101", "2010102", "20502"]),
    ({"field": "level", "op": "<", "value": "2"}, ["201", "205"]),
    ({"field": "level", "op": "<=", "value": "1"}, ["201", "205"]),
    ({"field": "valid_from", "op": "between", "value": "2024-01-01", "value2": "2024-12-31"}, ["2010102"]),
    ({"field": "code", "op": "in", "value": "201, 205,999"}, ["201", "205"]),
    ({"field": "code", "op": "starts_with", "value": "2010"}, ["20101", "2010101", "2010102"]),
    ({"field": "name", "op": "ends_with", "value": "支出"}, ["201", "205"]),
    ({"field": "note", "op": "contains", "value": "保留"}, ["2010102"]),
    ({"field": "is_leaf", "op": "=", "value": "是"}, ["2010101", "2010102", "20502"]),
    ({"field": "parent_code", "op": "=", "value": "20101"}, ["2010101", "2010102"]),
])
def test_each_operator(rich, cond, expected):
    assert codes(rich, cond) == expected


def test_chinese_operator_names_are_accepted(rich):
    assert codes(rich, {"field": "code", "op": "匹配开始", "value": "205"}) == ["205", "20502"]
    assert codes(rich, {"field": "code", "op": "在…之内", "value": "201,205"}) == ["201", "205"]


def test_and_or_not(rich):
    and_ = {"logic": "and", "items": [{"field": "code", "op": "starts_with", "value": "201"},
                                      {"field": "level", "op": "=", "value": "3"}]}
    assert codes(rich, and_) == ["2010101", "2010102"]
    or_ = {"logic": "or", "items": [{"field": "code", "op": "=", "value": "205"},
                                    {"field": "code", "op": "=", "value": "20101"}]}
    assert codes(rich, or_) == ["20101", "205"]
    not_ = {"logic": "not", "item": {"field": "status", "op": "=", "value": "9"}}
    assert codes(rich, not_) == ["201", "20101", "2010101", "2010102", "205"]
    nested = {"logic": "and", "items": [not_, {"logic": "or", "items": [
        {"field": "code", "op": "starts_with", "value": "205"}, {"field": "note", "op": "contains", "value": "保留"}]}]}
    assert codes(rich, nested) == ["2010102", "205"]


@pytest.mark.parametrize("expr, words", [
    ({"field": "colour", "op": "=", "value": "1"}, "不存在"),
    ({"field": "code", "op": "~", "value": "1"}, "不支持"),
    ({"field": "level", "op": "between", "value": "1"}, "第二个值"),
    ({"field": "level", "op": "between", "value": "3", "value2": "1"}, "不能大于"),
    ({"field": "level", "op": "=", "value": "abc"}, "不是整数"),
    ({"field": "valid_from", "op": ">", "value": "2024-13-01"}, "不是日期"),
    ({"field": "level", "op": "starts_with", "value": "1"}, "只能用于文字字段"),
    ({"field": "code", "op": "in", "value": " , "}, "至少一个值"),
    ({"logic": "xor", "items": []}, "不支持"),
    ({"logic": "and", "items": []}, "至少需要一个条件"),
    ({"logic": "not"}, "需要一个条件"),
    ("code = 1", "应为条件"),
])
def test_bad_filters_are_refused_naming_the_filter(expr, words):
    with pytest.raises(ValidationFailed) as exc:
        filters.normalize(expr)
    assert exc.value.field == "filter" and words in exc.value.message


def test_view_values_and_lookups_through_the_view(admin, rich):
    view = services.create_view(user=admin, code="T_EDU", name="教育视图", source_code=rich.code, is_element=True,
                                filter={"field": "code", "op": "starts_with", "value": "205"})
    assert view.filter == {"field": "code", "op": "starts_with", "value": "205"}
    assert [v.code for v in selectors.values("T_EDU")] == ["205"]               # 20502 is 停用
    assert [v.code for v in selectors.values("T_EDU", active_only=False)] == ["205", "20502"]
    assert selectors.get_value("T_EDU", "201") is None
    assert selectors.validate_value(element_code="T_EDU", code="205", field="f").name == "教育支出"
    with pytest.raises(ValidationFailed):
        selectors.validate_value(element_code="T_EDU", code="20101", field="f")
    assert filters.describe(view.filter) == "编码 匹配开始 205"


def test_view_rules(admin, rich, flat_element):
    with pytest.raises(ValidationFailed) as exc:
        services.create_view(user=admin, code="V1", name="v1", source_code=flat_element.code, is_element=True)
    assert exc.value.field == "is_element"      # the source is not an element
    services.update_element(user=admin, code=flat_element.code, status="9")
    with pytest.raises(ValidationFailed) as exc:
        services.create_view(user=admin, code="V2", name="v2", source_code=flat_element.code)
    assert exc.value.field == "source"
    text = services.create_element(user=admin, code="TXT", name="文本", data_type="S", length=20)
    with pytest.raises(ValidationFailed) as exc:
        services.create_view(user=admin, code="V3", name="v3", source_code=text.code)
    assert exc.value.field == "source"
    with pytest.raises(ValidationFailed) as exc:
        services.create_view(user=admin, code=rich.code, name="同码", source_code=rich.code)
    assert exc.value.field == "code"          # codes are unique across elements and views
    with pytest.raises(ValidationFailed) as exc:
        services.create_view(user=admin, code="V4", name="v4", source_code=rich.code,
                             filter={"field": "nope", "op": "=", "value": "1"})
    assert exc.value.field == "filter"
    assert not DataElement.objects.filter(kind="view").exists()


def test_view_blocks_source_deletion_and_disabling(admin, flat_element):
    services.create_view(user=admin, code="V_FLAT", name="平码视图", source_code=flat_element.code)
    with pytest.raises(Conflict) as exc:
        services.update_element(user=admin, code=flat_element.code, status="9")
    assert exc.value.field == "status"
    services.update_view(user=admin, code="V_FLAT", filter={"field": "code", "op": "=", "value": "A1"})
    assert [v.code for v in selectors.values("V_FLAT")] == ["A1"]
    services.delete_view(user=admin, code="V_FLAT")
    assert not DataElement.objects.filter(code="V_FLAT").exists()
