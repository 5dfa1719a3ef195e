"""A small formula evaluator, so formula cells have a value when read.

Supported: numbers, "strings", TRUE/FALSE, cell and range references (``B2``, ``$B$2``,
``A1:C3``, ``'Other tab'!B2``), unary minus, ``%``, ``^ * / + -``, ``&``, comparisons
(``= <> < > <= >=``) and the functions SUM, MIN, MAX, AVERAGE, COUNT, COUNTA, IF,
IFERROR, AND, OR, NOT, CONCATENATE/CONCAT, LEN, UPPER, LOWER, TRIM, ROUND, ABS.
Anything else evaluates to a Sheets error string (``#NAME?``, ``#ERROR!`` …).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from syncer.sandbox.a1 import Bounds, column_index
from syncer.sandbox.state import Sheet, Workbook
from syncer.sandbox.values import Value, format_general, normalize_number

#: (sheet title or None for the formula's own sheet, row, col) -> the cell's value
CellLookup = Callable[[str | None, int, int], Value]
#: (sheet title or None, closed bounds) -> the values of the range, row by row
RangeLookup = Callable[[str | None, Bounds], list[Value]]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<str>"(?:[^"]|"")*")
    | (?P<ref>(?:(?:'(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_]*)!)?
              \$?[A-Za-z]{1,3}\$?[0-9]+(?::\$?[A-Za-z]{1,3}\$?[0-9]+)?)(?![A-Za-z0-9_(])
    | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    | (?P<op><>|<=|>=|[-+*/^&=<>(),%])
    )""",
    re.X,
)
_CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]+)")


class FormulaError(Exception):
    """A Sheets error value (``#DIV/0!``, ``#VALUE!``, ``#NAME?``, ``#REF!``, ``#ERROR!``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


Node = tuple[Any, ...]


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FormulaError("#ERROR!")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FormulaError("#ERROR!")
        self.pos += 1
        return token

    def expect(self, op: str) -> None:
        if self.take() != ("op", op):
            raise FormulaError("#ERROR!")

    def parse(self) -> Node:
        node = self.comparison()
        if self.peek() is not None:
            raise FormulaError("#ERROR!")
        return node

    def _binary(self, ops: tuple[str, ...], operand: Callable[[], Node]) -> Node:
        node = operand()
        while (token := self.peek()) is not None and token[0] == "op" and token[1] in ops:
            self.take()
            node = ("bin", token[1], node, operand())
        return node

    def comparison(self) -> Node:
        return self._binary(("=", "<>", "<", ">", "<=", ">="), self.concat)

    def concat(self) -> Node:
        return self._binary(("&",), self.additive)

    def additive(self) -> Node:
        return self._binary(("+", "-"), self.term)

    def term(self) -> Node:
        return self._binary(("*", "/"), self.power)

    def power(self) -> Node:
        return self._binary(("^",), self.unary)

    def unary(self) -> Node:
        token = self.peek()
        if token in (("op", "-"), ("op", "+")):
            self.take()
            operand = self.unary()
            return ("neg", operand) if token == ("op", "-") else ("pos", operand)
        node = self.primary()
        while self.peek() == ("op", "%"):
            self.take()
            node = ("pct", node)
        return node

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "num":
            return ("val", normalize_number(float(text)))
        if kind == "str":
            return ("val", text[1:-1].replace('""', '"'))
        if kind == "ref":
            return _reference(text)
        if kind == "name":
            upper = text.upper()
            if self.peek() == ("op", "("):
                self.take()
                args: list[Node] = []
                if self.peek() != ("op", ")"):
                    args.append(self.comparison())
                    while self.peek() == ("op", ","):
                        self.take()
                        args.append(self.comparison())
                self.expect(")")
                return ("call", upper, args)
            if upper in ("TRUE", "FALSE"):
                return ("val", upper == "TRUE")
            return ("err", "#NAME?")
        if (kind, text) == ("op", "("):
            node = self.comparison()
            self.expect(")")
            return node
        raise FormulaError("#ERROR!")


def _reference(text: str) -> Node:
    sheet: str | None = None
    if "!" in text:
        sheet_part, _, text = text.rpartition("!")
        sheet = sheet_part[1:-1].replace("''", "'") if sheet_part.startswith("'") else sheet_part
    corners = [_CELL.fullmatch(part) for part in text.split(":")]
    cells = []
    for m in corners:
        if m is None:
            raise FormulaError("#ERROR!")
        cells.append((int(m.group(2)) - 1, column_index(m.group(1))))
    if len(cells) == 1:
        return ("ref", sheet, cells[0][0], cells[0][1])
    (r1, c1), (r2, c2) = cells
    bounds = Bounds(min(r1, r2), max(r1, r2) + 1, min(c1, c2), max(c1, c2) + 1)
    return ("range", sheet, bounds)


def _number(value: Any) -> float | int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return normalize_number(float(value.replace(",", "")))
        except ValueError:
            raise FormulaError("#VALUE!") from None
    raise FormulaError("#VALUE!")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return format_general(value)
    return str(value)


def _compare(op: str, a: Any, b: Any) -> bool:
    def key(v: Any) -> tuple[int, Any]:
        if v is None:
            return (0, 0)
        if isinstance(v, bool):
            return (2, v)
        if isinstance(v, int | float):
            return (0, v)
        return (1, str(v).lower())

    ka, kb = key(a), key(b)
    if a is None and isinstance(b, str):
        ka = (1, "")
    if b is None and isinstance(a, str):
        kb = (1, "")
    results = {
        "=": ka == kb,
        "<>": ka != kb,
        "<": ka < kb,
        ">": ka > kb,
        "<=": ka <= kb,
        ">=": ka >= kb,
    }
    return results[op]


class Evaluator:
    """Evaluates formulas of one sheet, reading cells through lookups."""

    def __init__(self, cell: CellLookup, cells: RangeLookup) -> None:
        self.cell = cell
        self.cells = cells

    def value(self, formula: str) -> Value:
        """The value of a formula (``=…``); errors come back as their code string."""
        try:
            node = _Parser(_tokens(formula[1:] if formula.startswith("=") else formula)).parse()
            result = self._eval(node)
            if isinstance(result, list):
                result = result[0] if result else None
            if isinstance(result, float):
                if not math.isfinite(result):
                    raise FormulaError("#NUM!")
                return normalize_number(result)
            return result  # type: ignore[no-any-return]
        except FormulaError as exc:
            return exc.code
        except RecursionError:
            return "#ERROR!"

    def _eval(self, node: Node) -> Any:
        kind = node[0]
        if kind == "val":
            return node[1]
        if kind == "err":
            raise FormulaError(node[1])
        if kind == "ref":
            value = self.cell(node[1], node[2], node[3])
            if isinstance(value, str) and value.startswith("#") and value.endswith(("!", "?")):
                raise FormulaError(value)
            return value
        if kind == "range":
            return self.cells(node[1], node[2])
        if kind == "neg":
            return -_number(self._scalar(node[1]))
        if kind == "pos":
            return _number(self._scalar(node[1]))
        if kind == "pct":
            return _number(self._scalar(node[1])) / 100
        if kind == "bin":
            return self._binary(node[1], self._scalar(node[2]), self._scalar(node[3]))
        return self._call(node[1], node[2])

    def _scalar(self, node: Node) -> Any:
        value = self._eval(node)
        if isinstance(value, list):
            raise FormulaError("#VALUE!")
        return value

    def _binary(self, op: str, a: Any, b: Any) -> Any:
        if op == "&":
            return _text(a) + _text(b)
        if op in ("=", "<>", "<", ">", "<=", ">="):
            return _compare(op, a, b)
        x, y = _number(a), _number(b)
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if op == "/":
            if y == 0:
                raise FormulaError("#DIV/0!")
            return x / y
        try:
            return x**y
        except (OverflowError, ZeroDivisionError):
            raise FormulaError("#NUM!") from None

    def _numbers(self, args: list[Node]) -> list[float | int]:
        out: list[float | int] = []
        for arg in args:
            value = self._eval(arg)
            if isinstance(value, list):
                out.extend(
                    v for v in value if isinstance(v, int | float) and not isinstance(v, bool)
                )
            else:
                out.append(_number(value))
        return out

    def _call(self, name: str, args: list[Node]) -> Any:
        if name == "IF":
            if not 2 <= len(args) <= 3:
                raise FormulaError("#N/A")
            if _truthy(self._scalar(args[0])):
                return self._scalar(args[1])
            return self._scalar(args[2]) if len(args) == 3 else False
        if name == "IFERROR":
            if not 1 <= len(args) <= 2:
                raise FormulaError("#N/A")
            try:
                return self._scalar(args[0])
            except FormulaError:
                return self._scalar(args[1]) if len(args) == 2 else ""
        if name in ("SUM", "MIN", "MAX", "AVERAGE", "COUNT"):
            numbers = self._numbers(args)
            if name == "SUM":
                return sum(numbers)
            if name == "COUNT":
                return len(numbers)
            if name == "AVERAGE":
                if not numbers:
                    raise FormulaError("#DIV/0!")
                return sum(numbers) / len(numbers)
            if not numbers:
                return 0
            return min(numbers) if name == "MIN" else max(numbers)
        if name == "COUNTA":
            count = 0
            for arg in args:
                value = self._eval(arg)
                items = value if isinstance(value, list) else [value]
                count += sum(1 for v in items if v not in (None, ""))
            return count
        scalars = [self._scalar(a) for a in args]
        if name in ("AND", "OR"):
            if not scalars:
                raise FormulaError("#N/A")
            truths = [_truthy(v) for v in scalars]
            return all(truths) if name == "AND" else any(truths)
        if name in ("CONCATENATE", "CONCAT"):
            return "".join(_text(v) for v in scalars)
        if len(scalars) == 1:
            (value,) = scalars
            if name == "NOT":
                return not _truthy(value)
            if name == "LEN":
                return len(_text(value))
            if name == "UPPER":
                return _text(value).upper()
            if name == "LOWER":
                return _text(value).lower()
            if name == "TRIM":
                return " ".join(_text(value).split())
            if name == "ABS":
                return abs(_number(value))
        if name == "ROUND" and 1 <= len(scalars) <= 2:
            digits = int(_number(scalars[1])) if len(scalars) == 2 else 0
            number = _number(scalars[0])
            scaled = abs(number) * 10**digits
            rounded = math.floor(scaled + 0.5) / 10**digits
            return math.copysign(rounded, number) if number else 0
        raise FormulaError("#NAME?")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        upper = value.upper()
        if upper in ("TRUE", "FALSE"):
            return upper == "TRUE"
        if value == "":
            return False
        raise FormulaError("#VALUE!")
    return bool(_number(value))


def workbook_evaluator(workbook: Workbook) -> Callable[[Sheet, int, int], Value]:
    """A cell evaluator for one read of a workbook (memoised; circular references: #REF!)."""
    cache: dict[tuple[int, int, int], Value] = {}
    visiting: set[tuple[int, int, int]] = set()

    def evaluate(sheet: Sheet, row: int, col: int) -> Value:
        key = (sheet.sheet_id, row, col)
        if key in cache:
            return cache[key]
        extra = sheet.extra(row, col)
        if extra is None or extra.formula is None:
            return sheet.value(row, col)
        if key in visiting:
            return "#REF!"
        visiting.add(key)

        def target(title: str | None) -> Sheet:
            found = sheet if title is None else workbook.sheet_by_title(title)
            if found is None:
                raise FormulaError("#REF!")
            return found

        def cell(title: str | None, r: int, c: int) -> Value:
            other = target(title)
            if r >= other.row_count or c >= other.column_count:
                raise FormulaError("#REF!")
            return evaluate(other, r, c)

        def cells(title: str | None, bounds: Bounds) -> list[Value]:
            other = target(title)
            assert bounds.end_row is not None
            assert bounds.end_col is not None
            if bounds.end_row > other.row_count or bounds.end_col > other.column_count:
                raise FormulaError("#REF!")
            last = min(bounds.end_row, other.stored_rows())
            return [
                evaluate(other, r, c)
                for r in range(bounds.start_row, last)
                for c in range(bounds.start_col, bounds.end_col)
            ]

        try:
            result = Evaluator(cell, cells).value(extra.formula)
        finally:
            visiting.discard(key)
        cache[key] = result
        return result

    return evaluate
