# Reference copy (tests only): the pre-optimisation implementation, see __init__.py.
# ruff: noqa
# mypy: ignore-errors
"""Validation: a ledger's column specs become a pandera schema; failures become findings.

:func:`validate` reads the ledger's main tab from a snapshot, checks the header for drift
(configured columns missing, duplicate or blank header cells), builds one
``pandera.DataFrameSchema`` from the column specs and validates every non-blank row
lazily, so all problems are reported at once. Each failure becomes a
:class:`~syncer.model.Finding` with the sheet row, the row's key and a message in the
ledger's locale.

Checks are vectorised: each column is wrapped once in a :class:`ColumnView` that
computes its text, emptiness and per-type validity with pandas operations (parsing each
distinct value once where a parser is needed), and the pandera checks only look the
answers up. Empty cells — None, blank text, or a placeholder such as 未知/待补充 — fail
only the ``required`` check; every other check skips them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from syncer.i18n import Locale, register, t
from syncer.ledger import ColumnSpec, LedgerConfig, nearest
from syncer.model import CellValue, Finding, Snapshot, Table, canonical, is_blank
from syncer.values import parse_bool, parse_date, parse_datetime, parse_number

from reference.values_ref import phone_canonical

register(
    {
        "validate.missing_tab": {
            "zh-CN": "找不到工作表「{tab}」",
            "en": "tab '{tab}' not found",
        },
        "validate.missing_column": {
            "zh-CN": "表头缺少列「{column}」{hint}",
            "en": "header has no column '{column}'{hint}",
        },
        "validate.missing_column_hint": {
            "zh-CN": "（是否为「{near}」？）",
            "en": " (did you mean '{near}'?)",
        },
        "validate.duplicate_header": {
            "zh-CN": "表头「{column}」重复出现在第 {letters} 列，只校验第一列",
            "en": "header '{column}' appears in columns {letters}; only the first is checked",
        },
        "validate.blank_header": {
            "zh-CN": "第 {letter} 列表头为空",
            "en": "column {letter} has a blank header",
        },
        "validate.required": {"zh-CN": "必填项为空", "en": "required value is missing"},
        "validate.integer": {"zh-CN": "应为整数", "en": "should be a whole number"},
        "validate.number": {"zh-CN": "应为数字", "en": "should be a number"},
        "validate.date": {
            "zh-CN": "应为日期（YYYY-MM-DD）",
            "en": "should be a date (YYYY-MM-DD)",
        },
        "validate.datetime": {
            "zh-CN": "应为日期时间（YYYY-MM-DD HH:MM）",
            "en": "should be a date and time (YYYY-MM-DD HH:MM)",
        },
        "validate.phone": {
            "zh-CN": "不是有效的电话号码",
            "en": "is not a valid phone number",
        },
        "validate.email": {"zh-CN": "不是有效的电子邮箱", "en": "is not a valid email address"},
        "validate.choice": {
            "zh-CN": "不在下拉选项中（可选：{allowed}）",
            "en": "is not one of the allowed values ({allowed})",
        },
        "validate.choice_spaces": {
            "zh-CN": "下拉选项前后有多余空格",
            "en": "allowed value has extra spaces around it",
        },
        "validate.multi_choice": {
            "zh-CN": "含有不在选项中的值（可选：{allowed}）",
            "en": "holds a value that is not allowed ({allowed})",
        },
        "validate.boolean": {"zh-CN": "应为是/否", "en": "should be yes or no"},
        "validate.pattern": {
            "zh-CN": "格式不符合要求（{pattern}）",
            "en": "does not match the required format ({pattern})",
        },
        "validate.min": {"zh-CN": "不能小于 {limit}", "en": "must be at least {limit}"},
        "validate.max": {"zh-CN": "不能大于 {limit}", "en": "must be at most {limit}"},
        "validate.max_length": {
            "zh-CN": "超过 {limit} 个字符",
            "en": "is longer than {limit} characters",
        },
        "validate.unique": {
            "zh-CN": "与第 {rows} 行重复",
            "en": "duplicates row(s) {rows}",
        },
        "validate.unique_together": {
            "zh-CN": "疑似重复客户：{columns} 与第 {rows} 行相同",
            "en": "possible duplicate: {columns} same as row(s) {rows}",
        },
    }
)

_EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s.]+"
_LIST_SEPARATORS = ("，", "、", "；", ";")
#: Printable ASCII → its full-width form (placeholders are also matched written full width).
_TO_FULLWIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)}


def validate(ledger: LedgerConfig, snapshot: Snapshot) -> list[Finding]:
    """Every finding for the ledger's main tab (lazy: all at once), in the ledger's locale.

    Findings are ordered: ledger-level ones (row None) first, then by sheet row and by
    the order of the configured columns.
    """
    locale: Locale = ledger.locale
    tab = ledger.tabs.main
    table = snapshot.get(tab)
    if table is None:
        return [
            Finding(
                tab,
                None,
                None,
                None,
                None,
                "missing_tab",
                t(locale, "validate.missing_tab", tab=tab),
            )
        ]
    findings = header_findings(ledger, table)
    present = [c for c in ledger.columns if table.index_of(c) is not None]
    keep = [i for i, row in enumerate(table.rows) if not _blank(row)]
    if not present or not keep:
        return findings
    frame = _frame(table, present, keep)
    views = {
        c: ColumnView(frame[c], ledger.columns[c], ledger.placeholders_for(c)) for c in present
    }
    schema = build_schema(ledger, views)
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        findings.extend(_row_findings(ledger, table, views, errors.failure_cases))
    return findings


def header_findings(ledger: LedgerConfig, table: Table) -> list[Finding]:
    """Schema drift: configured columns missing from the header, duplicate and blank cells."""
    locale: Locale = ledger.locale
    findings: list[Finding] = []
    header = [h if isinstance(h, str) else canonical(h) for h in table.header]
    owned = set(ledger.owned_columns())
    unknown = [h for h in header if h and h not in ledger.columns]
    for column in ledger.columns:
        if column in header or column in owned:
            continue
        near = nearest(column, unknown)
        hint = t(locale, "validate.missing_column_hint", near=near) if near else ""
        message = t(locale, "validate.missing_column", column=column, hint=hint)
        findings.append(Finding(table.name, None, None, column, None, "missing_column", message))
    positions: dict[str, list[int]] = {}
    for pos, name in enumerate(header):
        positions.setdefault(name.strip(), []).append(pos)
    for name, where in positions.items():
        if name and len(where) > 1:
            letters = ", ".join(column_letter(p) for p in where)
            message = t(locale, "validate.duplicate_header", column=name, letters=letters)
            findings.append(
                Finding(table.name, None, None, name, None, "duplicate_header", message, "warning")
            )
    for pos in positions.get("", []):
        message = t(locale, "validate.blank_header", letter=column_letter(pos))
        findings.append(
            Finding(table.name, None, None, None, None, "blank_header", message, "warning")
        )
    return findings


def column_letter(position: int) -> str:
    """The A1 letters of a 0-based column position: 0 → A, 26 → AA."""
    letters = ""
    number = position + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _blank(row: tuple[CellValue, ...]) -> bool:
    for value in row:
        if value is None or (value.__class__ is str and not value.strip()):
            continue
        return False
    return True


def _frame(table: Table, columns: list[str], keep: list[int]) -> pd.DataFrame:
    """The configured columns of the kept rows, as Python objects, indexed by data row."""
    positions = [table.index_of(c) for c in columns]
    width = max(p for p in positions if p is not None) + 1
    source = table.rows if len(keep) == len(table.rows) else [table.rows[i] for i in keep]
    pad = (None,) * width
    fixed = [r[:width] if len(r) >= width else (r + pad)[:width] for r in source]
    grid = np.empty((len(fixed), width), dtype=object)
    grid[:] = fixed
    named = [(c, p) for c, p in zip(columns, positions, strict=True) if p is not None]
    block = grid[:, [p for _c, p in named]]
    return pd.DataFrame(block, index=pd.Index(keep), columns=[c for c, _p in named], dtype=object)


# --- one column, computed once ---------------------------------------------------------


def _map_distinct(values: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """``values.map(fn)`` calling ``fn`` once per distinct value (values must not be bool)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    results = np.empty(len(uniques) + 1, dtype=object)
    results[:-1] = [fn(u) for u in uniques]
    results[-1] = None
    return pd.Series(results[codes], index=values.index, dtype=object)


@dataclass
class ColumnView:
    """A column's values with the derived facts every check needs, computed lazily once."""

    values: pd.Series
    spec: ColumnSpec
    placeholders: Sequence[str]

    @cached_property
    def _array(self) -> np.ndarray[Any, Any]:
        return self.values.to_numpy()

    @cached_property
    def _types(self) -> np.ndarray[Any, Any]:
        return np.fromiter(map(type, self._array), dtype=object, count=len(self._array))

    @cached_property
    def missing(self) -> np.ndarray[Any, Any]:
        """True for None and NaN cells (decided from the cell types, without pandas isna)."""
        types = self._types
        flags = np.asarray(types == type(None), dtype=bool)  # noqa: E721 (elementwise)
        floats = np.asarray(types == float, dtype=bool)  # noqa: E721 (elementwise)
        if floats.any():
            values = self._array[floats].astype(float)
            flags[floats] = np.isnan(values)
        return flags

    @cached_property
    def is_str(self) -> pd.Series:
        return pd.Series(self._types == str, index=self.values.index)  # noqa: E721 (elementwise)

    @cached_property
    def is_bool(self) -> pd.Series:
        return pd.Series(self._types == bool, index=self.values.index)  # noqa: E721 (elementwise)

    @cached_property
    def _stripped(self) -> np.ndarray[Any, Any]:
        """The stripped text of the string cells only (in order)."""
        return np.array(list(map(str.strip, self._array[self.is_str.to_numpy()])), dtype=object)

    @cached_property
    def str_text(self) -> pd.Series:
        """Stripped text of string cells (None elsewhere)."""
        out = np.full(len(self._array), None, dtype=object)
        out[self.is_str.to_numpy()] = self._stripped
        return pd.Series(out, index=self.values.index, dtype=object)

    @cached_property
    def text(self) -> pd.Series:
        """Stripped text of string cells; the canonical text of other non-empty cells."""
        raw = self.values
        stripped = self.str_text
        others = ~self.missing & ~self.is_str.to_numpy()
        if others.any():
            stripped = stripped.copy()
            stripped[others] = raw[others].map(canonical)
        return stripped

    @cached_property
    def empty(self) -> pd.Series:
        """None, blank text, or a placeholder (as written, in lower/upper case or full width)."""
        variants: set[str] = {""}
        for p in self.placeholders:
            for form in (p.strip(), p.strip().lower(), p.strip().upper()):
                variants |= {form, form.translate(_TO_FULLWIDTH)}
        flags = self.missing.copy()
        is_str = self.is_str.to_numpy()
        flags[is_str] = pd.Series(self._stripped, dtype=object).isin(variants).to_numpy()
        return pd.Series(flags, index=self.values.index)

    @cached_property
    def filled(self) -> pd.Series:
        return ~self.empty

    def _parsed(self, parse: Callable[[Any], Any]) -> pd.Series:
        """``parse`` of each filled, non-bool cell (None elsewhere), once per distinct value."""
        usable = self.filled & ~self.is_bool
        out = pd.Series(np.full(len(self.values), None, dtype=object), index=self.values.index)
        if usable.any():
            out[usable] = _map_distinct(self.values[usable], parse)
        return out

    @cached_property
    def numbers(self) -> pd.Series:
        """The cell as a float (NaN when empty or not a number)."""
        usable = self.filled & ~self.is_bool
        fast = pd.to_numeric(self.values.where(usable & ~self.is_str), errors="coerce")
        slow = usable & self.is_str
        if slow.any():
            fast = fast.astype(float)
            fast[slow] = _map_distinct(self.values[slow], parse_number).astype(float)
        return fast.astype(float)

    def valid_type(self) -> pd.Series:
        """True where the cell is empty or holds a value of the column's type."""
        kind = self.spec.type
        ok: pd.Series
        if kind == "text":
            return pd.Series(True, index=self.values.index)
        if kind == "integer":
            numbers = self.numbers
            ok = numbers.notna() & (numbers % 1 == 0)
        elif kind == "number":
            ok = self.numbers.notna()
        elif kind == "date":
            ok = self._parsed(parse_date).notna()
        elif kind == "datetime":
            ok = self._parsed(parse_datetime).notna()
        elif kind == "phone":
            ok = self.phones.notna()
        elif kind == "email":
            ok = self.text.str.fullmatch(_EMAIL).fillna(False).astype(bool) & self.is_str
        elif kind == "choice":
            ok = self.allowed
        elif kind == "multi_choice":
            ok = self._parsed(self._multi_ok).eq(True)
        else:
            ok = self._parsed(parse_bool).notna() | self.is_bool
        return (ok.astype(bool) | self.empty).astype(bool)

    def _multi_ok(self, value: Any) -> bool:
        allowed = set(self.spec.values or ())
        return all(item in allowed for item in self.items(value))

    def items(self, value: Any) -> list[str]:
        """The items of a multi-choice cell, split on the separator (and 、，；)."""
        text = canonical(value)
        for sep in _LIST_SEPARATORS:
            text = text.replace(sep, self.spec.separator)
        return [item.strip() for item in text.split(self.spec.separator) if item.strip()]

    @cached_property
    def allowed(self) -> pd.Series:
        """True where the cell is exactly one of the column's ``values``."""
        return self.values.isin(self.spec.values or ())

    @cached_property
    def spaced(self) -> pd.Series:
        """True where a choice cell is an allowed value only once surrounding spaces go."""
        out = pd.Series(False, index=self.values.index)
        suspects = ~self.allowed & self.is_str
        if suspects.any():
            stripped = self.values[suspects].map(str.strip)
            out[suspects] = stripped.isin(self.spec.values or ()).to_numpy()
        return out

    @cached_property
    def phones(self) -> pd.Series:
        """Canonical phone numbers (None where empty or invalid)."""
        return phone_canonical(self.values.where(self.filled), self.spec.region)

    @cached_property
    def identity(self) -> pd.Series:
        """The value compared by unique checks: canonical phone/date, else folded text."""
        if self.spec.type == "phone":
            parsed = self.phones
            out = parsed.where(parsed.notna(), self.text)
        elif self.spec.type == "date":
            parsed = self._parsed(parse_date)
            out = parsed.where(parsed.notna(), self.text).map(str)
        else:
            out = self.text.str.casefold()
        return out.where(self.filled)


# --- the pandera schema -----------------------------------------------------------------


def _check(name: str, fn: Callable[[pd.Series], pd.Series]) -> pa.Check:
    return pa.Check(lambda s: fn(s), name=name, ignore_na=False)


def build_schema(ledger: LedgerConfig, views: dict[str, ColumnView]) -> pa.DataFrameSchema:
    """The pandera schema of the columns in ``views`` (their checks read the views)."""
    columns: dict[str, pa.Column] = {}
    for name, view in views.items():
        columns[name] = pa.Column(
            dtype=None, checks=_column_checks(view), nullable=True, required=False, name=name
        )
    frame_checks = [
        _check(f"unique_together:{g}", _together_check(views, group))
        for g, group in enumerate(ledger.unique_together)
        if all(c in views for c in group)
    ]
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False, coerce=False)


def _column_checks(view: ColumnView) -> list[pa.Check]:
    spec = view.spec
    checks: list[pa.Check] = []
    if spec.required:
        checks.append(_check("required", lambda _s: view.filled))
    if spec.type == "choice":
        checks.append(_check("choice_spaces", lambda _s: ~view.spaced))
        checks.append(_check("choice", lambda _s: view.valid_type() | view.spaced))
    elif spec.type != "text":
        checks.append(_check(spec.type, lambda _s: view.valid_type()))
    if spec.pattern is not None:
        pattern = re.compile(spec.pattern)
        checks.append(
            _check(
                "pattern",
                lambda _s: view.text.str.fullmatch(pattern).fillna(False).astype(bool) | view.empty,
            )
        )
    if spec.max_length is not None:
        limit = spec.max_length
        checks.append(_check("max_length", lambda _s: view.text.str.len().fillna(0).le(limit)))
    if spec.type in ("integer", "number"):
        if spec.min is not None:
            low = spec.min
            checks.append(_check("min", lambda _s: ~(view.numbers < low)))
        if spec.max is not None:
            high = spec.max
            checks.append(_check("max", lambda _s: ~(view.numbers > high)))
    if spec.unique:
        checks.append(_check("unique", lambda _s: ~_duplicated(view.identity)))
    return checks


def _duplicated(identity: pd.Series) -> pd.Series:
    """True on every row whose non-empty identity appears more than once."""
    return (identity.notna() & identity.duplicated(keep=False)).astype(bool)


def _together_check(
    views: dict[str, ColumnView], group: list[str]
) -> Callable[[pd.Series], pd.Series]:
    return lambda _frame: _together_ok(views, group)


def _together_ok(views: dict[str, ColumnView], group: list[str]) -> pd.Series:
    keys = pd.DataFrame({c: views[c].identity for c in group})
    complete = keys.notna().all(axis=1)
    duplicated = keys.duplicated(keep=False) & complete
    return ~duplicated.astype(bool)


# --- failures → findings ----------------------------------------------------------------


class _Groups:
    """Rows sharing an identity, per unique column or unique_together group, built once.

    Only rows whose identity is duplicated are grouped, so the cost follows the number of
    duplicates, not the number of rows.
    """

    def __init__(self, views: dict[str, ColumnView]) -> None:
        self._views = views
        self._cache: dict[tuple[str, ...], tuple[dict[int, Any], dict[Any, list[int]]]] = {}

    def others(self, columns: tuple[str, ...], row: int) -> list[int]:
        """Other data rows with the same identity as ``row`` over ``columns``."""
        if columns not in self._cache:
            frame = pd.DataFrame({c: self._views[c].identity for c in columns})
            frame = frame[frame.notna().all(axis=1) & frame.duplicated(keep=False)]
            key_of: dict[int, Any] = {}
            members: dict[Any, list[int]] = {}
            for index, *key in frame.itertuples(index=True, name=None):
                key_of[int(index)] = tuple(key)
                members.setdefault(tuple(key), []).append(int(index))
            self._cache[columns] = (key_of, members)
        key_of, members = self._cache[columns]
        if row not in key_of:
            return []
        return [i for i in members[key_of[row]] if i != row]


def _row_findings(
    ledger: LedgerConfig,
    table: Table,
    views: dict[str, ColumnView],
    cases: pd.DataFrame,
) -> list[Finding]:
    locale: Locale = ledger.locale
    rows = table.rows
    positions = {c: table.index_of(c) for c in views}

    def cell(row: int, column: str) -> CellValue:
        pos = positions.get(column)
        data = rows[row]
        return data[pos] if pos is not None and pos < len(data) else None

    key_column = ledger.key if ledger.key in views else None
    order = {c: i for i, c in enumerate(ledger.columns)}
    groups = _Groups(views)
    out: list[tuple[int, int, Finding]] = []
    broken = cases[cases["index"].isna() & cases["check"].notna()]
    if not broken.empty:  # a check raised: a bug in syncer, never a finding about the sheet
        raise RuntimeError(f"validation check failed to run: {broken.to_dict('records')}")
    cases = cases[cases["index"].notna()]
    # a frame-level check (unique_together) is reported once per column: keep one per row
    frame_level = cases["check"].astype(str).str.startswith("unique_together:")
    cases = pd.concat(
        [cases[~frame_level], cases[frame_level].drop_duplicates(subset=["check", "index"])]
    )
    messages: dict[tuple[str, str], str] = {}
    columns_of_cases = (cases[c].tolist() for c in ("check", "column", "index"))
    for check, column, index in zip(*columns_of_cases, strict=True):
        row = int(index)
        key_value = cell(row, key_column) if key_column else None
        key = None if is_blank(key_value) else canonical(key_value)
        name = str(check)
        if name.startswith("unique_together:"):
            group = tuple(ledger.unique_together[int(name.split(":", 1)[1])])
            same = _rows_text(table, groups.others(group, row))
            message = t(locale, "validate.unique_together", columns="+".join(group), rows=same)
            target, check_name = group[-1], "unique_together"
        else:
            target = str(column)
            check_name = "choice" if name == "choice_spaces" else name
            if name == "unique":
                same = _rows_text(table, groups.others((target,), row))
                message = t(locale, "validate.unique", rows=same)
            else:
                if (name, target) not in messages:
                    messages[(name, target)] = _message(locale, name, views[target].spec)
                message = messages[(name, target)]
        finding = Finding(
            table.name,
            table.header_row + 1 + row,
            key,
            target,
            cell(row, target),
            check_name,
            message,
        )
        out.append((row, order.get(target, 0), finding))
    out.sort(key=lambda item: (item[0], item[1]))
    return [f for _r, _c, f in out]


def _rows_text(table: Table, rows: list[int]) -> str:
    return ", ".join(str(table.sheet_row(i)) for i in rows)


def _message(locale: Locale, check: str, spec: ColumnSpec) -> str:
    allowed = "/".join(spec.values or ())
    if check == "choice_spaces":
        return t(locale, "validate.choice_spaces")
    if check in ("choice", "multi_choice"):
        return t(locale, f"validate.{check}", allowed=allowed)
    if check == "pattern":
        return t(locale, "validate.pattern", pattern=spec.pattern)
    if check in ("min", "max"):
        limit = spec.min if check == "min" else spec.max
        assert limit is not None
        return t(locale, f"validate.{check}", limit=canonical(limit))
    if check == "max_length":
        return t(locale, "validate.max_length", limit=spec.max_length)
    return t(locale, f"validate.{check}")
