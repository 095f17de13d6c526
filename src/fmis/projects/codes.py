"""The 21-character project code (项目代码, PRO_CODE VARCHAR(21)).

Layout, after the sample ``42000024219P007000051`` in the standard's data (6+2+3+1+9)::

    420000  24   219   P   007   000051
    region  year dept  P   unit  serial

- region (6): the project agency's region code (财政区划, first six digits);
- year (2): the last two digits of the project's start year (立项年度);
- dept (3): the first-level agency (主管部门) part of the agency code;
- ``P``: marks a project code;
- unit (3): the subordinate unit part of the agency code, ``000`` for a first-level agency;
- serial (6): issued per prefix (the first 15 characters) by ``next_code``, gap-free.

Agency codes follow ``region 6 + department 3 (+ unit 3)`` (see ``fmis.orgs.models.Agency``), so the
code names its agency exactly. The category is not part of the code; it is a field of the project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection, transaction

from fmis.platform.errors import ValidationFailed

CODE_LENGTH = 21
PREFIX_LENGTH = 15
MAX_SERIAL = 999_999
_CODE_RE = re.compile(r"^(?P<region>[0-9]{6})(?P<year>[0-9]{2})(?P<dept>[0-9]{3})P(?P<unit>[0-9]{3})"
                      r"(?P<serial>[0-9]{6})$")
_AGENCY_RE = re.compile(r"^(?P<region>[0-9]{6})(?P<dept>[0-9]{3})(?P<unit>[0-9]{3})?$")


@dataclass(frozen=True)
class ProjectCode:
    region: str
    year: str
    dept: str
    unit: str
    serial: int

    @property
    def prefix(self) -> str:
        return f"{self.region}{self.year}{self.dept}P{self.unit}"

    def __str__(self) -> str:
        return f"{self.prefix}{self.serial:06d}"


def _bad(message: str, **params) -> ValidationFailed:
    return ValidationFailed("projects.bad_code", message, field="code", **params)


def parse(code: str) -> ProjectCode:
    """The parts of `code`, or ValidationFailed saying which part is wrong."""
    code = (code or "").strip()
    if len(code) != CODE_LENGTH:
        raise _bad(f"项目代码 {code} 应为 {CODE_LENGTH} 位，实际 {len(code)} 位", value=code)
    m = _CODE_RE.match(code)
    if m is None:
        if code[11] != "P":
            raise _bad(f"项目代码 {code} 第 12 位应为字母 P", value=code)
        raise _bad(f"项目代码 {code} 格式不正确：应为 区划6位+年度2位+部门3位+P+单位3位+序号6位，均为数字",
                   value=code)
    if int(m["serial"]) == 0:
        raise _bad(f"项目代码 {code} 的序号不能为 000000", value=code)
    return ProjectCode(m["region"], m["year"], m["dept"], m["unit"], int(m["serial"]))


def agency_parts(agency) -> tuple[str, str, str]:
    """(region, dept, unit) of an agency code; ValidationFailed if the code does not fit the scheme."""
    m = _AGENCY_RE.match(agency.code or "")
    if m is None:
        raise ValidationFailed("projects.agency_code_scheme",
                               f"单位编码 {agency.code} 不符合“区划6位+部门3位(+单位3位)”格式，不能编制项目代码",
                               field="agency")
    return m["region"], m["dept"], m["unit"] or "000"


def prefix_for(agency, start_year: int) -> str:
    region, dept, unit = agency_parts(agency)
    return f"{region}{start_year % 100:02d}{dept}P{unit}"


def validate(code: str, *, agency, start_year: int) -> ProjectCode:
    """Check `code` against the scheme and against the project's agency and start year."""
    pc = parse(code)
    region, dept, unit = agency_parts(agency)
    if pc.region != region:
        raise _bad(f"项目代码 {code} 的区划部分 {pc.region} 与项目单位的区划 {region} 不一致", value=code)
    if pc.year != f"{start_year % 100:02d}":
        raise _bad(f"项目代码 {code} 的年度部分 {pc.year} 与起始年度 {start_year} 不一致", value=code)
    if (pc.dept, pc.unit) != (dept, unit):
        raise _bad(f"项目代码 {code} 的部门/单位部分 {pc.dept}/{pc.unit} 与项目单位 {agency.code} 不一致",
                   value=code)
    return pc


def next_code(*, agency, start_year: int) -> str:
    """Issue the next code for `agency` and `start_year`.

    One atomic upsert advances the prefix's counter and holds its row lock until the caller's
    transaction ends: concurrent callers queue on it, and a rolled-back transaction returns its
    number, so the serials that commit are consecutive.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_code must run inside the transaction that stores the code")
    prefix = prefix_for(agency, start_year)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO projects_codecounter (prefix, last_value) VALUES (%s, 1) "
            "ON CONFLICT (prefix) DO UPDATE SET last_value = projects_codecounter.last_value + 1 "
            "RETURNING last_value", [prefix])
        serial = cur.fetchone()[0]
    if serial > MAX_SERIAL:
        raise ValidationFailed("projects.code_exhausted", f"项目代码前缀 {prefix} 的序号已用尽", field="code")
    return f"{prefix}{serial:06d}"


def note_used(code: str) -> None:
    """Advance the counter past an explicitly given (imported) code, so generated codes never collide."""
    pc = parse(code)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO projects_codecounter (prefix, last_value) VALUES (%s, %s) "
            "ON CONFLICT (prefix) DO UPDATE SET last_value = GREATEST(projects_codecounter.last_value, "
            "EXCLUDED.last_value)", [pc.prefix, pc.serial])
