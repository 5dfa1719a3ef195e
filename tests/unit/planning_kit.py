"""Test kit for the pure planning core: a ledger builder, table builders, a reference
validator and a pure "apply a plan to a Snapshot" helper.

The apply helper is a tiny in-test stand-in for a connector (the real ones live in
syncer/connectors/): it resolves operations with the guard against the snapshot itself
and then edits tuples, so plan idempotence can be checked without any I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from syncer.guard import guard
from syncer.ledger import LedgerConfig
from syncer.model import (
    AddColumn,
    CellValue,
    EnsureTab,
    Finding,
    MoveRow,
    Plan,
    ReplaceTab,
    SetCell,
    Snapshot,
    Table,
    canonical,
)
from syncer.planner import Planned
from syncer.rules.base import PreviousState, cell_text
from syncer.values import parse_phone

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 6, 1, 10, 30, 15, tzinfo=ZONE)
MAIN = "基础信息"
HISTORY = "客户历史库"
ERRORS = "校验错误"
KEY = "客户编号"
STATUSES = ["潜在客户", "意向客户", "合作中", "暂停合作", "流失客户"]
HEADER = ("客户编号", "客户名称", "联系人姓名", "联系方式", "合作状态", "最近跟进时间", "跟进内容")


def make_ledger(rules: Sequence[Mapping[str, Any]] = (), **overrides: Any) -> LedgerConfig:
    """A LedgerConfig on the domain's template columns (zh-CN) with ``rules``."""
    data: dict[str, Any] = {
        "name": "sales",
        "source": {"connector": "memory"},
        "tabs": {"main": MAIN, "history": HISTORY, "errors": ERRORS},
        "key": KEY,
        "columns": {
            KEY: {"type": "text", "unique": True},
            "客户名称": {"type": "text"},
            "联系人姓名": {"type": "text", "required": True},
            "联系方式": {"type": "phone", "required": True},
            "合作状态": {"type": "choice", "values": STATUSES, "required": True},
            "最近跟进时间": {"type": "date"},
            "跟进内容": {"type": "text"},
            "状态变更时间": {"type": "datetime"},
        },
        "rules": list(rules),
    }
    data.update(overrides)
    return LedgerConfig.model_validate(data)


def make_table(
    rows: Iterable[Sequence[CellValue]],
    header: Sequence[str] = HEADER,
    name: str = MAIN,
    header_row: int = 1,
) -> Table:
    """A Table from plain lists."""
    return Table(
        name=name, header_row=header_row, header=tuple(header), rows=tuple(tuple(r) for r in rows)
    )


def snap(*tables: Table) -> Snapshot:
    """A Snapshot holding ``tables``."""
    return Snapshot(tables={t.name: t for t in tables})


def reference_findings(ledger: LedgerConfig, snapshot: Snapshot) -> list[Finding]:
    """A small stand-in for the validator: required, choice and phone checks on the main
    tab (skipping blank rows). Messages are fixed strings."""
    table = snapshot.get(ledger.tabs.main)
    if table is None:
        return []
    found: list[Finding] = []
    owned = set(ledger.owned_columns())
    for index in range(len(table.rows)):
        row = table.row_dict(index)
        if all(cell_text(v) == "" for c, v in row.items() if c not in owned):
            continue
        key = cell_text(row.get(ledger.key)) or None
        for column, spec in ledger.columns.items():
            if column not in row:
                continue
            value = row[column]
            text = cell_text(value)
            check = None
            if spec.required and text == "":
                check, message = "required", "必填"
            elif text and spec.type == "choice" and text not in (spec.values or ()):
                check, message = "choice", "不在下拉选项中"
            elif text and spec.type == "phone" and parse_phone(value) is None:
                check, message = "phone", "号码无效"
            if check is not None:
                found.append(
                    Finding(
                        tab=table.name,
                        row=table.sheet_row(index),
                        key=key,
                        column=column,
                        value=value,
                        check=check,
                        message=message,
                    )
                )
    return found


def apply_plan(snapshot: Snapshot, plan: Plan) -> Snapshot:
    """The Snapshot after applying ``plan`` (guarded against ``snapshot`` itself)."""
    result = guard(plan, snapshot, snapshot)
    assert not result.dropped, result.dropped  # nothing changed: nothing may be dropped
    tables: dict[str, Table] = dict(snapshot.tables)
    rows: dict[str, list[list[CellValue]]] = {
        n: [list(r) for r in t.rows] for n, t in tables.items()
    }
    headers: dict[str, list[str]] = {n: list(t.header) for n, t in tables.items()}
    removed: dict[str, set[int]] = {}

    def put(tab: str, index: int, column: str, value: CellValue) -> None:
        pos = headers[tab].index(column)
        row = rows[tab][index]
        row.extend([None] * (pos + 1 - len(row)))
        row[pos] = value

    for resolved in result.kept:
        op = resolved.op
        if isinstance(op, EnsureTab):
            if op.tab not in headers:
                headers[op.tab], rows[op.tab] = list(op.header), []
                tables[op.tab] = Table(op.tab, 1, op.header, ())
        elif isinstance(op, AddColumn):
            headers[op.tab].append(op.column)
        elif isinstance(op, SetCell):
            assert resolved.index is not None
            put(op.tab, resolved.index, op.column, op.value)
        elif isinstance(op, MoveRow):
            assert resolved.index is not None
            rows[op.history_tab].append([None] * len(headers[op.history_tab]))
            for column, value in op.values:
                put(op.history_tab, len(rows[op.history_tab]) - 1, column, value)
            removed.setdefault(op.tab, set()).add(resolved.index)
        elif isinstance(op, ReplaceTab):
            headers[op.tab] = [canonical(c) for c in op.rows[0]] if op.rows else []
            rows[op.tab] = [list(r) for r in op.rows[1:]]
            tables.setdefault(op.tab, Table(op.tab, 1, (), ()))
    out = {}
    for name, table in tables.items():
        kept = [r for i, r in enumerate(rows[name]) if i not in removed.get(name, set())]
        out[name] = Table(name, table.header_row, tuple(headers[name]), tuple(map(tuple, kept)))
    return Snapshot(tables=out)


def record(previous: PreviousState, planned: Planned) -> PreviousState:
    """The state after a fully applied cycle (what the engine records)."""
    watched = {k: dict(v) for k, v in previous.watched.items()}
    for key, values in planned.observed.items():
        watched.setdefault(key, {}).update(values)
    return PreviousState(watched=watched, first_seen=dict(planned.first_seen))
