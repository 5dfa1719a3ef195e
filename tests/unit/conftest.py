"""Fixtures for the pure planning core's unit tests (conditions, rules, annotations,
planner, guard). The builders themselves live in planning_kit.py so hypothesis tests
can use them without function-scoped fixtures."""

from __future__ import annotations

from datetime import datetime

import pytest
from planning_kit import NOW, make_ledger

from syncer.ledger import LedgerConfig


@pytest.fixture
def now() -> datetime:
    """The injected clock: 2024-06-01 10:30:15 in Asia/Shanghai."""
    return NOW


@pytest.fixture
def sales_ledger() -> LedgerConfig:
    """The template ledger (zh-CN) with the four rules as the domain uses them."""
    return make_ledger(
        [
            {"kind": "normalize", "columns": ["联系方式", "合作状态", "最近跟进时间"]},
            {"kind": "assign_id", "pattern": "XS{year}{seq:03}", "requires": ["客户名称"]},
            {"kind": "stamp_on_change", "watch": ["合作状态"], "target": "状态变更时间"},
            {
                "kind": "archive",
                "name": "lost",
                "when": {"column": "合作状态", "op": "equals", "value": "流失客户"},
                "reason": "流失客户",
            },
            {
                "kind": "archive",
                "name": "stale",
                "when": {"column": "最近跟进时间", "op": "older_than", "value": "90d"},
            },
        ]
    )
