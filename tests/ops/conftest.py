"""Fixtures for the daemon and operations tests: a small ledger on the memory connector."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import structlog

from syncer.connectors.memory import MemoryConnector
from syncer.ledger import LedgerConfig
from syncer.model import CellValue

MAIN_ROWS: list[list[CellValue]] = [
    ["客户编号", "客户名称", "联系方式", "首次接触时间", "合同金额(元)", "备注"],
    ["XS2024001", "甲公司", "13800138000", date(2024, 3, 1), 1200.5, "=HYPERLINK(\"x\")"],
    ["XS2024002", "乙公司", "13900139000", date(2024, 4, 2), 0, None],
    ["XS2024003", "+丙", None, None, None, "-note"],
]
HISTORY_ROWS: list[list[CellValue]] = [
    ["客户编号", "客户名称", "归档原因"],
    ["XS2023009", "丁公司", "流失客户"],
]


def make_ledger(name: str = "sales", **overrides: Any) -> LedgerConfig:
    """A minimal valid ledger on the memory connector."""
    data: dict[str, Any] = {
        "name": name,
        "source": {"connector": "memory", "name": name},
        "tabs": {"main": "客户信息"},
        "key": "客户编号",
        "columns": {"客户编号": {"type": "text"}},
    }
    data.update(overrides)
    return LedgerConfig.model_validate(data)


@pytest.fixture
def ledger() -> LedgerConfig:
    """The `sales` ledger."""
    return make_ledger()


@pytest.fixture
def connector() -> MemoryConnector:
    """A memory workbook with a main tab and a history tab."""
    return MemoryConnector({"客户信息": MAIN_ROWS, "客户历史库": HISTORY_ROWS}, name="sales")


@pytest.fixture
def now() -> datetime:
    """A fixed time for deterministic snapshot names."""
    return datetime(2026, 11, 25, 8, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """CLI commands configure structlog onto the runner's stream; undo it after each test."""
    yield
    structlog.reset_defaults()
