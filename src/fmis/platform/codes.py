"""Hierarchical code schemes such as ``3-2-2``.

A scheme gives the width of each level: ``3-2-2`` means level 1 has 3 digits, level 2 has 5 in
total, level 3 has 7. Codes are digits and letters only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fmis.platform.errors import ValidationFailed

_CODE_RE = re.compile(r"^[0-9A-Za-z]+$")
_SCHEME_RE = re.compile(r"^[1-9][0-9]?(-[1-9][0-9]?)*$")


@dataclass(frozen=True)
class CodeScheme:
    widths: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> CodeScheme:
        text = (text or "").strip()
        if not _SCHEME_RE.match(text):
            raise ValidationFailed("codes.bad_scheme", f"编码格式不正确: {text!r}，应为“数字-数字-…”，如 3-2-2",
                                   field="code_format")
        return cls(tuple(int(p) for p in text.split("-")))

    def __str__(self) -> str:
        return "-".join(str(w) for w in self.widths)

    @property
    def cumulative(self) -> tuple[int, ...]:
        out, total = [], 0
        for w in self.widths:
            total += w
            out.append(total)
        return tuple(out)

    @property
    def max_length(self) -> int:
        return sum(self.widths)

    def level(self, code: str) -> int:
        """1-based level of `code`; raises if the length does not fit the scheme."""
        validate_code_chars(code)
        try:
            return self.cumulative.index(len(code)) + 1
        except ValueError:
            allowed = "、".join(str(n) for n in self.cumulative)
            raise ValidationFailed(
                "codes.bad_length", f"编码 {code} 的长度 {len(code)} 不符合编码格式 {self}（允许长度：{allowed}）",
                field="code") from None

    def parent(self, code: str) -> str | None:
        lvl = self.level(code)
        if lvl == 1:
            return None
        return code[: self.cumulative[lvl - 2]]

    def ancestors(self, code: str) -> list[str]:
        lvl = self.level(code)
        return [code[: n] for n in self.cumulative[: lvl - 1]]

    def validate(self, code: str) -> int:
        return self.level(code)


def validate_code_chars(code: str, *, field: str = "code", max_length: int = 30) -> str:
    if not code or not _CODE_RE.match(code):
        raise ValidationFailed("codes.bad_chars", f"编码只能包含数字和字母: {code!r}", field=field)
    if len(code) > max_length:
        raise ValidationFailed("codes.too_long", f"编码不能超过 {max_length} 位: {code}", field=field)
    return code


def region_prefix(code: str) -> str:
    """The prefix shared by a region and all regions below it: 370000 → 37, 370100 → 3701."""
    prefix = code
    while len(prefix) > 2 and prefix.endswith("00"):
        prefix = prefix[:-2]
    return prefix
