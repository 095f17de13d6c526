import io

import pytest

from fmis.dictionary import services
from fmis.dictionary.models import Value, ValueVersion
from fmis.platform.errors import ValidationFailed
from fmis.platform.models import AuditRecord

pytestmark = pytest.mark.django_db

GOOD = [
    ("2010103", "机关服务", "20101", "0-正常", "2024-01-01", "", ""),
    ("206", "科学技术支出", "", "0", "", "", ""),
    ("20601", "科学技术管理事务", "206", "", "", "", "备注"),
    ("2060101", "行政运行", "", "正常", "", "", ""),     # the parent comes from the code; the file may omit it
    ("20101", "人大事务（改）", "201", "0", "", "", ""),  # existing value, name changed
]


def snapshot():
    return sorted(Value.objects.values_list("code", "name", "status", "valid_from", "valid_to", "note"))


def test_import_creates_updates_and_is_idempotent(admin, func_element, make_xlsx):
    result = services.import_values(user=admin, element_code=func_element.code, file=make_xlsx(GOOD))
    assert result == {"created": 4, "updated": 1, "unchanged": 0}
    assert Value.objects.get(element=func_element, code="2060101").parent.code == "20601"
    assert Value.objects.get(element=func_element, code="20101").name == "人大事务（改）"
    state, versions, audits = snapshot(), ValueVersion.objects.count(), AuditRecord.objects.count()
    again = services.import_values(user=admin, element_code=func_element.code, file=make_xlsx(GOOD))
    assert again == {"created": 0, "updated": 0, "unchanged": 5}
    assert snapshot() == state
    assert ValueVersion.objects.count() == versions == 1
    assert AuditRecord.objects.count() == audits


def test_import_disables_children_before_parents(admin, func_element, make_xlsx):
    rows = [("20101", "人大事务", "", "9", "", "", ""), ("2010101", "行政运行", "", "9", "", "", ""),
            ("2010102", "一般行政管理事务", "", "9", "", "", "")]
    services.import_values(user=admin, element_code=func_element.code, file=make_xlsx(rows))
    assert set(Value.objects.filter(element=func_element, status="9").values_list("code", flat=True)) == {
        "20101", "2010101", "2010102"}


def test_bad_lines_are_all_reported_and_nothing_is_written(admin, func_element, make_xlsx):
    rows = [
        ("2070101", "文化", "", "", "", "", ""),                       # 2: parent 20701 missing
        ("2010", "坏编码", "", "", "", "", ""),                        # 3: breaks 3-2-2
        ("2010104", "重复一", "", "", "", "", ""),                     # 4: ok by itself
        ("2010104", "重复二", "", "", "", "", ""),                     # 5: duplicate of line 4
        ("2010105", "坏日期", "", "", "2024-02-30", "", ""),           # 6: bad date
        ("2010106", "坏状态", "", "5", "", "", ""),                    # 7: bad status
        ("2010107", "", "", "", "", "", ""),                          # 8: name missing
        ("2010108", "上级不符", "205", "", "", "", ""),                # 9: parent contradicts the code
        ("2010109", "日期颠倒", "", "", "2024-05-01", "2024-01-01", ""),  # 10
        ("205", "停用上级", "", "9", "", "", ""),                      # 11: active child 20502 remains
    ]
    before = snapshot()
    with pytest.raises(ValidationFailed) as exc:
        services.import_values(user=admin, element_code=func_element.code, file=make_xlsx(rows))
    errors = {(e["line"], e["field"]) for e in exc.value.errors}
    assert errors == {(2, "上级编码"), (3, "编码"), (5, "编码"), (6, "启用日期"), (7, "状态"), (8, "名称"),
                      (9, "上级编码"), (10, "停用日期"), (11, "状态")}
    assert "第 4 行重复" in next(e["message"] for e in exc.value.errors if e["line"] == 5)
    assert "未导入任何数据" in exc.value.message
    assert snapshot() == before


def test_malformed_files(admin, func_element, make_xlsx):
    with pytest.raises(ValidationFailed) as exc:
        services.import_values(user=admin, element_code=func_element.code, file=io.BytesIO(b"not a workbook"))
    assert exc.value.field == "file"
    with pytest.raises(ValidationFailed) as exc:
        services.import_values(user=admin, element_code=func_element.code,
                               file=make_xlsx([("1", "2")], headers=("代码", "说明")))
    assert exc.value.line == 1 and "编码" in exc.value.message
    with pytest.raises(ValidationFailed) as exc:
        services.import_values(user=admin, element_code=func_element.code, file=make_xlsx([]))
    assert exc.value.field == "file"
    assert Value.objects.filter(element=func_element).count() == 6


def test_preset_values_cannot_be_changed_by_import(admin, make_xlsx):
    services.preload_standard()
    rows = [("30101", "基本工资（改）", "", "", "", "", ""), ("30102", "津贴补贴", "", "", "", "", "")]
    with pytest.raises(ValidationFailed) as exc:
        services.import_values(user=admin, element_code="DEPT_ECO", file=make_xlsx(rows))
    assert [e["line"] for e in exc.value.errors] == [2]
    assert Value.objects.get(element__code="DEPT_ECO", code="30101").name == "基本工资"


def test_export_reimports_without_change(admin, func_element, client):
    client.force_login(admin)
    resp = client.get(f"/dictionary/elements/{func_element.code}/export/")
    assert resp.status_code == 200
    data = io.BytesIO(resp.content)
    result = services.import_values(user=admin, element_code=func_element.code, file=data)
    assert result == {"created": 0, "updated": 0, "unchanged": 6}
    ids = list(Value.objects.filter(element=func_element, code__in=["201", "205"]).values_list("pk", flat=True))
    resp = client.get(f"/dictionary/elements/{func_element.code}/export/", {"ids": ids})
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(resp.content)).worksheets[0]
    assert [r[0] for r in ws.iter_rows(min_row=2, values_only=True)] == ["201", "205"]
