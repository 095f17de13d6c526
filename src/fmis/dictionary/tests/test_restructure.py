import pytest

from fmis.dictionary import services
from fmis.dictionary.models import Restructure, Value, ValueLink
from fmis.platform.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def val(element, code):
    return Value.objects.get(element=element, code=code)


def test_merge_creates_target_disables_sources_and_links(admin, func_element):
    op = services.merge_values(user=admin, element_code=func_element.code, source_codes=["2010101", "2010102"],
                               target_code="2010150", target_name="合并后事务", note="机构改革")
    assert op.kind == Restructure.Kind.MERGE
    assert val(func_element, "2010150").status == "0" and val(func_element, "2010150").parent.code == "20101"
    assert val(func_element, "2010101").status == "9" and val(func_element, "2010102").status == "9"
    links = sorted((link.source.code, link.target.code) for link in op.links.all())
    assert links == [("2010101", "2010150"), ("2010102", "2010150")]


def test_split_creates_targets_and_links(admin, flat_element):
    op = services.split_value(user=admin, element_code=flat_element.code, source_code="A1",
                              targets=[("A11", "甲一"), ("A12", "甲二")])
    assert op.kind == Restructure.Kind.SPLIT
    assert val(flat_element, "A1").status == "9"
    assert sorted(link.target.code for link in op.links.all()) == ["A11", "A12"]
    assert all(link.source.code == "A1" for link in op.links.all())


@pytest.mark.parametrize("sources, target, field", [
    (["2010101"], "2010150", "sources"),                    # merge needs two
    (["2010101", "2010101"], "2010150", "sources"),
    (["2010101", "2019999"], "2010150", "sources"),          # missing source
    (["20101", "205"], "20150", "sources"),                  # non-leaf source with active children
    (["2010101", "2010102"], "20101", "code"),               # target exists
    (["2010101", "2010102"], "2019950", "parent_code"),      # target's parent missing
])
def test_bad_merge_writes_nothing(admin, func_element, sources, target, field):
    before = list(Value.objects.order_by("pk").values_list("code", "status"))
    with pytest.raises(ValidationFailed) as exc:
        services.merge_values(user=admin, element_code=func_element.code, source_codes=sources, target_code=target,
                              target_name="新")
    assert exc.value.field == field
    assert list(Value.objects.order_by("pk").values_list("code", "status")) == before
    assert not Restructure.objects.exists() and not ValueLink.objects.exists()


def test_bad_split_writes_nothing(admin, flat_element):
    with pytest.raises(ValidationFailed) as exc:
        services.split_value(user=admin, element_code=flat_element.code, source_code="A1", targets=[("A11", "一")])
    assert exc.value.field == "targets"
    with pytest.raises(ValidationFailed) as exc:
        services.split_value(user=admin, element_code=flat_element.code, source_code="A1",
                             targets=[("A11", "一"), ("B2", "与已有重复")])
    assert exc.value.field == "targets" and "第 2 个" in exc.value.message
    assert val(flat_element, "A1").status == "0"
    assert not Value.objects.filter(code="A11").exists()


def test_linked_values_cannot_be_deleted(admin, flat_element):
    from fmis.platform.errors import Conflict

    services.split_value(user=admin, element_code=flat_element.code, source_code="A1",
                         targets=[("A11", "甲一"), ("A12", "甲二")])
    with pytest.raises(Conflict) as exc:
        services.delete_value(user=admin, value_id=val(flat_element, "A11").pk)
    assert "合并/拆分" in exc.value.message
