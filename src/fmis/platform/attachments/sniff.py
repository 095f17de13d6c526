"""File types accepted as attachments, recognised from their content, not only their name.

Each allowed extension maps to one kind; a file is accepted only if its bytes are of that kind
(a ``.pdf`` must start with ``%PDF-``, an ``.xlsx`` must be a zip holding an Excel workbook, a
``.txt`` must be text in UTF-8 or GB18030 without NUL bytes, ...).
"""

from __future__ import annotations

import codecs
import zipfile
from dataclasses import dataclass
from typing import BinaryIO


@dataclass(frozen=True)
class Kind:
    code: str
    mime: str
    label: str


PDF = Kind("pdf", "application/pdf", "PDF 文件")
PNG = Kind("png", "image/png", "PNG 图片")
JPG = Kind("jpg", "image/jpeg", "JPEG 图片")
XLSX = Kind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel 工作簿")
DOCX = Kind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word 文档")
OFD = Kind("ofd", "application/ofd", "OFD 版式文件")
ZIP = Kind("zip", "application/zip", "ZIP 压缩包")
TXT = Kind("txt", "text/plain", "文本文件")

# extension -> the kinds whose content it may carry
ALLOWED: dict[str, tuple[Kind, ...]] = {
    "pdf": (PDF,),
    "png": (PNG,),
    "jpg": (JPG,),
    "jpeg": (JPG,),
    "xlsx": (XLSX,),
    "docx": (DOCX,),
    "ofd": (OFD,),
    "zip": (ZIP, XLSX, DOCX, OFD),  # office and OFD files are zip archives too
    "txt": (TXT,),
}

HEAD_BYTES = 16


def _zip_kind(fileobj: BinaryIO) -> Kind | None:
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return None
    lower = {n.lower() for n in names}
    if "[content_types].xml" in lower and any(n.startswith("xl/") for n in lower):
        return XLSX
    if "[content_types].xml" in lower and any(n.startswith("word/") for n in lower):
        return DOCX
    if "ofd.xml" in lower:
        return OFD
    return ZIP


def _is_text(fileobj: BinaryIO, chunk: int = 64 * 1024) -> bool:
    for encoding in ("utf-8-sig", "gb18030"):
        fileobj.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while True:
                data = fileobj.read(chunk)
                if not data:
                    decoder.decode(b"", final=True)
                    return True
                if b"\x00" in data:
                    return False
                decoder.decode(data)
        except UnicodeDecodeError:
            continue
    return False


def detect(fileobj: BinaryIO) -> Kind | None:
    """The kind of the content of `fileobj` (read from the start), or None if it is none we accept."""
    fileobj.seek(0)
    head = fileobj.read(HEAD_BYTES)
    try:
        if head.startswith(b"%PDF-"):
            return PDF
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return PNG
        if head.startswith(b"\xff\xd8\xff"):
            return JPG
        if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            return _zip_kind(fileobj)
        if head and _is_text(fileobj):
            return TXT
        return None
    finally:
        fileobj.seek(0)


def extension_of(filename: str) -> str:
    base = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base.strip(".") else ""
