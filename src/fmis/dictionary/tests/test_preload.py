import pytest

from fmis.dictionary import selectors, services
from fmis.dictionary.models import DataElement, Value
from fmis.iam.dimensions import DIMENSIONS

pytestmark = pytest.mark.django_db


def test_preload_is_idempotent_and_real(admin):
    first = services.preload_standard()
    assert first["elements_created"] == 11 and first["values_created"] > 800 and first["values_existing"] == 0
    count = Value.objects.count()
    second = services.preload_standard(user=admin)
    assert second == {"elements_created": 0, "values_created": 0, "values_existing": count}
    assert Value.objects.count() == count

    # 支出功能分类: class 201 with its 款 and 项, 3-2-2
    v = selectors.get_value("EXP_FUNC", "2010101")
    assert (v.name, v.parent.code, v.parent.name, v.level, v.is_leaf) == ("行政运行", "20101", "人大事务", 3, True)
    assert selectors.get_value("EXP_FUNC", "20106").name == "财政事务"
    assert selectors.get_value("EXP_FUNC", "2050202").name == "小学教育"
    assert selectors.get_value("EXP_FUNC", "2080505").name == "机关事业单位基本养老保险缴费支出"
    assert selectors.get_value("EXP_FUNC", "2210201").name == "住房公积金"
    assert selectors.is_descendant("EXP_FUNC", "2130101", "213")
    assert not selectors.get_value("EXP_FUNC", "201").is_leaf
    assert selectors.get_value("DEPT_ECO", "30101").name == "基本工资"
    assert selectors.get_value("DEPT_ECO", "30201").parent.name == "商品和服务支出"
    assert selectors.get_value("GOV_ECO", "50101").name == "工资奖金津补贴"
    assert selectors.get_value("PRO_KIND", "221").parent.code == "22"
    assert selectors.get_value("PAY_TYPE", "11").name == "财政直接支付"
    assert selectors.get_value("PAY_TYPE", "12").name == "财政授权支付"
    assert selectors.get_value("SETTLE_MODE", "1").name == "电子转账支付"
    assert selectors.get_value("BGT_TYPE", "11").name == "预拨指标"
    assert selectors.get_value("CURRENCY", "CNY").note == "156"
    assert DataElement.objects.get(code="EXP_FUNC").category.name == "财政业务基础数据"
    assert not Value.objects.filter(is_preset=False).exists()


def test_every_dimension_value_set_exists_after_preload():
    services.preload_standard()
    for dim in DIMENSIONS.values():
        if dim.value_set:
            element = DataElement.objects.get(code=dim.value_set)
            assert element.is_preset and element.is_element and selectors.values(dim.value_set).exists()


def test_preload_keeps_local_changes(admin):
    services.preload_standard()
    services.add_value(user=admin, element_code="PAY_TYPE", code="91", name="本地其他")
    services.preload_standard()
    assert selectors.get_value("PAY_TYPE", "91").name == "本地其他"
