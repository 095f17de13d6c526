"""xlsx import: all-or-nothing, line errors naming the column, idempotent."""

import io
from decimal import Decimal

import pytest

from fmis.indicators import services
from fmis.indicators.models import Indicator
from fmis.platform.errors import PermissionDenied, ValidationFailed

HEADERS = ["预算年度", "财政区划", "预算单位", "指标编号", "指标文号", "指标说明", "项目代码", "支出功能分类",
           "政府经济分类", "部门经济分类", "资金性质", "指标类型", "支付方式", "金额", "待分配"]


def xlsx(rows):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def row(code="IMP-1", agency="990100101", amount="1200.50", **kw):
    r = {"预算年度": 2026, "财政区划": "990100", "预算单位": agency, "指标编号": code, "指标文号": "市财预〔2026〕1号",
         "指标说明": "办公经费", "项目代码": "", "支出功能分类": "2010101", "政府经济分类": "50201",
         "部门经济分类": "30201", "资金性质": "11", "指标类型": "12", "支付方式": "授权支付", "金额": amount,
         "待分配": "否"}
    r.update(kw)
    return [r[h] for h in HEADERS]


@pytest.mark.django_db
def test_import_is_idempotent(world):
    f = xlsx([row("IMP-1"), row("IMP-2", agency="", amount="500", 待分配="是")])
    assert services.import_indicators(user=world.budget, file=f) == services.ImportResult(created=2, unchanged=0)
    assert Indicator.objects.get(code="IMP-1").amount == Decimal("1200.50")
    assert Indicator.objects.get(code="IMP-2").to_distribute is True
    f.seek(0)
    assert services.import_indicators(user=world.budget, file=f) == services.ImportResult(created=0, unchanged=2)
    assert Indicator.objects.count() == 2


@pytest.mark.django_db
def test_bad_lines_import_nothing_and_name_line_and_column(world):
    f = xlsx([row("OK-1"), row("BAD-1", 支出功能分类="9999999"), row("BAD-2", amount="12.345"),
              row("OK-1"), row("BAD-3", agency="990200101"), row("BAD-4", 支付方式="现金")])
    with pytest.raises(ValidationFailed) as err:
        services.import_indicators(user=world.budget, file=f)
    got = [(e["line"], e["field"]) for e in err.value.errors]
    assert got == [(3, "func_code"), (4, "amount"), (5, "code"), (6, "agency"), (7, "pay_mode")]
    assert "第 3 行 支出功能分类" in err.value.errors[0]["message"]
    assert not Indicator.objects.exists()


@pytest.mark.django_db
def test_changed_existing_line_is_an_error(world):
    services.import_indicators(user=world.budget, file=xlsx([row("IMP-1")]))
    with pytest.raises(ValidationFailed) as err:
        services.import_indicators(user=world.budget, file=xlsx([row("IMP-2"), row("IMP-1", amount="1")]))
    assert (err.value.errors[0]["line"], err.value.errors[0]["field"]) == (3, "code")
    assert "金额" in err.value.errors[0]["message"]
    assert Indicator.objects.count() == 1


@pytest.mark.django_db
def test_out_of_scope_lines_refused(world):
    with pytest.raises(ValidationFailed) as err:
        services.import_indicators(user=world.outsider, file=xlsx([row("IMP-1")]))
    assert err.value.errors[0]["line"] == 2
    with pytest.raises(PermissionDenied):
        services.import_indicators(user=world.unit1, file=xlsx([row("IMP-1")]))
    assert not Indicator.objects.exists()
