import pytest
from hypothesis import given
from hypothesis import strategies as st

from fmis.platform.codes import CodeScheme, region_prefix, validate_code_chars
from fmis.platform.errors import ValidationFailed

S322 = CodeScheme.parse("3-2-2")


def code_of(call) -> str:
    with pytest.raises(ValidationFailed) as exc:
        call()
    return exc.value.code


def test_parse_and_levels():
    assert S322.widths == (3, 2, 2)
    assert S322.cumulative == (3, 5, 7)
    assert str(S322) == "3-2-2"
    assert S322.depth == 3 and S322.max_length == 7
    assert [S322.level(c) for c in ("201", "20101", "2010101")] == [1, 2, 3]
    assert S322.length_of(2) == 5


def test_parent_and_ancestors():
    assert S322.parent("201") is None
    assert S322.parent("20101") == "201"
    assert S322.parent("2010101") == "20101"
    assert S322.ancestors("2010101") == ["201", "20101"]
    assert S322.ancestors("201") == []
    assert S322.is_descendant("2010101", "201")
    assert not S322.is_descendant("2010101", "202")
    assert not S322.is_descendant("201", "201")
    assert S322.is_leaf_level("2010101") and not S322.is_leaf_level("20101")


@pytest.mark.parametrize("code", ["2", "20", "2010", "201010", "20101010"])
def test_bad_lengths_name_the_allowed_lengths(code):
    with pytest.raises(ValidationFailed) as exc:
        S322.level(code)
    assert exc.value.code == "codes.bad_length"
    assert exc.value.field == "code"
    assert "3、5、7" in exc.value.message


@pytest.mark.parametrize("code", ["", "20 1", "201-01", "２０１", "20١", "201\n", "20é", None, 201])
def test_bad_characters(code):
    assert code_of(lambda: S322.level(code)) == "codes.bad_chars"


def test_too_long_code():
    assert code_of(lambda: validate_code_chars("1" * 31)) == "codes.too_long"
    assert validate_code_chars("A1b2") == "A1b2"


@pytest.mark.parametrize("text", ["", "3-", "-3", "3--2", "0-2", "3-0", "a-b", "3,2,2", "100", "3-2-2x", None])
def test_bad_schemes(text):
    assert code_of(lambda: CodeScheme.parse(text)) == "codes.bad_scheme"


def test_scheme_invariants_on_construction():
    assert code_of(lambda: CodeScheme(())) == "codes.bad_scheme"
    assert code_of(lambda: CodeScheme((3, 0))) == "codes.bad_scheme"
    assert code_of(lambda: CodeScheme((20, 20))) == "codes.bad_scheme"
    assert code_of(lambda: S322.length_of(4)) == "codes.bad_level"


def test_check_child():
    assert S322.check_child("201", None) == 1
    assert S322.check_child("20101", "201") == 2
    assert code_of(lambda: S322.check_child("20101", None)) == "codes.parent_required"
    assert code_of(lambda: S322.check_child("20201", "201")) == "codes.parent_mismatch"
    assert code_of(lambda: S322.check_child("2010101", "201")) == "codes.parent_mismatch"
    assert code_of(lambda: S322.check_child("2010101", "2010101")) == "codes.parent_mismatch"


def test_region_prefix():
    assert region_prefix("370000") == "37"
    assert region_prefix("370100") == "3701"
    assert region_prefix("370102") == "370102"


schemes = st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=6).map(tuple).map(CodeScheme)


@st.composite
def scheme_and_code(draw):
    scheme = draw(schemes)
    level = draw(st.integers(min_value=1, max_value=scheme.depth))
    alphabet = st.sampled_from("0123456789ABCZ")
    code = "".join(draw(st.lists(alphabet, min_size=scheme.length_of(level), max_size=scheme.length_of(level))))
    return scheme, level, code


@given(scheme_and_code())
def test_level_parent_ancestors_agree(sc):
    scheme, level, code = sc
    assert scheme.level(code) == level
    assert CodeScheme.parse(str(scheme)) == scheme
    ancestors = scheme.ancestors(code)
    assert len(ancestors) == level - 1
    assert all(code.startswith(a) for a in ancestors)
    assert [scheme.level(a) for a in ancestors] == list(range(1, level))
    parent = scheme.parent(code)
    assert parent == (ancestors[-1] if ancestors else None)
    assert scheme.check_child(code, parent) == level


@given(schemes, st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_a_code_is_valid_exactly_when_its_length_is_a_level_boundary(scheme, code):
    if len(code) in scheme.cumulative:
        assert scheme.level(code) == scheme.cumulative.index(len(code)) + 1
    else:
        assert code_of(lambda: scheme.level(code)) == "codes.bad_length"


def test_region_prefix_of_nine_digit_codes():
    from fmis.platform.codes import region_prefix

    assert region_prefix("990000000") == "99"
    assert region_prefix("990100000") == "9901"
    assert region_prefix("990102000") == "990102"
    assert region_prefix("990102001") == "990102001"
    assert region_prefix("370100") == "3701"
