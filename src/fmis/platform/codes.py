"""Hierarchical code schemes such as ``3-2-2``.

A scheme gives the width of each level: ``3-2-2`` means level 1 has 3 characters, level 2 has 5 in
total, level 3 has 7. A code's level follows from its length; its parent is its prefix one level
up. Codes are ASCII digits and letters only.

    >>> s = CodeScheme.parse("3-2-2")
    >>> s.level("2010101"), s.parent("2010101"), s.ancestors("2010101")
    (3, '20101', ['201', '20101'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fmis.platform.errors import ValidationFailed

_CODE_RE = re.compile(r"[0-9A-Za-z]+")
_SCHEME_RE = re.compile(r"[1-9][0-9]?(-[1-9][0-9]?)*")
MAX_CODE_LENGTH = 30


@dataclass(frozen=True)
class CodeScheme:
    widths: tuple[int, ...]

    def __post_init__(self):
        if not self.widths or any(not isinstance(w, int) or isinstance(w, bool) or w < 1 for w in self.widths):
            raise ValidationFailed("codes.bad_scheme", f"编码格式不正确: {self.widths!r}", field="code_format")
        if sum(self.widths) > MAX_CODE_LENGTH:
            raise ValidationFailed("codes.bad_scheme", f"编码格式总长度不能超过 {MAX_CODE_LENGTH} 位: {self}",
                                   field="code_format")

    @classmethod
    def parse(cls, text: str) -> CodeScheme:
        text = (text or "").strip() if isinstance(text, str) else ""
        if not _SCHEME_RE.fullmatch(text):
            raise ValidationFailed("codes.bad_scheme", f"编码格式不正确: {text!r}，应为“数字-数字-…”，如 3-2-2",
                                   field="code_format")
        return cls(tuple(int(p) for p in text.split("-")))

    def __str__(self) -> str:
        return "-".join(str(w) for w in self.widths)

    @property
    def depth(self) -> int:
        """Number of levels."""
        return len(self.widths)

    @property
    def cumulative(self) -> tuple[int, ...]:
        """Total code length at each level: 3-2-2 → (3, 5, 7)."""
        out, acc = [], 0
        for w in self.widths:
            acc += w
            out.append(acc)
        return tuple(out)

    @property
    def max_length(self) -> int:
        return sum(self.widths)

    def length_of(self, level: int) -> int:
        """Code length at 1-based `level`."""
        if not 1 <= level <= self.depth:
            raise ValidationFailed("codes.bad_level", f"级次 {level} 超出编码格式 {self} 的范围（1–{self.depth}）",
                                   field="level")
        return self.cumulative[level - 1]

    def level(self, code: str, *, field: str = "code") -> int:
        """1-based level of `code`; raises if its characters or length do not fit the scheme."""
        validate_code_chars(code, field=field)
        try:
            return self.cumulative.index(len(code)) + 1
        except ValueError:
            allowed = "、".join(str(n) for n in self.cumulative)
            raise ValidationFailed(
                "codes.bad_length", f"编码 {code} 的长度 {len(code)} 不符合编码格式 {self}（允许长度：{allowed}）",
                field=field) from None

    def validate(self, code: str, *, field: str = "code") -> int:
        """Check `code` and return its level."""
        return self.level(code, field=field)

    def is_leaf_level(self, code: str) -> bool:
        """True when `code` is at the last level of the scheme (it can have no children)."""
        return self.level(code) == self.depth

    def parent(self, code: str) -> str | None:
        """The code one level up; None for a level-1 code."""
        lvl = self.level(code)
        if lvl == 1:
            return None
        return code[: self.cumulative[lvl - 2]]

    def ancestors(self, code: str) -> list[str]:
        """Every code above `code`, top first."""
        lvl = self.level(code)
        return [code[:n] for n in self.cumulative[: lvl - 1]]

    def is_descendant(self, code: str, ancestor: str) -> bool:
        """True when `ancestor` is strictly above `code` in the hierarchy."""
        self.level(ancestor, field="parent")
        return ancestor in self.ancestors(code)

    def check_child(self, code: str, parent: str | None, *, field: str = "code") -> int:
        """Validate `code` as a direct child of `parent` (None: a level-1 code); return its level."""
        lvl = self.level(code, field=field)
        actual = self.parent(code)
        if parent is None or parent == "":
            if actual is not None:
                raise ValidationFailed("codes.parent_required",
                                       f"编码 {code} 是第 {lvl} 级，应有上级编码 {actual}", field=field)
            return lvl
        parent_level = self.level(parent, field="parent")
        if actual != parent:
            if parent_level == self.depth:
                msg = f"上级编码 {parent} 已是末级，不能再有下级"
            else:
                msg = (f"编码 {code} 不是上级编码 {parent} 的直接下级"
                       f"（应以 {parent} 开头，长度为 {self.length_of(parent_level + 1)}）")
            raise ValidationFailed("codes.parent_mismatch", msg, field=field)
        return lvl


def validate_code_chars(code: str, *, field: str = "code", max_length: int = MAX_CODE_LENGTH) -> str:
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
        raise ValidationFailed("codes.bad_chars", f"编码只能包含数字和字母: {code!r}", field=field)
    if len(code) > max_length:
        raise ValidationFailed("codes.too_long", f"编码不能超过 {max_length} 位: {code}", field=field)
    return code


def region_prefix(code: str) -> str:
    """The prefix shared by a region and all regions below it: 370000 → 37, 370100 → 3701.

    Nine-digit codes are a six-digit region plus three digits of township: 370102000 is the county
    370102 itself (prefix 370102), 370102001 a township (its own code)."""
    prefix = code
    if len(prefix) == 9:
        if not prefix.endswith("000"):
            return prefix
        prefix = prefix[:6]
    while len(prefix) > 2 and prefix.endswith("00"):
        prefix = prefix[:-2]
    return prefix
