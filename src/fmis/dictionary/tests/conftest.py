"""Fixtures for the data dictionary tests."""

from __future__ import annotations

import io

import pytest

from fmis.dictionary import services


@pytest.fixture
def admin(db):
    """A superuser (no password hashing: tests log in with force_login)."""
    from fmis.iam.models import User

    user = User(username="dict_admin", name="数据字典管理员", user_type=User.UserType.SUPER)
    user.set_unusable_password()
    user.save()
    return user


@pytest.fixture
def func_element(admin):
    """A hierarchical element (3-2-2) with 201 / 20101 / 2010101 and 205 / 20502."""
    el = services.create_element(user=admin, code="T_FUNC", name="测试功能分类", code_format_type="2",
                                 code_format="3-2-2", is_element=True)
    for code, name in [("201", "一般公共服务支出"), ("20101", "人大事务"), ("2010101", "行政运行"),
                       ("2010102", "一般行政管理事务"), ("205", "教育支出"), ("20502", "普通教育")]:
        services.add_value(user=admin, element_code=el.code, code=code, name=name)
    return el


@pytest.fixture
def flat_element(admin):
    el = services.create_element(user=admin, code="T_FLAT", name="测试平码")
    for code, name in [("A1", "甲"), ("B2", "乙")]:
        services.add_value(user=admin, element_code=el.code, code=code, name=name)
    return el


def xlsx_bytes(rows, headers=("编码", "名称", "上级编码", "状态", "启用日期", "停用日期", "备注")) -> io.BytesIO:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(list(headers))
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "values.xlsx"
    return buf


@pytest.fixture
def make_xlsx():
    return xlsx_bytes
