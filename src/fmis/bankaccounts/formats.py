"""Reading bank messages (docs/bank-flows.md): the XML and the CSV format of daily flows and
balances, streamed with bounded memory.

``open_message(stream, max_bytes=...)`` reads only the head of the stream, recognises the format
and the header (message type, bank, business date, declared encoding) and returns a ``Message``
whose ``csv_chunks()`` (CSV: the decoded record lines, to be copied into the database as they
come) or ``xml_rows()`` (XML: one tuple per record with its line number) stream the rest.

Protections, all raising ``MessageError`` with a stable code, the line where it applies and a
Chinese reason:

* a size limit counted on the bytes actually read (a declared or stat-able size over the limit is
  refused before reading anything);
* strict decoding in the declared encoding (UTF-8, GBK or GB18030): a byte sequence that is not
  valid in it is refused with its line, and a file declared GBK whose non-ASCII text is in fact
  UTF-8 is refused as an encoding mismatch;
* XML with pyexpat (the parser under ``xml.etree``) fed incrementally: any DOCTYPE, entity
  declaration or external entity is refused before it is expanded, so entity expansion bombs and
  external entity reads never happen; unknown elements or attributes, a wrong root, and a
  truncated document are refused.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from xml.parsers import expat

CHUNK = 256 * 1024
RAW_KEEP = 64 * 1024  # bytes of a refused message kept in the exception log
VERSION = "1.0"

FLOW_COLUMNS = ("account_no", "serial_no", "tx_time", "direction", "amount", "currency", "balance",
                "counterparty_name", "counterparty_account", "summary")
BALANCE_COLUMNS = ("account_no", "currency", "balance")
COLUMNS = {"flows": FLOW_COLUMNS, "balances": BALANCE_COLUMNS}
XML_RECORD = {"flows": "Flow", "balances": "Balance"}
XML_ATTRS = {
    "flows": ("account", "serial", "time", "direction", "amount", "currency", "balance", "counterparty_name",
              "counterparty_account", "summary"),
    "balances": ("account", "currency", "balance"),
}
XML_REQUIRED = {"flows": ("account", "serial", "time", "direction", "amount", "currency"),
                "balances": ("account", "currency", "balance")}

ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gbk", "gb2312": "gbk", "cp936": "gbk",
             "gb18030": "gb18030"}
_BANK_RE = re.compile(r"^[A-Za-z0-9]{1,30}$")
_CSV_HEAD_RE = re.compile(r"^#\s*fmis-bank-message\s*;(.*)$")
_XML_DECL_RE = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


class MessageError(Exception):
    """A message refused as a whole; ``meta`` carries what was learnt before the refusal."""

    def __init__(self, code: str, message: str, *, line: int | None = None, field: str | None = None,
                 errors: list[dict] | None = None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.line, self.field = code, message, line, field
        self.errors = errors or ([{"line": line, "field": field, "message": message}] if line or field else [])


@dataclass
class Header:
    kind: str = "unknown"
    fmt: str = "unknown"
    bank_code: str = ""
    business_date: dt.date | None = None
    encoding: str = "utf-8"
    declared_encoding: str = ""


class LimitedReader:
    """Reads a binary stream with a byte limit, hashing everything read and keeping the head."""

    def __init__(self, stream, max_bytes: int):
        self.stream, self.max_bytes = stream, max_bytes
        self.size = 0
        self.sha = hashlib.sha256()
        self.head = bytearray()
        self.known_size = _known_size(stream)

    def check_declared(self) -> None:
        if self.known_size is not None and self.known_size > self.max_bytes:
            raise MessageError("bankaccounts.message_too_large",
                               f"报文大小 {_mb(self.known_size)} 超过上限 {_mb(self.max_bytes)}，未读取、未导入")

    def read(self, n: int = CHUNK) -> bytes:
        data = self.stream.read(n)
        if not data:
            return b""
        if isinstance(data, str):
            raise MessageError("bankaccounts.message_not_bytes", "报文应以字节流提交")
        self.size += len(data)
        if self.size > self.max_bytes:
            raise MessageError("bankaccounts.message_too_large",
                               f"报文大小超过上限 {_mb(self.max_bytes)}（已读取 {_mb(self.size)}），未导入")
        self.sha.update(data)
        if len(self.head) < RAW_KEEP:
            self.head.extend(data[:RAW_KEEP - len(self.head)])
        return data

    @property
    def sha256(self) -> str:
        return self.sha.hexdigest()


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _known_size(stream) -> int | None:
    size = getattr(stream, "size", None)
    if isinstance(size, int):
        return size
    try:
        pos = stream.tell()
        end = stream.seek(0, 2)
        stream.seek(pos)
        return end - pos
    except (AttributeError, OSError, ValueError):
        return None


class StrictDecoder:
    """Incremental strict decoding with line tracking; for GBK also watches whether the text is
    really UTF-8 (a common mislabelling that GBK would decode into garbage without an error)."""

    def __init__(self, encoding: str, declared: str):
        self.encoding, self.declared = encoding, declared
        self.decoder = codecs.getincrementaldecoder(encoding)("strict")
        self.lines_before = 0
        self.utf8 = codecs.getincrementaldecoder("utf-8")("strict") if encoding != "utf-8" else None
        self.utf8_valid = self.utf8 is not None
        self.multibyte = False

    def decode(self, data: bytes, final: bool = False) -> str:
        try:
            text = self.decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            line = self.lines_before + data[:max(exc.start, 0)].count(b"\n") + 1
            hint = "（内容疑似 GBK 编码）" if self.encoding == "utf-8" else "（内容疑似 UTF-8 编码）"
            raise MessageError("bankaccounts.encoding_mismatch",
                               f"报文声明的编码为 {self.declared or self.encoding.upper()}，但第 {line} 行含有不符合该编码的字节"
                               f"{hint}，请按声明的编码重新生成报文", line=line) from None
        if self.utf8 is not None and self.utf8_valid:
            try:
                self.utf8.decode(data, final)
            except UnicodeDecodeError:
                self.utf8_valid = False
            if not self.multibyte and any(b > 0x7F for b in data):
                self.multibyte = True
        self.lines_before += data.count(b"\n")
        return text

    def finish(self) -> None:
        if self.utf8 is not None and self.utf8_valid and self.multibyte:
            raise MessageError("bankaccounts.encoding_mismatch",
                               f"报文声明的编码为 {self.declared or self.encoding.upper()}，但内容是 UTF-8 编码，"
                               "请更正编码声明或按声明的编码重新生成报文")


def _encoding(name: str) -> str:
    enc = ENCODINGS.get(name.strip().lower())
    if enc is None:
        raise MessageError("bankaccounts.encoding_unsupported", f"不支持的编码声明：{name}（应为 UTF-8、GBK 或 GB18030）",
                           line=1)
    return enc


def _date(value: str, *, line: int) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise MessageError("bankaccounts.header_date_invalid", f"报文日期格式不正确：{value!r}（应为 YYYY-MM-DD）",
                           line=line, field="date") from None


def _check_header(h: Header, *, line: int) -> None:
    if h.kind not in COLUMNS:
        raise MessageError("bankaccounts.header_type_invalid", f"报文类别不正确：{h.kind!r}（应为 flows 或 balances）",
                           line=line, field="type")
    if not _BANK_RE.match(h.bank_code or ""):
        raise MessageError("bankaccounts.header_bank_invalid", f"报文的银行编码不正确：{h.bank_code!r}", line=line,
                           field="bank")
    if h.business_date is None:
        raise MessageError("bankaccounts.header_date_missing", "报文缺少业务日期", line=line, field="date")


class Message:
    """An opened message: its header and the stream of its records."""

    def __init__(self, reader: LimitedReader, header: Header, first: bytes):
        self.reader, self.header, self._first = reader, header, first
        self.records = 0

    @property
    def columns(self) -> tuple[str, ...]:
        return COLUMNS[self.header.kind]

    def _bytes(self) -> Iterator[bytes]:
        if self._first:
            yield self._first
            self._first = b""
        while True:
            data = self.reader.read(CHUNK)
            if not data:
                return
            yield data

    # --- CSV ---------------------------------------------------------------------------------------
    def csv_chunks(self, decoder: StrictDecoder, body_start: int) -> Iterator[str]:
        """The CSV records as decoded text, in chunks ending at a line boundary."""
        pending = ""
        first = True
        for data in self._bytes():
            text = decoder.decode(data)
            if first:
                text, first = text[body_start:], False
            text = pending + text
            cut = text.rfind("\n") + 1
            pending = text[cut:]
            if cut:
                chunk = text[:cut]
                self.records += chunk.count("\n")
                yield chunk
        tail = pending + decoder.decode(b"", final=True)
        decoder.finish()
        if tail.strip():
            self.records += 1
            yield tail if tail.endswith("\n") else tail + "\n"

    # --- XML ---------------------------------------------------------------------------------------
    def xml_rows(self, decoder: StrictDecoder) -> Iterator[list[tuple]]:
        """Batches of (line, *values) per record, in file order."""
        kind = self.header.kind
        record, attrs, required = XML_RECORD[kind], XML_ATTRS[kind], XML_REQUIRED[kind]
        allowed = set(attrs)
        out: list[tuple] = []
        depth = [0]
        p = expat.ParserCreate()
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

        def refuse_dtd(*_a):
            raise MessageError("bankaccounts.xml_dtd_refused",
                               f"第 {p.CurrentLineNumber} 行：报文不得包含 DOCTYPE 或实体声明（防止实体扩展攻击），已拒收",
                               line=p.CurrentLineNumber)

        def start(name, a):
            depth[0] += 1
            line = p.CurrentLineNumber
            if depth[0] == 1:
                return  # the root was checked when the header was read
            if depth[0] > 2 or name != record:
                raise MessageError("bankaccounts.xml_element_unknown", f"第 {line} 行：不允许的元素 <{name}>",
                                   line=line, field=name)
            extra = set(a) - allowed
            if extra:
                raise MessageError("bankaccounts.xml_attribute_unknown",
                                   f"第 {line} 行：<{name}> 含有不允许的属性 {', '.join(sorted(extra))}",
                                   line=line, field=min(extra))
            missing = [k for k in required if k not in a]
            if missing:
                raise MessageError("bankaccounts.xml_attribute_missing",
                                   f"第 {line} 行：<{name}> 缺少属性 {', '.join(missing)}", line=line, field=missing[0])
            out.append((line, *(a.get(k) for k in attrs)))

        def end(_name):
            depth[0] -= 1

        p.StartDoctypeDeclHandler = refuse_dtd
        p.EntityDeclHandler = refuse_dtd
        p.UnparsedEntityDeclHandler = refuse_dtd
        p.NotationDeclHandler = refuse_dtd
        p.ExternalEntityRefHandler = refuse_dtd
        p.StartElementHandler = start
        p.EndElementHandler = end

        def feed(text: str, final: bool) -> None:
            try:
                p.Parse(text, final)
            except expat.ExpatError as exc:
                what = expat.ErrorString(exc.code)
                truncated = final and exc.code in (expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS],
                                                   expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_TOKEN],
                                                   expat.errors.codes[expat.errors.XML_ERROR_PARTIAL_CHAR])
                if truncated:
                    raise MessageError("bankaccounts.xml_truncated",
                                       f"XML 报文不完整（在第 {exc.lineno} 行意外结束：{what}），可能传输中断",
                                       line=exc.lineno) from None
                raise MessageError("bankaccounts.xml_malformed", f"XML 格式错误：第 {exc.lineno} 行 {what}",
                                   line=exc.lineno) from None

        for data in self._bytes():
            feed(decoder.decode(data), False)
            if out:
                self.records += len(out)
                yield out
                out = []
        feed(decoder.decode(b"", final=True), True)
        decoder.finish()
        if out:
            self.records += len(out)
            yield out


def open_message(stream, *, max_bytes: int) -> tuple[Message, StrictDecoder, int]:
    """Open `stream` (binary): (message, decoder, CSV body offset in the first decoded chunk).

    Raises ``MessageError`` for an oversized, unrecognised or badly headed message, with the reader
    (size, hash and head read so far) and the header learnt so far attached as ``reader`` and
    ``header``; the returned message keeps them as ``message.reader`` and ``message.header``."""
    reader = LimitedReader(stream, max_bytes)
    header = Header()
    try:
        return _open(reader, header)
    except MessageError as exc:
        exc.reader, exc.header = reader, header
        raise


def _open(reader: LimitedReader, header: Header) -> tuple[Message, StrictDecoder, int]:
    reader.check_declared()
    first = reader.read(CHUNK)
    # the header must be within the first chunk; read a little more if the chunk was short
    while len(first) < 4096:
        more = reader.read(CHUNK)
        if not more:
            break
        first += more
    message = Message(reader, header, b"")
    if first.startswith(codecs.BOM_UTF8):
        first = first[3:]
    stripped = first.lstrip()
    if not stripped:
        raise MessageError("bankaccounts.message_empty", "报文为空")
    first = stripped
    if stripped.startswith(b"<"):
        header.fmt = "xml"
        m = _XML_DECL_RE.match(stripped)
        header.declared_encoding = m.group(1).decode("ascii") if m else "UTF-8"
        header.encoding = _encoding(header.declared_encoding)
        _xml_header(stripped, header)
        message._first = first
        return message, StrictDecoder(header.encoding, header.declared_encoding), 0
    if stripped.startswith(b"#"):
        header.fmt = "csv"
        body_start = _csv_header(first, header)
        message._first = first
        return message, StrictDecoder(header.encoding, header.declared_encoding), body_start
    raise MessageError("bankaccounts.format_unknown", "无法识别的报文格式：应为 XML 报文或以 “# fmis-bank-message” 开头的 CSV 报文",
                       line=1)


def _xml_header(data: bytes, header: Header) -> None:
    """Read the root element's attributes from the head of the document (no DTD allowed)."""
    root: dict = {}
    p = expat.ParserCreate()
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    class _Stop(Exception):
        pass

    def refuse(*_a):
        raise MessageError("bankaccounts.xml_dtd_refused",
                           f"第 {p.CurrentLineNumber} 行：报文不得包含 DOCTYPE 或实体声明（防止实体扩展攻击），已拒收",
                           line=p.CurrentLineNumber)

    def start(name, attrs):
        root.update(name=name, attrs=attrs, line=p.CurrentLineNumber)
        raise _Stop

    p.StartDoctypeDeclHandler = refuse
    p.EntityDeclHandler = refuse
    p.StartElementHandler = start
    text = data.decode(header.encoding, errors="replace")
    try:
        p.Parse(text, False)
    except _Stop:
        pass
    except expat.ExpatError as exc:
        raise MessageError("bankaccounts.xml_malformed", f"XML 格式错误：第 {exc.lineno} 行 {expat.ErrorString(exc.code)}",
                           line=exc.lineno) from None
    if not root:
        raise MessageError("bankaccounts.xml_truncated", "XML 报文不完整：没有找到根元素 <BankMessage>", line=1)
    line = root["line"]
    if root["name"] != "BankMessage":
        raise MessageError("bankaccounts.xml_root_invalid", f"第 {line} 行：根元素应为 <BankMessage>，而不是 <{root['name']}>",
                           line=line)
    attrs = root["attrs"]
    if attrs.get("version") != VERSION:
        raise MessageError("bankaccounts.version_unsupported", f"不支持的报文版本：{attrs.get('version')!r}（应为 {VERSION}）",
                           line=line, field="version")
    header.kind = attrs.get("type", "")
    header.bank_code = attrs.get("bank", "")
    header.business_date = _date(attrs["date"], line=line) if "date" in attrs else None
    _check_header(header, line=line)


def _csv_header(first: bytes, header: Header) -> int:
    """Parse the two header lines; return the offset of the records in the decoded first chunk."""
    nl = first.find(b"\n")
    if nl < 0:
        raise MessageError("bankaccounts.csv_header_missing", "CSV 报文缺少表头行", line=1)
    line1 = first[:nl].decode("ascii", errors="replace").strip()
    m = _CSV_HEAD_RE.match(line1)
    if not m:
        raise MessageError("bankaccounts.csv_header_invalid",
                           "第 1 行应为 “# fmis-bank-message; type=…; version=1.0; bank=…; date=…; encoding=…”", line=1)
    params: dict[str, str] = {}
    for part in m.group(1).split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            params[k.strip().lower()] = v.strip()
    if params.get("version") != VERSION:
        raise MessageError("bankaccounts.version_unsupported", f"不支持的报文版本：{params.get('version')!r}（应为 {VERSION}）",
                           line=1, field="version")
    header.declared_encoding = params.get("encoding", "UTF-8")
    header.encoding = _encoding(header.declared_encoding)
    header.kind = params.get("type", "")
    header.bank_code = params.get("bank", "")
    header.business_date = _date(params["date"], line=1) if "date" in params else None
    _check_header(header, line=1)
    nl2 = first.find(b"\n", nl + 1)
    if nl2 < 0:
        raise MessageError("bankaccounts.csv_columns_missing", "CSV 报文缺少第 2 行的列名", line=2)
    line2 = first[nl + 1:nl2].decode("ascii", errors="replace").strip().rstrip("\r")
    expected = ",".join(COLUMNS[header.kind])
    if line2 != expected:
        raise MessageError("bankaccounts.csv_columns_invalid", f"第 2 行列名应为：{expected}", line=2)
    # the records start after the second newline; in decoded text that is after the same two lines
    head_text = first[:nl2 + 1].decode(header.encoding, errors="strict") if first[:nl2 + 1].isascii() else None
    if head_text is None:
        raise MessageError("bankaccounts.csv_header_invalid", "CSV 报文的前两行只能包含 ASCII 字符", line=1)
    return len(head_text)

