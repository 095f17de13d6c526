"""xlsx export and import helpers shared by every module.

Export: ``xlsx_response(filename, headers, rows)`` streams a workbook. Import: ``read_rows(file,
columns)`` yields ``(line_number, dict)`` for each non-empty data row, mapping header titles to
keys, and raises ``ValidationFailed`` naming the line for a malformed file.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from urllib.parse import quote

from django.http import HttpResponse

from fmis.platform.errors import ValidationFailed

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _writer(ws, formats: dict):
    """A row writer for an xlsxwriter sheet: every value written by its type, so text is never
    taken for a formula or a link and money is written from its Decimal digits."""

    def write(r: int, row: Sequence) -> None:
        for c, v in enumerate(row):
            if v is None or v == "":
                continue
            if isinstance(v, bool):
                ws.write_boolean(r, c, v)
            elif isinstance(v, (Decimal, int, float)):
                ws.write_number(r, c, v)
            elif isinstance(v, dt.datetime):
                ws.write_datetime(r, c, v.replace(tzinfo=None), formats["datetime"])
            elif isinstance(v, dt.date):
                ws.write_datetime(r, c, dt.datetime.combine(v, dt.time()), formats["date"])
            elif isinstance(v, dt.time):
                ws.write_datetime(r, c, v, formats["time"])
            else:
                ws.write_string(r, c, str(v))

    return write


def write_sheets(out, sheets: Iterable[tuple[str, Sequence[str] | None, Iterable[Sequence]]]) -> None:
    """Write a workbook to the binary file `out`, one sheet per (name, headers or None, rows), with
    rows streamed to disk as they come (constant memory for any number of rows)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_numbers": False,
                                   "strings_to_formulas": False, "strings_to_urls": False})
    formats = {"date": wb.add_format({"num_format": "yyyy-mm-dd"}),
               "datetime": wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
               "time": wb.add_format({"num_format": "hh:mm:ss"})}
    bold = wb.add_format({"bold": True})
    for name, headers, rows in sheets:
        ws = wb.add_worksheet(str(name)[:31])
        write = _writer(ws, formats)
        r = 0
        if headers is not None:
            for c, h in enumerate(headers):
                ws.write_string(0, c, str(h), bold)
            r = 1
        for row in rows:
            write(r, row)
            r += 1
    wb.close()


def build_workbook(headers: Sequence[str], rows: Iterable[Sequence], *, sheet: str = "Sheet1") -> bytes:
    buf = io.BytesIO()
    write_sheets(buf, [(sheet, headers, rows)])
    return buf.getvalue()


def xlsx_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence], *, sheet: str = "Sheet1"):
    data = build_workbook(headers, rows, sheet=sheet)
    resp = HttpResponse(data, content_type=XLSX_MIME)
    resp["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(str(filename))}"
    return resp


def read_rows(file, columns: dict[str, str], *, required: Sequence[str] = ()) -> Iterator[tuple[int, dict]]:
    """Read the first sheet. `columns` maps a header title (Chinese or English) to a key.

    Yields (Excel line number, {key: value}); values are stripped strings ('' for empty cells),
    dates as ISO strings. Raises ValidationFailed for a file that is not xlsx or lacks a column.
    """
    from openpyxl import load_workbook

    try:
        if hasattr(file, "seek"):
            file.seek(0)
        wb = load_workbook(file, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - whatever openpyxl cannot open is not a usable workbook
        raise ValidationFailed("import.not_xlsx", "文件不是有效的 xlsx 工作簿", field="file") from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    try:
        header = next(it)
    except StopIteration:
        raise ValidationFailed("import.empty", "文件为空：第 1 行应为表头", line=1) from None
    index: dict[str, int] = {}
    for i, title in enumerate(header or ()):
        key = columns.get(str(title).strip()) if title is not None else None
        if key:
            index[key] = i
    missing = [t for t, k in columns.items() if k in required and k not in index]
    missing_keys = {columns[t] for t in missing} - set(index)
    if missing_keys:
        names = "、".join(t for t, k in columns.items() if k in missing_keys)
        raise ValidationFailed("import.missing_columns", f"第 1 行缺少列：{names}", line=1)
    for line, row in enumerate(it, start=2):
        if row is None or all(v is None or str(v).strip() == "" for v in row):
            continue
        out = {}
        for key, i in index.items():
            v = row[i] if i < len(row) else None
            if v is None:
                out[key] = ""
            elif isinstance(v, (dt.datetime, dt.date)):
                out[key] = (v.date() if isinstance(v, dt.datetime) else v).isoformat()
            elif isinstance(v, float) and v.is_integer():
                out[key] = str(int(v))
            else:
                out[key] = str(v).strip()
        yield line, out
