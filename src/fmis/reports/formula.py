"""Report formulas (取数公式): a small expression language over account balances, parsed into a
tree by a recursive-descent parser (never ``eval``) and evaluated with ``Decimal``.

Grammar::

    expr    := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := ("+" | "-") unary | primary
    primary := NUMBER | "(" expr ")" | NAME "(" [arg ("," arg)*] ")" | CELL | "[" LINE "]"
    arg     := STRING | expr

Balance functions (``code`` is an account code; the account and all its sub-accounts count):

- ``QC(code[, dir[, aux]])``  opening balance of the period (期初余额)
- ``QM(code[, dir[, aux]])``  closing balance of the period (期末余额)
- ``NC(code[, dir[, aux]])``  opening balance of the year (年初余额)
- ``FS(code, side[, aux])``   the period's amount on a side (本期发生额)
- ``LJ(code, side[, aux])``   the year's cumulative amount on a side (本年累计发生额)

``dir`` is '借' (debit-positive) or '贷' (credit-positive); without it a balance is given on the
account's own side. ``side`` is '借', '贷' or '净' (net on the account's own side). ``aux`` filters
on auxiliary values, e.g. ``'fund_type:12'`` (values starting with 12), ``'project:*'`` (any
project), ``'project:-'`` (no project); several conditions are joined with ``;``.

Other functions: ``ABS(x)``, ``ROUND(x[, n])``, ``MAX(x, ...)``, ``MIN(x, ...)``.
References: ``B3`` is the cell in column B, row 3 of a user-defined report; ``[05]`` is line 05 of a
statement, in the same column.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, DivisionByZero, InvalidOperation

from fmis.platform.errors import ValidationFailed


class FormulaError(Exception):
    """A formula that cannot be parsed or evaluated; ``message`` is for people (Chinese)."""

    def __init__(self, message: str, *, position: int | None = None):
        self.message = message
        self.position = position
        super().__init__(message)


# --- tree ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Num:
    value: Decimal


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Neg:
    operand: object


@dataclass(frozen=True)
class BinOp:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple


@dataclass(frozen=True)
class CellRef:
    col: str
    row: int

    @property
    def key(self) -> str:
        return f"{self.col}{self.row}"


@dataclass(frozen=True)
class LineRef:
    code: str


@dataclass(frozen=True)
class Term:
    """One balance figure a formula needs: function, account code, side or direction, aux filter."""

    func: str
    code: str
    side: str  # "" (own side), "debit", "credit", "net"
    aux: tuple[tuple[str, str], ...] = ()


BALANCE_FUNCS = {"QC": "期初余额", "QM": "期末余额", "NC": "年初余额"}
FLOW_FUNCS = {"FS": "本期发生额", "LJ": "本年累计发生额"}
MATH_FUNCS = {"ABS", "ROUND", "MAX", "MIN"}
SIDES = {"借": "debit", "贷": "credit", "净": "net", "D": "debit", "C": "credit", "N": "net",
         "debit": "debit", "credit": "credit", "net": "net"}
AUX_ELEMENTS = {"func", "gov_eco", "dept_eco", "fund_type", "pay_mode", "indicator", "project", "department",
                "counterparty"}

CELL_RE = re.compile(r"^([A-Z]{1,2})([1-9][0-9]{0,3})$")
_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>[0-9]+(?:\.[0-9]+)?)
  | (?P<str>'[^']*'|"[^"]*"|‘[^’]*’|“[^”]*”)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<line>\[[^\[\]]*\])
  | (?P<op>[-+*/(),，（）])
""", re.VERBOSE)
_FULLWIDTH = {"，": ",", "（": "(", "）": ")"}


def tokenize(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise FormulaError(f"第 {pos + 1} 个字符“{text[pos]}”无法识别", position=pos)
        kind = m.lastgroup or ""
        value = m.group()
        if kind == "op":
            value = _FULLWIDTH.get(value, value)
        if kind == "str":
            value = value[1:-1]
        if kind != "ws":
            out.append((kind, value, pos))
        pos = m.end()
    out.append(("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        kind, v, pos = self.take()
        if v != value or kind != "op":
            found = "公式结尾" if kind == "end" else f"“{v}”"
            raise FormulaError(f"第 {pos + 1} 个字符处应为“{value}”，实际为{found}", position=pos)

    def parse(self):
        if self.peek()[0] == "end":
            raise FormulaError("公式为空")
        node = self.expr()
        kind, v, pos = self.peek()
        if kind != "end":
            raise FormulaError(f"第 {pos + 1} 个字符处多余的“{v}”", position=pos)
        return node

    def expr(self):
        node = self.term()
        while self.peek()[0] == "op" and self.peek()[1] in "+-":
            op = self.take()[1]
            node = BinOp(op, node, self.term())
        return node

    def term(self):
        node = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in "*/":
            op = self.take()[1]
            node = BinOp(op, node, self.unary())
        return node

    def unary(self):
        kind, v, _pos = self.peek()
        if kind == "op" and v in "+-":
            self.take()
            operand = self.unary()
            return Neg(operand) if v == "-" else operand
        return self.primary()

    def primary(self):
        kind, v, pos = self.take()
        if kind == "num":
            return Num(Decimal(v))
        if kind == "op" and v == "(":
            node = self.expr()
            self.expect(")")
            return node
        if kind == "line":
            code = v[1:-1].strip()
            if not code:
                raise FormulaError(f"第 {pos + 1} 个字符处的行号引用为空", position=pos)
            return LineRef(code)
        if kind == "name":
            if self.peek()[1] == "(" and self.peek()[0] == "op":
                return self.call(v.upper(), pos)
            m = CELL_RE.match(v.upper())
            if m:
                return CellRef(m.group(1), int(m.group(2)))
            raise FormulaError(f"第 {pos + 1} 个字符处“{v}”既不是函数也不是单元格", position=pos)
        if kind == "str":
            raise FormulaError(f"第 {pos + 1} 个字符处的文字“{v}”只能作为函数参数", position=pos)
        found = "公式结尾" if kind == "end" else f"“{v}”"
        raise FormulaError(f"第 {pos + 1} 个字符处应为数字、函数或单元格，实际为{found}", position=pos)

    def call(self, name: str, pos: int):
        self.expect("(")
        args: list = []
        if not (self.peek()[0] == "op" and self.peek()[1] == ")"):
            while True:
                if self.peek()[0] == "str":
                    args.append(Str(self.take()[1]))
                else:
                    args.append(self.expr())
                if self.peek()[0] == "op" and self.peek()[1] == ",":
                    self.take()
                    continue
                break
        self.expect(")")
        node = Call(name, tuple(args))
        _check_call(node, pos)
        return node


def _code_arg(arg, name: str) -> str:
    if isinstance(arg, Num) and re.fullmatch(r"[0-9]+", format(arg.value, "f")):
        return format(arg.value, "f")
    if isinstance(arg, Str) and re.fullmatch(r"[0-9]{1,30}", arg.value.strip()):
        return arg.value.strip()
    raise FormulaError(f"{name} 的第 1 个参数应为科目编码（数字）")


def parse_aux(text: str) -> tuple[tuple[str, str], ...]:
    """'fund_type:12; project:*' → (('fund_type', '12'), ('project', '*'))."""
    out = []
    for part in re.split(r"[;；]", text):
        part = part.strip()
        if not part:
            continue
        element, sep, value = part.replace("：", ":").partition(":")
        element, value = element.strip(), value.strip()
        if not sep or element not in AUX_ELEMENTS or not value:
            raise FormulaError(f"辅助核算条件“{part}”不正确：应为 要素:值（要素为 {', '.join(sorted(AUX_ELEMENTS))}）")
        out.append((element, value))
    return tuple(sorted(out))


def _check_call(node: Call, pos: int) -> None:
    name, args = node.name, node.args
    at = f"第 {pos + 1} 个字符处"
    if name in BALANCE_FUNCS or name in FLOW_FUNCS:
        is_flow = name in FLOW_FUNCS
        lo, hi = (2, 3) if is_flow else (1, 3)
        if not lo <= len(args) <= hi:
            usage = f"{name}(科目, '借'|'贷'|'净'[, 辅助条件])" if is_flow else f"{name}(科目[, '借'|'贷'[, 辅助条件]])"
            raise FormulaError(f"{at}函数 {name} 的参数个数不对，用法：{usage}", position=pos)
        _code_arg(args[0], name)
        if len(args) > 1:
            side = args[1]
            allowed = ("借", "贷", "净") if is_flow else ("借", "贷")
            if not (isinstance(side, Str) and (side.value.strip() in allowed
                                                or (side.value.strip() == "" and not is_flow))):
                raise FormulaError(f"{at}函数 {name} 的第 2 个参数应为 {'、'.join(repr(a) for a in allowed)}",
                                   position=pos)
        if len(args) > 2:
            if not isinstance(args[2], Str):
                raise FormulaError(f"{at}函数 {name} 的第 3 个参数应为辅助核算条件文字，如 'fund_type:12'",
                                   position=pos)
            parse_aux(args[2].value)
        return
    if name in MATH_FUNCS:
        if any(isinstance(a, Str) for a in args):
            raise FormulaError(f"{at}函数 {name} 的参数应为数值", position=pos)
        if name == "ABS" and len(args) != 1:
            raise FormulaError(f"{at}函数 ABS 只有 1 个参数", position=pos)
        if name == "ROUND" and len(args) not in (1, 2):
            raise FormulaError(f"{at}函数 ROUND 有 1 或 2 个参数", position=pos)
        if name in ("MAX", "MIN") and not args:
            raise FormulaError(f"{at}函数 {name} 至少有 1 个参数", position=pos)
        return
    known = "、".join([*BALANCE_FUNCS, *FLOW_FUNCS, *sorted(MATH_FUNCS)])
    raise FormulaError(f"{at}未知函数 {name}（可用：{known}）", position=pos)


def parse(text: str):
    """The tree of `text`; raises FormulaError with a Chinese message."""
    return _Parser(text).parse()


@functools.lru_cache(maxsize=16384)
def term_of(node: Call) -> Term:
    code = _code_arg(node.args[0], node.name)
    side = ""
    if len(node.args) > 1 and isinstance(node.args[1], Str):
        side = SIDES.get(node.args[1].value.strip(), "")
    aux = parse_aux(node.args[2].value) if len(node.args) > 2 else ()
    return Term(node.name, code, side, aux)


def walk(node) -> Iterable:
    yield node
    if isinstance(node, Neg):
        yield from walk(node.operand)
    elif isinstance(node, BinOp):
        yield from walk(node.left)
        yield from walk(node.right)
    elif isinstance(node, Call):
        for a in node.args:
            yield from walk(a)


def terms(node) -> set[Term]:
    return {term_of(n) for n in walk(node) if isinstance(n, Call) and (n.name in BALANCE_FUNCS or n.name in FLOW_FUNCS)}


def cell_refs(node) -> set[str]:
    return {n.key for n in walk(node) if isinstance(n, CellRef)}


def line_refs(node) -> set[str]:
    return {n.code for n in walk(node) if isinstance(n, LineRef)}


# --- evaluation ----------------------------------------------------------------------------------

def evaluate(node, *, term: Callable[[Term], Decimal], ref: Callable[[object], Decimal]) -> Decimal:
    """Value of `node`: `term` gives a balance figure, `ref` the value of a cell or line reference."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Neg):
        return -evaluate(node.operand, term=term, ref=ref)
    if isinstance(node, (CellRef, LineRef)):
        return ref(node)
    if isinstance(node, BinOp):
        a = evaluate(node.left, term=term, ref=ref)
        b = evaluate(node.right, term=term, ref=ref)
        if node.op == "+":
            return a + b
        if node.op == "-":
            return a - b
        if node.op == "*":
            return a * b
        if b == 0:
            raise FormulaError("除数为零")
        try:
            return a / b
        except (DivisionByZero, InvalidOperation):
            raise FormulaError("除数为零") from None
    if isinstance(node, Call):
        if node.name in BALANCE_FUNCS or node.name in FLOW_FUNCS:
            return term(term_of(node))
        vals = [evaluate(a, term=term, ref=ref) for a in node.args]
        if node.name == "ABS":
            return abs(vals[0])
        if node.name == "ROUND":
            places = int(vals[1]) if len(vals) > 1 else 0
            return vals[0].quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if node.name == "MAX":
            return max(vals)
        if node.name == "MIN":
            return min(vals)
    raise FormulaError("公式无法计算")


def order_of(deps: dict, label: Callable[[object], str] = str) -> list:
    """Keys in an order where every key comes after what it depends on; raises FormulaError naming
    the keys of a cycle (through `label`). Dependencies on keys outside `deps` are ignored (the
    caller checks them). Keys must be sortable (strings, or tuples of strings)."""
    out: list = []
    state: dict = {}  # 1 visiting, 2 done

    for start in sorted(deps):
        if state.get(start) == 2:
            continue
        stack: list[tuple[object, list]] = [(start, sorted(deps[start]))]
        state[start] = 1
        path = [start]
        while stack:
            key, todo = stack[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in deps or state.get(nxt) == 2:
                    continue
                if state.get(nxt) == 1:
                    cycle = path[path.index(nxt):] + [nxt]
                    raise FormulaError("循环引用：" + " → ".join(label(k) for k in cycle))
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(deps[nxt])))
            else:
                stack.pop()
                path.pop()
                state[key] = 2
                out.append(key)
    return out


def check(text: str, *, where: str, field: str = "formula") -> object:
    """Parse `text` or raise ValidationFailed naming `where` (a cell or a line)."""
    try:
        return parse(text)
    except FormulaError as exc:
        raise ValidationFailed("reports.formula_invalid", f"{where}：{exc.message}", field=field) from None
