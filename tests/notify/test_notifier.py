"""Events from cycles: new findings (debounced), failures and recovery, archived, digest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncer.daemon import Daemon
from syncer.engine import CycleResult
from syncer.ledger import LedgerConfig
from syncer.model import ApplyReport, Finding, MoveRow, RowRef, SetCell, Snapshot, Table
from syncer.notify.dispatch import Dispatcher
from syncer.notify.notifier import Notifier, failure_reason
from syncer.notify.store import NotifyStore
from syncer.state import RunRecord, StateStore
from tests.ops.test_daemon import wait_for

from .conftest import notify_ledger
from .receivers import Services

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


class Clock:
    """A settable clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """Starts at T0."""
    return Clock(T0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[NotifyStore]:
    """Notification state in a SQLite file."""
    found = NotifyStore(f"sqlite:///{tmp_path / 'state.db'}")
    yield found
    found.close()


@pytest.fixture
def make(store: NotifyStore, clock: Clock) -> Iterator[Any]:
    """Build a started Notifier; stopped after the test."""
    made: list[Notifier] = []

    def build(**kwargs: Any) -> Notifier:
        notifier = Notifier(
            store, Dispatcher(backoff_base=0.01, backoff_cap=0.02), clock=clock, **kwargs
        )
        notifier.dispatcher.start()
        made.append(notifier)
        return notifier

    yield build
    for notifier in made:
        notifier.dispatcher.stop()


def _wecom(services: Services, **extra: Any) -> dict[str, Any]:
    return {"kind": "wecom", "webhook": services.wecom_url(), **extra}


def _finding(key: str, column: str = "联系方式", message: str = "号码无效") -> Finding:
    return Finding("基础信息", 3, key, column, "x", "phone", message)


def _result(
    ledger: LedgerConfig,
    outcome: str = "ok",
    findings: list[Finding] | None = None,
    applied: list[Any] | None = None,
    error: str | None = None,
    cycle_id: str = "c",
) -> CycleResult:
    report = ApplyReport(applied=list(applied or []))
    return CycleResult(
        ledger.name, cycle_id, T0, T0, outcome, list(findings or []), None, report, error
    )


def _contents(services: Services) -> list[str]:
    return [r.body["markdown"]["content"] for r in services.receiver.of("wecom")]


def _settle(notifier: Notifier) -> None:
    assert notifier.dispatcher.wait_idle(10)


def test_new_findings_baseline_then_only_what_is_new(
    services: Services, make: Any, clock: Clock
) -> None:
    """The first cycle records what is open; later messages list only new findings."""
    ledger = notify_ledger([_wecom(services, when=["new_findings"], debounce="30m")])
    notifier = make()
    notifier.after_cycle(ledger, _result(ledger, findings=[_finding("XS001"), _finding("XS002")]))
    _settle(notifier)
    assert _contents(services) == []
    clock.now += timedelta(minutes=5)
    three = [_finding("XS001"), _finding("XS002"), _finding("XS003")]
    notifier.after_cycle(ledger, _result(ledger, findings=three))
    _settle(notifier)
    [message] = _contents(services)
    assert "XS003" in message
    assert "XS001" not in message
    assert "XS002" not in message


def test_new_findings_are_debounced_and_sent_by_the_timer(
    services: Services, make: Any, clock: Clock
) -> None:
    """Within the interval nothing more is sent; after it, the timer sends what is pending."""
    ledger = notify_ledger([_wecom(services, when=["new_findings"], debounce="30m")])
    notifier = make()
    notifier.after_cycle(ledger, _result(ledger, findings=[]))
    notifier.after_cycle(ledger, _result(ledger, findings=[_finding("XS001")]))
    clock.now += timedelta(minutes=5)
    later = [_finding("XS001"), _finding("XS002")]
    notifier.after_cycle(ledger, _result(ledger, findings=later))
    notifier.tick()
    _settle(notifier)
    assert len(_contents(services)) == 1
    clock.now += timedelta(minutes=26)
    notifier.tick()
    _settle(notifier)
    first, second = _contents(services)
    assert "XS001" in first
    assert "XS002" in second
    assert "XS001" not in second


def test_failures_alert_once_per_streak_then_recover(services: Services, make: Any) -> None:
    """failures: 3 → one alert at the third failed cycle, none at the fourth, then recovered."""
    ledger = notify_ledger([_wecom(services, when=["cycle_failed", "recovered"], failures=3)])
    notifier = make()
    for _ in range(2):
        notifier.after_cycle(ledger, _result(ledger, "failed", error="boom"))
    _settle(notifier)
    assert _contents(services) == []
    notifier.after_cycle(ledger, _result(ledger, "failed", error="boom"))
    notifier.after_cycle(ledger, _result(ledger, "failed", error="boom"))
    _settle(notifier)
    [alert] = _contents(services)
    assert "3" in alert
    assert "boom" in alert
    notifier.after_cycle(ledger, _result(ledger, "idle"))
    _settle(notifier)
    assert len(_contents(services)) == 2
    assert "恢复" in _contents(services)[1]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("read still failing after 5 attempt(s): 429 Quota exceeded", "quota"),
        (
            "read was refused (403): The caller does not have permission. Share the spreadsheet",
            "unshared",
        ),
        ("tab '基础信息' not found", "failed"),
    ],
)
def test_quota_and_unshared_alert_at_the_first_failure(
    services: Services, make: Any, error: str, reason: str
) -> None:
    """Quota exhaustion and a 403 alert at once; an ordinary failure waits for the streak."""
    assert failure_reason(error) == reason
    ledger = notify_ledger([_wecom(services, when=["cycle_failed"], failures=3)])
    notifier = make()
    notifier.after_cycle(ledger, _result(ledger, "failed", error=error))
    _settle(notifier)
    assert len(_contents(services)) == (0 if reason == "failed" else 1)


def test_streak_survives_a_restart_through_the_run_history(
    services: Services, make: Any, tmp_path: Path
) -> None:
    """Two failed runs recorded before a restart plus one after make three in a row."""
    state = StateStore(f"sqlite:///{tmp_path / 'runs.db'}")
    ledger = notify_ledger([_wecom(services, when=["cycle_failed"], failures=3)])
    for i in range(3):
        state.record_run(RunRecord("sales", f"c{i}", T0, T0, "failed", 0, 0, 0, 0, 0, "x"))
    notifier = make(runs=lambda name, limit: state.runs(name, limit=limit))
    notifier.after_cycle(ledger, _result(ledger, "failed", error="x", cycle_id="c2"))
    _settle(notifier)
    state.close()
    assert len(_contents(services)) == 1


def test_archived_customers_are_announced(services: Services, make: Any) -> None:
    """A cycle that moved rows sends their keys and the reason."""
    ledger = notify_ledger([_wecom(services, when=["archived"])])
    notifier = make()
    move = MoveRow("基础信息", RowRef("XS009", 5), "客户历史库", (), "流失客户", "archive")
    notifier.after_cycle(ledger, _result(ledger, applied=[move]))
    _settle(notifier)
    [message] = _contents(services)
    assert "XS009" in message
    assert "流失客户" in message


def _snapshot(rows: list[tuple[str | None, str]]) -> Snapshot:
    table = Table(
        "基础信息",
        1,
        ("客户编号", "联系方式", "跟进人"),
        tuple((key, "x", owner) for key, owner in rows),
    )
    errors = Table("校验错误", 1, ("工作表",), (), sheet_id=77)
    return Snapshot({"基础信息": table, "校验错误": errors})


def test_digest_at_nine_in_the_ledger_zone(services: Services, make: Any, clock: Clock) -> None:
    """At 09:00 Shanghai the digest lists findings by column and 跟进人, archived, new, IDs."""
    ledger = notify_ledger(
        [_wecom(services, when=["digest"], digest="0 9 * * *")],
        rules=[{"kind": "assign_id", "pattern": "XS{seq:03}"}],
        source={"connector": "google", "spreadsheet": "sheet123"},
    )
    notifier = make()
    notifier.watch([ledger])
    notifier.tick()  # 08:00: first sighting, the period starts now
    notifier.observe(ledger, _snapshot([("XS001", "张三"), ("XS002", "李四")]))
    notifier.after_cycle(ledger, _result(ledger, findings=[]))  # first keys: none are new
    clock.now += timedelta(minutes=10)
    notifier.observe(
        ledger, _snapshot([("XS001", "张三"), ("XS002", "李四"), ("XS003", "张三"), (None, "王五")])
    )
    applied = [
        SetCell("基础信息", RowRef(None, 5), "客户编号", "XS004", None, "assign_id"),
        MoveRow("基础信息", RowRef("XS002", 3), "客户历史库", (), "流失客户", "archive"),
    ]
    findings = [_finding("XS001"), _finding("XS003"), _finding("XS003", "跟进人", "必填")]
    notifier.after_cycle(ledger, _result(ledger, findings=findings, applied=applied))
    clock.now = T0 + timedelta(hours=1, seconds=30)  # 09:00:30 Shanghai
    notifier.tick()
    notifier.tick()  # the same digest is not sent twice
    _settle(notifier)
    [digest] = _contents(services)
    assert "联系方式: 2" in digest
    assert "跟进人: 1" in digest
    assert "张三: 3" in digest
    assert "已归档客户 (1)" in digest
    assert "XS002" in digest
    assert "新增客户 (2)" in digest
    assert "XS003" in digest
    assert "已分配编号 (1)" in digest
    assert "XS004" in digest
    assert "https://docs.google.com/spreadsheets/d/sheet123/edit#gid=77" in digest


def test_the_daemon_hook_alerts_without_touching_the_cycle(services: Services, make: Any) -> None:
    """A Daemon whose cycles fail hands each result to the notifier, which alerts."""
    ledger = notify_ledger(
        [_wecom(services, when=["cycle_failed"], failures=1)], schedule={"every": "1h"}
    )
    notifier = make()

    def failing(lg: LedgerConfig) -> CycleResult:
        return _result(lg, "failed", error="boom")

    daemon = Daemon([ledger], run_cycle=failing, after_cycle=notifier.after_cycle)
    daemon.start()
    try:
        wait_for(lambda: len(_contents(services)) == 1)
    finally:
        daemon.stop()


def test_an_interrupted_cycle_recovered_is_announced(services: Services, make: Any) -> None:
    """A cycle incident about a recovered interruption goes to `recovered` destinations."""
    ledger = notify_ledger([_wecom(services, when=["recovered"])], locale="en")
    notifier = make()
    result = _result(ledger)
    assert result.report is not None
    result.report.incidents.append("the interrupted cycle 3f2a was reconciled from its journal")
    notifier.after_cycle(ledger, result)
    _settle(notifier)
    [message] = _contents(services)
    assert "interrupted cycle recovered" in message
    assert "reconciled" in message
